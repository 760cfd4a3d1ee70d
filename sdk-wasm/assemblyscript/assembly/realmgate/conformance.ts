// conformance.ts: the four procedures every adapter of the host's conformance suite implements
// (adapters/conformance), so that the suite and `hostd adapter test` can check an adapter
// written with this SDK:
//
//   echo    returns its input byte for byte
//   fail    input {"message": string}: fails the call with that message
//   config  returns the adapter's configuration (its settings and "adapter": its name)
//   log     input {"msg": string, "level": "debug"|"info"|"warn"|"error"} (no level: info):
//           writes one record through the host's log; output {"logged": true}
//
// An adapter's entry file exports them with
//   export * from "./realmgate/conformance";
// config answers with the whole configuration, secrets included: let clients call it (a
// securityTest in the adapter XML) in a test project only.

import { config, fail, handle, handleRaw, Level, log } from "./abi";
import { Kind, Value, Writer } from "./json";

// echo returns its input byte for byte (whitespace and number spelling included), so it
// copies the raw input rather than a parsed value.
function echo(ptr: usize, len: usize, out: Writer): bool {
  out.raw(ptr, len);
  return true;
}
export function realmgate_proc_echo(ptr: usize, len: usize): u64 {
  return handleRaw(ptr, len, echo);
}

// fail fails with the input's message.
function failProc(input: Value): Value | null {
  const m = input.get("message");
  if (m === null || m.kind != Kind.String) {
    fail('fail: want {"message": string}');
    return null;
  }
  fail(m.text);
  return null;
}
export function realmgate_proc_fail(ptr: usize, len: usize): u64 {
  return handle(ptr, len, failProc);
}

// config returns the adapter's configuration.
function configProc(input: Value): Value | null {
  return config();
}
export function realmgate_proc_config(ptr: usize, len: usize): u64 {
  return handle(ptr, len, configProc);
}

// log writes one record at the input's level.
function logProc(input: Value): Value | null {
  const level = input.getString("level");
  let l: Level;
  if (level == "debug") l = Level.Debug;
  else if (level == "info" || level == "") l = Level.Info;
  else if (level == "warn") l = Level.Warn;
  else if (level == "error") l = Level.Error;
  else {
    fail("log: level must be debug, info, warn or error");
    return null;
  }
  log(l, input.getString("msg"));
  return Value.newObject().set("logged", Value.newBool(true));
}
export function realmgate_proc_log(ptr: usize, len: usize): u64 {
  return handle(ptr, len, logProc);
}
