//go:build wasip1

// Command provisioner is the test adapter of custom device provisioning, configured as Worklight
// projects do: validateCSR (validate-csr-function) accepts CSRs for "corp-" devices,
// validateCertificate (validate-certificate-function) refuses the certificate of a device reported
// lost, and validateIdentity (a PKI-bridge identity-validation procedure) accepts MDM activation
// codes from the setting "codes" ("CODE:device,..."), each once and only for its device. The
// used codes live in the instance: the adapter runs with instances="1".
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"strings"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

var used = map[string]bool{}

//go:wasmexport realmgate_proc_validateCSR
func validateCSR(ptr, size uint32) uint64 {
	return realmgate.ValidateCSR(ptr, size, func(in realmgate.CSRInput) (realmgate.Valid, error) {
		return realmgate.Verdict(strings.HasPrefix(in.CSRInfo.CN, "corp-")), nil
	})
}

//go:wasmexport realmgate_proc_validateCertificate
func validateCertificate(ptr, size uint32) uint64 {
	return realmgate.ValidateCertificate(ptr, size, func(in realmgate.CertificateInput) (realmgate.Valid, error) {
		return realmgate.Verdict(in.Certificate.CN != "corp-lost"), nil
	})
}

//go:wasmexport realmgate_proc_validateIdentity
func validateIdentity(ptr, size uint32) uint64 {
	return realmgate.ValidateIdentity(ptr, size, func(in realmgate.IdentityInput) (realmgate.Valid, error) {
		code, _ := in.ClientData["activationCode"].(string)
		for _, entry := range strings.Split(realmgate.Setting("codes"), ",") {
			c, device, _ := strings.Cut(strings.TrimSpace(entry), ":")
			if code != "" && c == code && device == in.DeviceID && !used[code] {
				used[code] = true
				return realmgate.Verdict(true), nil
			}
		}
		return realmgate.Verdict(false), nil
	})
}
