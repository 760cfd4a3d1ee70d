import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createValidator, TokenError } from '../src/index.js'
import { Issuer, newKey, breaks as b } from './issuer.js'

// kind names the error code, for comparisons ('ok' when validation passed).
async function kind (promise) {
  try {
    await promise
    return 'ok'
  } catch (err) {
    if (err instanceof TokenError) return err.code
    throw err
  }
}

const nowSec = () => Math.floor(Date.now() / 1000)

// Good and bad tokens; tokens that fail two checks prove the order: signature, then time, then
// scope. The same cases as the Go package's tests.
const cases = [
  { name: 'good', want: 'ok' },
  { name: 'good without a scope check', scope: '', want: 'ok' },
  { name: 'good, one of several scopes', claims: { scope: 'webTests mobileTests' }, want: 'ok' },
  { name: 'good without user or device', claims: { userId: '', deviceId: '' }, want: 'ok' },
  { name: 'typ in full', breaks: [b.header('typ', 'application/at+jwt')], want: 'ok' },
  { name: 'typ in capitals', breaks: [b.header('typ', 'AT+JWT')], want: 'ok' },
  { name: 'expired within the leeway', iatOffset: -62, want: 'ok' },
  { name: 'issued within the leeway ahead', iatOffset: 2, want: 'ok' },
  { name: 'unknown claims are ignored', breaks: [b.claim('x', [1]), b.claim('sid', 's-1')], want: 'ok' },
  { name: 'any audience when none is required', claims: { audience: 'elsewhere' }, want: 'ok' },
  { name: 'aud not a string', breaks: [b.claim('aud', 7)], want: 'invalid_token' },
  { name: 'aud holding a number', breaks: [b.claim('aud', ['a', 7])], want: 'invalid_token' },

  { name: 'tampered signature', breaks: [b.tamperedSignature], want: 'invalid_token' },
  { name: 'tampered payload', breaks: [b.tamperedPayload], want: 'invalid_token' },
  { name: 'alg none', breaks: [b.algNone], want: 'invalid_token' },
  { name: 'HS256 keyed with the public key', breaks: [b.hs256WithPublicKey], want: 'invalid_token' },
  { name: 'unknown kid', breaks: [b.unknownKid], want: 'invalid_token' },
  { name: 'wrong issuer', breaks: [b.wrongIssuer], want: 'invalid_token' },
  { name: 'wrong typ', breaks: [b.wrongTyp], want: 'invalid_token' },
  { name: 'no typ', breaks: [b.header('typ', '')], want: 'invalid_token' },
  { name: 'critical extension', breaks: [b.header('crit', ['exp'])], want: 'invalid_token' },
  { name: 'no exp', breaks: [b.claim('exp')], want: 'invalid_token' },
  { name: 'exp a string', breaks: [b.claim('exp', '2999-01-01')], want: 'invalid_token' },
  { name: 'exp an object', breaks: [b.claim('exp', {})], want: 'invalid_token' },
  { name: 'scope not a string', breaks: [b.claim('scope', ['mobileTests'])], want: 'invalid_token' },
  { name: 'no iss', breaks: [b.claim('iss')], want: 'invalid_token' },
  { name: 'client_id and data disagree', breaks: [b.claim('client_id', 'OtherApp')], want: 'invalid_token' },
  { name: 'no application', breaks: [b.claim('client_id'), b.claim('data', {})], want: 'invalid_token' },
  { name: 'expired', breaks: [b.expired], want: 'expired' },
  { name: 'expired beyond the leeway', iatOffset: -67, want: 'expired' },
  { name: 'not yet valid', breaks: [b.notYetValid], want: 'not_yet_valid' },
  { name: 'nbf in the future', breaks: [m => { m.claims.nbf = nowSec() + 60 }], want: 'not_yet_valid' },
  { name: 'wrong scope', claims: { scope: 'webTests' }, want: 'insufficient_scope' },
  { name: 'scope is a prefix only', claims: { scope: 'mobileTestsX' }, want: 'insufficient_scope' },

  { name: 'tampered and expired', breaks: [b.expired, b.tamperedSignature], want: 'invalid_token' },
  { name: 'alg none and expired', breaks: [b.expired, b.algNone], want: 'invalid_token' },
  { name: 'wrong issuer and expired', breaks: [b.expired, b.wrongIssuer], want: 'invalid_token' },
  { name: 'unknown kid and wrong scope', claims: { scope: 'webTests' }, breaks: [b.unknownKid], want: 'invalid_token' },
  { name: 'wrong typ and not yet valid', breaks: [b.notYetValid, b.wrongTyp], want: 'invalid_token' },
  { name: 'expired and wrong scope', claims: { scope: 'webTests' }, breaks: [b.expired], want: 'expired' },
  { name: 'not yet valid and wrong scope', claims: { scope: 'webTests' }, breaks: [b.notYetValid], want: 'not_yet_valid' }
]

