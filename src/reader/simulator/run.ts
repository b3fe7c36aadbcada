import type { ReaderProfile } from '../profile.js';
import type { SerialPort } from 'serialport';
import { UNIX_SOCKET_PREFIX } from '../tty-port.js';
import { closeQuietly, openSerialPort } from './serial-port.js';
import { SocketLine } from './socket-line.js';
import type { SimCardKind } from './cards.js';
import { PacedChannel } from './paced-channel.js';
import { ReaderSimulator } from './simulator.js';
import type { ReaderSecrets } from './secure-reader.js';

export interface RunSimulatorOptions {
  readonly path: string;
  readonly profile: ReaderProfile;
  readonly cards: readonly SimCardKind[];
  readonly seed: number;
  /** Behave like a real UART at the profile's baud rate instead of at pty speed (off by default). */
  readonly pace?: boolean;
  readonly status: (line: string) => void;
  /** Keys for secure sessions (protocol 1.1); without them the reader sends card data in clear, as a 1.0 reader. */
  readonly secrets?: ReaderSecrets;
}

/** The exit code when the device went away under the simulator, or it was scripted to vanish: a system failure. */
export const EXIT_DEVICE_GONE = 3;

/**
 * Runs the simulated reader on a serial device until SIGTERM/SIGINT (resolves 0) or until the
 * device goes away (resolves EXIT_DEVICE_GONE). The `unplug` card does not resolve: it ends the
 * process on the spot, so the node sees a reader that vanished rather than one that said goodbye.
 */
export async function runSimulator(options: RunSimulatorOptions): Promise<number> {
  const { path, profile, cards, seed, status } = options;
  const opened = (): void => status(`port ${path} open (${profile.model}, ${profile.serial.baudRate} baud${options.pace === true ? ', paced at that rate' : ''}, cards ${cards.join(',')}, seed ${seed})`);
  let port: SerialPort | SocketLine;
  if (path.startsWith(UNIX_SOCKET_PREFIX)) {
    port = await SocketLine.accept(path.slice(UNIX_SOCKET_PREFIX.length), opened);
  } else {
    port = await openSerialPort(path, profile);
    opened();
  }
  const paced = options.pace === true ? new PacedChannel(port, profile.serial) : undefined;
  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number, line: string): void => {
      if (finished) return;
      finished = true;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      simulator.stop();
      paced?.close();
      status(line);
      void closeQuietly(port).then(() => resolve(code));
    };
    const onSignal = (signal: NodeJS.Signals): void => finish(0, `${signal}: stopped`);
    const simulator = new ReaderSimulator(paced ?? port, {
      profile,
      cards,
      seed,
      status,
      unplug: () => process.exit(EXIT_DEVICE_GONE),
      ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
    });
    const publicKey = simulator.publicKey;
    if (publicKey !== undefined) status(`secure sessions: reader public key ${Buffer.from(publicKey).toString('base64')} (the lane pins it as readerPublicKey)`);
    port.on('close', () => finish(EXIT_DEVICE_GONE, 'serial device gone: exiting'));
    port.on('error', (error: Error) => finish(EXIT_DEVICE_GONE, `serial error: ${error.message}`));
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    simulator.start();
  });
}
