package engine

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/realmgate/realmgate/adapters"
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

// adapterBridge calls the procedures the realm's adapter-pki-bridge-*-procedure parameters name.
// Every procedure runs on a guest instance that ran the realm's init with the realm's parameters:
// once per instance with an InitRunner, before each procedure otherwise (as Worklight did).
type adapterBridge struct {
	initInput json.RawMessage             // adapters.InitInput: the realm's parameters
	procs     map[string]adapters.ProcRef // by role
	runner    ProcedureRunner             // nil: no adapter is loaded
}

// newAdapterBridge reads the bridge procedures of a realm. A user-certificate realm needs the
// certificate-generation procedure; a provisioning realm may leave signing to the built-in CA.
func newAdapterBridge(e *Engine, r *project.Realm, needGeneration bool) (*adapterBridge, error) {
	initInput, err := json.Marshal(adapters.InitInput(r.Params.Map()))
	if err != nil {
		return nil, fmt.Errorf("the parameters of realm %s: %w", r.Name, err)
	}
	b := &adapterBridge{initInput: initInput, procs: map[string]adapters.ProcRef{}, runner: e.procs}
	for _, role := range adapters.PKIRoles {
		v, ok := r.Params.Get("adapter-pki-bridge-" + role + "-procedure")
		if !ok || v == "" {
			continue
		}
		ref, ok := adapters.ParseProcRef(v)
		if !ok {
			return nil, fmt.Errorf("adapter-pki-bridge-%s-procedure %q is not Adapter.procedure", role, v)
		}
		b.procs[role] = ref
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
	if b.runner == nil {
		return true, &Error{Code: CodeNotImplemented, Message: "the PKI bridge's adapter is not loaded"}
	}
	raw, err := json.Marshal(in)
	if err != nil {
		return true, unavailable("the PKI bridge", err)
	}
	var res json.RawMessage
	if init, ok := b.procs[adapters.PKIInit]; ok && role != adapters.PKIInit {
		res, err = b.callAfterInit(x, init, ref, raw)
	} else if res, err = b.runner.Call(x.ctx, ref.Adapter, ref.Procedure, raw); err != nil {
		err = bridgeError(ref, err)
	}
	if err != nil {
		return true, err
	}
	if err := json.Unmarshal(res, out); err != nil {
		return true, &Error{Code: CodeUnavailable, Message: fmt.Sprintf("the PKI bridge's %s returned an unexpected answer", ref), Err: err}
	}
	return true, nil
}

// callAfterInit runs ref on an instance that ran init with the realm's parameters. An
// InitRunner runs init once per instance when init is a procedure of ref's adapter; otherwise
// init runs before ref. A failed init is reported as init's failure.
func (b *adapterBridge) callAfterInit(x *exchange, init, ref adapters.ProcRef, raw json.RawMessage) (json.RawMessage, error) {
	ir, ok := b.runner.(InitRunner)
	if !ok || init.Adapter != ref.Adapter {
		if _, err := b.runner.Call(x.ctx, init.Adapter, init.Procedure, b.initInput); err != nil {
			return nil, bridgeError(init, err)
		}
		res, err := b.runner.Call(x.ctx, ref.Adapter, ref.Procedure, raw)
		if err != nil {
			return nil, bridgeError(ref, err)
		}
		return res, nil
	}
	res, err := ir.CallInit(x.ctx, ref.Adapter, adapters.Init{Procedure: init.Procedure, Input: b.initInput}, ref.Procedure, raw)
	if err != nil {
		var ae *adapters.Error
		if errors.As(err, &ae) && ae.Procedure == init.Procedure && ref.Procedure != init.Procedure {
			return nil, bridgeError(init, err)
		}
		return nil, bridgeError(ref, err)
	}
	return res, nil
}

// bridgeError reports a failed bridge procedure: the bridge's own failure message refuses the
// request; anything else is the bridge being unavailable.
func bridgeError(ref adapters.ProcRef, err error) error {
	if adapters.CodeOf(err) == adapters.CodeFailed {
		return &Error{Code: CodeRefused, Message: "the PKI bridge refused: " + adapterMessage(err), Err: err}
	}
	if busy := adapterBusy(err); busy != nil {
		return busy
	}
	return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("the PKI bridge (%s) is unavailable", ref), Err: err}
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
	out := adapters.DefaultCSRRequirements(in)
	if _, err := b.call(x, adapters.PKICSRRequirements, in, &out); err != nil {
		return out, err
	}
	if out.CommonName == "" {
		return out, &Error{Code: CodeUnavailable, Message: "the PKI bridge's getCSRRequirements gave no commonName"}
	}
	// Requirements the host cannot enforce are the bridge's fault: the client is not asked to
	// build a CSR that no answer could satisfy.
	if err := pki.ValidateRequirements(pkiRequirements(out)); err != nil {
		return out, &Error{Code: CodeUnavailable, Message: "the PKI bridge's getCSRRequirements gave requirements that cannot be enforced: " +
			strings.TrimPrefix(err.Error(), "pki: "), Err: err}
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
	req := adapters.DefaultCSRRequirements(in)
	if b.organization != "" {
		req.AdditionalSubject = map[string]string{"O": b.organization}
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

// pkiRequirements are a bridge's CSR requirements as pki checks a CSR against them: the common
// name, the additional subject and the additional attributes. The embedded CA signs the first
// two (pki.RequiredSubject); attributes are the request's, never copied into a certificate.
func pkiRequirements(req adapters.CSRRequirements) pki.Requirements {
	return pki.Requirements{CommonName: req.CommonName, AdditionalSubject: req.AdditionalSubject, AdditionalAttributes: req.AdditionalAttributes}
}
