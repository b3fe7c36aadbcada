import { describe, expect, it } from 'vitest';
import { GroupCommit, type Settled } from '../src/journal/index.js';

describe('group commit', () => {
  it('gathers requests that arrive together into one flush and answers each in order', async () => {
    const batches: number[][] = [];
    const commit = new GroupCommit<number, number>((requests) => {
      batches.push([...requests]);
      return requests.map((r) => ({ ok: true, value: r * 10 }));
    });
    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => commit.submit(n)));
    expect(answers).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2, 3, 4, 5]]);
  });

  it('never puts more than maxBatch requests in one flush', async () => {
    const sizes: number[] = [];
    const commit = new GroupCommit<number, number>(
      (requests) => {
        sizes.push(requests.length);
        return requests.map((r) => ({ ok: true, value: r }));
      },
      { maxBatch: 4, maxQueued: 100 },
    );
    await Promise.all(Array.from({ length: 10 }, (_, i) => commit.submit(i)));
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('does not settle a promise before its flush has returned', async () => {
    const events: string[] = [];
    const commit = new GroupCommit<string, string>((requests) => {
      events.push('flush-start');
      const out: Settled<string>[] = requests.map((r) => ({ ok: true, value: r }));
      events.push('flush-end');
      return out;
    });
    await commit.submit('a').then(() => events.push('resolved'));
    expect(events).toEqual(['flush-start', 'flush-end', 'resolved']);
  });

  it('fails every request of a batch whose flush throws, and keeps serving later ones', async () => {
    let fail = true;
    const commit = new GroupCommit<number, number>((requests) => {
      if (fail) throw new Error('disk on fire');
      return requests.map((r) => ({ ok: true, value: r }));
    });
    const results = await Promise.allSettled([commit.submit(1), commit.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(commit.submit(3)).resolves.toBe(3);
  });

  it('lets one request fail alone', async () => {
    const commit = new GroupCommit<number, number>((requests) => requests.map((r) => (r === 2 ? { ok: false, error: new Error('conflict') } : { ok: true, value: r })));
    const results = await Promise.allSettled([1, 2, 3].map((n) => commit.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('refuses at once with EDGEPAY_OVERLOADED when the queue is full, and drops nothing it accepted', async () => {
    const seen: number[] = [];
    const commit = new GroupCommit<number, number>(
      (requests) => {
        seen.push(...requests);
        return requests.map((r) => ({ ok: true, value: r }));
      },
      { maxBatch: 2, maxQueued: 3 },
    );
    const accepted = [commit.submit(1), commit.submit(2), commit.submit(3)];
    await expect(commit.submit(4)).rejects.toMatchObject({ code: 'EDGEPAY_OVERLOADED' });
    expect(await Promise.all(accepted)).toEqual([1, 2, 3]);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('waits up to maxWaitMs for company when asked to', async () => {
    const sizes: number[] = [];
    const commit = new GroupCommit<number, number>(
      (requests) => {
        sizes.push(requests.length);
        return requests.map((r) => ({ ok: true, value: r }));
      },
      { maxWaitMs: 30 },
    );
    const first = commit.submit(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = commit.submit(2);
    await Promise.all([first, second]);
    expect(sizes).toEqual([2]);
  });

  it('calls onIdle once each time the queue has drained, never while requests wait', async () => {
    const seen: string[] = [];
    const commit = new GroupCommit<number, number>(
      (requests) => {
        seen.push(`flush ${requests.length}`);
        return requests.map((r) => ({ ok: true, value: r }));
      },
      { maxBatch: 2, maxQueued: 10, onIdle: () => seen.push(`idle with ${commit.queued} queued`) },
    );
    await Promise.all([1, 2, 3].map((n) => commit.submit(n)));
    await commit.submit(4);
    expect(seen).toEqual(['flush 2', 'flush 1', 'idle with 0 queued', 'flush 1', 'idle with 0 queued']);
  });

  it('reports each committed flush to onCommitted after its callers have their results, and not a flush that failed', async () => {
    const reported: { requests: number; durationMs: number }[] = [];
    let fail = false;
    const commit = new GroupCommit<number, number>(
      (requests) => {
        if (fail) throw new Error('disk gone');
        return requests.map((r) => ({ ok: true, value: r }));
      },
      { onCommitted: (requests, durationMs) => reported.push({ requests, durationMs }) },
    );
    await Promise.all([1, 2, 3].map((n) => commit.submit(n)));
    expect(reported).toHaveLength(1);
    expect(reported[0]!.requests).toBe(3);
    expect(reported[0]!.durationMs).toBeGreaterThanOrEqual(0);
    fail = true;
    await expect(commit.submit(4)).rejects.toThrow('disk gone');
    expect(reported).toHaveLength(1);
  });

  it('rejects nonsensical options with the option named', () => {
    const flush = (r: readonly number[]) => r.map((v) => ({ ok: true as const, value: v }));
    expect(() => new GroupCommit(flush, { maxBatch: 0 })).toThrow(/maxBatch/);
    expect(() => new GroupCommit(flush, { maxWaitMs: -1 })).toThrow(/maxWaitMs/);
    expect(() => new GroupCommit(flush, { maxBatch: 10, maxQueued: 5 })).toThrow(/maxQueued/);
  });
});
