//! Single use through the host (ABI.md, "Single use"): `realmgate.once`, an addition to ABI
//! version 1. A module that never calls [`once`] does not import it.

use crate::{Error, Result};
use std::time::Duration;

/// The longest key, in bytes.
pub const MAX_KEY: usize = 1024;
/// The shortest TTL.
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// The longest TTL: 400 days.
pub const MAX_TTL: Duration = Duration::from_secs(400 * 24 * 60 * 60);
/// Calls of [`once`] allowed in one procedure call.
pub const MAX_CALLS: usize = 16;

#[link(wasm_import_module = "realmgate")]
extern "C" {
    #[link_name = "once"]
    fn host_once(ptr: *const u8, len: usize, ttl_seconds: i64) -> i32;
}

/// Marks `key` used for `ttl` (rounded up to whole seconds) in the host's single-use store and
/// returns whether this was the first use. The store is the daemon's durable one: every
/// instance of the adapter and every daemon of the deployment's store share it, across
/// restarts, so of any number of concurrent calls with one key exactly one gets `true`. Keys
/// belong to the adapter and the host keeps only their SHA-256: a key may be a secret (a
/// one-time code). After `ttl` the key may be forgotten: give it at least the lifetime of what
/// it guards.
///
/// An error means nothing was marked (the store did not answer, the key is empty or longer than
/// [`MAX_KEY`], the TTL is outside [`MIN_TTL`]..=[`MAX_TTL`], or the call made more than
/// [`MAX_CALLS`] calls): refuse what the key guards.
pub fn once(key: &[u8], ttl: Duration) -> Result<bool> {
    let secs = ttl.as_secs().saturating_add(u64::from(ttl.subsec_nanos() > 0));
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    result(unsafe { host_once(key.as_ptr(), key.len(), secs) })
}

/// Reads the host's answer.
fn result(r: i32) -> Result<bool> {
    match r {
        1 => Ok(true),
        0 => Ok(false),
        -2 => Err(Error::new("once: the key must have 1 to 1024 bytes and the TTL be 1 second to 400 days")),
        -3 => Err(Error::new("once: too many calls in one procedure call")),
        _ => Err(Error::new("once: the host's single-use store is not available")),
    }
}
