import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { withLuhnDigit } from '../src/card/luhn.js';
import { NodeRuntime } from '../src/node/runtime.js';
import { newNodeConfigIn } from './support/node.js';
import { eventually, startPtyPair, startSimulator } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-observability-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const card = (n: number) => ({ pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' });

async function launchChromium(): Promise<Awaited<ReturnType<typeof chromium.launchPersistentContext>>> {
  const profile = mkdtempSync(join(tmpdir(), 'edgepay-chromium-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  // Debian's Chromium (CI installs it), with a fresh profile and none of its calls home.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env['EDGEPAY_CHROMIUM'] ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  cleanups.push(() => browser.close());
  return browser;
}

async function observedNode() {
  const config = await newNodeConfigIn(tempDir(), { nodeId: 'box-obs', observability: { host: '127.0.0.1', port: 0 } });
  const node = await NodeRuntime.start({ config, registry: new Registry() });
  cleanups.push(() => node.stop());
  await node.pay({ idempotencyKey: 'a', amountMinor: 1_250, currency: 'EUR', card: card(1) });
  await node.pay({ idempotencyKey: 'b', amountMinor: 990, currency: 'EUR', card: card(2) });
  // A bad check digit: declined 14 by the offline rules.
  await node.pay({ idempotencyKey: 'c', amountMinor: 500, currency: 'EUR', card: { pan: '4000000000000001', expiryYymm: '2912' } });
  return node;
}

describe('metrics, health and the status page', () => {
  it('/metrics counts decisions by code and mode and shows the backlog; /health says the tree runs', async () => {
    const node = await observedNode();
    const metrics = await (await fetch(`${node.observabilityAddress}/metrics`)).text();
    expect(metrics).toContain('edgepay_decisions_total{code="Y3",mode="offline",approved="true"} 2');
    expect(metrics).toContain('edgepay_decisions_total{code="14",mode="offline",approved="false"} 1');
    expect(metrics).toMatch(/edgepay_unforwarded_entries 3\n/);
    expect(metrics).toMatch(/edgepay_oldest_unforwarded_age_seconds \d/);
    expect(metrics).toContain('edgepay_offline_exposure{kind="stored_unforwarded"} 2');
    // The actor runtime's own metrics are on the same page.
    expect(metrics).toContain('edgepay_actor_restarts_total');
    const health = await fetch(`${node.observabilityAddress}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ healthy: true, accepting: true });
    // The status never carries card data beyond the last four digits.
    const status = await (await fetch(`${node.observabilityAddress}/status.json`)).text();
    expect(status).not.toMatch(/40000000000/);
    expect(JSON.parse(status)).toMatchObject({ nodeId: 'box-obs', healthy: true, backlog: { unforwarded: 3 }, centre: { online: null } });
  }, 30_000);

  it('the status page shows the node, its backlog and its recent decisions in a real headless Chromium', async () => {
    const node = await observedNode();
    const browser = await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(node.observabilityAddress);
    await expect.poll(() => page.textContent('#node'), { timeout: 10_000 }).toBe('box-obs');
    expect(await page.textContent('#health')).toBe('running normally');
    expect(await page.textContent('#centre')).toBe('not configured');
    expect(await page.textContent('#backlog')).toMatch(/^3, oldest \d+ s$/);
    const decisions = await page.locator('#decisions tr').allTextContents();
    expect(decisions).toHaveLength(3);
    expect(decisions[0]).toContain('declined 14 (offline)');
    expect(decisions[2]).toContain('EUR 12.50');
    expect(decisions[2]).toContain('approved Y3 (offline)');
    expect(await page.textContent('#lanes')).toBe('no lanes on this node');

    // A new payment appears by itself within the page's refresh.
    await node.pay({ idempotencyKey: 'd', amountMinor: 4_200, currency: 'EUR', card: card(3) });
    await expect.poll(async () => (await page.locator('#decisions tr').allTextContents())[0], { timeout: 10_000 }).toContain('EUR 42.00');
    // The node goes away: the page says its figures may be old instead of showing them as current.
    await node.stop();
    await expect.poll(() => page.isVisible('#stale'), { timeout: 10_000 }).toBe(true);
    expect(errors).toEqual([]);
  }, 60_000);

  it('a lane\'s reader shows in the metrics and on the page, and its unplugging too', async () => {
    const dir = tempDir();
    const pty = await startPtyPair(dir);
    cleanups.push(() => pty.kill());
    const sim = startSimulator(['reader', 'simulate', '--port', pty.readerPath, '--profile', 'edgepay-sim', '--cards', 'good', '--seed', '7']);
    cleanups.push(() => sim.stop());
    const config = await newNodeConfigIn(dir, { observability: { host: '127.0.0.1', port: 0 }, lanes: [{ id: 'lane-7', port: pty.nodePath, profile: 'edgepay-sim' }] });
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    const metric = async () => (await (await fetch(`${node.observabilityAddress}/metrics`)).text()).match(/edgepay_reader_state\{lane="lane-7",state="([a-z_]+)"\} 1/)?.[1];
    await eventually(async () => ((await metric()) === 'ready' ? true : undefined), 8_000, 'the reader ready in the metrics');

    const browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(node.observabilityAddress);
    await expect.poll(async () => page.textContent('#lanes'), { timeout: 10_000 }).toContain('lane-7ready');
    // The reader is pulled out: the page and the metrics say so.
    await pty.kill();
    await expect.poll(async () => page.textContent('#lanes'), { timeout: 10_000 }).toContain('lane-7disconnected');
    expect(await metric()).toBe('disconnected');
  }, 60_000);
});
