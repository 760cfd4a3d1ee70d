//! Guest SDK for Realmgate wasm adapters, ABI version 1 (`sdk-wasm/ABI.md`).
//!
//! An adapter is a `cdylib` built for `wasm32-wasi`. The author writes procedures as plain
//! functions from a deserializable input to a serializable output and exports each with
//! [`procedure!`] (or a typed PKI-bridge macro such as [`pki_validate_csr!`]); this crate
//! provides the ABI exports (`realmgate_abi_version`, `realmgate_alloc`, `realmgate_free`,
//! `_initialize`), the host functions ([`log`], [`config`], [`http`]), the PKI-bridge types
//! of `adapters/pki.go` ([`pki`]) and the four procedures of the host's conformance suite
//! ([`conformance`], exported with [`conformance_procedures!`]).
//!
//! ```ignore
//! use realmgate::{procedure, pki, Result};
//!
//! fn validate_csr(input: pki::CsrInput) -> Result<pki::Valid> {
//!     Ok(pki::Valid::from_bool(input.csr_info.cn == input.user_identity.user_name))
//! }
//! realmgate::pki_validate_csr!(validateCSR => validate_csr);
//! ```
//!
//! A procedure fails by returning an [`Error`]; its message reaches the caller, so it must not
//! carry secrets. A panic also fails the call (with the panic message) and discards the
//! instance.

use std::collections::BTreeMap;
use std::fmt;

pub mod base64;
pub mod conformance;
pub mod pki;
pub mod once;
pub use once::once;

pub use serde;
pub use serde_json;
pub use serde_json::{Map, Value};

/// The ABI version this crate implements.
pub const ABI_VERSION: i32 = 1;

/// A failed call: the message is what the caller of the procedure sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// Makes an error with a message a person can act on.
    pub fn new(message: impl Into<String>) -> Self {
        Error { message: message.into() }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::new(e.to_string())
    }
}

/// The result of a procedure.
pub type Result<T> = std::result::Result<T, Error>;

/// Returns early from a procedure with a formatted [`Error`].
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => {
        return ::core::result::Result::Err($crate::Error::new(format!($($arg)*)))
    };
}

/// Exports `handler` as the procedure `name`: `procedure!(echo => echo_fn)` exports
/// `realmgate_proc_echo`. The handler is any `Fn(I) -> Result<O>` with `I: Deserialize` and
/// `O: Serialize`; use [`Value`] for untyped JSON.
#[macro_export]
macro_rules! procedure {
    ($name:ident => $handler:expr) => {
        const _: () = {
            #[export_name = concat!("realmgate_proc_", stringify!($name))]
            pub extern "C" fn __realmgate_proc(ptr: *const u8, len: usize) -> u64 {
                $crate::__private::dispatch(ptr, len, $handler)
            }
        };
    };
}

/// Exports `handler` as the procedure `name` on raw JSON bytes: the handler gets the input as
/// the host sent it and returns the output's JSON text, which the host checks. For procedures
/// that pass JSON through untouched (whitespace and number spelling included).
#[macro_export]
macro_rules! procedure_raw {
    ($name:ident => $handler:path) => {
        const _: () = {
            #[export_name = concat!("realmgate_proc_", stringify!($name))]
            pub extern "C" fn __realmgate_proc(ptr: *const u8, len: usize) -> u64 {
                let f: fn(&[u8]) -> $crate::Result<Vec<u8>> = $handler;
                $crate::__private::dispatch_raw(ptr, len, f)
            }
        };
    };
}

/// Exports a PKI-bridge `init` procedure; the handler must be
/// `fn(pki::InitInput) -> Result<pki::Empty>`. The name is the one the realm configuration uses.
#[macro_export]
macro_rules! pki_init {
    ($name:ident => $handler:path) => {
        const _: () = {
            #[export_name = concat!("realmgate_proc_", stringify!($name))]
            pub extern "C" fn __realmgate_proc(ptr: *const u8, len: usize) -> u64 {
                let f: fn($crate::pki::InitInput) -> $crate::Result<$crate::pki::Empty> = $handler;
                $crate::__private::dispatch_object(ptr, len, f)
            }
        };
    };
}

