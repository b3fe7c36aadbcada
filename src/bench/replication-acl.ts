import { topicMatches } from '../replication/topics.js';
/*
 * The aedes broker of the bench enforces the shipped Mosquitto ACL (brokers/acl) itself, so both
 * brokers refuse and allow the same topics for the same node.
 */

interface Rule {
  readonly user: string | null;
  readonly access: string;
  readonly filter: string;
}

/** Enough of Mosquitto's acl_file syntax for brokers/acl: `pattern`, `user` and `topic` lines. */
export function parseAcl(text: string): { allows(user: string, access: 'read' | 'write', topic: string): boolean } {
  const rules: Rule[] = [];
  let user: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [word, ...rest] = line.split(/\s+/);
    if (word === 'user') user = rest[0] ?? null;
    else if (word === 'pattern' || word === 'topic') {
      const [access, filter] = rest.length === 2 ? rest : ['readwrite', rest[0]];
      rules.push({ user: word === 'pattern' ? null : user, access: access ?? 'readwrite', filter: filter ?? '' });
    }
  }
  return {
    allows: (who, access, topic) =>
      rules.some(
        (r) => (r.user === null || r.user === who) && (r.access === access || r.access === 'readwrite') && topicMatches(r.filter.replaceAll('%u', who), topic),
      ),
  };
}
