// The AssemblyScript guest SDK for Realmgate wasm adapters (ABI version 1, sdk-wasm/ABI.md).
//
// An adapter's entry file re-exports the ABI exports and exports one function per procedure:
//
//   import * as rg from "./realmgate";
//   export * from "./realmgate/exports";
//   export function realmgate_proc_hello(ptr: usize, len: usize): u64 {
//     return rg.handle(ptr, len, hello);
//   }
//
// A handler returns its output, or calls rg.fail(message) and returns null.

export { Kind, MAX_DEPTH, parse, parseError, parseI64, intConverted, Value, Writer } from "./json";
export {
  ABI_VERSION,
  config,
  configGet,
  fail,
  finish,
  handle,
  handleRaw,
  handleWriter,
  hasFailed,
  http,
  HTTPRequest,
  HTTPResponse,
  Level,
  log,
  parseJSON,
  pki as hostPKI,
  parseCSR,
  ParsedCSR,
  CertificateTemplate,
  SignedCertificate,
  signCertificate,
} from "./abi";
export { once, Once, onceError, ONCE_MAX_KEY, ONCE_MIN_TTL, ONCE_MAX_TTL, ONCE_MAX_CALLS } from "./once";
import * as pki from "./pki";
export { pki };
