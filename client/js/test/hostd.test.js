// Every realm type and flow of the SDK against the real daemon (testdata/web), which the Go test
// started: init with anti-XSRF, form, basic, header and adapter-based logins through async
// challenge handlers with the original request sent again, remote disable, the device identity,
// device provisioning, user-certificate enrollment and a later session signing in with it, and
// access tokens with the resource server's scope retry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RealmgateClient,
  LoginHandler,
  adapterLoginHandler,
  MemoryKeyStore,
  RealmgateError,
  RealmError,
  leafOf,
  userEntity,
} from '../src/index.js';
import { FileKeyStore } from '../src/node.js';
import { baseURL, needsDaemon, resourceURL, attestURL, setRules, certificates, revoke, recordingFetch } from './env.js';
import { createHash } from 'node:crypto';
import { mkdtemp, stat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const alice = { username: 'alice', password: 'secret' };
// Device ids of this run: the daemon keeps the devices it provisioned.
const run = crypto.randomUUID().slice(0, 8);

// The daemon's record of a credential's certificate.
async function recordOf(cred) {
  const serial = BigInt('0x' + leafOf(cred).serialNumber);
  return (await certificates()).find((c) => BigInt('0x' + c.serial) === serial);
}

function client(environment = 'desktopbrowser', extra = {}) {
  const c = new RealmgateClient({ baseURL, appId: 'webapp', environment, appVersion: '1.0', ...extra });
  // The project provisions through a realm of the provisioning authenticator.
  if (extra.keyStore && extra.device) c.registerChallengeHandler('DeviceProvisioning', c.provisioningHandler());
  return c;
}

// The anonymous user's id for a WL_PERSISTENT_COOKIE, as the daemon derives it (a version 8
// UUID from SHA-256 over a fixed label and the cookie): the cookie itself is a secret.
function anonymousUserID(cookie) {
  const b = createHash('sha256').update('realmgate wl_anonymousUserRealm user id v1\0').update(cookie).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// A handler that records the challenges it answered.
function formHandler(seen, creds = alice) {
  return async (ch) => {
    seen.push({ realm: ch.realm, round: ch.round, error: ch.error, authenticator: ch.payload.authenticator });
    return { body: { username: creds.username, password: creds.password } };
  };
}

test('init answers the anti-XSRF challenge and sends WL-Instance-Id from then on', needsDaemon, async () => {
  const log = [];
  const c = client('desktopbrowser', { fetch: recordingFetch(log) });
  const out = await c.init();
  assert.equal(out.app, 'webapp');
  assert.equal(out.securityTest, 'initTest');
  assert.ok(out.user?.userId, 'the anonymous user');
  assert.ok(c.persistentCookie, 'WL_PERSISTENT_COOKIE kept');
  const inits = log.filter((r) => r.path.endsWith('/init'));
  assert.equal(inits.length, 2, 'the challenge, then the request sent again');
  assert.equal(inits[0].headers.get('WL-Instance-Id'), null);
  assert.ok(inits[1].headers.get('WL-Instance-Id'));
  for (const r of log) {
    assert.equal(r.headers.get('WL-App-Id'), 'webapp');
    assert.equal(r.headers.get('WL-App-Environment'), 'desktopbrowser');
    assert.equal(r.headers.get('WL-App-Version'), '1.0');
  }
  // A later request of the session is not challenged again.
  log.length = 0;
  await c.init();
  assert.equal(log.length, 1);
});

test('the anonymous user comes back with the persistent cookie of an earlier run', needsDaemon, async () => {
  const first = client();
  const user = (await first.init()).user.userId;
  assert.equal(user, anonymousUserID(first.persistentCookie), 'the id derived from the cookie');
  assert.notEqual(user, first.persistentCookie, 'the cookie is not the id');
  const again = client('desktopbrowser', { persistentCookie: first.persistentCookie });
  assert.equal((await again.init()).user.userId, user);
  assert.notEqual((await client().init()).user.userId, user, 'without it, another user');
});

test('form login through an async handler; the procedure call is sent again after it', needsDaemon, async () => {
  const log = [];
  const seen = [];
  const c = client('desktopbrowser', { fetch: recordingFetch(log) });
  c.registerChallengeHandler('formRealm', formHandler(seen));
  const out = await c.invokeProcedure('acct', 'echo', [1, 'two']);
  assert.deepEqual(out, { parameters: [1, 'two'], user: 'alice' });
  assert.deepEqual(seen, [{ realm: 'formRealm', round: 1, error: '', authenticator: 'form' }]);
  assert.equal(c.identities.formRealm.userId, 'alice');
  const session = await c.session();
  assert.equal(session.realms.formRealm.identity.userId, 'alice');
  assert.equal(session.user, null, "the environment's test names the anonymous user, not passed in this session");
  const calls = log.filter((r) => r.path === '/api/v1/adapters/acct/echo');
  assert.equal(calls.length, 3, 'step 1, step 2, then the resource');
  const answers = log.filter((r) => r.path === '/api/v1/auth/formRealm');
  assert.equal(answers.length, 1);
  assert.ok(answers[0].headers.get('WL-Instance-Id'), 'answers carry the anti-XSRF header');
  // Logged out, the realm challenges again.
  await c.logout('formRealm');
  await c.invokeProcedure('acct', 'echo', []);
  assert.equal(seen.length, 2);
});

test('login(realm) starts a login without a protected request, as WL.Client.login did', needsDaemon, async () => {
  const log = [];
  const seen = [];
  const c = client('desktopbrowser', { fetch: recordingFetch(log) });
  c.registerChallengeHandler('formRealm', formHandler(seen));
  const identity = await c.login('formRealm');
  assert.equal(identity.userId, 'alice');
  assert.equal(c.identities.formRealm.userId, 'alice');
  assert.deepEqual(seen, [{ realm: 'formRealm', round: 1, error: '', authenticator: 'form' }]);
  const logins = log.filter((r) => r.path === '/api/v1/login/formRealm');
  assert.equal(logins.length, 2, 'the challenge, then the login asked again');
  // Logged in: the identity at once, and the procedure the realm protects is served without a challenge.
  assert.equal((await c.login('formRealm')).userId, 'alice');
  assert.deepEqual(await c.invokeProcedure('acct', 'echo', []), { parameters: [], user: 'alice' });
  assert.equal(seen.length, 1);
  // Logged out, the login challenges again.
  await c.logout('formRealm');
  assert.equal((await c.login('formRealm')).userId, 'alice');
  assert.equal(seen.length, 2);
  // Realms that are not logged in to this way, and unknown ones.
  await assert.rejects(c.login('wl_anonymousUserRealm'), (e) => e instanceof RealmgateError && e.status === 403 && e.code === 'login_not_allowed' && e.serverMessage.length > 0);
  await assert.rejects(c.login('NoSuchRealm'), (e) => e instanceof RealmgateError && e.status === 404 && e.code === 'unknown_realm');
});

test('a wrong password is asked again with the server error and remaining attempts', needsDaemon, async () => {
  const prompts = [];
  const c = client();
  c.registerChallengeHandler(
    'formRealm',
    new LoginHandler({
      ask: async (p) => {
        prompts.push(p);
        return p.attempt === 1 ? { username: 'alice', password: 'wrong' } : alice;
      },
    }),
  );
  assert.deepEqual(await c.invokeProcedure('acct', 'echo', []), { parameters: [], user: 'alice' });
  assert.equal(prompts.length, 2);
  assert.equal(prompts[0].error, '');
  assert.ok(prompts[1].error, 'the server says why');
  assert.equal(prompts[1].remainingAttempts, 4);
});

test('fixed credentials that are rejected end the call', needsDaemon, async () => {
  const c = client();
  c.registerChallengeHandler('formRealm', new LoginHandler({ credentials: { username: 'alice', password: 'wrong' } }));
  await assert.rejects(c.invokeProcedure('acct', 'echo', []), (e) => e instanceof RealmError && e.code === 'credentials_rejected' && e.realm === 'formRealm');
});

test('basic login sends Authorization: Basic with the answer', needsDaemon, async () => {
  const log = [];
  const c = client('desktopbrowser', { fetch: recordingFetch(log) });
  c.registerChallengeHandler('basicRealm', new LoginHandler({ credentials: { username: 'bob', password: 'hunter2' } }));
  assert.deepEqual(await c.invokeProcedure('acct', 'basic', ['b']), { parameters: ['b'], user: 'bob' });
  const answer = log.find((r) => r.path === '/api/v1/auth/basicRealm');
  assert.equal(answer.headers.get('Authorization'), 'Basic ' + btoa('bob:hunter2'));
  assert.equal(log.filter((r) => r.path === '/api/v1/adapters/acct/basic' && r.headers.get('Authorization')).length, 0, 'never on the API request');
});

test('header login sets the header the challenge names', needsDaemon, async () => {
  const log = [];
  const c = client('desktopbrowser', { fetch: recordingFetch(log) });
  c.registerChallengeHandler('headerRealm', new LoginHandler({ credentials: { username: 'carol' } }));
  assert.deepEqual(await c.invokeProcedure('acct', 'header', []), { parameters: [], user: 'carol' });
  assert.equal(log.find((r) => r.path === '/api/v1/auth/headerRealm').headers.get('X-Remote-User'), 'carol');
});

test('adapter-based login: a wrong answer comes back with the adapter message', needsDaemon, async () => {
  const seen = [];
  const c = client();
  c.registerChallengeHandler(
    'adapterRealm',
    adapterLoginHandler(async (ch) => {
      seen.push({ round: ch.round, error: ch.error, loginForm: ch.payload.loginForm });
      return ch.round === 1 ? ['carol', 'nope'] : ['carol', 'carol-password'];
    }),
  );
  assert.deepEqual(await c.invokeProcedure('acct', 'secret', ['s']), { parameters: ['s'], user: 'carol' });
  assert.equal(seen.length, 2);
  assert.equal(seen[0].loginForm, 'username,password');
  assert.match(seen[1].error, /wrong password/);
  assert.equal(c.identities.adapterRealm.userId, 'carol');
});

test('a challenge of a realm without a handler is an error naming it', needsDaemon, async () => {
  const c = client();
  await assert.rejects(c.invokeProcedure('acct', 'secret', []), (e) => e instanceof RealmError && e.code === 'no_handler' && e.realm === 'adapterRealm');
});

test('remote disable: notify waits for the acknowledgement, block refuses every request', needsDaemon, async (t) => {
  t.after(() => setRules('desktopbrowser', []));
  await setRules('desktopbrowser', [{ versions: '<2.0.0', action: 'notify', message: 'Please update', messageId: 'm-1' }]);
  const notices = [];
  const c = client('desktopbrowser', { onNotify: async (n) => notices.push(n) });
  await c.init();
  assert.deepEqual(notices, [{ realm: 'wl_remoteDisableRealm', message: 'Please update', messageId: 'm-1' }]);

  // An application that does not acknowledge is not let through.
  const refuses = client('desktopbrowser', { onNotify: async () => { throw new Error('the user closed the app'); } });
  await assert.rejects(refuses.init(), (e) => e instanceof RealmError && e.realm === 'wl_remoteDisableRealm' && /closed the app/.test(e.message));

  await setRules('desktopbrowser', [{ versions: '<2.0.0', action: 'block', message: 'This version is retired', downloadLink: 'https://example.com/app' }]);
  const blocked = client();
  await assert.rejects(blocked.init(), (e) => {
    assert.ok(e instanceof RealmgateError);
    assert.equal(e.applicationDisabled, true);
    assert.equal(e.serverMessage, 'This version is retired');
    assert.equal(e.downloadLink, 'https://example.com/app');
    return true;
  });
  // A version outside the rule passes.
  await client('desktopbrowser', { appVersion: '2.0.0' }).init();
});

test('device identity without provisioning', needsDaemon, async () => {
  const c = client('ipad', { device: { id: 'dev-node-1', os: 'ios', model: 'iPad', displayName: 'Test tablet' } });
  const out = await c.init();
  assert.equal(out.device.id, 'dev-node-1');
  assert.equal(c.identities.wl_deviceNoProvisioningRealm.id, 'dev-node-1');
});

test('device provisioning: a P-256 key, a CSR, the issued certificate; a later session signs in with it', needsDaemon, async () => {
  const ks = new MemoryKeyStore();
  const device = { id: `dev-node-prov-${run}`, os: 'ios', model: 'iPhone' };
  const first = client('iphone', { device, keyStore: ks });
  const out = await first.init();
  assert.equal(out.device.id, `dev-node-prov-${run}`);
  const cred = await ks.load('application:webapp');
  assert.ok(cred, 'the credential is stored for the entity');
  assert.equal(cred.privateKey.extractable, false, 'the key never leaves WebCrypto');
  assert.match(leafOf(cred).subject, new RegExp(`CN=dev-node-prov-${run}`));
  const issued = await recordOf(cred);
  assert.equal(issued.entity, 'application:webapp');

  // A new session (a new client, the same key store) signs in without a CSR.
  const log = [];
  const later = client('iphone', { device, keyStore: ks, fetch: recordingFetch(log) });
  const called = await later.invokeProcedure('acct', 'device', ['d']);
  assert.deepEqual(called.parameters, ['d']);
  assert.equal(called.device, `dev-node-prov-${run}`);
  assert.equal(log.filter((r) => r.path === '/api/v1/auth/DeviceProvisioning').length, 1, 'one signed payload, no CSR');

  // Revoked, the certificate is dropped and the device provisions again.
  await revoke(issued.serial);
  const again = client('iphone', { device, keyStore: ks });
  await again.init();
  const renewed = await ks.load('application:webapp');
  assert.notEqual(renewed.chain[0], cred.chain[0]);
});

// What a hybrid app's native layer gives: the Android Keystore's attestation of the challenge.
async function attestation(challenge) {
  const resp = await fetch(`${attestURL}/attest?challenge=${encodeURIComponent(challenge)}`);
  assert.equal(resp.status, 200);
  return resp.json();
}

test('app authenticity, then the built-in provisioning realm', needsDaemon, async () => {
  const ks = new MemoryKeyStore();
  const device = { id: `dev-node-android-${run}`, os: 'android', model: 'Pixel' };
  const challenges = [];
  const c = client('android', {
    device,
    keyStore: ks,
    attestation: async (token) => {
      challenges.push(token);
      return attestation(token);
    },
  });
  const out = await c.init();
  assert.equal(out.device.id, device.id);
  assert.equal(challenges.length, 1);
  assert.ok(c.identities.wl_authenticityRealm !== undefined, 'authenticity passed');
  const cred = await ks.load('application:webapp');
  assert.equal((await recordOf(cred)).realm, 'wl_deviceAutoProvisioningRealm');

  // An attestation of another challenge (a replay) is refused.
  const replay = client('android', { device: { id: `dev-node-replay-${run}` }, keyStore: new MemoryKeyStore(), attestation: async () => attestation('an old challenge') });
  await assert.rejects(replay.init(), (e) => e.code === 'authenticity_refused' || e.cause?.code === 'authenticity_refused');
});

test('an MDM activation code travels with the CSR', needsDaemon, async () => {
  const asked = [];
  const mdm = (code) => {
    const c = client('desktopbrowser', {
      device: { id: `dev-node-mdm-${code}-${run}`, os: 'ios' },
      keyStore: new MemoryKeyStore(),
      activationCode: async (realm) => {
        asked.push(realm);
        return code;
      },
    });
    c.registerChallengeHandler('MDMRealm', c.provisioningHandler());
    return c;
  };
  await assert.rejects(mdm('B-2').invokeProcedure('acct', 'mdm', []), (e) => e.realm === 'MDMRealm');
  const out = await mdm('A-1').invokeProcedure('acct', 'mdm', ['m']);
  assert.equal(out.device, `dev-node-mdm-A-1-${run}`);
  assert.ok(asked.every((r) => r === 'MDMRealm') && asked.length >= 2);
});

test('device provisioning with a file key store, kept between runs', needsDaemon, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'realmgate-ks-'));
  t.after(() => rm(dir, { recursive: true }));
  const path = join(dir, 'keys.json');
  const device = { id: `dev-node-file-${run}`, os: 'ios' };
  await client('iphone', { device, keyStore: new FileKeyStore(path) }).init();
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const log = [];
  await client('iphone', { device, keyStore: new FileKeyStore(path), fetch: recordingFetch(log) }).init();
  assert.equal(log.filter((r) => r.path === '/api/v1/auth/DeviceProvisioning').length, 1, 'signed in with the stored key');
});

