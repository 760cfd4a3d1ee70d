package conformance

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/pkcs10"
	"github.com/realmgate/realmgate/internal/pkcs9"
	"github.com/realmgate/realmgate/internal/rfc4514"
)

// The PKI-bridge procedure names, by role, as the conformance adapters export them.
var PKIProcedures = map[string]string{
	adapters.PKIInit:                    "init",
	adapters.PKIIdentityValidation:      "validateIdentity",
	adapters.PKICSRRequirements:         "getCSRRequirements",
	adapters.PKICSRValidation:           "validateCSR",
	adapters.PKICertificateGeneration:   "generateCertificate",
	adapters.PKIIdentityFromCertificate: "getIdentityFromCertificate",
	adapters.PKICertificateValidation:   "validateCertificate",
}

// DocumentedParameters are the realm parameters of the adapter-based PKI bridge's documented
// realm definition (PKIAdapter's seven procedures): init's input, with a fixture's own
// parameters added.
var DocumentedParameters = map[string]string{
	"dependent-user-auth-realm":                              "WASLTPARealm",
	"pki-bridge-class":                                       "com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI",
	"adapter-pki-bridge-init-procedure":                      "PKIAdapter.init",
	"adapter-pki-bridge-identity-validation-procedure":       "PKIAdapter.validateIdentity",
	"adapter-pki-bridge-csr-requirements-procedure":          "PKIAdapter.getCSRRequirements",
	"adapter-pki-bridge-csr-validation-procedure":            "PKIAdapter.validateCSR",
	"adapter-pki-bridge-certificate-generation-procedure":    "PKIAdapter.generateCertificate",
	"adapter-pki-bridge-identity-from-certificate-procedure": "PKIAdapter.getIdentityFromCertificate",
	"adapter-pki-bridge-certificate-validation-procedure":    "PKIAdapter.validateCertificate",
}

// PKIFixture is what PKIBridge needs to know about the bridge under test. The zero value works
// for a bridge that accepts the default identity.
type PKIFixture struct {
	// Parameters are realm parameters of the bridge's own, added to DocumentedParameters in
	// init's input.
	Parameters map[string]string
	// Identity is the user certificate identity that enrolls; the bridge must accept it
	// (validateIdentity answers YES, validateCSR answers YES for a CSR built to its
	// requirements). Default: device "device-1", user "alice" (display name "Alice Example",
	// attribute department "engineering"), application "com.example.app".
	Identity adapters.IdentityInput
	// ClientData is what the client sent beside its answers (an MDM activation code); it rides
	// along in every input, as the host's own member clientData.
	ClientData adapters.ClientData
	// Rejected, when set, is an identity validateIdentity must not answer YES for.
	Rejected *adapters.IdentityInput
	// Issuer, when set, is the CA certificate the bridge signs with: a generated certificate must
	// verify against it, and validateCertificate must answer NO for a certificate of another CA.
	Issuer *x509.Certificate
}

func (fx PKIFixture) withDefaults() PKIFixture {
	params := maps.Clone(DocumentedParameters)
	maps.Copy(params, fx.Parameters)
	fx.Parameters = params
	if fx.Identity.UserIdentity.UserName == "" {
		fx.Identity = adapters.IdentityInput{
			DeviceID: "device-1",
			UserIdentity: adapters.UserIdentity{
				UserName:    "alice",
				DisplayName: "Alice Example",
				Attributes:  map[string]any{"department": "engineering"},
			},
			AppID: "com.example.app",
		}
	}
	fx.Identity = documented(fx.Identity, fx.ClientData)
	if fx.Rejected != nil {
		r := documented(*fx.Rejected, fx.ClientData)
		fx.Rejected = &r
	}
	return fx
}

// documented completes an identity as the daemon sends it: every documented member present
// (the display name defaults to the user name, attributes to {}), and the client's data.
func documented(id adapters.IdentityInput, cd adapters.ClientData) adapters.IdentityInput {
	if id.UserIdentity.DisplayName == "" {
		id.UserIdentity.DisplayName = id.UserIdentity.UserName
	}
	if id.UserIdentity.Attributes == nil {
		id.UserIdentity.Attributes = map[string]any{}
	}
	id.ClientData = cd
	return id
}

