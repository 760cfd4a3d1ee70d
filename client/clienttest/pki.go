package clienttest

import (
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/pki"
)

// ProvisioningRealm is a device-provisioning realm (PROTOCOL.md section 5). It certifies CSRs
// with the server's CA and binds each certificate to the realm's entity.
type ProvisioningRealm struct {
	// Entity is what the realm certifies: "application", "group:NAME" or "device".
	Entity string
	// ActivationCode, when set, must come as "activationCode" with every CSR, as an MDM's
	// custom provisioning realm wants; a wrong or missing code is refused (403).
	ActivationCode string
	// FinalRefusal answers a certificate it does not accept (revoked, unknown, of another
	// entity) with a refusal that is final for the session (403 realm_refused), as a server
	// may; by default the answer is wrong and may be retried, as the daemon answers it: 401
	// with a new challenge carrying "error" and "enroll": true.
	FinalRefusal bool
	// AfterAuthenticity provisions only in sessions that passed wl_authenticityRealm (a
	// security test holding both realms); a CSR before is refused (403).
	AfterAuthenticity bool
}

// AuthenticityRealm configures wl_authenticityRealm: it accepts an "android-key" attestation
// whose chain leads to Root and whose attestation challenge is the nonce.
type AuthenticityRealm struct {
	// Root is the attestation root (the CA given to pkitest.NewAttestation).
	Root *pki.CA
	// PackageName and, when set, SignatureDigest must appear in the attestation's application id.
	PackageName     string
	SignatureDigest []byte
}

// UserCertificateRealm is a user-certificate realm (PROTOCOL.md section 7) with a PKI bridge
// whose answers are fixed: validateIdentity gives Verdict, getCSRRequirements gives
// Requirements, validateCSR gives NO when RejectCSR, generateCertificate signs with the
// server's CA, getIdentityFromCertificate gives the certificate's CN as user, and
// validateCertificate refuses certificates revoked with Server.Revoke.
type UserCertificateRealm struct {
	// DependentRealm is the login realm that proves the user before enrollment.
	DependentRealm string
	// Verdict of validateIdentity: "" or "YES", "NO", "NO_USE_DEPENDENT_REALM_ONLY".
	Verdict string
	// Requirements of the CSR; a zero CommonName is the dependent identity's userId.
	Requirements adapters.CSRRequirements
	// RejectCSR makes validateCSR say NO (403 csr_rejected).
	RejectCSR bool
}

// IssuedCertificate is a certificate the server issued.
type IssuedCertificate struct {
	// Serial is the serial number in lower-case hex.
	Serial string
	Realm  string
	// Entity is what the certificate is bound to: "application:<app>", "group:<name>",
	// "device" or "user:<realm>".
	Entity string
	// Subject is the certificate's subject as an RFC 4514 string, in the CSR's order.
	Subject string
	Revoked bool
}

// CA returns the CA the server issues certificates with.
func (s *Server) CA() *pki.CA { return s.ca }

// Certificates returns the certificates issued so far, oldest first.
func (s *Server) Certificates() []IssuedCertificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]IssuedCertificate, len(s.issued))
	for i, c := range s.issued {
		out[i] = *c
	}
	return out
}

// Revoke revokes the certificate with that serial (lower-case hex); it reports whether the
// server issued it.
func (s *Server) Revoke(serial string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.issued {
		if c.Serial == serial {
			c.Revoked = true
			return true
		}
	}
	return false
}

