//go:build wasip1

// Command docbridge is a PKI bridge written from Worklight's documentation of the adapter-based
// PKI bridge alone: no Realmgate type, no Realmgate SDK. Its procedures read their input as plain
// JSON (encoding/json into map[string]any) with the members the documentation names, and answer
// the documented objects; the few exports of the wasm ABI (sdk-wasm/ABI.md) are implemented here
// directly. A member the documentation names that is missing or of another type fails the call
// with a message saying so, so that a host which strays from the documented shapes is caught.
//
//   - init: the realm's parameters, one flat object of strings. Every other procedure fails on an
//     instance that did not run init.
//   - validateIdentity, getCSRRequirements: {"deviceId", "userIdentity": {"userName",
//     "displayName", "attributes"}, "appId"}. mallory is refused; everyone else must request
//     CN=<userName> under {"O": "IBM", "OU": "Mobile"} with the challengePassword
//     "s3cret-<userName>".
//   - validateCSR: {"csr": base64 DER}: YES for a self-signed request whose subject holds O=IBM.
//   - generateCertificate: {"deviceId", "csr", "userIdentity", "appId"}: a certificate for the
//     user, signed by the bridge's Ed25519 CA (derived from a fixed seed, so every instance has
//     the same CA).
//   - getIdentityFromCertificate, validateCertificate: the certificate object, whose algorithms
//     must carry java.security's names ("EC" for the user's P-256 key, "Ed25519" for the CA's
//     signature). getIdentityFromCertificate reports them in the identity's attributes.
package main

//lint:file-ignore U1000 the functions exported with go:wasmexport are called by the host

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
	"unsafe"
)

func main() {}

// ---- the wasm ABI (sdk-wasm/ABI.md) ---------------------------------------------------------

//go:wasmimport realmgate fail
func hostFail(ptr unsafe.Pointer, size uint32)

// pinned keeps the buffers the host holds alive until it frees them.
var pinned = map[uint32][]byte{}

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

//go:wasmexport realmgate_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport realmgate_alloc
func alloc(size uint32) uint32 {
	b := make([]byte, max(size, 1))
	pinned[addr(b)] = b
	return addr(b)
}

//go:wasmexport realmgate_free
func free(ptr, _ uint32) { delete(pinned, ptr) }

// serve decodes the input object, runs proc and returns its answer as JSON, or fails the call.
func serve(ptr, size uint32, proc func(in map[string]any) (any, error)) uint64 {
	b, ok := pinned[ptr]
	if !ok || int(size) > len(b) {
		return failed(errors.New("no input buffer"))
	}
	var in map[string]any
	d := json.NewDecoder(bytes.NewReader(b[:size]))
	d.UseNumber()
	if err := d.Decode(&in); err != nil || in == nil {
		return failed(fmt.Errorf("the input is not a JSON object: %v", err))
	}
	v, err := proc(in)
	if err != nil {
		return failed(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return failed(err)
	}
	pinned[addr(out)] = out
	return uint64(addr(out))<<32 | uint64(len(out))
}

func failed(err error) uint64 {
	msg := err.Error()
	hostFail(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	return 0
}

// ---- reading the documented objects ---------------------------------------------------------

func str(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok {
		return "", fmt.Errorf("the input has no %q", key)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%q is %T, not a string", key, v)
	}
	return s, nil
}

func obj(m map[string]any, key string) (map[string]any, error) {
	v, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("the input has no %q", key)
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%q is %T, not an object", key, v)
	}
	return o, nil
}

func num(m map[string]any, key string) (int64, error) {
	v, ok := m[key].(json.Number)
	if !ok {
		return 0, fmt.Errorf("%q is not a number", key)
	}
	return v.Int64()
}

// userCertificateIdentity reads {"deviceId", "userIdentity": {"userName", "displayName",
// "attributes"}, "appId"} and returns the user name and the application.
func userCertificateIdentity(in map[string]any) (user, app string, err error) {
	if _, err = str(in, "deviceId"); err != nil {
		return "", "", err
	}
	if app, err = str(in, "appId"); err != nil {
		return "", "", err
	}
	id, err := obj(in, "userIdentity")
	if err != nil {
		return "", "", err
	}
	if user, err = str(id, "userName"); err != nil {
		return "", "", fmt.Errorf("userIdentity: %w", err)
	}
	if _, err = str(id, "displayName"); err != nil {
		return "", "", fmt.Errorf("userIdentity: %w", err)
	}
	if a, ok := id["attributes"]; ok {
		if _, ok := a.(map[string]any); !ok {
			return "", "", fmt.Errorf("userIdentity: \"attributes\" is %T, not an object", a)
		}
	}
	if user == "" {
		return "", "", errors.New("userIdentity has an empty userName")
	}
	return user, app, nil
}

func parseCSR(in map[string]any) (*x509.CertificateRequest, error) {
	b64, err := str(in, "csr")
	if err != nil {
		return nil, err
	}
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("\"csr\" is not base64: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("\"csr\" is not a DER PKCS#10 request: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the CSR's signature: %v", err)
	}
	return csr, nil
}

