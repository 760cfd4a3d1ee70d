//! The four procedures every adapter of the host's conformance suite implements
//! (`adapters/conformance`), so that the suite and `hostd adapter test` can check an adapter
//! written with this crate:
//!
//! - `echo` returns its input byte for byte;
//! - `fail`, input `{"message": string}`, fails the call with that message;
//! - `config` returns the adapter's configuration (its settings and `"adapter"`: its name);
//! - `log`, input `{"msg": string, "level": "debug"|"info"|"warn"|"error"}` (no level: info),
//!   writes one record through the host's log and returns `{"logged": true}`.
//!
//! An adapter exports them with one line, [`conformance_procedures!`](crate::conformance_procedures):
//!
//! ```ignore
//! realmgate::conformance_procedures!();
//! ```
//!
//! `config` answers with the whole configuration, secrets included: let clients call it (a
//! `securityTest` in the adapter XML) in a test project only.

use serde::Deserialize;

use crate::{Config, Error, Level, Result, Value};

/// echo returns its input byte for byte (whitespace and number spelling included), so it works
/// on the raw JSON rather than a decoded value.
pub fn echo(input: &[u8]) -> Result<Vec<u8>> {
    Ok(input.to_vec())
}

/// The input of [`fail`].
#[derive(Deserialize)]
pub struct FailInput {
    pub message: String,
}

/// fail fails with the input's message.
pub fn fail(input: FailInput) -> Result<Value> {
    Err(Error::new(input.message))
}

/// config returns the adapter's configuration.
pub fn config(_: Value) -> Result<Config> {
    crate::config()
}

/// The input of [`log`].
#[derive(Deserialize)]
pub struct LogInput {
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub level: String,
}

/// log writes one record at the input's level.
pub fn log(input: LogInput) -> Result<Value> {
    let level = match input.level.as_str() {
        "debug" => Level::Debug,
        "info" | "" => Level::Info,
        "warn" => Level::Warn,
        "error" => Level::Error,
        other => {
            return Err(Error::new(format!("log: level {:?} is not debug, info, warn or error", other)))
        }
    };
    crate::log(level, &input.msg);
    Ok(serde_json::json!({ "logged": true }))
}

/// Exports the four conformance procedures of [`conformance`](crate::conformance): `echo`,
/// `fail`, `config` and `log`. Write it once in the adapter's crate.
#[macro_export]
macro_rules! conformance_procedures {
    () => {
        $crate::procedure_raw!(echo => $crate::conformance::echo);
        $crate::procedure!(fail => $crate::conformance::fail);
        $crate::procedure!(config => $crate::conformance::config);
        $crate::procedure!(log => $crate::conformance::log);
    };
}
