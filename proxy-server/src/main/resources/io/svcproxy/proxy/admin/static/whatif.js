// svcproxy stats page, the "what if" card: a Service port's recorded traffic (its last ended connections, kept
// in memory by the proxy, and its open ones) replayed under other schedulers by api/v1/simulate, the numbers
// `svcproxy simulate` gives for the same connections. Opened by a Service port card's link (#whatif=ns/name:port),
// so it can be linked to; a dual-stack Service's link names the clusterIP (#whatif=ns/name:port@clusterIP), as the
// Service has the port once per family. Fetched once per opening or refresh, never polled. Text goes in through
// textContent only.

const PREFIX = '#whatif=';

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Returns the link that opens the card for a Service port of api/v1/services; {@code dualStack}: the Service has
 * more than one clusterIP, and the link names this port's.
 */
export function whatIfLink(s, dualStack) {
  const a = el('a', 'whatif-link', 'what if\u2026');
  a.href = PREFIX + encodeURIComponent(`${s.namespace}/${s.name}:${s.portName || s.port}`
    + (dualStack ? `@${s.clusterIP}` : ''));
  a.title = 'Replay this port\u2019s recorded connections under other schedulers';
  return a;
}

function parse(hash) {
  if (!hash.startsWith(PREFIX)) return null;
  let target;
  try {
    target = decodeURIComponent(hash.substring(PREFIX.length));
  } catch (e) {
    return null; // a link mangled by hand or by a mailer: no card, and the page goes on
  }
  // '@' is in no name or port name; an IPv6 clusterIP after it has colons of its own
  const at = target.lastIndexOf('@');
  const clusterIP = at < 0 ? null : target.substring(at + 1);
  const servicePort = at < 0 ? target : target.substring(0, at);
  const colon = servicePort.lastIndexOf(':');
  if (colon < 0) return null;
  return { service: servicePort.substring(0, colon), port: servicePort.substring(colon + 1), clusterIP };
}

async function configuredScheduler(target) {
  const response = await fetch('api/v1/services', { cache: 'no-store', headers: { Accept: 'application/json' } });
  if (!response.ok) return null;
  const doc = await response.json();
  const s = doc.services.find(x => `${x.namespace}/${x.name}` === target.service
    && String(x.portName || x.port) === target.port && (!target.clusterIP || x.clusterIP === target.clusterIP));
  return s ? s.scheduler : null;
}

function render(section, target, report, inUse) {
  section.replaceChildren();
  section.dataset.service = `${target.service}:${target.port}`;
  section.dataset.clusterIp = target.clusterIP || '';
  const head = el('header', 'card-head');
  const title = el('div');
  const h2 = el('h2');
  h2.append(el('span', 'svc-name', 'What if: ' + target.service), el('span', 'port-name', ':' + target.port
    + (target.clusterIP ? ` at ${target.clusterIP}` : '')));
  const first = report.schedulers[Object.keys(report.schedulers)[0]];
  const count = el('div', 'addr', `${report.connections} recorded connection${report.connections === 1 ? '' : 's'}`
    + ' (the last ones that ended, and those still open) replayed under each scheduler from a fresh state: the'
    + ' numbers of `svcproxy simulate` for the same connections.');
  count.id = 'whatif-count';
  title.append(h2, count);
  const actions = el('div', 'chips');
  const refresh = el('a', 'whatif-refresh', 'refresh');
  refresh.href = location.hash;
  refresh.addEventListener('click', (ev) => { ev.preventDefault(); open(section, target); });
  const close = el('a', 'whatif-close', 'close');
  close.href = '#';
  actions.append(refresh, close);
  head.append(title, actions);

  const wrap = el('div', 'table-wrap');
  const table = el('table', 'endpoints whatif-table');
  const thead = el('thead');
  const tr = el('tr');
  const th = (text, numeric) => { const t = el('th', numeric ? 'n' : null, text); t.scope = 'col'; return t; };
  tr.append(th('scheduler'));
  const endpoints = first ? first.endpoints.map(e => e.endpoint) : [];
  for (const e of endpoints) tr.append(th(e, true));
  tr.append(th('refused', true), th('imbalance', true), th('peak imbalance', true));
  thead.append(tr);
  const tbody = el('tbody');
  for (const [name, r] of Object.entries(report.schedulers)) {
    const row = el('tr');
    row.dataset.scheduler = name;
    const cell = el('td', 'c-scheduler', name);
    if (name === inUse) {
      row.classList.add('in-use');
      cell.append(el('span', 'badge ok', 'in use'));
    }
    row.append(cell);
    for (const endpoint of endpoints) {
      const e = r.endpoints.find(x => x.endpoint === endpoint);
      const td = el('td', 'n', e ? `${e.connections} (${Math.round(e.share * 100)}%)` : '0');
      td.dataset.endpoint = endpoint;
      td.dataset.connections = e ? String(e.connections) : '0';
      row.append(td);
    }
    // connections no endpoint took (sh or mh without fallback, onto a weight-0 endpoint): not in the shares
    const refused = el('td', 'n c-refused' + (r.refused > 0 ? ' warn' : ''), String(r.refused || 0));
    row.append(refused, el('td', 'n c-imbalance', r.imbalance.toFixed(3)),
      el('td', 'n c-peak', r.peakImbalance.toFixed(3)));
    tbody.append(row);
  }
  table.append(thead, tbody);
  wrap.append(table);
  const note = el('p', 'muted whatif-note', 'refused: connections no endpoint took; '
    + 'imbalance: the busiest endpoint\u2019s connections over the mean; '
    + 'peak imbalance: the same for the most connections held at once. 1.000 is even.');
  section.append(head, wrap, note);
}

async function open(section, target) {
  section.hidden = false;
  section.dataset.state = 'loading';
  try {
    // no schedulers asked: the API replays under every scheduler svcproxy has
    const query = new URLSearchParams({ service: target.service, port: target.port });
    if (target.clusterIP) query.set('clusterIP', target.clusterIP);
    const response = await fetch('api/v1/simulate?' + query, { cache: 'no-store' });
    if (!response.ok) throw new Error((await response.text()).trim() || `HTTP ${response.status}`);
    const report = await response.json();
    render(section, target, report, await configuredScheduler(target));
    section.dataset.state = 'ready';
  } catch (e) {
    section.replaceChildren(el('p', 'alert', `What if ${target.service}:${target.port}`
      + `${target.clusterIP ? ' at ' + target.clusterIP : ''}: ${e.message}`));
    section.dataset.state = 'error';
  }
  section.scrollIntoView({ block: 'nearest' });
}

/** Shows the card for the Service port in the address's hash, and follows the hash from now on. */
export function initWhatIf() {
  const section = document.getElementById('whatif');
  const follow = () => {
    const target = parse(location.hash);
    if (target) {
      open(section, target);
    } else {
      section.hidden = true;
      section.replaceChildren();
    }
  };
  window.addEventListener('hashchange', follow);
  follow();
}
