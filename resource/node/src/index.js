// @realmgate/resource: offline validation of Realmgate access tokens for Node.js resource
// servers. The same checks, in the same order, with the same HTTP answers as the Go package
// github.com/realmgate/realmgate/resource:
//
//   1. signature: compact JWS, alg ES256 or EdDSA (never none, never HMAC), typ at+jwt, a kid
//      naming a published key whose type fits the alg, the signature, iss equal to the issuer;
//   2. time: exp not passed, iat and nbf not in the future (leeway at most 5 s);
//   3. scope: the required scope is one of the token's.
// With the audience option, a token whose aud does not hold it fails the first check: it is not
// a token for this resource server.

import { compactVerify, importJWK, calculateJwkThumbprint } from 'jose'
import { createHash, createPublicKey } from 'node:crypto'

/** A token refused; `code` says which check failed. */
export class TokenError extends Error {
  constructor (code, message) {
    super(message)
    this.name = new.target.name
    this.code = code
  }
}
/** The token is not one of the issuer's (signature check). */
export class InvalidTokenError extends TokenError {
  constructor (message) { super('invalid_token', `invalid access token: ${message}`) }
}
/** A genuine token whose exp has passed. */
export class ExpiredError extends TokenError {
  constructor (message) { super('expired', `access token expired ${message}`) }
}
/** A genuine token whose iat or nbf is still in the future. */
export class NotYetValidError extends TokenError {
  constructor (message) { super('not_yet_valid', `access token not yet valid ${message}`) }
}
/** A genuine, current token without the scope required. */
export class InsufficientScopeError extends TokenError {
  constructor (scope) { super('insufficient_scope', `access token lacks the required scope ${JSON.stringify(scope)}`) }
}
/** No key set could be loaded yet (the issuer is unreachable): the server's problem, answered 503. */
export class KeysUnavailableError extends TokenError {
  constructor (cause) {
    super('keys_unavailable', `token verification keys unavailable: ${cause?.message ?? cause}`)
    this.cause = cause
  }
}

const ALGS = new Set(['ES256', 'EdDSA'])
const MAX_LEEWAY_SEC = 5
const MAX_KEY_SET_AGE_SEC = 24 * 3600
const MAX_NUMERIC_DATE = 2 ** 40
const PRIVATE_MEMBERS = ['d', 'k', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'priv']

/**
 * createValidator returns a validator of the tokens of one issuer. Give exactly one key source:
 *   jwksUrl    the issuer's JWKS URL (hostd: <issuer>/oauth/jwks), fetched when first needed,
 *              again when stale (Cache-Control max-age) and on an unknown kid, at most once per
 *              minRefreshIntervalSec;
 *   jwks       a JWKS document (object or JSON text);
 *   publicKey  PEM public keys (P-256 or Ed25519; their kid is the RFC 7638 thumbprint).
 * issuer is required. audience, when given, is the aud every token must hold (this resource
 * server's name in hostd's tokens.audiences, or the application id, the audience of a token
 * requested for none); without it a token for any audience of the issuer is accepted.
 * Options and defaults: leewaySec 5 (at most 5), cacheSize 10000 (0 turns
 * the verified-token cache off), minRefreshIntervalSec 10, refreshIntervalSec 300,
 * fetchTimeoutMs 5000, maxKeySetBytes 262144, maxTokenBytes 8192, now () => Date.now(), fetch.
 */
export function createValidator (options) {
  return new Validator(options)
}

class Validator {
  #issuer
  #audience
  #source
  #static
  #leewayMs
  #minRefreshMs
  #refreshMs
  #fetchTimeoutMs
  #maxKeySetBytes
  #maxTokenBytes
  #now
  #fetch
  #cache
  #keys = null // { keys: Map<kid, key>, staleAt }
  #running = null // Promise of the fetch in flight
  #lastFetch = null // ms
  #lastErr = null

