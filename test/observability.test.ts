import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultRulesConfig } from '../src/authorize/index.js';
import { withLuhnDigit } from '../src/card/luhn.js';
import { NodeRuntime } from '../src/app/runtime.js';
import { newNodeConfigIn } from './support/node.js';
import { eventually, startPtyPair, startSimulator } from './support/pty.js';
import { useTempDir } from './support/tmp.js';

const tempDir = useTempDir('edgepay-observability-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const packageVersion = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
const card = (n: number) => ({ pan: withLuhnDigit(`4000${String(n).padStart(11, '0')}`), expiryYymm: '2912' });

async function launchChromium(): Promise<Awaited<ReturnType<typeof chromium.launchPersistentContext>>> {
  const profile = mkdtempSync(join(tmpdir(), 'edgepay-chromium-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  // Debian's Chromium (CI installs it), with a fresh profile and none of its calls home.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.EDGEPAY_CHROMIUM ?? '/usr/bin/chromium',
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
    // The process and Node.js metrics, the release, and the tree's health.
    expect(metrics).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(metrics).toContain(`edgepay_build_info{version="${packageVersion}",node="${process.version}"} 1`);
    expect(metrics).toMatch(/^edgepay_healthy 1$/m);
    // No store broker and no centre configured: neither series is shown rather than shown as down.
    expect(metrics).not.toContain('edgepay_broker_up');
    expect(metrics).not.toContain('edgepay_centre_up');
    // Every decision was timed from request to durable decision, and every group commit.
    expect(metrics).toMatch(/^edgepay_decision_latency_seconds_count\{mode="offline"\} 3$/m);
    expect(metrics).toMatch(/^edgepay_decision_latency_seconds_bucket\{le="5",mode="offline"\} 3$/m);
    const commits = Number(/^edgepay_journal_commit_latency_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(metrics).toContain(`edgepay_journal_commit_latency_seconds_bucket{le="+Inf"} ${commits}`);
    const health = await fetch(`${node.observabilityAddress}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ healthy: true, accepting: true });
    // The status never carries card data beyond the last four digits.
    const status = await (await fetch(`${node.observabilityAddress}/status.json`)).text();
    expect(status).not.toMatch(/40000000000/);
    expect(JSON.parse(status)).toMatchObject({ nodeId: 'box-obs', version: packageVersion, healthy: true, backlog: { unforwarded: 3 }, centre: { online: null } });
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
    expect(await page.textContent('#version')).toBe(packageVersion);
    expect(await page.textContent('#updated')).toMatch(/\d/);
    // Not configured is neither good nor bad: grey, not green.
    expect(await page.textContent('#centre')).toBe('not configured');
    expect(await page.getAttribute('#centre', 'class')).toBe('neutral');
    expect(await page.evaluate("getComputedStyle(document.getElementById('centre')).color")).toBe('rgb(102, 102, 102)');
    expect(await page.textContent('#backlog')).toMatch(/^3, oldest \d+ s$/);
    const decisions = await page.locator('#decisions tr').allTextContents();
    expect(decisions).toHaveLength(3);
    // A decline shows its code's meaning and the rule's own reason.
    expect(decisions[0]).toContain('declined 14 invalid card number (offline)');
    expect(decisions[0]).toMatch(/check digit|Luhn/i);
    expect(decisions[2]).toContain('EUR 12.50');
    expect(decisions[2]).toContain('approved Y3 (offline)');
    expect(await page.textContent('#lanes')).toBe('no lanes on this node');

    // A new payment appears by itself within the page's refresh.
    await node.pay({ idempotencyKey: 'd', amountMinor: 4_200, currency: 'EUR', card: card(3) });
    await expect.poll(async () => (await page.locator('#decisions tr').allTextContents())[0], { timeout: 10_000 }).toContain('EUR 42.00');
    // The node goes away: the page says its figures may be old instead of showing them as current.
    const lastUpdate = await page.textContent('#updated');
    await node.stop();
    await expect.poll(() => page.isVisible('#stale'), { timeout: 10_000 }).toBe(true);
    // It names the time of the figures it still shows.
    expect(await page.textContent('#stale-at')).toBe(lastUpdate);
    expect(errors).toEqual([]);
  }, 60_000);

  it("amounts show with their currency's ISO 4217 exponent: JPY without decimals, EUR with two, KWD and BHD with three", async () => {
    const dir = tempDir();
    const rules = defaultRulesConfig();
    // JPY and KWD accepted (at floor limits in their own minor units); BHD is not, so it is declined with a reason.
    writeFileSync(
      join(dir, 'rules.json'),
      JSON.stringify({
        ...rules,
        currencies: { ...rules.currencies, JPY: { floorLimitMinor: 10_000 }, KWD: { floorLimitMinor: 50_000 } },
        perCard: { ...rules.perCard, maxAmountMinor: { ...rules.perCard.maxAmountMinor, JPY: 20_000, KWD: 100_000 } },
        node: { ...rules.node, maxStoredAmountMinor: { ...rules.node.maxStoredAmountMinor, JPY: 2_000_000, KWD: 2_000_000 } },
      }),
    );
    const config = await newNodeConfigIn(dir, { nodeId: 'box-fx', rulesFile: 'rules.json', observability: { host: '127.0.0.1', port: 0 } });
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    await node.pay({ idempotencyKey: 'jpy', amountMinor: 1_500, currency: 'JPY', card: card(11) });
    await node.pay({ idempotencyKey: 'eur', amountMinor: 1_500, currency: 'EUR', card: card(12) });
    await node.pay({ idempotencyKey: 'kwd', amountMinor: 1_500, currency: 'KWD', card: card(13) });
    await node.pay({ idempotencyKey: 'bhd', amountMinor: 1_234_567, currency: 'BHD', card: card(14) });

    const browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(node.observabilityAddress);
    await expect.poll(async () => (await page.locator('#decisions tr').allTextContents()).length, { timeout: 10_000 }).toBe(4);
    const amounts = await page.locator('#decisions tr td:nth-child(3)').allTextContents();
    expect(amounts).toEqual(['BHD 1,234.567', 'KWD 1.500', 'EUR 15.00', 'JPY 1,500']);
    const [bhd, kwd, eur, jpy] = await page.locator('#decisions tr').allTextContents();
    expect(jpy).toContain('approved Y3 (offline)');
    expect(eur).toContain('approved Y3');
    expect(kwd).toContain('approved Y3');
    // A currency the rules do not take: declined with the code's meaning and the rule's reason naming it.
    expect(bhd).toContain('declined 57 not permitted (offline)');
    expect(bhd).toContain('BHD');
    expect(await page.getAttribute('#decisions tr:first-child td:nth-child(4)', 'class')).toBe('bad');
  }, 60_000);

  it('colours are honest: degraded is amber, down is red, unknown is grey; an error answer marks the page stale', async () => {
    const config = await newNodeConfigIn(tempDir(), { nodeId: 'box-colours', observability: { host: '127.0.0.1', port: 0 } });
    const node = await NodeRuntime.start({ config, registry: new Registry() });
    cleanups.push(() => node.stop());
    const real = (await (await fetch(`${node.observabilityAddress}/status.json`)).json()) as Record<string, unknown>;
    // States this node cannot be put in on demand (a centre away, a reader reconnecting, a child restarting): the page is fed them.
    let answer: { status: number; body: unknown } = {
      status: 200,
      body: {
        ...real,
        healthy: false,
        tree: [{ id: 'uplink', state: 'restarting', restarts: 2 }],
        centre: { online: false, lastRoundAtMs: null, lastError: 'no answer' },
        lanes: [
          { id: 'lane-1', reader: { state: 'connecting' }, busyWith: null },
          { id: 'lane-2', reader: { state: 'disconnected' }, busyWith: null },
          { id: 'lane-3', reader: null, busyWith: null },
        ],
        peers: [
          { nodeId: 'box-2', online: false, lag: 4, headSeq: 9 },
          { nodeId: 'box-3', online: null, lag: 0, headSeq: 0 },
          { nodeId: 'box-4', online: true, lag: 0, headSeq: 3 },
        ],
      },
    };
    const browser = await launchChromium();
    const page = await browser.newPage();
    await page.route('**/status.json', (route) => route.fulfill({ status: answer.status, contentType: 'application/json', body: JSON.stringify(answer.body) }));
    await page.goto(node.observabilityAddress);
    await expect.poll(() => page.textContent('#node'), { timeout: 10_000 }).toBe('box-colours');
    const cls = (selector: string) => page.getAttribute(selector, 'class');
    expect(await page.textContent('#health')).toBe('recovering: uplink');
    expect(await cls('#health')).toBe('warn');
    expect(await page.textContent('#centre')).toBe('offline (taking payments offline)');
    expect(await cls('#centre')).toBe('warn');
    expect(await page.evaluate("getComputedStyle(document.getElementById('centre')).color")).toBe('rgb(138, 83, 0)');
    expect(await cls('#lanes tr:nth-child(1) td:nth-child(2)')).toBe('warn');
    expect(await cls('#lanes tr:nth-child(2) td:nth-child(2)')).toBe('bad');
    expect(await page.textContent('#lanes tr:nth-child(3) td:nth-child(2)')).toBe('not running');
    expect(await cls('#lanes tr:nth-child(3) td:nth-child(2)')).toBe('bad');
    expect(await cls('#peers tr:nth-child(1) td:nth-child(2)')).toBe('warn');
    expect(await cls('#peers tr:nth-child(2) td:nth-child(2)')).toBe('neutral');
    expect(await cls('#peers tr:nth-child(3) td:nth-child(2)')).toBe('ok');
    expect(await page.isVisible('#stale')).toBe(false);
    // The node answers with an error: the figures stay, marked as old.
    answer = { status: 500, body: { error: { code: 'EDGEPAY_INTERNAL' } } };
    await expect.poll(() => page.isVisible('#stale'), { timeout: 10_000 }).toBe(true);
    expect(await page.textContent('#centre')).toBe('offline (taking payments offline)');
  }, 60_000);

  it("a lane's reader shows in the metrics and on the page, and its unplugging too", async () => {
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
