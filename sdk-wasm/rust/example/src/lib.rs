//! An example Realmgate adapter written with the Rust SDK: the core conformance procedures
//! (echo, fail, config, log, from `realmgate::conformance`), a PKI bridge that does not sign
//! (init, validateIdentity, getCSRRequirements, validateCSR, getIdentityFromCertificate,
//! validateCertificate) and roundtrip, which decodes and re-encodes one PKI-bridge type so that
//! tests can check the SDK's JSON names against adapters/pki.go.

use realmgate::pki::{self, Valid};
use realmgate::{fail, procedure, Level, Result, Value};
use serde::Deserialize;

// echo, fail, config and log: the core conformance procedures, from the SDK.
realmgate::conformance_procedures!();

/// reencode returns its input decoded into a serde_json Value and encoded again.
fn reencode(input: Value) -> Result<Value> {
    Ok(input)
}
procedure!(reencode => reencode);

#[derive(Deserialize)]
struct OnceInput {
    #[serde(default)]
    key: String,
    #[serde(default)]
    ttl: u64,
}

/// once marks a key used through the host's single-use store: input {"key", "ttl"} (seconds),
/// output {"first": bool}; the SDK's error fails the call.
fn once(input: OnceInput) -> Result<Value> {
    let first = realmgate::once(input.key.as_bytes(), std::time::Duration::from_secs(input.ttl))?;
    Ok(serde_json::json!({ "first": first }))
}
procedure!(once => once);

#[derive(Deserialize)]
struct FetchInput {
    url: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    body: String,
}

/// fetch makes one outbound request through the host: input {"url", "method", "body"}, output
/// {"status", "body", "echo"} (echo: the response's X-Echo header). The host allows only the
/// adapter's allow-list.
fn fetch(input: FetchInput) -> Result<Value> {
    let mut req = realmgate::HttpRequest::get(input.url).header("X-Realmgate-Example", "fetch");
    if !input.method.is_empty() {
        req.method = input.method;
    }
    req.body = input.body.into_bytes();
    let resp = realmgate::http(&req)?;
    Ok(serde_json::json!({
        "status": resp.status,
        "body": String::from_utf8_lossy(&resp.body),
        "echo": resp.headers.get("X-Echo").cloned().unwrap_or_default(),
    }))
}
procedure!(fetch => fetch);

#[derive(Deserialize)]
struct CsrInput {
    csr: String,
}

/// parse_csr has the host parse a CSR: input {"csr"}, output {"cn", "algorithm", "thumbprint"}.
fn parse_csr(input: CsrInput) -> Result<Value> {
    let csr = realmgate::host_pki::parse_csr(&input.csr)?;
    Ok(serde_json::json!({"cn": csr.cn, "algorithm": csr.public_key.algorithm, "thumbprint": csr.public_key.thumbprint}))
}
procedure!(parseCSR => parse_csr);

#[derive(Deserialize)]
struct SignInput {
    csr: String,
    #[serde(rename = "commonName")]
    common_name: String,
    #[serde(rename = "validityDays", default)]
    validity_days: u32,
    #[serde(rename = "isCA", default)]
    is_ca: bool,
}

/// sign has the host sign a certificate for the CSR's key with its held key: input {"csr",
/// "commonName", "validityDays", "isCA"}, output {"certificateBase64", "serialNumber"}.
fn sign(input: SignInput) -> Result<Value> {
    use realmgate::host_pki::{sign_certificate, CertificateTemplate, Subject};
    let signed = sign_certificate(&CertificateTemplate {
        csr: input.csr,
        subject: Subject { common_name: input.common_name, ..Default::default() },
        validity_days: input.validity_days,
        key_usage: vec!["digitalSignature".into()],
        is_ca: input.is_ca,
        ..Default::default()
    })?;
    Ok(serde_json::json!({"certificateBase64": signed.certificate_base64, "serialNumber": signed.serial_number}))
}
procedure!(sign => sign);

// ---- PKI bridge ----------------------------------------------------------------------------

fn init(input: pki::InitInput) -> Result<pki::Empty> {
    let dependent = input.parameters.get("dependent-user-auth-realm").cloned().unwrap_or_default();
    realmgate::log_attrs(Level::Debug, "pki bridge init", &[("dependentRealm", &dependent)]);
    Ok(pki::Empty {})
}
realmgate::pki_init!(init => init);