func (s *Server) validatePKI() error {
	for name, p := range s.cfg.Provisioning {
		switch {
		case p.Entity == "application", p.Entity == "device":
		case strings.HasPrefix(p.Entity, "group:") && len(p.Entity) > len("group:"):
		default:
			return fmt.Errorf("provisioning realm %s: entity %q is not application, group:NAME or device", name, p.Entity)
		}
		if _, login := s.cfg.Login[name]; login || name == RealmAuthenticity {
			return fmt.Errorf("provisioning realm %s is configured twice", name)
		}
	}
	if a := s.cfg.Authenticity; a != nil && (a.Root == nil || a.PackageName == "") {
		return errors.New("authenticity realm: Root and PackageName are required")
	}
	for name, p := range s.cfg.Provisioning {
		if p.AfterAuthenticity && s.cfg.Authenticity == nil {
			return fmt.Errorf("provisioning realm %s: AfterAuthenticity without an authenticity realm", name)
		}
	}
	for name, u := range s.cfg.UserCertificate {
		if _, ok := s.cfg.Login[u.DependentRealm]; !ok {
			return fmt.Errorf("user-certificate realm %s: dependent realm %q is not a login realm", name, u.DependentRealm)
		}
		switch u.Verdict {
		case "", adapters.Yes, adapters.No, adapters.NoUseDependentRealmOnly:
		default:
			return fmt.Errorf("user-certificate realm %s: verdict %q", name, u.Verdict)
		}
		_, login := s.cfg.Login[name]
		_, prov := s.cfg.Provisioning[name]
		if login || prov {
			return fmt.Errorf("user-certificate realm %s is configured twice", name)
		}
	}
	return nil
}

// answerPKI answers the certificate realms; it reports false for other realms.
func (s *Server) answerPKI(c *call, realm string, pending, body map[string]any) bool {
	if p, ok := s.cfg.Provisioning[realm]; ok {
		s.answerProvisioning(c, realm, p, pending, body)
		return true
	}
	if u, ok := s.cfg.UserCertificate[realm]; ok {
		s.answerUserCertificate(c, realm, u, pending, body)
		return true
	}
	if realm == RealmAuthenticity {
		s.answerAuthenticity(c, realm, pending, body)
		return true
	}
	return false
}

func sameToken(got any, pending map[string]any) bool {
	g, _ := got.(string)
	want, _ := pending["token"].(string)
	return want != "" && subtle.ConstantTimeCompare([]byte(g), []byte(want)) == 1
}

func (s *Server) entityOf(p ProvisioningRealm, app string) string {
	if p.Entity == "application" {
		return "application:" + app
	}
	return p.Entity
}

// decodeCSR reads a base64 DER CSR; a bad one is a 400, as PROTOCOL.md section 1 says.
func decodeCSR(c *call, v any) *x509.CertificateRequest {
	b64, _ := v.(string)
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		writeError(c.w, http.StatusBadRequest, "bad_csr", "the csr is not standard base64")
		return nil
	}
	csr, err := pki.ParseCSR(der)
	if err != nil {
		writeError(c.w, http.StatusBadRequest, "bad_csr", err.Error())
		return nil
	}
	return csr
}

// issue signs csr for the subject it asks for (this test server trusts its clients; the daemon
// names the subject itself) and records the certificate.
func (s *Server) issue(realm, entity string, csr *x509.CertificateRequest) (*x509.Certificate, error) {
	var subject pkix.RDNSequence
	if rest, err := asn1.Unmarshal(csr.RawSubject, &subject); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("the CSR subject does not parse: %v", err)
	}
	cert, err := s.ca.Issue(csr, pki.IssueOptions{SubjectRDNs: subject})
	if err != nil {
		return nil, err
	}
	s.issued = append(s.issued, &IssuedCertificate{
		Serial: fmt.Sprintf("%x", cert.SerialNumber), Realm: realm, Entity: entity,
		Subject: adapters.CSRObject(csr).DN,
	})
	return cert, nil
}

// lookup finds the record of an issued certificate.
func (s *Server) lookup(cert *x509.Certificate) *IssuedCertificate {
	serial := fmt.Sprintf("%x", cert.SerialNumber)
	for _, c := range s.issued {
		if c.Serial == serial {
			return c
		}
	}
	return nil
}

func b64(der []byte) string { return base64.StdEncoding.EncodeToString(der) }

func (s *Server) chainB64() []string {
	var out []string
	for _, der := range s.ca.ChainDER() {
		out = append(out, b64(der))
	}
	return out
}