// PKIBridge checks the PKI-bridge procedures the adapter exports (init, validateIdentity,
// getCSRRequirements, validateCSR, generateCertificate, getIdentityFromCertificate,
// validateCertificate) against the JSON shapes in adapters/pki.go, walking one enrollment with
// the inputs the daemon builds, Worklight's documented objects: init the realm's parameters as
// one flat object; validateIdentity and getCSRRequirements {"deviceId", "userIdentity",
// "appId"}; validateCSR and generateCertificate {"deviceId", "csr", "userIdentity", "appId"}
// (and the host's csrInfo); the certificate procedures the certificate object. Verdicts are one
// of the allowed strings, getCSRRequirements names a commonName and an additionalSubject and
// additionalAttributes the daemon can enforce, validateCSR accepts a CSR built to those
// requirements (attributes included), generateCertificate returns a DER certificate whose
// public key is the CSR's, getIdentityFromCertificate returns a userName, validateCertificate
// accepts the generated certificate. Outputs are decoded strictly: a member that adapters/pki.go
// does not define fails the check. It builds real CSRs (ECDSA P-256). Like the engine, it runs
// every other procedure after init with adapters.CallInit: once per guest instance when the
// adapter is an adapters.Initializer (both backends are), before every procedure otherwise.
// Procedures the adapter does not export are skipped, and the defaults of adapters/pki.go stand
// in for them.
func PKIBridge(t T, a adapters.Adapter, fx PKIFixture) {
	t.Helper()
	fx = fx.withDefaults()
	p := &pkiRun{a: a, fx: fx, exported: map[string]bool{}}
	for _, name := range a.Procedures() {
		p.exported[name] = true
	}
	found := false
	for _, role := range adapters.PKIRoles {
		found = found || p.exported[PKIProcedures[role]]
	}
	if !found {
		t.Fatalf("the adapter exports none of the PKI-bridge procedures (it exports %q)", a.Procedures())
	}

	p.step(t, adapters.PKIInit, func(t T) {
		p.call(t, "init", p.initInput(), nil)
	})
	p.step(t, adapters.PKIIdentityValidation, func(t T) {
		var v adapters.Valid
		p.call(t, "validateIdentity", fx.Identity, &v)
		checkVerdict(t, "validateIdentity", v.Valid, adapters.Yes, adapters.Yes, adapters.No, adapters.NoUseDependentRealmOnly)
		if fx.Rejected != nil {
			var r adapters.Valid
			p.call(t, "validateIdentity", *fx.Rejected, &r)
			checkVerdict(t, "validateIdentity of the rejected identity", r.Valid, "", adapters.Yes, adapters.No, adapters.NoUseDependentRealmOnly)
			if r.Valid == adapters.Yes {
				t.Errorf("validateIdentity(%+v) = YES, want a refusal", *fx.Rejected)
			}
		}
	})

	req := adapters.DefaultCSRRequirements(fx.Identity)
	p.step(t, adapters.PKICSRRequirements, func(t T) {
		var got adapters.CSRRequirements
		p.call(t, "getCSRRequirements", fx.Identity, &got)
		if got.CommonName == "" {
			t.Fatalf("getCSRRequirements named no commonName: %+v", got)
		}
		if _, err := Subject(got); err != nil {
			t.Fatalf("getCSRRequirements: %v", err)
		}
		if _, err := Attributes(got); err != nil {
			t.Fatalf("getCSRRequirements: %v", err)
		}
		req = got
	})

	_, csr := NewCSRFor(t, req)
	csrInput := adapters.NewCSRInput(fx.Identity, csr)

	p.step(t, adapters.PKICSRValidation, func(t T) {
		var v adapters.Valid
		p.call(t, "validateCSR", csrInput, &v)
		checkVerdict(t, "validateCSR", v.Valid, adapters.Yes, adapters.Yes, adapters.No)
	})

	var cert *x509.Certificate
	p.step(t, adapters.PKICertificateGeneration, func(t T) {
		var g adapters.GeneratedCertificate
		p.call(t, "generateCertificate", csrInput, &g)
		der, err := base64.StdEncoding.DecodeString(g.CertificateBase64)
		if err != nil {
			t.Fatalf("generateCertificate: certificateBase64 is not base64: %v", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("generateCertificate: certificateBase64 is not a DER certificate: %v", err)
		}
		if !bytes.Equal(c.RawSubjectPublicKeyInfo, csr.RawSubjectPublicKeyInfo) {
			t.Errorf("generateCertificate: the certificate's public key is not the CSR's")
		}
		if now := time.Now(); now.Before(c.NotBefore) || now.After(c.NotAfter) {
			t.Errorf("generateCertificate: the certificate is not valid now (%v to %v)", c.NotBefore, c.NotAfter)
		}
		if fx.Issuer != nil {
			if err := c.CheckSignatureFrom(fx.Issuer); err != nil {
				t.Errorf("generateCertificate: the certificate does not verify against the issuer %q: %v", fx.Issuer.Subject, err)
			}
		}
		cert = c
	})
	generated := cert != nil
	if cert == nil {
		// The bridge does not issue certificates; stand in for the PKI with a throwaway CA so the
		// certificate procedures still get a real certificate.
		cert = IssueCertificate(t, NewCA(t, "Conformance stand-in CA"), csr)
	}
	certInput := adapters.NewCertificateInput(cert, fx.ClientData)

	p.step(t, adapters.PKIIdentityFromCertificate, func(t T) {
		var id adapters.IdentityFromCertificate
		p.call(t, "getIdentityFromCertificate", certInput, &id)
		if id.UserName == "" {
			t.Errorf("getIdentityFromCertificate returned no userName: %+v", id)
		}
	})
	p.step(t, adapters.PKICertificateValidation, func(t T) {
		var v adapters.Valid
		want := ""
		if generated {
			want = adapters.Yes
		}
		p.call(t, "validateCertificate", certInput, &v)
		checkVerdict(t, "validateCertificate of the generated certificate", v.Valid, want, adapters.Yes, adapters.No)
		if fx.Issuer != nil {
			foreign := IssueCertificate(t, NewCA(t, fx.Issuer.Subject.CommonName), csr)
			var f adapters.Valid
			p.call(t, "validateCertificate", adapters.NewCertificateInput(foreign, fx.ClientData), &f)
			checkVerdict(t, "validateCertificate of a certificate from another CA", f.Valid, adapters.No, adapters.Yes, adapters.No)
		}
	})
}

type pkiRun struct {
	a        adapters.Adapter
	fx       PKIFixture
	exported map[string]bool
}

func (p *pkiRun) initInput() adapters.InitInput { return adapters.InitInput(p.fx.Parameters) }

// step runs check as a subtest when the adapter exports the role's procedure.
func (p *pkiRun) step(t T, role string, check func(t T)) {
	t.Helper()
	name := PKIProcedures[role]
	t.Run(name, func(t T) {
		if !p.exported[name] {
			t.Skipf("the adapter does not export %s", name)
		}
		check(t)
	})
}

// call runs init (when exported) and then procedure with in, decoding the output strictly into
// out; a nil out only checks that the output is JSON.
func (p *pkiRun) call(t T, procedure string, in, out any) {
	t.Helper()
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("%s: encoding the input: %v", procedure, err)
	}
	var output json.RawMessage
	if procedure != "init" && p.exported["init"] {
		init, merr := json.Marshal(p.initInput())
		if merr != nil {
			t.Fatalf("init: encoding the input: %v", merr)
		}
		output, err = adapters.CallInit(t.Context(), p.a, adapters.Init{Procedure: "init", Input: init}, procedure, input)
	} else {
		output, err = p.a.Call(t.Context(), procedure, input)
	}
	if err != nil {
		t.Fatalf("%s(%s): %v", procedure, input, err)
	}
	if !json.Valid(output) {
		t.Fatalf("%s: output %q is not JSON", procedure, output)
	}
	if out == nil {
		return
	}
	if err := DecodeStrict(output, out); err != nil {
		t.Fatalf("%s: output %s does not match adapters.%T: %v", procedure, output, out, err)
	}
}

