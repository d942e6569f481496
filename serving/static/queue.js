// The review queue: parcels awaiting a verdict, highest risk first (as GET /v1/scans orders
// them), polled every few seconds so that new scans appear without a reload.

import { request } from './api.js';

const PAGE = 200;
const NEWS_MS = 8000;            // how long "3 new scans" stays up

export class Queue {
  constructor(list, count, status) {
    this.list = list;
    this.count = count;
    this.status = status;
    this.items = [];
    this.more = false;
    this.seen = new Set();
    this.fresh = new Set();       // ids new since the previous poll: highlighted once
    this.judged = new Set();      // ids given a verdict here: a poll already under way may
                                  // still list them
    this.current = null;          // the id of the open scan
    this.saidAt = 0;              // when new scans were last announced
    this.onOpen = () => {};       // (id, event) when a row is chosen
    this.timer = null;
    this.loaded = false;
    list.addEventListener('click', (event) => {
      const row = event.target.closest('[data-id]');
      if (row) this.onOpen(row.dataset.id, event);
    });
    list.addEventListener('keydown', (event) => {
      const row = event.target.closest('[data-id]');
      if (row && (event.key === 'Enter' || event.key === ' ')) {
        event.preventDefault();
        event.stopPropagation();
        this.onOpen(row.dataset.id, event);
      }
    });
  }

  /** Poll every ``everyMs`` until :meth:`stop`. */
  start(everyMs) {
    this.stop();
    const tick = async () => {
      try { await this.refresh(); } catch (error) { this.problem(error); }
      this.timer = setTimeout(tick, everyMs);
    };
    return this.refresh().finally(() => { this.timer = setTimeout(tick, everyMs); });
  }

  stop() { clearTimeout(this.timer); this.timer = null; }

  problem(error) {
    if (error.status === 401) return;    // the app is on its way back to sign-in
    this.status.textContent = `The queue could not be refreshed: ${error.detail || error.message}`;
  }

  async refresh() {
    const page = await request(`/v1/scans?status=screened&limit=${PAGE}`);
    const kept = this.items.find((item) => item.id === this.current);
    this.items = page.items.filter((item) => !this.judged.has(item.id));
    if (kept && !this.items.some((item) => item.id === kept.id)) this.items.unshift(kept);
    this.more = Boolean(page.next_cursor);
    this.fresh = new Set(this.loaded ? this.items.map((i) => i.id).filter((id) => !this.seen.has(id)) : []);
    for (const item of this.items) this.seen.add(item.id);
    if (this.fresh.size) {       // said for a while, not just until the next poll
      this.status.textContent = `${this.fresh.size} new ${this.fresh.size === 1 ? 'scan' : 'scans'} in the queue`;
      this.saidAt = Date.now();
    } else if (Date.now() - this.saidAt >= NEWS_MS) {
      this.status.textContent = '';
    }
    this.loaded = true;
    this.render();
  }

  get(id) { return this.items.find((item) => item.id === id) || null; }

  /** The id after ``id`` in the queue (or before it at the end), or null when none is left. */
  neighbour(id, step = 1) {
    const index = this.items.findIndex((item) => item.id === id);
    if (index < 0) return this.items.length ? this.items[0].id : null;
    const next = this.items[index + step] || (step > 0 ? null : this.items[0]);
    return next ? next.id : null;
  }

  /** Take a parcel out (its verdict is in); returns the id to open next. */
  remove(id) {
    this.judged.add(id);
    const index = this.items.findIndex((item) => item.id === id);
    if (index < 0) return this.items.length ? this.items[0].id : null;
    this.items.splice(index, 1);
    this.render();
    const next = this.items[index] || this.items[index - 1];
    return next ? next.id : null;
  }

  select(id) {
    this.current = id;
    for (const row of this.list.children) {
      const chosen = row.dataset.id === id;
      row.setAttribute('aria-selected', String(chosen));
      if (chosen) row.scrollIntoView({ block: 'nearest' });
    }
  }

  render() {
    const rows = this.items.map((item) => row(item, this.fresh.has(item.id),
                                              item.id === this.current));
    this.list.replaceChildren(...rows);
    const total = `${this.items.length}${this.more ? '+' : ''}`;
    this.count.textContent = `(${total})`;
    if (!this.items.length) {
      const empty = document.createElement('li');
      empty.className = 'empty';
      empty.textContent = 'No parcels await a verdict.';
      this.list.append(empty);
    }
  }
}

function row(item, fresh, selected) {
  const li = document.createElement('li');
  li.dataset.id = item.id;
  li.setAttribute('role', 'option');
  li.tabIndex = 0;
  li.setAttribute('aria-selected', String(selected));
  li.className = fresh ? 'new' : '';
  const risk = item.risk || { score: 0, level: 'low' };
  const top = leadingFinding(risk, item.detections);
  const manifest = item.manifest || {};
  const description = manifest.description || 'no description declared';
  li.innerHTML = `
    <span class="risk level-${risk.level}"><b>${Math.round(risk.score)}</b>
      <small>${risk.level}</small></span>
    <span class="what">
      <span class="finding">${top ? `${esc(top.label)} ${top.score.toFixed(2)}` : 'no findings'}</span>
      <span class="desc">${esc(description)}</span>
    </span>
    <span class="age" title="${esc(item.created_at || '')}">${age(item.created_at)}</span>`;
  li.title = `${manifest.declaration_id || item.id}: risk ${risk.score} (${risk.level})`;
  return li;
}

/** The finding that drives the risk (the risk engine's choice: the most serious class, then
 * the most confident of it); for a scan scored before the engine named it, the most confident. */
export function leadingFinding(risk, detections) {
  if (risk && risk.leading_finding) return risk.leading_finding;
  return (detections || []).reduce((best, d) => (!best || d.score > best.score ? d : best), null);
}

/** "12 s", "4 min", "3 h", "2 d" since an ISO time. */
export function age(iso) {
  if (!iso) return '';
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.floor(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

export function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;',
                                                    '"': '&quot;', "'": '&#39;' })[c]);
}
