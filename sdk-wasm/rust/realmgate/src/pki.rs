//! The PKI-bridge procedures' inputs and outputs, mirroring `adapters/pki.go` field for field
//! (JSON names, and `omitempty` as `skip_serializing_if`). As with Go's decoder, a JSON `null`
//! leaves a field at its default and unknown members are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Verdicts.
pub const YES: &str = "YES";
pub const NO: &str = "NO";
pub const NO_USE_DEPENDENT_REALM_ONLY: &str = "NO_USE_DEPENDENT_REALM_ONLY";

/// Go decodes `null` into a field by leaving it alone; serde would refuse it.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Go decodes only a JSON object (or null) into a struct; serde's derive would also take an
/// array of the fields in order. Nested struct fields go through this check.
fn object<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    use serde::de::Error;
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v @ Value::Object(_)) => T::deserialize(v).map_err(D::Error::custom),
        Some(_) => Err(D::Error::custom("want an object")),
    }
}

/// What the client sent beyond the protocol's fields (`ClientData`).
pub type ClientData = Map<String, Value>;

/// The empty object `{}`: the output of `init`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// Input of init (`InitInput`): the realm's parameters as one flat object, parameter name to
/// value.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct InitInput {
    pub parameters: BTreeMap<String, String>,
}

impl<'de> Deserialize<'de> for InitInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(InitInput { parameters: nullable(d)? })
    }
}

/// Worklight's standard user identity (`UserIdentity`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserIdentity {
    #[serde(rename = "userName", default, deserialize_with = "nullable")]
    pub user_name: String,
    #[serde(rename = "displayName", default, deserialize_with = "nullable")]
    pub display_name: String,
    #[serde(rename = "attributes", default, deserialize_with = "nullable")]
    pub attributes: Map<String, Value>,
}

/// Input of validateIdentity and getCSRRequirements (`IdentityInput`): Worklight's user
/// certificate identity, and the host's `clientData`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityInput {
    #[serde(rename = "deviceId", default, deserialize_with = "nullable")]
    pub device_id: String,
    #[serde(rename = "userIdentity", default, deserialize_with = "object")]
    pub user_identity: UserIdentity,
    #[serde(rename = "appId", default, deserialize_with = "nullable")]
    pub app_id: String,
    #[serde(rename = "clientData", default, deserialize_with = "nullable", skip_serializing_if = "Map::is_empty")]
    pub client_data: ClientData,
}

/// Output of validateIdentity, validateCSR and validateCertificate (`Valid`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Valid {
    #[serde(rename = "valid", default, deserialize_with = "nullable")]
    pub valid: String,
}

impl Valid {
    pub fn yes() -> Self {
        Valid { valid: YES.into() }
    }
    pub fn no() -> Self {
        Valid { valid: NO.into() }
    }
    /// YES when ok, else NO.
    pub fn from_bool(ok: bool) -> Self {
        if ok {
            Self::yes()
        } else {
            Self::no()
        }
    }
    pub fn use_dependent_realm_only() -> Self {
        Valid { valid: NO_USE_DEPENDENT_REALM_ONLY.into() }
    }
}

/// Output of getCSRRequirements (`CSRRequirements`): `additional_subject` maps RDN types to
/// values (`{"O": "IBM"}`), `additional_attributes` PKCS #9 attribute names to values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsrRequirements {
    #[serde(rename = "commonName", default, deserialize_with = "nullable")]
    pub common_name: String,
    #[serde(rename = "additionalSubject", default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_subject: BTreeMap<String, String>,
    #[serde(rename = "additionalAttributes", default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_attributes: BTreeMap<String, String>,
}

/// A public key (`KeyInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    #[serde(rename = "base64", default, deserialize_with = "nullable")]
    pub base64: String,
    #[serde(rename = "algorithm", default, deserialize_with = "nullable")]
    pub algorithm: String,
}

/// A signature (`SigInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigInfo {
    #[serde(rename = "base64", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub base64: String,
    #[serde(rename = "algorithm", default, deserialize_with = "nullable")]
    pub algorithm: String,
}

