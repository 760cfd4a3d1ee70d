//go:build wasip1

// Command adapter is the wasm adapter of the client's test projects (testdata/protocol and
// testdata/certificates), written with the Go SDK. Its procedures answer the calls the client's
// tests make:
//
//   - every resource procedure (echo, basic, header, open, prov, group, mdm, auth, user,
//     embedded) returns
//     its parameters, so a test sees what the daemon handed on; fail fails with "account locked";
//   - validateActivationCode is the identity check of the MDM provisioning realm: it accepts the
//     activation code of the setting "activation-code";
//   - the user-certificate bridge (validateUser, getCSRRequirements, validateCSR,
//     generateCertificate) decides by user name, so that one daemon plays every answer a PKI
//     bridge may give: dora is let in on her dependent login alone, mallory is refused, rita's
//     CSR is rejected, alice must ask for {"OU": "Mobile", "O": "Example, Inc."} and a challenge
//     password, colin is asked for a subject attribute nobody knows (Colour), attila for a
//     request attribute nobody knows (colour); anyone else gets the defaults. Certificates are signed
//     by a CA the instance makes when it first signs (the adapter runs with instances="1"); the
//     daemon trusts the certificates it stored, not the CA.
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"time"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

func main() {}

// call is the input the daemon passes to a resource procedure.
type call struct {
	Parameters []json.RawMessage `json:"parameters"`
}

func echoParameters(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(in call) ([]json.RawMessage, error) {
		if in.Parameters == nil {
			return []json.RawMessage{}, nil
		}
		return in.Parameters, nil
	})
}

//go:wasmexport realmgate_proc_echo
func echo(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_basic
func basic(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_header
func header(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_open
func open(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_prov
func prov(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_group
func group(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_mdm
func mdm(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_user
func user(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_auth
func auth(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_embedded
func embedded(ptr, size uint32) uint64 { return echoParameters(ptr, size) }

//go:wasmexport realmgate_proc_fail
func fail(ptr, size uint32) uint64 {
	return realmgate.Handle(ptr, size, func(call) (struct{}, error) {
		return struct{}{}, errors.New("account locked")
	})
}

//go:wasmexport realmgate_proc_validateActivationCode
func validateActivationCode(ptr, size uint32) uint64 {
	return realmgate.ValidateIdentity(ptr, size, func(in realmgate.IdentityInput) (realmgate.Valid, error) {
		code, _ := in.ClientData["activationCode"].(string)
		want := realmgate.Setting("activation-code")
		return realmgate.Verdict(want != "" && code == want), nil
	})
}

//go:wasmexport realmgate_proc_validateUser
func validateUser(ptr, size uint32) uint64 {
	return realmgate.ValidateIdentity(ptr, size, func(in realmgate.IdentityInput) (realmgate.Valid, error) {
		switch in.UserIdentity.UserName {
		case "dora":
			return realmgate.Valid{Valid: realmgate.NoUseDependentRealmOnly}, nil
		case "mallory":
			return realmgate.Verdict(false), nil
		}
		return realmgate.Verdict(true), nil
	})
}

//go:wasmexport realmgate_proc_getCSRRequirements
func getCSRRequirements(ptr, size uint32) uint64 {
	return realmgate.GetCSRRequirements(ptr, size, func(in realmgate.IdentityInput) (realmgate.CSRRequirements, error) {
		u := in.UserIdentity.UserName
		req := realmgate.CSRRequirements{CommonName: u}
		switch u {
		case "alice":
			req.AdditionalSubject = map[string]string{"OU": "Mobile", "O": "Example, Inc."}
			req.AdditionalAttributes = map[string]string{"challengePassword": "pw-1"}
		case "colin":
			req.AdditionalSubject = map[string]string{"Colour": "blue"}
		case "attila":
			req.AdditionalAttributes = map[string]string{"colour": "blue"}
		}
		return req, nil
	})
}

//go:wasmexport realmgate_proc_validateCSR
func validateCSR(ptr, size uint32) uint64 {
	return realmgate.ValidateCSR(ptr, size, func(in realmgate.CSRInput) (realmgate.Valid, error) {
		return realmgate.Verdict(in.UserIdentity.UserName != "rita"), nil
	})
}

var (
	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate
)

// ca makes the instance's CA on first use.
func ca() error {
	if caCert != nil {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client test bridge CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	if caCert, err = x509.ParseCertificate(der); err != nil {
		return err
	}
	caKey = key
	return nil
}

//go:wasmexport realmgate_proc_generateCertificate
func generateCertificate(ptr, size uint32) uint64 {
	return realmgate.GenerateCertificate(ptr, size, func(in realmgate.CSRInput) (realmgate.GeneratedCertificate, error) {
		if err := ca(); err != nil {
			return realmgate.GeneratedCertificate{}, err
		}
		der, err := base64.StdEncoding.DecodeString(in.CSR)
		if err != nil {
			return realmgate.GeneratedCertificate{}, err
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			return realmgate.GeneratedCertificate{}, err
		}
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		if err != nil {
			return realmgate.GeneratedCertificate{}, err
		}
		// The daemon checked that the CSR's subject carries what getCSRRequirements asked for.
		tmpl := &x509.Certificate{
			SerialNumber: serial, RawSubject: csr.RawSubject,
			NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		cert, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, csr.PublicKey, caKey)
		if err != nil {
			return realmgate.GeneratedCertificate{}, err
		}
		return realmgate.GeneratedCertificate{CertificateBase64: base64.StdEncoding.EncodeToString(cert)}, nil
	})
}
