// relctl dashboard: a small hand-written page. Reads /dashboard/api/*, follows the event stream
// (/dashboard/api/events, Server-Sent Events) and re-renders the page on every event that concerns
// it. Charts are SVG drawn here. Text always goes in through textContent, never as HTML.
'use strict';

const EVENT_TYPES = ['DeploymentCreated', 'StepStarted', 'WeightShifted', 'HookStarted', 'HookSucceeded', 'HookFailed',
  'AlarmStateChanged', 'JudgeVerdict', 'Paused', 'Resumed', 'Promoted', 'Succeeded', 'Failed', 'Stopped', 'RolledBack',
  'AliasMoved', 'VersionPublished', 'CleanupApplied', 'QuotaWarning', 'Test'];
const SVGNS = 'http://www.w3.org/2000/svg';
// `confirm`, `stopRollback` and `open` keep what the user set across the redraws that live updates make.
const state = { session: null, stream: null, refresh: null, poll: null, rendering: false, again: false, lastEvent: null, confirm: null,
  stopRollback: true, open: new Set() };
// For tests and curious readers: when the last event arrived and when the page showed it.
window.relctl = { updates: 0, lastEvent: null };

// ---------------------------------------------------------------- DOM helpers

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  return fill(node, attrs, children);
}
function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVGNS, tag), attrs, children);
}
function fill(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === undefined || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- formatting

function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
}
function pct(n) { return (Math.round(n * 100) / 100) + '%'; }
function clock(t) { return t ? new Date(t * 1000).toLocaleTimeString([], { hour12: false }) : '–'; }
function when(t) { return t ? new Date(t * 1000).toLocaleString([], { hour12: false }) : '–'; }
function span(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return seconds + 's';
  if (seconds < 3600) return Math.floor(seconds / 60) + 'm ' + (seconds % 60) + 's';
  return Math.floor(seconds / 3600) + 'h ' + Math.floor(seconds % 3600 / 60) + 'm';
}
function num(v) { return v === null || v === undefined ? '–' : (Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 100) / 100); }
const badge = (status) => h('span', { class: 'badge s-' + status, text: status });
const link = (href, text) => h('a', { href, text });
const table = (head, rows, attrs) => h('div', { class: 'scroll' }, h('table', attrs || {},
  h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col', class: c.startsWith('·') ? 'hide-narrow' : null, text: c.replace('·', '') })))),
  h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: head.length, class: 'muted', text: 'None.' })))));
function weightsBar(weights) {
  return h('div', { class: 'weights', role: 'img', 'aria-label': weights.map((w) => 'version ' + w.version + ' ' + pct(w.percent)).join(', ') },
    weights.map((w, i) => { const bar = h('span', { class: 'w' + Math.min(i, 1) }); bar.style.width = w.percent + '%'; return bar; }));
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, type, message) { super(message); this.status = status; this.type = type; }
}
async function api(path, body) {
  const options = { credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    options.method = 'POST';
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!response.ok) {
    const type = response.headers.get('x-amzn-ErrorType') || 'Error';
    const error = new ApiError(response.status, type, (json && (json.message || json.Message)) || text || response.statusText);
    if (type === 'UnrecognizedClientException' && path !== '/dashboard/api/login') { state.session = null; showLogin(); }
    throw error;
  }
  return json;
}
function toast(text, isError) {
  const box = $('toast');
  box.textContent = text;
  box.className = isError ? 'error' : '';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ''; }, 6000);
}

// ---------------------------------------------------------------- session and live stream

async function start() {
  window.addEventListener('hashchange', () => { state.confirm = null; render(true); });
  try {
    state.session = await api('/dashboard/api/session');
  } catch (e) {
    $('main').replaceChildren(h('p', { class: 'error', text: 'Cannot reach relctl serve: ' + e.message }));
    return;
  }
  if (state.session.authRequired && !state.session.signedIn) return showLogin();
  signedIn();
}

function signedIn() {
  const who = $('who');
  const session = state.session;
  who.replaceChildren();
  if (session.authRequired) {
    who.append(h('span', { text: session.name + ' (' + session.accessKeyId + ')' + (session.readOnly ? ' · read-only' : '') }),
      h('button', { type: 'button', onclick: logout, text: 'Sign out' }));
  } else {
    who.append(h('span', { text: 'no sign-in (loopback, auth off)' }));
  }
  follow(session.eventSeq || 0);
  render(true);
}

