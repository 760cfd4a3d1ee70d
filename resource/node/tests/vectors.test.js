// Vectors written by the Go package's tests (resource/node_test.go): tokens minted by its test
// issuer or by a real hostd, each with the Go validator's verdict and the Go middleware's HTTP
// answer. This package must agree with both, to the byte. REALMGATE_RESOURCE_VECTORS names the
// files (separated as PATH is); without it the test is skipped.
import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import path from 'node:path'
import { readFileSync } from 'node:fs'
import { createValidator, TokenError } from '../src/index.js'

const files = (process.env.REALMGATE_RESOURCE_VECTORS ?? '').split(path.delimiter).filter(Boolean)

if (files.length === 0) {
  test('vectors of the Go package', { skip: 'REALMGATE_RESOURCE_VECTORS is not set' }, () => {})
}

async function listen (handler) {
  const srv = http.createServer(handler)
  await new Promise(resolve => srv.listen(0, '127.0.0.1', resolve))
  after(() => { srv.closeAllConnections(); srv.close() })
  return `http://127.0.0.1:${srv.address().port}`
}

function get (url, auth) {
  return new Promise((resolve, reject) => {
    const headers = auth.length ? { authorization: auth.length === 1 ? auth[0] : auth } : {}
    http.get(url, { headers }, res => {
      const chunks = []
      res.on('data', d => chunks.push(d))
      res.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        // Header bytes exactly: node:http gives them as latin1 characters.
        const www = Buffer.from(res.headers['www-authenticate'] ?? '', 'latin1').toString('base64')
        resolve({ status: res.statusCode, wwwAuthenticate: www, error: body.error ?? '', message: body.message ?? '' })
      })
    }).on('error', reject)
  })
}

const iso = d => d ? d.toISOString() : ''

for (const file of files) {
  const vf = JSON.parse(readFileSync(file, 'utf8'))
  for (const [source, opts] of Object.entries({ jwksUrl: { jwksUrl: vf.jwksUrl }, jwks: { jwks: vf.jwks } })) {
    describe(`${path.basename(file)} (${source})`, async () => {
      const v = createValidator({ ...opts, issuer: vf.issuer, audience: vf.audience ?? '' })
      const base = await listen((req, res) => {
        const scope = new URL(req.url, 'http://x').searchParams.get('scope') ?? ''
        v.protect(scope, (req, res, c) => {
          res.setHeader('content-type', 'application/json')
          res.end('{}')
        })(req, res)
      })
      for (const c of vf.cases) {
        test(c.name, async () => {
          if (c.token !== undefined) {
            let got = 'ok'
            let client
            try {
              client = await v.validate(c.token, { scope: c.scope })
            } catch (err) {
              if (!(err instanceof TokenError)) throw err
              got = err.code
            }
            assert.equal(got, c.want)
            if (c.client) {
              assert.deepEqual({ ...client, issuedAt: iso(client.issuedAt), expiresAt: iso(client.expiresAt) }, c.client)
            }
          }
          const answer = await get(`${base}/?scope=${encodeURIComponent(c.scope)}`, c.authorization ?? [])
          assert.deepEqual(answer, c.http)
        })
      }
    })
  }
}
