// exports.ts: the ABI exports an adapter's entry file re-exports with
//   export * from "./realmgate/exports";
export { realmgate_abi_version, realmgate_alloc, realmgate_free } from "./abi";
