// dutyhub's pages: one script that draws the page its path names, from dutyhub-web's JSON
// API. Every text from the hub goes into the page as text (never as HTML), so nothing in a
// notification can run here. Every change carries the session's CSRF token.
'use strict';

const state = { me: null, events: null };

// h('p', {class: 'x'}, 'text', child): an element, with text children as text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const main = () => document.getElementById('main');

function show(title, ...content) {
  document.title = title + ' - dutyhub';
  const m = main();
  m.replaceChildren(...content.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function announce(text) {
  const a = document.getElementById('announcer');
  a.textContent = '';
  // A fresh text node after a tick, so screen readers read it even when it repeats.
  setTimeout(() => { a.textContent = text; }, 50);
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || ('HTTP ' + status));
    this.status = status;
    this.body = body;
  }
}

// `background`: a refresh the page makes by itself (a timer, a live event), which must not
// keep an unattended screen signed in; dutyhub-web does not count it as activity.
async function api(method, path, body, { background = false } = {}) {
  const options = { method, headers: {}, credentials: 'same-origin' };
  if (background) options.headers['X-Dutyhub-Refresh'] = 'background';
  if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  // Every change, and opening an item (it is recorded), carries the page's CSRF token.
  if (state.me) options.headers['X-CSRF-Token'] = state.me.csrf;
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (response.status === 401 && path !== '/api/sign-in') {
    location.assign('/sign-in?next=' + encodeURIComponent(location.pathname));
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Times are shown on the partnership's clock (Northshire: Europe/London).
const timeFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
  hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
});
const when = (iso) => (iso ? timeFormat.format(new Date(iso)) : '-');

function span(ms) {
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hrs = Math.floor(s / 3600); s -= hrs * 3600;
  const m = Math.floor(s / 60);
  if (d > 0) return d + (d === 1 ? ' day ' : ' days ') + hrs + (hrs === 1 ? ' hour' : ' hours');
  if (hrs > 0) return hrs + (hrs === 1 ? ' hour ' : ' hours ') + m + (m === 1 ? ' minute' : ' minutes');
  return m + (m === 1 ? ' minute' : ' minutes');
}

// How urgent an item is now, in words and as a class for its colour.
function dueness(item, nowIso) {
  const left = new Date(item.due_at) - new Date(nowIso);
  if (left <= 0) return { cls: 'overdue', text: 'Overdue by ' + span(left) };
  if (left <= 60 * 60 * 1000) return { cls: 'soon', text: 'Due in ' + span(left) };
  return { cls: 'later', text: 'Due in ' + span(left) };
}

const words = (constant) => (constant || '').toLowerCase().replace(/_/g, ' ');
// The notification types as the partnership says them.
const typeNames = { HOSPITAL_LIAISON: 'Hospital liaison', MASH_REQUEST: 'MASH request', SCBU_DISCHARGE: 'SCBU discharge' };
const typeName = (type) => typeNames[type] || words(type);
const priorityBadge = (p) => h('span', { class: 'badge ' + p }, p);

function levelText(item) {
  if (!item.escalation_level) return null;
  return h('span', { class: 'badge level' }, 'Escalation level ' + item.escalation_level +
    (item.escalated_from ? ' (from ' + item.escalated_from + ')' : ''));
}

function errorBanner(error) {
  const violations = (error.body && error.body.error && error.body.error.violations) || [];
  return h('div', { class: 'banner error', role: 'alert' },
    h('h2', {}, error.status === 403 ? 'You may not do this' : 'That did not work'),
    h('p', {}, error.message),
    violations.length ? h('ul', {}, violations.map((v) => h('li', {}, v.field + ': ' + v.description))) : null);
}

// ---- drafts -----------------------------------------------------------------------------

