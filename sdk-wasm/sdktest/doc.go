// Package sdktest holds the tests of the wasm guest SDKs in sdk-wasm (C, Rust, AssemblyScript):
// they build each SDK's example adapter from source with its build.sh, run the adapter
// conformance suite and the PKI-bridge checks through the wasm host backend, check the SDKs'
// PKI-bridge JSON names against adapters/pki.go, fuzz the hand-written JSON layers, and
// benchmark a warm call through the host against a bare wazero call of the same module.
//
// A test skips when its language's toolchain is absent, unless REALMGATE_REQUIRE_TOOLCHAINS
// is set (CI sets it), in which case it fails.
package sdktest
