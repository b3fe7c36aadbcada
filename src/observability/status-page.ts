/**
 * The store staff's status page: one self-contained HTML document (no build step, no external
 * assets) that reads /status.json every two seconds. Text is set with textContent only, never as
 * HTML, so nothing a reader or the network sends can inject markup.
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
  table { border-collapse: collapse; width: 100%; max-width: 60rem; }
  th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #ddd; }
  .ok { color: #0a6b2b; font-weight: 600; } .bad { color: #a4161a; font-weight: 600; } .muted { color: #666; }
  #stale { display: none; color: #a4161a; }
</style>
</head>
<body>
<h1>edgepay node <span id="node"></span></h1>
<div><span id="health"></span> · centre: <span id="centre"></span> · not yet forwarded: <span id="backlog"></span></div>
<div id="stale">This page lost contact with the node; the figures below may be old.</div>
<h2>Lanes and readers</h2>
<table><thead><tr><th>lane</th><th>reader</th><th>busy with</th></tr></thead><tbody id="lanes"></tbody></table>
<h2>Store peers</h2>
<table><thead><tr><th>peer</th><th>status</th><th>behind by</th></tr></thead><tbody id="peers"></tbody></table>
<h2>Recent decisions</h2>
<table><thead><tr><th>time</th><th>lane</th><th>amount</th><th>decision</th><th>card</th></tr></thead><tbody id="decisions"></tbody></table>
<h2>Exceptions from the centre</h2>
<table><thead><tr><th>entry</th><th>amount</th><th>reason</th></tr></thead><tbody id="exceptions"></tbody></table>
<script>
'use strict';
const $ = (id) => document.getElementById(id);
function text(el, value, cls) { el.textContent = value; el.className = cls || ''; }
function rows(tbody, items, empty, cells) {
  tbody.replaceChildren();
  if (items.length === 0) {
    const tr = tbody.insertRow(); const td = tr.insertCell(); td.colSpan = 5; text(td, empty, 'muted'); return;
  }
  for (const item of items) { const tr = tbody.insertRow(); for (const [value, cls] of cells(item)) text(tr.insertCell(), value, cls); }
}
function money(minor, currency) { return currency + ' ' + (minor / 100).toFixed(2); }
function age(seconds) { return seconds === null ? '' : seconds < 120 ? seconds + ' s' : Math.round(seconds / 60) + ' min'; }
async function refresh() {
  try {
    const response = await fetch('/status.json', { cache: 'no-store' });
    const s = await response.json();
    $('stale').style.display = 'none';
    text($('node'), s.nodeId);
    text($('health'), s.healthy ? 'running normally' : 'recovering: ' + s.tree.filter((c) => c.state !== 'running').map((c) => c.id).join(', '), s.healthy ? 'ok' : 'bad');
    text($('centre'), s.centre.online === null ? 'not configured' : s.centre.online ? 'online' : 'offline (taking payments offline)', s.centre.online === false ? 'bad' : 'ok');
    text($('backlog'), s.backlog.unforwarded + (s.backlog.unforwarded > 0 ? ', oldest ' + age(s.backlog.oldestAgeSeconds) : ''));
    rows($('lanes'), s.lanes, 'no lanes on this node', (l) => [[l.id], [l.reader ? l.reader.state : 'not running', l.reader && (l.reader.state === 'ready' || l.reader.state === 'in_transaction') ? 'ok' : 'bad'], [l.busyWith || '']]);
    rows($('peers'), s.peers, 'no peers', (p) => [[p.nodeId], [p.online === null ? 'unknown' : p.online ? 'online' : 'offline', p.online ? 'ok' : 'bad'], [p.lag + ' entries']]);
    rows($('decisions'), s.recentDecisions, 'no decisions yet', (d) => [[new Date(d.atMs).toLocaleTimeString()], [d.lane || ''], [money(d.amountMinor, d.currency)], [(d.approved ? 'approved ' : 'declined ') + d.code + ' (' + d.mode + ')', d.approved ? 'ok' : 'bad'], [d.cardLast4 ? '•••• ' + d.cardLast4 : '']]);
    rows($('exceptions'), s.exceptions, 'none', (e) => [[String(e.seq)], [money(e.amountMinor, e.currency)], [e.reason || '']]);
  } catch {
    $('stale').style.display = 'block';
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
`;
