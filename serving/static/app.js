// The operator viewer: sign-in, the review queue, the scan view, verdicts, training tests
// (TIP) and the keyboard. Plain ES modules over the HTTP API (CONTRACT "HTTP API").

import { onUnauthorised, request, session } from './api.js';
import { Queue, esc } from './queue.js';
import { ScanView, classColour } from './scanview.js';
import { renderHelp, shortcutOf } from './shortcuts.js';
import { bindTipSettings, showTipPage } from './tip.js';

const $ = (id) => document.getElementById(id);
const CONTRACT_CLASSES = ['firearm', 'narcotics', 'gold', 'counterfeit'];
const REVIEWERS = ['operator', 'admin'];
const POLL_MS = Math.max(250, Number(new URLSearchParams(location.search).get('poll')) || 4000);
const CONTRAST_STEP = 1.25;
const BRIGHTNESS_STEP = 16;

const state = {
  me: null,
  page: 'signin',               // signin, review or tip
  classes: CONTRACT_CLASSES,
  open: null,                   // {id, scan, loaded}
  loads: 0,                     // bumps on every open: a slow answer for an older one is dropped
  controller: null,
  picking: null,                // the box waiting for its class
  tip: null,                    // the outcome of a training test, while it is shown
  sending: false,
  timings: [],                  // {scan, ms}: click to painted image, per open
};

const view = new ScanView($('stage'), $('image-canvas'), $('overlay-canvas'));
const queue = new Queue($('queue-list'), $('queue-count'), $('queue-status'));
window.xscreenViewer = { view, queue, state };   // for the browser tests and the console

// -- pages ------------------------------------------------------------------------------------

function showPage(page) {
  state.page = page;
  $('signin-view').hidden = page !== 'signin';
  $('review-view').hidden = page !== 'review';
  $('tip-view').hidden = page !== 'tip';
  $('nav').hidden = page === 'signin';
  $('nav-queue').toggleAttribute('aria-current', page === 'review');
  $('nav-tip').toggleAttribute('aria-current', page === 'tip');
  if (page === 'review') requestAnimationFrame(() => { view.resize(); view.fit(false); });
}

function showSignIn(notice = '') {
  queue.stop();
  showPage('signin');
  $('signin-notice').hidden = !notice;
  $('signin-notice').textContent = notice;
  $('signin-error').hidden = true;
  $('signin-key').focus();
}

async function route() {
  if (!state.me) return;
  if (location.hash === '#tip') {
    queue.stop();
    showPage('tip');
    await showTipPage($('tip-view'), state.me);
    return;
  }
  showPage('review');
  await queue.start(POLL_MS).catch((error) => queue.problem(error));
  if (!state.open && queue.items.length) openScan(queue.items[0].id);
  else if (!queue.items.length) stageMessage('No parcels await a verdict. New scans appear here by themselves.');
}

// -- signing in -------------------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const key = $('signin-key').value.trim();
  const error = $('signin-error');
  error.hidden = true;
  let me;
  try {
    me = await request('/v1/me', { key });
  } catch (problem) {
    error.textContent = problem.status === 401
      ? `That key was not accepted: ${problem.detail}`
      : `Could not sign in: ${problem.detail}`;
    error.hidden = false;
    return;
  }
  if (!REVIEWERS.includes(me.role)) {
    error.textContent = `That is a ${me.role} key; the viewer needs an operator key (or an admin's).`;
    error.hidden = false;
    return;
  }
  session.key = key;
  $('signin-key').value = '';
  await enter(me);
}

async function enter(me) {
  state.me = me;
  $('who').textContent = `${me.name} (${me.role})`;
  try {
    const active = (await request('/v1/models')).find((model) => model.active);
    if (active) state.classes = active.classes;
  } catch { /* keep the contract's classes */ }
  buildClassToggles();
  const pending = session.pending;
  await route();
  if (pending) await resend(pending);
}

function signOut() {
  session.key = null;
  state.me = null;
  state.open = null;
  view.clear();
  showSignIn('Signed out.');
}

/** The service refused the key mid-session (expired or revoked): back to sign-in, keeping any
 *  verdict that was on its way in sessionStorage, to be sent after signing in again. */
function sessionEnded(problem) {
  if (state.page === 'signin') return;
  session.key = null;
  state.me = null;
  showSignIn(endedNotice(problem));
}

function endedNotice(problem) {
  const pending = session.pending;
  const kept = pending
    ? ` Your verdict on ${pending.name} was not recorded yet: it is kept and will be sent when you sign in again.`
    : '';
  return `Your session ended: the service no longer accepts your key (${problem.detail}).${kept}`;
}

