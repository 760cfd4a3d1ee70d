// Certificates: the CSR (built with @peculiar/x509), the signed payloads of docs/protocol.md
// section 5 (JWS with jose), and the handlers of the realms that hand out certificates: device
// provisioning (section 5) and the user-certificate realm (section 7).

import 'reflect-metadata'; // @peculiar/x509's dependency injection needs the Reflect metadata API
import * as x509 from '@peculiar/x509';
import { CompactSign, calculateJwkThumbprint } from 'jose';
import { Codes, coded, malformed, sanitize } from './errors.js';
import { base64, ecdsaP256, fromBase64, newKeyPair, webcrypto } from './webcrypto.js';
import { deviceInfo } from './handlers.js';

const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' };

let providerSet;
async function provider() {
  if (!providerSet) {
    x509.cryptoProvider.set(await webcrypto());
    providerSet = true;
  }
}

// RDN keywords of additionalSubject (RFC 4514 and the ones Worklight's bridges use); any other
// type is given as a dotted OID.
const rdnTypes = {
  CN: '2.5.4.3', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', STREET: '2.5.4.9', O: '2.5.4.10', OU: '2.5.4.11',
  SERIALNUMBER: '2.5.4.5', TITLE: '2.5.4.12', DC: '0.9.2342.19200300.100.1.25', UID: '0.9.2342.19200300.100.1.1',
  EMAILADDRESS: '1.2.840.113549.1.9.1',
};
// The most general first, as the Go client orders additionalSubject.
const rdnRank = ['DC', 'C', 'ST', 'L', 'STREET', 'O', 'OU'];

function rdnOID(type) {
  if (/^[0-2](\.(0|[1-9][0-9]*))+$/.test(type)) return type;
  const oid = rdnTypes[type.toUpperCase()];
  if (!oid) throw coded(Codes.UNSUPPORTED_CHALLENGE, `subject attribute type ${JSON.stringify(sanitize(type, 64))}`);
  return oid;
}

/**
 * The subject of a user CSR: additionalSubject's attributes, the most general first, then
 * CN=<commonName>, as a @peculiar/x509 JSON name.
 */
export function subjectName(commonName, additionalSubject = {}) {
  if (typeof commonName !== 'string' || commonName === '') throw malformed('the CSR requirements name no commonName');
  const entries = Object.entries(additionalSubject ?? {});
  const rank = (t) => {
    const i = rdnRank.indexOf(t.toUpperCase());
    return i < 0 ? rdnRank.length : i;
  };
  entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const name = [];
  for (const [type, value] of entries) {
    const oid = rdnOID(type);
    if (oid === rdnTypes.CN) throw malformed('additionalSubject holds a CN; the common name is commonName alone');
    if (typeof value !== 'string' || value === '') throw malformed(`additionalSubject ${type} has no value`);
    name.push({ [oid]: [value] });
  }
  name.push({ [rdnTypes.CN]: [commonName] });
  return name;
}

/** A PKCS #10 request for keys, signed ECDSA SHA-256, base64 DER. */
export async function buildCSR(keys, name, attributes = {}) {
  await provider();
  const attrs = [];
  for (const [type, value] of Object.entries(attributes ?? {})) {
    if (type === 'challengePassword' || type === '1.2.840.113549.1.9.7') {
      attrs.push(new x509.ChallengePasswordAttribute(String(value)));
    } else {
      throw coded(Codes.UNSUPPORTED_CHALLENGE, `CSR attribute ${JSON.stringify(sanitize(type, 64))}; this client knows challengePassword`);
    }
  }
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm, attributes: attrs });
  return base64(csr.rawData);
}

async function publicJWK(publicKey) {
  const c = await webcrypto();
  const { kty, crv, x, y } = await c.subtle.exportKey('jwk', publicKey);
  return { kty, crv, x, y };
}

/** The RFC 7638 thumbprint of a public key (SHA-256, base64url without padding). */
export async function keyThumbprint(publicKey) {
  return calculateJwkThumbprint(await publicJWK(publicKey), 'sha256');
}

