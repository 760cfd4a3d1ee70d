// Package adaptertest runs the adapter conformance suite (package adapters/conformance) under
// go test, and builds the adapters under test from source.
//
// [Run] and [PKIBridge] adapt *testing.T to the suite's reporting interface; [BuildGoWasm] and
// [CachedBuild] build the adapters under test from source, once per content, shared by the test
// packages of one `go test ./...`. The names below that stand for the conformance package's keep
// test code to one import.
package adaptertest

import (
	"context"
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/conformance"
)

// Run runs the conformance suite (conformance.Run) against adapters opened by open, each check
// a subtest of t.
func Run(t *testing.T, open func(t *testing.T, cfg adapters.Config) adapters.Adapter) {
	t.Helper()
	conformance.Run(goT{t}, func(ct conformance.T, cfg adapters.Config) adapters.Adapter {
		return open(ct.(goT).T, cfg)
	})
}

// PKIBridge runs the PKI-bridge contract check (conformance.PKIBridge) against a, each
// procedure a subtest of t.
func PKIBridge(t *testing.T, a adapters.Adapter, fx PKIFixture) {
	t.Helper()
	conformance.PKIBridge(goT{t}, a, fx)
}

// goT is *testing.T as a conformance.T: every method but Run is the testing package's own.
type goT struct{ *testing.T }

var _ conformance.T = goT{}

func (g goT) Context() context.Context { return g.T.Context() }

func (g goT) Run(name string, f func(t conformance.T)) bool {
	return g.T.Run(name, func(t *testing.T) { f(goT{t}) })
}

// The conformance package's names, for test code that imports only this package.
type (
	PKIFixture  = conformance.PKIFixture
	LogRecorder = conformance.LogRecorder
	LogEntry    = conformance.LogEntry
	CA          = conformance.CA
)

// Names and values of the conformance suite.
const (
	Name     = conformance.Name
	MaxInput = conformance.MaxInput
)

var (
	CoreProcedures = conformance.CoreProcedures
	PKIProcedures  = conformance.PKIProcedures

	Config            = conformance.Config
	NewLogRecorder    = conformance.NewLogRecorder
	EchoInputs        = conformance.EchoInputs
	DecodeStrict      = conformance.DecodeStrict
	Subject           = conformance.Subject
	ParseRDNs         = conformance.ParseRDNs
	CSRObject         = conformance.CSRObject
	CertificateObject = conformance.CertificateObject
)

// CheckError checks that err is an *adapters.Error with the given code that names adapter and
// procedure (conformance.CheckError).
func CheckError(t testing.TB, err error, code adapters.Code, adapter, procedure string) *adapters.Error {
	t.Helper()
	return conformance.CheckError(t, err, code, adapter, procedure)
}

// NewCSR makes a fresh ECDSA P-256 key and a CSR for subject signed with it.
var NewCSR = conformance.NewCSR

// NewCA makes a fresh CA named cn, valid from an hour ago for a year.
var NewCA = conformance.NewCA

// IssueCertificate signs a client certificate for csr's subject and key, valid for a day.
var IssueCertificate = conformance.IssueCertificate