/// Exports a PKI-bridge `validateIdentity` procedure; the handler must be
/// `fn(pki::IdentityInput) -> Result<pki::Valid>`. The name is the one the realm configuration uses.
#[macro_export]
macro_rules! pki_validate_identity {
    ($name:ident => $handler:path) => {
        const _: () = {
            #[export_name = concat!("realmgate_proc_", stringify!($name))]
            pub extern "C" fn __realmgate_proc(ptr: *const u8, len: usize) -> u64 {
                let f: fn($crate::pki::IdentityInput) -> $crate::Result<$crate::pki::Valid> = $handler;
                $crate::__private::dispatch_object(ptr, len, f)
            }
        };
    };
}

/// Exports a PKI-bridge `getCSRRequirements` procedure; the handler must be
/// `fn(pki::IdentityInput) -> Result<pki::CsrRequirements>`. The name is the one the realm configuration uses.
#[macro_export]
macro_rules! pki_csr_requirements {
    ($name:ident => $handler:path) => {
        const _: () = {
            #[export_name = concat!("realmgate_proc_", stringify!($name))]
            pub extern "C" fn __realmgate_proc(ptr: *const u8, len: usize) -> u64 {
                let f: fn($crate::pki::IdentityInput) -> $crate::Result<$crate::pki::CsrRequirements> = $handler;
                $crate::__private::dispatch_object(ptr, len, f)
            }
        };
    };
}

/// Exports a PKI-bridge `validateCSR` procedure; the handler must be
/// `fn(pki::CsrInput) -> Result<pki::Valid>`. The name is the one the realm configuration uses.
#[macro_export]
macro_rules! pki_validate_csr {
    ($name:ident => $handler:path) => {
        const _: () = {
            #[export_name = concat!("realmgate_proc_", stringify!($name))]
            pub extern "C" fn __realmgate_proc(ptr: *const u8, len: usize) -> u64 {
                let f: fn($crate::pki::CsrInput) -> $crate::Result<$crate::pki::Valid> = $handler;
                $crate::__private::dispatch_object(ptr, len, f)
            }
        };
    };
}

/// Exports a PKI-bridge `generateCertificate` procedure; the handler must be
/// `fn(pki::CsrInput) -> Result<pki::GeneratedCertificate>`. The name is the one the realm configuration uses.
#[macro_export]
macro_rules! pki_generate_certificate {
    ($name:ident => $handler:path) => {
        const _: () = {
            #[export_name = concat!("realmgate_proc_", stringify!($name))]
            pub extern "C" fn __realmgate_proc(ptr: *const u8, len: usize) -> u64 {
                let f: fn($crate::pki::CsrInput) -> $crate::Result<$crate::pki::GeneratedCertificate> = $handler;
                $crate::__private::dispatch_object(ptr, len, f)
            }
        };
    };
}

/// Exports a PKI-bridge `getIdentityFromCertificate` procedure; the handler must be
/// `fn(pki::CertificateInput) -> Result<pki::IdentityFromCertificate>`. The name is the one the realm configuration uses.
#[macro_export]
macro_rules! pki_identity_from_certificate {
    ($name:ident => $handler:path) => {
        const _: () = {
            #[export_name = concat!("realmgate_proc_", stringify!($name))]
            pub extern "C" fn __realmgate_proc(ptr: *const u8, len: usize) -> u64 {
                let f: fn($crate::pki::CertificateInput) -> $crate::Result<$crate::pki::IdentityFromCertificate> = $handler;
                $crate::__private::dispatch_object(ptr, len, f)
            }
        };
    };
}

/// Exports a PKI-bridge `validateCertificate` procedure; the handler must be
/// `fn(pki::CertificateInput) -> Result<pki::Valid>`. The name is the one the realm configuration uses.
#[macro_export]
macro_rules! pki_validate_certificate {
    ($name:ident => $handler:path) => {
        const _: () = {
            #[export_name = concat!("realmgate_proc_", stringify!($name))]
            pub extern "C" fn __realmgate_proc(ptr: *const u8, len: usize) -> u64 {
                let f: fn($crate::pki::CertificateInput) -> $crate::Result<$crate::pki::Valid> = $handler;
                $crate::__private::dispatch_object(ptr, len, f)
            }
        };
    };
}

/// Log levels, as the host's slog levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug = -4,
    Info = 0,
    Warn = 4,
    Error = 8,
}

/// Writes one log record with message `msg`.
pub fn log(level: Level, msg: &str) {
    log_attrs(level, msg, &[]);
}

