import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { createValidator, wwwAuthenticate, bearerToken } from '../src/index.js'
import { Issuer, breaks as b } from './issuer.js'

// listen serves handler on 127.0.0.1 and returns its base URL.
async function listen (handler) {
  const srv = http.createServer(handler)
  await new Promise(resolve => srv.listen(0, '127.0.0.1', resolve))
  after(() => { srv.closeAllConnections(); srv.close() })
  return `http://127.0.0.1:${srv.address().port}`
}

// get sends GET path with the Authorization values given (several headers when several) and
// returns what a client sees.
function get (base, path, auth = []) {
  return new Promise((resolve, reject) => {
    const headers = auth.length ? { authorization: auth.length === 1 ? auth[0] : auth } : {}
    const req = http.request(base + path, { headers }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', d => { body += d })
      res.on('end', () => {
        const a = { status: res.statusCode, wwwAuthenticate: res.headers['www-authenticate'] ?? '', retryAfter: res.headers['retry-after'] ?? '' }
        const json = JSON.parse(body)
        if (res.statusCode === 200) {
          a.client = json
        } else {
          assert.equal(res.headers['content-type'], 'application/json')
          assert.equal(res.headers['cache-control'], 'no-store')
          a.error = json.error
          a.message = json.message
        }
        resolve(a)
      })
    })
    req.on('error', reject)
    req.end()
  })
}

// A tiny Express-like chain: middleware (req, res, next), then the handler.
function chain (mw, handler) {
  return (req, res) => {
    res.locals = {}
    mw(req, res, err => err ? (res.statusCode = 500, res.end(String(err))) : handler(req, res))
  }
}

function echo (req, res, client) {
  if (req.body !== undefined || req.readableDidRead) throw new Error('request body read')
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(client ?? res.locals.client))
}

test('requireScope and protect answer as RFC 6750 says', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  const v = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url, maxTokenBytes: 4096 })
  const protectBase = await listen(v.protect('mobileTests', echo))
  const expressBase = await listen(chain(v.requireScope('mobileTests'), (req, res) => {
    assert.deepEqual(req.client, res.locals.client)
    echo(req, res)
  }))
  const iat = Math.floor(Date.now() / 1000)
  const good = await is.mint({ userId: 'alice', deviceId: 'd-1', iat })
  const jti = JSON.parse(Buffer.from(good.split('.')[1], 'base64url')).jti
  const alice = {
    applicationId: 'BankApp', userId: 'alice', deviceId: 'd-1', scope: 'mobileTests', subject: 'alice', audience: '', tokenId: jti,
    issuedAt: new Date(iat * 1000).toISOString(), expiresAt: new Date((iat + 60) * 1000).toISOString()
  }
  const noToken = 'Bearer scope="mobileTests"'
  const msgNoTok = 'This resource needs an access token: send it as Authorization: Bearer <token>'
  const invalid = 'Bearer scope="mobileTests", error="invalid_token", error_description="The access token is invalid"'
  const badReq = 'Bearer scope="mobileTests", error="invalid_request", error_description="The Authorization header is malformed"'
  const msgBad = 'The Authorization header is malformed'
  const refusal = (status, wwwAuthenticate, error, message) => ({ status, wwwAuthenticate, retryAfter: '', error, message })
  const ok = { status: 200, wwwAuthenticate: '', retryAfter: '', client: alice }
  const cases = [
    ['good', ['Bearer ' + good], ok],
    ['scheme in lower case, spaces around', ['bearer   ' + good + ' '], ok],
    ['no Authorization', [], refusal(401, noToken, 'missing_token', msgNoTok)],
    ['empty Authorization', [''], refusal(401, noToken, 'missing_token', msgNoTok)],
    ['another scheme', ['Basic YWxpY2U6cHc='], refusal(401, noToken, 'missing_token', msgNoTok)],
    ['Bearer alone', ['Bearer'], refusal(400, 'Bearer scope="mobileTests", error="invalid_request", error_description="The Bearer token is empty"', 'invalid_request', 'The Bearer token is empty')],
    ['two tokens', ['Bearer ' + good + ' ' + good], refusal(400, badReq, 'invalid_request', msgBad)],
    ['a quote', [`Bearer "${good}"`], refusal(400, badReq, 'invalid_request', msgBad)],
    ['a tab after the scheme', ['Bearer\t' + good], refusal(400, badReq, 'invalid_request', msgBad)],
    ['a scheme that is no token', ['Bea:rer ' + good], refusal(400, badReq, 'invalid_request', msgBad)],
    ['only padding', ['Bearer ==='], refusal(400, badReq, 'invalid_request', msgBad)],
    ['two headers', ['Bearer ' + good, 'Bearer ' + good], refusal(400, 'Bearer scope="mobileTests", error="invalid_request", error_description="The request has more than one Authorization header"', 'invalid_request', 'The request has more than one Authorization header')],
    ['too long', ['Bearer ' + 'A'.repeat(4097)], refusal(400, 'Bearer scope="mobileTests", error="invalid_request", error_description="The Bearer token is too long"', 'invalid_request', 'The Bearer token is too long')],
    ['b64token but no JWS', ['Bearer abc+/=='], refusal(401, invalid, 'invalid_token', 'The access token is invalid')],
    ['tampered', ['Bearer ' + await is.mint({}, b.tamperedSignature)], refusal(401, invalid, 'invalid_token', 'The access token is invalid')],
    ['alg none', ['Bearer ' + await is.mint({}, b.algNone)], refusal(401, invalid, 'invalid_token', 'The access token is invalid')],
    ['expired', ['Bearer ' + await is.mint({}, b.expired)], refusal(401, 'Bearer scope="mobileTests", error="invalid_token", error_description="The access token expired"', 'invalid_token', 'The access token expired')],
    ['not yet valid', ['Bearer ' + await is.mint({}, b.notYetValid)], refusal(401, 'Bearer scope="mobileTests", error="invalid_token", error_description="The access token is not valid yet"', 'invalid_token', 'The access token is not valid yet')],
    ['wrong scope', ['Bearer ' + await is.mint({ scope: 'webTests' })], refusal(403, 'Bearer scope="mobileTests", error="insufficient_scope"', 'insufficient_scope', 'The access token does not grant the scope this resource requires')]
  ]
  for (const [name, auth, want] of cases) {
    for (const base of [protectBase, expressBase]) {
      assert.deepEqual(await get(base, '/accounts', auth), want, `${name} (${base === protectBase ? 'protect' : 'requireScope'})`)
    }
  }
})

