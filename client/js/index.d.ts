// Types of @realmgate/client (hand-written; src/ is the implementation).

/** The device as realms that identify it describe it. */
export interface DeviceInfo {
  id: string;
  os?: string;
  model?: string;
  displayName?: string;
}

/** A challenge for one realm. */
export interface Challenge {
  realm: string;
  /** The test and step that drew the challenge; empty and 0 in a reply to an answer. */
  securityTest: string;
  step: number;
  /** How often the realm has been consulted in this call: 1 first, more after wrong answers. */
  round: number;
  /** The realm's challenge object as the server sent it. */
  payload: Record<string, any>;
  /** The server's message about the previous answer, empty on a first challenge. */
  error: string;
  remainingAttempts?: number;
}

/** A 200 reply to an answer whose status is not "success" (multi-round realms). */
export interface Status {
  realm: string;
  status: string;
  round: number;
  body: Record<string, any>;
}

/** What a handler sends: POST /api/v1/auth/{realm} with body as JSON and headers added. */
export interface Answer {
  body?: unknown;
  headers?: Record<string, string>;
  /** Nothing is sent: the handler settled the challenge locally. */
  skip?: boolean;
}

export interface ChallengeHandler {
  handleChallenge(challenge: Challenge): Promise<Answer | null | undefined>;
  handleStatus?(status: Status): Promise<Answer | null | undefined>;
}

export type ChallengeHandlerFunction = (challenge: Challenge) => Promise<Answer | null | undefined>;

export interface Notice {
  realm: string;
  message: string;
  messageId: string;
}

/** A key pair (CryptoKey objects) and its certificate chain, base64 DER, the leaf first. */
export interface Credential {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  chain: string[];
}

export interface KeyStore {
  /** Whether keys must be extractable for this store (it writes them out). */
  readonly extractable: boolean;
  load(entity: string): Promise<Credential | null>;
  store(entity: string, credential: Credential): Promise<void>;
  delete(entity: string): Promise<void>;
}

export declare class MemoryKeyStore implements KeyStore {
  readonly extractable: false;
  load(entity: string): Promise<Credential | null>;
  store(entity: string, credential: Credential): Promise<void>;
  delete(entity: string): Promise<void>;
}

export declare class IndexedDBKeyStore implements KeyStore {
  constructor(options?: { database?: string; store?: string; indexedDB?: IDBFactory });
  readonly extractable: false;
  load(entity: string): Promise<Credential | null>;
  store(entity: string, credential: Credential): Promise<void>;
  delete(entity: string): Promise<void>;
}

export interface ClientConfig {
  baseURL: string;
  appId: string;
  environment: string;
  appVersion: string;
  device?: DeviceInfo;
  keyStore?: KeyStore;
  onNotify?: (notice: Notice) => Promise<unknown> | unknown;
  activationCode?: (realm: string) => Promise<string> | string;
  /** Registers an AuthenticityHandler for wl_authenticityRealm. */
  attestation?: (token: string) => Promise<Attestation>;
  /** Node.js: the WL_PERSISTENT_COOKIE of an earlier run. */
  persistentCookie?: string;
  maxRounds?: number;
  fetch?: typeof fetch;
  cookieJar?: CookieJar | null;
}

export interface AccessToken {
  scope: string;
  value: string;
  expiresAt: Date;
}

export interface InitResult {
  app: string;
  env: string;
  securityTest: string;
  user: Record<string, any> | null;
  device: Record<string, any> | null;
}

export interface SessionInfo {
  app: string;
  env: string;
  realms: Record<string, { identity?: Record<string, any> | null }>;
  user: Record<string, any> | null;
  device: Record<string, any> | null;
}

export declare class RealmgateClient {
  constructor(config: ClientConfig);
  readonly appId: string;
  readonly environment: string;
  readonly appVersion: string;
  maxRounds: number;
  readonly identities: Record<string, Record<string, any> | null>;
  readonly persistentCookie: string;
  registerChallengeHandler(realm: string, handler: ChallengeHandler | ChallengeHandlerFunction | null): void;
  provisioningHandler(): ProvisioningHandler;
  userCertificateHandler(): UserCertificateHandler;
  request(target: string | URL, init?: RequestInit): Promise<Response>;
  init(): Promise<InitResult>;
  invokeProcedure<T = any>(adapter: string, procedure: string, parameters?: unknown[]): Promise<T>;
  login(realm: string): Promise<Record<string, any> | null>;
  logout(realm: string): Promise<void>;
  session(): Promise<SessionInfo>;
  obtainAccessToken(scope?: string): Promise<AccessToken>;
  getLastAccessToken(scope?: string): AccessToken | null;
  callResource(url: string | URL, init?: RequestInit, scopeHint?: string): Promise<Response>;
}

export interface LoginPrompt {
  realm: string;
  authenticator: 'form' | 'basic' | 'header';
  attempt: number;
  error: string;
  remainingAttempts?: number;
}

