// The SDK's answers are the Go client's, wire for wire: each built-in handler's answer to each
// challenge shape of the Go client's golden file (client/testdata/answers.golden.json), and the
// scope read from each WWW-Authenticate header of the vectors the Go test writes with
// client.RequiredAccessTokenScope (REALMGATE_BEARER_VECTORS).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoginHandler, DeviceHandler, NotifyHandler, requiredAccessTokenScope } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));

const fixed = new LoginHandler({ credentials: { username: 'alice', password: 'secret' } });
const ask = new LoginHandler({ ask: async (p) => ({ username: `u-${p.authenticator}`, password: 'p' }) });
const device = new DeviceHandler({ id: 'dev-1', os: 'android', model: 'Pixel 9', displayName: 'Test phone' });
const notify = new NotifyHandler();

// The handlers and rounds of the Go test's cases (client/handlers_test.go), by name.
const cases = {
  form: [fixed, 1],
  'form retry asks': [ask, 2],
  'form retry fixed': [fixed, 2],
  'form after an earlier call': [fixed, 1],
  basic: [fixed, 1],
  'basic colon in user': [new LoginHandler({ credentials: { username: 'a:b' } }), 1],
  header: [fixed, 1],
  'header bad name': [fixed, 1],
  'adapter authenticator': [fixed, 1],
  'no authenticator': [fixed, 1],
  device: [device, 1],
  'device without token': [device, 1],
  notify: [notify, 1],
  'notify unknown action': [notify, 1],
};

function lowerKeys(h) {
  return Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]));
}

test("every built-in handler answers as the Go client's", async () => {
  const golden = JSON.parse(await readFile(join(here, '..', '..', 'testdata', 'answers.golden.json'), 'utf8'));
  assert.deepEqual(golden.map((g) => g.name).sort(), Object.keys(cases).sort(), 'the same cases');
  for (const g of golden) {
    const [handler, round] = cases[g.name];
    const payload = g.challenge;
    const ch = { realm: 'r', securityTest: 't', step: 1, round, payload, error: payload.error ?? '', remainingAttempts: payload.remainingAttempts };
    if (g.error) {
      await assert.rejects(handler.handleChallenge(ch), `${g.name}: Go refuses (${g.error})`);
      continue;
    }
    const a = await handler.handleChallenge(ch);
    assert.deepEqual(a.body, g.body, `${g.name}: body`);
    assert.deepEqual(lowerKeys(a.headers), lowerKeys(g.header), `${g.name}: headers`);
    assert.equal(!!a.skip, !!g.skip, `${g.name}: skip`);
  }
});

const vectors = process.env.REALMGATE_BEARER_VECTORS;

test("the scope of each WWW-Authenticate header is the Go client's", { skip: vectors ? false : 'no vectors: run go test ./client/js' }, async () => {
  const cases = JSON.parse(await readFile(vectors, 'utf8'));
  assert.ok(cases.length > 10000);
  let scopes = 0;
  for (const c of cases) {
    assert.equal(requiredAccessTokenScope(c.status, c.header), c.ok ? c.scope : null, `${c.status} ${JSON.stringify(c.header)}`);
    if (c.ok) scopes++;
  }
  assert.ok(scopes > 100, `only ${scopes} headers name a scope`);
});
