/**
 * What each box's dead disks held, for the checks: per box, in the order they died, the idempotency
 * keys its journal had an entry for on each disk. A box's disks are numbered from 0; the live one's
 * number is the count of dead ones.
 */
export type DeadDisks = ReadonlyMap<string, readonly ReadonlySet<string>[]>;

/**
 * True when an answer the box gave on disk `disk` under `key` was a 91 that disk's journal could not
 * record, and that disk has since died with no entry for the key. The lanes' record of the 91 was
 * on that disk alone (`payments.db` is neither backed up nor replicated), so after the replacement
 * the key is free and a retry under it is a new payment. No money moved with the 91: the journal
 * never held it. The checks allow, and count, a later decision under such a key.
 */
export function forgottenWithDisk(dead: DeadDisks, node: string, disk: number, key: string): boolean {
  const held = dead.get(node)?.[disk];
  return held !== undefined && !held.has(key);
}