export interface Credentials {
  username: string;
  password?: string;
}

export declare class LoginHandler implements ChallengeHandler {
  constructor(options: { credentials?: Credentials; ask?: (prompt: LoginPrompt) => Promise<Credentials> });
  handleChallenge(challenge: Challenge): Promise<Answer>;
}

export declare function adapterLoginHandler(
  submit: (challenge: Challenge) => Promise<unknown[] | { procedure?: string; parameters?: unknown[] }>,
): ChallengeHandler;

export declare class NotifyHandler implements ChallengeHandler {
  constructor(onNotify?: (notice: Notice) => Promise<unknown> | unknown);
  handleChallenge(challenge: Challenge): Promise<Answer>;
}

export declare class DeviceHandler implements ChallengeHandler {
  constructor(device: DeviceInfo);
  handleChallenge(challenge: Challenge): Promise<Answer>;
}

/** Evidence that the application is genuine: "android-key" and its chain, leaf first. */
export interface Attestation {
  format: string;
  chain: Array<string | Uint8Array | ArrayBuffer>;
}

export declare class AuthenticityHandler implements ChallengeHandler {
  constructor(attest: (token: string) => Promise<Attestation>);
  handleChallenge(challenge: Challenge): Promise<Answer>;
}

export interface AppInfo {
  id: string;
  version: string;
  environment: string;
}

export declare class ProvisioningHandler implements ChallengeHandler {
  constructor(options: { keyStore: KeyStore; device: DeviceInfo; app: AppInfo; activationCode?: (realm: string) => Promise<string> | string });
  handleChallenge(challenge: Challenge): Promise<Answer>;
  handleStatus(status: Status): Promise<Answer>;
}

export declare class UserCertificateHandler implements ChallengeHandler {
  constructor(options: { keyStore: KeyStore; device?: DeviceInfo; app: AppInfo });
  handleChallenge(challenge: Challenge): Promise<Answer>;
  handleStatus(status: Status): Promise<Answer>;
}

export declare function userEntity(realm: string): string;
export declare function provisioningEntity(entity: string, appId: string): string;
export declare function subjectName(commonName: string, additionalSubject?: Record<string, string>): Array<Record<string, string[]>>;
export declare function buildCSR(keys: CryptoKeyPair, name: Array<Record<string, string[]>>, attributes?: Record<string, string>): Promise<string>;
export declare function keyThumbprint(publicKey: CryptoKey): Promise<string>;
/** The leaf certificate of a credential, parsed by @peculiar/x509. */
export declare function leafOf(credential: Credential): { subject: string; serialNumber: string; notAfter: Date; notBefore: Date };

export declare function orderRealms(challenges: Record<string, unknown>): string[];
export declare function parseBearerChallenge(header: string | null | undefined): Record<string, string> | null;
export declare function requiredAccessTokenScope(status: number, wwwAuthenticate: string | null | undefined): string | null;

export declare class CookieJar {
  take(headers: Headers): void;
  get(name: string): string | undefined;
  set(name: string, value: string): void;
  delete(name: string): void;
  header(): string;
}

export declare class RealmgateError extends Error {
  constructor(status: number, body?: { error?: string; message?: string; downloadLink?: string; retryAfter?: number }, realm?: string);
  readonly status: number;
  readonly code: string;
  readonly serverMessage: string;
  readonly realm: string;
  readonly downloadLink: string;
  readonly retryAfter?: number;
  readonly applicationDisabled: boolean;
}

export declare class RealmError extends Error {
  readonly realm: string;
  readonly code: string;
}

export declare const Codes: Readonly<{
  NO_HANDLER: 'no_handler';
  TOO_MANY_ROUNDS: 'too_many_rounds';
  CREDENTIALS_REJECTED: 'credentials_rejected';
  UNSUPPORTED_CHALLENGE: 'unsupported_challenge';
  UNEXPECTED_STATUS: 'unexpected_status';
  MALFORMED_RESPONSE: 'malformed_response';
  PROVISIONING_REFUSED: 'provisioning_refused';
  ENROLLMENT_REFUSED: 'enrollment_refused';
  AUTHENTICITY_REFUSED: 'authenticity_refused';
}>;

export declare const DefaultMaxRounds: number;
/** The most the client reads of a reply it consumes itself. */
export declare const MaxResponseBytes: number;
export declare const RealmAntiXSRF: 'wl_antiXSRFRealm';
export declare const RealmRemoteDisable: 'wl_remoteDisableRealm';
export declare const RealmAuthenticity: 'wl_authenticityRealm';
export declare const RealmDeviceNoProvisioning: 'wl_deviceNoProvisioningRealm';
export declare const RealmDeviceAutoProvisioning: 'wl_deviceAutoProvisioningRealm';
export declare const RealmUserCertificate: 'wl_userCertificateAuthRealm';
export declare const CookieSession: 'WL_SESSION';
export declare const CookiePersistent: 'WL_PERSISTENT_COOKIE';
