// RealmgateClient speaks the challenge protocol of docs/protocol.md for one application, wire
// for wire as the Go client (package client) does: every request to the server carries the
// application context headers and, once the anti-XSRF realm gave one, WL-Instance-Id; a 401
// challenge is answered realm by realm with the handlers registered per realm, step after step,
// and the original request is then sent again, as Worklight's WL.Client did.

import { CookieJar } from './cookies.js';
import { Codes, RealmError, RealmgateError, coded, malformed, sanitize } from './errors.js';
import { AuthenticityHandler, DeviceHandler, NotifyHandler } from './handlers.js';
import { ProvisioningHandler, UserCertificateHandler } from './certs.js';
import { requiredAccessTokenScope } from './tokens.js';

export const RealmAntiXSRF = 'wl_antiXSRFRealm';
export const RealmRemoteDisable = 'wl_remoteDisableRealm';
export const RealmAuthenticity = 'wl_authenticityRealm';
export const RealmDeviceNoProvisioning = 'wl_deviceNoProvisioningRealm';
export const RealmDeviceAutoProvisioning = 'wl_deviceAutoProvisioningRealm';
export const RealmUserCertificate = 'wl_userCertificateAuthRealm';

export const CookieSession = 'WL_SESSION';
export const CookiePersistent = 'WL_PERSISTENT_COOKIE';

/** How often one realm may be challenged in one call unless config.maxRounds says otherwise. */
export const DefaultMaxRounds = 10;
const maxReissues = 32;
const maxNesting = 4;
const realmName = /^[A-Za-z0-9_.\-]{1,128}$/;
const tokenSkewMs = 2000;

const headerSafe = (v) => typeof v === 'string' && v !== '' && !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(v);

function asHandler(h) {
  return typeof h === 'function' ? { handleChallenge: h } : h;
}

/** The most the client reads of a reply it consumes itself (challenges, answers, errors). */
export const MaxResponseBytes = 1 << 20;
const maxRealms = 64;

