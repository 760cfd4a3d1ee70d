// The demo web app: the JavaScript client SDK walks the challenge protocol; the page only
// answers the form realm with what the user types, as a Worklight hybrid app's challenge handler
// showed its login form. The device's key and the user's certificate key are non-extractable
// WebCrypto keys kept in IndexedDB, with their certificates, so a later visit (a new session)
// signs in with the certificate.
import { RealmgateClient, LoginHandler, IndexedDBKeyStore, userEntity, leafOf } from '@realmgate/client';

const $ = (id) => document.getElementById(id);

// The device id this browser presents, chosen once and kept: its provisioned certificate names it.
function deviceId() {
  let id = localStorage.getItem('realmgate-demo-device');
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem('realmgate-demo-device', id);
  }
  return id;
}

const keyStore = new IndexedDBKeyStore();
const client = new RealmgateClient({
  baseURL: window.location.origin, // hostd serves these pages and the API
  appId: 'WebDemo',
  environment: 'desktopbrowser',
  appVersion: '1.0.0',
  device: { id: deviceId(), os: 'web', model: navigator.userAgent.slice(0, 64) },
  keyStore, // registers the user-certificate handler
});
client.registerChallengeHandler('DeviceProvisioning', client.provisioningHandler());

// A login the user has not typed yet: the form's submit resolves it.
let pendingLogin = null;
let logins = 0;

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (pendingLogin) {
    pendingLogin({ username: $('username').value, password: $('password').value });
    pendingLogin = null;
  }
});

client.registerChallengeHandler('WebLogin', new LoginHandler({
  // Called for every attempt, with the server's error and the attempts left after a wrong one.
  ask: ({ error, remainingAttempts }) => new Promise((resolve) => {
    logins++;
    $('status').dataset.logins = String(logins);
    $('login-error').textContent = error ? `${error} (${remainingAttempts ?? '?'} attempts left)` : '';
    $('password').value = '';
    $('login-section').hidden = false;
    $('username').focus();
    pendingLogin = (creds) => {
      $('login-section').hidden = true;
      resolve(creds);
    };
  }),
}));

function show(id, value, state) {
  $(id).textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  if (state) $(id).dataset.state = state;
  else delete $(id).dataset.state;
}

// run shows fn's result in the element id, data-state="ok" or "error" once it is known.
async function run(id, fn) {
  show(id, '…');
  try {
    show(id, await fn(), 'ok');
  } catch (err) {
    show(id, `${err.name}: ${err.message}`, 'error');
  }
}

// What IndexedDB holds for entity: the certificate's subject and issuer and what the key allows.
async function stored(entity) {
  const cred = await keyStore.load(entity);
  if (!cred) return null;
  const cert = leafOf(cred);
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    notAfter: cert.notAfter.toISOString(),
    key: {
      type: cred.privateKey.type,
      algorithm: cred.privateKey.algorithm.name,
      extractable: cred.privateKey.extractable,
      // What the page's own script gets when it asks the browser for the key's bytes.
      exported: await crypto.subtle.exportKey('pkcs8', cred.privateKey).then(() => 'yes', (err) => `refused (${err.name})`),
    },
  };
}

$('balance').addEventListener('click', () => run('balance-result', () => client.invokeProcedure('Accounts', 'getBalance')));

$('device').addEventListener('click', () => run('device-result', async () => {
  const out = await client.invokeProcedure('Accounts', 'getDevice');
  return { ...out, certificate: await stored('application:WebDemo') };
}));

$('profile').addEventListener('click', () => run('profile-result', async () => {
  const out = await client.invokeProcedure('Accounts', 'getProfile');
  return { ...out, certificate: await stored(userEntity('wl_userCertificateAuthRealm')) };
}));

$('statements').addEventListener('click', () => run('statements-result', async () => {
  // callResource reads the resource server's WWW-Authenticate: Bearer scope="webTests", obtains
  // a token of that scope (signing in first if the session has not passed it) and calls again.
  const response = await client.callResource($('resource-url').value, {}, 'webTests');
  const body = await response.json();
  const token = client.getLastAccessToken('webTests');
  return { status: response.status, body, token: token && { scope: token.scope, expiresAt: token.expiresAt.toISOString() } };
}));

$('logout').addEventListener('click', async () => {
  await client.logout('WebLogin');
  for (const id of ['balance-result', 'device-result', 'profile-result', 'statements-result']) show(id, '');
  $('status').textContent = 'Signed out.';
});

// Forgetting the browser deletes the device's and the user's keys and certificates.
$('forget').addEventListener('click', async () => {
  await keyStore.delete('application:WebDemo');
  await keyStore.delete(userEntity('wl_userCertificateAuthRealm'));
  localStorage.removeItem('realmgate-demo-device');
  $('status').textContent = 'This browser forgot its device and user certificates.';
});

window.demoReady = true;
