package wasm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/adapterjson"
	"github.com/realmgate/realmgate/internal/pkcs9"
	"github.com/realmgate/realmgate/internal/rfc4514"
)

// The host PKI capability (ABI.md, "Host PKI"): a guest granted <capability name="pki"> asks
// the host to parse a CSR, to sign a certificate template with the key the grant names, or to
// verify that a certificate is one that key signed. The key stays in the host: the guest hands
// over JSON and gets JSON back, never a key byte. Everything a guest sends is bounded and
// checked here, in pure functions that the fuzz targets feed.

// Bounds of the PKI capability's requests.
const (
	maxPKIRequest      = 64 << 10 // the request JSON
	maxPKICSR          = 16 << 10 // the DER of a CSR (as pki.MaxCSRSize)
	maxPKICertificate  = 16 << 10 // the DER of a certificate to verify
	maxPKINames        = 16       // DNS names, emails and URIs, each
	maxPKINameLength   = 253      // bytes of one name
	maxPKIExtensions   = 8        // extra extensions of a template
	maxPKIExtension    = 4 << 10  // bytes of one extension's value
	maxPKIUsages       = 8        // key usages, extended key usages, each
	defaultPKIValidity = 365 * 24 * time.Hour
	pkiBackdate        = 5 * time.Minute // clock skew allowed for, as pki.Backdate
	maxVerifiedCSRs    = 1024            // verified CSR digests kept per adapter
)

// pkiRequest is the JSON a guest passes to the pki host function: one operation.
type pkiRequest struct {
	Op string `json:"op"`
	// CSR is the base64 DER of a request (parseCSR, sign: the certified key is the CSR's).
	CSR string `json:"csr"`
	// Certificate is the base64 DER of a certificate (verify).
	Certificate string `json:"certificate"`
	// The template of sign.
	Subject      *pkiSubject    `json:"subject"`
	ValidityDays int            `json:"validityDays"`
	KeyUsage     []string       `json:"keyUsage"`
	ExtKeyUsage  []string       `json:"extKeyUsage"`
	DNSNames     []string       `json:"dnsNames"`
	Emails       []string       `json:"emails"`
	URIs         []string       `json:"uris"`
	IsCA         bool           `json:"isCA"`
	Extensions   []pkiExtension `json:"extensions"`
}

// pkiSubject names a certificate's subject the way getCSRRequirements names a CSR's: the
// common name and the other attributes ({"O": "Example"}; rfc4514.RDNs orders them).
type pkiSubject struct {
	CommonName        string            `json:"commonName"`
	AdditionalSubject map[string]string `json:"additionalSubject"`
}

// pkiExtension is one extension, as a template asks for it and as a parsed CSR lists it.
type pkiExtension struct {
	OID         string `json:"oid"`
	Critical    bool   `json:"critical,omitempty"`
	ValueBase64 string `json:"valueBase64"`
}

// pkiKeyInfo describes a CSR's public key: the documented KeyInfo and two names of the key a
// guest can compare without handling it, its RFC 7638 JWK thumbprint (SHA-256, base64url) and
// the SHA-256 of its SubjectPublicKeyInfo (base64).
type pkiKeyInfo struct {
	adapters.KeyInfo
	Thumbprint string `json:"thumbprint"`
	SPKISHA256 string `json:"spkiSha256"`
}