func (s *Server) answerProvisioning(c *call, realm string, p ProvisioningRealm, pending, body map[string]any) {
	entity := s.entityOf(p, c.sess.app)
	jws, _ := body["payload"].(string)
	if jws == "" {
		writeError(c.w, http.StatusBadRequest, "bad_request", "the answer has no payload")
		return
	}
	refuse := func(msg string) {
		if p.FinalRefusal {
			s.refuse(c, realm, "realm_refused", msg)
			return
		}
		s.wrongAnswer(c, realm, msg, map[string]any{"enroll": true})
	}
	if _, ok := body["csr"]; ok {
		if _, passed := c.sess.passed[RealmAuthenticity]; p.AfterAuthenticity && !passed {
			s.refuse(c, realm, "realm_refused", "the app's authenticity must be proven before a device is provisioned")
			return
		}
		csr := decodeCSR(c, body["csr"])
		if csr == nil {
			return
		}
		payload, key, err := pki.VerifyJWK(jws)
		if err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_payload", err.Error())
			return
		}
		if !pki.SamePublicKey(csr.PublicKey, key) {
			s.refuse(c, realm, "realm_refused", "the payload is not signed by the key of the CSR")
			return
		}
		if !sameToken(payload.Token, pending) {
			s.wrongAnswer(c, realm, "wrong or expired token", nil)
			return
		}
		if payload.App.ID != c.sess.app || payload.App.Environment != c.sess.env || payload.Device.ID == "" || csr.Subject.CommonName != payload.Device.ID {
			s.refuse(c, realm, "realm_refused", "the payload's application or device does not match the session and the CSR")
			return
		}
		if p.ActivationCode != "" {
			code, _ := body["activationCode"].(string)
			if subtle.ConstantTimeCompare([]byte(code), []byte(p.ActivationCode)) != 1 {
				s.refuse(c, realm, "realm_refused", "wrong activation code")
				return
			}
		}
		cert, err := s.issue(realm, entity, csr)
		if err != nil {
			writeError(c.w, http.StatusServiceUnavailable, "ca_unavailable", err.Error())
			return
		}
		fresh := randomHex(16)
		c.sess.pending[realm] = map[string]any{"token": fresh, "entity": p.Entity}
		delete(c.sess.lastError, realm)
		writeJSON(c.w, http.StatusOK, map[string]any{
			"realm": realm, "status": "provisioned", "certificate": b64(cert.Raw), "chain": s.chainB64(), "token": fresh,
		})
		return
	}
	payload, chain, err := pki.VerifyX5C(jws, s.ca.Roots(), time.Time{})
	if errors.Is(err, pki.ErrUntrusted) {
		refuse("the certificate is not one of this server's")
		return
	}
	if err != nil {
		writeError(c.w, http.StatusBadRequest, "bad_payload", err.Error())
		return
	}
	if !sameToken(payload.Token, pending) {
		s.wrongAnswer(c, realm, "wrong or expired token", nil)
		return
	}
	rec := s.lookup(chain[0])
	switch {
	case rec == nil:
		refuse("unknown certificate")
		return
	case rec.Revoked:
		refuse("the certificate is revoked")
		return
	case rec.Entity != entity:
		refuse("the certificate is for " + rec.Entity + ", this realm provisions " + entity)
		return
	case payload.App.ID != c.sess.app:
		refuse("the payload names another application")
		return
	}
	s.succeed(c, realm, map[string]any{
		"id": chain[0].Subject.CommonName, "os": payload.Device.OS, "model": payload.Device.Model,
		"displayName": payload.Device.DisplayName, "entity": p.Entity, "certificateSerial": rec.Serial,
	})
}

func (s *Server) answerAuthenticity(c *call, realm string, pending, body map[string]any) {
	a := s.cfg.Authenticity
	att, _ := body["attestation"].(map[string]any)
	format, _ := att["format"].(string)
	list, _ := att["chain"].([]any)
	if format != "android-key" {
		s.refuse(c, realm, "realm_refused", "attestation format "+format+" is not accepted")
		return
	}
	var chain [][]byte
	for _, v := range list {
		str, _ := v.(string)
		der, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "the attestation chain is not base64")
			return
		}
		chain = append(chain, der)
	}
	token, _ := pending["token"].(string)
	got, err := pki.VerifyAndroidKeyAttestation(chain, a.Root.Roots(), []byte(token), time.Time{})
	if err != nil {
		s.refuse(c, realm, "realm_refused", err.Error())
		return
	}
	if !slices.Contains(got.PackageNames, a.PackageName) {
		s.refuse(c, realm, "realm_refused", "the attested application is not "+a.PackageName)
		return
	}
	if a.SignatureDigest != nil && !slices.ContainsFunc(got.SignatureDigests, func(d []byte) bool { return subtle.ConstantTimeCompare(d, a.SignatureDigest) == 1 }) {
		s.refuse(c, realm, "realm_refused", "the application is not signed with the expected certificate")
		return
	}
	s.succeed(c, realm, map[string]any{"packageName": a.PackageName})
}