function payloadBytes(claims) {
  return new TextEncoder().encode(JSON.stringify(claims));
}

/** A compact JWS over claims signed by a certificate holder: its chain in x5c. */
export async function signX5C(cred, claims) {
  return new CompactSign(payloadBytes(claims)).setProtectedHeader({ alg: 'ES256', x5c: [...cred.chain] }).sign(cred.privateKey);
}

/** A compact JWS over claims with the public key as jwk: what a device sends beside its CSR. */
export async function signJWK(keys, claims) {
  return new CompactSign(payloadBytes(claims)).setProtectedHeader({ alg: 'ES256', jwk: await publicJWK(keys.publicKey) }).sign(keys.privateKey);
}

/** The leaf certificate of a credential, parsed. */
export function leafOf(cred) {
  return new x509.X509Certificate(fromBase64(cred.chain[0]));
}

function usable(cred) {
  if (!cred || !Array.isArray(cred.chain) || cred.chain.length === 0) return false;
  try {
    return leafOf(cred).notAfter.getTime() > Date.now();
  } catch {
    return false; // damaged: obtain a new one
  }
}

async function loadUsable(ks, entity) {
  const cred = await ks.load(entity);
  return usable(cred) ? cred : null;
}

// storeIssued checks that the certificate of a "provisioned" or "enrolled" reply is for the key of
// the CSR sent, and stores the credential.
async function storeIssued(ks, entity, keys, body) {
  if (!keys) throw coded(Codes.UNEXPECTED_STATUS, `status ${body.status} before any CSR was sent`);
  const { certificate, chain = [], token } = body;
  if (typeof token !== 'string' || token === '') throw malformed('the certificate reply has no usable token');
  if (typeof certificate !== 'string' || !Array.isArray(chain) || chain.length > 9) throw malformed('the certificate reply has no certificate');
  const all = [certificate, ...chain];
  await provider();
  let leaf;
  try {
    leaf = new x509.X509Certificate(fromBase64(certificate));
    for (const c of chain) new x509.X509Certificate(fromBase64(c));
  } catch (e) {
    throw malformed(`a certificate of the reply: ${e.message}`);
  }
  const c = await webcrypto();
  const spki = new Uint8Array(await c.subtle.exportKey('spki', keys.publicKey));
  const issuedFor = new Uint8Array(leaf.publicKey.rawData);
  if (spki.length !== issuedFor.length || !spki.every((b, i) => b === issuedFor[i])) {
    throw malformed('the issued certificate is not for the key of the CSR');
  }
  const cred = { privateKey: keys.privateKey, publicKey: keys.publicKey, chain: all };
  await ks.store(entity, cred);
  return { cred, token };
}

const codeRealmRefused = 'realm_refused';

// What a certificate handler answered last for a realm in one call.
const NOTHING = 0, STORED = 1, FRESH = 2, CSR = 3, ENROLL = 4;
const maxCSRAttempts = 2;

class CertStates {
  #m = new Map();

  begin(realm, round) {
    let st = this.#m.get(realm);
    if (!st || round <= 1) {
      st = { entity: '', last: NOTHING, pending: null, csrAttempts: 0, storedErrors: 0, dropped: false };
      this.#m.set(realm, st);
    }
    return st;
  }

  get(realm) {
    return this.#m.get(realm);
  }
}

function dropStored(st, enroll) {
  if (enroll) return true;
  st.storedErrors++;
  return st.storedErrors > 1;
}

/** The keystore entity of a provisioning challenge's entity. */
export function provisioningEntity(entity, appId) {
  if (entity === 'application') return `application:${appId}`;
  if (entity === 'device') return 'device';
  if (typeof entity === 'string' && entity.startsWith('group:') && entity.length > 6 && entity.length <= 134) return entity;
  if (!entity) throw malformed('the provisioning challenge names no entity');
  throw coded(Codes.UNSUPPORTED_CHALLENGE, `provisioning entity ${JSON.stringify(sanitize(String(entity), 64))}`);
}

