import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { SignedCentreAnswer } from '../central/answer-signature.js';
import { loadCentrePublicKey } from '../central/centre-keys.js';
import { decodeCentreAnswer } from '../central/centre-wire.js';
import { EdgepayError } from '../errors.js';
import { JournalLock, lockOwner } from '../journal/lock.js';
import { type NodeConfig, journalPathOf } from '../config/node-config.js';
import { checkAnswer } from '../reconcile/answer-check.js';
import { connectToCentre } from '../reconcile/centre-connection.js';
import type { ReportAnswer } from '../reconcile/mqtt-centre-link.js';
import type { CentreSide } from '../reconcile/report.js';
import { CENTRE_REPORT_PATH } from '../reconcile/report-endpoint.js';
import type { Deadline } from '../reconcile/deadline.js';

/** A node configuration that has its centre section. */
export type WithCentre = NodeConfig & { readonly centre: NonNullable<NodeConfig['centre']> };

/*
 * Where `reconcile status` gets the centre's side over MQTT, without ever taking the running
 * node's session at the broker (on the TLS listener the node's certificate is its client id):
 *   - the node runs (a live process holds the journal's lock): ask it, on its observability port,
 *     to ask the centre over its own connection; this command checks the signed answer itself;
 *   - the node is stopped: take the journal's lock (a node starting meanwhile is refused with
 *     "journal in use" and restarted by systemd, at most --timeout-s later, rather than losing its
 *     session to this command) and ask the centre with a client of this command's own.
 * Anything else (no observability port to ask, the broker or the centre down or silent, an answer
 * not believed) leaves the centre's side unknown, said plainly, and the report is not matched.
 * Every wait is bounded by the command's deadline (--timeout-s): whatever is down (after a power
 * cut the boxes come up in any order), the journal's side is printed within it.
 */

/** The HTTP request to the running node, on top of the centre's own answer timeout. */
const LOCAL_MARGIN_MS = 3_000;
/** Reading a local answer: a signed report is a few hundred bytes; anything far larger is not one. */
const MAX_LOCAL_ANSWER_BYTES = 64 * 1024;

export async function centreSideOverMqtt(config: WithCentre, deadline: Deadline): Promise<CentreSide> {
  const owner = lockOwner(journalPathOf(config));
  if (owner !== undefined) return askRunningNode(config, owner, deadline);
  let lock: JournalLock;
  try {
    lock = JournalLock.acquire(journalPathOf(config));
  } catch (error) {
    // It started between the two looks: ask it next time rather than race it for its session.
    return { reached: false, via: 'over MQTT', why: `the node started while this command looked (${(error as Error).message}); run it again` };
  }
  try {
    // A client id of this command's own (toolClientId): never the node's, whose session it would take.
    const centre = await connectToCentre(config, 'own-client', { tool: 'status', connectTimeoutMs: deadline.left() });
    try {
      const answer = await centre.askReport!(deadline.atMost(config.centre.answerTimeoutMs));
      return { reached: true, via: `over MQTT (${centre.via})`, report: answer.report ?? undefined, entriesCompared: false };
    } finally {
      await centre.close();
    }
  } catch (error) {
    return { reached: false, via: 'over MQTT', why: (error as Error).message };
  } finally {
    lock.release();
  }
}

async function askRunningNode(config: WithCentre, pid: number, deadline: Deadline): Promise<CentreSide> {
  const via = `through the running node (pid ${pid})`;
  const observability = config.observability;
  if (observability === undefined || observability.port === 0) {
    return {
      reached: false,
      via,
      why: 'the node is running and this command may not connect with its identity (that would take its session at the broker); give it observability.host and a fixed observability.port so it can be asked',
    };
  }
  const correlationId = `report#${randomUUID()}`;
  let answer: SignedCentreAnswer;
  try {
    answer = await fetchAnswer(observability.host, observability.port, correlationId, deadline.atMost(config.centre.answerTimeoutMs + LOCAL_MARGIN_MS));
  } catch (error) {
    return { reached: false, via, why: (error as Error).message };
  }
  // The node only carried it: believed here as the node's own link believes an answer, with the pinned key.
  const { replication } = config;
  if (replication === undefined || config.centre.signingPublicKeyFile === undefined)
    throw new EdgepayError('EDGEPAY_BAD_INPUT', 'centre: over MQTT the configuration needs replication and centre.signingPublicKeyFile', { field: 'centre' });
  const verdict = checkAnswer(
    answer,
    { kind: 'report', origin: config.nodeId },
    { fleet: replication.fleet, store: config.centre.store, node: config.nodeId },
    loadCentrePublicKey(config.centre.signingPublicKeyFile),
    Date.now(),
  );
  if (!verdict.ok) return { reached: false, via, why: `the answer is not believed (${verdict.reason}): ${verdict.detail}` };
  if (answer.correlationId !== correlationId) return { reached: false, via, why: `the answer is for request ${answer.correlationId}, not this one` };
  return { reached: true, via, report: (answer as ReportAnswer).report ?? undefined, entriesCompared: false };
}

/** GET the running node's centre report; the body is the centre's signed answer as it published it. */
function fetchAnswer(host: string, port: number, correlationId: string, timeoutMs: number): Promise<SignedCentreAnswer> {
  // A node listening on every address is reached on loopback.
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const hostHeader = target.includes(':') ? `[${target}]:${port}` : `${target}:${port}`;
  return new Promise((resolve, reject) => {
    const req = request({ host: target, port, path: `${CENTRE_REPORT_PATH}?correlationId=${encodeURIComponent(correlationId)}`, method: 'GET', timeout: timeoutMs, headers: { host: hostHeader } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_LOCAL_ANSWER_BYTES) return void req.destroy(new Error(`the node's answer is over ${MAX_LOCAL_ANSWER_BYTES} bytes`));
        chunks.push(chunk);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          const message = (() => {
            try {
              return (JSON.parse(text) as { error?: { message?: string } }).error?.message;
            } catch {
              return undefined;
            }
          })();
          return reject(new Error(`the node could not ask the centre (HTTP ${res.statusCode}): ${message ?? text.slice(0, 200)}`));
        }
        // The centre's wire form, decoded as strictly as the node's link decodes it.
        const answer = decodeCentreAnswer(Buffer.from(text, 'utf8'));
        if (answer === undefined) return reject(new Error("the node's answer is not a signed centre answer"));
        resolve(answer);
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`the node did not answer within ${timeoutMs} ms`)));
    req.on('error', (error) => reject(new Error(`cannot reach the node's observability port ${hostHeader}: ${error.message}`)));
    req.end();
  });
}