function showLogin(message) {
  if (state.stream) { state.stream.close(); state.stream = null; }
  $('who').replaceChildren();
  const error = h('p', { class: 'error', id: 'login-error', role: 'alert', text: message || '' });
  const form = h('form', { class: 'login', id: 'login', onsubmit: async (event) => {
    event.preventDefault();
    try {
      state.session = await api('/dashboard/api/login', { accessKeyId: form.elements.key.value.trim(), secretAccessKey: form.elements.secret.value });
      state.session.eventSeq = (await api('/dashboard/api/session')).eventSeq;
      signedIn();
    } catch (e) {
      error.textContent = e.message;
    }
  } },
  h('label', {}, 'Access key id', h('input', { type: 'text', name: 'key', id: 'key', autocomplete: 'username', required: true, spellcheck: 'false' })),
  h('label', {}, 'Secret access key', h('input', { type: 'password', name: 'secret', id: 'secret', autocomplete: 'current-password', required: true })),
  h('button', { type: 'submit', class: 'primary', text: 'Sign in' }), error);
  $('main').replaceChildren(h('h1', { text: 'Sign in' }),
    h('p', { class: 'muted', text: 'This server requires a key (relctl credentials create). The dashboard keeps a session cookie; the key is not stored in the browser.' }), form);
  form.elements.key.focus();
}

async function logout() {
  try { await api('/dashboard/api/logout', {}); } catch (e) { /* signed out either way */ }
  state.session = null;
  showLogin('Signed out.');
}

function follow(since) {
  if (state.stream) state.stream.close();
  const stream = new EventSource('/dashboard/api/events?since=' + encodeURIComponent(since));
  state.stream = stream;
  const live = $('live');
  stream.onopen = () => { live.textContent = 'live'; live.className = 'live on'; };
  stream.onerror = () => { live.textContent = 'reconnecting…'; live.className = 'live'; };
  for (const type of EVENT_TYPES) {
    stream.addEventListener(type, (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      const committedAt = typeof event.time === 'string' ? Date.parse(event.time) : event.time * 1000;
      state.lastEvent = { seq: event.seq, type: event.type, committedAt, receivedAt: Date.now() };
      if (concerns(event)) scheduleRender();
    });
  }
}

function concerns(event) {
  const route = parseRoute();
  if (route.page === 'deployment') return event.deploymentId === route.id || event.type === 'AlarmStateChanged';
  if (route.page === 'function') return !event.function || event.function === route.name;
  return true;
}

function scheduleRender() {
  clearTimeout(state.refresh);
  state.refresh = setTimeout(() => render(false), 30);
}

// ---------------------------------------------------------------- routing and rendering

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'deployments' && parts[1]) return { page: 'deployment', id: parts[1] };
  if (parts[0] === 'deployments') return { page: 'deployments' };
  if (parts[0] === 'functions' && parts[1]) return { page: 'function', name: parts[1] };
  if (parts[0] === 'alarms') return { page: 'alarms' };
  return { page: 'functions' };
}

const PAGES = { functions: functionsPage, function: functionPage, deployments: deploymentsPage, deployment: deploymentPage, alarms: alarmsPage };

async function render(navigated) {
  if (!state.session || (state.session.authRequired && !state.session.signedIn)) return;
  if (state.rendering) { state.again = true; return; }
  state.rendering = true;
  const route = parseRoute();
  const nav = { functions: 'functions', function: 'functions', deployments: 'deployments', deployment: 'deployments', alarms: 'alarms' }[route.page];
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.dataset.page === nav) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const event = state.lastEvent;
  try {
    const nodes = await PAGES[route.page](route);
    const main = $('main');
    const focused = document.activeElement && document.activeElement.id;
    main.replaceChildren(...nodes);
    if (navigated) { main.focus(); window.scrollTo(0, 0); } else if (focused && $(focused)) $(focused).focus();
    window.relctl.updates++;
    if (event) window.relctl.lastEvent = Object.assign({ renderedAt: Date.now() }, event);
    document.title = 'relctl · ' + (route.id || route.name || route.page);
  } catch (e) {
    if (!(e instanceof ApiError && e.type === 'UnrecognizedClientException')) {
      $('main').replaceChildren(h('h1', { text: 'Not available' }), h('p', { class: 'error', text: e.message }));
    }
  } finally {
    state.rendering = false;
    if (state.again) { state.again = false; scheduleRender(); }
  }
  clearInterval(state.poll);
  // Metrics have no events: an active deployment's charts are re-read every two seconds.
  if (route.page === 'deployment' && document.querySelector('[data-active="true"]')) state.poll = setInterval(() => render(false), 2000);
}

