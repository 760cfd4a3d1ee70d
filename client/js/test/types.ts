// Compiled by tsc --noEmit (never run): the README's usage typed against index.d.ts.
import { FileKeyStore } from '@realmgate/client/node';
import { RealmgateClient, LoginHandler, MemoryKeyStore, adapterLoginHandler, RealmgateError, type AccessToken, type Challenge, type KeyStore } from '@realmgate/client';

export async function example(baseURL: string): Promise<AccessToken | null> {
  const client = new RealmgateClient({ baseURL, appId: 'webapp', environment: 'desktopbrowser', appVersion: '1.0', keyStore: new MemoryKeyStore() });
  client.registerChallengeHandler('formRealm', new LoginHandler({ ask: async (p) => ({ username: p.realm, password: 'x' }) }));
  client.registerChallengeHandler('adapterRealm', adapterLoginHandler(async (ch: Challenge) => [ch.realm, 'secret']));
  client.registerChallengeHandler('headerRealm', async (ch) => ({ headers: { [String(ch.payload.header)]: 'carol' } }));
  client.registerChallengeHandler('DeviceProvisioning', client.provisioningHandler());
  try {
    await client.init();
  } catch (e) {
    if (e instanceof RealmgateError && e.applicationDisabled) return null;
    throw e;
  }
  const onDisk: KeyStore = new FileKeyStore('/tmp/keys.json');
  void onDisk;
  const echoed = await client.invokeProcedure<{ user: string }>('acct', 'echo', [1]);
  echoed.user.toUpperCase();
  const resp: Response = await client.callResource(new URL('/balance', baseURL), { method: 'GET' }, 'formTest');
  void resp;
  await client.obtainAccessToken('formTest');
  return client.getLastAccessToken();
}