for (const alg of ['ES256', 'EdDSA']) {
  describe(`validate ${alg}`, async () => {
    const is = await Issuer.start(alg)
    after(() => is.close())
    const cached = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url })
    const uncached = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url, cacheSize: 0 })
    for (const tc of cases) {
      test(tc.name, async () => {
        const claims = { userId: 'alice', deviceId: 'd-1', ...tc.claims }
        const iat = nowSec() + (tc.iatOffset ?? 0)
        const tok = await is.mint({ ...claims, iat }, ...(tc.breaks ?? []))
        const scope = tc.scope ?? 'mobileTests'
        // Uncached, then twice cached: the second answer comes from the cache.
        for (const [i, v] of [uncached, cached, cached].entries()) {
          assert.equal(await kind(v.validate(tok, { scope })), tc.want, `validation ${i}`)
          if (tc.want !== 'ok') continue
          const c = await v.validate(tok, { scope })
          assert.match(c.tokenId, /^[0-9a-f]{32}$/)
          assert.deepEqual({ ...c, tokenId: '' }, {
            applicationId: 'BankApp',
            userId: claims.userId,
            deviceId: claims.deviceId,
            scope: claims.scope ?? 'mobileTests',
            subject: claims.userId,
            audience: claims.audience ?? '',
            tokenId: '',
            issuedAt: new Date(iat * 1000),
            expiresAt: new Date((iat + 60) * 1000)
          })
        }
      })
    }
  })
}

// The same cases as the Go package's TestValidateAudience.
test('a required audience', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  const cases = [
    { name: 'its audience', claims: { audience: 'statements' }, want: 'ok', aud: 'statements' },
    { name: 'its audience among others', breaks: [b.claim('aud', ['payments', 'statements'])], want: 'ok', aud: 'statements' },
    { name: 'another audience', claims: { audience: 'payments' }, want: 'invalid_token' },
    { name: 'the application', claims: { audience: 'BankApp' }, want: 'invalid_token' },
    { name: 'no audience', want: 'invalid_token' },
    { name: 'an empty list', breaks: [b.claim('aud', [])], want: 'invalid_token' },
    { name: 'a prefix of it', claims: { audience: 'statement' }, want: 'invalid_token' },
    { name: 'in another case', claims: { audience: 'Statements' }, want: 'invalid_token' },
    { name: 'another audience and expired', claims: { audience: 'payments' }, breaks: [b.expired], want: 'invalid_token' },
    { name: 'its audience and expired', claims: { audience: 'statements' }, breaks: [b.expired], want: 'expired' },
    { name: 'its audience and another scope', claims: { audience: 'statements', scope: 'webTests' }, want: 'insufficient_scope' }
  ]
  for (const cacheSize of [0, 100]) {
    const v = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url, audience: 'statements', cacheSize })
    for (const tc of cases) {
      const tok = await is.mint({ userId: 'alice', ...tc.claims }, ...(tc.breaks ?? []))
      for (let i = 0; i < 2; i++) {
        assert.equal(await kind(v.validate(tok, { scope: 'mobileTests' })), tc.want, `cache ${cacheSize}, ${tc.name}, validation ${i}`)
        if (tc.want === 'ok') assert.equal((await v.validate(tok, { scope: 'mobileTests' })).audience, tc.aud, tc.name)
      }
    }
  }
  assert.throws(() => createValidator({ jwksUrl: is.jwksUrl, issuer: is.url, audience: 7 }), TypeError)
})

test('strings that are no tokens', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  const v = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url, maxTokenBytes: 2048 })
  const good = await is.mint()
  const rest = good.slice(good.indexOf('.'))
  const b64 = s => Buffer.from(s).toString('base64url')
  const last = good[good.length - 1]
  for (const tok of [
    '', '.', '..', 'a.b', 'a.b.c.d', 'a.b.c', good + '.', good + '=', good.slice(0, -1), good + 'A', 'x'.repeat(3000),
    good.slice(0, -1) + String.fromCharCode(last.charCodeAt(0) + 1),
    b64('{"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"x"}') + rest,
    b64('{"ALG":"ES256","typ":"at+jwt","kid":"x"}') + rest,
    b64('{"alg":"ES256","typ":"at+jwt","kid":"x"} x') + rest,
    b64('[1]') + rest,
    undefined, 42
  ]) {
    assert.equal(await kind(v.validate(tok, { scope: 'mobileTests' })), 'invalid_token', String(tok).slice(0, 40))
  }
})