// -- opening a scan ---------------------------------------------------------------------------

async function openScan(id, startedAt = performance.now()) {
  if (!id) return;
  const load = ++state.loads;
  state.controller?.abort();
  state.controller = new AbortController();
  const known = queue.get(id);
  state.open = { id, scan: known, loaded: false };
  state.picking = null;
  $('class-picker').hidden = true;
  $('verdict-note').value = '';
  queue.select(id);
  view.clear();
  stageMessage('');
  setVerdictEnabled(false);
  if (known) showDetails(known);
  try {
    const [scan, blob] = await Promise.all([
      known || request(`/v1/scans/${id}`, { signal: state.controller.signal }),
      request(`/v1/scans/${id}/image`, { as: 'blob', signal: state.controller.signal }),
    ]);
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none',
                                                   premultiplyAlpha: 'none' });
    if (load !== state.loads) return;
    state.open.scan = scan;
    if (!known) showDetails(scan);
    view.show(bitmap, scan.detections);
    state.open.loaded = true;
    setVerdictEnabled(true);
    updateDrawn();
    afterPaint(() => {
      const ms = performance.now() - startedAt;
      state.timings.push({ scan: id, ms });
      try {
        performance.measure('xscreen:open-scan', { start: startedAt, end: startedAt + ms,
                                                   detail: { scan: id } });
      } catch { /* an older browser without measure options: the timings list has it */ }
    });
  } catch (problem) {
    if (problem.name === 'AbortError' || load !== state.loads || problem.status === 401) return;
    const why = problem.status ? `${problem.detail} (HTTP ${problem.status})` : problem.message;
    stageMessage(`This scan could not be loaded: ${why}. Press n for the next parcel.`);
  }
}

/** ``then`` once the frame holding the new image has been painted. */
function afterPaint(then) {
  requestAnimationFrame(() => setTimeout(then, 0));
}

function stageMessage(text) {
  $('stage-message').textContent = text;
  $('stage-message').hidden = !text;
}

function showDetails(scan) {
  const risk = scan.risk;
  const score = $('risk-score');
  score.className = `score level-${risk ? risk.level : 'none'}`;
  score.innerHTML = risk
    ? `<b>${Math.round(risk.score)}</b> <span>${risk.level} risk: ${risk.action}</span>`
    : '<span>not scored</span>';
  const factors = risk ? [...risk.factors].sort((a, b) => b.points - a.points) : [];
  $('risk-factors').innerHTML = factors.length
    ? factors.map((f) => `<li><span class="points">+${points(f.points)}</span> ${esc(f.detail)}</li>`).join('')
    : '<li>Nothing raised the risk.</li>';
  // how the listed points become the score (they add up to more than it: it saturates)
  const explanation = $('risk-explanation');
  explanation.textContent = (risk && risk.explanation) || '';
  explanation.hidden = !explanation.textContent;
  $('manifest').innerHTML = manifestRows(scan.manifest);
  const findings = scan.detections.map((d) => `${d.label} ${Math.round(d.score * 100)}%`);
  $('image-canvas').setAttribute('aria-label', `X-ray scan of ${parcelName(scan)}: `
    + (findings.length ? `findings ${findings.join(', ')}` : 'no findings'));
}

function manifestRows(manifest) {
  if (!manifest) return '<dt>Manifest</dt><dd>None was sent with this scan.</dd>';
  const party = (p) => p && [[p.name, p.country && `(${p.country})`].filter(Boolean).join(' '),
    p.address, p.id && `id ${p.id}`].filter(Boolean).join(', ');
  const value = manifest.declared_value;
  const rows = [
    ['Declaration', manifest.declaration_id],
    ['Description', manifest.description],
    ['Declared value', value && `${value.amount} ${value.currency || ''}`],
    ['Declared weight', manifest.declared_weight_kg != null && `${manifest.declared_weight_kg} kg`],
    ['Items', manifest.item_count],
    ['HS code', manifest.hs_code && formatHs(manifest.hs_code)],
    ['Origin', manifest.origin_country],
    ['Shipper', party(manifest.shipper)],
    ['Consignee', party(manifest.consignee)],
    ['Carrier', [manifest.carrier, manifest.platform].filter(Boolean).join(', ')],
    ['Seller', manifest.seller_id],
    ['Mail order', manifest.mail_order != null && (manifest.mail_order ? 'yes' : 'no')],
  ].filter(([, v]) => v !== undefined && v !== null && v !== false && v !== '');
  return rows.map(([k, v]) => `<dt>${k}</dt><dd>${esc(v)}</dd>`).join('');
}

