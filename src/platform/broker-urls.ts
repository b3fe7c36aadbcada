import type { FieldProblem } from '../errors.js';

/**
 * What is wrong with a primary and its standbys as a failover list: every broker takes the same
 * TLS files and credentials, so all must share one scheme (a plain standby behind a TLS primary
 * would send the node's traffic in clear), failover dials host and port itself (no ws://), and a
 * broker listed twice would be failed over to itself.
 */
export function standbyBrokerProblems(brokerUrl: string, standbyUrls: readonly string[] | undefined, prefix = ''): FieldProblem[] {
  if (standbyUrls === undefined || standbyUrls.length === 0) return [];
  const problems: FieldProblem[] = [];
  const scheme = (url: string): string => /^([a-z]+):/.exec(url)?.[1] ?? '';
  if (scheme(brokerUrl) !== 'mqtt' && scheme(brokerUrl) !== 'mqtts') {
    problems.push({ path: `${prefix}brokerUrl`, message: "must be an mqtt:// or mqtts:// URL when standbyBrokerUrls are set: failover dials each broker's host and port", value: brokerUrl });
  }
  const seen = new Set([brokerUrl]);
  standbyUrls.forEach((url, i) => {
    if (scheme(url) !== scheme(brokerUrl)) {
      problems.push({
        path: `${prefix}standbyBrokerUrls.${i}`,
        message: `must use the same scheme as brokerUrl (${scheme(brokerUrl)}://): every broker of the store takes the same TLS files and credentials`,
        value: url,
      });
    }
    if (seen.has(url)) problems.push({ path: `${prefix}standbyBrokerUrls.${i}`, message: 'names a broker already in the list (brokerUrl or an earlier standby)', value: url });
    seen.add(url);
  });
  return problems;
}
