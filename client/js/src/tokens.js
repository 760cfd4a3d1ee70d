// Reading a resource server's Bearer challenge (RFC 6750 section 3), as the Go client does.

/**
 * Parses `Bearer k="v", k2=v2`; null when the header is not a Bearer challenge. Strict and
 * bounded.
 */
export function parseBearerChallenge(h) {
  if (typeof h !== 'string' || h.length > 4096) return null;
  h = h.trim();
  const sp = h.indexOf(' ');
  const scheme = sp < 0 ? h : h.slice(0, sp);
  if (scheme.toLowerCase() !== 'bearer') return null;
  const params = {};
  let s = sp < 0 ? '' : h.slice(sp + 1).trim();
  while (s !== '') {
    const eq = s.indexOf('=');
    if (eq <= 0) return null;
    const key = s.slice(0, eq).trim().toLowerCase();
    s = s.slice(eq + 1).trim();
    let val;
    if (s.startsWith('"')) {
      let out = '';
      let i = 1;
      for (; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        out += s[i];
      }
      if (i >= s.length) return null;
      val = out;
      s = s.slice(i + 1);
    } else {
      let end = s.indexOf(',');
      if (end < 0) end = s.length;
      val = s.slice(0, end).trim();
      s = s.slice(end);
    }
    params[key] = val;
    s = s.trim();
    if (s !== '') {
      if (s[0] !== ',') return null;
      s = s.slice(1).trim();
    }
  }
  return params;
}

/**
 * The scope a resource server asks a token for: with status 401, or 403 with
 * error="insufficient_scope", and a Bearer challenge naming one scope. null otherwise.
 */
export function requiredAccessTokenScope(status, wwwAuthenticate) {
  if (status !== 401 && status !== 403) return null;
  const p = parseBearerChallenge(wwwAuthenticate ?? '');
  if (!p) return null;
  const scope = p.scope;
  if (!scope || /[ \t]/.test(scope)) return null;
  if (status === 403 && p.error !== 'insufficient_scope') return null;
  return scope;
}
