/**
 * The store staff's status page: one self-contained HTML document (no build step, no external
 * assets) that reads /status.json every two seconds. Text is set with textContent only, never as
 * HTML, so nothing a reader or the network sends can inject markup. Amounts arrive formatted by the
 * node (the currency's own exponent), so the page holds no currency table of its own.
 *
 * Colours say how things are, not that they exist: green runs, amber works in a degraded way
 * (store broker or centre away, a reader reconnecting, a child restarting), red is down, grey is not
 * configured or not known. When no answer came for STALE_AFTER_MS the page says so, with the
 * time of the figures it still shows.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgepay node</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  h2 { font-size: 1rem; margin: 1.4rem 0 .4rem; }
  table { border-collapse: collapse; width: 100%; max-width: 72rem; }
  th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #ddd; }
  td.amount { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .ok { color: #0a6b2b; font-weight: 600; } .warn { color: #8a5300; font-weight: 600; } .bad { color: #a4161a; font-weight: 600; }
  .neutral, .muted { color: #666; }
  #meta { color: #555; font-size: .9rem; }
  #stale { display: none; margin: .6rem 0; padding: .4rem .6rem; border: 2px solid #a4161a; background: #fdecec; color: #a4161a; font-weight: 600; }
  body.stale main { opacity: .55; }
</style>
</head>
<body>
<h1>edgepay node <span id="node"></span></h1>
<div id="meta">edgepay <span id="version"></span> · updated <span id="updated">never</span></div>
<div id="stale" role="alert">This page lost contact with the node. The figures below are from <span id="stale-at">before the page loaded</span> and may be old.</div>
<main>
<div><span id="health"></span> · store broker: <span id="broker"></span> · centre: <span id="centre"></span> · not yet forwarded: <span id="backlog"></span></div>
<h2>Lanes and readers</h2>
<table><thead><tr><th>lane</th><th>reader</th><th>busy with</th></tr></thead><tbody id="lanes"></tbody></table>
<h2>Store peers</h2>
<table><thead><tr><th>peer</th><th>status</th><th>behind by</th></tr></thead><tbody id="peers"></tbody></table>
<h2>Recent decisions</h2>
<table><thead><tr><th>time</th><th>lane</th><th>amount</th><th>decision</th><th>why</th><th>card</th></tr></thead><tbody id="decisions"></tbody></table>
<h2>Exceptions from the centre</h2>
<table><thead><tr><th>entry</th><th>amount</th><th>reason</th></tr></thead><tbody id="exceptions"></tbody></table>
</main>
<script>
'use strict';
const REFRESH_MS = 2000;
const FETCH_TIMEOUT_MS = 5000;
const STALE_AFTER_MS = 6000;
const $ = (id) => document.getElementById(id);
const loadedMs = Date.now();
let lastSuccessMs = null;
let lastFiguresAtMs = null;
function text(el, value, cls) { el.textContent = value; el.className = cls || ''; }
function rows(tbody, items, empty, cells) {
  tbody.replaceChildren();
  if (items.length === 0) {
    const tr = tbody.insertRow(); const td = tr.insertCell(); td.colSpan = 6; text(td, empty, 'muted'); return;
  }
  for (const item of items) { const tr = tbody.insertRow(); for (const [value, cls] of cells(item)) text(tr.insertCell(), value, cls); }
}
function age(seconds) { return seconds === null ? '' : seconds < 120 ? seconds + ' s' : Math.round(seconds / 60) + ' min'; }
function clock(ms) { return new Date(ms).toLocaleTimeString(); }
function readerText(reader) {
  if (reader.problem) return reader.state + ': ' + reader.problem;
  return reader.session === 'secure' ? reader.state + ' (secure)' : reader.state;
}
function readerClass(state) {
  if (state === 'ready' || state === 'in_transaction') return 'ok';
  if (state === 'connecting') return 'warn';
  return 'bad';
}
function centre(online) {
  if (online === null) return ['not configured', 'neutral'];
  return online ? ['online', 'ok'] : ['offline (taking payments offline)', 'warn'];
}
function broker(b) {
  if (!b || b.connected === null) return ['not configured', 'neutral'];
  return b.connected ? ['connected', 'ok'] : ['not connected (peers get copies when it is back)', 'warn'];
}
function peer(online) {
  if (online === null) return ['unknown', 'neutral'];
  return online ? ['online', 'ok'] : ['offline', 'warn'];
}
function decision(d) {
  // A decline says what its code means; the rule's own reason is in the next column.
  if (d.approved) return 'approved ' + d.code + ' (' + d.mode + ')';
  return 'declined ' + d.code + (d.codeMeaning ? ' ' + d.codeMeaning : '') + ' (' + d.mode + ')';
}
function showStale(stale) {
  $('stale').style.display = stale ? 'block' : 'none';
  document.body.classList.toggle('stale', stale);
  if (stale && lastFiguresAtMs !== null) text($('stale-at'), clock(lastFiguresAtMs));
}
async function refresh() {
  try {
    const response = await fetch('/status.json', { cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error('status ' + response.status);
    const s = await response.json();
    lastSuccessMs = Date.now();
    lastFiguresAtMs = s.atMs;
    showStale(false);
    text($('node'), s.nodeId);
    text($('version'), s.version);
    text($('updated'), clock(s.atMs));
    const recovering = s.tree.filter((c) => c.state !== 'running').map((c) => c.id);
    text($('health'), s.healthy ? 'running normally' : 'recovering: ' + recovering.join(', '), s.healthy ? 'ok' : 'warn');
    const [brokerText, brokerClass] = broker(s.broker);
    text($('broker'), brokerText, brokerClass);
    const [centreText, centreClass] = centre(s.centre.online);
    text($('centre'), centreText, centreClass);
    text($('backlog'), s.backlog.unforwarded + (s.backlog.unforwarded > 0 ? ', oldest ' + age(s.backlog.oldestAgeSeconds) : ''));
    rows($('lanes'), s.lanes, 'no lanes on this node', (l) => [[l.id], [l.reader ? readerText(l.reader) : 'not running', readerClass(l.reader ? l.reader.state : 'not_running')], [l.busyWith || '']]);
    rows($('peers'), s.peers, 'no peers', (p) => [[p.nodeId], peer(p.online), [p.lag + ' entries']]);
    rows($('decisions'), s.recentDecisions, 'no decisions yet', (d) => [[clock(d.atMs)], [d.lane || ''], [d.amountText, 'amount'], [decision(d), d.approved ? 'ok' : 'bad'], [d.reason || '', 'muted'], [d.cardLast4 ? '•••• ' + d.cardLast4 : '']]);
    rows($('exceptions'), s.exceptions, 'none', (e) => [[String(e.seq)], [e.amountText, 'amount'], [e.reason || '']]);
  } catch {
    showStale(true);
  }
}
// A fetch that neither answers nor fails (a hung network) must not leave old figures looking current.
setInterval(() => { if (Date.now() - (lastSuccessMs ?? loadedMs) > STALE_AFTER_MS) showStale(true); }, 1000);
refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
`;
