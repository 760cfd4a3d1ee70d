// What the node --test suites share: the daemon the Go test started (REALMGATE_URL and the
// variables beside it) and small helpers over its admin API.

export const baseURL = process.env.REALMGATE_URL ?? '';
export const adminToken = process.env.REALMGATE_ADMIN_TOKEN ?? '';
export const resourceURL = process.env.REALMGATE_RESOURCE_URL ?? '';
export const attestURL = process.env.REALMGATE_ATTEST_URL ?? '';

/** Options of a test that needs the daemon: skipped without one (go test ./client/js runs it). */
export const needsDaemon = baseURL ? {} : { skip: 'no daemon: run go test ./client/js, which starts one' };

/** Calls the admin API; returns {status, body}. */
export async function admin(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${adminToken}` } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(baseURL + path, init);
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}

/** Replaces the remote-disable rules of webapp's environment. */
export async function setRules(env, rules) {
  const r = await admin('PUT', `/admin/v1/apps/webapp/${env}/remote-disable`, { rules });
  if (r.status !== 200) throw new Error(`PUT remote-disable: ${r.status} ${JSON.stringify(r.body)}`);
}

/** The certificates the daemon issued. */
export async function certificates() {
  const r = await admin('GET', '/admin/v1/certificates');
  if (r.status !== 200) throw new Error(`GET certificates: ${r.status}`);
  return r.body.certificates;
}

export async function revoke(serial) {
  const r = await admin('POST', `/admin/v1/certificates/${serial}/revoke`, { reason: 'test' });
  if (r.status !== 200) throw new Error(`revoke ${serial}: ${r.status} ${JSON.stringify(r.body)}`);
}

/** Wraps fetch, recording each request's method, path and headers. */
export function recordingFetch(log) {
  return async (url, init = {}) => {
    const u = new URL(url);
    log.push({ method: init.method ?? 'GET', path: u.pathname, headers: new Headers(init.headers) });
    return fetch(url, init);
  };
}
