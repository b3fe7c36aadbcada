import { pino } from 'pino';
import { Centre } from '../../central/centre.js';
import { CentreService } from '../../central/centre-service.js';
import type { LedgerBackend } from '../../central/ledger-backend.js';
import { registerNodes } from '../../central/register-nodes.js';
import { CENTRE_USER, type ProvisionedStore } from './provision.js';

/** The centre of a provisioned store: its ledger knows the store's boxes and its stolen card. */
export async function prepareCentre(store: ProvisionedStore, ledger: LedgerBackend): Promise<Centre> {
  await ledger.setCardStanding(store.hotToken, 'hot_listed');
  await registerNodes(ledger, store.store, store.keys);
  return new Centre({ backend: ledger, forwardDeadlineHours: 6 });
}

export interface CentreLinkRig {
  readonly brokerUrl: string;
  readonly clientId: string;
  /** The centre user's password on that broker; the store's own by default. */
  readonly password?: string;
}

/** The centre taking the store's batches and online requests on a broker, answering with the store's answer key. */
export function startCentreService(store: ProvisionedStore, centre: Centre, link: CentreLinkRig): Promise<CentreService> {
  return CentreService.start({
    centre,
    fleet: store.fleet,
    brokerUrl: link.brokerUrl,
    username: CENTRE_USER,
    password: link.password ?? store.passwords[CENTRE_USER]!,
    clientId: link.clientId,
    logger: pino({ level: 'silent' }),
    signingKey: store.answerKey.privateKey,
  });
}