/// Writes one log record with message `msg` and string attributes.
pub fn log_attrs(level: Level, msg: &str, attrs: &[(&str, &str)]) {
    // Always a JSON object: plain text that happens to look like JSON would be read as one.
    let mut rec = Map::new();
    rec.insert("msg".into(), Value::String(msg.into()));
    for (k, v) in attrs {
        rec.insert((*k).into(), Value::String((*v).into()));
    }
    if let Ok(b) = serde_json::to_vec(&rec) {
        unsafe { host::log(level as i32, b.as_ptr(), b.len()) };
    }
}

/// The adapter's configuration: its settings plus `"adapter"` (its name).
pub type Config = BTreeMap<String, String>;

/// Reads the adapter's configuration from the host.
pub fn config() -> Result<Config> {
    let n = unsafe { host::config() };
    let raw = take_result(n)?;
    serde_json::from_slice(&raw).map_err(|e| Error::new(format!("config: {}", e)))
}

fn take_result(n: i32) -> Result<Vec<u8>> {
    if n < 0 {
        return Err(Error::new("the host returned no result"));
    }
    let mut buf = vec![0u8; n as usize];
    let got = unsafe { host::result(buf.as_mut_ptr(), buf.len()) };
    if got < 0 || got > n {
        return Err(Error::new("the host returned a broken result"));
    }
    buf.truncate(got as usize);
    Ok(buf)
}

/// An outbound HTTP request; only hosts on the adapter's allow-list are reachable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest { method: "GET".into(), url: url.into(), ..Default::default() }
    }

    /// A POST request with a body.
    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        HttpRequest { method: "POST".into(), url: url.into(), body: body.into(), ..Default::default() }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
}

/// The response to an [`HttpRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Decodes the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::new(format!("http: response body: {}", e)))
    }
}

#[derive(serde::Serialize)]
struct WireRequest<'a> {
    method: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(rename = "bodyBase64", skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
}

#[derive(serde::Deserialize)]
struct WireResponse {
    #[serde(default)]
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(rename = "bodyBase64", default)]
    body_base64: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Performs one request through the host. Any status is a success; a refused or failed
/// request is an error carrying the host's reason.
pub fn http(req: &HttpRequest) -> Result<HttpResponse> {
    let (body, body_base64) = match std::str::from_utf8(&req.body) {
        _ if req.body.is_empty() => (None, None),
        Ok(s) => (Some(s), None),
        Err(_) => (None, Some(base64::encode(&req.body))),
    };
    let method = if req.method.is_empty() { "GET" } else { &req.method };
    let wire = WireRequest { method, url: &req.url, headers: &req.headers, body, body_base64 };
    let b = serde_json::to_vec(&wire)?;
    let n = unsafe { host::http(b.as_ptr(), b.len()) };
    let raw = take_result(n)?;
    let resp: WireResponse =
        serde_json::from_slice(&raw).map_err(|e| Error::new(format!("http: unreadable response: {}", e)))?;
    if let Some(e) = resp.error {
        return Err(Error::new(format!("http: {}", e)));
    }
    let body = match (resp.body, resp.body_base64) {
        (_, Some(b)) => base64::decode(&b).ok_or_else(|| Error::new("http: bad bodyBase64"))?,
        (Some(s), None) => s.into_bytes(),
        (None, None) => Vec::new(),
    };
    Ok(HttpResponse { status: resp.status, headers: resp.headers, body })
}

/// The host PKI capability (ABI.md, "Host PKI"): the host parses CSRs and signs certificate
/// templates with a key it holds, which never enters the module's memory. The adapter needs
/// `<capability name="pki" ca="..."/>` in its `<backend>`; without it every call is an error
/// carrying the host's reason.
pub mod host_pki {
    use super::{host, take_result, Error, Result};
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;

    /// A CSR's public key: algorithm (`EC`, `RSA`, `Ed25519`), base64 SubjectPublicKeyInfo,
    /// RFC 7638 thumbprint (base64url) and SHA-256 of the SubjectPublicKeyInfo (base64).
    #[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
    #[serde(default)]
    pub struct KeyInfo {
        pub base64: String,
        pub algorithm: String,
        pub thumbprint: String,
        #[serde(rename = "spkiSha256")]
        pub spki_sha256: String,
    }

    /// An X.509 extension: dotted OID, criticality, base64 DER value.
    #[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
    #[serde(default)]
    pub struct Extension {
        pub oid: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pub critical: bool,
        #[serde(rename = "valueBase64")]
        pub value_base64: String,
    }