test('user certificate: enrollment after the dependent form login, then a later session signs in with it', needsDaemon, async () => {
  const ks = new MemoryKeyStore();
  const seen = [];
  const first = client('desktopbrowser', { keyStore: ks });
  first.registerChallengeHandler('formRealm', formHandler(seen));
  assert.deepEqual(await first.invokeProcedure('acct', 'user', ['u']), { parameters: ['u'], user: 'alice' });
  assert.equal(seen.length, 1, 'the dependent realm was answered');
  const cred = await ks.load(userEntity('wl_userCertificateAuthRealm'));
  assert.ok(cred);
  assert.match(leafOf(cred).subject, /CN=alice/);
  assert.equal(cred.privateKey.extractable, false);

  // A later session signs in with the certificate alone: nobody is asked for a password.
  const later = client('desktopbrowser', { keyStore: ks });
  later.registerChallengeHandler('formRealm', async () => assert.fail('the password was asked again'));
  assert.deepEqual(await later.invokeProcedure('acct', 'user', []), { parameters: [], user: 'alice' });
  assert.equal(later.identities.wl_userCertificateAuthRealm.userId, 'alice');

  // Revoked, the certificate is refused and the user enrolls again.
  await revoke((await recordOf(cred)).serial);
  const after = client('desktopbrowser', { keyStore: ks });
  after.registerChallengeHandler('formRealm', formHandler(seen));
  await after.invokeProcedure('acct', 'user', []);
  assert.equal(seen.length, 2, 'back to the dependent login and enrollment');
  assert.notEqual((await ks.load(userEntity('wl_userCertificateAuthRealm'))).chain[0], cred.chain[0]);
});

