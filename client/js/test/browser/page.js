// The page of the browser suite: the SDK as a web app uses it, bundled by the test (esbuild)
// into the daemon's static folder. The test calls the flows with page.evaluate.

import { RealmgateClient, LoginHandler, IndexedDBKeyStore, adapterLoginHandler, RealmgateError, userEntity, leafOf } from '../../src/index.js';

const log = (line) => {
  document.getElementById('log').textContent += line + '\n';
};

function newClient(keyStore, prompts) {
  const client = new RealmgateClient({
    baseURL: location.origin,
    appId: 'webapp',
    environment: 'desktopbrowser',
    appVersion: '1.0',
    device: { id: `browser-${crypto.randomUUID().slice(0, 8)}`, os: 'web', model: navigator.userAgent.slice(0, 64) },
    keyStore,
  });
  client.registerChallengeHandler(
    'formRealm',
    new LoginHandler({
      ask: async (p) => {
        prompts.push(p.realm);
        log(`login asked by ${p.realm}`);
        return { username: 'alice', password: 'secret' };
      },
    }),
  );
  client.registerChallengeHandler('DeviceProvisioning', client.provisioningHandler());
  return client;
}

// The first visit: form login and a protected procedure, provisioning with a WebCrypto key kept
// in IndexedDB, user-certificate enrollment, a token and the resource server.
window.firstVisit = async ({ resourceURL }) => {
  const prompts = [];
  const keyStore = new IndexedDBKeyStore();
  const client = newClient(keyStore, prompts);
  const init = await client.init();
  const echo = await client.invokeProcedure('acct', 'echo', ['from the browser']);
  log(`echo as ${echo.user}`);
  const device = await client.invokeProcedure('acct', 'device', []);
  log(`device ${device.device}`);
  const user = await client.invokeProcedure('acct', 'user', []);
  log(`user certificate of ${user.user}`);
  const resp = await client.callResource(`${resourceURL}/balance`);
  const balance = await resp.json();
  log(`resource server: ${resp.status} ${JSON.stringify(balance)}`);

  // What IndexedDB holds, read back by a new store object.
  const stored = new IndexedDBKeyStore();
  const deviceCred = await stored.load('application:webapp');
  const userCred = await stored.load(userEntity('wl_userCertificateAuthRealm'));
  return {
    initApp: init.app,
    echoUser: echo.user,
    device: device.device,
    certUser: user.user,
    resourceStatus: resp.status,
    balance,
    token: client.getLastAccessToken('formTest')?.scope ?? null,
    prompts,
    deviceKey: { type: deviceCred.privateKey.type, extractable: deviceCred.privateKey.extractable, algorithm: deviceCred.privateKey.algorithm },
    deviceSubject: leafOf(deviceCred).subject,
    userSubject: leafOf(userCred).subject,
    userKeyExtractable: userCred.privateKey.extractable,
    exportRefused: await crypto.subtle.exportKey('pkcs8', deviceCred.privateKey).then(() => false, () => true),
  };
};

// A later visit (a new page load, a new session): the stored user certificate signs in without a
// password.
window.laterVisit = async () => {
  const prompts = [];
  const client = newClient(new IndexedDBKeyStore(), prompts);
  const user = await client.invokeProcedure('acct', 'user', ['again']);
  return { certUser: user.user, prompts, identity: client.identities.wl_userCertificateAuthRealm?.userId ?? null };
};

// The other realm types with the browser's fetch: basic, header and adapter-based logins, a
// remote-disable notice acknowledged, and a blocked version.
window.otherRealms = async () => {
  const notices = [];
  const client = new RealmgateClient({
    baseURL: location.origin,
    appId: 'webapp',
    environment: 'desktopbrowser',
    appVersion: '1.0',
    onNotify: async (n) => notices.push(n.messageId),
  });
  client.registerChallengeHandler('basicRealm', new LoginHandler({ credentials: { username: 'bob', password: 'hunter2' } }));
  client.registerChallengeHandler('headerRealm', new LoginHandler({ credentials: { username: 'carol' } }));
  client.registerChallengeHandler('adapterRealm', adapterLoginHandler(async () => ['carol', 'carol-password']));
  await client.init();
  const out = {
    notices,
    basic: (await client.invokeProcedure('acct', 'basic', [])).user,
  };
  // One user per session: the header and adapter realms log carol in, in sessions of their own.
  const second = new RealmgateClient({ baseURL: location.origin, appId: 'webapp', environment: 'desktopbrowser', appVersion: '2.0' });
  second.registerChallengeHandler('headerRealm', new LoginHandler({ credentials: { username: 'carol' } }));
  second.registerChallengeHandler('adapterRealm', adapterLoginHandler(async () => ['carol', 'carol-password']));
  out.header = (await second.invokeProcedure('acct', 'header', [])).user;
  out.adapter = (await second.invokeProcedure('acct', 'secret', [])).user;
  return out;
};

window.blocked = async () => {
  const client = new RealmgateClient({ baseURL: location.origin, appId: 'webapp', environment: 'desktopbrowser', appVersion: '1.0' });
  try {
    await client.init();
    return { blocked: false };
  } catch (e) {
    return { blocked: e instanceof RealmgateError && e.applicationDisabled, message: e.serverMessage };
  }
};

window.pageReady = true;
