package sdk

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	"github.com/realmgate/realmgate/adapters"
)

// The procedure names of a PKI bridge, as the daemon calls them.
const (
	ProcInit                       = "init"
	ProcValidateIdentity           = "validateIdentity"
	ProcGetCSRRequirements         = "getCSRRequirements"
	ProcValidateCSR                = "validateCSR"
	ProcGenerateCertificate        = "generateCertificate"
	ProcGetIdentityFromCertificate = "getIdentityFromCertificate"
	ProcValidateCertificate        = "validateCertificate"
)

// PKIBridge is a PKI bridge written against the types of package adapters. A realm requires
// only generateCertificate; for a procedure a bridge does not export, the daemon uses the
// defaults of package adapters (adapters.DefaultValidateIdentity and the like), so a nil field
// leaves that procedure out and a bridge implements only what it decides differently.
type PKIBridge struct {
	// Init receives the realm's parameters (one flat object, parameter name to value) once per
	// process and parameter set, before the realm's first other bridge call in that process
	// (again in a relaunched process, or after another realm's init); its output is {}.
	Init                       func(context.Context, adapters.InitInput) error
	ValidateIdentity           func(context.Context, adapters.IdentityInput) (adapters.Valid, error)
	GetCSRRequirements         func(context.Context, adapters.IdentityInput) (adapters.CSRRequirements, error)
	ValidateCSR                func(context.Context, adapters.CSRInput) (adapters.Valid, error)
	GenerateCertificate        func(context.Context, adapters.CSRInput) (adapters.GeneratedCertificate, error)
	GetIdentityFromCertificate func(context.Context, adapters.CertificateInput) (adapters.IdentityFromCertificate, error)
	ValidateCertificate        func(context.Context, adapters.CertificateInput) (adapters.Valid, error)
}

// Procedures returns the bridge's procedures under their names; nil fields are left out. The
// wrappers check what the bridge answers (a verdict the daemon does not know, a certificate that
// is not base64 DER, an empty common name or user name) so that a bridge's mistake is reported
// as its own failure rather than surfacing later in the enrollment flow.
func (b PKIBridge) Procedures() Procedures {
	p := Procedures{}
	if b.Init != nil {
		p[ProcInit] = JSON(func(ctx context.Context, in adapters.InitInput) (struct{}, error) {
			return struct{}{}, b.Init(ctx, in)
		})
	}
	if b.ValidateIdentity != nil {
		p[ProcValidateIdentity] = verdict(b.ValidateIdentity, adapters.Yes, adapters.No, adapters.NoUseDependentRealmOnly)
	}
	if b.GetCSRRequirements != nil {
		p[ProcGetCSRRequirements] = JSON(func(ctx context.Context, in adapters.IdentityInput) (adapters.CSRRequirements, error) {
			out, err := b.GetCSRRequirements(ctx, in)
			if err == nil && out.CommonName == "" {
				err = Fail("getCSRRequirements returned no commonName")
			}
			return out, err
		})
	}
	if b.ValidateCSR != nil {
		p[ProcValidateCSR] = verdict(b.ValidateCSR, adapters.Yes, adapters.No)
	}
	if b.GenerateCertificate != nil {
		p[ProcGenerateCertificate] = JSON(func(ctx context.Context, in adapters.CSRInput) (adapters.GeneratedCertificate, error) {
			out, err := b.GenerateCertificate(ctx, in)
			if err != nil {
				return out, err
			}
			der, err := base64.StdEncoding.DecodeString(out.CertificateBase64)
			if err != nil {
				return out, Failf("generateCertificate returned a certificate that is not base64: %v", err)
			}
			if _, err := x509.ParseCertificate(der); err != nil {
				return out, Failf("generateCertificate returned a certificate that does not parse: %v", err)
			}
			return out, nil
		})
	}
	if b.GetIdentityFromCertificate != nil {
		p[ProcGetIdentityFromCertificate] = JSON(func(ctx context.Context, in adapters.CertificateInput) (adapters.IdentityFromCertificate, error) {
			out, err := b.GetIdentityFromCertificate(ctx, in)
			if err == nil && out.UserName == "" {
				err = Fail("getIdentityFromCertificate returned no userName")
			}
			return out, err
		})
	}
	if b.ValidateCertificate != nil {
		p[ProcValidateCertificate] = verdict(b.ValidateCertificate, adapters.Yes, adapters.No)
	}
	return p
}

// verdict wraps a procedure answering adapters.Valid, refusing verdicts outside allowed.
func verdict[In any](f func(context.Context, In) (adapters.Valid, error), allowed ...string) Procedure {
	return JSON(func(ctx context.Context, in In) (adapters.Valid, error) {
		out, err := f(ctx, in)
		if err != nil {
			return out, err
		}
		for _, v := range allowed {
			if out.Valid == v {
				return out, nil
			}
		}
		return out, Failf("verdict %q is not one of %q", out.Valid, allowed)
	})
}

// ParseCSR returns the certificate request a bridge procedure received, the base64 DER of its
// input's "csr" (adapters.CSRInput.CSR). The daemon has already checked its self-signature;
// ParseCSR checks it again, so a bridge never signs a key its holder did not prove.
func ParseCSR(csr string) (*x509.CertificateRequest, error) {
	der, err := base64.StdEncoding.DecodeString(csr)
	if err != nil {
		return nil, BadInput(fmt.Sprintf("csr is not base64: %v", err))
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, BadInput(fmt.Sprintf("csr does not parse: %v", err))
	}
	if err := req.CheckSignature(); err != nil {
		return nil, BadInput(fmt.Sprintf("csr signature: %v", err))
	}
	return req, nil
}

// Certificate returns the output of generateCertificate for a DER certificate.
func Certificate(der []byte) adapters.GeneratedCertificate {
	return adapters.GeneratedCertificate{CertificateBase64: base64.StdEncoding.EncodeToString(der)}
}