async function act(path, body, done) {
  // A confirmation opened while this action was on its way (Stop… right after Resume) stays open.
  const confirming = state.confirm;
  try {
    await api(path, body || {});
    toast(done);
  } catch (e) {
    toast(e.message, true);
  }
  if (state.confirm === confirming) state.confirm = null;
  render(false);
}
const canAct = () => !state.session.readOnly;
function actionButton(id, label, onclick, cls) {
  return h('button', { type: 'button', id, class: cls || null, disabled: !canAct(), title: canAct() ? null : 'Read-only key: sign in with a read-write key to act', onclick, text: label });
}

// ---------------------------------------------------------------- pages

async function functionsPage() {
  const data = await api('/dashboard/api/overview');
  const q = data.quota;
  const gauge = h('div', { class: 'gauge' + (q.usedPercent >= 90 ? ' full' : q.usedPercent >= 80 ? ' hot' : ''), role: 'meter',
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(q.usedPercent)), 'aria-label': 'Code storage used', id: 'quota-gauge' }, h('span'));
  gauge.firstChild.style.width = Math.min(100, Math.max(q.usedPercent, q.usedBytes ? 0.5 : 0)) + '%';
  return [
    h('h1', { text: 'Functions' }),
    h('section', { class: 'panel', 'aria-label': 'Code storage' },
      h('div', { class: 'row' }, h('strong', { text: 'Code storage' }),
        h('span', { id: 'quota-text', text: bytes(q.usedBytes) + ' of ' + bytes(q.limitBytes) + ' (' + pct(q.usedPercent) + ')' }),
        h('span', { class: 'muted', text: bytes(q.storedBytes) + ' on disk after dedupe' }),
        data.activeDeployments ? link('#/deployments', data.activeDeployments + ' deployment(s) in progress') : null),
      gauge),
    table(['Function', 'Versions', 'Code', '·Quota share', 'Aliases', 'Deployment'], data.functions.map((f) => h('tr', {},
      h('td', {}, link('#/functions/' + encodeURIComponent(f.name), f.name), h('div', { class: 'muted', text: f.runtime || '' })),
      h('td', { text: f.versions }), h('td', { text: bytes(f.codeBytes) }), h('td', { class: 'hide-narrow', text: pct(f.quotaPercent) }),
      h('td', {}, f.aliases.map((a) => h('div', {}, h('span', { text: a.name + ' → ' + a.weights.map((w) => w.version + (a.weights.length > 1 ? ' ' + pct(w.percent) : '')).join(' + ') }), weightsBar(a.weights)))),
      h('td', {}, f.activeDeployment ? link('#/deployments/' + f.activeDeployment, f.activeDeployment) : '–'))), { id: 'functions' }),
  ];
}

async function functionPage(route) {
  const f = await api('/dashboard/api/functions/' + encodeURIComponent(route.name));
  return [
    h('h1', { text: f.name }),
    h('p', { class: 'muted' }, h('code', { text: f.arn }), ' · ' + (f.runtime || '') + ' · ' + pct(f.quotaPercent) + ' of the code-storage limit'),
    h('h2', { text: 'Aliases' }),
    table(['Alias', 'Traffic', 'Deployment', ''], f.aliases.map((a) => h('tr', {},
      h('td', { text: a.name }),
      h('td', {}, h('span', { text: a.weights.map((w) => 'v' + w.version + ' ' + pct(w.percent)).join(' · ') }), weightsBar(a.weights)),
      h('td', {}, a.deploymentId ? link('#/deployments/' + a.deploymentId, a.deploymentId) : '–'),
      h('td', {}, rollbackControl(f.name, a))))),
    h('h2', { text: 'Versions' }),
    table(['Version', 'Code', '·SHA-256', 'Shares code with', 'Protected by', '·Modified'], f.versions.map((v) => h('tr', {},
      h('td', { text: v.version }), h('td', { text: bytes(v.codeBytes) }), h('td', { class: 'hide-narrow' }, h('code', { title: v.codeSha256, text: v.codeSha256.slice(0, 12) + '…' })),
      h('td', { text: v.sharesCodeWith.length ? v.sharesCodeWith.join(', ') + ' (stored once)' : '–' }),
      h('td', { text: v.protectedBy.join(', ') || 'nothing (cleanup may delete it)' }), h('td', { class: 'hide-narrow', text: v.lastModified })))),
    h('h2', { text: 'Deployments' }), deploymentTable(f.deployments),
    h('h2', { text: 'Alias history' }),
    table(['Time', 'Who', 'Change', 'From', 'To'], f.history.map((e) => h('tr', {},
      h('td', { text: e.Time }), h('td', { text: e.Actor }), h('td', { text: e.Action + ' ' + e.Resource.split(':').pop() }),
      h('td', { text: e.From || '–' }), h('td', { text: e.To || '–' })))),
  ];
}