// pkiCSR is the answer of parseCSR: the documented CSR object (adapters.CSRInfo) with the key's
// names, the URIs, the extensions the request asks for and its PKCS #9 string attributes
// (challengePassword, unstructuredName, unstructuredAddress by name, others by dotted OID).
type pkiCSR struct {
	DN         string            `json:"dn"`
	CN         string            `json:"cn"`
	PublicKey  pkiKeyInfo        `json:"publicKey"`
	Signature  adapters.SigInfo  `json:"signature"`
	DNSNames   []string          `json:"dnsNames,omitempty"`
	Emails     []string          `json:"emails,omitempty"`
	URIs       []string          `json:"uris,omitempty"`
	Extensions []pkiExtension    `json:"extensions,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// pkiSigned is the answer of sign.
type pkiSigned struct {
	CertificateBase64 string `json:"certificateBase64"`
	SerialNumber      string `json:"serialNumber"` // lower-case hex, as the certificate object's
	NotBefore         int64  `json:"notBefore"`
	NotAfter          int64  `json:"notAfter"`
}

// pkiVerified is the answer of verify.
type pkiVerified struct {
	Valid  bool   `json:"valid"`
	Reason string `json:"reason,omitempty"`
}

// pkiError is the answer of a refused or failed operation.
type pkiError struct {
	Error string `json:"error"`
}

// keyUsages and extKeyUsages name the usages a template may ask for, as RFC 5280 names them.
var keyUsages = map[string]x509.KeyUsage{
	"digitalSignature":  x509.KeyUsageDigitalSignature,
	"contentCommitment": x509.KeyUsageContentCommitment,
	"keyEncipherment":   x509.KeyUsageKeyEncipherment,
	"dataEncipherment":  x509.KeyUsageDataEncipherment,
	"keyAgreement":      x509.KeyUsageKeyAgreement,
	"keyCertSign":       x509.KeyUsageCertSign,
	"cRLSign":           x509.KeyUsageCRLSign,
}

var extKeyUsages = map[string]x509.ExtKeyUsage{
	"serverAuth":      x509.ExtKeyUsageServerAuth,
	"clientAuth":      x509.ExtKeyUsageClientAuth,
	"codeSigning":     x509.ExtKeyUsageCodeSigning,
	"emailProtection": x509.ExtKeyUsageEmailProtection,
	"timeStamping":    x509.ExtKeyUsageTimeStamping,
	"OCSPSigning":     x509.ExtKeyUsageOCSPSigning,
}

// hostSetExtensions are the extensions the host writes from the template's fields or itself; a
// template may not add them raw (a raw basicConstraints would make a CA behind the grant's back).
var hostSetExtensions = map[string]string{
	"2.5.29.14": "subjectKeyIdentifier",
	"2.5.29.15": "keyUsage (use keyUsage)",
	"2.5.29.17": "subjectAltName (use dnsNames, emails, uris)",
	"2.5.29.19": "basicConstraints (use isCA)",
	"2.5.29.30": "nameConstraints",
	"2.5.29.35": "authorityKeyIdentifier",
	"2.5.29.37": "extKeyUsage (use extKeyUsage)",
}

// signTemplate is a checked template, ready to sign.
type signTemplate struct {
	csrDER      []byte
	subject     pkix.RDNSequence
	validity    time.Duration
	keyUsage    x509.KeyUsage
	extKeyUsage []x509.ExtKeyUsage
	dnsNames    []string
	emails      []string
	uris        []*url.URL
	isCA        bool
	extensions  []pkix.Extension
}

// decodePKIRequest decodes a request: one JSON object of at most maxPKIRequest bytes, no
// unknown members, a known op.
func decodePKIRequest(b []byte) (*pkiRequest, error) {
	if len(b) > maxPKIRequest {
		return nil, fmt.Errorf("the request is larger than %d bytes", maxPKIRequest)
	}
	// Exact member names, no unknown member: a misspelt "isCa" must not pass as "isCA", nor be
	// ignored.
	req, err := adapterjson.DecodeStrict[pkiRequest](b)
	if err != nil {
		return nil, fmt.Errorf("the request is not valid: %v", err)
	}
	switch req.Op {
	case "parseCSR", "sign", "verify":
	default:
		return nil, fmt.Errorf("unknown op %q: use parseCSR, sign or verify", cutUTF8(strings.ToValidUTF8(req.Op, "?"), 32))
	}
	return &req, nil
}

// parseSignTemplate checks a sign request against the grant: a CSR, a subject the host can
// build, a validity within the grant's bound, known usages, bounded names and extensions, and
// no CA certificate unless the grant allows one.
func parseSignTemplate(req *pkiRequest, maxValidity time.Duration, allowCA bool) (*signTemplate, error) {
	t := &signTemplate{}
	var err error
	if t.csrDER, err = decodeBase64DER("csr", req.CSR, maxPKICSR); err != nil {
		return nil, err
	}
	if req.Subject == nil || req.Subject.CommonName == "" {
		return nil, errors.New("the template has no subject.commonName: the bridge names the subject, never the CSR")
	}
	if !utf8.ValidString(req.Subject.CommonName) || len(req.Subject.CommonName) > rfc4514.MaxValueLength {
		return nil, fmt.Errorf("subject.commonName must be 1 to %d bytes of UTF-8", rfc4514.MaxValueLength)
	}
	extra, err := rfc4514.RDNs(req.Subject.AdditionalSubject)
	if err != nil {
		return nil, fmt.Errorf("subject.additionalSubject: %v", err)
	}
	for _, rdn := range extra {
		for _, atv := range rdn {
			if atv.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 3}) {
				return nil, errors.New("subject.additionalSubject holds a CN: the common name is subject.commonName alone")
			}
		}
	}
	t.subject = append(extra, pkix.RelativeDistinguishedNameSET{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: req.Subject.CommonName}})

	if maxValidity <= 0 {
		maxValidity = adapters.DefaultPKIMaxValidity
	}
	switch {
	case req.ValidityDays < 0:
		return nil, fmt.Errorf("validityDays %d is negative", req.ValidityDays)
	case req.ValidityDays == 0:
		t.validity = min(defaultPKIValidity, maxValidity)
	case int64(req.ValidityDays) > int64(maxValidity/(24*time.Hour)):
		return nil, fmt.Errorf("validityDays %d is beyond the grant's bound of %d days", req.ValidityDays, int64(maxValidity/(24*time.Hour)))
	default:
		t.validity = time.Duration(req.ValidityDays) * 24 * time.Hour
	}

	if req.IsCA && !allowCA {
		return nil, errors.New(`the template asks for a CA certificate (isCA), which the adapter's grant does not allow (issueCA="true")`)
	}
	t.isCA = req.IsCA
	if len(req.KeyUsage) > maxPKIUsages || len(req.ExtKeyUsage) > maxPKIUsages {
		return nil, fmt.Errorf("at most %d key usages and %d extended key usages", maxPKIUsages, maxPKIUsages)
	}
	for _, u := range req.KeyUsage {
		ku, ok := keyUsages[u]
		if !ok {
			return nil, fmt.Errorf("unknown keyUsage %q (known: %s)", cutUTF8(strings.ToValidUTF8(u, "?"), 32), knownNames(keyUsages))
		}
		if (ku == x509.KeyUsageCertSign || ku == x509.KeyUsageCRLSign) && !t.isCA {
			return nil, fmt.Errorf("keyUsage %s is a CA's: the template is not a CA certificate", u)
		}
		t.keyUsage |= ku
	}
	if len(req.KeyUsage) == 0 {
		t.keyUsage = x509.KeyUsageDigitalSignature
		if t.isCA {
			t.keyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		}
	}
	for _, u := range req.ExtKeyUsage {
		eku, ok := extKeyUsages[u]
		if !ok {
			return nil, fmt.Errorf("unknown extKeyUsage %q (known: %s)", cutUTF8(strings.ToValidUTF8(u, "?"), 32), knownNames(extKeyUsages))
		}
		if !slices.Contains(t.extKeyUsage, eku) {
			t.extKeyUsage = append(t.extKeyUsage, eku)
		}
	}
	if len(req.ExtKeyUsage) == 0 && !t.isCA {
		t.extKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}

	if t.dnsNames, err = boundedNames("dnsNames", req.DNSNames); err != nil {
		return nil, err
	}
	if t.emails, err = boundedNames("emails", req.Emails); err != nil {
		return nil, err
	}
	uris, err := boundedNames("uris", req.URIs)
	if err != nil {
		return nil, err
	}
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" {
			return nil, fmt.Errorf("uris: %q is not an absolute URI", s)
		}
		t.uris = append(t.uris, u)
	}

	if len(req.Extensions) > maxPKIExtensions {
		return nil, fmt.Errorf("%d extensions; at most %d", len(req.Extensions), maxPKIExtensions)
	}
	seen := map[string]bool{}
	for _, e := range req.Extensions {
		oid, err := rfc4514.AttributeOID(e.OID)
		if err != nil || !startsWithDigit(e.OID) {
			return nil, fmt.Errorf("extension oid %q is not a dotted OID", cutUTF8(strings.ToValidUTF8(e.OID, "?"), 64))
		}
		if what, ok := hostSetExtensions[oid.String()]; ok {
			return nil, fmt.Errorf("extension %s is %s: the host writes it", oid, what)
		}
		if seen[oid.String()] {
			return nil, fmt.Errorf("extension %s is named twice", oid)
		}
		seen[oid.String()] = true
		v, err := decodeBase64DER("extensions[].valueBase64", e.ValueBase64, maxPKIExtension)
		if err != nil {
			return nil, err
		}
		t.extensions = append(t.extensions, pkix.Extension{Id: oid, Critical: e.Critical, Value: v})
	}
	return t, nil
}

