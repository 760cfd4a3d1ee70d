// abi.ts: the ABI exports, the host functions and the call dispatcher (sdk-wasm/ABI.md).

import { Kind, parse, parseError, parseString, Value, Writer } from "./json";

// ---- host functions (import module "realmgate") -------------------------------------------

@external("realmgate", "fail")
declare function hostFail(ptr: usize, len: usize): void;
@external("realmgate", "log")
declare function hostLog(level: i32, ptr: usize, len: usize): void;
@external("realmgate", "config")
declare function hostConfig(): i32;
@external("realmgate", "http")
declare function hostHTTP(ptr: usize, len: usize): i32;
@external("realmgate", "pki")
declare function hostPKI(ptr: usize, len: usize): i32;
@external("realmgate", "result")
declare function hostResult(ptr: usize, len: usize): i32;

// ---- exports (the entry file re-exports them: export * from "./realmgate/exports") ---------

export const ABI_VERSION: i32 = 1;

export function realmgate_abi_version(): i32 {
  return ABI_VERSION;
}

/** realmgate_alloc returns raw heap memory, which the garbage collector does not track. */
export function realmgate_alloc(size: usize): usize {
  return heap.alloc(size > 0 ? size : 1);
}

export function realmgate_free(ptr: usize, size: usize): void {
  if (ptr != 0) heap.free(ptr);
}

// ---- failing ------------------------------------------------------------------------------

let failed = false;

/** fail records msg as the call's failure message; the procedure then returns null. The
 * message reaches the caller: keep secrets out of it. */
export function fail(msg: string): void {
  failed = true;
  if (msg.length == 0) msg = "the procedure failed";
  const b = String.UTF8.encode(msg);
  hostFail(changetype<usize>(b), <usize>b.byteLength);
}

/** hasFailed reports whether the current call has failed. */
export function hasFailed(): bool {
  return failed;
}

// ---- dispatch -----------------------------------------------------------------------------

/** begin starts a call: it parses the input, or fails the call and returns null. */
export function begin(ptr: usize, len: usize): Value | null {
  failed = false;
  const v = parse(ptr, len);
  if (v === null) fail("input is not valid JSON: " + parseError);
  return v;
}

/** finish hands w's buffer to the host as the call's result (the host frees it with
 * realmgate_free), or fails the call. */
export function finish(w: Writer): u64 {
  if (failed) {
    w.release();
    return 0;
  }
  if (w.len == 0 && !w.err && w.depth == 0) {
    w.objBegin();
    w.objEnd();
  }
  if (w.err || w.depth != 0) {
    w.release();
    fail("output: the procedure wrote malformed JSON");
    return 0;
  }
  return (<u64>w.ptr << 32) | <u64>w.len;
}

/** handle runs a procedure on JSON values. fn returns its output, or null after fail(). */
export function handle(ptr: usize, len: usize, fn: (input: Value) => Value | null): u64 {
  const input = begin(ptr, len);
  if (input === null) return 0;
  const out = fn(input);
  if (failed) return 0;
  if (out === null) {
    fail("the procedure failed");
    return 0;
  }
  const w = new Writer();
  w.value(out);
  return finish(w);
}

/** handleWriter runs a procedure that writes its output itself: fn returns false after fail(). */
export function handleWriter(ptr: usize, len: usize, fn: (input: Value, out: Writer) => bool): u64 {
  const input = begin(ptr, len);
  if (input === null) return 0;
  const w = new Writer();
  if (!fn(input, w) && !failed) fail("the procedure failed");
  return finish(w);
}

/** handleRaw runs a procedure on the raw input bytes (as the host sent them, already checked
 * to be JSON); fn writes JSON text into out and returns false after fail(). */
export function handleRaw(ptr: usize, len: usize, fn: (ptr: usize, len: usize, out: Writer) => bool): u64 {
  failed = false;
  const w = new Writer();
  if (!fn(ptr, len, w) && !failed) fail("the procedure failed");
  return finish(w);
}

// ---- logging ------------------------------------------------------------------------------

export enum Level {
  Debug = -4,
  Info = 0,
  Warn = 4,
  Error = 8,
}

