// @realmgate/client: the Realmgate challenge protocol for browsers and Node.js.

export {
  RealmgateClient,
  orderRealms,
  DefaultMaxRounds,
  MaxResponseBytes,
  RealmAntiXSRF,
  RealmRemoteDisable,
  RealmAuthenticity,
  RealmDeviceNoProvisioning,
  RealmDeviceAutoProvisioning,
  RealmUserCertificate,
  CookieSession,
  CookiePersistent,
} from './client.js';
export { LoginHandler, adapterLoginHandler, NotifyHandler, DeviceHandler, AuthenticityHandler } from './handlers.js';
export { ProvisioningHandler, UserCertificateHandler, userEntity, provisioningEntity, buildCSR, subjectName, keyThumbprint, leafOf } from './certs.js';
export { MemoryKeyStore, IndexedDBKeyStore } from './keystore.js';
export { parseBearerChallenge, requiredAccessTokenScope } from './tokens.js';
export { RealmgateError, RealmError, Codes } from './errors.js';
export { CookieJar } from './cookies.js';
