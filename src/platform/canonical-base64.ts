import { z } from 'zod';

/**
 * Base64 in the one form Buffer writes it. Decoders ignore the unused low bits of the last
 * character, so without this check several strings carry the same bytes: a message could be
 * altered on the way without changing what it says, and "one flipped bit is refused" would not hold.
 */
export function canonicalBase64(): z.ZodString {
  return z.base64().refine((text) => Buffer.from(text, 'base64').toString('base64') === text, { error: 'must be canonical base64 (as Buffer writes it)' }) as unknown as z.ZodString;
}
