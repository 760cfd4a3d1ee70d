// WebCrypto of the runtime: globalThis.crypto in browsers (secure contexts: https, or
// http://127.0.0.1 and localhost) and Node.js 19+; node:crypto's webcrypto in Node.js 18.

// Not a literal, so that bundlers for browsers leave the Node.js module alone.
const nodeCrypto = 'node:crypto';

export async function webcrypto() {
  if (globalThis.crypto?.subtle) return globalThis.crypto;
  if (typeof process === 'object' && process.versions?.node) return (await import(nodeCrypto)).webcrypto;
  throw new Error('realmgate: WebCrypto is not available (a browser page over http that is not localhost?)');
}

export const ecdsaP256 = Object.freeze({ name: 'ECDSA', namedCurve: 'P-256' });

/**
 * Makes an ECDSA P-256 key pair for signing. The private key is non-extractable unless the key
 * store must write it out (a file).
 */
export async function newKeyPair(extractable = false) {
  const c = await webcrypto();
  return c.subtle.generateKey(ecdsaP256, extractable, ['sign', 'verify']);
}

export function base64(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let bin = '';
  for (let i = 0; i < u8.length; i += 0x8000) bin += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(bin);
}

export function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
