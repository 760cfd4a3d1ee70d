//go:build wasip1

// Command authadapter is the test adapter of adapter-based authentication: onAuthRequired makes
// the challenge, submitAuthentication checks a user name and password, getSecret answers with the
// caller's identity as the daemon passed it.
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

type result = map[string]any

//go:wasmexport realmgate_proc_onAuthRequired
func onAuthRequired(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in struct {
		Realm string `json:"realm"`
	}) (result, error) {
		return result{"authRequired": true, "loginForm": "username,password", "realmSeen": in.Realm}, nil
	})
}

//go:wasmexport realmgate_proc_submitAuthentication
func submitAuthentication(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in struct {
		Parameters []string `json:"parameters"`
	}) (result, error) {
		if len(in.Parameters) == 2 && in.Parameters[0] == "carol" && in.Parameters[1] == "carol-password" {
			realmgate.Log(0, "login accepted", "user", "carol")
			return result{"identity": result{"userId": "carol", "displayName": "Carol", "attributes": result{"tier": "gold"}}}, nil
		}
		return result{"authRequired": true, "errorMessage": "unknown user or wrong password"}, nil
	})
}

//go:wasmexport realmgate_proc_onLogout
func onLogout(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(struct{}) (result, error) { return result{}, nil })
}

//go:wasmexport realmgate_proc_getSecret
func getSecret(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in struct {
		Parameters []any `json:"parameters"`
		Identity   struct {
			User map[string]any `json:"user"`
		} `json:"identity"`
	}) (result, error) {
		return result{"secretFor": in.Identity.User["userId"], "parameters": in.Parameters}, nil
	})
}

//go:wasmexport realmgate_proc_explode
func explode(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(struct{}) (result, error) {
		var m map[string]int
		m["boom"]++ // a nil map write: the guest panics (a trap for the host)
		return nil, nil
	})
}
