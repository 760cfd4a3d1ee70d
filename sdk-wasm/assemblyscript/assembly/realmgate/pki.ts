// pki.ts: the PKI-bridge procedures' inputs and outputs, mirroring adapters/pki.go field for
// field (field names are the JSON names), and the typed procedure helpers.
//
// As Go's decoder does, decoding leaves a field at its zero value for a missing member or a
// null and ignores unknown members; a member of the wrong type fails the call with its path.
// Encoding leaves out empty omitempty fields as Go's encoder does.

import { begin, fail, finish, hasFailed } from "./abi";
import { intConverted, Kind, Value, Writer } from "./json";

export const YES = "YES";
export const NO = "NO";
export const NO_USE_DEPENDENT_REALM_ONLY = "NO_USE_DEPENDENT_REALM_ONLY";

let decodeFailed = false;

function typeError(path: string, want: string): void {
  if (!decodeFailed) fail(path + ": want " + want);
  decodeFailed = true;
}

function join(path: string, key: string): string {
  return path.length == 0 ? key : path + "." + key;
}

/** member returns the member key of o, or null when o lacks it or it is null. */
function member(o: Value, key: string): Value | null {
  const v = o.get(key);
  if (v === null || v.kind == Kind.Null) return null;
  return v;
}

function decodeStr(o: Value, key: string, path: string): string {
  const v = member(o, key);
  if (v === null) return "";
  if (v.kind != Kind.String) typeError(join(path, key), "a string");
  return v.text;
}

function decodeInt(o: Value, key: string, path: string): i64 {
  const v = member(o, key);
  if (v === null) return 0;
  const i = v.asI64();
  if (v.kind != Kind.Number || !intConverted()) typeError(join(path, key), "an integer");
  return i;
}

function decodeAny(o: Value, key: string, path: string): Value | null {
  const v = member(o, key);
  if (v === null) return null;
  if (v.kind != Kind.Object) typeError(join(path, key), "an object");
  return v;
}

function decodeStrMap(o: Value, key: string, path: string): Map<string, string> {
  const m = new Map<string, string>();
  const v = member(o, key);
  if (v === null) return m;
  if (v.kind != Kind.Object) {
    typeError(join(path, key), "an object of strings");
    return m;
  }
  const keys = v.keys!;
  const items = v.items!;
  for (let i = 0; i < keys.length; i++) {
    if (items[i].kind != Kind.String) {
      typeError(join(path, key), "an object of strings");
      return m;
    }
    m.set(keys[i], items[i].text);
  }
  return m;
}

/** decodeStrMapOf reads the object o itself (at path) as an object of strings. */
function decodeStrMapOf(o: Value, path: string): Map<string, string> {
  const m = new Map<string, string>();
  const keys = o.keys!;
  const items = o.items!;
  for (let i = 0; i < keys.length; i++) {
    if (items[i].kind != Kind.String) {
      typeError(path, "an object of strings");
      return m;
    }
    m.set(keys[i], items[i].text);
  }
  return m;
}

function decodeStrList(o: Value, key: string, path: string): Array<string> {
  const a = new Array<string>();
  const v = member(o, key);
  if (v === null) return a;
  if (v.kind != Kind.Array) {
    typeError(join(path, key), "an array of strings");
    return a;
  }
  const items = v.items!;
  for (let i = 0; i < items.length; i++) {
    if (items[i].kind != Kind.String) {
      typeError(join(path, key), "an array of strings");
      return a;
    }
    a.push(items[i].text);
  }
  return a;
}

/** object checks that v (the value at path) is an object or null. */
function object(v: Value | null, path: string): Value | null {
  if (v === null || v.kind == Kind.Null) return null;
  if (v.kind != Kind.Object) {
    typeError(path.length == 0 ? "input" : path, "an object");
    return null;
  }
  return v;
}

function writeStrMap(w: Writer, m: Map<string, string>): void {
  w.objBegin();
  const keys = m.keys();
  for (let i = 0; i < keys.length; i++) {
    w.key(keys[i]);
    w.str(m.get(keys[i]));
  }
  w.objEnd();
}

function writeStrList(w: Writer, a: Array<string>): void {
  w.arrBegin();
  for (let i = 0; i < a.length; i++) w.str(a[i]);
  w.arrEnd();
}