    /// What the host parsed from a CSR whose signature it verified.
    #[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
    #[serde(default)]
    pub struct ParsedCsr {
        pub dn: String,
        pub cn: String,
        #[serde(rename = "publicKey")]
        pub public_key: KeyInfo,
        #[serde(rename = "dnsNames")]
        pub dns_names: Vec<String>,
        pub emails: Vec<String>,
        pub uris: Vec<String>,
        pub extensions: Vec<Extension>,
        pub attributes: BTreeMap<String, String>,
    }

    /// A certificate's subject: CN=common_name plus additional_subject ({"O": "Example"}).
    #[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
    pub struct Subject {
        #[serde(rename = "commonName")]
        pub common_name: String,
        #[serde(rename = "additionalSubject", skip_serializing_if = "BTreeMap::is_empty")]
        pub additional_subject: BTreeMap<String, String>,
    }

    /// What a bridge asks the host to sign; the certified key is the CSR's (base64 DER).
    /// validity_days 0 is the host's default within the grant; empty usages take the host's
    /// defaults (digitalSignature, clientAuth); is_ca is refused unless the grant allows it.
    #[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
    pub struct CertificateTemplate {
        pub csr: String,
        pub subject: Subject,
        #[serde(rename = "validityDays", skip_serializing_if = "is_zero")]
        pub validity_days: u32,
        #[serde(rename = "keyUsage", skip_serializing_if = "Vec::is_empty")]
        pub key_usage: Vec<String>,
        #[serde(rename = "extKeyUsage", skip_serializing_if = "Vec::is_empty")]
        pub ext_key_usage: Vec<String>,
        #[serde(rename = "dnsNames", skip_serializing_if = "Vec::is_empty")]
        pub dns_names: Vec<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub emails: Vec<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub uris: Vec<String>,
        #[serde(rename = "isCA", skip_serializing_if = "std::ops::Not::not")]
        pub is_ca: bool,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub extensions: Vec<Extension>,
    }

    fn is_zero(v: &u32) -> bool {
        *v == 0
    }

    /// The host's answer to a template: the DER certificate (base64), its serial number
    /// (lower-case hex, chosen by the host) and validity (Unix seconds).
    #[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
    #[serde(default)]
    pub struct SignedCertificate {
        #[serde(rename = "certificateBase64")]
        pub certificate_base64: String,
        #[serde(rename = "serialNumber")]
        pub serial_number: String,
        #[serde(rename = "notBefore")]
        pub not_before: i64,
        #[serde(rename = "notAfter")]
        pub not_after: i64,
    }

    /// The host's answer to verify.
    #[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
    #[serde(default)]
    pub struct Verification {
        pub valid: bool,
        pub reason: String,
    }

    #[derive(Deserialize)]
    struct Refusal {
        error: Option<String>,
    }

    fn call<T: serde::de::DeserializeOwned>(req: &serde_json::Value) -> Result<T> {
        let b = serde_json::to_vec(req)?;
        let n = unsafe { host::pki(b.as_ptr(), b.len()) };
        let raw = take_result(n)?;
        let refusal: Refusal =
            serde_json::from_slice(&raw).map_err(|e| Error::new(format!("pki: unreadable answer: {}", e)))?;
        if let Some(e) = refusal.error {
            return Err(Error::new(format!("pki: {}", e)));
        }
        serde_json::from_slice(&raw).map_err(|e| Error::new(format!("pki: unreadable answer: {}", e)))
    }

    /// Has the host parse the CSR (base64 DER) and verify its signature.
    pub fn parse_csr(csr_base64: &str) -> Result<ParsedCsr> {
        call(&serde_json::json!({"op": "parseCSR", "csr": csr_base64}))
    }

    /// Has the host sign the template with the adapter's host-held key.
    pub fn sign_certificate(t: &CertificateTemplate) -> Result<SignedCertificate> {
        let mut req = serde_json::to_value(t)?;
        req["op"] = "sign".into();
        call(&req)
    }

    /// Asks the host whether the certificate (base64 DER) was signed by the adapter's
    /// host-held key and is valid now.
    pub fn verify_certificate(certificate_base64: &str) -> Result<Verification> {
        call(&serde_json::json!({"op": "verify", "certificate": certificate_base64}))
    }
}

/// The host functions (import module `realmgate`).
mod host {
    #[link(wasm_import_module = "realmgate")]
    extern "C" {
        pub fn fail(ptr: *const u8, len: usize);
        pub fn log(level: i32, ptr: *const u8, len: usize);
        pub fn config() -> i32;
        pub fn http(ptr: *const u8, len: usize) -> i32;
        pub fn pki(ptr: *const u8, len: usize) -> i32;
        pub fn result(ptr: *mut u8, len: usize) -> i32;
    }
}

