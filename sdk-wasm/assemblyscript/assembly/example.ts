// example.ts: an example Realmgate adapter written with the AssemblyScript SDK. It exports the
// core conformance procedures (echo, fail, config, log) from realmgate/conformance, and
// implements a PKI bridge that does not sign (init, validateIdentity, getCSRRequirements,
// validateCSR, getIdentityFromCertificate, validateCertificate) and roundtrip, which decodes and re-encodes one PKI-bridge type so that
// tests can check the SDK's JSON names against adapters/pki.go.

import * as rg from "./realmgate";
import * as pki from "./realmgate/pki";
import { Value, Writer } from "./realmgate";

export * from "./realmgate/exports";
// echo, fail, config and log: the core conformance procedures, from the SDK.
export * from "./realmgate/conformance";

// reencode returns its input parsed and written again, compact: it exercises the SDK's JSON
// reader and writer (the fuzz target FuzzASJSON drives it).
function reencode(input: Value): Value | null {
  return input;
}
export function realmgate_proc_reencode(ptr: usize, len: usize): u64 {
  return rg.handle(ptr, len, reencode);
}

// once marks a key used through the host's single-use store: input {"key", "ttl"} (seconds),
// output {"first": bool}; a negative answer fails the call with its reason.
function once(input: Value): Value | null {
  const t = input.get("ttl");
  const ttl: i64 = t === null ? 0 : t.asI64();
  const r = rg.once(input.getString("key"), ttl);
  if (r < 0) {
    rg.fail(rg.onceError(r));
    return null;
  }
  return Value.newObject().set("first", Value.newBool(r == rg.Once.First));
}
export function realmgate_proc_once(ptr: usize, len: usize): u64 {
  return rg.handle(ptr, len, once);
}

// fetch makes one outbound request through the host: input {"url", "method", "body"}, output
// {"status", "body", "echo"} (echo: the response's X-Echo header). The host allows only the
// adapter's allow-list.
function fetch(input: Value): Value | null {
  const req = new rg.HTTPRequest();
  req.url = input.getString("url");
  const method = input.getString("method");
  if (method.length > 0) req.method = method;
  req.body = input.getString("body");
  req.headers.set("X-Realmgate-Example", "fetch");
  const resp = rg.http(req);
  if (resp === null) return null;
  const headers = resp.headers;
  return Value.newObject()
    .set("status", Value.newInt(resp.status))
    .set("body", Value.newString(resp.body))
    .set("echo", Value.newString(headers === null ? "" : headers.getString("X-Echo")));
}
export function realmgate_proc_fetch(ptr: usize, len: usize): u64 {
  return rg.handle(ptr, len, fetch);
}

// parseCSR has the host parse a CSR: input {"csr"}, output {"cn", "algorithm", "thumbprint"}.
function parseCSR(input: Value): Value | null {
  const csr = rg.parseCSR(input.getString("csr"));
  if (csr === null) return null;
  return Value.newObject()
    .set("cn", Value.newString(csr.cn))
    .set("algorithm", Value.newString(csr.keyAlgorithm))
    .set("thumbprint", Value.newString(csr.thumbprint));
}
export function realmgate_proc_parseCSR(ptr: usize, len: usize): u64 {
  return rg.handle(ptr, len, parseCSR);
}

// sign has the host sign a certificate for the CSR's key with its held key: input {"csr",
// "commonName", "validityDays", "isCA"}, output {"certificateBase64", "serialNumber"}.
function sign(input: Value): Value | null {
  const t = new rg.CertificateTemplate();
  t.csr = input.getString("csr");
  t.commonName = input.getString("commonName");
  const days = input.get("validityDays");
  t.validityDays = days === null ? 0 : <i32>days.asI64();
  t.keyUsage = ["digitalSignature"];
  const ca = input.get("isCA");
  t.isCA = ca !== null && ca.kind == rg.Kind.Bool && ca.bool;
  const signed = rg.signCertificate(t);
  if (signed === null) return null;
  return Value.newObject()
    .set("certificateBase64", Value.newString(signed.certificateBase64))
    .set("serialNumber", Value.newString(signed.serialNumber));
}
export function realmgate_proc_sign(ptr: usize, len: usize): u64 {
  return rg.handle(ptr, len, sign);
}

// ---- PKI bridge ----------------------------------------------------------------------------

function init(input: pki.InitInput): pki.Empty | null {
  const dependent = input.parameters.has("dependent-user-auth-realm") ? input.parameters.get("dependent-user-auth-realm") : "";
  rg.log(rg.Level.Debug, "pki bridge init", ["dependentRealm", dependent]);
  return new pki.Empty();
}
export function realmgate_proc_init(ptr: usize, len: usize): u64 {
  return pki.init(ptr, len, init);
}