// What a person types into a note or a reason is kept in this tab's sessionStorage as they
// type, so a session that ends under them (idle too long, or dutyhub-web restarted) loses
// none of it: the sign-in page brings them back to the same page, which puts it back. Kept
// under the account's name, shown to that account only, and dropped once sent, on signing
// out, when any other account's page loads in this tab, and after DRAFT_KEPT_MS. The
// browser may keep a tab's storage when it restores the tab, hence the time limit.
const DRAFT = 'dutyhub-draft:';
const DRAFT_KEPT_MS = 2 * 60 * 60 * 1000;
const draftsOf = (account) => DRAFT + encodeURIComponent(account) + ':';
const draftKey = (deliveryId, field) => draftsOf(state.me.account) + deliveryId + ':' + field;

function storage(fn) {
  try { return fn(window.sessionStorage); } catch (e) { return null; }  // storage turned off
}

// A kept draft's text, or '' (none, or too old: then dropped).
function readDraft(key) {
  return storage((s) => {
    let kept = null;
    try { kept = JSON.parse(s.getItem(key)); } catch (e) { kept = null; }
    if (kept && typeof kept.text === 'string' && Date.now() - kept.at < DRAFT_KEPT_MS) return kept.text;
    s.removeItem(key);
    return '';
  }) || '';
}

// Fills `textarea` with its kept draft, if any, and keeps what is typed from now on.
// Returns whether a draft was put back.
function keepDraft(textarea, deliveryId, field) {
  const key = draftKey(deliveryId, field);
  const kept = readDraft(key);
  if (kept) textarea.value = kept;
  textarea.addEventListener('input', () => storage((s) => (textarea.value
    ? s.setItem(key, JSON.stringify({ text: textarea.value, at: Date.now() })) : s.removeItem(key))));
  return Boolean(kept);
}

// The item's drafts, once it is done with: sent, or no longer outstanding.
function dropDrafts(deliveryId) {
  for (const field of ['note', 'reason']) storage((s) => s.removeItem(draftKey(deliveryId, field)));
}

// Every draft but `account`'s (all when `account` is null), and any too old.
function dropDraftsNotOf(account) {
  const mine = account === null ? null : draftsOf(account);
  storage((s) => Object.keys(s).filter((key) => key.startsWith(DRAFT)).forEach((key) => {
    if (mine !== null && key.startsWith(mine)) readDraft(key);  // drops it when too old
    else s.removeItem(key);
  }));
}

// Only the drafts too old: whoever signs in next may be the writer of the others.
function dropOldDrafts() {
  storage((s) => Object.keys(s).filter((key) => key.startsWith(DRAFT)).forEach(readDraft));
}

// ---- navigation -------------------------------------------------------------------------

function myInboxes() {
  const me = state.me;
  return [...new Set([...(me.member_of || []), ...(me.manages || [])])];
}

function drawNav() {
  const nav = document.getElementById('nav');
  if (!state.me) { nav.replaceChildren(); return; }
  const here = location.pathname;
  const link = (href, text) => h('li', {}, h('a', { href, 'aria-current': here === href ? 'page' : null }, text));
  const items = [];
  if (state.me.kind === 'person') {
    for (const inbox of state.me.member_of) items.push(link('/inbox/' + inbox, inbox));
    if (state.me.manages.length) items.push(link('/manager', 'Manager'));
  }
  items.push(link('/sender', 'Find a notification'));
  items.push(h('li', { class: 'who' }, 'Signed in as ' + state.me.account));
  items.push(h('li', {}, h('button', { type: 'button', onclick: signOut }, 'Sign out')));
  nav.replaceChildren(h('ul', {}, items));
}

async function signOut() {
  try { await api('POST', '/api/sign-out'); } catch (e) { /* signed out either way */ }
  dropDraftsNotOf(null);
  state.me = null;
  location.assign('/sign-in');
}

function home() {
  const me = state.me;
  if (me.kind === 'agency') return '/sender';
  if (me.member_of.length) return '/inbox/' + me.member_of[0];
  if (me.manages.length) return '/manager';
  return '/sender';
}

// ---- sign-in ----------------------------------------------------------------------------

// Where to go once signed in: back to the page that asked, but only one of these pages'
// own paths; anything else (another site, "/\\evil", a tab before "//") goes home.
const pagePaths = [/^\/inbox\/[A-Za-z0-9_.-]+$/, /^\/items\/[A-Za-z0-9-]+$/, /^\/manager$/, /^\/sender(\/[A-Za-z0-9-]+)?$/];
function pageAfterSignIn(next) {
  return next && pagePaths.some((p) => p.test(next)) ? next : home();
}