/// The ABI exports and the dispatcher the macros expand to. Not for direct use.
#[doc(hidden)]
pub mod __private {
    use super::*;
    use std::alloc::{alloc, dealloc, Layout};

    extern "C" {
        // Synthesized by the linker: runs the static constructors of libc and std.
        fn __wasm_call_ctors();
    }

    /// Runs the constructors once, as a WASI reactor does, and routes panics to
    /// `realmgate.fail` so the caller sees the panic message. Calling the constructors here
    /// also stops the linker from wrapping every export in them.
    #[export_name = "_initialize"]
    pub extern "C" fn initialize() {
        unsafe { __wasm_call_ctors() };
        std::panic::set_hook(Box::new(|info| {
            let msg = match info.payload().downcast_ref::<&str>() {
                Some(s) => (*s).to_string(),
                None => match info.payload().downcast_ref::<String>() {
                    Some(s) => s.clone(),
                    None => "unknown".into(),
                },
            };
            let msg = format!("panic: {}", msg);
            unsafe { host::fail(msg.as_ptr(), msg.len()) };
        }));
    }

    #[export_name = "realmgate_abi_version"]
    pub extern "C" fn abi_version() -> i32 {
        ABI_VERSION
    }

    #[export_name = "realmgate_alloc"]
    pub extern "C" fn realmgate_alloc(size: usize) -> *mut u8 {
        if size == 0 {
            return 1 as *mut u8; // never dereferenced, never freed
        }
        match Layout::from_size_align(size, 1) {
            Ok(l) => unsafe { alloc(l) },
            Err(_) => std::ptr::null_mut(),
        }
    }

    #[export_name = "realmgate_free"]
    pub extern "C" fn realmgate_free(ptr: *mut u8, size: usize) {
        if size == 0 || ptr.is_null() {
            return;
        }
        if let Ok(l) = Layout::from_size_align(size, 1) {
            unsafe { dealloc(ptr, l) };
        }
    }

    /// Runs one raw call: the handler sees the input bytes and returns the output bytes.
    pub fn dispatch_raw(ptr: *const u8, len: usize, f: fn(&[u8]) -> Result<Vec<u8>>) -> u64 {
        let input: &[u8] = if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(ptr, len) } };
        finish(f(input))
    }

    /// Runs one call whose input must be a JSON object (or null), as Go requires of a struct:
    /// serde's derive would also take an array of the fields.
    pub fn dispatch_object<I, O, F>(ptr: *const u8, len: usize, f: F) -> u64
    where
        I: serde::de::DeserializeOwned,
        O: serde::Serialize,
        F: FnOnce(I) -> Result<O>,
    {
        let input: &[u8] = if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(ptr, len) } };
        match input.iter().find(|b| !b" \t\r\n".contains(b)) {
            Some(b'{') | Some(b'n') => dispatch(ptr, len, f),
            _ => finish(Err(Error::new("input: want a JSON object"))),
        }
    }

    /// Runs one call: decode, handle, encode, and hand the output to the host, which frees it
    /// with `realmgate_free(ptr, len)` (a boxed slice's layout is exactly (len, 1)).
    pub fn dispatch<I, O, F>(ptr: *const u8, len: usize, f: F) -> u64
    where
        I: serde::de::DeserializeOwned,
        O: serde::Serialize,
        F: FnOnce(I) -> Result<O>,
    {
        let input: &[u8] = if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(ptr, len) } };
        let result = serde_json::from_slice::<I>(input)
            .map_err(|e| Error::new(format!("input: {}", e)))
            .and_then(f)
            .and_then(|o| serde_json::to_vec(&o).map_err(|e| Error::new(format!("output: {}", e))));
        finish(result)
    }

    /// Hands the output to the host (packed pointer and length), or fails the call.
    fn finish(result: Result<Vec<u8>>) -> u64 {
        match result {
            Ok(out) => {
                let out = out.into_boxed_slice();
                let n = out.len();
                let p = Box::into_raw(out) as *mut u8;
                ((p as usize as u64) << 32) | n as u64
            }
            Err(e) => {
                let msg = if e.message.is_empty() { "the procedure failed" } else { &e.message };
                unsafe { host::fail(msg.as_ptr(), msg.len()) };
                0
            }
        }
    }
}
