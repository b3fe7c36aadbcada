/** The far end of the raw ping-pong: echoes every message straight back, nothing else. */
import { parentPort } from 'node:worker_threads';

const port = parentPort;
if (port === null) throw new Error('actors-ping-worker must run as a worker thread');
port.on('message', (message: unknown) => port.postMessage(message));
port.postMessage('ready');
