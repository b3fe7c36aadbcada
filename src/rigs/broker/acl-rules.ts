import { topicMatches } from '../../wire/topics.js';
/*
 * The aedes broker of the bench, the demo and the tests enforces the store's Mosquitto ACL (written
 * from brokers/acl.template) itself, as Mosquitto 2.0's acl_file does, so both brokers refuse and
 * allow the same topics for the same user.
 */

type Access = 'read' | 'write' | 'readwrite' | 'deny';

interface Rule {
  readonly access: Access;
  readonly filter: string;
}

export interface ParsedAcl {
  /** Whether `user` may read (receive) or write (publish) `topic`, a topic name without wildcards. */
  allows(user: string, access: 'read' | 'write', topic: string): boolean;
}

/**
 * Enough of Mosquitto's acl_file for the store ACL: `user`, `topic` and `pattern` lines, with the
 * access `read`, `write`, `readwrite` (the default) or `deny`. Mosquitto checks the user's own lines
 * first, denials before grants, and the patterns (with %u) after them.
 */
export function parseAcl(text: string): ParsedAcl {
  const users = new Map<string | null, Rule[]>();
  const patterns: Rule[] = [];
  let user: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [word, ...rest] = line.split(/\s+/);
    if (word === 'user') {
      user = rest.join(' ');
      continue;
    }
    if (word !== 'pattern' && word !== 'topic') continue;
    const [access, filter] = (rest.length >= 2 ? [rest[0], rest.slice(1).join(' ')] : ['readwrite', rest[0]]) as [string, string | undefined];
    if (filter === undefined || !['read', 'write', 'readwrite', 'deny'].includes(access)) throw new Error(`acl: cannot parse ${JSON.stringify(line)}`);
    const rule: Rule = { access: access as Access, filter };
    if (word === 'pattern') patterns.push(rule);
    else users.set(user, [...(users.get(user) ?? []), rule]);
  }
  const decide = (rules: readonly Rule[], access: 'read' | 'write', topic: string, who: string): boolean | undefined => {
    const matching = rules.filter((r) => topicMatches(r.filter.replaceAll('%u', who), topic));
    if (matching.some((r) => r.access === 'deny')) return false;
    return matching.some((r) => r.access === access || r.access === 'readwrite') ? true : undefined;
  };
  return {
    allows: (who, access, topic) => decide(users.get(who) ?? [], access, topic, who) ?? decide(patterns, access, topic, who) ?? false,
  };
}
