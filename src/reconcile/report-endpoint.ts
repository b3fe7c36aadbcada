import type { SignedCentreAnswer } from '../central/answer-signature.js';
import { encodeCentreAnswer } from '../central/centre-wire.js';
import { EdgepayError } from '../errors.js';
import { REPORT_CORRELATION } from './mqtt-centre-link.js';

/*
 * `edgepay reconcile status` run beside a running node must not connect to the broker with the
 * node's identity: on the TLS listener a node's certificate is its client id, and a second
 * connection takes the node's session. So it asks the running node, on the node's local
 * observability port, to ask the centre over the node's one session (the uplink actor, through
 * the replicator's relay). The command chooses the correlation id and checks the centre's
 * signature itself: the node only carries the answer.
 */

export const CENTRE_REPORT_PATH = '/centre-report.json';

/** A request waits at most the centre's answer timeout plus this (two thread hops). */
const CALL_MARGIN_MS = 2_000;

export interface CentreReportEndpointOptions {
  /** The uplink actor's `report` request; undefined when the node has no centre over MQTT. */
  readonly ask: ((correlationId: string, timeoutMs: number) => Promise<SignedCentreAnswer>) | undefined;
  readonly answerTimeoutMs: number;
  /**
   * Whether the node's broker session is up now (null: no broker). Without it a request would only
   * wait out the answer timeout, so the caller is told at once why the centre cannot be asked.
   */
  readonly brokerConnected?: () => Promise<boolean | null>;
}

/** `body` is JSON text: on 200 the centre's answer in its own wire form, exactly as it was signed. */
export interface EndpointReply {
  readonly status: number;
  readonly body: string;
}

/**
 * One request at a time: each costs a round trip to the centre and a ledger query there, and the
 * observability port may be open to the store's back office. A second one while the first waits
 * is told to come back (429) rather than queued without bound.
 */
export function centreReportEndpoint(options: CentreReportEndpointOptions): (query: unknown) => Promise<EndpointReply> {
  let busy = false;
  return async (query) => {
    const correlationId = (query as { correlationId?: unknown } | undefined)?.correlationId;
    if (typeof correlationId !== 'string' || !REPORT_CORRELATION.test(correlationId)) {
      return problem(400, new EdgepayError('EDGEPAY_BAD_INPUT', 'correlationId: must be report#<uuid>, fresh for each request', { field: 'correlationId' }));
    }
    if (options.ask === undefined) return problem(404, new EdgepayError('EDGEPAY_NOT_FOUND', 'this node reaches no centre over MQTT: nothing to ask through it', {}));
    if ((await options.brokerConnected?.()) === false) {
      return problem(503, new EdgepayError('EDGEPAY_CENTRE_UNAVAILABLE', 'this node is not connected to its store broker now (it may still be coming up): the centre cannot be asked through it', {}));
    }
    if (busy) return problem(429, new EdgepayError('EDGEPAY_OVERLOADED', 'a report request to the centre is already waiting; ask again when it has its answer', {}));
    busy = true;
    try {
      return { status: 200, body: encodeCentreAnswer(await options.ask(correlationId, options.answerTimeoutMs + CALL_MARGIN_MS)).toString('utf8') };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return problem(503, new EdgepayError(code === 'EDGEPAY_BAD_INPUT' ? 'EDGEPAY_BAD_INPUT' : 'EDGEPAY_CENTRE_UNAVAILABLE', (error as Error).message, {}));
    } finally {
      busy = false;
    }
  };
}

function problem(status: number, error: EdgepayError): EndpointReply {
  return { status, body: JSON.stringify({ error: { code: error.code, message: error.message } }) };
}
