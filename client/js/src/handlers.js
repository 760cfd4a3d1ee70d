// Challenge handlers of the realms every application meets: login modules (form, basic, header
// and adapter-based authenticators), remote-disable notices and the device identity without
// provisioning (docs/protocol.md sections 4 and 10).
//
// A handler is an object with an async handleChallenge(challenge) that returns the answer to
// post to POST /api/v1/auth/{realm}: {body, headers} (body defaults to {}), or {skip: true} when
// it settled the challenge locally. Multi-round realms also have an async handleStatus(status)
// for 200 replies whose status is not "success". A plain async function is a handleChallenge.

import { Codes, coded, sanitize } from './errors.js';

const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/;

function utf8Base64(s) {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Answers realms backed by a login module, whichever authenticator the challenge names:
 * form posts {"username", "password"}; basic posts {} with "Authorization: Basic"; header posts
 * {} with the challenge's header set to the user name. With `ask`, it is called for every
 * answer ({realm, authenticator, attempt, error, remainingAttempts}) and returns
 * {username, password}, so a user can type again after a wrong password; with fixed
 * `credentials` a rejection ends the call instead of spending the remaining attempts.
 */
export class LoginHandler {
  #credentials;
  #ask;

  constructor({ credentials, ask } = {}) {
    this.#credentials = credentials;
    this.#ask = ask;
  }

  async handleChallenge(ch) {
    const { authenticator, header } = ch.payload;
    if (!['form', 'basic', 'header'].includes(authenticator)) {
      throw coded(Codes.UNSUPPORTED_CHALLENGE, `authenticator ${JSON.stringify(sanitize(String(authenticator ?? ''), 32))}`);
    }
    if (authenticator === 'header' && !headerName.test(header ?? '')) {
      throw coded(Codes.MALFORMED_RESPONSE, 'the header authenticator names no valid header');
    }
    let creds = this.#credentials;
    if (this.#ask) {
      creds = await this.#ask({
        realm: ch.realm,
        authenticator,
        attempt: ch.round,
        error: ch.error,
        remainingAttempts: ch.remainingAttempts,
      });
    } else if (ch.round > 1 && ch.error) {
      throw coded(Codes.CREDENTIALS_REJECTED, `credentials rejected: ${ch.error}`);
    }
    const username = creds?.username ?? '';
    const password = creds?.password ?? '';
    switch (authenticator) {
      case 'basic':
        if (username.includes(':')) throw new Error('realmgate: a Basic user name cannot contain ":"');
        return { headers: { Authorization: 'Basic ' + utf8Base64(`${username}:${password}`) } };
      case 'header':
        if (/[\r\n\0]/.test(username)) throw new Error('realmgate: a header user name cannot contain line breaks');
        return { headers: { [header]: username } };
      default:
        return { body: { username, password } };
    }
  }
}

/**
 * Answers an adapter-based realm ({"authenticator": "adapter", "adapter", ...the login function's
 * object}): submit(challenge) returns the parameters of the adapter's submitAuthentication
 * procedure (or {procedure, parameters} to name another procedure the realm accepts). A wrong
 * answer comes back as a new challenge whose `error` carries the adapter's errorMessage; a step of
 * a multi-step login ({"authStep": 2, "question", ...}) as a new challenge without one, and the
 * handler returns the step's stepToken with the answer.
 */
export function adapterLoginHandler(submit) {
  return {
    async handleChallenge(ch) {
      if (ch.payload.authenticator !== 'adapter') {
        throw coded(Codes.UNSUPPORTED_CHALLENGE, `realm ${ch.realm} is not adapter-based`);
      }
      const out = await submit(ch);
      const body = Array.isArray(out)
        ? { procedure: 'submitAuthentication', parameters: out }
        : { procedure: out.procedure ?? 'submitAuthentication', parameters: out.parameters ?? [] };
      // A step of a multi-step login carries a single-use token its answer must return.
      if (typeof ch.payload.stepToken === 'string') body.stepToken = ch.payload.stepToken;
      return { body };
    },
  };
}