// validateIdentity refuses an identity without a user name or whose user the "blockedUser"
// setting names, and sends one without a device to the dependent realm only.
function validateIdentity(input: pki.IdentityInput): pki.Valid | null {
  const id = input.userIdentity;
  const blocked = rg.configGet("blockedUser");
  if (id.userName.length == 0 || (blocked.length > 0 && id.userName == blocked)) return pki.verdictOf(pki.NO);
  if (input.deviceId.length == 0) return pki.verdictOf(pki.NO_USE_DEPENDENT_REALM_ONLY);
  return pki.verdictOf(pki.YES);
}
export function realmgate_proc_validateIdentity(ptr: usize, len: usize): u64 {
  return pki.validateIdentity(ptr, len, validateIdentity);
}

// getCSRRequirements asks for the user name as common name, and for the organization setting
// (when the adapter has one) in the subject: {"O": organization}.
function getCSRRequirements(input: pki.IdentityInput): pki.CSRRequirements | null {
  if (input.userIdentity.userName.length == 0) {
    rg.fail("getCSRRequirements: userIdentity has no userName");
    return null;
  }
  const r = new pki.CSRRequirements();
  r.commonName = input.userIdentity.userName;
  const org = rg.configGet("organization");
  if (org.length > 0) r.additionalSubject.set("O", org);
  return r;
}
export function realmgate_proc_getCSRRequirements(ptr: usize, len: usize): u64 {
  return pki.getCSRRequirements(ptr, len, getCSRRequirements);
}

// validateCSR accepts a CSR whose common name is the one getCSRRequirements asked for.
function validateCSR(input: pki.CSRInput): pki.Valid | null {
  const name = input.userIdentity.userName;
  return pki.verdict(name.length > 0 && input.csrInfo.cn == name);
}
export function realmgate_proc_validateCSR(ptr: usize, len: usize): u64 {
  return pki.validateCSR(ptr, len, validateCSR);
}

// getIdentityFromCertificate names the user after the certificate's common name.
function getIdentityFromCertificate(input: pki.CertificateInput): pki.IdentityFromCertificate | null {
  const cn = input.certificate.cn;
  if (cn.length == 0) {
    rg.fail("certificate has no common name");
    return null;
  }
  const id = new pki.IdentityFromCertificate();
  id.userName = cn;
  id.displayName = cn;
  return id;
}
export function realmgate_proc_getIdentityFromCertificate(ptr: usize, len: usize): u64 {
  return pki.getIdentityFromCertificate(ptr, len, getIdentityFromCertificate);
}

// validateCertificate accepts a certificate with a common name and a sane validity period.
function validateCertificate(input: pki.CertificateInput): pki.Valid | null {
  const c = input.certificate;
  return pki.verdict(c.cn.length > 0 && c.valid.notBefore < c.valid.notAfter);
}
export function realmgate_proc_validateCertificate(ptr: usize, len: usize): u64 {
  return pki.validateCertificate(ptr, len, validateCertificate);
}

// roundtrip decodes {"type": "<Go type name>", "value": {...}} into the SDK's class and
// writes it encoded again.
function roundtrip(input: Value, w: Writer): bool {
  const t = input.getString("type");
  const v = input.get("value");
  const path = "value";
  if (t == "InitInput") pki.InitInput.decode(v, path).encode(w);
  else if (t == "UserIdentity") pki.UserIdentity.decode(v, path).encode(w);
  else if (t == "IdentityInput") pki.IdentityInput.decode(v, path).encode(w);
  else if (t == "Valid") pki.Valid.decode(v, path).encode(w);
  else if (t == "CSRRequirements") pki.CSRRequirements.decode(v, path).encode(w);
  else if (t == "KeyInfo") pki.KeyInfo.decode(v, path).encode(w);
  else if (t == "SigInfo") pki.SigInfo.decode(v, path).encode(w);
  else if (t == "CSRInfo") pki.CSRInfo.decode(v, path).encode(w);
  else if (t == "CSRInput") pki.CSRInput.decode(v, path).encode(w);
  else if (t == "GeneratedCertificate") pki.GeneratedCertificate.decode(v, path).encode(w);
  else if (t == "Issuer") pki.Issuer.decode(v, path).encode(w);
  else if (t == "Validity") pki.Validity.decode(v, path).encode(w);
  else if (t == "Certificate") pki.Certificate.decode(v, path).encode(w);
  else if (t == "CertificateInput") pki.CertificateInput.decode(v, path).encode(w);
  else if (t == "IdentityFromCertificate") pki.IdentityFromCertificate.decode(v, path).encode(w);
  else {
    rg.fail("roundtrip: unknown type " + t);
    return false;
  }
  return !rg.hasFailed();
}
export function realmgate_proc_roundtrip(ptr: usize, len: usize): u64 {
  return rg.handleWriter(ptr, len, roundtrip);
}