// Reads a reply's text, at most MaxResponseBytes of it.
async function readText(resp) {
  if (!resp.body) return '';
  const reader = resp.body.getReader();
  const chunks = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > MaxResponseBytes) {
      await reader.cancel();
      throw malformed(`a ${resp.status} reply of more than ${MaxResponseBytes} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

async function readJSON(resp) {
  const text = await readText(resp);
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseChallenge(b) {
  if (!b || typeof b !== 'object' || Array.isArray(b) || !('challenges' in b)) return null;
  const ch = b.challenges;
  if (!ch || typeof ch !== 'object' || Array.isArray(ch) || Object.keys(ch).length === 0) throw malformed('challenges is not an object naming realms');
  if (Object.keys(ch).length > maxRealms) throw malformed(`the challenge names over ${maxRealms} realms`);
  for (const [realm, payload] of Object.entries(ch)) {
    if (!realmName.test(realm)) throw malformed(`realm name ${JSON.stringify(sanitize(realm, 64))}`);
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw malformed(`the challenge of ${realm} is not an object`);
  }
  return { securityTest: typeof b.securityTest === 'string' ? b.securityTest : '', step: Number.isInteger(b.step) ? b.step : 0, challenges: ch };
}

function isDeviceRealm(challenges, realm) {
  return realm === RealmDeviceNoProvisioning || realm === RealmDeviceAutoProvisioning || typeof challenges[realm]?.entity === 'string';
}

/**
 * The realms of one challenge in the order the client answers them: anti-XSRF (later answers
 * carry its header), remote disable, app authenticity, the device realm, then the others by name.
 */
export function orderRealms(challenges) {
  const rank = (r) => {
    if (r === RealmAntiXSRF) return 0;
    if (r === RealmRemoteDisable) return 1;
    if (r === RealmAuthenticity) return 2;
    return isDeviceRealm(challenges, r) ? 3 : 4;
  };
  return Object.keys(challenges).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

class NewSession extends Error {}

export class RealmgateClient {
  #base;
  #fetch;
  #jar;
  #handlers = new Map();
  #instanceId = '';
  #gen = 0;
  #settling = null; // the settlement in progress: no request leaves meanwhile
  #inflight = 0; // requests sent and not answered yet
  #idle = []; // resolvers waiting for #inflight to reach 0
  #opening = Promise.resolve(); // chains the requests sent while there is no session
  #sessionOpen = false;
  #identities = new Map();
  #tokens = new Map();
  #lastToken = null;

  /**
   * config: baseURL, appId, environment, appVersion (required); device ({id, os, model,
   * displayName}: registers the device handler and, with keyStore, the provisioning handler);
   * keyStore (registers the user-certificate handler); onNotify (remote-disable notices);
   * activationCode (a function of the realm giving an MDM code); attestation (a function of the
   * authenticity realm's token giving {format, chain}); persistentCookie (Node: a
   * WL_PERSISTENT_COOKIE of an earlier run); maxRounds; fetch (default globalThis.fetch).
   */
  constructor(config) {
    const { baseURL, appId, environment, appVersion } = config ?? {};
    let base;
    try {
      base = new URL(baseURL);
    } catch {
      throw new TypeError(`realmgate: baseURL ${JSON.stringify(baseURL)} is not an absolute URL`);
    }
    if ((base.protocol !== 'http:' && base.protocol !== 'https:') || base.username || base.password || base.search || base.hash) {
      throw new TypeError('realmgate: baseURL must be an http(s) URL without credentials, query or fragment');
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    for (const [name, v] of Object.entries({ appId, environment, appVersion })) {
      if (!headerSafe(v)) throw new TypeError(`realmgate: ${name} must be a non-empty header-safe string`);
    }
    this.#base = base;
    this.appId = appId;
    this.environment = environment;
    this.appVersion = appVersion;
    this.maxRounds = config.maxRounds ?? DefaultMaxRounds;
    this.#fetch = config.fetch ?? globalThis.fetch.bind(globalThis);
    // A browser keeps the session's (HttpOnly) cookies itself; elsewhere the client does.
    this.#jar = config.cookieJar ?? (typeof document === 'undefined' ? new CookieJar() : null);
    if (config.persistentCookie && this.#jar) this.#jar.set(CookiePersistent, config.persistentCookie);

    const app = { id: appId, version: appVersion, environment };
    this.#handlers.set(RealmAntiXSRF, {
      handleChallenge: async (ch) => {
        const id = ch.payload['WL-Instance-Id'];
        if (typeof id !== 'string' || !/^[\x21-\x7e]{1,1024}$/.test(id)) throw malformed('anti-XSRF challenge without a usable WL-Instance-Id');
        this.#instanceId = id;
        return { skip: true };
      },
    });
    this.#handlers.set(RealmRemoteDisable, new NotifyHandler(config.onNotify));
    if (config.device) this.#handlers.set(RealmDeviceNoProvisioning, new DeviceHandler(config.device));
    if (config.keyStore) {
      this.#handlers.set(RealmUserCertificate, new UserCertificateHandler({ keyStore: config.keyStore, device: config.device, app }));
      if (config.device) {
        if (!config.device.id) throw new TypeError('realmgate: provisioning needs device.id (the CSR common name)');
        this.#handlers.set(RealmDeviceAutoProvisioning, new ProvisioningHandler({ keyStore: config.keyStore, device: config.device, app, activationCode: config.activationCode }));
      }
    }
    if (config.attestation) this.#handlers.set(RealmAuthenticity, new AuthenticityHandler(config.attestation));
    this.config = config;
  }

  /** A new provisioning handler of the client's key store and device, for a custom realm. */
  provisioningHandler() {
    const { keyStore, device, activationCode } = this.config;
    return new ProvisioningHandler({ keyStore, device, app: { id: this.appId, version: this.appVersion, environment: this.environment }, activationCode });
  }

  /** A new user-certificate handler, for a realm of that class under another name. */
  userCertificateHandler() {
    const { keyStore, device } = this.config;
    return new UserCertificateHandler({ keyStore, device, app: { id: this.appId, version: this.appVersion, environment: this.environment } });
  }

  /**
   * Makes handler answer the challenges of realm (replacing the one registered before, built-in
   * ones included); null removes it. A handler is {handleChallenge(challenge), handleStatus?(status)}
   * or an async function (its handleChallenge). A challenge is {realm, securityTest, step, round,
   * payload, error, remainingAttempts}; an answer {body, headers} or {skip: true}.
   */
  registerChallengeHandler(realm, handler) {
    if (handler == null) this.#handlers.delete(realm);
    else this.#handlers.set(realm, asHandler(handler));
  }

  /** The identity each realm reported when this client settled it. */
  get identities() {
    return Object.fromEntries(this.#identities);
  }

  /** The WL_PERSISTENT_COOKIE the server issued (Node.js; a browser keeps it itself). */
  get persistentCookie() {
    return this.#jar?.get(CookiePersistent) ?? '';
  }

  #url(...segments) {
    return new URL(segments.map(encodeURIComponent).join('/'), this.#base).href;
  }

  #resolve(target) {
    if (target instanceof URL) return target.href;
    const s = String(target);
    if (/^[a-z][a-z0-9+.-]*:/i.test(s) || s.startsWith('//')) return new URL(s).href;
    return new URL(s.replace(/^\/+/, ''), this.#base).href;
  }

  #sameOrigin(href) {
    return new URL(href).origin === this.#base.origin;
  }

  #headers(extra) {
    const h = new Headers(extra);
    h.set('WL-App-Id', this.appId);
    h.set('WL-App-Environment', this.environment);
    h.set('WL-App-Version', this.appVersion);
    if (this.#instanceId) h.set('WL-Instance-Id', this.#instanceId);
    const cookies = this.#jar?.header();
    if (cookies) h.set('Cookie', cookies);
    return h;
  }

  async #send(href, init) {
    this.#inflight++;
    try {
      const resp = await this.#fetch(href, { ...init, credentials: 'same-origin', redirect: init.redirect ?? 'manual' });
      this.#jar?.take(resp.headers);
      return resp;
    } finally {
      if (--this.#inflight === 0) for (const r of this.#idle.splice(0)) r();
    }
  }

  // Whether the client holds a session: its cookie (Node.js), or a reply of the server already
  // read (a browser, which keeps the HttpOnly cookie out of reach).
  #hasSession() {
    return this.#jar ? this.#jar.get(CookieSession) !== undefined : this.#sessionOpen;
  }

  // Sends one attempt of a request. While there is no session requests go one at a time, so
  // that concurrent calls share the session the first one opens instead of each opening its own.
  async #attempt(href, init) {
    while (this.#settling) await this.#settling.catch(() => {});
    if (this.#hasSession()) return [this.#gen, await this.#send(href, { ...init, headers: this.#headers(init.headers) })];
    const prev = this.#opening;
    let release;
    this.#opening = new Promise((r) => (release = r));
    await prev;
    try {
      while (this.#settling) await this.#settling.catch(() => {});
      const gen = this.#gen;
      const resp = await this.#send(href, { ...init, headers: this.#headers(init.headers) });
      this.#sessionOpen = true;
      return [gen, resp];
    } finally {
      release();
    }
  }

  // Holds every other request back while a challenge is settled: the server may rotate the
  // session id at a login, and a request still carrying the old id would come back with a new,
  // empty session that replaces the logged-in one.
  async #exclusive(fn) {
    let done;
    this.#settling = new Promise((r) => (done = r));
    try {
      if (this.#inflight > 0) await new Promise((r) => this.#idle.push(r));
      await fn();
    } finally {
      this.#gen++;
      this.#settling = null;
      done();
    }
  }

  /**
   * Sends a request to the server (a path relative to baseURL, or an absolute URL of the same
   * origin) and returns the resource's Response once every challenge on the way is settled. A
   * 403 or 429 reply throws a RealmgateError; any other reply is returned as is. The body must be
   * replayable (a string, bytes, URLSearchParams...), as the request may be sent again. Requests
   * to other origins are sent unchanged, without the application headers.
   */
  async request(target, init = {}) {
    const href = this.#resolve(target);
    if (!this.#sameOrigin(href)) return this.#fetch(href, init);
    const rounds = new Map();
    for (let reissue = 0; ; reissue++) {
      const [gen, resp] = await this.#attempt(href, init);
      if (resp.status === 401) {
        // A challenge is JSON; any other 401 (a resource's page, a Bearer refusal) is the caller's.
        if (!/json/i.test(resp.headers.get('Content-Type') ?? '')) return resp;
        const text = await readText(resp);
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          throw malformed('a 401 reply declared JSON is not');
        }
        const ch = parseChallenge(body);
        if (!ch) return new Response(text, { status: resp.status, statusText: resp.statusText, headers: resp.headers });
        if (reissue === maxReissues) {
          const realm = orderRealms(ch.challenges)[0];
          throw new RealmError(realm, Codes.TOO_MANY_ROUNDS, 'challenged too many times');
        }
        if (gen !== this.#gen || this.#settling) continue; // settled by another call meanwhile: send again
        await this.#exclusive(() => this.#settle(ch, rounds));
        continue;
      }
      if (resp.status === 403 || resp.status === 429) {
        throw new RealmgateError(resp.status, (await readJSON(resp)) ?? {});
      }
      return resp;
    }
  }

  async #settle(ch, rounds) {
    const realms = orderRealms(ch.challenges);
    for (let i = 0; i < realms.length; i++) {
      try {
        await this.#settleRealm(ch, realms[i], rounds, 0);
      } catch (e) {
        if (e instanceof NewSession) {
          this.#resetSession();
          return;
        }
        throw e;
      }
      // The device is proven: send the request again before the realms after it, whose login
      // the device may already share (device single sign-on).
      if (i + 1 < realms.length && isDeviceRealm(ch.challenges, realms[i])) return;
    }
  }

  #resetSession() {
    this.#jar?.delete(CookieSession);
    this.#sessionOpen = false;
    this.#instanceId = '';
    this.#identities.clear();
  }

  async #settleRealm(ch, realm, rounds, depth) {
    const h = this.#handlers.get(realm);
    if (!h) throw new RealmError(realm, Codes.NO_HANDLER, 'no challenge handler registered for the realm');
    const next = () => {
      const n = (rounds.get(realm) ?? 0) + 1;
      rounds.set(realm, n);
      if (n > this.maxRounds) throw new RealmError(realm, Codes.TOO_MANY_ROUNDS, `challenged more than ${this.maxRounds} times`);
      return n;
    };
    const wrap = (round, e) => (e instanceof RealmError || e instanceof RealmgateError ? e : new RealmError(realm, e?.code ?? 'handler_failed', `round ${round}: ${e?.message ?? e}`, { cause: e }));
    const challenge = async (test, step, payload) => {
      const round = next();
      const error = typeof payload.error === 'string' ? sanitize(payload.error) : '';
      const remaining = Number.isInteger(payload.remainingAttempts) ? payload.remainingAttempts : undefined;
      try {
        return await h.handleChallenge({ realm, securityTest: test, step, round, payload, error, remainingAttempts: remaining });
      } catch (e) {
        throw wrap(round, e);
      }
    };

    let ans = await challenge(ch.securityTest, ch.step, ch.challenges[realm]);
    for (;;) {
      if (!ans || ans.skip) return;
      let reply;
      try {
        reply = await this.#postAnswer(realm, ans);
      } catch (e) {
        if (e instanceof RealmgateError && e.status === 403 && typeof h.handleRefusal === 'function') {
          const r = await h.handleRefusal(realm, e);
          if (r === 'new_session') throw new NewSession();
          throw r;
        }
        throw e;
      }
      if (reply.challenge) {
        const again = reply.challenge;
        for (const other of orderRealms(again.challenges)) {
          if (other === realm) continue;
          if (depth >= maxNesting) throw new RealmError(other, Codes.TOO_MANY_ROUNDS, 'realms named in replies nest too deep');
          await this.#settleRealm(again, other, rounds, depth + 1);
        }
        const payload = again.challenges[realm];
        if (!payload) return;
        ans = await challenge(again.securityTest, again.step, payload);
      } else if (reply.status === 'success') {
        this.#identities.set(realm, reply.identity ?? null);
        return;
      } else {
        const round = next();
        if (typeof h.handleStatus !== 'function') throw new RealmError(realm, Codes.UNEXPECTED_STATUS, `unexpected status ${JSON.stringify(reply.status)}`);
        try {
          ans = await h.handleStatus({ realm, status: reply.status, round, body: reply.body });
        } catch (e) {
          throw wrap(round, e);
        }
      }
    }
  }

  // Posts one answer; returns {status, identity, body} of a 200 reply or {challenge} of a 401.
  async #postAnswer(realm, ans) {
    const headers = this.#headers({ 'Content-Type': 'application/json' });
    for (const [k, v] of Object.entries(ans.headers ?? {})) headers.set(k, v);
    const resp = await this.#send(this.#url('api', 'v1', 'auth', realm), { method: 'POST', headers, body: JSON.stringify(ans.body ?? {}) });
    const b = await readJSON(resp);
    if (resp.status === 200) {
      if (!b || typeof b !== 'object' || typeof b.status !== 'string' || !/^[a-z0-9_]{1,64}$/.test(b.status)) {
        throw new RealmError(realm, Codes.MALFORMED_RESPONSE, 'the realm reply has no status');
      }
      if (b.realm !== undefined && b.realm !== realm) throw new RealmError(realm, Codes.MALFORMED_RESPONSE, 'the reply is for another realm');
      return { status: b.status, identity: b.identity, body: b };
    }
    if (resp.status === 401) {
      const ch = parseChallenge(b);
      if (!ch) throw new RealmError(realm, Codes.MALFORMED_RESPONSE, 'a 401 reply to an answer is not a challenge');
      return { challenge: ch };
    }
    throw new RealmgateError(resp.status, b ?? {}, realm);
  }

  async #callJSON(method, href, body) {
    const init = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const resp = await this.request(href, init);
    const b = await readJSON(resp);
    if (resp.status !== 200) throw new RealmgateError(resp.status, b ?? {});
    if (b === undefined) throw malformed(`${method} ${new URL(href).pathname}: the reply is not JSON`);
    return b;
  }

  /** Connects the application: POST /api/v1/apps/{app}/{env}/init, settling its security test. */
  async init() {
    return this.#callJSON('POST', this.#url('api', 'v1', 'apps', this.appId, this.environment, 'init'), {});
  }

  /**
   * Calls an adapter procedure with positional parameters and returns its result. A procedure
   * that reports failure throws a RealmgateError (code procedure_failed unless the server named one).
   */
  async invokeProcedure(adapter, procedure, parameters = []) {
    for (const s of [adapter, procedure]) {
      if (!s || s === '.' || s === '..') throw new TypeError(`realmgate: invalid adapter or procedure name ${JSON.stringify(s)}`);
    }
    const resp = await this.request(this.#url('api', 'v1', 'adapters', adapter, procedure), {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify({ parameters }),
    });
    const b = await readJSON(resp);
    if (b && b.isSuccessful === false) {
      throw new RealmgateError(resp.status, { error: b.error || 'procedure_failed', message: (b.errors ?? []).join('; ') });
    }
    if (resp.status !== 200) throw new RealmgateError(resp.status, b ?? {});
    if (!b || typeof b.isSuccessful !== 'boolean') throw malformed(`${adapter}.${procedure}: the reply is not a procedure result`);
    return b.result ?? null;
  }

  /**
   * Logs the session in to realm without a protected request (POST /api/v1/login/{realm}), as a
   * Worklight app did with WL.Client.login(realm): the server answers with the realm's challenge,
   * which the handler registered for the realm settles (with the anti-XSRF token a new session
   * gets), and the login is asked again. Resolves to the realm's identity; a session already
   * logged in to realm gets it at once. A realm that cannot be logged in to this way throws a
   * RealmgateError with code login_not_allowed (403); an unknown one unknown_realm (404).
   */
  async login(realm) {
    if (!realmName.test(realm)) throw new TypeError(`realmgate: invalid realm name ${JSON.stringify(realm)}`);
    const b = await this.#callJSON('POST', this.#url('api', 'v1', 'login', realm), {});
    if (b.status !== 'success' || b.realm !== realm) throw malformed(`login to ${realm}: status ${JSON.stringify(sanitize(String(b.status), 64))}`);
    const identity = b.identity && typeof b.identity === 'object' && !Array.isArray(b.identity) ? b.identity : null;
    this.#identities.set(realm, identity);
    return identity;
  }

  /** Forgets realm's result in this session (POST /api/v1/logout/{realm}). */
  async logout(realm) {
    if (!realmName.test(realm)) throw new TypeError(`realmgate: invalid realm name ${JSON.stringify(realm)}`);
    const b = await this.#callJSON('POST', this.#url('api', 'v1', 'logout', realm), {});
    if (b.status !== 'logged_out') throw malformed(`logout of ${realm}: status ${JSON.stringify(sanitize(String(b.status), 64))}`);
    this.#identities.delete(realm);
  }

  /** The server's view of the session (GET /api/v1/session): realms, user and device. */
  async session() {
    const b = await this.#callJSON('GET', this.#url('api', 'v1', 'session'));
    this.#identities = new Map(Object.entries(b.realms ?? {}).map(([r, s]) => [r, s?.identity ?? null]));
    return b;
  }

  /**
   * Obtains a new access token for scope (a security test; empty for the environment's own)
   * from POST /oauth/token, answering the scope's challenges first. Returns {scope, value,
   * expiresAt}.
   */
  async obtainAccessToken(scope = '') {
    if (typeof scope !== 'string' || scope.length > 256 || /\s/.test(scope)) throw new TypeError(`realmgate: invalid scope ${JSON.stringify(scope)}`);
    const start = Date.now();
    const b = await this.#callJSON('POST', this.#url('oauth', 'token'), scope ? { scope } : {});
    if (String(b.token_type).toLowerCase() !== 'bearer' || !b.access_token || !(b.expires_in > 0) || !b.scope || (scope && b.scope !== scope)) {
      throw malformed('token reply');
    }
    const tok = { scope: b.scope, value: b.access_token, expiresAt: new Date(start + b.expires_in * 1000) };
    this.#tokens.set(tok.scope, tok);
    this.#lastToken = tok;
    return tok;
  }

  /**
   * The last token obtained for scope or, without a scope, for any scope (Worklight's
   * getLastAccessToken()); null when there is none or it has expired.
   */
  getLastAccessToken(scope = '') {
    const tok = scope ? this.#tokens.get(scope) : this.#lastToken;
    if (!tok || tok.expiresAt.getTime() - tokenSkewMs <= Date.now()) return null;
    return tok;
  }

  #dropToken(scope) {
    this.#tokens.delete(scope);
    if (this.#lastToken?.scope === scope) this.#lastToken = null;
  }

  /**
   * Calls an external resource server with the access token it needs: the last token of
   * scopeHint when there is one (never a token of another scope); when the server answers 401 or
   * 403 with a Bearer challenge naming a scope (WWW-Authenticate), obtains a token for that scope
   * (answering its challenges) and sends the request once more. The resource server gets no
   * cookies or application headers: only the bearer token.
   */
  async callResource(url, init = {}, scopeHint = '') {
    const send = (tok) => {
      const headers = new Headers(init.headers);
      headers.delete('Authorization');
      if (tok) headers.set('Authorization', `Bearer ${tok.value}`);
      return this.#fetch(String(url), { ...init, headers, credentials: 'omit' });
    };
    const resp = await send(scopeHint ? this.getLastAccessToken(scopeHint) : null);
    const scope = requiredAccessTokenScope(resp.status, resp.headers.get('WWW-Authenticate'));
    if (scope === null) return resp;
    await resp.body?.cancel();
    this.#dropToken(scope);
    let tok;
    try {
      tok = await this.obtainAccessToken(scope);
    } catch (e) {
      throw coded(e.code ?? 'token_failed', `obtaining a token for scope ${JSON.stringify(scope)}: ${e.message}`, { cause: e });
    }
    return send(tok);
  }
}
