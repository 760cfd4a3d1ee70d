// A token issuer for tests: a JWKS server on 127.0.0.1 and a minter of tokens shaped as hostd
// mints them, with breaks that spoil a token in one known way each (as resourcetest in Go).

import http from 'node:http'
import { randomBytes, createPublicKey, createHmac, webcrypto } from 'node:crypto'
import { generateKeyPair, exportJWK, calculateJwkThumbprint } from 'jose'

export async function newKey (alg) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk, 'sha256')
  const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
  return { kid, alg, privateKey, jwk: { ...jwk, kid, alg, use: 'sig' }, pem }
}

const b64 = x => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url')

export class Issuer {
  static async start (alg = 'ES256') {
    const is = new Issuer()
    is.current = await newKey(alg)
    is.published = [is.current]
    is.fetches = 0
    is.maxAge = 60
    is.down = false
    is.server = http.createServer((req, res) => {
      if (req.url !== '/oauth/jwks') { res.statusCode = 404; return res.end() }
      is.fetches++
      if (is.down) { res.statusCode = 503; return res.end('{"error":"unavailable"}') }
      res.setHeader('content-type', 'application/json')
      if (is.maxAge >= 0) res.setHeader('cache-control', `max-age=${is.maxAge}`)
      res.end(is.jwks())
    })
    await new Promise(resolve => is.server.listen(0, '127.0.0.1', resolve))
    is.url = `http://127.0.0.1:${is.server.address().port}`
    is.jwksUrl = is.url + '/oauth/jwks'
    return is
  }

  close () { this.server.closeAllConnections(); this.server.close() }

  jwks () { return JSON.stringify({ keys: this.published.map(k => k.jwk) }) }

  async rotate (alg = 'ES256') {
    const k = await newKey(alg)
    this.published.push(k)
    this.current = k
    return k
  }

  publish (k) { this.published.push(k) }

  retire (kid) { this.published = this.published.filter(k => k.kid !== kid) }

  // mint returns a token; claims: { scope, applicationId, userId, deviceId, audience, iat (s), lifetime (s) }.
  async mint (c = {}, ...breaks) {
    const iat = c.iat ?? Math.floor(Date.now() / 1000)
    const app = c.applicationId ?? 'BankApp'
    const data = { application_id: app }
    const claims = {
      iss: this.url,
      iat,
      exp: iat + (c.lifetime ?? 60),
      jti: randomBytes(16).toString('hex'),
      scope: c.scope ?? 'mobileTests',
      client_id: app,
      data
    }
    if (c.userId) { claims.sub = c.userId; data.user_id = c.userId }
    if (c.deviceId) data.device_id = c.deviceId
    if (c.audience) claims.aud = c.audience
    const m = { typ: 'at+jwt', alg: '', key: this.current, claims, header: {}, after: [] }
    for (const b of breaks) await b(m)
    return sign(m)
  }
}

// sign signs by hand (WebCrypto, HMAC) rather than with jose, which refuses to make some of the
// broken tokens (an unknown crit, HS256 with a PEM as the secret).
async function sign (m) {
  const header = { alg: m.alg || m.key.alg, typ: m.typ, kid: m.key.kid, ...m.header }
  if (header.typ === '') delete header.typ
  const input = `${b64(header)}.${b64(m.claims)}`
  let sig
  switch (m.alg || m.key.alg) {
    case 'none': sig = Buffer.alloc(0); break
    case 'HS256': sig = createHmac('sha256', m.key.pem).update(input).digest(); break
    case 'ES256': sig = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, m.key.privateKey, Buffer.from(input)); break
    case 'EdDSA': sig = await webcrypto.subtle.sign({ name: 'Ed25519' }, m.key.privateKey, Buffer.from(input)); break
  }
  let tok = `${input}.${Buffer.from(sig).toString('base64url')}`
  for (const f of m.after) tok = f(tok)
  return tok
}

const now = () => Math.floor(Date.now() / 1000)

export const breaks = {
  tamperedSignature: m => {
    m.after.push(tok => {
      const i = tok.lastIndexOf('.')
      const sig = Buffer.from(tok.slice(i + 1), 'base64url')
      sig[sig.length >> 1] ^= 1
      return tok.slice(0, i + 1) + sig.toString('base64url')
    })
  },
  tamperedPayload: m => {
    m.after.push(tok => {
      const p = tok.split('.')
      const cl = JSON.parse(Buffer.from(p[1], 'base64url'))
      cl.scope = 'transferTests'; cl.sub = 'mallory'
      p[1] = b64(cl)
      return p.join('.')
    })
  },
  algNone: m => { m.alg = 'none' },
  hs256WithPublicKey: m => { m.alg = 'HS256' },
  unknownKid: async m => { m.key = await newKey(m.key.alg) },
  wrongIssuer: m => { m.claims.iss = 'http://127.0.0.1:1' },
  wrongTyp: m => { m.typ = 'JWT' },
  expired: m => { m.claims.iat = now() - 180; m.claims.exp = now() - 120 },
  notYetValid: m => { m.claims.iat = now() + 120; m.claims.exp = now() + 180 },
  signedWith: k => m => { m.key = k },
  claim: (name, value) => m => { if (value === undefined) delete m.claims[name]; else m.claims[name] = value },
  header: (name, value) => m => { m.header[name] = value }
}
