package engine

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/rfc4514"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/project"
)

// PKI-bridge classes a user-certificate realm names in pki-bridge-class.
const (
	BridgeAdapterBased = "com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI"
	BridgeEmbedded     = "com.worklight.core.auth.ext.UserCertificateEmbeddedPKI"
)

// bridge is a PKI bridge: Worklight's seven procedures, answered by an adapter or by the embedded
// CA. Procedures a bridge does not implement answer with the defaults of adapters/pki.go.
type bridge interface {
	validateIdentity(x *exchange, in adapters.IdentityInput) (string, error)
	csrRequirements(x *exchange, in adapters.IdentityInput) (adapters.CSRRequirements, error)
	validateCSR(x *exchange, in adapters.CSRInput) (string, error)
	// generate returns the DER certificate for the CSR. req are the requirements the CSR was
	// checked against (zero for device provisioning, whose subject the bridge decides).
	generate(x *exchange, in adapters.CSRInput, csr *x509.CertificateRequest, req adapters.CSRRequirements) ([]byte, error)
	identityFromCertificate(x *exchange, in adapters.CertificateInput) (adapters.IdentityFromCertificate, error)
	validateCertificate(x *exchange, in adapters.CertificateInput) (string, error)
}

// adapterBridge calls the procedures the realm's adapter-pki-bridge-*-procedure parameters name;
// init runs before each call with the realm's parameters, as Worklight did.
type adapterBridge struct {
	realm  string
	params map[string]string
	procs  map[string][2]string // role -> adapter, procedure
	runner func() ProcedureRunner
}

// newAdapterBridge reads the bridge procedures of a realm. A user-certificate realm needs the
// certificate-generation procedure; a provisioning realm may leave signing to the built-in CA.
func newAdapterBridge(e *Engine, r *project.Realm, needGeneration bool) (*adapterBridge, error) {
	b := &adapterBridge{realm: r.Name, params: r.Params.Map(), procs: map[string][2]string{}, runner: func() ProcedureRunner { return e.procs }}
	for _, role := range adapters.PKIRoles {
		ref, ok := r.Params.Get("adapter-pki-bridge-" + role + "-procedure")
		if !ok || ref == "" {
			continue
		}
		a, p, ok := splitRef(ref)
		if !ok {
			return nil, fmt.Errorf("adapter-pki-bridge-%s-procedure %q is not Adapter.procedure", role, ref)
		}
		b.procs[role] = [2]string{a, p}
	}
	if _, ok := b.procs[adapters.PKICertificateGeneration]; !ok && needGeneration {
		return nil, fmt.Errorf("no adapter-pki-bridge-%s-procedure", adapters.PKICertificateGeneration)
	}
	return b, nil
}

// generates reports whether the bridge signs certificates itself.
func (b *adapterBridge) generates() bool {
	_, ok := b.procs[adapters.PKICertificateGeneration]
	return ok
}

// call runs one role's procedure (after init); ok is false when the role is not configured.
func (b *adapterBridge) call(x *exchange, role string, in, out any) (bool, error) {
	ref, ok := b.procs[role]
	if !ok {
		return false, nil
	}
	runner := b.runner()
	if runner == nil {
		return true, &Error{Code: CodeNotImplemented, Message: "the PKI bridge's adapter is not loaded"}
	}
	if init, ok := b.procs[adapters.PKIInit]; ok && role != adapters.PKIInit {
		raw, _ := json.Marshal(adapters.InitInput{Realm: b.realm, Parameters: b.params})
		if _, err := runner.Call(x.ctx, init[0], init[1], raw); err != nil {
			return true, bridgeError(init, err)
		}
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return true, unavailable("the PKI bridge", err)
	}
	res, err := runner.Call(x.ctx, ref[0], ref[1], raw)
	if err != nil {
		return true, bridgeError(ref, err)
	}
	if err := json.Unmarshal(res, out); err != nil {
		return true, &Error{Code: CodeUnavailable, Message: fmt.Sprintf("the PKI bridge's %s.%s returned an unexpected answer", ref[0], ref[1]), Err: err}
	}
	return true, nil
}

// bridgeError reports a failed bridge procedure: the bridge's own failure message refuses the
// request; anything else is the bridge being unavailable.
func bridgeError(ref [2]string, err error) error {
	if adapters.CodeOf(err) == adapters.CodeFailed {
		return &Error{Code: CodeRefused, Message: "the PKI bridge refused: " + adapterMessage(err), Err: err}
	}
	return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("the PKI bridge (%s.%s) is unavailable", ref[0], ref[1]), Err: err}
}

func adapterMessage(err error) string {
	if ae, ok := err.(*adapters.Error); ok && ae.Message != "" {
		return truncate(ae.Message, 512)
	}
	return "no reason given"
}

func verdict(v, role string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", &Error{Code: CodeUnavailable, Message: fmt.Sprintf("the PKI bridge's %s answered %q", role, v)}
}

func (b *adapterBridge) validateIdentity(x *exchange, in adapters.IdentityInput) (string, error) {
	out := adapters.DefaultValidateIdentity()
	if _, err := b.call(x, adapters.PKIIdentityValidation, in, &out); err != nil {
		return "", err
	}
	return verdict(out.Valid, "validateIdentity", adapters.Yes, adapters.No, adapters.NoUseDependentRealmOnly)
}