/** anyEmpty is Go's omitempty test for a map[string]any. */
function anyEmpty(v: Value | null): bool {
  return v === null || v.kind == Kind.Null || v.length == 0;
}

/** InitInput: Input of init: the realm's parameters as one flat object, name to value. */
export class InitInput {
  parameters: Map<string, string> = new Map<string, string>();

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): InitInput {
    const r = new InitInput();
    const o = object(v, path);
    if (o === null) return r;
    r.parameters = decodeStrMapOf(o, path.length == 0 ? "input" : path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    writeStrMap(w, this.parameters);
  }
}

/** UserIdentity: Worklight's standard user identity, as the dependent realm proved it. */
export class UserIdentity {
  userName: string = "";
  displayName: string = "";
  attributes: Value | null = null;

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): UserIdentity {
    const r = new UserIdentity();
    const o = object(v, path);
    if (o === null) return r;
    r.userName = decodeStr(o, "userName", path);
    r.displayName = decodeStr(o, "displayName", path);
    r.attributes = decodeAny(o, "attributes", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("userName");
    w.str(this.userName);
    w.key("displayName");
    w.str(this.displayName);
    w.key("attributes");
    w.value(this.attributes);
    w.objEnd();
  }
}

/** IdentityInput: Input of validateIdentity and getCSRRequirements: Worklight's user certificate identity, and the host's clientData. */
export class IdentityInput {
  deviceId: string = "";
  userIdentity: UserIdentity = new UserIdentity();
  appId: string = "";
  clientData: Value | null = null;

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): IdentityInput {
    const r = new IdentityInput();
    const o = object(v, path);
    if (o === null) return r;
    r.deviceId = decodeStr(o, "deviceId", path);
    r.userIdentity = UserIdentity.decode(o.get("userIdentity"), join(path, "userIdentity"));
    r.appId = decodeStr(o, "appId", path);
    r.clientData = decodeAny(o, "clientData", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("deviceId");
    w.str(this.deviceId);
    w.key("userIdentity");
    this.userIdentity.encode(w);
    w.key("appId");
    w.str(this.appId);
    if (!anyEmpty(this.clientData)) {
      w.key("clientData");
      w.value(this.clientData);
    }
    w.objEnd();
  }
}

/** Valid: Output of validateIdentity, validateCSR and validateCertificate. */
export class Valid {
  valid: string = "";

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): Valid {
    const r = new Valid();
    const o = object(v, path);
    if (o === null) return r;
    r.valid = decodeStr(o, "valid", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("valid");
    w.str(this.valid);
    w.objEnd();
  }
}

/** CSRRequirements: Output of getCSRRequirements: additionalSubject maps RDN types to values ({"O": "IBM"}), additionalAttributes PKCS #9 attribute names to values. */
export class CSRRequirements {
  commonName: string = "";
  additionalSubject: Map<string, string> = new Map<string, string>();
  additionalAttributes: Map<string, string> = new Map<string, string>();

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): CSRRequirements {
    const r = new CSRRequirements();
    const o = object(v, path);
    if (o === null) return r;
    r.commonName = decodeStr(o, "commonName", path);
    r.additionalSubject = decodeStrMap(o, "additionalSubject", path);
    r.additionalAttributes = decodeStrMap(o, "additionalAttributes", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("commonName");
    w.str(this.commonName);
    if (this.additionalSubject.size > 0) {
      w.key("additionalSubject");
      writeStrMap(w, this.additionalSubject);
    }
    if (this.additionalAttributes.size > 0) {
      w.key("additionalAttributes");
      writeStrMap(w, this.additionalAttributes);
    }
    w.objEnd();
  }
}

/** KeyInfo: A public key: base64 of its DER SubjectPublicKeyInfo and its algorithm. */
export class KeyInfo {
  base64: string = "";
  algorithm: string = "";

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): KeyInfo {
    const r = new KeyInfo();
    const o = object(v, path);
    if (o === null) return r;
    r.base64 = decodeStr(o, "base64", path);
    r.algorithm = decodeStr(o, "algorithm", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("base64");
    w.str(this.base64);
    w.key("algorithm");
    w.str(this.algorithm);
    w.objEnd();
  }
}