test('key rotation under load', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  // Unknown kids may refresh the key set at once: the issuer rotates faster here than any
  // minimum interval would allow.
  const v = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url, minRefreshIntervalSec: 0 })
  let stop = false
  let failures = 0
  let done = 0
  let firstErr
  const worker = async () => {
    const kept = []
    for (let i = 0; !stop; i++) {
      const tok = await is.mint({ userId: 'alice' })
      if (i % 20 === 0) kept.push(tok)
      await Promise.all([...kept.slice(-3), tok].map(async t => {
        try {
          await v.validate(t, { scope: 'mobileTests' })
        } catch (err) {
          failures++
          firstErr ??= err
        }
        done++
      }))
    }
  }
  const waitFor = async n => {
    const target = done + n
    while (done < target) await new Promise(resolve => setTimeout(resolve, 1))
  }
  const workers = [worker(), worker(), worker(), worker()]
  await waitFor(200)
  const first = is.current
  const second = await is.rotate('ES256')
  await waitFor(200)
  await is.rotate('EdDSA')
  await waitFor(200)
  stop = true
  await Promise.all(workers)
  assert.equal(failures, 0, `${failures} of ${done} validations failed; first: ${firstErr}`)

  // Retired keys: their tokens fail after the next refresh, even from the cache.
  const old = await is.mint({}, b.signedWith(first))
  await v.validate(old, { scope: 'mobileTests' })
  is.retire(first.kid)
  is.retire(second.kid)
  await v.refresh()
  assert.equal(await kind(v.validate(old, { scope: 'mobileTests' })), 'invalid_token')
})

test('unknown kids refresh the key set at most once per interval', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  let clock = Date.now()
  const v = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url, minRefreshIntervalSec: 10, now: () => clock })
  await v.validate(await is.mint(), { scope: 'mobileTests' })
  assert.equal(is.fetches, 1)
  const forged = await Promise.all(Array.from({ length: 8 }, () => is.mint({}, b.unknownKid)))
  clock += 10000
  const results = await Promise.all(Array.from({ length: 400 }, (_, i) => kind(v.validate(forged[i % 8], { scope: 'mobileTests' }))))
  assert.deepEqual(new Set(results), new Set(['invalid_token']))
  assert.equal(is.fetches, 2)
  // A real rotation within the interval is seen only once the interval has passed.
  const rotated = await is.mint({}, b.signedWith(await is.rotate()))
  assert.equal(await kind(v.validate(rotated, { scope: 'mobileTests' })), 'invalid_token')
  clock += 10000
  assert.equal(await kind(v.validate(rotated, { scope: 'mobileTests' })), 'ok')
  assert.equal(is.fetches, 3)
})

test('a stale key set is refreshed in the background, and withdrawn keys are refused', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  let clock = Date.now()
  const v = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url, now: () => clock })
  const tok = await is.mint({ lifetime: 3600 })
  await v.validate(tok, { scope: 'mobileTests' })
  const old = is.current
  await is.rotate()
  is.retire(old.kid)
  clock += 30000
  assert.equal(await kind(v.validate(tok, { scope: 'mobileTests' })), 'ok')
  assert.equal(is.fetches, 1)
  clock += 31000
  const deadline = Date.now() + 10000
  for (;;) {
    const k = await kind(v.validate(tok, { scope: 'mobileTests' }))
    if (k === 'invalid_token') break
    assert.equal(k, 'ok')
    assert.ok(Date.now() < deadline, 'the stale key set was not refreshed')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
  assert.equal(is.fetches, 2)
})

test('issuer down', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  is.down = true
  let clock = Date.now()
  const v = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url, now: () => clock })
  const tok = await is.mint({ lifetime: 3600 })
  for (let i = 0; i < 5; i++) assert.equal(await kind(v.validate(tok, { scope: 'mobileTests' })), 'keys_unavailable')
  assert.equal(is.fetches, 1)
  is.down = false
  clock += 10000
  assert.equal(await kind(v.validate(tok, { scope: 'mobileTests' })), 'ok')
  is.down = true
  clock += 120000
  const other = await is.mint({ lifetime: 3600 })
  for (let i = 0; i < 3; i++) assert.equal(await kind(v.validate(other, { scope: 'mobileTests' })), 'ok')
  await assert.rejects(v.refresh())
  assert.equal(await kind(v.validate(await is.mint({ lifetime: 3600 }), { scope: 'mobileTests' })), 'ok')
})

