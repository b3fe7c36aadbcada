import { SerialPort } from 'serialport';
import { EdgepayError } from '../../errors.js';
import type { ReaderProfile } from '../profile.js';

/**
 * Opens the simulated reader's end of the line with serialport and the profile's line settings.
 * Main thread only: serialport's native poller runs on the main thread's event loop, which is why
 * the node's reader actor (a worker thread) uses tty-port.ts instead.
 * Rejects with EDGEPAY_READER_UNAVAILABLE when the device is absent or cannot be opened.
 */
export function openSerialPort(path: string, profile: ReaderProfile): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({
      path,
      baudRate: profile.serial.baudRate,
      dataBits: profile.serial.dataBits,
      parity: profile.serial.parity,
      stopBits: profile.serial.stopBits,
      // Two owners of one reader would interleave frames: refuse a second opener.
      lock: true,
      autoOpen: false,
    });
    port.open((error) => {
      if (error === null) resolve(port);
      else reject(new EdgepayError('EDGEPAY_READER_UNAVAILABLE', `cannot open serial device ${path}: ${error.message}`, { port: path }, { cause: error }));
    });
  });
}

/** Closes without throwing: used on paths where the device may already be gone. */
export function closeQuietly(port: { readonly isOpen: boolean; close(callback: () => void): void }): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) {
      resolve();
      return;
    }
    port.close(() => resolve());
  });
}