/**
 * Answers the remote-disable realm's notice {"action": "notify", "message", "messageId"}:
 * onNotify({realm, message, messageId}) shows it; when it resolves the notice is acknowledged,
 * when it throws the call is abandoned. A blocked application is no challenge: its requests fail
 * with a RealmgateError whose applicationDisabled is true.
 */
export class NotifyHandler {
  #onNotify;

  constructor(onNotify) {
    this.#onNotify = onNotify;
  }

  async handleChallenge(ch) {
    const { action, message, messageId } = ch.payload;
    if (action !== 'notify') {
      throw coded(Codes.UNSUPPORTED_CHALLENGE, `remote-disable action ${JSON.stringify(sanitize(String(action ?? ''), 32))}`);
    }
    if (this.#onNotify) {
      await this.#onNotify({ realm: ch.realm, message: sanitize(message ?? ''), messageId: sanitize(messageId ?? '', 256) });
    }
    return { body: { acknowledged: true, messageId } };
  }
}

/** The device as realms that identify it describe it. */
export function deviceInfo(d = {}) {
  return { id: d.id ?? '', os: d.os ?? '', model: d.model ?? '', displayName: d.displayName ?? '' };
}

/**
 * Answers wl_deviceNoProvisioningRealm: echoes the nonce with the device description, which the
 * server takes as the device identity.
 */
export class DeviceHandler {
  #device;

  constructor(device) {
    this.#device = deviceInfo(device);
  }

  async handleChallenge(ch) {
    const token = ch.payload.token;
    if (typeof token !== 'string' || token === '') throw coded(Codes.MALFORMED_RESPONSE, 'device challenge without a token');
    return { body: { token, device: this.#device } };
  }
}

const maxAttestationCerts = 10;
const maxAttestationCertBytes = 16 << 10;

/**
 * Answers wl_authenticityRealm's {"token"} with {"attestation": {"format", "chain"}} from
 * attest(token), which returns {format, chain} (the certificates as base64 DER strings or bytes,
 * leaf first). For "android-key" the leaf's attestation challenge is the token's UTF-8 bytes: a
 * hybrid app gets the chain from the Android Keystore through its native layer. Another format
 * also sends the token. A refused attestation ends the call: a new one of the same application
 * would not fare better.
 */
export class AuthenticityHandler {
  #attest;

  constructor(attest) {
    this.#attest = attest;
  }

  async handleChallenge(ch) {
    const token = ch.payload.token;
    if (typeof token !== 'string' || !/^[\x21-\x7e]{1,1024}$/.test(token)) throw coded(Codes.MALFORMED_RESPONSE, 'the challenge has no usable token');
    if (ch.error) throw coded(Codes.AUTHENTICITY_REFUSED, `application authenticity refused: ${ch.error}`);
    const a = await this.#attest(token);
    if (!a || typeof a.format !== 'string' || a.format.length > 64 || !headerName.test(a.format)) {
      throw new Error('realmgate: the attestation provider gave no format (a token such as "android-key")');
    }
    if (!Array.isArray(a.chain) || a.chain.length === 0 || a.chain.length > maxAttestationCerts) {
      throw new Error(`realmgate: the attestation provider gave ${a.chain?.length ?? 0} certificates (1 to ${maxAttestationCerts})`);
    }
    const chain = a.chain.map((c, i) => {
      const b64 = typeof c === 'string' ? c : btoa(String.fromCharCode(...new Uint8Array(c)));
      if (b64 === '' || (b64.length * 3) / 4 > maxAttestationCertBytes + 2) throw new Error(`realmgate: attestation certificate ${i} is empty or over ${maxAttestationCertBytes} bytes`);
      return b64;
    });
    const body = { attestation: { format: a.format, chain } };
    if (a.format !== 'android-key') body.token = token;
    return { body };
  }

  async handleRefusal(_realm, err) {
    return coded(Codes.AUTHENTICITY_REFUSED, `application authenticity refused: ${err.message}`, { cause: err });
  }
}
