// The "Your devices" page: lists the signed-in user's sessions from the self-service API
// (/api/v1/me/sessions) and revokes them. Plain browser JavaScript, no build step. Every value from
// the server goes in with textContent, never innerHTML: device labels come from user agents.

const API = '/api/v1/me/sessions';
const SVG = 'http://www.w3.org/2000/svg';
// Outline icons drawn in a 24×24 box: emoji depend on the fonts a system happens to have.
const SCREEN = [['rect', { x: 2, y: 4, width: 20, height: 13, rx: 1.5 }], ['path', { d: 'M8 21h8M12 17v4' }]];
const HANDHELD = (width) => [['rect', { x: 12 - width / 2, y: 2, width, height: 20, rx: 2 }], ['path', { d: 'M11 18h2' }]];
const ICONS = {
  desktop: SCREEN,
  tv: SCREEN,
  mobile: HANDHELD(10),
  tablet: HANDHELD(16),
  wearable: [['rect', { x: 6, y: 6, width: 12, height: 12, rx: 3 }], ['path', { d: 'M9 6V2h6v4M9 18v4h6v-4' }]],
  unknown: [['rect', { x: 4, y: 4, width: 16, height: 16, rx: 3 }], ['path', { d: 'M10 10a2 2 0 1 1 2 2v1.5M12 16.5v.01' }]],
};
const CLASS_NAMES = {
  desktop: 'Computer',
  mobile: 'Phone',
  tablet: 'Tablet',
  tv: 'TV',
  console: 'Game console',
  wearable: 'Wearable',
  embedded: 'Embedded device',
  bot: 'Automated client',
  unknown: 'Unknown kind of device',
};
const UNITS = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['week', 7 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
];
const relative = new Intl.RelativeTimeFormat(document.documentElement.lang || 'en', { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat(document.documentElement.lang || 'en', { dateStyle: 'medium', timeStyle: 'short' });

const list = document.getElementById('sessions');
const loading = document.getElementById('loading');
const status = document.getElementById('status');
const revokeOthers = document.getElementById('revoke-others');
const othersText = document.getElementById('others-text');
const heading = document.getElementById('sessions-heading');

revokeOthers.addEventListener('click', async () => {
  revokeOthers.disabled = true;
  try {
    const { revoked } = await api('/revoke-others', { method: 'POST' });
    say(`Signed out of ${revoked} other ${revoked === 1 ? 'device' : 'devices'}.`);
    await load();
  } catch (error) {
    fail(error);
    revokeOthers.disabled = false;
  }
});

load().catch(fail);
// Keeps the times fresh, and notices when this device was signed out from another one.
setInterval(() => load().catch(fail), 60_000);
request('/api/me')
  .then((me) => (document.getElementById('who').textContent = `Signed in as ${me.userId}`))
  .catch(() => {});

async function load() {
  const { sessions } = await api('');
  // This device first, then the others, most recently active first (the API's order).
  sessions.sort((a, b) => Number(b.current) - Number(a.current));
  list.replaceChildren(...sessions.map(item));
  loading.hidden = true;
  const others = sessions.length - 1;
  revokeOthers.disabled = others < 1;
  othersText.textContent =
    others < 1
      ? 'You are not signed in anywhere else.'
      : `You are signed in on ${others} other ${others === 1 ? 'device' : 'devices'}. Signed in somewhere you do not expect? Sign out of all of them at once.`;
}

/** One session as a list item. */
function item(session) {
  const device = session.device;
  const label = device?.label || 'Unknown device';
  const li = el('li', { className: 'device' });
  li.dataset.sessionId = session.id;
  if (session.current) li.dataset.current = 'true';

  li.append(icon(device?.class));

  const details = el('div', { className: 'details' });
  const title = el('h3', { textContent: label });
  if (session.current) title.append(el('span', { className: 'badge', textContent: 'This device' }));
  details.append(title);
  const kind = [CLASS_NAMES[device?.class] ?? CLASS_NAMES.unknown, device?.browser, device?.os].filter(Boolean).join(' · ');
  details.append(el('p', { className: 'kind', textContent: kind }));

  const facts = el('dl');
  fact(facts, 'IP address (approximate)', document.createTextNode(session.ip ?? 'not recorded'));
  fact(facts, 'Signed in', time(session.createdAt));
  fact(facts, 'Last active', session.current ? el('span', { textContent: 'Now' }) : time(session.lastActiveAt));
  details.append(facts);
  li.append(details);

  if (!session.current) {
    const button = el('button', { type: 'button', className: 'danger', textContent: 'Revoke' });
    button.setAttribute('aria-label', `Revoke ${label}`);
    button.addEventListener('click', () => revoke(session, label, button));
    li.append(button);
  }
  return li;
}

async function revoke(session, label, button) {
  button.disabled = true;
  try {
    await api(`/${encodeURIComponent(session.id)}`, { method: 'DELETE' });
    say(`Signed out of ${label}.`);
    await load();
    heading.focus();
  } catch (error) {
    fail(error);
    button.disabled = false;
  }
}

/** Calls the session API. */
function api(path, init = {}) {
  return request(API + path, init);
}

/** A same-origin JSON request; a 401 means this device was signed out: back to the sign-in page. */
async function request(url, init = {}) {
  const response = await fetch(url, { ...init, headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (response.status === 401) {
    location.assign('/login');
    throw new Error('This device was signed out.');
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message ?? `The server answered ${response.status}`);
  return body;
}

function fact(dl, term, value) {
  const dd = el('dd');
  dd.append(value);
  dl.append(el('dt', { textContent: term }), dd);
}

function time(iso) {
  const t = el('time', { dateTime: iso, textContent: ago(iso) });
  t.title = absolute.format(new Date(iso));
  return t;
}

/** "just now", "5 minutes ago", "yesterday", "3 weeks ago". */
function ago(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  if (Math.abs(seconds) < 45) return 'just now';
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.sign(seconds) || -1, 'minute');
}

function say(message) {
  status.classList.remove('error');
  status.textContent = message;
}

function fail(error) {
  status.classList.add('error');
  status.textContent = error instanceof Error ? error.message : String(error);
}

/** The device's class as an icon; decorative, the text says the same. */
function icon(deviceClass) {
  const svg = document.createElementNS(SVG, 'svg');
  for (const [name, value] of Object.entries({ class: 'icon', viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false' })) svg.setAttribute(name, value);
  for (const [tag, attributes] of ICONS[deviceClass] ?? ICONS.unknown) {
    const shape = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) shape.setAttribute(name, String(value));
    svg.append(shape);
  }
  return svg;
}

function el(tag, props = {}) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  return node;
}
