import { createHash, timingSafeEqual } from 'node:crypto';

/** Why a request was refused: it carried no bearer token, or one that is not this node's. */
export type RefusalReason = 'missing' | 'wrong';

export type BearerVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: RefusalReason; readonly message: string };

/** The realm named in WWW-Authenticate, so a client can tell which of the box's APIs asks. */
export const BEARER_REALM = 'edgepay-pos';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks Authorization headers against the node's token. Both sides are hashed first, so the
 * comparison is over equal lengths and takes the same time whatever the caller sent: neither the
 * token's length nor how much of a guess matched leaks through timing.
 */
export function bearerChecker(token: string): (authorization: string | undefined) => BearerVerdict {
  const expected = digest(token);
  return (authorization) => {
    const header = authorization?.trim() ?? '';
    if (header === '') return { ok: false, reason: 'missing', message: "this API needs an Authorization: Bearer <token> header, the token in the node's api.tokenFile" };
    const match = /^Bearer +(\S+)$/i.exec(header);
    if (match === null) return { ok: false, reason: 'missing', message: "the Authorization header must be Bearer <token>, the token in the node's api.tokenFile; no other scheme is taken" };
    if (timingSafeEqual(digest(match[1]!), expected)) return { ok: true };
    return { ok: false, reason: 'wrong', message: "the bearer token is not this node's (see its api.tokenFile)" };
  };
}

/** The WWW-Authenticate challenge for a refusal (RFC 6750: invalid_token when a token was sent). */
export function challengeFor(reason: RefusalReason): string {
  return reason === 'wrong' ? `Bearer realm="${BEARER_REALM}", error="invalid_token"` : `Bearer realm="${BEARER_REALM}"`;
}