/// What the host parsed from a certificate signing request (`CSRInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsrInfo {
    #[serde(rename = "dn", default, deserialize_with = "nullable")]
    pub dn: String,
    #[serde(rename = "cn", default, deserialize_with = "nullable")]
    pub cn: String,
    #[serde(rename = "publicKey", default, deserialize_with = "object")]
    pub public_key: KeyInfo,
    #[serde(rename = "signature", default, deserialize_with = "object")]
    pub signature: SigInfo,
    #[serde(rename = "dnsNames", default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    #[serde(rename = "emails", default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
}

/// Input of validateCSR and generateCertificate (`CSRInput`): `csr` is the base64 of the
/// request's DER; `csr_info` and `client_data` are the host's own members.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CsrInput {
    #[serde(rename = "deviceId", default, deserialize_with = "nullable")]
    pub device_id: String,
    #[serde(rename = "csr", default, deserialize_with = "nullable")]
    pub csr: String,
    #[serde(rename = "userIdentity", default, deserialize_with = "object")]
    pub user_identity: UserIdentity,
    #[serde(rename = "appId", default, deserialize_with = "nullable")]
    pub app_id: String,
    #[serde(rename = "csrInfo", default, deserialize_with = "object")]
    pub csr_info: CsrInfo,
    #[serde(rename = "clientData", default, deserialize_with = "nullable", skip_serializing_if = "Map::is_empty")]
    pub client_data: ClientData,
}

/// Output of generateCertificate (`GeneratedCertificate`): the DER certificate, base64.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedCertificate {
    #[serde(rename = "certificateBase64", default, deserialize_with = "nullable")]
    pub certificate_base64: String,
}

/// The issuer of a certificate (`Issuer`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    #[serde(rename = "dn", default, deserialize_with = "nullable")]
    pub dn: String,
    #[serde(rename = "cn", default, deserialize_with = "nullable")]
    pub cn: String,
    #[serde(rename = "uniqueId", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub unique_id: String,
}

/// A validity period in Unix seconds (`Validity`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validity {
    #[serde(rename = "notBefore", default, deserialize_with = "nullable")]
    pub not_before: i64,
    #[serde(rename = "notAfter", default, deserialize_with = "nullable")]
    pub not_after: i64,
}

/// A certificate as Worklight described it (`Certificate`); the serial number is hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    #[serde(rename = "publicKey", default, deserialize_with = "object")]
    pub public_key: KeyInfo,
    #[serde(rename = "signature", default, deserialize_with = "object")]
    pub signature: SigInfo,
    #[serde(rename = "subjectUniqueId", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub subject_unique_id: String,
    #[serde(rename = "version", default, deserialize_with = "nullable")]
    pub version: i64,
    #[serde(rename = "issuer", default, deserialize_with = "object")]
    pub issuer: Issuer,
    #[serde(rename = "dn", default, deserialize_with = "nullable")]
    pub dn: String,
    #[serde(rename = "cn", default, deserialize_with = "nullable")]
    pub cn: String,
    #[serde(rename = "valid", default, deserialize_with = "object")]
    pub valid: Validity,
    #[serde(rename = "serialNumber", default, deserialize_with = "nullable")]
    pub serial_number: String,
    #[serde(rename = "base64", default, deserialize_with = "nullable")]
    pub base64: String,
}

/// Input of getIdentityFromCertificate and validateCertificate (`CertificateInput`): the
/// certificate object's own members, and the host's `clientData`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateInput {
    #[serde(flatten)]
    pub certificate: Certificate,
    #[serde(rename = "clientData", default, deserialize_with = "nullable", skip_serializing_if = "Map::is_empty")]
    pub client_data: ClientData,
}

/// Output of getIdentityFromCertificate (`IdentityFromCertificate`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityFromCertificate {
    #[serde(rename = "userName", default, deserialize_with = "nullable")]
    pub user_name: String,
    #[serde(rename = "displayName", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    #[serde(rename = "attributes", default, deserialize_with = "nullable", skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    #[serde(rename = "appID", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub app_id: String,
    #[serde(rename = "deviceId", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub device_id: String,
}