// DecodeStrict decodes one JSON value into out, refusing members out does not define and
// anything after the value.
func DecodeStrict(data []byte, out any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(out); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

func checkVerdict(t T, what, got, want string, allowed ...string) {
	t.Helper()
	if !slices.Contains(allowed, got) {
		t.Errorf("%s: verdict %q, want one of %q", what, got, allowed)
		return
	}
	if want != "" && got != want {
		t.Errorf("%s: verdict %q, want %q", what, got, want)
	}
}

// CSRObject describes what the host parsed from a CSR for a PKI bridge (adapters.CSRInfo): the
// very object the daemon builds (adapters.CSRObject), so bridges are tested with what they will
// receive.
func CSRObject(csr *x509.CertificateRequest) adapters.CSRInfo { return adapters.CSRObject(csr) }

// CertificateObject describes a certificate as the host hands it to a PKI bridge
// (adapters.Certificate), as the daemon builds it (adapters.CertificateObject).
func CertificateObject(c *x509.Certificate) adapters.Certificate {
	return adapters.CertificateObject(c)
}

// Subject is the subject a client puts into its CSR for req, as the daemon checks it: the
// attributes of AdditionalSubject, one RDN each, the most general first, and CN=CommonName last.
func Subject(req adapters.CSRRequirements) (pkix.RDNSequence, error) {
	seq, err := rfc4514.RDNs(req.AdditionalSubject)
	if err != nil {
		return nil, fmt.Errorf("additionalSubject %q: %w", req.AdditionalSubject, err)
	}
	for _, rdn := range seq {
		if rdn[0].Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 3}) {
			return nil, fmt.Errorf("additionalSubject %q holds a CN; the common name is commonName alone", req.AdditionalSubject)
		}
	}
	return append(seq, pkix.RelativeDistinguishedNameSET{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: req.CommonName}}), nil
}