func startsWithDigit(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

func knownNames[V any](m map[string]V) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// boundedNames checks a list of names: at most maxPKINames, each 1 to maxPKINameLength bytes of
// printable UTF-8.
func boundedNames(field string, names []string) ([]string, error) {
	if len(names) > maxPKINames {
		return nil, fmt.Errorf("%s: %d names; at most %d", field, len(names), maxPKINames)
	}
	for _, n := range names {
		if n == "" || len(n) > maxPKINameLength || !utf8.ValidString(n) || strings.ContainsAny(n, "\x00\r\n") {
			return nil, fmt.Errorf("%s: each name must be 1 to %d bytes of UTF-8 on one line", field, maxPKINameLength)
		}
	}
	return names, nil
}

// decodeBase64DER decodes standard base64 of at most max bytes once decoded.
func decodeBase64DER(field, s string, max int) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%s is missing", field)
	}
	if base64.StdEncoding.DecodedLen(len(s)) > max+2 {
		return nil, fmt.Errorf("%s is larger than %d bytes", field, max)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not standard base64: %v", field, err)
	}
	if len(b) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", field, max)
	}
	return b, nil
}

// checkClientKey enforces the key policy of pki for keys that clients bring: ECDSA P-256 or
// P-384, RSA of 2048 to 8192 bits with an odd exponent of at least 3, Ed25519.
func checkClientKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return errors.New("the CSR's ECDSA key is not on P-256 or P-384")
		}
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < 2048 || bits > 8192 {
			return fmt.Errorf("the CSR's RSA key has %d bits; 2048 to 8192 are accepted", bits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return fmt.Errorf("the CSR's RSA public exponent %d is not accepted", k.E)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("the CSR's %T key is not accepted: use ECDSA P-256/P-384, RSA 2048+ or Ed25519", pub)
	}
	return nil
}

