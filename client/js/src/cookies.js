// A cookie jar for runtimes whose fetch keeps no cookies (Node.js). A browser keeps the
// session's cookies itself (they are HttpOnly: a script never sees them), so the client uses
// this jar only where there is no document.
//
// It holds the cookies of one server (the client's base URL): name and value, Max-Age and
// Expires. The server sets WL_SESSION and WL_PERSISTENT_COOKIE for the whole site (Path=/),
// so paths and domains are not kept apart.

export class CookieJar {
  #cookies = new Map(); // name -> {value, expires (ms since epoch, or Infinity)}

  /** Takes the Set-Cookie lines of a response. */
  take(headers) {
    const lines = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : splitSetCookie(headers.get('set-cookie'));
    for (const line of lines) this.#set(line);
  }

  #set(line) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let expires = Infinity;
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      const key = k.trim().toLowerCase();
      if (key === 'max-age') {
        const n = Number.parseInt(v.trim(), 10);
        if (Number.isFinite(n)) expires = n <= 0 ? 0 : Date.now() + n * 1000;
      } else if (key === 'expires' && expires === Infinity) {
        const t = Date.parse(v.trim());
        if (Number.isFinite(t)) expires = t;
      }
    }
    if (value === '' || expires <= Date.now()) this.#cookies.delete(name);
    else this.#cookies.set(name, { value, expires });
  }

  /** The value of a live cookie, or undefined. */
  get(name) {
    const c = this.#cookies.get(name);
    if (!c) return undefined;
    if (c.expires <= Date.now()) {
      this.#cookies.delete(name);
      return undefined;
    }
    return c.value;
  }

  set(name, value) {
    this.#cookies.set(name, { value, expires: Infinity });
  }

  delete(name) {
    this.#cookies.delete(name);
  }

  /** The Cookie header of a request, or '' without cookies. */
  header() {
    const out = [];
    for (const name of [...this.#cookies.keys()]) {
      const v = this.get(name);
      if (v !== undefined) out.push(`${name}=${v}`);
    }
    return out.join('; ');
  }
}

// Older fetch implementations join Set-Cookie lines with ", "; an Expires date holds one too.
function splitSetCookie(joined) {
  if (!joined) return [];
  return joined.split(/,(?=\s*[A-Za-z0-9_!#$%&'*+.^`|~-]+=)/);
}