func (s *Server) answerUserCertificate(c *call, realm string, u UserCertificateRealm, pending, body map[string]any) {
	entity := "user:" + realm
	// Enrollment: the pending challenge asked for a CSR.
	if _, ok := pending["csrRequirements"]; ok {
		if _, ok := body["csr"]; !ok {
			writeError(c.w, http.StatusBadRequest, "bad_request", "the enrollment answer is {\"csr\"}")
			return
		}
		csr := decodeCSR(c, body["csr"])
		if csr == nil {
			return
		}
		req := c.sess.requirements[realm]
		if err := pki.CheckRequirements(csr, pki.Requirements{CommonName: req.CommonName, AdditionalSubject: req.AdditionalSubject}); err != nil {
			s.refuse(c, realm, "csr_rejected", err.Error())
			return
		}
		if u.RejectCSR {
			s.refuse(c, realm, "csr_rejected", "the PKI bridge rejected the CSR")
			return
		}
		cert, err := s.issue(realm, entity, csr)
		if err != nil {
			writeError(c.w, http.StatusServiceUnavailable, "ca_unavailable", err.Error())
			return
		}
		fresh := randomHex(16)
		c.sess.pending[realm] = map[string]any{"token": fresh, "dependentRealm": u.DependentRealm}
		writeJSON(c.w, http.StatusOK, map[string]any{"realm": realm, "status": "enrolled", "certificate": b64(cert.Raw), "token": fresh})
		return
	}
	if body["enroll"] == true {
		dep, passed := c.sess.passed[u.DependentRealm]
		if !passed {
			// The dependent realm proves the user first; it is challenged here, not counted as
			// a wrong answer.
			writeJSON(c.w, http.StatusUnauthorized, map[string]any{"challenges": map[string]any{u.DependentRealm: s.challenge(c, u.DependentRealm)}})
			return
		}
		switch u.Verdict {
		case adapters.No:
			s.refuse(c, realm, "realm_refused", "the PKI bridge refused to enroll this user")
			return
		case adapters.NoUseDependentRealmOnly:
			id := map[string]any{"realm": realm, "dependentRealm": u.DependentRealm}
			for k, v := range dep {
				id[k] = v
			}
			s.succeed(c, realm, id)
			return
		}
		req := u.Requirements
		if req.CommonName == "" {
			req.CommonName, _ = dep["userId"].(string)
		}
		c.sess.requirements[realm] = req
		payload := map[string]any{"token": randomHex(16), "csrRequirements": req}
		c.sess.pending[realm] = payload
		writeJSON(c.w, http.StatusUnauthorized, map[string]any{"challenges": map[string]any{realm: payload}})
		return
	}
	jws, _ := body["payload"].(string)
	if jws == "" {
		writeError(c.w, http.StatusBadRequest, "bad_request", "the answer is {\"payload\"} or {\"enroll\": true}")
		return
	}
	enroll := map[string]any{"enroll": true}
	payload, chain, err := pki.VerifyX5C(jws, s.ca.Roots(), time.Time{})
	if errors.Is(err, pki.ErrUntrusted) {
		s.wrongAnswer(c, realm, "the certificate is not valid", enroll)
		return
	}
	if err != nil {
		writeError(c.w, http.StatusBadRequest, "bad_payload", err.Error())
		return
	}
	if !sameToken(payload.Token, pending) {
		s.wrongAnswer(c, realm, "wrong or expired token", nil)
		return
	}
	rec := s.lookup(chain[0])
	if rec == nil || rec.Revoked || rec.Entity != entity {
		s.wrongAnswer(c, realm, "the certificate is not valid", enroll)
		return
	}
	cn := chain[0].Subject.CommonName
	s.succeed(c, realm, map[string]any{"userId": cn, "displayName": cn, "realm": realm, "certificateSerial": rec.Serial})
}