// pkiHost serves the pki host function of one adapter.
type pkiHost struct {
	grant  *adapters.PKIGrant // nil: not granted
	logger *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	verified map[[sha256.Size]byte]*x509.CertificateRequest // CSRs whose signature checked out
}

func newPKIHost(grant *adapters.PKIGrant, logger *slog.Logger) *pkiHost {
	return &pkiHost{grant: grant, logger: logger, now: time.Now, verified: map[[sha256.Size]byte]*x509.CertificateRequest{}}
}

// do performs the operation the guest described in b for procedure and returns the answer JSON.
func (h *pkiHost) do(ctx context.Context, procedure string, b []byte) []byte {
	if h.grant == nil {
		return pkiFail(errors.New(`the adapter is not granted the host PKI capability: add <capability name="pki" .../> to its <backend>`))
	}
	req, err := decodePKIRequest(b)
	if err != nil {
		return pkiFail(err)
	}
	var out any
	switch req.Op {
	case "parseCSR":
		out, err = h.parseCSR(ctx, req)
	case "sign":
		out, err = h.sign(ctx, procedure, req)
	case "verify":
		out, err = h.verify(req)
	}
	if err != nil {
		return pkiFail(err)
	}
	j, err := json.Marshal(out)
	if err != nil {
		return pkiFail(err)
	}
	return j
}