/** log writes one record with message msg and, optionally, string attributes given as
 * alternating keys and values. */
export function log(level: Level, msg: string, attrs: Array<string> | null = null): void {
  // Always a JSON object: plain text that happens to look like JSON would be read as one.
  const w = new Writer();
  w.objBegin();
  w.key("msg");
  w.str(msg);
  if (attrs !== null) {
    for (let i = 0; i + 1 < attrs.length; i += 2) {
      w.key(attrs[i]);
      w.str(attrs[i + 1]);
    }
  }
  w.objEnd();
  if (!w.err) hostLog(<i32>level, w.ptr, w.len);
  w.release();
}

// ---- host results -------------------------------------------------------------------------

function takeResult(n: i32): Value | null {
  if (n < 0) return null;
  const buf = heap.alloc(<usize>n + 1);
  const got = hostResult(buf, <usize>n);
  let v: Value | null = null;
  if (got >= 0 && got <= n) v = parse(buf, <usize>got);
  heap.free(buf);
  return v;
}

/** config returns the adapter's configuration object (its settings plus "adapter"), or null
 * after failing the call when the host sent something unreadable. */
export function config(): Value | null {
  const v = takeResult(hostConfig());
  if (v === null || v.kind != Kind.Object) {
    fail("config: the host returned no configuration object");
    return null;
  }
  return v;
}

/** configGet returns one setting, or "". */
export function configGet(key: string): string {
  const c = config();
  return c === null ? "" : c.getString(key);
}

/** An outbound HTTP request; only hosts on the adapter's allow-list are reachable. */
export class HTTPRequest {
  method: string = "GET";
  url: string = "";
  headers: Map<string, string> = new Map<string, string>();
  body: string = "";
}

export class HTTPResponse {
  status: i32 = 0;
  headers: Value | null = null;
  /** The body as text (a binary body arrives as base64 in bodyBase64). */
  body: string = "";
  bodyBase64: string = "";
}

/** http performs one request through the host; any status is a success. It returns null after
 * failing the call with the host's reason when the request was refused or failed. */
export function http(req: HTTPRequest): HTTPResponse | null {
  const w = new Writer();
  w.objBegin();
  w.key("method");
  w.str(req.method);
  w.key("url");
  w.str(req.url);
  const names = req.headers.keys();
  if (names.length > 0) {
    w.key("headers");
    w.objBegin();
    for (let i = 0; i < names.length; i++) {
      w.key(names[i]);
      w.str(req.headers.get(names[i]));
    }
    w.objEnd();
  }
  if (req.body.length > 0) {
    w.key("body");
    w.str(req.body);
  }
  w.objEnd();
  const n = hostHTTP(w.ptr, w.len);
  w.release();
  const v = takeResult(n);
  if (v === null || v.kind != Kind.Object) {
    fail("http: the host returned no response");
    return null;
  }
  const e = v.get("error");
  if (e !== null && e.kind == Kind.String) {
    fail("http: " + e.text);
    return null;
  }
  const resp = new HTTPResponse();
  const status = v.get("status");
  resp.status = status === null ? 0 : <i32>status.asI64();
  resp.headers = v.get("headers");
  resp.body = v.getString("body");
  resp.bodyBase64 = v.getString("bodyBase64");
  return resp;
}

// ---- host PKI (ABI.md, "Host PKI") --------------------------------------------------------
// The host parses CSRs and signs certificate templates with a key it holds, which never enters
// the module's memory. The adapter needs <capability name="pki" ca="..."/> in its <backend>;
// without it every call fails the procedure with the host's reason after "pki: ".

/** pki sends one request (a JSON object with "op": "parseCSR", "sign" or "verify") and returns
 * the host's answer object, or null after failing the call with the host's reason. */
export function pki(request: Writer): Value | null {
  const n = hostPKI(request.ptr, request.len);
  request.release();
  const v = takeResult(n);
  if (v === null || v.kind != Kind.Object) {
    fail("pki: the host returned no answer");
    return null;
  }
  const e = v.get("error");
  if (e !== null && e.kind == Kind.String) {
    fail("pki: " + e.text);
    return null;
  }
  return v;
}