/** Points as the risk engine rounds them (0.1), without a trailing ".0". */
function points(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** HS digits as the risk's reasons write them: "420221" -> "4202.21", "61091000" -> "6109.10.00". */
export function formatHs(code) {
  const digits = String(code).replace(/[^0-9]/g, '');
  const groups = [digits.slice(0, 4)];
  for (let i = 4; i < digits.length; i += 2) groups.push(digits.slice(i, i + 2));
  return groups.filter(Boolean).join('.');
}

function parcelName(scan) {
  return scan && scan.manifest && scan.manifest.declaration_id
    ? `parcel ${scan.manifest.declaration_id}` : `scan ${scan ? scan.id.slice(0, 8) : ''}`;
}

// -- verdicts ---------------------------------------------------------------------------------

function setVerdictEnabled(enabled) {
  for (const id of ['verdict-threat', 'verdict-clear', 'verdict-draw']) $(id).disabled = !enabled;
}

async function giveVerdict(decision) {
  const open = state.open;
  if (!open || !open.loaded || state.tip || state.sending) return;
  // a clicked button keeps the focus: Enter must not give the next parcel the same verdict
  if (document.activeElement instanceof HTMLButtonElement) document.activeElement.blur();
  const body = { decision };
  const note = $('verdict-note').value.trim();
  if (note) body.note = note;
  if (decision === 'threat_confirmed' && view.drawn.length) {
    // corrected labels replace the detections: keep the detector's boxes and add the operator's
    body.labels = [...open.scan.detections.map((d) => ({ label: d.label, box: d.box })),
                   ...view.drawn.map((d) => ({ label: d.label, box: d.box }))];
  }
  // keyId: the key this image was shown to, in case another key ends up sending the verdict
  const pending = { scanId: open.id, body, name: parcelName(open.scan), keyId: state.me.key_id };
  session.pending = pending;
  state.sending = true;
  try {
    const result = await send(pending);
    if (result) afterVerdict(pending, result);
  } finally {
    state.sending = false;
  }
}

/** POST the verdict; null when it failed (the operator is told; a 401 keeps it pending). */
async function send(pending) {
  try {
    const other = pending.keyId != null && state.me && pending.keyId !== state.me.key_id;
    const body = other ? { ...pending.body, viewed_with_key: pending.keyId } : pending.body;
    const result = await request(`/v1/scans/${pending.scanId}/verdict`,
                                 { method: 'POST', json: body });
    session.pending = null;
    return result;
  } catch (problem) {
    if (problem.status !== 401) {
      session.pending = null;
      toast(`The verdict on ${pending.name} was not recorded: ${problem.detail}`, true);
    }
    return null;
  }
}

async function resend(pending) {
  const result = await send(pending);
  if (!result) return;
  toast(`Your verdict on ${pending.name} was recorded.`);
  if (result.tip) {
    await openScan(pending.scanId);
    showTipOutcome(result.tip);
    return;
  }
  const next = queue.remove(pending.scanId);
  if (state.open && state.open.id === pending.scanId) openNext(next);
}

function afterVerdict(pending, result) {
  if (result.tip) { showTipOutcome(result.tip); return; }
  const words = pending.body.decision === 'cleared' ? 'cleared' : 'threat confirmed';
  toast(`${pending.name[0].toUpperCase()}${pending.name.slice(1)}: ${words}.`);
  openNext(queue.remove(pending.scanId));
}

function openNext(id) {
  if (id) { openScan(id); return; }
  state.open = null;
  view.clear();
  setVerdictEnabled(false);
  stageMessage('No parcels await a verdict. New scans appear here by themselves.');
}

// -- threat image projection ----------------------------------------------------------------

function showTipOutcome(tip) {
  state.tip = tip;
  view.reveal(tip.boxes, tip.label);
  const box = $('tip-result');
  box.className = `tip-result ${tip.result}`;
  $('tip-result-title').textContent = tip.result === 'hit'
    ? 'Training test: hit' : 'Training test: missed';
  $('tip-result-text').textContent = tip.message;
  box.hidden = false;
  $('tip-continue').focus();
}

/** After a training test: the real scan, for its real verdict. */
async function showRealScan() {
  if (!state.tip) return;
  $('tip-result').hidden = true;
  state.tip = null;
  const open = state.open;
  if (!open) return;
  open.loaded = false;
  setVerdictEnabled(false);
  try {
    const blob = await request(`/v1/scans/${open.id}/image`, { as: 'blob' });
    view.replaceImage(await createImageBitmap(blob, { colorSpaceConversion: 'none',
                                                      premultiplyAlpha: 'none' }));
    view.drawn = [];
    view.renderOverlay();
    open.loaded = true;
    setVerdictEnabled(true);
    updateDrawn();
    status('This is the real scan: give it its verdict.');
  } catch (problem) {
    if (problem.status !== 401) stageMessage(`The real scan could not be loaded: ${problem.detail}`);
  }
}

// -- drawing a missed object ------------------------------------------------------------------

function startDrawing() {
  if (!state.open || !state.open.loaded || state.tip) return;
  view.startDrawing();
  status('Drawing: drag a box around the missed object (Esc to stop).');
}

function pickClass(box) {
  state.picking = box;
  const buttons = state.classes.map((label, index) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.label = label;
    button.innerHTML = `<kbd>${index + 1}</kbd> <span class="swatch" style="background:${classColour(label, state.classes)}"></span>${esc(label)}`;
    button.addEventListener('click', () => chooseClass(label));
    return button;
  });
  $('picker-buttons').replaceChildren(...buttons);
  $('class-picker').hidden = false;
  buttons[0]?.focus();
}