func pkiFail(err error) []byte {
	b, _ := json.Marshal(pkiError{Error: err.Error()})
	return b
}

// csr parses and verifies the CSR of req, or finds it verified already: by the engine for the
// call being served (adapters.VerifiedCSR: the CSR of the enrollment or provisioning that called
// the bridge), or by this capability before (a bridge parses in validateCSR the CSR it signs in
// generateCertificate). The key policy is checked on every use.
func (h *pkiHost) csr(ctx context.Context, req *pkiRequest) (*x509.CertificateRequest, error) {
	der, err := decodeBase64DER("csr", req.CSR, maxPKICSR)
	if err != nil {
		return nil, err
	}
	if csr := adapters.VerifiedCSR(ctx, der); csr != nil {
		if err := checkClientKey(csr.PublicKey); err != nil {
			return nil, err
		}
		return csr, nil
	}
	sum := sha256.Sum256(der)
	h.mu.Lock()
	csr := h.verified[sum]
	h.mu.Unlock()
	if csr != nil {
		return csr, nil
	}
	if csr, err = x509.ParseCertificateRequest(der); err != nil {
		return nil, fmt.Errorf("the CSR is not DER PKCS#10: %v", err)
	}
	if err := checkClientKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the CSR is not signed by the key it carries: %v", err)
	}
	h.mu.Lock()
	if len(h.verified) >= maxVerifiedCSRs {
		clear(h.verified)
	}
	h.verified[sum] = csr
	h.mu.Unlock()
	return csr, nil
}

func (h *pkiHost) parseCSR(ctx context.Context, req *pkiRequest) (*pkiCSR, error) {
	csr, err := h.csr(ctx, req)
	if err != nil {
		return nil, err
	}
	return describeCSR(csr)
}

// describeCSR builds the answer of parseCSR from a parsed and verified CSR.
func describeCSR(csr *x509.CertificateRequest) (*pkiCSR, error) {
	info := adapters.CSRObject(csr)
	tp, err := (&jose.JSONWebKey{Key: csr.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("the CSR's key has no JWK thumbprint: %v", err)
	}
	spki := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
	out := &pkiCSR{
		DN: info.DN, CN: info.CN,
		PublicKey: pkiKeyInfo{KeyInfo: info.PublicKey, Thumbprint: base64.RawURLEncoding.EncodeToString(tp),
			SPKISHA256: base64.StdEncoding.EncodeToString(spki[:])},
		Signature: info.Signature,
		DNSNames:  info.DNSNames,
		Emails:    info.Emails,
	}
	for _, u := range csr.URIs {
		out.URIs = append(out.URIs, u.String())
	}
	for _, e := range csr.Extensions {
		out.Extensions = append(out.Extensions, pkiExtension{OID: e.Id.String(), Critical: e.Critical,
			ValueBase64: base64.StdEncoding.EncodeToString(e.Value)})
	}
	attrs, err := csrStringAttributes(csr.RawTBSCertificateRequest)
	if err != nil {
		return nil, err
	}
	if len(attrs) > 0 {
		out.Attributes = attrs
	}
	return out, nil
}

// csrStringAttributes reads the string attributes of a CertificationRequestInfo (RFC 2986
// section 4.1), named as CSR requirements name them: challengePassword, unstructuredName,
// unstructuredAddress, others by dotted OID. extensionRequest is listed under extensions.
func csrStringAttributes(tbs []byte) (map[string]string, error) {
	var info struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes []asn1.RawValue `asn1:"tag:0"`
	}
	if rest, err := asn1.Unmarshal(tbs, &info); err != nil || len(rest) != 0 {
		return nil, errors.New("the CSR's attributes do not parse")
	}
	names := map[string]string{}
	for name, oid := range pkcs9.Names {
		names[oid.String()] = name
	}
	canonical := map[string]string{"challengepassword": "challengePassword", "unstructuredname": "unstructuredName", "unstructuredaddress": "unstructuredAddress"}
	out := map[string]string{}
	for _, raw := range info.Attributes {
		var a struct {
			Type   asn1.ObjectIdentifier
			Values []asn1.RawValue `asn1:"set"`
		}
		if rest, err := asn1.Unmarshal(raw.FullBytes, &a); err != nil || len(rest) != 0 {
			return nil, errors.New("an attribute of the CSR does not parse")
		}
		if a.Type.Equal(pkcs9.OIDExtensionRequest) || len(a.Values) != 1 {
			continue
		}
		var s string
		if rest, err := asn1.Unmarshal(a.Values[0].FullBytes, &s); err != nil || len(rest) != 0 {
			continue // not a string
		}
		name := a.Type.String()
		if n, ok := names[name]; ok {
			name = canonical[n]
		}
		out[name] = s
	}
	return out, nil
}