/** What the host parsed from a CSR whose signature it verified; object is the whole answer
 * (names, extensions, attributes). */
export class ParsedCSR {
  dn: string = "";
  cn: string = "";
  keyAlgorithm: string = "";
  /** RFC 7638 JWK thumbprint of the key, base64url. */
  thumbprint: string = "";
  /** SHA-256 of the SubjectPublicKeyInfo, base64. */
  spkiSha256: string = "";
  object: Value | null = null;
}

/** parseCSR has the host parse a CSR (base64 DER) and verify its signature. */
export function parseCSR(csrBase64: string): ParsedCSR | null {
  const w = new Writer();
  w.objBegin();
  w.key("op");
  w.str("parseCSR");
  w.key("csr");
  w.str(csrBase64);
  w.objEnd();
  const v = pki(w);
  if (v === null) return null;
  const out = new ParsedCSR();
  out.dn = v.getString("dn");
  out.cn = v.getString("cn");
  const key = v.get("publicKey");
  if (key !== null) {
    out.keyAlgorithm = key.getString("algorithm");
    out.thumbprint = key.getString("thumbprint");
    out.spkiSha256 = key.getString("spkiSha256");
  }
  out.object = v;
  return out;
}

/** What a bridge asks the host to sign: the certified key is the CSR's (base64 DER).
 * validityDays 0 is the host's default within the grant; empty usages take the host's defaults
 * (digitalSignature, clientAuth); isCA is refused unless the grant allows it. */
export class CertificateTemplate {
  csr: string = "";
  commonName: string = "";
  additionalSubject: Map<string, string> = new Map<string, string>();
  validityDays: i32 = 0;
  keyUsage: string[] = [];
  extKeyUsage: string[] = [];
  isCA: bool = false;
}

/** The host's answer to a template: the DER certificate (base64) and its serial number. */
export class SignedCertificate {
  certificateBase64: string = "";
  serialNumber: string = "";
  notBefore: i64 = 0;
  notAfter: i64 = 0;
}

function names(w: Writer, key: string, list: string[]): void {
  if (list.length == 0) return;
  w.key(key);
  w.arrBegin();
  for (let i = 0; i < list.length; i++) w.str(list[i]);
  w.arrEnd();
}

/** signCertificate has the host sign t with the adapter's host-held key. */
export function signCertificate(t: CertificateTemplate): SignedCertificate | null {
  const w = new Writer();
  w.objBegin();
  w.key("op");
  w.str("sign");
  w.key("csr");
  w.str(t.csr);
  w.key("subject");
  w.objBegin();
  w.key("commonName");
  w.str(t.commonName);
  const types = t.additionalSubject.keys();
  if (types.length > 0) {
    w.key("additionalSubject");
    w.objBegin();
    for (let i = 0; i < types.length; i++) {
      w.key(types[i]);
      w.str(t.additionalSubject.get(types[i]));
    }
    w.objEnd();
  }
  w.objEnd();
  if (t.validityDays != 0) {
    w.key("validityDays");
    w.int(t.validityDays);
  }
  names(w, "keyUsage", t.keyUsage);
  names(w, "extKeyUsage", t.extKeyUsage);
  if (t.isCA) {
    w.key("isCA");
    w.boolean(true);
  }
  w.objEnd();
  const v = pki(w);
  if (v === null) return null;
  const out = new SignedCertificate();
  out.certificateBase64 = v.getString("certificateBase64");
  out.serialNumber = v.getString("serialNumber");
  const nb = v.get("notBefore");
  const na = v.get("notAfter");
  out.notBefore = nb === null ? 0 : nb.asI64();
  out.notAfter = na === null ? 0 : na.asI64();
  if (out.certificateBase64.length == 0) {
    fail("pki: the host's answer has no certificate");
    return null;
  }
  return out;
}

/** parseJSON parses JSON text, for HTTP bodies and the like; null when it is not JSON. */
export function parseJSON(s: string): Value | null {
  return parseString(s);
}