  constructor (options = {}) {
    const {
      jwksUrl, jwks, publicKey, issuer, audience = '',
      leewaySec = MAX_LEEWAY_SEC, cacheSize = 10000, minRefreshIntervalSec = 10, refreshIntervalSec = 300,
      fetchTimeoutMs = 5000, maxKeySetBytes = 256 * 1024, maxTokenBytes = 8192,
      now = () => Date.now(), fetch = globalThis.fetch
    } = options
    if (typeof issuer !== 'string' || issuer === '') throw new TypeError('createValidator: issuer is required')
    if (typeof audience !== 'string') throw new TypeError('createValidator: audience must be a string')
    if ([jwksUrl, jwks, publicKey].filter(s => s !== undefined && s !== null).length !== 1) {
      throw new TypeError('createValidator: give exactly one of jwksUrl, jwks and publicKey')
    }
    if (!(leewaySec >= 0 && leewaySec <= MAX_LEEWAY_SEC)) throw new RangeError(`createValidator: leewaySec must be between 0 and ${MAX_LEEWAY_SEC}`)
    for (const [name, v] of Object.entries({ cacheSize, minRefreshIntervalSec, refreshIntervalSec, fetchTimeoutMs, maxKeySetBytes, maxTokenBytes })) {
      if (typeof v !== 'number' || !(v >= 0)) throw new RangeError(`createValidator: ${name} must be a number >= 0`)
    }
    this.#issuer = issuer
    this.#audience = audience
    this.#leewayMs = leewaySec * 1000
    this.#minRefreshMs = minRefreshIntervalSec * 1000
    this.#refreshMs = refreshIntervalSec * 1000
    this.#fetchTimeoutMs = fetchTimeoutMs
    this.#maxKeySetBytes = maxKeySetBytes
    this.#maxTokenBytes = maxTokenBytes
    this.#now = now
    this.#fetch = fetch
    this.#cache = cacheSize > 0 ? new TokenCache(cacheSize) : null
    if (jwksUrl !== undefined && jwksUrl !== null) {
      const u = new URL(jwksUrl)
      if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) {
        throw new TypeError(`createValidator: jwksUrl ${JSON.stringify(jwksUrl)} is not an http(s) URL without credentials`)
      }
      this.#source = { url: u.href }
      this.#static = false
    } else {
      const text = jwks !== undefined && jwks !== null ? (typeof jwks === 'string' ? jwks : JSON.stringify(jwks)) : String(publicKey)
      parseKeyMaterial(text) // throws now on bad key material
      this.#source = { text }
      this.#static = true
    }
  }

  /**
   * validate checks token, and that it carries scope when one is given, and returns its client
   * { applicationId, userId, deviceId, scope, subject, audience, tokenId, issuedAt, expiresAt }
   * (audience: the token's aud; with several, the one required, else the first). It
   * throws an InvalidTokenError, ExpiredError, NotYetValidError, InsufficientScopeError or
   * KeysUnavailableError, naming the first check the token failed.
   */
  async validate (token, { scope = '' } = {}) {
    if (typeof token !== 'string') throw new InvalidTokenError('not a string')
    if (token.length > this.#maxTokenBytes) throw new InvalidTokenError(`longer than ${this.#maxTokenBytes} bytes`)
    const now = this.#now()
    if (this.#keys && now > this.#keys.staleAt) this.#refreshInBackground()
    let sum
    if (this.#cache) {
      sum = createHash('sha256').update(token).digest('base64')
      const e = this.#cache.get(sum)
      if (e) {
        this.#checkTime(now, e.exp, e.notBefore)
        return clientFor(e.client, scope)
      }
    }
    const t = parseToken(token)
    const key = await this.#key(t.kid)
    if (t.alg !== key.alg) throw new InvalidTokenError('alg does not fit the key of the kid')
    try {
      await compactVerify(token, key.cryptoKey, { algorithms: [key.alg] })
    } catch {
      throw new InvalidTokenError('bad signature')
    }
    const c = decodeClaims(t.payload, this.#issuer, this.#audience)
    this.#checkTime(now, c.exp, c.notBefore)
    if (this.#cache && this.#keys?.keys.get(key.kid) === key) {
      this.#cache.put(now, sum, { client: c.client, key, exp: c.exp, notBefore: c.notBefore })
    }
    return clientFor(c.client, scope)
  }

  /** refresh loads the key set now, whatever minRefreshIntervalSec says; a failure keeps the keys held. */
  async refresh () {
    const { err } = await this.#fetchKeys(0)
    if (err) throw err
  }

  #checkTime (now, exp, notBefore) {
    if (!(now < exp + this.#leewayMs)) throw new ExpiredError(`at ${new Date(exp).toISOString()}`)
    if (notBefore !== null && notBefore > now + this.#leewayMs) throw new NotYetValidError(`before ${new Date(notBefore).toISOString()}`)
  }

  async #key (kid) {
    let ks = this.#keys
    if (!ks) {
      const r = await this.#fetchKeys(this.#minRefreshMs)
      ks = r.keys
      if (!ks) throw new KeysUnavailableError(r.err)
    }
    const k = ks.keys.get(kid)
    if (k) return k
    if (!this.#static) {
      // Twice: the first call may have joined a fetch that started before the issuer published
      // the key. The second fetches only if minRefreshIntervalSec allows.
      for (let i = 0; i < 2; i++) {
        const { keys } = await this.#fetchKeys(this.#minRefreshMs)
        const k2 = keys?.keys.get(kid)
        if (k2) return k2
      }
    }
    throw new InvalidTokenError('no key of the issuer has the token\'s kid')
  }

  // fetchKeys loads the key set unless the last fetch started less than minInterval ago;
  // concurrent callers share one fetch. It resolves to { keys, err }.
  async #fetchKeys (minInterval) {
    if (this.#running) {
      await this.#running
      return { keys: this.#keys, err: this.#lastErr }
    }
    const now = this.#now()
    if (this.#lastFetch !== null && now - this.#lastFetch < minInterval) {
      return { keys: this.#keys, err: this.#lastErr ?? new Error('key set fetched too recently to fetch again') }
    }
    this.#lastFetch = now
    this.#running = this.#load(now).then(() => { this.#lastErr = null }, err => { this.#lastErr = err })
    try {
      await this.#running
    } finally {
      this.#running = null
    }
    return { keys: this.#keys, err: this.#lastErr }
  }

  #refreshInBackground () {
    if (!this.#running && !this.#static && this.#now() - this.#lastFetch >= this.#minRefreshMs) {
      this.#fetchKeys(this.#minRefreshMs).catch(() => {})
    }
  }

  async #load (now) {
    const { text, maxAgeSec } = this.#source.url ? await this.#readURL() : { text: this.#source.text, maxAgeSec: -1 }
    const old = this.#keys
    const keys = new Map()
    for (const k of parseKeyMaterial(text)) {
      if (keys.has(k.kid)) continue // kids should be distinct; the first one wins
      const o = old?.keys.get(k.kid)
      if (o && o.alg === k.alg && o.canonical === k.canonical) {
        keys.set(k.kid, o)
        continue
      }
      try {
        k.cryptoKey = await importJWK(k.jwk, k.alg)
      } catch {
        continue
      }
      keys.set(k.kid, k)
    }
    if (keys.size === 0) throw new Error('no usable ES256 (P-256) or EdDSA (Ed25519) signature key')
    let age = this.#refreshMs
    if (this.#static) age = 100 * 365 * 24 * 3600 * 1000
    else if (maxAgeSec >= 0) age = Math.min(Math.max(maxAgeSec * 1000, this.#minRefreshMs), MAX_KEY_SET_AGE_SEC * 1000)
    this.#keys = { keys, staleAt: now + age }
    this.#cache?.retain(keys)
  }

  async #readURL () {
    const url = this.#source.url
    const resp = await this.#fetch(url, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal: AbortSignal.timeout(this.#fetchTimeoutMs)
    })
    if (resp.status !== 200) {
      await resp.body?.cancel()
      throw new Error(`GET ${url}: status ${resp.status}`)
    }
    const chunks = []
    let size = 0
    for await (const chunk of resp.body) {
      size += chunk.length
      if (size > this.#maxKeySetBytes) {
        throw new Error(`GET ${url}: key set larger than ${this.#maxKeySetBytes} bytes`)
      }
      chunks.push(chunk)
    }
    return { text: Buffer.concat(chunks).toString('utf8'), maxAgeSec: maxAge(resp.headers.get('cache-control')) }
  }

  /**
   * authenticate checks the request's Authorization header for a token of scope. It resolves to
   * { client } or to { refusal: { status, headers, body } }, the answer to send (see
   * requireScope; body is a Buffer, header values are latin1 strings as node:http writes them).
   * The request body is never read.
   */
  async authenticate (req, scope = '') {
    try {
      const token = bearerToken(authorizationValues(req), this.#maxTokenBytes)
      return { client: await this.validate(token, { scope }) }
    } catch (err) {
      return { refusal: this.#refusal(scope, err) }
    }
  }

  #refusal (scope, err) {
    const rf = refusalFor(err)
    const headers = {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff'
    }
    if (rf.status === 503) {
      headers['retry-after'] = String(Math.ceil(this.#minRefreshMs / 1000))
    } else {
      const desc = rf.code === '' || rf.code === 'insufficient_scope' ? '' : rf.message
      headers['www-authenticate'] = latin1(wwwAuthenticate(scope, rf.code, desc))
    }
    // A Buffer body: node:http encodes a string body and the header block together with the
    // body's encoding, which would spell the latin1 header value in UTF-8 a second time.
    return { status: rf.status, headers, body: Buffer.from(JSON.stringify({ error: rf.body, message: rf.message }) + '\n') }
  }

  /**
   * requireScope returns Express-style middleware (req, res, next): with a valid token of scope
   * it sets req.client (and res.locals.client when res.locals exists) and calls next();
   * otherwise it answers as RFC 6750 says: 401 WWW-Authenticate: Bearer scope="..." without a
   * token, 400 error="invalid_request" for a malformed Authorization header, 401
   * error="invalid_token" for a bad or expired token, 403 error="insufficient_scope", 503 when
   * the issuer's keys cannot be loaded.
   */
  requireScope (scope) {
    return (req, res, next) => {
      this.authenticate(req, scope).then(r => {
        if (r.refusal) return send(res, r.refusal)
        req.client = r.client
        if (res.locals) res.locals.client = r.client
        next()
      }, next)
    }
  }

  /**
   * protect wraps a plain node:http handler (req, res, client): it is called only with a valid
   * token of scope, with the token's client; other requests get requireScope's answers.
   */
  protect (scope, handler) {
    return async (req, res) => {
      const r = await this.authenticate(req, scope)
      if (r.refusal) return send(res, r.refusal)
      req.client = r.client
      return handler(req, res, r.client)
    }
  }
}

function send (res, { status, headers, body }) {
  res.statusCode = status
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
  res.end(body)
}

// latin1 spells a string's UTF-8 bytes one per character: node:http writes header values as
// latin1, so the header carries the same bytes the Go package sends.
function latin1 (s) {
  return Buffer.from(s, 'utf8').toString('latin1')
}

// ---- The verified-token cache

class TokenCache {
  constructor (max) {
    this.max = max
    this.m = new Map()
  }

  get (sum) { return this.m.get(sum) }

  put (now, sum, e) {
    if (this.m.size >= this.max) this.#evict(now)
    this.m.set(sum, e)
  }

  // evict drops expired tokens, then, if still nearly full, the oldest tenth.
  #evict (now) {
    for (const [k, e] of this.m) if (now > e.exp + MAX_LEEWAY_SEC * 1000) this.m.delete(k)
    for (const k of this.m.keys()) {
      if (this.m.size < this.max - Math.floor(this.max / 10)) break
      this.m.delete(k)
    }
  }

  // retain forgets the tokens whose key is not in keys.
  retain (keys) {
    for (const [k, e] of this.m) if (keys.get(e.key.kid) !== e.key) this.m.delete(k)
  }

  get size () { return this.m.size }
}

// ---- Tokens

const B64URL = /^[A-Za-z0-9_-]+$/

// b64 decodes canonical unpadded base64url only, so a token has one spelling.
function b64 (seg) {
  if (!B64URL.test(seg) || seg.length % 4 === 1) return null
  const b = Buffer.from(seg, 'base64url')
  return b.toString('base64url') === seg ? b : null
}

function parseToken (s) {
  const parts = s.split('.')
  if (parts.length !== 3 || parts.some(p => p === '')) throw new InvalidTokenError('not a JWS in compact form')
  const [hdr, payload, sig] = parts
  const hb = b64(hdr)
  if (!hb || !b64(payload) || !b64(sig)) throw new InvalidTokenError('not a JWS in compact form')
  const t = { alg: '', kid: '', payload }
  let typ = ''
  try {
    forEachMember(hb.toString('utf8'), (name, v) => {
      switch (name) {
        case 'alg': t.alg = str(v); break
        case 'typ': typ = str(v); break
        case 'kid': t.kid = str(v); break
        case 'crit': throw new Error('critical header extensions are not supported')
      }
    })
  } catch (err) {
    throw new InvalidTokenError(`header: ${err.message}`)
  }
  if (!ALGS.has(t.alg)) throw new InvalidTokenError('alg is not ES256 or EdDSA')
  const lt = typ.toLowerCase()
  if (lt !== 'at+jwt' && lt !== 'application/at+jwt') throw new InvalidTokenError('typ is not at+jwt')
  if (t.kid === '') throw new InvalidTokenError('no kid')
  if (b64(sig).length !== 64) throw new InvalidTokenError('signature is not 64 bytes')
  return t
}

function str (v) {
  if (typeof v !== 'string') throw new Error('a member is not a string')
  return v
}

// strs reads an array of strings (an aud claim may be one, RFC 7519).
function strs (v) {
  if (!Array.isArray(v) || v.some(x => typeof x !== 'string')) throw new Error('aud is neither a string nor an array of strings')
  return v
}

function decodeClaims (payload, issuer, audience) {
  const client = { applicationId: '', userId: '', deviceId: '', scope: '', subject: '', audience: '', tokenId: '', issuedAt: null, expiresAt: null }
  let iss = ''; let appId = ''; let exp = null; let notBefore = null; let auds = []
  try {
    forEachMember(b64(payload).toString('utf8'), (name, v) => {
      switch (name) {
        case 'iss': iss = str(v); break
        case 'exp': exp = numericDate(v); break
        case 'iat':
        case 'nbf': {
          const t = numericDate(v)
          if (notBefore === null || t > notBefore) notBefore = t
          if (name === 'iat') client.issuedAt = new Date(t)
          break
        }
        case 'jti': client.tokenId = str(v); break
        case 'scope': client.scope = str(v); break
        case 'client_id': client.applicationId = str(v); break
        case 'sub': client.subject = str(v); break
        case 'aud': auds = typeof v === 'string' ? [v] : strs(v); break
        case 'data':
          if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('data is not an object')
          break
      }
    }, (name, raw) => {
      if (name !== 'data') return
      if (!raw.startsWith('{')) throw new Error('data is not an object')
      forEachMember(raw, (n, v) => {
        switch (n) {
          case 'user_id': client.userId = str(v); break
          case 'device_id': client.deviceId = str(v); break
          case 'application_id': appId = str(v); break
        }
      })
    })
  } catch (err) {
    throw new InvalidTokenError(`claims: ${err.message}`)
  }
  if (iss !== issuer) throw new InvalidTokenError('issued by another issuer')
  if (exp === null) throw new InvalidTokenError('no exp')
  if (audience !== '' && !auds.includes(audience)) throw new InvalidTokenError('issued for another audience')
  client.audience = audience !== '' ? audience : (auds[0] ?? '')
  if (client.applicationId === '') client.applicationId = appId
  else if (appId !== '' && appId !== client.applicationId) throw new InvalidTokenError('client_id and data.application_id differ')
  if (client.applicationId === '') throw new InvalidTokenError('no client_id')
  if (client.userId === '') client.userId = client.subject
  client.expiresAt = new Date(exp)
  return { client, exp, notBefore }
}

// numericDate reads an RFC 7519 NumericDate (seconds, maybe fractional) as milliseconds.
function numericDate (v) {
  if (typeof v !== 'number' || !(v >= 0 && v <= MAX_NUMERIC_DATE)) throw new Error('a date claim is not a number of seconds')
  return v * 1000
}

// forEachMember calls fn(name, value) for each member of the JSON object text, refusing
// duplicate names (JSON.parse keeps the last one silently; the Go package refuses them too).
// raw(name, text), when given, also receives each member's JSON text.
function forEachMember (text, fn, raw) {
  let obj
  try {
    obj = JSON.parse(text)
  } catch {
    throw new Error('not JSON')
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error('not a JSON object')
  const seen = new Set()
  for (const [name, valueText] of members(text)) {
    if (seen.has(name)) throw new Error(`member ${JSON.stringify(name)} appears twice`)
    seen.add(name)
    fn(name, obj[name])
    if (raw) raw(name, valueText)
  }
}

// members walks the top level of a JSON object text that JSON.parse accepted, yielding each
// member's name and value text.
function * members (text) {
  let i = skipSpace(text, 0) + 1
  i = skipSpace(text, i)
  while (text[i] !== '}') {
    let end = skipValue(text, i)
    const name = JSON.parse(text.slice(i, end))
    i = skipSpace(text, end)
    i = skipSpace(text, i + 1)
    end = skipValue(text, i)
    yield [name, text.slice(i, end)]
    i = skipSpace(text, end)
    if (text[i] === ',') i = skipSpace(text, i + 1)
  }
}

function skipSpace (text, i) {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++
  return i
}

function skipValue (text, i) {
  let depth = 0
  for (; i < text.length; i++) {
    switch (text[i]) {
      case '"':
        for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++
        if (depth === 0) return i + 1
        break
      case '{': case '[':
        depth++
        break
      case '}': case ']':
        if (depth === 0) return i
        if (--depth === 0) return i + 1
        break
      case ',': case ' ': case '\t': case '\n': case '\r': case ':':
        if (depth === 0) return i
    }
  }
  return i
}

function clientFor (c, scope) {
  if (scope && !c.scope.split(' ').includes(scope)) throw new InsufficientScopeError(scope)
  return { ...c, issuedAt: c.issuedAt && new Date(c.issuedAt), expiresAt: new Date(c.expiresAt) }
}

// ---- Keys

// parseKeyMaterial reads a JWKS document or PEM public keys into key descriptions
// { kid, alg, jwk, canonical }. In a JWKS, keys that must never verify a token are skipped (other
// types, use other than "sig", an alg that is not ES256/EdDSA or does not fit the key, private
// members); PEM must hold only usable keys.
function parseKeyMaterial (text) {
  const t = text.trim()
  const keys = []
  if (t.startsWith('{')) {
    let set
    try {
      set = JSON.parse(t)
    } catch (err) {
      throw new Error(`not a JWKS document: ${err.message}`)
    }
    for (const jwk of Array.isArray(set?.keys) ? set.keys : []) {
      const k = jwkKey(jwk)
      if (k) keys.push(k)
    }
  } else {
    const re = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g
    let m
    let n = 0
    let rest = t
    while ((m = re.exec(t)) !== null) {
      n++
      if (m[1] !== 'PUBLIC KEY') throw new Error(`PEM block ${n} is "${m[1]}", not a PUBLIC KEY`)
      let ko
      try {
        ko = createPublicKey({ key: m[0], format: 'pem' })
      } catch (err) {
        throw new Error(`PEM block ${n}: ${err.message}`)
      }
      const jwk = ko.export({ format: 'jwk' })
      const k = jwkKey(jwk)
      if (!k) throw new Error(`PEM block ${n}: not a P-256 or Ed25519 key`)
      keys.push(k)
      rest = rest.replace(m[0], '')
    }
    if (rest.trim() !== '') throw new Error('neither a JWKS document nor PEM public keys')
  }
  if (keys.length === 0) throw new Error('no usable ES256 (P-256) or EdDSA (Ed25519) signature key')
  return keys
}

function jwkKey (jwk) {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return null
  if (PRIVATE_MEMBERS.some(m => m in jwk)) return null
  if (jwk.use !== undefined && jwk.use !== 'sig') return null
  let alg, pub
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') {
    alg = 'ES256'
    pub = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }
  } else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    alg = 'EdDSA'
    pub = { kty: 'OKP', crv: 'Ed25519', x: jwk.x }
  } else {
    return null
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) return null
  for (const c of ['x', 'y']) {
    if (c in pub && (typeof pub[c] !== 'string' || !b64(pub[c]) || b64(pub[c]).length !== 32)) return null
  }
  try {
    createPublicKey({ key: pub, format: 'jwk' }) // a point off the curve throws
  } catch {
    return null
  }
  const canonical = JSON.stringify(pub)
  const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : thumbprint(pub)
  return { kid, alg, jwk: pub, canonical }
}

// thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url), computed synchronously.
function thumbprint (pub) {
  const members = pub.kty === 'EC' ? { crv: pub.crv, kty: pub.kty, x: pub.x, y: pub.y } : { crv: pub.crv, kty: pub.kty, x: pub.x }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

/** jwkThumbprint is the RFC 7638 thumbprint of a public JWK, the kid hostd gives its keys. */
export async function jwkThumbprint (jwk) {
  return calculateJwkThumbprint(jwk, 'sha256')
}

// maxAge reads Cache-Control max-age in seconds (no-store and no-cache: 0), -1 when absent.
function maxAge (header) {
  let age = -1
  for (const d of (header ?? '').split(',')) {
    const [name, val = ''] = d.trim().split('=', 2)
    switch (name.toLowerCase()) {
      case 'no-store':
      case 'no-cache':
        return 0
      case 'max-age': {
        const v = val.replace(/^"|"$/g, '')
        if (/^[0-9]+$/.test(v) && Number(v) < 2 ** 32) age = Number(v)
      }
    }
  }
  return age
}

// ---- HTTP

class RequestError extends Error {
  constructor (kind) {
    super(kind)
    this.kind = kind
  }
}

// authorizationValues returns every Authorization header of a node:http request.
function authorizationValues (req) {
  const d = req.headersDistinct?.authorization
  if (d) return d
  const v = req.headers?.authorization
  return v === undefined ? [] : [v]
}

const TCHAR = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

// bearerToken reads the token of "Authorization: Bearer <token>" (RFC 6750 2.1).
export function bearerToken (values, maxLen = 8192) {
  if (values.length === 0) throw new RequestError('no_token')
  if (values.length > 1) throw new RequestError('multiple')
  const v = values[0].replace(/^[ \t]+|[ \t]+$/g, '')
  if (v === '') throw new RequestError('no_token')
  const sp = v.indexOf(' ')
  const scheme = sp < 0 ? v : v.slice(0, sp)
  if (!TCHAR.test(scheme)) throw new RequestError('malformed')
  if (scheme.toLowerCase() !== 'bearer') throw new RequestError('no_token')
  const tok = sp < 0 ? '' : v.slice(sp + 1).replace(/^ +/, '')
  if (tok === '') throw new RequestError('empty')
  if (tok.length > maxLen) throw new RequestError('long')
  if (!B64TOKEN.test(tok)) throw new RequestError('malformed')
  return tok
}

function refusalFor (err) {
  const r = (status, code, body, message) => ({ status, code, body, message })
  switch (err instanceof RequestError ? err.kind : err?.code) {
    case 'no_token': return r(401, '', 'missing_token', 'This resource needs an access token: send it as Authorization: Bearer <token>')
    case 'multiple': return r(400, 'invalid_request', 'invalid_request', 'The request has more than one Authorization header')
    case 'empty': return r(400, 'invalid_request', 'invalid_request', 'The Bearer token is empty')
    case 'long': return r(400, 'invalid_request', 'invalid_request', 'The Bearer token is too long')
    case 'malformed': return r(400, 'invalid_request', 'invalid_request', 'The Authorization header is malformed')
    case 'invalid_token': return r(401, 'invalid_token', 'invalid_token', 'The access token is invalid')
    case 'expired': return r(401, 'invalid_token', 'invalid_token', 'The access token expired')
    case 'not_yet_valid': return r(401, 'invalid_token', 'invalid_token', 'The access token is not valid yet')
    case 'insufficient_scope': return r(403, 'insufficient_scope', 'insufficient_scope', 'The access token does not grant the scope this resource requires')
    default: return r(503, '', 'keys_unavailable', 'Access tokens cannot be checked now: try again later')
  }
}

/**
 * wwwAuthenticate formats a Bearer challenge (RFC 6750 section 3): scope, error and
 * error_description as quoted strings, each left out when empty; quotes and backslashes are
 * escaped and control characters become "?".
 */
export function wwwAuthenticate (scope, code, description) {
  const params = []
  for (const [name, value] of [['scope', scope], ['error', code], ['error_description', description]]) {
    if (!value) continue
    // eslint-disable-next-line no-control-regex
    params.push(`${name}="${value.replace(/["\\]/g, '\\$&').replace(/[\x00-\x1f\x7f]/g, '?')}"`)
  }
  return params.length ? 'Bearer ' + params.join(', ') : 'Bearer'
}