function signInPage() {
  const message = h('div', {});
  const account = h('input', { id: 'account', name: 'account', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'action', novalidate: true },
    h('label', { for: 'account' }, 'Account name'), account,
    h('label', { for: 'password' }, 'Password'), password,
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    try {
      await api('POST', '/api/sign-in', { account: account.value, password: password.value });
      state.me = await api('GET', '/api/me');
      location.assign(pageAfterSignIn(new URLSearchParams(location.search).get('next')));
    } catch (error) {
      message.replaceChildren(errorBanner(error));
      password.value = '';
      password.focus();
    }
  });
  show('Sign in', h('h1', {}, 'Sign in to dutyhub'), message, form);
  account.focus();
}

// ---- the duty inbox ---------------------------------------------------------------------

async function inboxPage(inbox) {
  const list = h('ul', { class: 'items', id: 'items', 'aria-describedby': 'count' });
  const count = h('p', { id: 'count' });
  const banner = h('div', {});
  const params = new URLSearchParams(location.search);
  if (params.get('acknowledged')) {
    banner.append(h('div', { class: 'banner', role: 'status' }, h('p', {}, 'You acknowledged the item; it has left the list.')));
  }
  show(inbox, h('h1', {}, 'Duty inbox: ' + inbox), banner, count, list);
  let known = null;
  async function refresh(announceNew, background = true) {
    let data;
    try {
      data = await api('GET', '/api/inboxes/' + encodeURIComponent(inbox), undefined, { background });
    } catch (error) {
      if (error.status !== 401) show(inbox, h('h1', {}, 'Duty inbox: ' + inbox), errorBanner(error));
      return;
    }
    const ids = new Set(data.items.map((i) => i.delivery_id));
    const fresh = known ? data.items.filter((i) => !known.has(i.delivery_id)) : [];
    known = ids;
    const overdue = data.items.filter((i) => new Date(i.due_at) <= new Date(data.now)).length;
    count.textContent = data.items.length === 0
      ? 'Nothing is outstanding in this inbox.'
      : data.items.length + (data.items.length === 1 ? ' item' : ' items') + ' outstanding, ' +
        overdue + ' overdue. Earliest due first.';
    list.replaceChildren(...data.items.map((item) => inboxItem(item, data.now, fresh.includes(item))));
    document.title = (data.items.length ? '(' + data.items.length + ') ' : '') + inbox + ' - dutyhub';
    if (announceNew && fresh.length) {
      const first = fresh[0];
      announce('New item in ' + inbox + ': ' + first.priority + ' ' + typeName(first.type) + ' from ' + first.from +
        (fresh.length > 1 ? ', and ' + (fresh.length - 1) + ' more' : ''));
    }
  }
  // The stream first, then the list, and the list again whenever the stream (re)connects:
  // nothing that arrives meanwhile is missed.
  listen((event) => { if (event.inbox === inbox) refresh(true); }, () => refresh(known !== null));
  await refresh(false, false);
  // Due times move on even when nothing happens.
  setInterval(() => refresh(false), 30000);
}

function inboxItem(item, now, fresh) {
  const due = dueness(item, now);
  return h('li', { class: 'item ' + due.cls + (fresh ? ' fresh' : ''), 'data-delivery-id': item.delivery_id },
    h('h2', {}, h('a', { href: '/items/' + item.delivery_id }, typeName(item.type) + ' from ' + item.from)),
    h('ul', { class: 'facts' },
      h('li', {}, priorityBadge(item.priority)),
      h('li', { class: 'due ' + due.cls }, due.text),
      levelText(item) ? h('li', {}, levelText(item)) : null,
      h('li', {}, item.state === 'OPENED' ? 'Opened, not acknowledged' : 'Not opened yet')),
    h('p', {}, item.summary),
    h('p', { class: 'muted' }, 'Received ' + when(item.received_at) + '; due ' + when(item.due_at)));
}