test('access tokens: obtainAccessToken, getLastAccessToken and callResource with the scope retry', needsDaemon, async () => {
  const seen = [];
  const c = client();
  c.registerChallengeHandler('formRealm', formHandler(seen));
  assert.equal(c.getLastAccessToken(), null);

  // No token yet: the resource server names its scope, the client obtains a token for it
  // (answering the scope's challenges) and calls again.
  const log = [];
  const resp = await c.callResource(`${resourceURL}/balance`);
  assert.equal(resp.status, 200);
  assert.deepEqual(await resp.json(), { user: 'alice', scope: 'formTest' });
  assert.equal(seen.length, 1);
  const tok = c.getLastAccessToken('formTest');
  assert.ok(tok);
  assert.equal(c.getLastAccessToken(), tok);
  assert.equal(tok.scope, 'formTest');
  assert.ok(tok.expiresAt > new Date());

  // With the hint, the stored token goes at once.
  const direct = await c.callResource(`${resourceURL}/balance`, {}, 'formTest');
  assert.equal(direct.status, 200);
  assert.equal(c.getLastAccessToken('formTest'), tok, 'no new token');

  // An explicit token, then a token of another scope is refused by the resource server and
  // the client obtains the right one.
  const init = await c.obtainAccessToken('initTest');
  assert.equal(c.getLastAccessToken(), init);
  const retried = await c.callResource(`${resourceURL}/balance`, {}, 'initTest');
  assert.equal(retried.status, 200);
  assert.notEqual(c.getLastAccessToken('formTest'), tok);
  void log;
});

test('concurrent calls share one settlement', needsDaemon, async () => {
  const seen = [];
  const c = client();
  c.registerChallengeHandler('formRealm', formHandler(seen));
  const outs = await Promise.all([1, 2, 3, 4].map((i) => c.invokeProcedure('acct', 'echo', [i])));
  assert.deepEqual(outs.map((o) => o.parameters[0]), [1, 2, 3, 4]);
  assert.equal(seen.length, 1, 'the user logged in once');
});
