import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { BadInputError, type FieldProblem } from '../errors.js';
import { readConfigFile } from '../platform/config-file.js';
import { brokerTlsProblems } from '../platform/broker-tls.js';
import { standbyBrokerProblems } from '../platform/broker-urls.js';
import { configPathsInto, optionalPaths } from '../platform/paths.js';
import { checkWith, strictObject as strict, wholeNumber as int } from '../validation.js';
import { lanePortIn, sharedPorts } from './lane-ports.js';
import { ID_RULE, idSchema, shortIdSchema } from '../ids.js';

/*
 * The node's configuration file (YAML or JSON). Every key is checked at start: a typo is an error naming
 * the key and the allowed keys, a bad value names its path, the value and what is allowed.
 * Relative paths are taken relative to the configuration file, so a config and its keys can move
 * together.
 */

function isReaderPublicKey(text: string): boolean {
  return /^[A-Za-z0-9+/]{43}=$/.test(text) && Buffer.from(text, 'base64').length === 32;
}

const path = z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' });

/** The POS API: on loopback TCP with the bearer token callers must send, or on a Unix socket. */
export type ApiConfig = { readonly host: '127.0.0.1' | '::1' | 'localhost'; readonly port: number; readonly tokenFile: string } | { readonly socket: string };

export const nodeConfigSchema = strict({
  nodeId: idSchema(),
  dataDir: path,
  rulesFile: path.optional(),
  keys: strict({
    tokenKeyFile: path,
    centrePublicKeyFile: path,
    /** Development only: take tokenKeyFile as a plain file; `check-config` and `node run` warn while it is set. */
    plainTokenKeyFileForDevelopment: z.boolean({ error: 'must be true or false' }).default(false),
  })
    // Whoever reads the token key can test candidate card numbers against every token on the box
    // (docs/security.md): in production it comes only from a sealed systemd credential.
    .refine((keys) => keys.tokenKeyFile.startsWith('credential:') || keys.plainTokenKeyFileForDevelopment, {
      path: ['tokenKeyFile'],
      error:
        'must be credential:<name>, a systemd credential sealed to this machine (`edgepay node seal-token-key`, LoadCredentialEncrypted=): ' +
        'a plain key file lets anyone with the disk recompute card tokens. For development only, set keys.plainTokenKeyFileForDevelopment: true',
    }),
  journal: strict({
    busyTimeoutMs: int(0, 60_000, 'milliseconds').default(2_000),
    tailCheckEntries: int(0, 10_000_000, 'entries re-hashed at start').default(1_024),
    maxBatch: int(1, 10_000, 'decisions per commit').default(512),
    maxWaitMs: int(0, 100, 'milliseconds a batch may wait for company').default(0),
    maxQueued: int(1, 1_000_000, 'decisions waiting to commit').default(16_384),
  }).prefault({}),
  actors: strict({
    mailboxCapacity: int(1, 1_000_000, 'requests in flight per actor').default(4_096),
    // 500: still four beats in every hungAfterMs, so one late beat never makes a worker look hung,
    // and a hung one is found within hungAfterMs plus two checks (3 s; 2.4 s at 200), for 2.5 times
    // fewer wakeups of each actor's thread and of the main thread: most of an idle node's CPU.
    heartbeatMs: int(10, 60_000, 'milliseconds').default(500),
    hungAfterMs: int(50, 600_000, 'milliseconds without a heartbeat').default(2_000),
    requestTimeoutMs: int(1, 600_000, 'milliseconds').default(5_000),
    intensity: int(0, 1_000, 'restarts per period').default(5),
    periodMs: int(100, 3_600_000, 'milliseconds').default(10_000),
  }).prefault({}),
  capture: strict({
    threads: int(1, 64, 'pool threads').default(1),
    maxQueue: int(1, 1_000_000, 'cards waiting for a thread').default(1_024),
  }).prefault({}),
  lanes: z
    .array(
      strict({
        id: shortIdSchema(),
        port: path,
        profile: z.string().min(1, { error: 'must name a reader profile (a file in devices/, without .json)' }),
        /**
         * The reader's Ed25519 public key (base64 of 32 bytes). Pinned, the lane requires a secure
         * session (reader protocol 1.1): the reader proves it holds the key, and card data arrives
         * sealed and signed, never as a PAN.
         */
        readerPublicKey: z
          .string({ error: 'must be base64 of a 32-byte Ed25519 public key' })
          .refine((text) => isReaderPublicKey(text), { error: 'must be base64 of a 32-byte Ed25519 public key (edgepay keygen reader-signing writes it to reader.pub)' })
          .optional(),
      }),
    )
    .max(64, { error: 'at most 64 lanes per node' })
    .refine((lanes) => new Set(lanes.map((l) => l.id)).size === lanes.length, { error: 'lane ids must be unique' })
    // Two names for one device (a by-id link and its target) are caught where the devices exist: check-config and start.
    .superRefine((lanes, ctx) => {
      for (const shared of sharedPorts(lanes)) ctx.addIssue({ code: 'custom', path: [shared.index, 'port'], message: shared.message, input: shared.port });
    })
    .default([]),
  api: z
    .union(
      [
        strict({
          host: z.enum(['127.0.0.1', '::1', 'localhost'], { error: 'must be 127.0.0.1, ::1 or localhost: the POS API is local only' }),
          port: int(0, 65_535, 'TCP port; 0 picks a free one'),
          // Optional here only so that its absence is reported under its own name below, not as a union mismatch.
          tokenFile: path.optional(),
        }),
        strict({ socket: path }),
      ],
      { error: 'must be { host, port, tokenFile } on loopback or { socket } (a Unix socket path)' },
    )
    // Any process on the box can reach a loopback port, so on TCP callers prove themselves with a
    // token; on a Unix socket the socket's owner and mode decide who may connect.
    .transform((api, ctx): ApiConfig => {
      if ('socket' in api) return api;
      if (api.tokenFile !== undefined) return { ...api, tokenFile: api.tokenFile };
      ctx.addIssue({
        code: 'custom',
        path: ['tokenFile'],
        message: 'is needed when the POS API listens on TCP: the file holding the bearer token every caller must send (`edgepay node init` makes one), or credential:<name>',
      });
      return z.NEVER;
    })
    .optional(),
  replication: strict({
    fleet: idSchema(),
    store: idSchema(),
    brokerUrl: z.string().regex(/^(mqtts?|wss?):\/\/[^\s]+$/, { error: 'must be an mqtt://, mqtts://, ws:// or wss:// URL' }),
    /**
     * The store's standby brokers, tried in order after brokerUrl when a connection closes or
     * cannot be made (brokers/README.md, "Two brokers in a store").
     */
    standbyBrokerUrls: z
      .array(z.string().regex(/^mqtts?:\/\/[^\s]+$/, { error: 'must be an mqtt:// or mqtts:// URL' }))
      .max(3, { error: 'at most 3 standby brokers' })
      .optional(),
    /** On a standby broker, go back to brokerUrl once it has answered every probe this long. */
    failbackAfterSeconds: int(1, 3_600, 'seconds the primary broker must answer before nodes move back to it').default(30),
    username: z.string().min(1).max(64).optional(),
    passwordFile: path.optional(),
    /** TLS to the broker (mqtts://): the CA to verify it with and this node's client certificate and key (`edgepay certs issue`). */
    caFile: path.optional(),
    certFile: path.optional(),
    keyFile: path.optional(),
    signingKeyFile: path,
    peers: z
      .array(strict({ nodeId: idSchema(`must be a node id: ${ID_RULE}`), publicKeyFile: path }))
      .max(64, { error: 'at most 64 peers in a store' })
      .default([]),
    inflightWindow: int(1, 4_096, 'own entries awaiting the broker').default(1_024),
    quorum: strict({
      enabled: z.boolean({ error: 'must be true or false' }).default(false),
      timeoutMs: int(1, 10_000, 'milliseconds to wait for a majority of reachable peers before answering local-only').default(200),
    }).prefault({}),
    /** A peer silent this long is taken into custody by one live peer, which forwards its journal to the centre. */
    custodyAfterSeconds: int(1, 86_400, "seconds of silence before a peer's journal is taken into custody").default(600),
    /**
     * How far ahead of this box's clock a peer's offline approval may be dated and still count in a
     * card's shared exposure; later ones are ignored and alerted. 900 (15 min) when absent.
     */
    peerClockToleranceSeconds: int(0, 86_400, "seconds a peer's approval may be dated ahead of this box's clock").optional(),
    /** The operator's rules public key: signed rules on the store's rules topic are applied only with it. */
    rulesPublicKeyFile: path.optional(),
  }).optional(),
  /** Metrics (/metrics), health (/health) and the staff status page (/), on loopback or the store LAN. */
  observability: strict({
    host: z.string().regex(/^[0-9a-fA-F.:]+$|^localhost$/, { error: 'must be an IP address to listen on (127.0.0.1 for this box only) or localhost' }),
    port: int(0, 65_535, 'TCP port; 0 picks a free one'),
  }).optional(),
  /**
   * Reconciliation with the central ledger. With `ledger`, the node forwards straight into that
   * ledger (embedded: the demo and small deployments): an SQLite file, or a PostgreSQL URL kept in
   * a file (it may hold a password, and secrets never go on the command line). Without it, the
   * node forwards to the centre process over the fleet's MQTT, with the replication section's
   * broker and credentials.
   */
  centre: strict({
    store: idSchema(),
    ledger: z
      .union([strict({ sqliteFile: path }), strict({ postgresUrlFile: path })], {
        error: 'must be { sqliteFile } (an embedded ledger) or { postgresUrlFile } (a file holding the postgres:// URL)',
      })
      .optional(),
    answerTimeoutMs: int(100, 600_000, "milliseconds to wait for the centre's answer to a batch over MQTT").default(10_000),
    /** Online authorization: the centre decides first while it answers within timeoutMs; the offline rules otherwise. */
    online: strict({
      enabled: z.boolean({ error: 'must be true or false' }).default(false),
      timeoutMs: int(10, 30_000, 'milliseconds to wait for the centre before deciding offline').default(300),
      /**
       * The circuit breaker (central/online-breaker.ts): this many unanswered in a row, and payments
       * stop asking until a probe is answered, the first after probeAfterMs. 3 and 5000 when absent
       * (BREAKER_DEFAULTS), so a configuration without them reads back as it was written.
       */
      failuresToOpen: int(1, 1_000, 'online requests unanswered in a row before payments stop asking the centre').optional(),
      probeAfterMs: int(100, 600_000, 'milliseconds before probing a centre that stopped answering').optional(),
    }).prefault({}),
    batchSize: int(1, 10_000, 'entries per forwarded batch').default(500),
    intervalMs: int(100, 3_600_000, 'milliseconds between forwarding rounds').default(5_000),
    /** The centre's own rule, applied here because the ledger is embedded: later offline approvals become exceptions. */
    forwardDeadlineHours: int(1, 8_760, 'hours').default(72),
    /** The centre's answer key (SPKI PEM): over MQTT, only answers signed with it are believed. */
    signingPublicKeyFile: path.optional(),
  })
    // Over MQTT anyone with a broker password for the answer topic could answer; the pinned key is the proof.
    .refine((centre) => centre.ledger !== undefined || centre.signingPublicKeyFile !== undefined, {
      path: ['signingPublicKeyFile'],
      error: "is needed without centre.ledger: the centre's public key (centre-signing.pub) that its answers over MQTT must be signed with",
    })
    .optional(),
  log: strict({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
  }).prefault({}),
});

