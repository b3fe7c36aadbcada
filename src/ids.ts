import { z } from 'zod';

/*
 * One alphabet for every name edgepay writes into a topic level, a file name, an ACL line, a
 * certificate's common name or a systemd credential name: node, fleet, store and broker user ids,
 * credential names. No '/', '+', '#', '$', space or quote passes, so a name is one token wherever
 * it lands (one MQTT topic level, one ACL word, one path segment).
 */

/** Node, fleet, store and broker user ids; certificate and credential names. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const ID_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit";

/** Lane ids and reader models: the same alphabet, at most 32 characters (they name devices and metrics). */
export const SHORT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
export const SHORT_ID_RULE = "1-32 letters, digits, '.', '_' or '-', starting with a letter or digit";

export function isId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** A string schema for an id, saying what is allowed when it fails. */
export function idSchema(error = `must be ${ID_RULE}`) {
  return z.string().regex(ID_PATTERN, { error });
}

export function shortIdSchema(error = `must be ${SHORT_ID_RULE}`) {
  return z.string().regex(SHORT_ID_PATTERN, { error });
}
