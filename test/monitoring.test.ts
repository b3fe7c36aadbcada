import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeRuntime } from '../src/app/runtime.js';
import { registerCentreMetrics } from '../src/observability/centre-metrics.js';
import { exportedSeriesNames } from '../src/metrics/metric-names.js';
import { newNodeConfigIn } from './support/node.js';
import { useTempDir } from './support/tmp.js';

/*
 * What ships in monitoring/: the alert rules pass promtool's own checks and unit tests, and the
 * Grafana dashboard asks only for series that edgepay's processes export.
 */

const MONITORING = join(import.meta.dirname, '..', 'monitoring');
// Debian's `prometheus` package (scripts/test-system-packages.sh installs it).
const PROMTOOL = process.env.EDGEPAY_PROMTOOL ?? 'promtool';
const tempDir = useTempDir('edgepay-monitoring-');
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function promtool(args: string[]): string {
  return execFileSync(PROMTOOL, args, { cwd: MONITORING, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The series a registry shows: a histogram's under its three suffixes, a summary's with _sum and _count. */
function seriesOf(registry: Registry): string[] {
  return registry.getMetricsAsArray().flatMap((metric) => {
    const type = String(metric.type);
    if (type === 'histogram') return [`${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`];
    if (type === 'summary') return [metric.name, `${metric.name}_sum`, `${metric.name}_count`];
    return [metric.name];
  });
}

/** prom-client's default process and Node.js series, as both processes register them. */
function defaultSeries(): string[] {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return seriesOf(registry);
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads: identifiers outside label matchers, ranges, grouping clauses and strings, that are not function calls. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  // Whole identifiers only (a number's exponent or a duration is not one), then the calls dropped.
  return [...bare.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter((m) => !/^\s*\(/.test(bare.slice(m.index + m[0].length)))
    .map((m) => m[0])
    .filter((word) => !PROMQL_WORDS.has(word.toLowerCase()));
}

interface Panel {
  readonly title?: string;
  readonly type: string;
  readonly targets?: readonly { readonly expr?: string }[];
  readonly panels?: readonly Panel[];
}

describe('monitoring/ as shipped', () => {
  it('the alert rules pass `promtool check rules` and their unit tests pass `promtool test rules`', () => {
    expect(promtool(['check', 'rules', 'alerts.yml'])).toMatch(/SUCCESS: \d+ rules found/);
    expect(promtool(['test', 'rules', 'alerts.test.yml'])).toContain('SUCCESS');
  });

  it('every alert has a summary and a runbook line, and reads only series edgepay or node_exporter export', () => {
    const exported = new Set([...exportedSeriesNames(), ...defaultSeries()]);
    const rules = promtoolRules();
    expect(rules.length).toBeGreaterThanOrEqual(12);
    for (const rule of rules) {
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.runbook, rule.alert).toBeTruthy();
      for (const name of metricsIn(rule.expr)) {
        if (!name.startsWith('node_')) expect(exported, `${rule.alert} reads ${name}`).toContain(name);
      }
    }
  });

  it('the Grafana dashboard is valid JSON whose every panel query names series the node or the centre exports', () => {
    const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana-dashboard.json'), 'utf8')) as { title: string; uid: string; panels: Panel[] };
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.uid).toBeTruthy();
    const exported = new Set([...exportedSeriesNames(), ...defaultSeries()]);
    const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const names = metricsIn(target.expr ?? '');
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) expect(exported, `${panel.title} reads ${name}`).toContain(name);
      }
    }
  });

  it("the metric table matches what the processes register: all of the centre's, and every series a node registers is in it", async () => {
    const defaults = new Set(defaultSeries());
    const centre = new Registry();
    registerCentreMetrics(centre, {
      service: { stats: { received: 0, batches: 0, answered: 0, refused: 0, malformed: 0 }, refusals: new Map(), onlineDecisions: new Map(), connected: true },
      centre: { refusals: new Map(), posted: new Map(), exceptions: new Map() },
      ledgerUp: async () => true,
    });
    expect(
      seriesOf(centre)
        .filter((name) => !defaults.has(name))
        .sort(),
    ).toEqual(exportedSeriesNames('centre').sort());

    const config = await newNodeConfigIn(tempDir(), { observability: { host: '127.0.0.1', port: 0 } });
    const registry = new Registry();
    const node = await NodeRuntime.start({ config, registry });
    cleanups.push(() => node.stop());
    const nodeSeries = new Set(exportedSeriesNames('node'));
    for (const name of seriesOf(registry).filter((name) => !defaults.has(name))) expect(nodeSeries, name).toContain(name);
  }, 30_000);
});

interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly annotations?: { readonly summary?: string; readonly runbook?: string };
}

/** The rules as Prometheus reads them, through the yaml package the project already uses. */
function promtoolRules(): AlertRule[] {
  return (parseYaml(readFileSync(join(MONITORING, 'alerts.yml'), 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups.flatMap((group) => group.rules);
}