/** SigInfo: A signature: base64 of its bytes and its algorithm. */
export class SigInfo {
  base64: string = "";
  algorithm: string = "";

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): SigInfo {
    const r = new SigInfo();
    const o = object(v, path);
    if (o === null) return r;
    r.base64 = decodeStr(o, "base64", path);
    r.algorithm = decodeStr(o, "algorithm", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    if (this.base64.length > 0) {
      w.key("base64");
      w.str(this.base64);
    }
    w.key("algorithm");
    w.str(this.algorithm);
    w.objEnd();
  }
}

/** CSRInfo: What the host parsed from a certificate signing request (its self-signature and the requirements already checked). */
export class CSRInfo {
  dn: string = "";
  cn: string = "";
  publicKey: KeyInfo = new KeyInfo();
  signature: SigInfo = new SigInfo();
  dnsNames: Array<string> = new Array<string>();
  emails: Array<string> = new Array<string>();

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): CSRInfo {
    const r = new CSRInfo();
    const o = object(v, path);
    if (o === null) return r;
    r.dn = decodeStr(o, "dn", path);
    r.cn = decodeStr(o, "cn", path);
    r.publicKey = KeyInfo.decode(o.get("publicKey"), join(path, "publicKey"));
    r.signature = SigInfo.decode(o.get("signature"), join(path, "signature"));
    r.dnsNames = decodeStrList(o, "dnsNames", path);
    r.emails = decodeStrList(o, "emails", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("dn");
    w.str(this.dn);
    w.key("cn");
    w.str(this.cn);
    w.key("publicKey");
    this.publicKey.encode(w);
    w.key("signature");
    this.signature.encode(w);
    if (this.dnsNames.length > 0) {
      w.key("dnsNames");
      writeStrList(w, this.dnsNames);
    }
    if (this.emails.length > 0) {
      w.key("emails");
      writeStrList(w, this.emails);
    }
    w.objEnd();
  }
}

/** CSRInput: Input of validateCSR and generateCertificate: csr is the base64 of the request's DER; csrInfo and clientData are the host's own. */
export class CSRInput {
  deviceId: string = "";
  csr: string = "";
  userIdentity: UserIdentity = new UserIdentity();
  appId: string = "";
  csrInfo: CSRInfo = new CSRInfo();
  clientData: Value | null = null;

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): CSRInput {
    const r = new CSRInput();
    const o = object(v, path);
    if (o === null) return r;
    r.deviceId = decodeStr(o, "deviceId", path);
    r.csr = decodeStr(o, "csr", path);
    r.userIdentity = UserIdentity.decode(o.get("userIdentity"), join(path, "userIdentity"));
    r.appId = decodeStr(o, "appId", path);
    r.csrInfo = CSRInfo.decode(o.get("csrInfo"), join(path, "csrInfo"));
    r.clientData = decodeAny(o, "clientData", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("deviceId");
    w.str(this.deviceId);
    w.key("csr");
    w.str(this.csr);
    w.key("userIdentity");
    this.userIdentity.encode(w);
    w.key("appId");
    w.str(this.appId);
    w.key("csrInfo");
    this.csrInfo.encode(w);
    if (!anyEmpty(this.clientData)) {
      w.key("clientData");
      w.value(this.clientData);
    }
    w.objEnd();
  }
}

/** GeneratedCertificate: Output of generateCertificate: the DER certificate, base64. */
export class GeneratedCertificate {
  certificateBase64: string = "";

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): GeneratedCertificate {
    const r = new GeneratedCertificate();
    const o = object(v, path);
    if (o === null) return r;
    r.certificateBase64 = decodeStr(o, "certificateBase64", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("certificateBase64");
    w.str(this.certificateBase64);
    w.objEnd();
  }
}

/** Issuer: The issuer of a certificate. */
export class Issuer {
  dn: string = "";
  cn: string = "";
  uniqueId: string = "";

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): Issuer {
    const r = new Issuer();
    const o = object(v, path);
    if (o === null) return r;
    r.dn = decodeStr(o, "dn", path);
    r.cn = decodeStr(o, "cn", path);
    r.uniqueId = decodeStr(o, "uniqueId", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("dn");
    w.str(this.dn);
    w.key("cn");
    w.str(this.cn);
    if (this.uniqueId.length > 0) {
      w.key("uniqueId");
      w.str(this.uniqueId);
    }
    w.objEnd();
  }
}

