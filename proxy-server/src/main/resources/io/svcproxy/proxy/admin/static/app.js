// svcproxy stats page: polls api/v1/services (a relative URL, so that the page works through a port-forward or an
// SSH tunnel) and draws one card per Service port. Throughput and connection rates are differences of the
// server's counters between two polls, divided by the difference of the server's `now`; the chart history lives
// in this tab only. Text always goes in through textContent, never as HTML.

import { initWhatIf, whatIfLink } from './whatif.js';

const POLL_MS = 1000;
const MAX_BACKOFF_MS = 5000;
const HISTORY_MS = 5 * 60 * 1000;
const API = 'api/v1/services';
const INGRESS_API = 'api/v1/ingresses';

const cards = new Map(); // Service port key -> card
let failures = 0;
let lastOk = 0;

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- formatting -------------------------------------------------------------------------------------------

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n) {
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + ' ' + UNITS[i];
}

export function formatRate(bytesPerSecond) {
  return formatBytes(bytesPerSecond) + '/s';
}

export function formatCount(n) {
  return Number(n).toLocaleString('en-US');
}

export function formatPerSecond(n) {
  if (!Number.isFinite(n) || n <= 0) return '0';
  return n < 10 ? n.toFixed(1) : String(Math.round(n));
}

export function formatDuration(ms) {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s %= 86400;
  const h = Math.floor(s / 3600);
  s %= 3600;
  const m = Math.floor(s / 60);
  s %= 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

function formatClock(ms) {
  const d = new Date(ms);
  const two = (v) => String(v).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function stateClass(state) {
  return 'state-' + String(state).toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

// ---- rates ------------------------------------------------------------------------------------------------

// Returns the per-second rate between two samples of a counter, or 0 when there is no earlier sample or the
// counter went back (an endpoint removed and added again starts from 0).
function rate(prev, value, dtMs) {
  if (prev === undefined || dtMs <= 0 || value < prev) return 0;
  return ((value - prev) * 1000) / dtMs;
}

// ---- charts -----------------------------------------------------------------------------------------------

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// Draws `points` (pairs [t, v]) over the `span` ms ending at `now` as a filled line, scaled to the peak, on a
// canvas of `w` x `h` CSS pixels (measured by the caller for every canvas at once: a size read after a change of
// the page makes the browser lay the page out again, so reading it per card costs the square of the cards).
function drawSparkline(canvas, w, h, points, now, span, color, lineColor) {
  const dpr = window.devicePixelRatio || 1;
  if (w === 0 || h === 0) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = lineColor;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, h - 0.5);
  ctx.lineTo(w, h - 0.5);
  ctx.stroke();
  if (points.length === 0) return;
  const peak = Math.max(...points.map((p) => p[1]));
  const top = peak > 0 ? peak * 1.15 : 1;
  const x = (t) => w - ((now - t) / span) * w;
  const y = (v) => h - 1 - (v / top) * (h - 3);
  ctx.beginPath();
  points.forEach(([t, v], i) => (i === 0 ? ctx.moveTo(x(t), y(v)) : ctx.lineTo(x(t), y(v))));
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.lineJoin = 'round';
  ctx.stroke();
  ctx.lineTo(x(points[points.length - 1][0]), h);
  ctx.lineTo(x(points[0][0]), h);
  ctx.closePath();
  ctx.globalAlpha = 0.15;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
}

function chart(title) {
  const figure = el('figure', 'chart');
  const caption = el('figcaption');
  const label = el('span', null, title + ' ');
  const now = el('b', null, '0');
  label.append(now);
  const peak = el('span', 'peak', '');
  caption.append(label, peak);
  const canvas = el('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', title + ' over the last minutes');
  figure.append(caption, canvas);
  return { figure, now, peak, canvas };
}

// ---- cards ------------------------------------------------------------------------------------------------

const COLUMNS = [
  // [key, heading, numeric]
  ['endpoint', 'Endpoint', false],
  ['weight', 'Weight', true],
  ['state', 'State', false],
  ['active', 'Active', true],
  ['inactive', 'Inactive', true],
  ['total', 'Total', true],
  ['rate', 'Conn/s', true],
  ['failures', 'Connect fail', true],
  ['toEndpoint', 'Bytes \u2192 endpoint', true],
  ['toClient', 'Bytes \u2192 client', true],
  ['throughput', 'Throughput', true],
];

function serviceKey(s) {
  return `${s.clusterIP}:${s.port}/${s.protocol}`;
}

function endpointKey(e) {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

function createCard(s, dualStack) {
  const card = el('section', 'card');
  const label = `${s.namespace}/${s.name}`;
  card.dataset.service = `${label}:${s.portName || s.port}`;

  const head = el('header', 'card-head');
  const title = el('div');
  const h2 = el('h2');
  const svcName = el('span', 'svc-name', label);
  const portName = el('span', 'port-name', ':' + (s.portName || s.port));
  h2.append(svcName, portName);
  const addr = el('div', 'addr');
  title.append(h2, addr);
  const chips = el('div', 'chips');
  const link = whatIfLink(s, dualStack);
  head.append(title, chips, link);

  const summary = el('div', 'summary');
  const conns = chart(s.protocol === 'UDP' ? 'flows' : 'connections'); // a UDP port charts its flows
  const tput = chart('throughput');
  summary.append(conns.figure, tput.figure);

  const { wrap, tbody } = tableOf('endpoints', COLUMNS);

  card.append(head, summary, wrap);
  return { card, addr, chips, conns, tput, tbody, rows: new Map(), history: [], prev: null, bps: null,
    svcName, portName, link, dualStack };
}

// A scrolling table of class cls with a header row of columns ([name, heading, numeric]).
function tableOf(cls, columns) {
  const wrap = el('div', 'table-wrap');
  const table = el('table', cls);
  const thead = el('thead');
  const tr = el('tr');
  for (const [, heading, numeric] of columns) {
    const th = el('th', numeric ? 'n' : null, heading);
    th.scope = 'col';
    tr.append(th);
  }
  thead.append(tr);
  const tbody = el('tbody');
  table.append(thead, tbody);
  wrap.append(table);
  return { wrap, tbody };
}

function chip(name, value) {
  const c = el('span', 'chip', name ? name + ' ' : '');
  c.append(el('b', null, value));
  return c;
}

function setCell(td, text, numericValue) {
  if (td.textContent !== text) {
    const changed = td.textContent !== '';
    td.textContent = text;
    if (changed) {
      td.classList.remove('flash');
      void td.offsetWidth; // restart the animation
      td.classList.add('flash');
    }
  }
  if (numericValue !== undefined) td.classList.toggle('zero', numericValue === 0);
}

function createRow(key) {
  const tr = el('tr');
  tr.dataset.endpoint = key;
  const cells = {};
  for (const [name, heading, numeric] of COLUMNS) {
    const td = el('td', (numeric ? 'n ' : '') + 'c-' + name);
    td.dataset.label = heading;
    cells[name] = td;
    tr.append(td);
  }
  cells.endpoint.classList.add('endpoint');
  cells.endpoint.textContent = key;
  cells.state.classList.add('state-cell');
  const badge = el('span', 'badge');
  cells.state.append(badge);
  return { tr, cells, badge };
}

// A card follows its address (clusterIP:port/protocol); the Service or port name at it may change by reload, and
// the Service may gain or lose its second clusterIP (then the what-if link names the clusterIP, or no longer does).
function updateName(c, s, dualStack) {
  const label = `${s.namespace}/${s.name}`;
  const service = `${label}:${s.portName || s.port}`;
  if (c.card.dataset.service === service && c.dualStack === dualStack) return;
  const before = c.card.dataset.service;
  c.card.dataset.service = service;
  c.dualStack = dualStack;
  c.svcName.textContent = label;
  c.portName.textContent = ':' + (s.portName || s.port);
  const link = whatIfLink(s, dualStack);
  c.link.replaceWith(link);
  c.link = link;
  const whatIf = $('whatif');
  // an open card without a clusterIP replays the IPv4 one of a dual-stack Service (api/v1/simulate's default)
  const same = whatIf.dataset.clusterIp ? whatIf.dataset.clusterIp === s.clusterIP
    : !dualStack || !s.clusterIP.includes(':');
  if (!whatIf.hidden && whatIf.dataset.service === before && before !== service && same) {
    location.hash = link.getAttribute('href'); // the open what-if card follows the rename (hashchange reopens it)
  }
}

function updateCard(c, s, now, dtMs, dualStack) {
  updateName(c, s, dualStack);
  // the clusterIP first; a NodePort, external or LoadBalancer address follows with its kind
  const others = (s.addresses || []).filter(a => a.kind !== 'cluster').map(a => `${a.address} (${a.kind})`);
  c.addr.textContent = `${s.clusterIP}:${s.port}/${s.protocol} \u2192 targetPort ${s.targetPort}`
    + (others.length ? ` \u00b7 also ${others.join(', ')}` : '');
  const chipList = [chip('scheduler', s.scheduler + (s.schedulerFlags.length ? ' +' + s.schedulerFlags.join(',') : ''))];
  chipList.push(chip('affinity', s.sessionAffinity === 'None' ? 'None' : `${s.sessionAffinity} ${s.sessionAffinityTimeoutSeconds}s`));
  const counts = {};
  for (const e of s.endpoints) counts[e.state] = (counts[e.state] || 0) + 1;
  chipList.push(chip('endpoints', Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'));
  if (s.noEndpoint > 0) chipList.push(chip('no endpoint', formatCount(s.noEndpoint)));
  if (s.type && s.type !== 'ClusterIP') {
    chipList.push(chip('type', s.type + (s.externalTrafficPolicy === 'Local' ? ', Local' : '')));
  }
  // connections by the kind of address they came in on, once the port has more than its clusterIP
  const byAddress = Object.entries(s.connectionsByAddress || {});
  if (byAddress.length > 1) {
    chipList.push(chip('by address', byAddress.map(([k, v]) => `${k} ${formatCount(v)}`).join(', ')));
  }
  const refused = Object.entries(s.rejected || {}).filter(([, v]) => v > 0)
    .map(([k, v]) => `${formatCount(v)} ${k.replace(/_/g, ' ')}`).join(', ');
  if (refused) chipList.push(chip('refused', refused));
  // UDP ports: flows (each one an inactive connection of its endpoint), datagrams each way, drops by reason
  const flows = s.endpoints.reduce((n, e) => n + (e.flows || 0), 0);
  if (s.protocol === 'UDP' && s.udp) {
    chipList.push(chip('flows', formatCount(flows)));
    chipList.push(chip('datagrams', `${formatCount(s.udp.datagramsToEndpoint)} \u2192 endpoint, `
      + `${formatCount(s.udp.datagramsToClient)} \u2192 client`));
    const dropped = Object.entries(s.udp.dropped).filter(([, v]) => v > 0).map(([k, v]) => `${v} ${k}`).join(', ');
    if (dropped) chipList.push(chip('dropped', dropped));
  }
  c.chips.replaceChildren(...chipList);

  // A document no newer than the last one (two polls within the server clock's millisecond) updates the counts
  // but keeps the rates and the history of the last real interval.
  const fresh = !c.prev || dtMs > 0;
  const prev = c.prev;
  const bytes = s.bytesToEndpoint + s.bytesToClient;
  const bps = !prev ? null : fresh ? rate(prev.bytes, bytes, dtMs) : c.bps; // null: no rate before 2 samples
  if (fresh) {
    c.history.push([now, s.protocol === 'UDP' ? flows : s.connections, bps]);
    while (c.history.length > 0 && c.history[0][0] < now - HISTORY_MS) c.history.shift();
  }

  const seen = new Set();
  const prevEndpoints = prev ? prev.endpoints : new Map();
  const nextEndpoints = new Map();
  s.endpoints.forEach((e, index) => {
    const key = endpointKey(e);
    seen.add(key);
    let row = c.rows.get(key);
    if (!row) {
      row = createRow(key);
      c.rows.set(key, row);
    }
    if (c.tbody.children[index] !== row.tr) c.tbody.insertBefore(row.tr, c.tbody.children[index] || null);
    const p = prevEndpoints.get(key);
    const eBytes = e.bytesToEndpoint + e.bytesToClient;
    const connRate = !p ? 0 : fresh ? rate(p.total, e.total, dtMs) : p.connRate;
    const eBps = !p ? 0 : fresh ? rate(p.bytes, eBytes, dtMs) : p.bps;

    nextEndpoints.set(key, fresh ? { total: e.total, bytes: eBytes, connRate, bps: eBps } : p);
    row.tr.dataset.state = e.state;
    row.badge.className = 'badge ' + stateClass(e.state);
    row.badge.textContent = e.state;
    setCell(row.cells.weight, String(e.weight), e.weight);
    setCell(row.cells.active, formatCount(e.active), e.active);
    setCell(row.cells.inactive, formatCount(e.inactive), e.inactive);
    setCell(row.cells.total, formatCount(e.total), e.total);
    setCell(row.cells.rate, formatPerSecond(connRate), connRate);
    setCell(row.cells.failures, formatCount(e.connectFailures), e.connectFailures);
    row.cells.failures.classList.toggle('bad', e.connectFailures > 0);
    setCell(row.cells.toEndpoint, formatBytes(e.bytesToEndpoint), e.bytesToEndpoint);
    setCell(row.cells.toClient, formatBytes(e.bytesToClient), e.bytesToClient);
    setCell(row.cells.throughput, formatRate(eBps), eBps);
  });
  for (const [key, row] of c.rows) {
    if (!seen.has(key)) {
      row.tr.remove();
      c.rows.delete(key);
    }
  }
  if (s.endpoints.length === 0 && !c.tbody.querySelector('tr.none')) {
    const tr = el('tr', 'none');
    const td = el('td', 'empty', 'no endpoints');
    td.colSpan = COLUMNS.length;
    tr.append(td);
    c.tbody.append(tr);
  } else if (s.endpoints.length > 0) {
    c.tbody.querySelector('tr.none')?.remove();
  }

  if (fresh) {
    c.prev = { bytes, endpoints: nextEndpoints };
    c.bps = bps;
  }
  return { connections: s.connections, bps: bps || 0 };
}

function chartPoints(c) {
  return {
    conns: c.history.map(([t, v]) => [t, v]),
    tput: c.history.filter((p) => p[2] !== null).map(([t, , v]) => [t, v]),
  };
}

// Writes a card's chart captions (the page changes; nothing is measured here).
function captionCharts(c) {
  const points = chartPoints(c);
  const last = c.history[c.history.length - 1];
  c.conns.now.textContent = last ? formatCount(last[1]) : '0';
  c.conns.peak.textContent = 'peak ' + formatCount(Math.max(0, ...points.conns.map((p) => p[1])));
  c.tput.now.textContent = formatRate(last ? last[2] || 0 : 0);
  c.tput.peak.textContent = 'peak ' + formatRate(Math.max(0, ...points.tput.map((p) => p[1])));
}

// Paints the charts of `list` (cards): every canvas measured first, in one layout, then every one painted.
function drawCharts(list, now) {
  const colors = { conn: cssVar('--conn'), tput: cssVar('--tput'), line: cssVar('--line') };
  const sizes = list.map((c) => [c.conns.canvas.clientWidth, c.conns.canvas.clientHeight,
    c.tput.canvas.clientWidth, c.tput.canvas.clientHeight]);
  list.forEach((c, i) => {
    const points = chartPoints(c);
    const [cw, ch, tw, th] = sizes[i];
    // The time axis grows with the history, from one minute up to HISTORY_MS, so a new tab shows a shape at once.
    const span = Math.min(HISTORY_MS, Math.max(60 * 1000, c.history.length ? now - c.history[0][0] : 0));
    drawSparkline(c.conns.canvas, cw, ch, points.conns, now, span, colors.conn, colors.line);
    drawSparkline(c.tput.canvas, tw, th, points.tput, now, span, colors.tput, colors.line);
  });
}

// ---- header -----------------------------------------------------------------------------------------------

function renderHeader(doc, now, totals) {
  $('build').textContent = 'v' + doc.svcproxyVersion;
  const ready = $('ready');
  ready.textContent = doc.ready ? 'ready' : 'not ready';
  ready.className = 'badge ' + (doc.ready ? 'ok' : 'bad');
  const unbound = doc.unbound || [];
  $('unbound').hidden = unbound.length === 0;
  $('unbound-text').textContent = unbound.join('\n');
  $('uptime').textContent = formatDuration(now - Date.parse(doc.startedAt));
  $('config-version').textContent = String(doc.version);
  $('total-connections').textContent = formatCount(totals.connections);
  $('total-throughput').textContent = formatRate(totals.bps);

  const reload = $('reload');
  const r = doc.lastReload;
  if (!r) {
    reload.dataset.result = 'none';
    reload.replaceChildren(el('span', 'muted', 'none since start'));
    $('reload-errors').hidden = true;
  } else {
    const at = Date.parse(r.at);
    reload.dataset.result = r.result;
    reload.title = r.at;
    reload.replaceChildren(
      el('span', 'badge ' + (r.result === 'applied' ? 'ok' : 'bad'), r.result),
      el('span', 'when', ` ${formatClock(at)} (${formatDuration(now - at)} ago)`));
    const rejected = r.result === 'rejected';
    $('reload-errors').hidden = !rejected;
    $('reload-error-text').textContent = rejected ? r.errors : '';
  }
}

function setLive(ok, message) {
  const live = $('live');
  live.classList.toggle('stale', !ok);
  live.textContent = message;
}

// ---- polling ----------------------------------------------------------------------------------------------

let lastNow = 0;

function render(doc) {
  const now = Date.parse(doc.now);
  const dtMs = lastNow ? now - lastNow : 0;
  lastNow = now;
  const main = $('services');
  const seen = new Set();
  const totals = { connections: 0, bps: 0 };
  const drawn = [];
  // The cards in the order of the answer: `place` walks the cards already on the page once (a lookup of the
  // index-th card per Service port would cost the square of the ports).
  const nextCard = (node) => {
    while (node && !(node.tagName === 'SECTION' && node.classList.contains('card'))) node = node.nextElementSibling;
    return node;
  };
  let place = nextCard(main.firstElementChild);
  // a dual-stack Service has each port once per clusterIP: its what-if links name the clusterIP
  const clusterIPs = new Map();
  for (const s of doc.services) {
    const name = `${s.namespace}/${s.name}`;
    if (!clusterIPs.has(name)) clusterIPs.set(name, new Set());
    clusterIPs.get(name).add(s.clusterIP);
  }
  doc.services.forEach((s) => {
    const key = serviceKey(s);
    seen.add(key);
    const dualStack = clusterIPs.get(`${s.namespace}/${s.name}`).size > 1;
    let c = cards.get(key);
    if (!c) {
      c = createCard(s, dualStack);
      cards.set(key, c);
    }
    if (c.card === place) {
      place = nextCard(place.nextElementSibling);
    } else {
      main.insertBefore(c.card, place);
    }
    const t = updateCard(c, s, now, dtMs, dualStack);
    totals.connections += t.connections;
    totals.bps += t.bps;
    captionCharts(c);
    drawn.push(c);
  });
  for (const [key, c] of cards) {
    if (!seen.has(key)) {
      c.card.remove();
      cards.delete(key);
    }
  }
  let empty = main.querySelector(':scope > p.empty');
  if (doc.services.length === 0 && !empty) {
    empty = el('p', 'empty', 'No Service ports are configured.');
    main.append(empty);
  } else if (doc.services.length > 0 && empty) {
    empty.remove();
  }
  drawCharts(drawn, now);
  renderHeader(doc, now, totals);
  document.title = `svcproxy \u00b7 ${doc.services.length} Service port${doc.services.length === 1 ? '' : 's'}`;
}

// ---- the Ingress card ---------------------------------------------------------------------------------------

const INGRESS_COLUMNS = [
  // [key, heading, numeric]
  ['ingress', 'Ingress', false],
  ['host', 'Host', false],
  ['path', 'Path', false],
  ['backend', 'Backend', false],
  ['endpoints', 'Endpoints', true],
  ['hits', 'Requests', true],
  ['codes', 'Responses', false],
];

let ingressCard = null;

function createIngressCard(section) {
  const head = el('header', 'card-head');
  const title = el('div');
  title.append(el('h2', null, 'Ingress'));
  const addr = el('div', 'addr');
  title.append(addr);
  const chips = el('div', 'chips');
  head.append(title, chips);
  const { wrap, tbody } = tableOf('rules', INGRESS_COLUMNS);
  section.append(head, wrap);
  return { addr, chips, tbody, rows: new Map() };
}

function formatCodes(codes) {
  return Object.entries(codes || {}).map(([code, n]) => `${code} ×${formatCount(n)}`).join(', ') || '–';
}

// Rows in routing order: each rule, then the Ingress's default backend.
function ingressRows(doc) {
  const rows = [];
  for (const ing of doc.ingresses) {
    const name = `${ing.namespace}/${ing.name}`;
    for (const r of ing.rules) {
      rows.push({ key: `${name} ${r.host} ${r.pathType} ${r.path}`, ingress: name, host: r.host,
        path: `${r.path} (${r.pathType})`, rule: r });
    }
    if (ing.defaultBackend) {
      rows.push({ key: `${name} default`, ingress: name, host: 'default backend', path: '–',
        rule: ing.defaultBackend });
    }
  }
  return rows;
}

function renderIngress(doc) {
  const section = $('ingress');
  const listeners = Object.entries(doc.listeners || {}).filter(([, a]) => a).map(([k, a]) => `${k} ${a}`);
  const rows = ingressRows(doc);
  section.hidden = rows.length === 0 && listeners.length === 0;
  if (section.hidden) return;
  if (!ingressCard) ingressCard = createIngressCard(section);
  const c = ingressCard;
  c.addr.textContent = listeners.join(' · ') || 'no listener';
  const total = rows.reduce((n, r) => n + r.rule.hits, 0) + (doc.notFound ? doc.notFound.hits : 0);
  c.chips.replaceChildren(chip('Ingresses', String(doc.ingresses.length)), chip('rules', String(rows.length)),
    chip('requests', formatCount(total)), chip('404', formatCount(doc.notFound ? doc.notFound.hits : 0)));
  const seen = new Set();
  rows.forEach((r, index) => {
    seen.add(r.key);
    let row = c.rows.get(r.key);
    if (!row) {
      const tr = el('tr');
      tr.dataset.rule = r.key;
      const cells = {};
      for (const [name, heading, numeric] of INGRESS_COLUMNS) {
        const td = el('td', (numeric ? 'n ' : '') + 'c-' + name);
        td.dataset.label = heading;
        cells[name] = td;
        tr.append(td);
      }
      row = { tr, cells };
      c.rows.set(r.key, row);
    }
    const at = c.tbody.children[index];
    if (at !== row.tr) c.tbody.insertBefore(row.tr, at || null);
    setCell(row.cells.ingress, r.ingress);
    setCell(row.cells.host, r.host);
    setCell(row.cells.path, r.path);
    setCell(row.cells.backend, `${r.rule.service}:${r.rule.port}`);
    const endpoints = r.rule.endpoints;
    setCell(row.cells.endpoints, endpoints === null ? 'no Service' : String(endpoints), endpoints || 0);
    setCell(row.cells.hits, formatCount(r.rule.hits), r.rule.hits);
    setCell(row.cells.codes, formatCodes(r.rule.codes));
  });
  for (const [key, row] of c.rows) {
    if (!seen.has(key)) {
      row.tr.remove();
      c.rows.delete(key);
    }
  }
}

async function poll() {
  try {
    const response = await fetch(API, { cache: 'no-store', headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    const ingress = await fetch(INGRESS_API, { cache: 'no-store', headers: { Accept: 'application/json' } });
    if (!ingress.ok) throw new Error(`HTTP ${ingress.status}`);
    renderIngress(await ingress.json());
    failures = 0;
    lastOk = Date.now();
    setLive(true, 'live');
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  } catch (e) {
    failures++;
    setLive(false, lastOk ? `stale: ${formatDuration(Date.now() - lastOk)} (${e.message})` : `unreachable (${e.message})`);
  } finally {
    setTimeout(poll, Math.min(POLL_MS * 2 ** Math.min(failures, 3), MAX_BACKOFF_MS));
  }
}

window.addEventListener('resize', () => {
  drawCharts([...cards.values()], lastNow);
});

initWhatIf();
poll();