// Live updates: one event stream per page; the browser reconnects by itself.
function listen(onEvent, onOpen) {
  if (state.events) state.events.close();
  state.events = new EventSource('/api/events');
  if (onOpen) state.events.addEventListener('open', onOpen);
  state.events.addEventListener('item', (message) => {
    try { onEvent(JSON.parse(message.data)); } catch (e) { /* a malformed event is skipped */ }
  });
}

// ---- one item ---------------------------------------------------------------------------

function fieldList(pairs) {
  const rows = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length));
  return h('dl', { class: 'fields' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, formatValue(v))]));
}

function formatValue(v) {
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? words(x) : formatValue(x))).join(', ');
  if (v && typeof v === 'object' && v.lines !== undefined) return [...(v.lines || []), v.postcode].filter(Boolean).join(', ');
  if (typeof v === 'string' && /^[A-Z][A-Z_]+$/.test(v)) return words(v);
  if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v)) return when(v);
  return String(v);
}

function personFields(p) {
  return fieldList([
    ['Relationship', p.relationship], ['Name', [p.given_name, p.family_name].filter(Boolean).join(' ')],
    ['Date of birth', p.date_of_birth], ['Expected delivery date', p.expected_delivery_date],
    ['NHS number', p.nhs_number], ['Sex', p.sex], ['Address', p.address], ['GP practice', p.gp_practice_code],
    ['Lives with the child', p.lives_with_child], ['Parental responsibility', p.parental_responsibility]]);
}

const bodyLabels = {
  hospital_liaison: 'Hospital liaison', mash_request: 'MASH request', scbu_discharge: 'SCBU discharge',
};

function notificationSections(n) {
  const sections = [];
  sections.push(h('section', { class: 'form-section', 'aria-labelledby': 's-child' },
    h('h2', { id: 's-child' }, 'The child'), personFields(n.child || {})));
  const father = n.father_status || 'FATHER_STATUS_UNSPECIFIED';
  sections.push(h('section', { class: 'form-section', 'aria-labelledby': 's-household' },
    h('h2', { id: 's-household' }, 'The household'),
    h('div', { class: 'father-status' + (father === 'RECORDED' ? '' : ' unknown') },
      h('strong', {}, "Father's status: "), words(father),
      n.father_status_note ? h('p', {}, n.father_status_note) : null),
    (n.household || []).length ? (n.household || []).map((p) => h('div', { class: 'person' }, personFields(p)))
      : h('p', {}, 'No household members were given.')));
  sections.push(h('section', { class: 'form-section', 'aria-labelledby': 's-concerns' },
    h('h2', { id: 's-concerns' }, 'Concerns'),
    (n.concerns || []).length ? h('ul', { class: 'concerns' }, n.concerns.map((c) => h('li', {}, words(c))))
      : h('p', {}, 'No concerns were ticked.'),
    h('h3', {}, 'Summary'), h('p', {}, n.summary || '')));
  for (const [key, label] of Object.entries(bodyLabels)) {
    if (!n[key]) continue;
    const body = n[key];
    sections.push(h('section', { class: 'form-section', 'aria-labelledby': 's-body' },
      h('h2', { id: 's-body' }, label),
      fieldList(Object.entries(body).map(([k, v]) => [words(k).replace(/^./, (c) => c.toUpperCase()), v]))));
  }
  sections.push(h('section', { class: 'form-section', 'aria-labelledby': 's-author' },
    h('h2', { id: 's-author' }, 'Sent by'),
    fieldList([['Name', n.author && n.author.name], ['Role', n.author && n.author.role],
      ['Phone', n.author && n.author.phone], ['Email', n.author && n.author.email],
      ['Written', n.created_at], ['Area', n.area], ['Notification id', n.id]])));
  return sections;
}

