// Unit tests of the SDK's parts that need no daemon: the Bearer challenge parser, the cookie
// jar, the order realms are answered in, the CSR and the signed payloads (checked with the
// libraries that verify them), the key stores and the error values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata'; // before @peculiar/x509, as the SDK does
import * as x509 from '@peculiar/x509';
import { compactVerify, importJWK, decodeProtectedHeader, calculateJwkThumbprint } from 'jose';
import {
  parseBearerChallenge,
  requiredAccessTokenScope,
  CookieJar,
  orderRealms,
  buildCSR,
  subjectName,
  keyThumbprint,
  MemoryKeyStore,
  RealmgateError,
  RealmgateClient,
  ProvisioningHandler,
  adapterLoginHandler,
} from '../src/index.js';

test('Bearer challenges', () => {
  const cases = [
    ['Bearer scope="formTest", error="invalid_token"', { scope: 'formTest', error: 'invalid_token' }],
    ['bearer scope=formTest', { scope: 'formTest' }],
    ['Bearer scope="a\\"b"', { scope: 'a"b' }],
    ['Bearer', {}],
    ['Basic realm="x"', null],
    ['Bearer scope="unterminated', null],
    ['Bearer =x', null],
    ['Bearer a=b c=d', { a: 'b c=d' }], // as the Go client reads it; a scope with a space is refused later
    ['Bearer ' + 'a'.repeat(5000), null],
  ];
  for (const [h, want] of cases) assert.deepEqual(parseBearerChallenge(h), want, h);
});

test('the scope a resource server asks for', () => {
  assert.equal(requiredAccessTokenScope(401, 'Bearer scope="formTest"'), 'formTest');
  assert.equal(requiredAccessTokenScope(403, 'Bearer scope="formTest", error="insufficient_scope"'), 'formTest');
  assert.equal(requiredAccessTokenScope(403, 'Bearer scope="formTest", error="invalid_token"'), null, 'a refusal for another reason');
  assert.equal(requiredAccessTokenScope(401, 'Bearer scope="a b"'), null, 'two scopes');
  assert.equal(requiredAccessTokenScope(200, 'Bearer scope="formTest"'), null);
  assert.equal(requiredAccessTokenScope(401, null), null);
});

