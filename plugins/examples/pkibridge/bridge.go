package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"strconv"
	"sync"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/plugins/sdk"
)

// defaultValidityDays is the lifetime of an issued certificate when "validity-days" is unset.
const defaultValidityDays = 365

// bridge is a PKI bridge issuing client certificates from the CA in the adapter's settings.
// It keeps no state between calls: everything comes from the settings and the call's input.
func bridge() sdk.PKIBridge {
	return sdk.PKIBridge{
		Init: func(ctx context.Context, in adapters.InitInput) error {
			sdk.Logger(ctx).Debug("pki bridge init", "dependentRealm", in["dependent-user-auth-realm"], "parameters", len(in))
			return nil
		},
		ValidateIdentity: func(_ context.Context, in adapters.IdentityInput) (adapters.Valid, error) {
			if in.UserIdentity.UserName == "" {
				return adapters.Valid{Valid: adapters.No}, nil
			}
			return adapters.Valid{Valid: adapters.Yes}, nil
		},
		GetCSRRequirements: func(_ context.Context, in adapters.IdentityInput) (adapters.CSRRequirements, error) {
			if in.UserIdentity.UserName == "" {
				return adapters.CSRRequirements{}, sdk.Fail("userIdentity has no userName")
			}
			return adapters.DefaultCSRRequirements(in), nil
		},
		ValidateCSR: func(_ context.Context, in adapters.CSRInput) (adapters.Valid, error) {
			req, err := sdk.ParseCSR(in.CSR)
			if err != nil || req.Subject.CommonName == "" {
				return adapters.Valid{Valid: adapters.No}, nil
			}
			if in.UserIdentity.UserName != "" && req.Subject.CommonName != in.UserIdentity.UserName {
				return adapters.Valid{Valid: adapters.No}, nil
			}
			return adapters.Valid{Valid: adapters.Yes}, nil
		},
		GenerateCertificate: generateCertificate,
		GetIdentityFromCertificate: func(_ context.Context, in adapters.CertificateInput) (adapters.IdentityFromCertificate, error) {
			if in.Certificate.CN == "" {
				return adapters.IdentityFromCertificate{}, sdk.Fail("certificate has no common name")
			}
			return adapters.DefaultIdentityFromCertificate(in.Certificate), nil
		},
		ValidateCertificate: validateCertificate,
	}
}

// ca is the issuing CA of the settings.
type ca struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// parsed is the CA of the last settings loadCA parsed: the settings of a process change only
// with a relaunch, and parsing the key and certificate (and checking that they belong together)
// costs about a third of a signature, on every call.
var parsed struct {
	sync.Mutex
	certPEM, keyPEM string
	ca              *ca
}

// loadCA reads the CA from the settings. A missing or broken CA fails the call with a message
// that names the setting, never its content.
func loadCA(ctx context.Context) (*ca, error) {
	cfg := sdk.Config(ctx)
	certPEM, keyPEM := cfg["ca-cert"], cfg["ca-key"]
	if certPEM == "" || keyPEM == "" {
		return nil, sdk.Fail("the adapter's settings lack ca-cert or ca-key")
	}
	parsed.Lock()
	defer parsed.Unlock()
	if parsed.ca != nil && parsed.certPEM == certPEM && parsed.keyPEM == keyPEM {
		return parsed.ca, nil
	}
	c, err := parseCA(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	parsed.certPEM, parsed.keyPEM, parsed.ca = certPEM, keyPEM, c
	return c, nil
}

func parseCA(certPEM, keyPEM string) (*ca, error) {
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, sdk.Fail("the adapter's ca-cert and ca-key settings are not a matching PEM certificate and key")
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok || pair.Leaf == nil || !pair.Leaf.IsCA {
		return nil, sdk.Fail("the adapter's ca-cert is not a CA certificate with a signing key")
	}
	return &ca{cert: pair.Leaf, key: signer}, nil
}

func validityDays(ctx context.Context) (int, error) {
	s := sdk.Config(ctx)["validity-days"]
	if s == "" {
		return defaultValidityDays, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 3650 {
		return 0, sdk.Fail("the adapter's validity-days setting must be a number of days from 1 to 3650")
	}
	return n, nil
}

func generateCertificate(ctx context.Context, in adapters.CSRInput) (adapters.GeneratedCertificate, error) {
	req, err := sdk.ParseCSR(in.CSR)
	if err != nil {
		return adapters.GeneratedCertificate{}, err
	}
	ca, err := loadCA(ctx)
	if err != nil {
		return adapters.GeneratedCertificate{}, err
	}
	days, err := validityDays(ctx)
	if err != nil {
		return adapters.GeneratedCertificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return adapters.GeneratedCertificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        req.Subject,
		DNSNames:       req.DNSNames,
		EmailAddresses: req.EmailAddresses,
		NotBefore:      now.Add(-time.Minute), // tolerate clients whose clock is a little behind
		NotAfter:       now.AddDate(0, 0, days),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, req.PublicKey, ca.key)
	if err != nil {
		return adapters.GeneratedCertificate{}, sdk.Failf("cannot issue a certificate for this CSR: %v", err)
	}
	sdk.Logger(ctx).Info("certificate issued", "cn", req.Subject.CommonName, "serial", serial.Text(16))
	return sdk.Certificate(der), nil
}

// validateCertificate answers YES for a certificate this CA issued for client authentication
// that is valid now.
func validateCertificate(ctx context.Context, in adapters.CertificateInput) (adapters.Valid, error) {
	ca, err := loadCA(ctx)
	if err != nil {
		return adapters.Valid{}, err
	}
	der, err := base64.StdEncoding.DecodeString(in.Certificate.Base64)
	if err != nil {
		return adapters.Valid{Valid: adapters.No}, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return adapters.Valid{Valid: adapters.No}, nil
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return adapters.Valid{Valid: adapters.No}, nil
	}
	return adapters.Valid{Valid: adapters.Yes}, nil
}