/** Validity: A validity period in Unix seconds. */
export class Validity {
  notBefore: i64 = 0;
  notAfter: i64 = 0;

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): Validity {
    const r = new Validity();
    const o = object(v, path);
    if (o === null) return r;
    r.notBefore = decodeInt(o, "notBefore", path);
    r.notAfter = decodeInt(o, "notAfter", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("notBefore");
    w.int(this.notBefore);
    w.key("notAfter");
    w.int(this.notAfter);
    w.objEnd();
  }
}

/** Certificate: A certificate as Worklight described it; serialNumber is hex. */
export class Certificate {
  publicKey: KeyInfo = new KeyInfo();
  signature: SigInfo = new SigInfo();
  subjectUniqueId: string = "";
  version: i64 = 0;
  issuer: Issuer = new Issuer();
  dn: string = "";
  cn: string = "";
  valid: Validity = new Validity();
  serialNumber: string = "";
  base64: string = "";

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): Certificate {
    const r = new Certificate();
    const o = object(v, path);
    if (o === null) return r;
    r.publicKey = KeyInfo.decode(o.get("publicKey"), join(path, "publicKey"));
    r.signature = SigInfo.decode(o.get("signature"), join(path, "signature"));
    r.subjectUniqueId = decodeStr(o, "subjectUniqueId", path);
    r.version = decodeInt(o, "version", path);
    r.issuer = Issuer.decode(o.get("issuer"), join(path, "issuer"));
    r.dn = decodeStr(o, "dn", path);
    r.cn = decodeStr(o, "cn", path);
    r.valid = Validity.decode(o.get("valid"), join(path, "valid"));
    r.serialNumber = decodeStr(o, "serialNumber", path);
    r.base64 = decodeStr(o, "base64", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    this.encodeMembers(w);
    w.objEnd();
  }

  /** encodeMembers writes the members alone, for objects that hold them inline. */
  encodeMembers(w: Writer): void {
    w.key("publicKey");
    this.publicKey.encode(w);
    w.key("signature");
    this.signature.encode(w);
    if (this.subjectUniqueId.length > 0) {
      w.key("subjectUniqueId");
      w.str(this.subjectUniqueId);
    }
    w.key("version");
    w.int(this.version);
    w.key("issuer");
    this.issuer.encode(w);
    w.key("dn");
    w.str(this.dn);
    w.key("cn");
    w.str(this.cn);
    w.key("valid");
    this.valid.encode(w);
    w.key("serialNumber");
    w.str(this.serialNumber);
    w.key("base64");
    w.str(this.base64);
  }
}

/** CertificateInput: Input of getIdentityFromCertificate and validateCertificate: the certificate object's own members, and the host's clientData. */
export class CertificateInput {
  certificate: Certificate = new Certificate();
  clientData: Value | null = null;

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): CertificateInput {
    const r = new CertificateInput();
    const o = object(v, path);
    if (o === null) return r;
    r.certificate = Certificate.decode(o, path);
    r.clientData = decodeAny(o, "clientData", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    this.certificate.encodeMembers(w);
    if (!anyEmpty(this.clientData)) {
      w.key("clientData");
      w.value(this.clientData);
    }
    w.objEnd();
  }
}

/** IdentityFromCertificate: Output of getIdentityFromCertificate. */
export class IdentityFromCertificate {
  userName: string = "";
  displayName: string = "";
  attributes: Value | null = null;
  appID: string = "";
  deviceId: string = "";

  /** decode reads v (at path, for error messages); null gives the zero value. */
  static decode(v: Value | null, path: string = ""): IdentityFromCertificate {
    const r = new IdentityFromCertificate();
    const o = object(v, path);
    if (o === null) return r;
    r.userName = decodeStr(o, "userName", path);
    r.displayName = decodeStr(o, "displayName", path);
    r.attributes = decodeAny(o, "attributes", path);
    r.appID = decodeStr(o, "appID", path);
    r.deviceId = decodeStr(o, "deviceId", path);
    return r;
  }

  /** encode writes the value as JSON. */
  encode(w: Writer): void {
    w.objBegin();
    w.key("userName");
    w.str(this.userName);
    if (this.displayName.length > 0) {
      w.key("displayName");
      w.str(this.displayName);
    }
    if (!anyEmpty(this.attributes)) {
      w.key("attributes");
      w.value(this.attributes);
    }
    if (this.appID.length > 0) {
      w.key("appID");
      w.str(this.appID);
    }
    if (this.deviceId.length > 0) {
      w.key("deviceId");
      w.str(this.deviceId);
    }
    w.objEnd();
  }
}

