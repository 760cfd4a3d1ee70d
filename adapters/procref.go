package adapters

import "strings"

// ProcRef names one procedure of one adapter. Configuration writes it "Adapter.procedure": a
// realm's login-function and logout-function, a provisioning realm's validate-csr-function and
// validate-certificate-function, a PKI bridge's adapter-pki-bridge-<role>-procedure, the
// daemon's authenticity adapter.
type ProcRef struct {
	Adapter, Procedure string
}

// ParseProcRef parses "Adapter.procedure", split at the first dot; ok is false unless both
// parts are non-empty.
func ParseProcRef(s string) (ref ProcRef, ok bool) {
	adapter, procedure, ok := strings.Cut(s, ".")
	if !ok || adapter == "" || procedure == "" {
		return ProcRef{}, false
	}
	return ProcRef{Adapter: adapter, Procedure: procedure}, true
}

// String returns "Adapter.procedure".
func (r ProcRef) String() string { return r.Adapter + "." + r.Procedure }

// IsZero reports whether r names nothing.
func (r ProcRef) IsZero() bool { return r == ProcRef{} }