test('keys given as a JWKS or PEM', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  const ed = await newKey('EdDSA')
  is.publish(ed)
  for (const [name, opts] of Object.entries({
    'JWKS text': { jwks: is.jwks() },
    'JWKS object': { jwks: JSON.parse(is.jwks()) },
    PEM: { publicKey: is.current.pem + ed.pem }
  })) {
    const v = createValidator({ ...opts, issuer: is.url })
    for (const tok of [await is.mint(), await is.mint({}, b.signedWith(ed))]) {
      assert.equal(await kind(v.validate(tok, { scope: 'mobileTests' })), 'ok', name)
    }
    assert.equal(await kind(v.validate(await is.mint({}, b.unknownKid), { scope: 'mobileTests' })), 'invalid_token', name)
  }
  // A PEM key's kid is its RFC 7638 thumbprint, as hostd names its keys.
  const v = createValidator({ publicKey: ed.pem, issuer: is.url })
  assert.equal(await kind(v.validate(await is.mint({}, b.signedWith(ed)))), 'ok')
})

test('keys that must never verify are skipped', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  const k = is.current
  const tok = await is.mint()
  const good = await newKey('ES256')
  const privJwk = { ...(await import('jose')).exportJWK ? await (await import('jose')).exportJWK(k.privateKey) : {}, kid: k.kid }
  for (const [name, jwk] of Object.entries({
    'encryption key': { ...k.jwk, use: 'enc' },
    'alg of another type': { ...k.jwk, alg: 'EdDSA' },
    'HMAC alg': { ...k.jwk, alg: 'HS256' },
    'private key published': privJwk,
    'another curve': { ...k.jwk, crv: 'P-384' },
    'point off the curve': { ...k.jwk, y: k.jwk.x }
  })) {
    const v = createValidator({ jwks: { keys: [jwk, good.jwk] }, issuer: is.url })
    assert.equal(await kind(v.validate(tok, { scope: 'mobileTests' })), 'invalid_token', name)
    assert.equal(await kind(v.validate(await is.mint({}, b.signedWith(good)), { scope: 'mobileTests' })), 'ok', name)
  }
})

test('bad configurations are refused at once', async () => {
  const k = await newKey('ES256')
  for (const [name, opts] of Object.entries({
    'no issuer': { jwksUrl: 'http://127.0.0.1/oauth/jwks' },
    'no keys': { issuer: 'x' },
    'two sources': { issuer: 'x', jwksUrl: 'http://127.0.0.1/', publicKey: k.pem },
    'not http': { issuer: 'x', jwksUrl: 'file:///etc/passwd' },
    'credentials in the URL': { issuer: 'x', jwksUrl: 'http://u:p@127.0.0.1/oauth/jwks' },
    'leeway over 5 s': { issuer: 'x', jwksUrl: 'http://127.0.0.1/', leewaySec: 6 },
    'PEM of another type': { issuer: 'x', publicKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' },
    'PEM and garbage': { issuer: 'x', publicKey: k.pem + 'garbage' },
    'JWKS of no usable key': { issuer: 'x', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', alg: 'HS256', kid: 'x' }] } },
    'not JSON': { issuer: 'x', jwks: '{"keys":' }
  })) {
    assert.throws(() => createValidator(opts), undefined, name)
  }
})

test('JWKS replies that are too big, too slow or not a key set', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  const jwks = is.jwks()
  for (const [name, handler, want] of [
    ['too big', (req, res) => res.end(jwks.slice(0, -1) + `,"pad":"${'x'.repeat(2048)}"}`), /larger than 1024 bytes/],
    ['too slow', (req, res) => { res.write(jwks.slice(0, 10)) }, /timeout|aborted/i],
    ['not found', (req, res) => { res.statusCode = 404; res.end() }, /status 404/],
    ['HTML', (req, res) => res.end('<html>'), /neither a JWKS document nor PEM/],
    ['no usable key', (req, res) => res.end('{"keys":[]}'), /no usable/]
  ]) {
    const srv = http.createServer(handler)
    await new Promise(resolve => srv.listen(0, '127.0.0.1', resolve))
    try {
      const v = createValidator({ jwksUrl: `http://127.0.0.1:${srv.address().port}/`, issuer: is.url, maxKeySetBytes: 1024, fetchTimeoutMs: 200 })
      await assert.rejects(v.refresh(), want, name)
      assert.notEqual(await kind(v.validate(await is.mint(), { scope: 'mobileTests' })), 'ok', name)
    } finally {
      srv.closeAllConnections()
      srv.close()
    }
  }
})
