import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compiledModuleUrl } from '../src/platform/modules.js';
import { THREAD_NAME_BYTES, actorThreadName } from '../src/platform/thread-name.js';

describe('thread names', () => {
  it('an actor thread is named by its id, cut to the 15 bytes the kernel keeps, never mid-character', () => {
    expect(actorThreadName('journal-writer')).toBe('journal-writer');
    expect(actorThreadName('reader:checkout-12')).toBe('reader:checkout');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (id) => {
        const name = actorThreadName(id);
        expect(Buffer.byteLength(name, 'utf8')).toBeLessThanOrEqual(THREAD_NAME_BYTES);
        expect(id.startsWith(name)).toBe(true);
        expect(name).not.toContain('\uFFFD');
      }),
    );
  });

  it('a worker thread names its own OS thread, and only its own', async () => {
    const mainName = readFileSync('/proc/thread-self/comm', 'utf8').trim();
    const worker = new Worker(
      new URL(
        `data:text/javascript,${encodeURIComponent(`import { readlinkSync } from 'node:fs';
       import { parentPort } from 'node:worker_threads';
       import { nameThisThread } from ${JSON.stringify(compiledModuleUrl('platform/thread-name').href)};
       const named = nameThisThread('named-by-a-test-and-cut');
       parentPort.postMessage({ named, thread: readlinkSync('/proc/thread-self') });
       setTimeout(() => {}, 5_000);`)}`,
      ),
    );
    try {
      const { named, thread } = await new Promise<{ named: boolean; thread: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(named).toBe(true);
      const tid = thread.split('/').at(-1);
      expect(readFileSync(`/proc/${process.pid}/task/${tid}/comm`, 'utf8').trim()).toBe('named-by-a-test');
      expect(readFileSync('/proc/thread-self/comm', 'utf8').trim()).toBe(mainName);
    } finally {
      await worker.terminate();
    }
  });
});