function rollbackControl(fn, alias) {
  const key = 'rollback:' + fn + ':' + alias.name;
  const id = 'rollback-' + alias.name;
  if (state.confirm !== key) {
    return actionButton(id, 'Roll back…', () => { state.confirm = key; render(false).then(() => $(id + '-confirm') && $(id + '-confirm').focus()); });
  }
  return h('div', { class: 'confirm' }, h('span', { text: alias.deploymentId ? 'Stop ' + alias.deploymentId + ' and restore its original version?' : 'Point ' + alias.name + ' back at its previous version?' }),
    actionButton(id + '-confirm', 'Roll back ' + alias.name, () => act('/dashboard/api/functions/' + encodeURIComponent(fn) + '/aliases/' + encodeURIComponent(alias.name) + '/rollback', {}, 'Rolled back ' + alias.name), 'danger'),
    h('button', { type: 'button', onclick: () => { state.confirm = null; render(false); }, text: 'Cancel' }));
}

function deploymentTable(list) {
  return table(['Deployment', 'Alias', 'Versions', 'Status', 'Traffic to new', '·Policy', '·Created'], list.map((d) => h('tr', {},
    h('td', {}, link('#/deployments/' + d.id, d.id)), h('td', { text: d.function + ':' + d.alias }),
    h('td', { text: d.currentVersion + ' → ' + d.targetVersion }), h('td', {}, badge(d.status)),
    h('td', {}, h('span', { text: pct(d.weight) + (d.step ? ' · step ' + d.step : '') }),
      weightsBar([{ version: d.currentVersion, percent: 100 - d.weight }, { version: d.targetVersion, percent: d.weight }])),
    h('td', { class: 'hide-narrow', text: d.policy }), h('td', { class: 'hide-narrow', text: when(d.createTime) }))), { id: 'deployments' });
}

async function deploymentsPage() {
  const list = await api('/dashboard/api/deployments');
  return [h('h1', { text: 'Deployments' }), h('p', { class: 'muted', text: 'Active first, then newest first.' }), deploymentTable(list)];
}