// Attributes are the request attributes a client puts into its CSR for req's
// additionalAttributes, as the daemon checks them: PKCS #9 names or dotted OIDs, each with its
// one string value, in the order of their names.
func Attributes(req adapters.CSRRequirements) ([]pkcs10.Attribute, error) {
	out := make([]pkcs10.Attribute, 0, len(req.AdditionalAttributes))
	for _, name := range slices.Sorted(maps.Keys(req.AdditionalAttributes)) {
		oid, err := pkcs9.AttributeOID(name)
		if err != nil {
			return nil, fmt.Errorf("additionalAttributes: %w", err)
		}
		v := req.AdditionalAttributes[name]
		if v == "" {
			return nil, fmt.Errorf("additionalAttributes: the value of %s is empty", name)
		}
		out = append(out, pkcs10.Attribute{Type: oid, Value: v})
	}
	return out, nil
}

// ParseRDNs parses an RFC 4514 subject string such as "O=Example,OU=Mobile,C=DE" into a
// pkix.Name, with the grammar the daemon writes subjects with. An empty string is an empty name.
func ParseRDNs(s string) (pkix.Name, error) {
	var n pkix.Name
	seq, err := rfc4514.ParseDN(s)
	if err != nil {
		return n, err
	}
	n.FillFromRDNSequence(&seq)
	return n, nil
}

// NewCSR makes a fresh ECDSA P-256 key and a CSR for subject signed with it.
func NewCSR(t Reporter, subject pkix.Name) (*ecdsa.PrivateKey, *x509.CertificateRequest) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("%v", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatalf("creating a CSR for %q: %v", subject, err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return key, csr
}

// NewCSRFor makes a fresh ECDSA P-256 key and a CSR built to req, as the Go client builds it:
// the subject of Subject and the attributes of Attributes.
func NewCSRFor(t Reporter, req adapters.CSRRequirements) (*ecdsa.PrivateKey, *x509.CertificateRequest) {
	t.Helper()
	subject, err := Subject(req)
	if err != nil {
		t.Fatalf("CSR requirements %+v: %v", req, err)
	}
	attrs, err := Attributes(req)
	if err != nil {
		t.Fatalf("CSR requirements %+v: %v", req, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("%v", err)
	}
	der, err := pkcs10.New(key, subject, attrs)
	if err != nil {
		t.Fatalf("creating a CSR for %+v: %v", req, err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return key, csr
}

// CA is a certificate authority for tests: a self-signed ECDSA P-256 certificate and its key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA makes a fresh CA named cn, valid from an hour ago for a year.
func NewCA(t Reporter, cn string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("%v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Realmgate tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("%v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return &CA{Cert: cert, Key: key}
}

// IssueCertificate signs a client certificate for csr's subject and key, valid for a day.
func IssueCertificate(t Reporter, ca *CA, csr *x509.CertificateRequest) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(t),
		Subject:      csr.Subject,
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.Key)
	if err != nil {
		t.Fatalf("%v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return cert
}

func randomSerial(t Reporter) *big.Int {
	t.Helper()
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		t.Fatalf("%v", err)
	}
	return s.Add(s, big.NewInt(1))
}
