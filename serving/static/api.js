// The viewer's only way to the service: fetch with the session's API key, problem+json errors
// as ApiError, and a 401 handed to whoever wants to send the operator back to sign-in.

const KEY = 'xscreen.key';
const PENDING = 'xscreen.pendingVerdict';

/** The API key and the unsaved verdict live in sessionStorage: this tab, this session only. */
export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY);
  },
  get pending() {
    try { return JSON.parse(sessionStorage.getItem(PENDING) || 'null'); } catch { return null; }
  },
  set pending(value) {
    if (value) sessionStorage.setItem(PENDING, JSON.stringify(value));
    else sessionStorage.removeItem(PENDING);
  },
};

export class ApiError extends Error {
  constructor(status, title, detail) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail || title;
  }
}

let unauthorised = () => {};

/** ``handler(error)`` runs when the service refuses the session's key (401). */
export function onUnauthorised(handler) { unauthorised = handler; }

/**
 * A request to the API. Options: ``method``, ``json`` (a body to send as JSON), ``as``
 * ('json' or 'blob'), ``key`` (another key than the session's, e.g. to check one at sign-in;
 * its 401 is then the caller's business), ``signal``.
 */
export async function request(path, { method = 'GET', json, as = 'json', key, signal } = {}) {
  const useKey = key ?? session.key;
  const headers = {};
  if (useKey) headers.Authorization = `Bearer ${useKey}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: 'no-store', signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'No answer', `the service did not answer (${error.message})`);
  }
  if (!response.ok) {
    const error = await problem(response);
    if (response.status === 401 && key === undefined) unauthorised(error);
    throw error;
  }
  return as === 'blob' ? response.blob() : response.json();
}

async function problem(response) {
  let title = response.statusText || `HTTP ${response.status}`;
  let detail = '';
  try {
    const body = await response.json();
    title = body.title || title;
    detail = body.detail || '';
  } catch { /* not problem+json: keep the status line */ }
  return new ApiError(response.status, title, detail);
}