// certificateObject reads the documented certificate object and returns the certificate its
// base64 holds, after checking that the object describes it.
func certificateObject(in map[string]any) (*x509.Certificate, map[string]any, error) {
	for _, k := range []string{"dn", "cn", "serialNumber", "base64"} {
		if _, err := str(in, k); err != nil {
			return nil, nil, err
		}
	}
	if _, err := num(in, "version"); err != nil {
		return nil, nil, err
	}
	names := map[string]any{}
	for _, part := range []string{"publicKey", "signature"} {
		o, err := obj(in, part)
		if err != nil {
			return nil, nil, err
		}
		alg, err := str(o, "algorithm")
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", part, err)
		}
		names[part] = alg
	}
	issuer, err := obj(in, "issuer")
	if err != nil {
		return nil, nil, err
	}
	if _, err := str(issuer, "dn"); err != nil {
		return nil, nil, fmt.Errorf("issuer: %w", err)
	}
	valid, err := obj(in, "valid")
	if err != nil {
		return nil, nil, err
	}
	notAfter, err := num(valid, "notAfter")
	if err != nil {
		return nil, nil, fmt.Errorf("valid: %w", err)
	}
	// Worklight's adapters compared algorithms with java.security's names.
	if names["publicKey"] != "EC" || names["signature"] != "Ed25519" {
		return nil, nil, fmt.Errorf("algorithms %v: want publicKey EC and signature Ed25519, as java.security names them", names)
	}
	der, err := base64.StdEncoding.DecodeString(in["base64"].(string))
	if err != nil {
		return nil, nil, fmt.Errorf("\"base64\" is not base64: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if cert.SerialNumber.Text(16) != in["serialNumber"] || cert.Subject.CommonName != in["cn"] || cert.NotAfter.Unix() != notAfter {
		return nil, nil, errors.New("the certificate object does not describe the certificate in its base64")
	}
	return cert, names, nil
}

// ---- the bridge -----------------------------------------------------------------------------

var initialised bool

func needInit() error {
	if !initialised {
		return errors.New("init did not run on this instance")
	}
	return nil
}

// ca is the bridge's CA: an Ed25519 key from a fixed seed, so every instance has the same.
func ca() (*x509.Certificate, ed25519.PrivateKey, error) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Documented bridge CA", Organization: []string{"IBM"}},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

//go:wasmexport realmgate_proc_init
func initProc(ptr, size uint32) uint64 {
	return serve(ptr, size, func(in map[string]any) (any, error) {
		for k, v := range in {
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("init: parameter %q is %T, not a string: want the realm's parameters as one flat object", k, v)
			}
		}
		if in["pki-bridge-class"] != "com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI" || in["dependent-user-auth-realm"] == "" {
			return nil, errors.New("init: the realm's parameters lack pki-bridge-class or dependent-user-auth-realm")
		}
		initialised = true
		return map[string]any{}, nil
	})
}