export type NodeConfig = z.output<typeof nodeConfigSchema>;
export type NodeConfigInput = z.input<typeof nodeConfigSchema>;

export function parseNodeConfig(input: unknown, baseDir = process.cwd(), env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const checked = checkNodeConfig(input, baseDir, env);
  if (!checked.ok) throw new BadInputError('node configuration', checked.problems);
  return checked.config;
}

/**
 * The configuration with its paths resolved, or every problem found: the schema's, the keys that
 * only make sense together, and paths that cannot be resolved (a credential without a credentials
 * directory). No file is read here; `config check` and start read them (src/config-check).
 */
export function checkNodeConfig(
  input: unknown,
  baseDir = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): { readonly ok: true; readonly config: NodeConfig } | { readonly ok: false; readonly problems: FieldProblem[] } {
  const parsed = checkWith(nodeConfigSchema, input);
  if (!parsed.ok) return parsed;
  const config = parsed.data;
  const problems: FieldProblem[] = [];
  if (config.centre !== undefined && config.centre.ledger === undefined && config.replication === undefined) {
    problems.push({ path: 'centre.ledger', message: 'is needed without a replication section: the node reaches the centre over MQTT through the replication broker, or forwards into a ledger it names here' });
  }
  if (config.replication !== undefined) {
    problems.push(...brokerTlsProblems(config.replication.brokerUrl, config.replication, 'replication.'));
    problems.push(...standbyBrokerProblems(config.replication.brokerUrl, config.replication.standbyBrokerUrls, 'replication.'));
  }
  const at = configPathsInto(problems, baseDir, env);
  const resolved: NodeConfig = {
    ...config,
    ...(config.api === undefined ? {} : { api: 'socket' in config.api ? { socket: at(config.api.socket, 'api.socket') } : { ...config.api, tokenFile: at(config.api.tokenFile, 'api.tokenFile') } }),
    ...(config.replication === undefined
      ? {}
      : {
          replication: {
            ...config.replication,
            signingKeyFile: at(config.replication.signingKeyFile, 'replication.signingKeyFile'),
            ...optionalPaths(config.replication, ['passwordFile', 'rulesPublicKeyFile', 'caFile', 'certFile', 'keyFile'], at, 'replication.'),
            peers: config.replication.peers.map((peer, index) => ({ ...peer, publicKeyFile: at(peer.publicKeyFile, `replication.peers.${index}.publicKeyFile`) })),
          },
        }),
    ...(config.centre === undefined
      ? {}
      : {
          centre: {
            ...config.centre,
            ...optionalPaths(config.centre, ['signingPublicKeyFile'], at, 'centre.'),
            ...(config.centre.ledger === undefined
              ? {}
              : {
                  ledger:
                    'sqliteFile' in config.centre.ledger
                      ? { sqliteFile: at(config.centre.ledger.sqliteFile, 'centre.ledger.sqliteFile') }
                      : { postgresUrlFile: at(config.centre.ledger.postgresUrlFile, 'centre.ledger.postgresUrlFile') },
                }),
          },
        }),
    dataDir: at(config.dataDir, 'dataDir'),
    ...(config.rulesFile === undefined ? {} : { rulesFile: at(config.rulesFile, 'rulesFile') }),
    keys: { ...config.keys, tokenKeyFile: at(config.keys.tokenKeyFile, 'keys.tokenKeyFile'), centrePublicKeyFile: at(config.keys.centrePublicKeyFile, 'keys.centrePublicKeyFile') },
    // A reader's port is a path like any other: relative to the file (a `unix:` socket keeps its prefix).
    lanes: config.lanes.map((lane, index) => ({ ...lane, port: lanePortIn(lane.port, (path) => at(path, `lanes.${index}.port`)) })),
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: resolved };
}

export function loadNodeConfig(file: string, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  return parseNodeConfig(readConfigFile(file, 'node configuration'), dirname(resolve(file)), env);
}

export { journalPathOf, paymentsPathOf } from './data-files.js';
