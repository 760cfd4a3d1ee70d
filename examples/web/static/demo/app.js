// The demo web app: the JavaScript client SDK walks the challenge protocol; the page only
// answers the form realm with what the user types, as a Worklight hybrid app's challenge handler
// showed its login form.
import { RealmgateClient, LoginHandler } from '@realmgate/client';

const $ = (id) => document.getElementById(id);

const client = new RealmgateClient({
  baseURL: window.location.origin, // hostd serves these pages and the API
  appId: 'WebDemo',
  environment: 'desktopbrowser',
  appVersion: '1.0.0',
});

// A login the user has not typed yet: the form's submit resolves it.
let pendingLogin = null;

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

function show(id, value) {
  $(id).textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

async function run(id, fn) {
  show(id, '…');
  try {
    show(id, await fn());
  } catch (err) {
    show(id, `${err.name}: ${err.message}`);
  }
}

$('balance').addEventListener('click', () => run('balance-result', () => client.invokeProcedure('Accounts', 'getBalance')));

$('statements').addEventListener('click', () => run('statements-result', async () => {
  // callResource reads the resource server's WWW-Authenticate: Bearer scope="webTests", obtains
  // a token of that scope (signing in first if the session has not passed it) and calls again.
  const response = await client.callResource($('resource-url').value, {}, 'webTests');
  const body = await response.json();
  const token = client.getLastAccessToken('webTests');
  return { status: response.status, body, tokenExpiresIn: token?.expiresIn ?? token?.expires_in };
}));

$('logout').addEventListener('click', async () => {
  await client.logout('WebLogin');
  show('balance-result', '');
  show('statements-result', '');
  $('status').textContent = 'Signed out.';
});