func (b *adapterBridge) csrRequirements(x *exchange, in adapters.IdentityInput) (adapters.CSRRequirements, error) {
	out := adapters.DefaultCSRRequirements(in.Identity)
	if _, err := b.call(x, adapters.PKICSRRequirements, in, &out); err != nil {
		return out, err
	}
	if out.CommonName == "" {
		return out, &Error{Code: CodeUnavailable, Message: "the PKI bridge's getCSRRequirements gave no commonName"}
	}
	return out, nil
}

func (b *adapterBridge) validateCSR(x *exchange, in adapters.CSRInput) (string, error) {
	out := adapters.DefaultValidateCSR()
	if _, err := b.call(x, adapters.PKICSRValidation, in, &out); err != nil {
		return "", err
	}
	return verdict(out.Valid, "validateCSR", adapters.Yes, adapters.No)
}

func (b *adapterBridge) generate(x *exchange, in adapters.CSRInput, _ *x509.CertificateRequest, _ adapters.CSRRequirements) ([]byte, error) {
	var out adapters.GeneratedCertificate
	if _, err := b.call(x, adapters.PKICertificateGeneration, in, &out); err != nil {
		return nil, err
	}
	der, err := base64.StdEncoding.DecodeString(out.CertificateBase64)
	if err != nil || len(der) == 0 {
		return nil, &Error{Code: CodeUnavailable, Message: "the PKI bridge's generateCertificate returned no base64 certificate"}
	}
	return der, nil
}

func (b *adapterBridge) identityFromCertificate(x *exchange, in adapters.CertificateInput) (adapters.IdentityFromCertificate, error) {
	out := adapters.DefaultIdentityFromCertificate(in.Certificate)
	if _, err := b.call(x, adapters.PKIIdentityFromCertificate, in, &out); err != nil {
		return out, err
	}
	if out.UserName == "" {
		return out, &Error{Code: CodeUnavailable, Message: "the PKI bridge's getIdentityFromCertificate gave no userName"}
	}
	return out, nil
}

func (b *adapterBridge) validateCertificate(x *exchange, in adapters.CertificateInput) (string, error) {
	out := adapters.DefaultValidateCertificate()
	if _, err := b.call(x, adapters.PKICertificateValidation, in, &out); err != nil {
		return "", err
	}
	return verdict(out.Valid, "validateCertificate", adapters.Yes, adapters.No)
}

// embeddedBridge is UserCertificateEmbeddedPKI: the defaults for every decision, and certificates
// signed by the CA of a PKCS#12 file.
type embeddedBridge struct {
	ca           *pki.CA
	organization string
}

// LoadEmbeddedPKI opens the PKCS#12 file of a realm with the embedded PKI bridge (path relative
// to the project directory when not absolute).
func LoadEmbeddedPKI(p *project.Project, r *project.Realm) (*pki.CA, error) {
	path, _ := r.Params.Get("embedded-pki-bridge-ca-p12-file-path")
	password, _ := r.Params.Get("embedded-pki-bridge-ca-p12-password")
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.Dir, filepath.FromSlash(path))
	}
	return pki.LoadPKCS12(path, password)
}

func (b *embeddedBridge) validateIdentity(*exchange, adapters.IdentityInput) (string, error) {
	return adapters.DefaultValidateIdentity().Valid, nil
}

func (b *embeddedBridge) csrRequirements(_ *exchange, in adapters.IdentityInput) (adapters.CSRRequirements, error) {
	req := adapters.DefaultCSRRequirements(in.Identity)
	if b.organization != "" {
		req.AdditionalSubject = "O=" + rfc4514.Escape(b.organization)
	}
	return req, nil
}

func (b *embeddedBridge) validateCSR(*exchange, adapters.CSRInput) (string, error) {
	return adapters.DefaultValidateCSR().Valid, nil
}

// generate signs the CSR's key for the subject the requirements name (pki.RequiredSubject): the
// CSR was checked to carry at least that subject, and may carry more (OU=admins, UID=alice), but
// what a certificate of this CA says is the CA's decision, never the client's. None of the
// names or extensions the CSR requests are copied.
func (b *embeddedBridge) generate(x *exchange, _ adapters.CSRInput, csr *x509.CertificateRequest, req adapters.CSRRequirements) ([]byte, error) {
	subject, err := pki.RequiredSubject(pkiRequirements(req))
	if err != nil {
		return nil, pkiError("the CSR requirements", err)
	}
	cert, err := b.ca.Issue(csr, pki.IssueOptions{Now: x.now, SubjectRDNs: subject})
	if err != nil {
		return nil, &Error{Code: CodeUnavailable, Message: "the embedded PKI could not sign the certificate", Err: err}
	}
	return cert.Raw, nil
}

func (b *embeddedBridge) identityFromCertificate(_ *exchange, in adapters.CertificateInput) (adapters.IdentityFromCertificate, error) {
	return adapters.DefaultIdentityFromCertificate(in.Certificate), nil
}

func (b *embeddedBridge) validateCertificate(*exchange, adapters.CertificateInput) (string, error) {
	return adapters.DefaultValidateCertificate().Valid, nil
}

// pkiRequirements are the parts of a bridge's CSR requirements that the host checks a CSR
// against and that the embedded CA signs: the common name and the additional subject.
// additionalAttributes are advisory (attributes the client is asked to add to its request):
// neither checked nor copied into a certificate.
func pkiRequirements(req adapters.CSRRequirements) pki.Requirements {
	return pki.Requirements{CommonName: req.CommonName, AdditionalSubject: req.AdditionalSubject}
}