test('the cookie jar keeps, replaces and expires cookies', () => {
  const jar = new CookieJar();
  const h = new Headers();
  h.append('Set-Cookie', 'WL_SESSION=abc; Path=/; HttpOnly; SameSite=Strict');
  h.append('Set-Cookie', 'WL_PERSISTENT_COOKIE=u-1; Max-Age=31536000; Path=/');
  jar.take(h);
  assert.equal(jar.header(), 'WL_SESSION=abc; WL_PERSISTENT_COOKIE=u-1');
  const rotate = new Headers();
  rotate.append('Set-Cookie', 'WL_SESSION=def; Path=/');
  jar.take(rotate);
  assert.equal(jar.get('WL_SESSION'), 'def');
  const end = new Headers();
  end.append('Set-Cookie', 'WL_SESSION=; Max-Age=0; Path=/');
  end.append('Set-Cookie', 'WL_PERSISTENT_COOKIE=u-1; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  jar.take(end);
  assert.equal(jar.header(), '');
});

test('realms are answered anti-XSRF, remote disable, authenticity, device, then by name', () => {
  const got = orderRealms({
    zRealm: {},
    aRealm: {},
    CustomProvisioning: { token: 't', entity: 'application' },
    wl_authenticityRealm: { token: 't' },
    wl_remoteDisableRealm: { action: 'notify' },
    wl_antiXSRFRealm: { 'WL-Instance-Id': 'x' },
  });
  assert.deepEqual(got, ['wl_antiXSRFRealm', 'wl_remoteDisableRealm', 'wl_authenticityRealm', 'CustomProvisioning', 'aRealm', 'zRealm']);
});

test('a CSR of the required subject and challenge password, signed by its key', async () => {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const name = subjectName('ann', { OU: 'Mobile', O: 'Example, Inc.' });
  const csr = new x509.Pkcs10CertificateRequest(await buildCSR(keys, name, { challengePassword: 's3cret' }));
  assert.equal(await csr.verify(), true);
  assert.equal(csr.subject, 'O=Example\\, Inc., OU=Mobile, CN=ann');
  assert.equal(csr.getAttribute('1.2.840.113549.1.9.7').password, 's3cret');
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  assert.deepEqual(new Uint8Array(csr.publicKey.rawData), spki);
  await assert.rejects(buildCSR(keys, name, { colour: 'blue' }), /colour/);
  assert.throws(() => subjectName('ann', { CN: 'other' }), /CN/);
  assert.throws(() => subjectName('ann', { Colour: 'blue' }), /Colour/);
  assert.throws(() => subjectName('', {}), /commonName/);
});

test('the provisioning answer: a CSR and a payload signed by its key with the jwk header', async () => {
  const h = new ProvisioningHandler({ keyStore: new MemoryKeyStore(), device: { id: 'dev-1', os: 'ios' }, app: { id: 'app', version: '1.0', environment: 'iphone' } });
  const a = await h.handleChallenge({ realm: 'R', round: 1, payload: { token: 'nonce-1', entity: 'application' }, error: '' });
  const { jwk, alg } = decodeProtectedHeader(a.body.payload);
  assert.equal(alg, 'ES256');
  assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kty', 'x', 'y'], 'the public key only');
  const { payload } = await compactVerify(a.body.payload, await importJWK(jwk, 'ES256'));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(payload)), {
    token: 'nonce-1',
    device: { id: 'dev-1', os: 'ios', model: '', displayName: '' },
    app: { id: 'app', version: '1.0', environment: 'iphone' },
  });
  const csr = new x509.Pkcs10CertificateRequest(a.body.csr);
  assert.equal(csr.subject, 'CN=dev-1');
  const csrJWK = await crypto.subtle.exportKey('jwk', await csr.publicKey.export());
  assert.equal(await calculateJwkThumbprint(csrJWK), await calculateJwkThumbprint(jwk), 'the CSR is for the key that signed');
  assert.equal(a.body.proof, undefined, 'nothing to prove without a certificate');
  await assert.rejects(h.handleChallenge({ realm: 'R', round: 1, payload: { token: 'n', entity: 'planet' }, error: '' }), /planet/);
});

