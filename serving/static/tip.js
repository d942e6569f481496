// The threat image projection (TIP) page: each operator's hit rate (an operator sees their
// own), and for an admin the switch and the rate.

import { request } from './api.js';
import { esc } from './queue.js';

export async function showTipPage(root, me) {
  const form = root.querySelector('#tip-settings');
  form.hidden = me.role !== 'admin';
  root.querySelector('#tip-scope').textContent = me.role === 'admin'
    ? 'Every operator who has met a projected threat.'
    : 'Your own results (an admin sees every operator).';
  const message = root.querySelector('#tip-message');
  message.textContent = '';
  const fields = form.querySelector('#tip-fields');
  fields.disabled = true;           // until the current setting is in: no edits to overwrite
  try {
    if (me.role === 'admin') {
      fillSettings(form, await request('/v1/tip/settings'));
      fields.disabled = false;
    }
    renderStats(root.querySelector('#tip-table tbody'),
                (await request('/v1/tip/stats')).operators);
  } catch (error) {
    if (error.status !== 401) message.textContent = `Could not load TIP results: ${error.detail}`;
  }
}

export function bindTipSettings(root) {
  const form = root.querySelector('#tip-settings');
  const message = root.querySelector('#tip-message');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const enabled = form.querySelector('#tip-enabled').checked;
    const percent = Number(form.querySelector('#tip-rate').value);
    try {
      const saved = await request('/v1/tip/settings', { method: 'PUT',
        json: { enabled, rate: percent / 100 } });
      fillSettings(form, saved);
      message.textContent = saved.enabled
        ? `TIP is on: ${formatPercent(saved.rate)} of the scans operators open get a projected threat.`
        : 'TIP is off.';
    } catch (error) {
      if (error.status !== 401) message.textContent = `Not saved: ${error.detail}`;
    }
  });
}

function fillSettings(form, settings) {
  form.querySelector('#tip-enabled').checked = settings.enabled;
  form.querySelector('#tip-rate').value = String(Math.round(settings.rate * 1000) / 10);
  form.querySelector('#tip-updated').textContent = settings.updated_at
    ? `Last changed ${new Date(settings.updated_at).toLocaleString()} by ${settings.updated_by}.`
    : 'Never changed: off.';
}

function renderStats(body, operators) {
  if (!operators.length) {
    body.innerHTML = '<tr><td colspan="6">No projected threats judged yet.</td></tr>';
    return;
  }
  body.innerHTML = operators.map((row) => `
    <tr data-operator="${esc(row.name)}">
      <th scope="row">${esc(row.name)}</th>
      <td>${row.presented}</td><td>${row.hits}</td><td>${row.misses}</td>
      <td class="rate">${row.hit_rate === null ? '–' : formatPercent(row.hit_rate)}</td>
      <td>${row.last_at ? new Date(row.last_at).toLocaleString() : ''}</td>
    </tr>`).join('');
}

function formatPercent(share) {
  return `${Math.round(share * 1000) / 10}%`;
}