async function itemPage(id) {
  let data;
  try {
    data = await api('GET', '/api/items/' + encodeURIComponent(id));
  } catch (error) {
    if (error.status === 401) return;
    const text = error.status === 403
      ? 'This item is in an inbox you are neither a member nor a manager of, so it is not shown.'
      : error.status === 404 ? 'There is no such item.' : error.message;
    show('Item', h('h1', {}, 'Item not shown'), h('div', { class: 'banner error', role: 'alert' }, h('p', {}, text)));
    return;
  }
  const d = data.delivery;
  const due = dueness(d, data.now);
  const outstanding = d.state === 'DELIVERED' || d.state === 'OPENED';
  const header = [
    h('h1', {}, typeName(d.type) + ' from ' + d.from),
    h('ul', { class: 'facts' },
      h('li', {}, priorityBadge(d.priority)),
      outstanding ? h('li', { class: 'due ' + due.cls }, due.text) : h('li', {}, words(d.state)),
      levelText(d) ? h('li', {}, levelText(d)) : null,
      h('li', {}, 'Inbox ' + d.inbox)),
    h('p', { class: 'muted' }, 'Received ' + when(d.received_at) + '; due ' + when(d.due_at) + '. Delivery ',
      h('span', { class: 'id' }, d.delivery_id)),
  ];
  // No longer outstanding (someone else acted first): her unsent words are shown once, for
  // her records, then dropped.
  const unsent = outstanding ? [] : ['note', 'reason'].map((field) => readDraft(draftKey(d.delivery_id, field))).filter(Boolean);
  if (!outstanding) dropDrafts(d.delivery_id);
  const acknowledged = (data.history || []).filter((e) => e.event === 'ACKNOWLEDGED').pop();
  const byWhom = d.state === 'ACKNOWLEDGED' && acknowledged;
  const actions = outstanding ? actionForms(d) : [h('div', { class: 'banner', role: 'status', id: 'not-outstanding' },
    h('p', {}, 'This item is ' + words(d.state) + (byWhom ? ' by ' + acknowledged.by +
      (acknowledged.inbox && acknowledged.inbox !== d.inbox ? ' in ' + acknowledged.inbox : '') + ', ' + when(acknowledged.at) : '') + '.'),
    byWhom && acknowledged.note ? h('p', {}, 'Their note: ' + acknowledged.note) : null,
    unsent.length ? h('p', {}, 'What you had written but not sent: ' + unsent.join(' / ')) : null)];
  const history = h('section', { class: 'form-section', 'aria-labelledby': 's-history' },
    h('h2', { id: 's-history' }, 'History'),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'What'),
        h('th', { scope: 'col' }, 'Who'), h('th', { scope: 'col' }, 'Inbox'), h('th', { scope: 'col' }, 'Note'))),
      h('tbody', {}, data.history.map((e) => h('tr', {}, h('td', {}, when(e.at)), h('td', {}, words(e.event)),
        h('td', {}, e.by ? e.by + (e.via ? ' (via ' + e.via + ')' : '') : 'the hub'), h('td', {}, e.inbox),
        h('td', {}, e.note || '')))))));
  // The whole form first, for reading; then what to do about it; then what has happened.
  show(typeName(d.type) + ' from ' + d.from, ...header, ...notificationSections(data.notification || {}), ...actions, history);
  main().focus();
}