// sign signs the template of req with the grant's key and logs the serial it issued.
func (h *pkiHost) sign(ctx context.Context, procedure string, req *pkiRequest) (*pkiSigned, error) {
	g := h.grant
	if !g.CanSign() {
		return nil, errors.New(`the adapter's PKI grant names no signing key: add ca="..." to its <capability name="pki">`)
	}
	t, err := parseSignTemplate(req, g.MaxValidity, g.AllowCA)
	if err != nil {
		return nil, err
	}
	csr, err := h.csr(ctx, req)
	if err != nil {
		return nil, err
	}
	rawSubject, err := asn1.Marshal(t.subject)
	if err != nil {
		return nil, fmt.Errorf("the subject cannot be encoded: %v", err)
	}
	now := h.now()
	notBefore, notAfter := now.Add(-pkiBackdate), now.Add(t.validity)
	if notBefore.Before(g.Issuer.NotBefore) {
		notBefore = g.Issuer.NotBefore
	}
	if notAfter.After(g.Issuer.NotAfter) {
		notAfter = g.Issuer.NotAfter
	}
	if !notAfter.After(now) {
		return nil, fmt.Errorf("the signing certificate of %s has expired", g.KeyName)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            rawSubject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              t.keyUsage,
		ExtKeyUsage:           t.extKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  t.isCA,
		MaxPathLenZero:        t.isCA,
		DNSNames:              t.dnsNames,
		EmailAddresses:        t.emails,
		URIs:                  t.uris,
		ExtraExtensions:       t.extensions,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, g.Issuer, csr.PublicKey, g.Key)
	if err != nil {
		return nil, fmt.Errorf("signing: %v", err)
	}
	serialHex := serial.Text(16)
	h.logger.Info("certificate signed with a host-held key", "procedure", procedure, "key", g.KeyName,
		"serial", serialHex, "subject", req.Subject.CommonName, "notAfter", notAfter.UTC().Format(time.RFC3339), "ca", t.isCA)
	return &pkiSigned{CertificateBase64: base64.StdEncoding.EncodeToString(der), SerialNumber: serialHex,
		NotBefore: notBefore.Unix(), NotAfter: notAfter.Unix()}, nil
}

// verify reports whether the certificate of req was signed by the grant's key and is valid now.
func (h *pkiHost) verify(req *pkiRequest) (*pkiVerified, error) {
	g := h.grant
	if !g.CanSign() {
		return nil, errors.New(`the adapter's PKI grant names no key: add ca="..." to its <capability name="pki">`)
	}
	der, err := decodeBase64DER("certificate", req.Certificate, maxPKICertificate)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return &pkiVerified{Reason: "the certificate does not parse"}, nil
	}
	if err := cert.CheckSignatureFrom(g.Issuer); err != nil {
		return &pkiVerified{Reason: "the certificate was not signed by " + g.KeyName}, nil
	}
	if now := h.now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return &pkiVerified{Reason: "the certificate is not valid now"}, nil
	}
	return &pkiVerified{Valid: true}, nil
}

// randomSerial returns a positive serial number of 128 random bits, as pki does.
func randomSerial() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("serial number: %w", err)
		}
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}