//go:wasmexport realmgate_proc_validateIdentity
func validateIdentity(ptr, size uint32) uint64 {
	return serve(ptr, size, func(in map[string]any) (any, error) {
		if err := needInit(); err != nil {
			return nil, err
		}
		user, _, err := userCertificateIdentity(in)
		if err != nil {
			return nil, fmt.Errorf("validateIdentity: %w", err)
		}
		if user == "mallory" {
			return map[string]any{"valid": "NO"}, nil
		}
		return map[string]any{"valid": "YES"}, nil
	})
}

//go:wasmexport realmgate_proc_getCSRRequirements
func getCSRRequirements(ptr, size uint32) uint64 {
	return serve(ptr, size, func(in map[string]any) (any, error) {
		if err := needInit(); err != nil {
			return nil, err
		}
		user, app, err := userCertificateIdentity(in)
		if err != nil {
			return nil, fmt.Errorf("getCSRRequirements: %w", err)
		}
		return map[string]any{
			"commonName":           user,
			"additionalSubject":    map[string]any{"O": "IBM", "OU": "Mobile"},
			"additionalAttributes": map[string]any{"challengePassword": "s3cret-" + user, "unstructuredName": app},
		}, nil
	})
}

//go:wasmexport realmgate_proc_validateCSR
func validateCSR(ptr, size uint32) uint64 {
	return serve(ptr, size, func(in map[string]any) (any, error) {
		if err := needInit(); err != nil {
			return nil, err
		}
		csr, err := parseCSR(in)
		if err != nil {
			return nil, fmt.Errorf("validateCSR: %w", err)
		}
		if len(csr.Subject.Organization) != 1 || csr.Subject.Organization[0] != "IBM" {
			return map[string]any{"valid": "NO"}, nil
		}
		return map[string]any{"valid": "YES"}, nil
	})
}

//go:wasmexport realmgate_proc_generateCertificate
func generateCertificate(ptr, size uint32) uint64 {
	return serve(ptr, size, func(in map[string]any) (any, error) {
		if err := needInit(); err != nil {
			return nil, err
		}
		user, _, err := userCertificateIdentity(in)
		if err != nil {
			return nil, fmt.Errorf("generateCertificate: %w", err)
		}
		csr, err := parseCSR(in)
		if err != nil {
			return nil, fmt.Errorf("generateCertificate: %w", err)
		}
		if csr.Subject.CommonName != user {
			return nil, fmt.Errorf("generateCertificate: the CSR is for %q, not for %q", csr.Subject.CommonName, user)
		}
		caCert, caKey, err := ca()
		if err != nil {
			return nil, err
		}
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
		if err != nil {
			return nil, err
		}
		now := time.Now()
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: serial.Add(serial, big.NewInt(1)), Subject: csr.Subject,
			NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, caCert, csr.PublicKey, caKey)
		if err != nil {
			return nil, err
		}
		return map[string]any{"certificateBase64": base64.StdEncoding.EncodeToString(der)}, nil
	})
}

//go:wasmexport realmgate_proc_getIdentityFromCertificate
func getIdentityFromCertificate(ptr, size uint32) uint64 {
	return serve(ptr, size, func(in map[string]any) (any, error) {
		if err := needInit(); err != nil {
			return nil, err
		}
		cert, names, err := certificateObject(in)
		if err != nil {
			return nil, fmt.Errorf("getIdentityFromCertificate: %w", err)
		}
		cn := cert.Subject.CommonName
		return map[string]any{"userName": cn, "displayName": cn, "attributes": map[string]any{
			"keyAlgorithm": names["publicKey"], "signatureAlgorithm": names["signature"], "serialNumber": in["serialNumber"],
		}}, nil
	})
}

//go:wasmexport realmgate_proc_validateCertificate
func validateCertificate(ptr, size uint32) uint64 {
	return serve(ptr, size, func(in map[string]any) (any, error) {
		if err := needInit(); err != nil {
			return nil, err
		}
		cert, _, err := certificateObject(in)
		if err != nil {
			return nil, fmt.Errorf("validateCertificate: %w", err)
		}
		caCert, _, err := ca()
		if err != nil {
			return nil, err
		}
		now := time.Now()
		if cert.CheckSignatureFrom(caCert) != nil || now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			return map[string]any{"valid": "NO"}, nil
		}
		return map[string]any{"valid": "YES"}, nil
	})
}