function actionForms(d) {
  const ackMessage = h('div', {});
  const note = h('textarea', { id: 'note', name: 'note', required: true, 'aria-describedby': 'note-hint' });
  const ack = h('form', { class: 'action', id: 'acknowledge' },
    h('h2', {}, 'Acknowledge'),
    h('label', { for: 'note' }, 'Your note'),
    h('p', { class: 'hint', id: 'note-hint' }, 'Say what you will do. Opening an item is not acknowledging it.'),
    note, ackMessage, h('button', { type: 'submit' }, 'Acknowledge'));
  if (keepDraft(note, d.delivery_id, 'note')) {
    ackMessage.replaceChildren(h('div', { class: 'banner', role: 'status' },
      h('p', {}, 'Your unsent note was kept. Check it, then acknowledge.')));
  }
  ack.addEventListener('submit', async (event) => {
    event.preventDefault();
    ackMessage.replaceChildren();
    try {
      const done = await api('POST', '/api/items/' + encodeURIComponent(d.delivery_id) + '/acknowledge', { note: note.value });
      if (done.already_acknowledged) {
        // Someone acknowledged it first, and their note stands: hers was not recorded. The
        // item's page again says who and what they noted, and shows her words (still kept
        // as a draft) once, rather than telling her "you acknowledged" over them.
        await itemPage(d.delivery_id);
        return;
      }
      dropDrafts(d.delivery_id);
      // Back to the list it came from: the inbox for its members, the manager page for managers.
      const back = state.me.member_of.includes(d.inbox) ? '/inbox/' + d.inbox : '/manager';
      location.assign(back + '?acknowledged=' + encodeURIComponent(d.delivery_id));
    } catch (error) {
      ackMessage.replaceChildren(errorBanner(error));
    }
  });
  const forms = [ack];
  if (!d.escalated_from) {
    const transferMessage = h('div', {});
    const to = h('select', { id: 'to-inbox', name: 'to_inbox', required: true },
      h('option', { value: '' }, 'Choose an inbox'),
      state.me.inboxes.filter((i) => i !== d.inbox).map((i) => h('option', { value: i }, i)));
    const reason = h('textarea', { id: 'reason', name: 'reason', required: true });
    const transfer = h('form', { class: 'action', id: 'transfer' },
      h('h2', {}, 'Not for us: transfer'),
      h('label', { for: 'to-inbox' }, 'Transfer to'), to,
      h('label', { for: 'reason' }, 'Reason'), reason, transferMessage,
      h('button', { type: 'submit', class: 'secondary' }, 'Transfer'));
    if (keepDraft(reason, d.delivery_id, 'reason')) {
      transferMessage.replaceChildren(h('div', { class: 'banner', role: 'status' },
        h('p', {}, 'Your unsent reason was kept. Choose the inbox, then transfer.')));
    }
    transfer.addEventListener('submit', async (event) => {
      event.preventDefault();
      transferMessage.replaceChildren();
      try {
        const done = await api('POST', '/api/items/' + encodeURIComponent(d.delivery_id) + '/transfer',
          { to_inbox: to.value, reason: reason.value });
        dropDrafts(d.delivery_id);
        transferMessage.replaceChildren(h('div', { class: 'banner', role: 'status' },
          h('p', {}, 'Transferred to ' + done.inbox + '; it is outstanding there, due ' + when(done.due_at) + '.')));
      } catch (error) {
        transferMessage.replaceChildren(errorBanner(error));
      }
    });
    forms.push(transfer);
  }
  return forms;
}

// ---- managers ---------------------------------------------------------------------------