/// validate_identity refuses an identity without a user name or whose user the "blockedUser"
/// setting names, and sends one without a device to the dependent realm only.
fn validate_identity(input: pki::IdentityInput) -> Result<Valid> {
    let id = &input.user_identity;
    let blocked = realmgate::config()?.remove("blockedUser").unwrap_or_default();
    Ok(if id.user_name.is_empty() || (!blocked.is_empty() && id.user_name == blocked) {
        Valid::no()
    } else if input.device_id.is_empty() {
        Valid::use_dependent_realm_only()
    } else {
        Valid::yes()
    })
}
realmgate::pki_validate_identity!(validateIdentity => validate_identity);

/// csr_requirements asks for the user name as common name, and for the organization setting
/// (when the adapter has one) in the subject: {"O": organization}.
fn csr_requirements(input: pki::IdentityInput) -> Result<pki::CsrRequirements> {
    if input.user_identity.user_name.is_empty() {
        fail!("getCSRRequirements: userIdentity has no userName");
    }
    let org = realmgate::config()?.remove("organization").unwrap_or_default();
    let mut additional_subject = std::collections::BTreeMap::new();
    if !org.is_empty() {
        additional_subject.insert("O".to_string(), org);
    }
    Ok(pki::CsrRequirements { common_name: input.user_identity.user_name, additional_subject, ..Default::default() })
}
realmgate::pki_csr_requirements!(getCSRRequirements => csr_requirements);

/// validate_csr accepts a CSR whose common name is the one getCSRRequirements asked for.
fn validate_csr(input: pki::CsrInput) -> Result<Valid> {
    let name = &input.user_identity.user_name;
    Ok(Valid::from_bool(!name.is_empty() && &input.csr_info.cn == name))
}
realmgate::pki_validate_csr!(validateCSR => validate_csr);

/// identity_from_certificate names the user after the certificate's common name.
fn identity_from_certificate(input: pki::CertificateInput) -> Result<pki::IdentityFromCertificate> {
    let cn = input.certificate.cn;
    if cn.is_empty() {
        fail!("certificate has no common name");
    }
    Ok(pki::IdentityFromCertificate { user_name: cn.clone(), display_name: cn, ..Default::default() })
}
realmgate::pki_identity_from_certificate!(getIdentityFromCertificate => identity_from_certificate);

/// validate_certificate accepts a certificate with a common name and a sane validity period.
fn validate_certificate(input: pki::CertificateInput) -> Result<Valid> {
    let c = &input.certificate;
    Ok(Valid::from_bool(!c.cn.is_empty() && c.valid.not_before < c.valid.not_after))
}
realmgate::pki_validate_certificate!(validateCertificate => validate_certificate);

#[derive(Deserialize)]
struct RoundtripInput {
    #[serde(rename = "type")]
    type_name: String,
    value: Value,
}

fn again<T: serde::de::DeserializeOwned + serde::Serialize>(v: Value) -> Result<Value> {
    let t: T = serde_json::from_value(v)?;
    Ok(serde_json::to_value(t)?)
}

/// roundtrip decodes {"type": "<Go type name>", "value": {...}} into the SDK's type and
/// returns it encoded again.
fn roundtrip(input: RoundtripInput) -> Result<Value> {
    let v = input.value;
    match input.type_name.as_str() {
        "InitInput" => again::<pki::InitInput>(v),
        "UserIdentity" => again::<pki::UserIdentity>(v),
        "IdentityInput" => again::<pki::IdentityInput>(v),
        "Valid" => again::<pki::Valid>(v),
        "CSRRequirements" => again::<pki::CsrRequirements>(v),
        "KeyInfo" => again::<pki::KeyInfo>(v),
        "SigInfo" => again::<pki::SigInfo>(v),
        "CSRInfo" => again::<pki::CsrInfo>(v),
        "CSRInput" => again::<pki::CsrInput>(v),
        "GeneratedCertificate" => again::<pki::GeneratedCertificate>(v),
        "Issuer" => again::<pki::Issuer>(v),
        "Validity" => again::<pki::Validity>(v),
        "Certificate" => again::<pki::Certificate>(v),
        "CertificateInput" => again::<pki::CertificateInput>(v),
        "IdentityFromCertificate" => again::<pki::IdentityFromCertificate>(v),
        other => fail!("roundtrip: unknown type {:?}", other),
    }
}
procedure!(roundtrip => roundtrip);