test('the key thumbprint is RFC 7638', async () => {
  // The example key of RFC 7638 is RSA; the EC members go in the same lexicographic order.
  const jwk = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' };
  const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`));
  assert.equal(await keyThumbprint(key), Buffer.from(digest).toString('base64url'));
});

test('server errors are sanitised; only http(s) download links get through', () => {
  const e = new RealmgateError(403, { error: 'application_disabled', message: 'Update\u0000 now\u2028', downloadLink: 'javascript:alert(1)' });
  assert.equal(e.applicationDisabled, true);
  assert.equal(e.serverMessage, 'Update now');
  assert.equal(e.downloadLink, '');
  assert.equal(new RealmgateError(403, { error: 'Not A Code' }).code, '');
  assert.equal(new RealmgateError(403, { downloadLink: 'https://example.com/x' }).downloadLink, 'https://example.com/x');
});

test('the configuration is checked', () => {
  const ok = { baseURL: 'http://127.0.0.1:1', appId: 'a', environment: 'e', appVersion: '1' };
  assert.doesNotThrow(() => new RealmgateClient(ok));
  assert.throws(() => new RealmgateClient({ ...ok, baseURL: 'ftp://x' }), /baseURL/);
  assert.throws(() => new RealmgateClient({ ...ok, baseURL: 'http://u:p@x' }), /baseURL/);
  assert.throws(() => new RealmgateClient({ ...ok, appId: 'a\nb' }), /appId/);
  assert.throws(() => new RealmgateClient({ ...ok, device: {}, keyStore: new MemoryKeyStore() }), /device.id/);
});

test('a device whose certificate is refused provisions again with a proof signed by its old key', async () => {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const old = await crypto.subtle.generateKey(alg, false, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=dev-1',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys: old,
    signingAlgorithm: alg,
  });
  const ks = new MemoryKeyStore();
  await ks.store('application:app', { privateKey: old.privateKey, publicKey: old.publicKey, chain: [Buffer.from(cert.rawData).toString('base64')] });
  const h = new ProvisioningHandler({ keyStore: ks, device: { id: 'dev-1' }, app: { id: 'app', version: '1.0', environment: 'iphone' } });

  // With the stored certificate: a payload signed by it, its chain in x5c.
  const signed = await h.handleChallenge({ realm: 'R', round: 1, payload: { token: 'n-1', entity: 'application' }, error: '' });
  assert.deepEqual(Object.keys(signed.body), ['payload']);
  assert.deepEqual(decodeProtectedHeader(signed.body.payload).x5c, [Buffer.from(cert.rawData).toString('base64')]);
  await compactVerify(signed.body.payload, old.publicKey);

  // Refused ("enroll": true): a CSR of a new key, and the old key hands the device id over.
  const again = await h.handleChallenge({ realm: 'R', round: 2, payload: { token: 'n-2', entity: 'application', enroll: true }, error: '' });
  assert.ok(again.body.csr);
  assert.equal(await ks.load('application:app'), null, 'the refused certificate is dropped');
  const { payload } = await compactVerify(again.body.proof, old.publicKey);
  const claims = JSON.parse(new TextDecoder().decode(payload));
  const csr = new x509.Pkcs10CertificateRequest(again.body.csr);
  const newJWK = await crypto.subtle.exportKey('jwk', await csr.publicKey.export());
  assert.equal(claims.token, 'n-2');
  assert.equal(claims.device.id, 'dev-1');
  assert.equal(claims.newKey, await calculateJwkThumbprint({ kty: newJWK.kty, crv: newJWK.crv, x: newJWK.x, y: newJWK.y }));
});

test('replies are bounded; a 401 that is not a challenge is handed back', async (t) => {
  const { createServer } = await import('node:http');
  const big = JSON.stringify({ challenges: { r: { pad: 'x'.repeat(1 << 20) } } });
  const srv = createServer((req, res) => {
    if (req.url.startsWith('/big')) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(big);
    } else if (req.url.startsWith('/json')) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end('{"error":"unauthorized"}');
    } else if (req.url.startsWith('/many')) {
      const challenges = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`r${i}`, {}]));
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ challenges }));
    } else {
      res.writeHead(401, { 'Content-Type': 'text/html' });
      res.end('<p>sign in</p>');
    }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => {
    srv.closeAllConnections();
    srv.close();
  });
  const c = new RealmgateClient({ baseURL: `http://127.0.0.1:${srv.address().port}`, appId: 'a', environment: 'e', appVersion: '1' });
  await assert.rejects(c.request('/big'), /more than 1048576 bytes/);
  await assert.rejects(c.request('/many'), /over 64 realms/);
  const refusal = await c.request('/json');
  assert.deepEqual(await refusal.json(), { error: 'unauthorized' });
  const page = await c.request('/page');
  assert.equal(page.status, 401);
  assert.equal(await page.text(), '<p>sign in</p>');
});

test('an adapter-based login answers each step with its stepToken', async () => {
  const h = adapterLoginHandler(async (ch) => (ch.payload.authStep === 2 ? { procedure: 'submitAuthStep2', parameters: ['Lassie'] } : ['user', 'pw']));
  assert.deepEqual(await h.handleChallenge({ realm: 'r', payload: { authenticator: 'adapter', authStep: 1 } }), {
    body: { procedure: 'submitAuthentication', parameters: ['user', 'pw'] },
  });
  assert.deepEqual(await h.handleChallenge({ realm: 'r', payload: { authenticator: 'adapter', authStep: 2, question: 'Pet?', stepToken: 'n-2' } }), {
    body: { procedure: 'submitAuthStep2', parameters: ['Lassie'], stepToken: 'n-2' },
  });
});
