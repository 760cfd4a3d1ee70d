package client

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

// Challenge payloads and replies of the provisioning, authenticity and user-certificate realms
// (PROTOCOL.md sections 4, 5 and 7). Each parser checks the shape and bounds every member the
// client goes on to use; all errors match ErrMalformedResponse.

const maxGroupNameLen = 128

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedResponse, fmt.Sprintf(format, args...))
}

// validToken accepts a nonce the client signs or echoes: 1 to 1024 bytes of visible ASCII.
func validToken(tok string) bool { return validInstanceID(tok) }

// parseTokenChallenge reads {"token": nonce} (wl_authenticityRealm).
func parseTokenChallenge(payload []byte) (string, error) {
	var p struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return "", malformed("challenge payload: %v", err)
	}
	if !validToken(p.Token) {
		return "", malformed("the challenge has no usable token")
	}
	return p.Token, nil
}

// provisioningChallenge is a provisioning realm's challenge {"token", "entity"}, with
// "enroll": true when the certificate sent was not accepted and the device should provision
// again.
type provisioningChallenge struct {
	Token string
	// Entity is the keystore entity the realm certifies: "application:<app>" for
	// "application", "group:<name>", or "device".
	Entity string
	Enroll bool
}

func parseProvisioningChallenge(payload []byte, app string) (*provisioningChallenge, error) {
	var p struct {
		Token  string `json:"token"`
		Entity string `json:"entity"`
		Enroll bool   `json:"enroll"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, malformed("provisioning challenge: %v", err)
	}
	if !validToken(p.Token) {
		return nil, malformed("the provisioning challenge has no usable token")
	}
	out := &provisioningChallenge{Token: p.Token, Enroll: p.Enroll}
	switch {
	case p.Entity == "application":
		out.Entity = entityApplicationPrefix + app
	case p.Entity == EntityDevice:
		out.Entity = EntityDevice
	case strings.HasPrefix(p.Entity, entityGroupPrefix):
		name := p.Entity[len(entityGroupPrefix):]
		if name == "" || len(name) > maxGroupNameLen || !validUTF8NoControls(name) {
			return nil, malformed("the provisioning challenge names an invalid group")
		}
		out.Entity = p.Entity
	case p.Entity == "":
		return nil, malformed("the provisioning challenge names no entity")
	default:
		return nil, fmt.Errorf("%w: provisioning entity %q", ErrUnsupportedChallenge, sanitize(p.Entity, 64))
	}
	return out, nil
}

// userCertChallenge is a challenge of the user-certificate realm: the sign-in challenge
// {"token", "dependentRealm"} (with "enroll": true when the certificate sent was not accepted)
// or the enrollment challenge {"token", "csrRequirements"}.
type userCertChallenge struct {
	Token          string
	DependentRealm string
	Enroll         bool
	Requirements   *csrRequirements
}

func parseUserCertChallenge(payload []byte) (*userCertChallenge, error) {
	var p struct {
		Token          string           `json:"token"`
		DependentRealm string           `json:"dependentRealm"`
		Enroll         bool             `json:"enroll"`
		Requirements   *csrRequirements `json:"csrRequirements"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, malformed("user-certificate challenge: %v", err)
	}
	if !validToken(p.Token) {
		return nil, malformed("the user-certificate challenge has no usable token")
	}
	if p.DependentRealm != "" {
		if err := checkRealmName(p.DependentRealm); err != nil {
			return nil, malformed("dependentRealm: %v", err)
		}
	}
	if r := p.Requirements; r != nil {
		if r.CommonName == "" || len(r.CommonName) > 256 || !validUTF8NoControls(r.CommonName) {
			return nil, malformed("csrRequirements.commonName must be 1 to 256 bytes of text")
		}
		if len(r.AdditionalSubject) > rfc4514.MaxAttributes {
			return nil, malformed("csrRequirements.additionalSubject has over %d attributes", rfc4514.MaxAttributes)
		}
		if len(r.AdditionalAttributes) > maxCSRAttributes {
			return nil, malformed("csrRequirements has over %d additionalAttributes", maxCSRAttributes)
		}
	}
	return &userCertChallenge{Token: p.Token, DependentRealm: p.DependentRealm, Enroll: p.Enroll, Requirements: p.Requirements}, nil
}

// issuedReply is a 200 reply that hands out a certificate: "provisioned" with "certificate",
// "chain" and "token", or "enrolled" with "certificate", "token" and perhaps "chain".
type issuedReply struct {
	Chain []*x509.Certificate // the new certificate first
	Token string
}

func parseIssuedReply(body []byte) (*issuedReply, error) {
	var p struct {
		Certificate string   `json:"certificate"`
		Chain       []string `json:"chain"`
		Token       string   `json:"token"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, malformed("certificate reply: %v", err)
	}
	if !validToken(p.Token) {
		return nil, malformed("the certificate reply has no usable token")
	}
	if len(p.Chain)+1 > maxChainCerts {
		return nil, malformed("the certificate reply has %d chain certificates (at most %d)", len(p.Chain), maxChainCerts-1)
	}
	out := &issuedReply{Token: p.Token}
	for i, s := range append([]string{p.Certificate}, p.Chain...) {
		if s == "" || base64.StdEncoding.DecodedLen(len(s)) > maxCertBytes {
			return nil, malformed("certificate %d of the reply is missing or over %d bytes", i, maxCertBytes)
		}
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, malformed("certificate %d of the reply is not standard base64", i)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, malformed("certificate %d of the reply: %v", i, err)
		}
		out.Chain = append(out.Chain, cert)
	}
	return out, nil
}