async function deploymentPage(route) {
  const data = await api('/dashboard/api/deployments/' + encodeURIComponent(route.id));
  const d = data.deployment;
  const active = ['Created', 'InProgress', 'Paused'].includes(d.status);
  const versions = [d.currentVersion, d.targetVersion];
  const end = d.completeTime || data.now;
  const nodes = [
    h('h1', {}, 'Deployment ' + d.deploymentId + ' ', badge(d.status)),
    h('section', { class: 'panel', 'data-active': String(active), id: 'summary', 'data-status': d.status, 'aria-label': 'Summary' },
      h('div', { class: 'row' },
        h('div', {}, h('div', { class: 'muted', text: 'traffic to version ' + d.targetVersion }), h('div', { class: 'big', id: 'weight', text: pct(d.currentWeight || 0) })),
        h('dl', { class: 'kv' },
          h('dt', { text: 'Alias' }), h('dd', {}, link('#/functions/' + encodeURIComponent(d.functionName), d.functionName), ':' + d.alias),
          h('dt', { text: 'Versions' }), h('dd', { text: d.currentVersion + ' → ' + d.targetVersion }),
          h('dt', { text: 'Policy' }), h('dd', { text: d.deploymentConfigName + (data.autoRollback ? ' · rolls back on failure' : '') }),
          h('dt', { text: 'Step' }), h('dd', { text: (d.step || '–') + (d.lifecycleEvent ? ' · ' + d.lifecycleEvent : '') }),
          d.nextShiftTime && active ? [h('dt', { text: 'Next shift' }), h('dd', { text: clock(d.nextShiftTime) + ' (in ' + span(d.nextShiftTime - data.now) + ')' })] : null,
          h('dt', { text: 'Started by' }), h('dd', { text: d.creator || '–' }),
          d.errorInformation ? [h('dt', { text: 'Outcome' }), h('dd', { class: 'error', id: 'outcome', text: d.errorInformation.message })] : null,
          d.rollbackInfo ? [h('dt', { text: 'Rollback' }), h('dd', { id: 'rollback-info', text: d.rollbackInfo.rollbackMessage })] : null)),
      active ? actionsBar(d) : null),
    h('h2', { text: 'Weight over time' }),
    h('div', { class: 'panel' }, timeline(data, end),
      h('div', { class: 'legend' }, h('span', {}, h('i', { class: 'key kp' }), 'planned'), h('span', {}, h('i', { class: 'key k1' }), 'actual (version ' + d.targetVersion + ')'))),
    h('h2', { text: 'Versions side by side' }),
    h('div', { class: 'legend' }, h('span', {}, h('i', { class: 'key k0' }), 'version ' + versions[0] + ' (current)'), h('span', {}, h('i', { class: 'key k1' }), 'version ' + versions[1] + ' (new)'),
      h('span', { text: data.periodSeconds + '-second periods' })),
    h('div', { class: 'charts', id: 'charts' }, ['Invocations', 'Errors', 'p50', 'p99'].map((metric) => metricChart(data, metric, versions, end))),
  ];
  nodes.push(h('h2', { text: 'Hooks' }), table(['Event', 'Hook', 'Status', 'Attempt', 'Started', 'Took', 'Output'], d.hooks.map((k) => h('tr', {},
    h('td', { text: k.lifecycleEvent }), h('td', {}, h('code', { text: k.hook })), h('td', {}, badge(k.status)), h('td', { text: k.attempt }),
    h('td', { text: clock(k.startTime) }), h('td', { text: k.endTime ? span(k.endTime - k.startTime) : 'running' }),
    h('td', {}, k.output ? outputDetails(k) : '–')))));
  nodes.push(h('h2', { text: 'Alarms' }), data.alarms.length ? h('div', { class: 'charts', id: 'alarms' }, data.alarms.map(alarmCard)) : h('p', { class: 'muted', text: 'No alarms watch this deployment.' }));
  if (data.judge.length) {
    nodes.push(h('h2', { text: 'Judge' }), ...data.judge.map((j) => h('div', { class: 'panel' }, h('strong', { text: clock(Date.parse(j.time) / 1000) + ' ' + j.message }),
      h('dl', { class: 'kv' }, Object.entries(j.details).map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])))));
  }
  nodes.push(h('h2', { text: 'Decisions' }), table(['Time', 'Event', 'Message'], d.events.slice().reverse().map((e) => h('tr', {},
    h('td', { text: clock(e.time) }), h('td', { text: e.kind }), h('td', { text: e.message }))), { id: 'decisions' }));
  return nodes;
}

function outputDetails(hook) {
  const key = hook.lifecycleEventHookExecutionId;
  const details = h('details', { open: state.open.has(key) }, h('summary', { text: 'output' }), h('pre', { text: hook.output }));
  details.addEventListener('toggle', () => { if (details.open) state.open.add(key); else state.open.delete(key); });
  return details;
}