// A horizontal bar chart as SVG, with its numbers in a table beside it for anyone who
// cannot see the bars.
function barChart(id, caption, rows, series) {
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => r[s.key] || 0)));
  const barH = 14, gap = 6, labelW = 150, width = 640;
  const groupH = series.length * barH + gap * 2;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + Math.max(groupH * rows.length, 20));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-labelledby', id + '-caption');
  rows.forEach((row, i) => {
    const y0 = i * groupH + gap;
    const label = document.createElementNS(svg.namespaceURI, 'text');
    label.setAttribute('x', 0); label.setAttribute('y', y0 + barH);
    label.setAttribute('font-size', 13); label.setAttribute('fill', '#0b0c0c');
    label.textContent = row.label;
    svg.append(label);
    series.forEach((s, j) => {
      const value = row[s.key] || 0;
      const rect = document.createElementNS(svg.namespaceURI, 'rect');
      rect.setAttribute('x', labelW); rect.setAttribute('y', y0 + j * barH);
      rect.setAttribute('width', Math.max(1, (width - labelW - 110) * value / max));
      rect.setAttribute('height', barH - 2); rect.setAttribute('fill', s.colour);
      svg.append(rect);
      const text = document.createElementNS(svg.namespaceURI, 'text');
      text.setAttribute('x', labelW + 4 + (width - labelW - 110) * value / max); text.setAttribute('y', y0 + j * barH + barH - 3);
      text.setAttribute('font-size', 12); text.setAttribute('fill', '#0b0c0c');
      text.textContent = s.format(value);
      svg.append(text);
    });
  });
  const table = h('table', { class: 'visually-hidden' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Inbox'), series.map((s) => h('th', { scope: 'col' }, s.name)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.label), series.map((s) => h('td', {}, s.format(r[s.key] || 0)))))));
  return h('figure', { class: 'chart', id },
    h('figcaption', { id: id + '-caption' }, caption),
    h('ul', { class: 'legend' }, series.map((s) => h('li', {}, h('span', { class: 'swatch ' + s.swatch }), s.name))),
    svg, table);
}

const minutes = (seconds) => (seconds ? span(seconds * 1000) : 'none acknowledged');

async function managerPage() {
  await drawManager(false);
  // Live for as long as the page is open: one event stream (a new one per redraw would
  // leave the old ones counted at the server until it next writes to them, and past the
  // per-session bound the browser gives up on the stream for good), redrawn at most once
  // a second however many events come, and every 30 seconds whatever happens, so the
  // overdue list never goes stale unnoticed when the stream is gone.
  let pending = null;
  const redraw = () => {
    if (!pending) pending = setTimeout(() => { pending = null; drawManager(true); }, 1000);
  };
  let opened = false;
  listen(redraw, () => { if (opened) redraw(); opened = true; });
  setInterval(() => drawManager(true), 30000);
}

let managerDraws = 0;  // a slower, older answer is never drawn over a newer one

async function drawManager(background) {
  const draw = ++managerDraws;
  let data;
  try {
    data = await api('GET', '/api/manager', undefined, { background });
    if (draw !== managerDraws) return;
  } catch (error) {
    if (draw !== managerDraws) return;
    if (error.status !== 401) show('Manager', h('h1', {}, 'Manager'), errorBanner(error));
    return;
  }
  const params = new URLSearchParams(location.search);
  const banner = params.get('acknowledged')
    ? h('div', { class: 'banner', role: 'status' }, h('p', {}, 'You acknowledged the item; its escalation has ended everywhere.'))
    : null;
  const counts = h('ul', { class: 'counts' }, data.inboxes.map((i) => h('li', {},
    h('h3', {}, h('a', { href: '/inbox/' + i.inbox }, i.inbox)),
    h('span', { class: 'big' }, i.outstanding), ' outstanding',
    h('span', { class: 'big' + (i.overdue ? ' overdue' : '') }, i.overdue), ' overdue',
    Object.keys(i.by_level).length ? h('p', {}, Object.entries(i.by_level)
      .map(([level, n]) => n + ' at level ' + level).join(', ')) : null)));
  const overdue = data.overdue.length
    ? h('ul', { class: 'items', id: 'overdue' }, data.overdue.map((item) => inboxItem(item, data.now, false)))
    : h('p', { id: 'overdue' }, 'Nothing is overdue.');
  const rows = (report) => report.inboxes.map((r) => ({
    label: r.inbox, median: r.median_seconds_to_acknowledge, p90: r.p90_seconds_to_acknowledge,
    level1: r.reached_level['1'] || 0, level2: r.reached_level['2'] || 0,
  }));
  const timeSeries = [
    { key: 'median', name: 'Median', colour: '#1d70b8', swatch: 'a', format: minutes },
    { key: 'p90', name: '90th percentile', colour: '#0b0c0c', swatch: 'b', format: minutes },
  ];
  const escalationSeries = [
    { key: 'level1', name: 'Reached level 1', colour: '#1d70b8', swatch: 'a', format: String },
    { key: 'level2', name: 'Reached level 2', colour: '#0b0c0c', swatch: 'b', format: String },
  ];
  const from30 = data.last_30_days.from ? data.last_30_days.from.slice(0, 10) : '';
  // A redraw keeps the reader where they were.
  const scrolled = window.scrollY;
  const focused = document.activeElement ? document.activeElement.getAttribute('href') : null;
  show('Manager',
    h('h1', {}, 'Outstanding in the inboxes you manage'), banner,
    counts,
    h('h2', {}, 'Overdue, most overdue first'), overdue,
    h('h2', {}, 'Time to acknowledge'),
    barChart('chart-7', 'Time to acknowledge by inbox, last 7 days', rows(data.last_7_days), timeSeries),
    barChart('chart-30', 'Time to acknowledge by inbox, last 30 days', rows(data.last_30_days), timeSeries),
    h('h2', {}, 'Escalations'),
    barChart('chart-escalations', 'Items that escalated, by inbox, last 30 days', rows(data.last_30_days), escalationSeries),
    h('p', {}, h('a', { class: 'button', href: '/api/report.csv?from=' + encodeURIComponent(from30), download: 'dutyhub-report.csv' },
      'Download the last 30 days\' report (CSV)')));
  if (background) {
    window.scrollTo(0, scrolled);
    const again = focused && [...main().querySelectorAll('a')].find((a) => a.getAttribute('href') === focused);
    if (again) again.focus();
  }
}

// ---- senders ----------------------------------------------------------------------------

async function senderPage(id) {
  const input = h('input', { id: 'notification-id', name: 'id', type: 'search', value: id || '', spellcheck: 'false', 'aria-describedby': 'id-hint' });
  const result = h('div', { id: 'result' });
  const form = h('form', { class: 'action', role: 'search' },
    h('label', { for: 'notification-id' }, 'Notification id'),
    h('p', { class: 'hint', id: 'id-hint' }, 'The id your system gave the notification, such as 6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a01.'),
    input, h('button', { type: 'submit' }, 'Find'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    history.replaceState(null, '', '/sender/' + encodeURIComponent(value));
    lookUp(value);
  });
  show('Find a notification', h('h1', {}, 'Find a notification and its receipts'), form, result);
  async function lookUp(value) {
    if (!value) return;
    try {
      const s = await api('GET', '/api/notifications/' + encodeURIComponent(value));
      result.replaceChildren(h('h2', {}, 'Notification ', h('span', { class: 'id' }, s.id)),
        fieldList([['From', s.from], ['Received', s.received_at], ['Priority', s.priority]]),
        h('div', { class: 'table-wrap' }, h('table', {},
          h('caption', { class: 'visually-hidden' }, 'Where it went and who acted'),
          h('thead', {}, h('tr', {}, ['Inbox', 'State', 'Level', 'Opened by', 'Acknowledged by', 'When', 'Note']
            .map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, s.deliveries.map((d) => h('tr', {},
            h('td', {}, d.inbox), h('td', {}, words(d.state)), h('td', {}, d.escalation_level),
            h('td', {}, (d.opened_by || []).join(', ') || 'nobody yet'), h('td', {}, d.acknowledged_by || 'not yet'),
            h('td', {}, when(d.acknowledged_at)), h('td', {}, d.note || '')))))));
      announce('Found notification: ' + s.deliveries.length + ' deliveries');
    } catch (error) {
      if (error.status === 401) return;
      result.replaceChildren(errorBanner(error.status === 404
        ? Object.assign(error, { message: 'No notification with that id was sent by you or reached an inbox you manage.' }) : error));
    }
  }
  if (id) lookUp(id);
}

// ---- the router -------------------------------------------------------------------------

async function start() {
  const path = location.pathname;
  if (path === '/sign-in') {
    dropOldDrafts();
    drawNav();
    return signInPage();
  }
  try {
    state.me = await api('GET', '/api/me');
  } catch (error) {
    if (error.status !== 401) show('dutyhub', h('h1', {}, 'dutyhub'), errorBanner(error));
    return;
  }
  // However this person came to be signed in (this tab's form, another tab, single sign-on).
  dropDraftsNotOf(state.me.account);
  drawNav();
  let m;
  if (path === '/') return location.replace(home());
  if ((m = path.match(/^\/inbox\/([A-Za-z0-9_.-]+)$/))) return inboxPage(m[1]);
  if ((m = path.match(/^\/items\/([A-Za-z0-9-]+)$/))) return itemPage(m[1]);
  if (path === '/manager') return managerPage();
  if ((m = path.match(/^\/sender(?:\/([A-Za-z0-9-]+))?$/))) return senderPage(m[1] || '');
  show('Not found', h('h1', {}, 'There is no such page'), h('p', {}, h('a', { href: home() }, 'Go to your inbox')));
}

document.addEventListener('DOMContentLoaded', start);