/**
 * Answers device-provisioning realms (wl_deviceAutoProvisioningRealm and custom realms of the
 * DeviceAutoProvisioningAuthenticator): with a certificate for the challenged entity it answers
 * {"payload"} signed by the stored key (chain in x5c); without one it makes a P-256 key pair
 * (non-extractable unless the key store writes keys out) and answers {"csr", "payload" (jwk
 * header)}, stores the issued certificate and signs the fresh nonce with it. A certificate the
 * server no longer accepts ("enroll": true) is dropped and the device provisions again, with a
 * "proof" signed by the old key while it is unexpired, so the device keeps its id.
 */
export class ProvisioningHandler {
  #states = new CertStates();
  #retired = new Map();

  constructor({ keyStore, device, app, activationCode }) {
    this.keyStore = keyStore;
    this.device = deviceInfo(device);
    this.app = app;
    this.activationCode = activationCode;
  }

  async #retire(entity) {
    const cred = await loadUsable(this.keyStore, entity);
    if (cred) this.#retired.set(entity, cred);
  }

  async #proofCredential(entity) {
    const cred = await loadUsable(this.keyStore, entity);
    if (cred) return cred;
    const r = this.#retired.get(entity);
    return usable(r) ? r : null;
  }

  async handleChallenge(ch) {
    const { token, entity: named, enroll } = ch.payload;
    if (typeof token !== 'string' || token === '') throw malformed('the provisioning challenge has no usable token');
    const entity = provisioningEntity(named, this.app.id);
    const st = this.#states.begin(ch.realm, ch.round);
    if (st.entity && st.entity !== entity) Object.assign(st, { last: NOTHING, pending: null, csrAttempts: 0, storedErrors: 0, dropped: false });
    st.entity = entity;
    const claims = { token, device: this.device, app: this.app };
    if (ch.error || enroll) {
      if (st.last === FRESH) throw coded(Codes.PROVISIONING_REFUSED, `the new certificate was not accepted: ${ch.error}`);
      if (st.last === CSR) {
        if (st.csrAttempts >= maxCSRAttempts) throw coded(Codes.PROVISIONING_REFUSED, `provisioning refused: ${ch.error}`);
        return this.#provision(ch.realm, st, claims);
      }
      if (enroll || (st.last === STORED && dropStored(st, false))) {
        await this.#retire(entity);
        await this.keyStore.delete(entity);
        st.dropped = true;
        return this.#provision(ch.realm, st, claims);
      }
    }
    const cred = await loadUsable(this.keyStore, entity);
    if (!cred) return this.#provision(ch.realm, st, claims);
    st.last = STORED;
    return { body: { payload: await signX5C(cred, claims) } };
  }

  async #provision(realm, st, claims) {
    if (!this.device.id) throw new Error('realmgate: provisioning needs a device id (config.device.id)');
    const keys = await newKeyPair(this.keyStore.extractable);
    const body = {
      csr: await buildCSR(keys, [{ [rdnTypes.CN]: [this.device.id] }]),
      payload: await signJWK(keys, claims),
    };
    const old = await this.#proofCredential(st.entity);
    if (old) {
      // The device's current key hands its id over to the new key (docs/protocol.md section 5).
      body.proof = await signX5C(old, { ...claims, newKey: await keyThumbprint(keys.publicKey) });
    }
    if (this.activationCode) {
      const code = await this.activationCode(realm);
      if (code) body.activationCode = String(code);
    }
    st.pending = keys;
    st.last = CSR;
    st.csrAttempts++;
    return { body };
  }

  async handleStatus(s) {
    if (s.status !== 'provisioned') throw coded(Codes.UNEXPECTED_STATUS, `unexpected status ${JSON.stringify(s.status)}`);
    const st = this.#states.get(s.realm);
    if (!st || st.last !== CSR) throw coded(Codes.UNEXPECTED_STATUS, 'status provisioned before any CSR was sent');
    const { cred, token } = await storeIssued(this.keyStore, st.entity, st.pending, s.body);
    st.pending = null;
    this.#retired.delete(st.entity);
    st.last = FRESH;
    return { body: { payload: await signX5C(cred, { token, device: this.device, app: this.app }) } };
  }

  /** A 403 to an answer with the stored certificate that is final for the session. */
  async handleRefusal(realm, err) {
    const st = this.#states.get(realm);
    if (st && st.last === STORED && !st.dropped && err.code === codeRealmRefused) {
      await this.#retire(st.entity);
      await this.keyStore.delete(st.entity);
      st.dropped = true;
      st.last = NOTHING;
      return 'new_session';
    }
    return err;
  }
}