function actionsBar(d) {
  const base = '/dashboard/api/deployments/' + encodeURIComponent(d.deploymentId);
  const bar = h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' },
    actionButton('promote', 'Promote', () => act(base + '/promote', {}, 'Promoted')),
    actionButton('promote-full', 'Promote to 100%', () => act(base + '/promote', { full: true }, 'Promoted to 100%')),
    d.status === 'Paused' ? actionButton('resume', 'Resume', () => act(base + '/resume', {}, 'Resumed'))
      : actionButton('pause', 'Pause', () => act(base + '/pause', {}, 'Paused')),
    actionButton('stop', 'Stop…', () => { state.confirm = 'stop:' + d.deploymentId; state.stopRollback = true; render(false).then(() => $('stop-confirm') && $('stop-confirm').focus()); }, 'danger'));
  if (state.confirm !== 'stop:' + d.deploymentId) return bar;
  const box = h('input', { type: 'checkbox', id: 'stop-rollback', checked: state.stopRollback, onchange: () => { state.stopRollback = box.checked; } });
  return [bar, h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm stop' },
    h('label', { class: 'row' }, box, 'Roll back: restore ' + d.alias + ' to version ' + d.currentVersion),
    actionButton('stop-confirm', 'Stop deployment', () => act(base + '/stop', { rollback: box.checked }, box.checked ? 'Stopped; alias restored' : 'Stopped; alias left as it is'), 'danger'),
    h('button', { type: 'button', onclick: () => { state.confirm = null; render(false); }, text: 'Cancel' }))];
}

// ---------------------------------------------------------------- charts (SVG)

// Small multiples are CW × CH; the timeline is wider (its own viewBox) so its text stays small.
const CW = 320, CH = 150, TW = 900, TH = 200, PAD = { l: 34, r: 8, t: 8, b: 20 };

function frame(x0, x1, y1, label, W = CW, H = CH) {
  const sx = (t) => PAD.l + (x1 > x0 ? (t - x0) / (x1 - x0) : 0) * (W - PAD.l - PAD.r);
  const sy = (v) => H - PAD.b - (y1 > 0 ? v / y1 : 0) * (H - PAD.t - PAD.b);
  const svg = s('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': label },
    s('title', { text: label }),
    s('line', { class: 'axis', x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b }),
    s('line', { class: 'axis', x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b }),
    s('text', { x: PAD.l - 4, y: PAD.t + 8, 'text-anchor': 'end', text: num(y1) }),
    s('text', { x: PAD.l - 4, y: H - PAD.b, 'text-anchor': 'end', text: '0' }),
    s('text', { x: PAD.l, y: H - 4, text: clock(x0) }),
    s('text', { x: W - PAD.r, y: H - 4, 'text-anchor': 'end', text: clock(x1) }));
  return { svg, sx, sy };
}

function path(points, sx, sy, stepped) {
  let d = '';
  points.forEach(([t, v], i) => {
    if (i === 0) d += 'M' + sx(t).toFixed(1) + ' ' + sy(v).toFixed(1);
    else d += (stepped ? 'H' + sx(t).toFixed(1) + 'V' + sy(v).toFixed(1) : 'L' + sx(t).toFixed(1) + ' ' + sy(v).toFixed(1));
  });
  return d;
}

function timeline(data, end) {
  const planned = data.planned.map((p) => [p.time, p.weight]);
  const actual = data.actual.map((p) => [p.time, p.weight]);
  const x0 = data.deployment.createTime;
  const x1 = Math.max(end, ...planned.map((p) => p[0])) + 1;
  const label = 'Weight on version ' + data.deployment.targetVersion + ': planned ' + planned.map((p) => pct(p[1]) + ' at ' + clock(p[0])).join(', ') +
    '; actual ' + actual.map((p) => pct(p[1]) + ' at ' + clock(p[0])).join(', ');
  const { svg, sx, sy } = frame(x0, x1, 100, label, TW, TH);
  svg.setAttribute('id', 'timeline');
  if (planned.length) svg.append(s('path', { class: 'line plan', d: path(planned.concat([[x1, planned[planned.length - 1][1]]]), sx, sy, true) }));
  if (actual.length) svg.append(s('path', { class: 'line l1', id: 'weight-line', 'data-points': String(actual.length), d: path(actual, sx, sy, true) }));
  for (const p of data.planned) svg.append(s('circle', { cx: sx(p.time), cy: sy(p.weight), r: 2.5, class: 'plan', fill: 'none', stroke: 'currentColor' }));
  for (const e of data.deployment.events) {
    if (['Failed', 'Stopped', 'Rollback'].includes(e.kind)) svg.append(s('circle', { class: 'mark', cx: sx(e.time), cy: sy(0), r: 4 }, s('title', { text: e.kind + ': ' + e.message })));
  }
  if (!data.deployment.completeTime) svg.append(s('line', { class: 'now', x1: sx(data.now), x2: sx(data.now), y1: PAD.t, y2: TH - PAD.b }));
  return svg;
}

