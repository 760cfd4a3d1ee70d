// Errors of the SDK. A server's refusal (403, 429, an error reply) is a RealmgateError carrying
// the server's status and snake_case code; a failure found on the client side while a realm is
// settled is a RealmError naming the realm, with the underlying error as its cause.

/** The codes of client-side failures (RealmError.code). */
export const Codes = Object.freeze({
  NO_HANDLER: 'no_handler',
  TOO_MANY_ROUNDS: 'too_many_rounds',
  CREDENTIALS_REJECTED: 'credentials_rejected',
  UNSUPPORTED_CHALLENGE: 'unsupported_challenge',
  UNEXPECTED_STATUS: 'unexpected_status',
  MALFORMED_RESPONSE: 'malformed_response',
  PROVISIONING_REFUSED: 'provisioning_refused',
  ENROLLMENT_REFUSED: 'enrollment_refused',
  AUTHENTICITY_REFUSED: 'authenticity_refused',
});

const maxMessageLen = 1024;

/** Drops control characters and bounds the length, so server text is safe to log and show. */
export function sanitize(s, max = maxMessageLen) {
  if (typeof s !== 'string') return '';
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '');
  return clean.length > max ? clean.slice(0, max) + '…' : clean;
}

function cleanCode(code) {
  return typeof code === 'string' && /^[a-z0-9_]{1,64}$/.test(code) ? code : '';
}

// Only absolute http(s) links: an app shows this link to its user.
function cleanLink(link) {
  if (typeof link !== 'string' || link.length > 2048) return '';
  try {
    const u = new URL(link);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : '';
  } catch {
    return '';
  }
}

/** A refusal or failure the server reported: {"error", "message"} with its HTTP status. */
export class RealmgateError extends Error {
  constructor(status, body = {}, realm = '') {
    const code = cleanCode(body?.error);
    const message = sanitize(body?.message);
    super(`realmgate: ${status}${code ? ' ' + code : ''}${message ? ': ' + message : ''}`);
    this.name = 'RealmgateError';
    this.status = status;
    this.code = code;
    this.serverMessage = message;
    this.realm = realm;
    this.downloadLink = cleanLink(body?.downloadLink);
    if (Number.isInteger(body?.retryAfter)) this.retryAfter = body.retryAfter;
  }

  /** An administrator blocked this application version (remote disable). */
  get applicationDisabled() {
    return this.status === 403 && this.code === 'application_disabled';
  }
}

/** A client-side failure while a realm was settled. */
export class RealmError extends Error {
  constructor(realm, code, message, options) {
    super(`realmgate: realm ${realm}: ${message}`, options);
    this.name = 'RealmError';
    this.realm = realm;
    this.code = code;
  }
}

/** A server reply that does not have the shape the protocol promises. */
export function malformed(message) {
  const e = new Error(`realmgate: malformed response: ${message}`);
  e.code = Codes.MALFORMED_RESPONSE;
  return e;
}

export function coded(code, message, options) {
  const e = new Error(`realmgate: ${message}`, options);
  e.code = code;
  return e;
}