function chooseClass(label) {
  const box = state.picking;
  state.picking = null;
  $('class-picker').hidden = true;
  view.stopDrawing();
  if (label && box) view.addDrawn(label, box);
  updateDrawn();
}

function updateDrawn() {
  const drawn = view.drawn.map((d) => d.label);
  $('drawn-summary').textContent = drawn.length
    ? `Your boxes: ${drawn.join(', ')}. Press t to confirm the threat with them, u to remove the last.`
    : '';
}

// -- boxes and image tools --------------------------------------------------------------------

function buildClassToggles() {
  const group = $('class-toggles');
  group.querySelectorAll('[data-class]').forEach((b) => b.remove());
  state.classes.forEach((label, index) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.class = label;
    button.title = `${label} boxes (${index + 1})`;
    button.setAttribute('aria-pressed', String(!view.hidden.has(label)));
    button.innerHTML = `<span class="swatch" style="background:${classColour(label, state.classes)}"></span>${esc(label)}`;
    button.addEventListener('click', () => toggleClass(label));
    group.append(button);
  });
}

function toggleClass(label) {
  view.toggleClass(label);
  document.querySelector(`[data-class="${label}"]`)
    ?.setAttribute('aria-pressed', String(!view.hidden.has(label)));
}

function toggleBoxes() {
  view.toggleBoxes();
  $('toggle-boxes').setAttribute('aria-pressed', String(view.boxesOn));
}

function useTool(tool, step = 0) {
  const tools = view.tools;
  if (tool === 'negative' || tool === 'edges' || tool === 'dense') {
    view.setTools({ [tool]: !tools[tool] });
  } else if (tool === 'organic' || tool === 'inorganic' || tool === 'metal') {
    view.setTools({ only: tools.only === tool ? null : tool });
  } else if (tool === 'contrast') {
    const slider = $('contrast');
    slider.value = String(Number(slider.value) + step);
    view.setTools({ contrast: CONTRAST_STEP ** Number(slider.value) });
  } else if (tool === 'brightness') {
    const slider = $('brightness');
    slider.value = String(Number(slider.value) + step);
    view.setTools({ brightness: BRIGHTNESS_STEP * Number(slider.value) });
  } else if (tool === 'reset') {
    $('contrast').value = '0';
    $('brightness').value = '0';
    view.setTools({ negative: false, only: null, edges: false, contrast: 1, brightness: 0,
                    dense: false });
  }
  showToolState();
}

function showToolState() {
  const tools = view.tools;
  for (const button of document.querySelectorAll('[data-tool]')) {
    const tool = button.dataset.tool;
    if (tool === 'reset') continue;
    const on = tool === 'organic' || tool === 'inorganic' || tool === 'metal'
      ? tools.only === tool : Boolean(tools[tool]);
    button.setAttribute('aria-pressed', String(on));
  }
  $('contrast').value = String(Math.round(Math.log(tools.contrast) / Math.log(CONTRAST_STEP)));
  $('brightness').value = String(Math.round(tools.brightness / BRIGHTNESS_STEP));
  status();
}

function status(message) {
  const tools = view.tools;
  const active = [
    tools.only && `${tools.only} only`, tools.negative && 'negative', tools.edges && 'edges',
    tools.dense && 'high-density alert',
    tools.contrast !== 1 && `contrast ${tools.contrast.toFixed(2)}x`,
    tools.brightness !== 0 && `brightness ${tools.brightness > 0 ? '+' : ''}${tools.brightness}`,
  ].filter(Boolean);
  const zoom = view.image ? `zoom ${Math.round(view.view.scale * 100)}%` : '';
  $('statusbar').textContent = [message, zoom, ...active].filter(Boolean).join(' · ');
}