function metricChart(data, metric, versions, end) {
  const series = versions.map((v) => data.series.find((x) => x.metric === metric && x.version === String(v)));
  const x0 = (data.deployment.startTime || data.deployment.createTime) - data.periodSeconds;
  const x1 = Math.max(end, x0 + data.periodSeconds);
  const values = series.flatMap((x) => (x ? x.points : []).map((p) => p.value).filter((v) => v != null));
  const y1 = Math.max(1, ...values) * 1.1;
  const unit = metric.startsWith('p') ? ' ms' : '';
  const latest = series.map((x, i) => 'v' + versions[i] + ' ' + num(lastValue(x)) + unit);
  const { svg, sx, sy } = frame(x0, x1, y1, metric + ' per ' + data.periodSeconds + ' s: ' + latest.join(', '));
  let count = 0;
  series.forEach((x, i) => {
    if (!x) return;
    // Each period's value at its middle (the current, partial period's at now).
    const points = x.points.filter((p) => p.value != null).map((p) => [Math.min(p.periodStart + data.periodSeconds / 2, x1), p.value]);
    count += points.length;
    if (points.length > 1) svg.append(s('path', { class: 'line l' + i, d: path(points, sx, sy, false) }));
    for (const [t, v] of points) svg.append(s('circle', { class: 'd' + i, cx: sx(t), cy: sy(v), r: 3 }));
  });
  return h('figure', { id: 'chart-' + metric, 'data-points': String(count) }, h('figcaption', {}, h('span', { text: metric === 'p50' || metric === 'p99' ? 'Duration ' + metric : metric }),
    h('span', { class: 'muted', text: latest.join(' · ') })), svg);
}
function lastValue(series) {
  const points = series ? series.points.filter((p) => p.value != null) : [];
  return points.length ? points[points.length - 1].value : null;
}

function alarmCard(a) {
  const def = a.Definition;
  const values = a.Datapoints.map((p) => p.value).filter((v) => v != null);
  const y1 = Math.max(def.threshold, ...values, 1) * 1.15;
  const x0 = a.Datapoints.length ? a.Datapoints[0].periodStart : 0;
  const x1 = a.Datapoints.length ? a.Datapoints[a.Datapoints.length - 1].periodStart + def.period : 1;
  const label = a.AlarmName + ' ' + a.StateValue + ': ' + a.StateReason;
  const { svg, sx, sy } = frame(x0, x1, y1, label);
  const width = Math.max(2, (CW - PAD.l - PAD.r) / Math.max(1, a.Datapoints.length) - 3);
  for (const p of a.Datapoints) {
    const v = p.value == null ? y1 * 0.02 : p.value;
    const breach = p.value != null && breaches(def.comparisonOperator, p.value, def.threshold);
    svg.append(s('rect', { class: 'bar' + (p.value == null ? ' missing' : breach ? ' breach' : ''), x: sx(p.periodStart) + 1, y: sy(v), width, height: Math.max(1, sy(0) - sy(v)) },
      s('title', { text: clock(p.periodStart) + ': ' + (p.value == null ? 'missing' : num(p.value)) })));
  }
  svg.append(s('line', { class: 'thr', x1: PAD.l, x2: CW - PAD.r, y1: sy(def.threshold), y2: sy(def.threshold) }));
  const stat = typeof def.statistic === 'string' ? def.statistic : JSON.stringify(def.statistic);
  return h('figure', { class: 'panel' }, h('figcaption', {}, h('span', { text: a.AlarmName }), badge(a.StateValue)),
    h('p', { class: 'muted', text: def.metric + ' ' + stat + ' over ' + def.period + ' s ' + def.comparisonOperator + ' ' + def.threshold + ', ' + def.datapointsToAlarm + ' of ' + def.evaluationPeriods }),
    svg, h('p', { text: a.StateReason }));
}
function breaches(op, v, t) {
  return { GreaterThanThreshold: v > t, GreaterThanOrEqualToThreshold: v >= t, LessThanThreshold: v < t, LessThanOrEqualToThreshold: v <= t }[op] || false;
}

async function alarmsPage() {
  const alarms = await api('/dashboard/api/alarms');
  return [h('h1', { text: 'Alarms' }), alarms.length ? h('div', { class: 'charts', id: 'alarms' }, alarms.map(alarmCard)) : h('p', { class: 'muted', text: 'No alarms (relctl alarm put).' })];
}

start();
