// Single use through the host (ABI.md, "Single use"): realmgate.once, an addition to ABI
// version 1. A module that never calls once does not import it (asc drops unused imports).

@external("realmgate", "once")
declare function hostOnce(ptr: usize, len: usize, ttlSeconds: i64): i32;

/** The answers of once. Negative answers marked nothing: refuse what the key guards. */
export enum Once {
  /** The key was not used: it is now. */
  First = 1,
  /** The key was used before. */
  Used = 0,
  /** The host's single-use store did not answer, or the host gives the adapter none. */
  Unavailable = -1,
  /** The key is empty or longer than ONCE_MAX_KEY bytes, or the TTL is out of range. */
  BadArgument = -2,
  /** More than ONCE_MAX_CALLS calls in this procedure call. */
  TooMany = -3,
}

export const ONCE_MAX_KEY: i32 = 1024; // bytes of the key's UTF-8
export const ONCE_MIN_TTL: i64 = 1; // seconds
export const ONCE_MAX_TTL: i64 = 400 * 24 * 60 * 60; // seconds: 400 days
export const ONCE_MAX_CALLS: i32 = 16;

/**
 * once marks key (its UTF-8 bytes) used for ttlSeconds in the host's single-use store, which
 * every instance of the adapter and every daemon of the deployment's store share, across
 * restarts: of any number of concurrent calls with one key exactly one gets Once.First. Keys
 * belong to the adapter and the host keeps only their SHA-256, so a key may be a secret (a
 * one-time code). After the TTL the key may be forgotten: give it at least the lifetime of
 * what it guards. Check everything else first and mark last.
 */
export function once(key: string, ttlSeconds: i64): Once {
  const b = String.UTF8.encode(key);
  const r = hostOnce(changetype<usize>(b), <usize>b.byteLength, ttlSeconds);
  if (r == 1) return Once.First;
  if (r == 0) return Once.Used;
  if (r == -2) return Once.BadArgument;
  if (r == -3) return Once.TooMany;
  return Once.Unavailable;
}

/** onceError is a message for a negative answer of once. */
export function onceError(r: Once): string {
  if (r == Once.BadArgument) return "once: the key must have 1 to 1024 bytes and the TTL be 1 second to 400 days";
  if (r == Once.TooMany) return "once: too many calls in one procedure call";
  return "once: the host's single-use store is not available";
}