// -- the keyboard -----------------------------------------------------------------------------

const ACTIONS = {
  threat: () => giveVerdict('threat_confirmed'),
  clear: () => giveVerdict('cleared'),
  draw: startDrawing,
  undo: () => { view.undoDrawn(); updateDrawn(); },
  next: (s, event) => state.open && openScan(queue.neighbour(state.open.id, 1), event.timeStamp),
  previous: (s, event) => state.open
    && openScan(queue.neighbour(state.open.id, -1), event.timeStamp),
  boxes: toggleBoxes,
  class: (s) => state.classes[s.index] && toggleClass(state.classes[s.index]),
  negative: () => useTool('negative'),
  organic: () => useTool('organic'),
  inorganic: () => useTool('inorganic'),
  metal: () => useTool('metal'),
  edges: () => useTool('edges'),
  dense: () => useTool('dense'),
  contrast: (s) => useTool('contrast', s.index === 0 ? -1 : 1),
  brightness: (s) => useTool('brightness', s.index === 0 ? -1 : 1),
  reset: () => useTool('reset'),
  zoom: (s) => view.zoomAt(s.index === 0 ? 1.25 : 0.8),
  fit: () => view.fit(),
  pan: (s, event) => {
    const d = event.shiftKey ? 240 : 60;
    const [dx, dy] = [[d, 0], [0, d], [-d, 0], [0, -d]][s.index];
    view.panBy(dx, dy);
  },
  help: () => $('shortcuts').showModal(),
  escape: () => { if (view.drawing) { view.stopDrawing(); status(); } },
};

function onKey(event) {
  if (state.page === 'signin' || $('shortcuts').open) return;
  if (event.target.closest('input, textarea, select')) {
    if (event.key === 'Escape') event.target.blur();
    return;
  }
  if (state.tip) {
    if (event.key === 'Enter' || event.key === 'Escape') { event.preventDefault(); showRealScan(); }
    return;
  }
  if (state.picking) {
    event.preventDefault();
    const index = Number(event.key) - 1;
    if (event.key === 'Escape') chooseClass(null);
    else if (state.classes[index]) chooseClass(state.classes[index]);
    return;
  }
  const shortcut = shortcutOf(event);
  if (!shortcut || (state.page === 'tip' && shortcut.action !== 'help')) return;
  event.preventDefault();
  ACTIONS[shortcut.action](shortcut, event);
}

// -- small things -----------------------------------------------------------------------------

let toastTimer = null;
function toast(text, error = false) {
  const box = $('toast');
  box.textContent = text;
  box.className = `toast shown${error ? ' error' : ''}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.className = 'toast'; }, error ? 8000 : 3000);
}

function bind() {
  renderHelp($('shortcuts-body'));
  onUnauthorised(sessionEnded);
  $('signin-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  $('help-button').addEventListener('click', () => $('shortcuts').showModal());
  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', onKey);
  queue.onOpen = (id, event) => openScan(id, event.timeStamp);
  view.onBoxDrawn = pickClass;
  view.onChange = () => status();
  $('verdict-threat').addEventListener('click', () => giveVerdict('threat_confirmed'));
  $('verdict-clear').addEventListener('click', () => giveVerdict('cleared'));
  $('verdict-draw').addEventListener('click', startDrawing);
  $('picker-cancel').addEventListener('click', () => chooseClass(null));
  $('tip-continue').addEventListener('click', showRealScan);
  $('toggle-boxes').addEventListener('click', toggleBoxes);
  for (const button of document.querySelectorAll('[data-tool]')) {
    button.addEventListener('click', () => useTool(button.dataset.tool));
  }
  $('contrast').addEventListener('input', () => {
    view.setTools({ contrast: CONTRAST_STEP ** Number($('contrast').value) });
    showToolState();
  });
  $('brightness').addEventListener('input', () => {
    view.setTools({ brightness: BRIGHTNESS_STEP * Number($('brightness').value) });
    showToolState();
  });
  bindTipSettings($('tip-view'));
}

async function start() {
  bind();
  const key = session.key;
  if (!key) { showSignIn(); return; }
  try {
    const me = await request('/v1/me', { key });
    if (!REVIEWERS.includes(me.role)) throw new Error('not an operator key');
    await enter(me);
  } catch (problem) {
    session.key = null;
    showSignIn(problem.status === 401 ? endedNotice(problem) : '');
  }
}

start();