/** verdict returns YES when ok, else NO. */
export function verdict(ok: bool): Valid {
  const v = new Valid();
  v.valid = ok ? YES : NO;
  return v;
}

/** verdictOf returns a Valid with the given verdict string. */
export function verdictOf(s: string): Valid {
  const v = new Valid();
  v.valid = s;
  return v;
}

/** Empty is init's output, {}. */
export class Empty {
  encode(w: Writer): void {
    w.objBegin();
    w.objEnd();
  }
}

// ---- typed procedures ---------------------------------------------------------------------
// Each helper runs one PKI-bridge procedure: the entry file exports
//   export function realmgate_proc_validateCSR(ptr: usize, len: usize): u64 {
//     return pki.validateCSR(ptr, len, checkCSR);
//   }
// and the handler gets the decoded input and returns its output, or null after fail().

function decodeStart(ptr: usize, len: usize): Value | null {
  decodeFailed = false;
  return begin(ptr, len);
}

function output<T>(out: T | null): u64 {
  const w = new Writer();
  if (!hasFailed()) {
    if (out === null) fail("the procedure failed");
    else out.encode(w);
  }
  return finish(w);
}

/** init runs a PKI-bridge init procedure. */
export function init(ptr: usize, len: usize, handler: (input: InitInput) => Empty | null): u64 {
  const v = decodeStart(ptr, len);
  if (v === null) return 0;
  const input = InitInput.decode(v);
  if (decodeFailed) return output<Empty>(null);
  return output<Empty>(handler(input));
}

/** validateIdentity runs a PKI-bridge validateIdentity procedure. */
export function validateIdentity(ptr: usize, len: usize, handler: (input: IdentityInput) => Valid | null): u64 {
  const v = decodeStart(ptr, len);
  if (v === null) return 0;
  const input = IdentityInput.decode(v);
  if (decodeFailed) return output<Valid>(null);
  return output<Valid>(handler(input));
}

/** getCSRRequirements runs a PKI-bridge getCSRRequirements procedure. */
export function getCSRRequirements(ptr: usize, len: usize, handler: (input: IdentityInput) => CSRRequirements | null): u64 {
  const v = decodeStart(ptr, len);
  if (v === null) return 0;
  const input = IdentityInput.decode(v);
  if (decodeFailed) return output<CSRRequirements>(null);
  return output<CSRRequirements>(handler(input));
}

/** validateCSR runs a PKI-bridge validateCSR procedure. */
export function validateCSR(ptr: usize, len: usize, handler: (input: CSRInput) => Valid | null): u64 {
  const v = decodeStart(ptr, len);
  if (v === null) return 0;
  const input = CSRInput.decode(v);
  if (decodeFailed) return output<Valid>(null);
  return output<Valid>(handler(input));
}

/** generateCertificate runs a PKI-bridge generateCertificate procedure. */
export function generateCertificate(ptr: usize, len: usize, handler: (input: CSRInput) => GeneratedCertificate | null): u64 {
  const v = decodeStart(ptr, len);
  if (v === null) return 0;
  const input = CSRInput.decode(v);
  if (decodeFailed) return output<GeneratedCertificate>(null);
  return output<GeneratedCertificate>(handler(input));
}

/** getIdentityFromCertificate runs a PKI-bridge getIdentityFromCertificate procedure. */
export function getIdentityFromCertificate(ptr: usize, len: usize, handler: (input: CertificateInput) => IdentityFromCertificate | null): u64 {
  const v = decodeStart(ptr, len);
  if (v === null) return 0;
  const input = CertificateInput.decode(v);
  if (decodeFailed) return output<IdentityFromCertificate>(null);
  return output<IdentityFromCertificate>(handler(input));
}

/** validateCertificate runs a PKI-bridge validateCertificate procedure. */
export function validateCertificate(ptr: usize, len: usize, handler: (input: CertificateInput) => Valid | null): u64 {
  const v = decodeStart(ptr, len);
  if (v === null) return 0;
  const input = CertificateInput.decode(v);
  if (decodeFailed) return output<Valid>(null);
  return output<Valid>(handler(input));
}
