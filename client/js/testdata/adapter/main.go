//go:build wasip1

// Command adapter is the wasm adapter of the JavaScript SDK's test project (testdata/web),
// written with the Go SDK. Its resource procedures return their parameters and the caller's
// user, so a test sees who the daemon let through; onAuthRequired and submitAuthentication are
// the adapter-based realm's login functions: carol / carol-password logs in;
// validateActivationCode is the MDM provisioning realm's identity check: it accepts the
// activation code of the setting "activation-code".
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"encoding/json"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

type result = map[string]any

// call is the input the daemon passes to a resource procedure.
type call struct {
	Parameters []json.RawMessage `json:"parameters"`
	Identity   struct {
		User   map[string]any `json:"user"`
		Device map[string]any `json:"device"`
	} `json:"identity"`
}

func echoCall(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in call) (result, error) {
		params := in.Parameters
		if params == nil {
			params = []json.RawMessage{}
		}
		out := result{"parameters": params}
		if in.Identity.User != nil {
			out["user"] = in.Identity.User["userId"]
		}
		if in.Identity.Device != nil {
			out["device"] = in.Identity.Device["id"]
		}
		return out, nil
	})
}

//go:wasmexport realmgate_proc_echo
func echo(ptr, size uint32) uint64 { return echoCall(ptr, size) }

//go:wasmexport realmgate_proc_basic
func basic(ptr, size uint32) uint64 { return echoCall(ptr, size) }

//go:wasmexport realmgate_proc_header
func header(ptr, size uint32) uint64 { return echoCall(ptr, size) }

//go:wasmexport realmgate_proc_secret
func secret(ptr, size uint32) uint64 { return echoCall(ptr, size) }

//go:wasmexport realmgate_proc_device
func device(ptr, size uint32) uint64 { return echoCall(ptr, size) }

//go:wasmexport realmgate_proc_user
func user(ptr, size uint32) uint64 { return echoCall(ptr, size) }

//go:wasmexport realmgate_proc_mdm
func mdm(ptr, size uint32) uint64 { return echoCall(ptr, size) }

//go:wasmexport realmgate_proc_validateActivationCode
func validateActivationCode(ptr, size uint32) uint64 {
	return realmgate.ValidateIdentity(ptr, size, func(in realmgate.IdentityInput) (realmgate.Valid, error) {
		code, _ := in.ClientData["activationCode"].(string)
		want := realmgate.Setting("activation-code")
		return realmgate.Verdict(want != "" && code == want), nil
	})
}

//go:wasmexport realmgate_proc_open
func open(ptr, size uint32) uint64 { return echoCall(ptr, size) }

//go:wasmexport realmgate_proc_onAuthRequired
func onAuthRequired(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(struct{}) (result, error) {
		return result{"authRequired": true, "loginForm": "username,password"}, nil
	})
}

//go:wasmexport realmgate_proc_submitAuthentication
func submitAuthentication(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in struct {
		Parameters []string `json:"parameters"`
	}) (result, error) {
		if len(in.Parameters) == 2 && in.Parameters[0] == "carol" && in.Parameters[1] == "carol-password" {
			return result{"identity": result{"userId": "carol", "displayName": "Carol"}}, nil
		}
		return result{"authRequired": true, "errorMessage": "unknown user or wrong password"}, nil
	})
}

//go:wasmexport realmgate_proc_onLogout
func onLogout(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(struct{}) (result, error) { return result{}, nil })
}