/** The keystore entity of the user certificate of realm. */
export function userEntity(realm) {
  return `user:${realm}`;
}

/**
 * Answers wl_userCertificateAuthRealm (and realms of its class under other names): with a stored
 * certificate it signs the nonce ({"payload"}, x5c); without one it answers {"enroll": true},
 * the client answers the dependent realm the server then challenges with that realm's handler,
 * and the enrollment challenge {"token", "csrRequirements"} gets a CSR of a new P-256 key
 * built to the requirements. The issued certificate is stored and signs in at once; a later
 * session signs in with it. A certificate the bridge no longer accepts is dropped and the user
 * enrolls again.
 */
export class UserCertificateHandler {
  #states = new CertStates();

  constructor({ keyStore, device, app }) {
    this.keyStore = keyStore;
    this.device = deviceInfo(device);
    this.app = app;
  }

  async handleChallenge(ch) {
    const { token, enroll, csrRequirements: req } = ch.payload;
    if (typeof token !== 'string' || token === '') throw malformed('the user-certificate challenge has no usable token');
    const st = this.#states.begin(ch.realm, ch.round);
    st.entity = userEntity(ch.realm);
    if (req) {
      if (ch.error && st.last === CSR && st.csrAttempts >= maxCSRAttempts) throw coded(Codes.ENROLLMENT_REFUSED, `enrollment refused: ${ch.error}`);
      const keys = await newKeyPair(this.keyStore.extractable);
      const csr = await buildCSR(keys, subjectName(req.commonName, req.additionalSubject), req.additionalAttributes);
      st.pending = keys;
      st.last = CSR;
      st.csrAttempts++;
      return { body: { csr } };
    }
    const refused = enroll || !!ch.error;
    if (refused && st.last === FRESH) throw coded(Codes.ENROLLMENT_REFUSED, `the new certificate was not accepted: ${ch.error}`);
    if ((refused && st.last === STORED && dropStored(st, !!enroll)) || enroll) {
      await this.keyStore.delete(st.entity);
      if (st.last === STORED) st.dropped = true;
      st.last = ENROLL;
      return { body: { enroll: true } };
    }
    const cred = await loadUsable(this.keyStore, st.entity);
    if (!cred) {
      st.last = ENROLL;
      return { body: { enroll: true } };
    }
    st.last = STORED;
    return { body: { payload: await signX5C(cred, { token, device: this.device, app: this.app }) } };
  }

  async handleStatus(s) {
    if (s.status !== 'enrolled') throw coded(Codes.UNEXPECTED_STATUS, `unexpected status ${JSON.stringify(s.status)}`);
    const st = this.#states.get(s.realm);
    if (!st || st.last !== CSR) throw coded(Codes.UNEXPECTED_STATUS, 'status enrolled before any CSR was sent');
    const { cred, token } = await storeIssued(this.keyStore, st.entity, st.pending, s.body);
    st.pending = null;
    st.last = FRESH;
    return { body: { payload: await signX5C(cred, { token, device: this.device, app: this.app }) } };
  }

  async handleRefusal(realm, err) {
    const st = this.#states.get(realm);
    if (st && st.last === STORED && !st.dropped && err.code === codeRealmRefused) {
      await this.keyStore.delete(st.entity);
      st.dropped = true;
      st.last = NOTHING;
      return 'new_session';
    }
    return err;
  }
}

export { ecdsaP256 };