test('issuer unreachable: 503 with Retry-After', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  is.down = true
  const v = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url })
  const base = await listen(v.protect('mobileTests', echo))
  assert.deepEqual(await get(base, '/', ['Bearer ' + await is.mint()]), {
    status: 503, wwwAuthenticate: '', retryAfter: '10', error: 'keys_unavailable', message: 'Access tokens cannot be checked now: try again later'
  })
})

test('scopes needing escapes, and UTF-8, reach the header as the Go package sends them', async () => {
  const is = await Issuer.start()
  after(() => is.close())
  const v = createValidator({ jwksUrl: is.jwksUrl, issuer: is.url })
  const base = await listen(v.protect('a"b\\c\nd é', echo))
  const res = await new Promise(resolve => http.get(base, resolve))
  res.resume()
  // node:http reads header bytes as latin1: the two bytes of é arrive as two characters.
  assert.equal(res.headers['www-authenticate'], 'Bearer scope="a\\"b\\\\c?d \u00c3\u00a9"')
})

test('wwwAuthenticate', () => {
  for (const [scope, code, desc, want] of [
    ['', '', '', 'Bearer'],
    ['mobileTests', '', '', 'Bearer scope="mobileTests"'],
    ['', 'invalid_token', '', 'Bearer error="invalid_token"'],
    ['a b', 'invalid_token', 'say "hi"', 'Bearer scope="a b", error="invalid_token", error_description="say \\"hi\\""'],
    ['\x00\r\n\x7f', '', '', 'Bearer scope="????"']
  ]) {
    assert.equal(wwwAuthenticate(scope, code, desc), want)
  }
})

test('bearerToken', () => {
  assert.equal(bearerToken(['Bearer abc']), 'abc')
  assert.equal(bearerToken(['BEARER   abc==']), 'abc==')
  for (const [values, kind] of [
    [[], 'no_token'], [['Basic x'], 'no_token'], [['Bearer'], 'empty'], [['Bearer a', 'Bearer b'], 'multiple'],
    [['Bearer a b'], 'malformed'], [['Bearer ' + 'a'.repeat(9000)], 'long']
  ]) {
    assert.throws(() => bearerToken(values), e => e.kind === kind, JSON.stringify(values).slice(0, 40))
  }
})
