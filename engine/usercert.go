package engine

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/project"
)

// userCertRealm is wl_userCertificateAuthRealm (UserCertificateAuthenticator): a user proves
// who they are with a certificate the PKI bridge issued after the dependent realm identified them
// (PROTOCOL.md section 7).
type userCertRealm struct {
	name      string
	dependent string
	bridge    bridge
	exp       time.Duration
	// roots, when set, is the CA every certificate of this realm must chain to (embedded PKI).
	roots *x509.CertPool
}

// Realm-state keys of an enrollment in progress: the requirements the bridge gave, the identity
// the dependent realm proved, and the enrollment challenge's nonce, which the CSR spends.
const (
	dataRequirements = "csrRequirements"
	dataEnrollee     = "enrollee"
	dataEnrollNonce  = "enrollNonce"
)

func newUserCertRealm(e *Engine, p *project.Project, r *project.Realm) (realm, error) {
	u := &userCertRealm{name: r.Name}
	u.dependent, _ = r.Params.Get("dependent-user-auth-realm")
	if lm := p.LoginModules[r.LoginModule]; lm != nil && lm.ExpirationInSeconds > 0 {
		u.exp = time.Duration(lm.ExpirationInSeconds) * time.Second
	}
	class, _ := r.Params.Get("pki-bridge-class")
	switch class {
	case BridgeEmbedded:
		ca, err := LoadEmbeddedPKI(p, r)
		if err != nil {
			return nil, err
		}
		org, _ := r.Params.Get("embedded-pki-bridge-organization")
		u.bridge = &embeddedBridge{ca: ca, organization: org}
		u.roots = ca.Roots()
	case BridgeAdapterBased:
		b, err := newAdapterBridge(e, r, true)
		if err != nil {
			return nil, err
		}
		u.bridge = b
	default:
		return unavailableRealm{name: r.Name, what: "PKI bridge class " + class}, nil
	}
	return u, nil
}

func (u *userCertRealm) expiration() time.Duration { return u.exp }

func (u *userCertRealm) entity() string { return "user:" + u.name }

func (u *userCertRealm) challenge(x *exchange) (map[string]any, error) {
	n, err := x.e.issueNonce(x, u.name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"token": n, "dependentRealm": u.dependent}, nil
}

func (u *userCertRealm) answer(x *exchange, a *AnswerRequest) (answerOutcome, error) {
	var body struct {
		Payload    string              `json:"payload"`
		Enroll     bool                `json:"enroll"`
		CSR        string              `json:"csr"`
		ClientData adapters.ClientData `json:"clientData"`
	}
	if err := decodeAnswer(a.Body, &body); err != nil {
		return answerOutcome{}, err
	}
	switch {
	case body.Payload != "":
		return u.signIn(x, body.Payload, body.ClientData)
	case body.CSR != "":
		return u.enrollCSR(x, body.CSR, body.ClientData)
	case body.Enroll:
		return u.enroll(x, body.ClientData)
	}
	return answerOutcome{}, errorf(CodeBadRequest, `answer {"payload": JWS} with a certificate, or {"enroll": true} to get one`)
}

// signIn checks a payload signed with a certificate this realm issued.
func (u *userCertRealm) signIn(x *exchange, jws string, clientData adapters.ClientData) (answerOutcome, error) {
	payload, rec, leaf, err := x.e.verifyIssued(x, jws, u.roots)
	if err != nil {
		return answerOutcome{}, err
	}
	if rec.Entity != u.entity() {
		return answerOutcome{}, errorf(CodeBadRequest, "this certificate was issued for %s, not for realm %s", rec.Entity, u.name)
	}
	if err := x.e.consumeNonce(x, payload.Token, u.name); err != nil {
		return answerOutcome{}, err
	}
	in := adapters.NewCertificateInput(leaf, withDevice(clientData, payload))
	v, err := u.bridge.validateCertificate(x, in)
	if err != nil {
		return answerOutcome{}, err
	}
	if v != adapters.Yes {
		return answerOutcome{}, retryEnroll("the PKI bridge no longer accepts this certificate: enroll again")
	}
	id, err := u.bridge.identityFromCertificate(x, in)
	if err != nil {
		return answerOutcome{}, err
	}
	identity := map[string]any{"userId": id.UserName, "displayName": id.DisplayName, "realm": u.name, "certificateSerial": rec.Serial}
	if identity["displayName"] == "" {
		identity["displayName"] = id.UserName
	}
	if id.Attributes != nil {
		identity["attributes"] = id.Attributes
	}
	if id.DeviceID != "" {
		identity["deviceId"] = id.DeviceID
	}
	if id.AppID != "" {
		identity["appID"] = id.AppID
	}
	return answerOutcome{identity: identity, userLogin: true}, nil
}

func withDevice(cd adapters.ClientData, p *pki.Payload) adapters.ClientData {
	out := adapters.ClientData{}
	for k, v := range cd {
		out[k] = v
	}
	if p != nil {
		out["device"] = map[string]any{"id": p.Device.ID, "os": p.Device.OS, "model": p.Device.Model, "displayName": p.Device.DisplayName}
	}
	return out
}

// pendingDependent reports whether realm is the dependent realm of a user-certificate realm whose
// challenge is pending in the session. Its challenge names that realm ("dependentRealm"), so a
// client may answer it before sending {"enroll": true} (PROTOCOL.md section 7, step 3), as well
// as after enroll challenged it.
func (e *Engine) pendingDependent(s *session, realm string) bool {
	for name, r := range e.realms {
		if u, ok := r.(*userCertRealm); ok && u.dependent == realm {
			if us := s.st.Realms[name]; us != nil && us.Challenged && !us.Refused {
				return true
			}
		}
	}
	return false
}

// enroll starts an enrollment: the dependent realm identifies the user, the bridge decides.
func (u *userCertRealm) enroll(x *exchange, clientData adapters.ClientData) (answerOutcome, error) {
	dep := x.s.peek(u.dependent)
	if dep == nil || !dep.Passed || (!dep.ExpiresAt.IsZero() && !x.now.Before(dep.ExpiresAt)) {
		// The dependent realm comes first: challenge it, and keep this realm's challenge open.
		r, ok := x.e.realms[u.dependent]
		if !ok {
			return answerOutcome{}, errorf(CodeUnknownRealm, "the dependent realm %q is not defined", u.dependent)
		}
		payload, err := r.challenge(x)
		if err != nil {
			return answerOutcome{}, err
		}
		ds := x.s.realm(u.dependent)
		ds.Challenged = true
		x.s.dirty = true
		return answerOutcome{challenges: map[string]map[string]any{u.dependent: payload}}, nil
	}
	userName, _ := dep.Identity["userId"].(string)
	display, _ := dep.Identity["displayName"].(string)
	attrs, _ := dep.Identity["attributes"].(map[string]any)
	if display == "" {
		display = userName
	}
	if attrs == nil {
		attrs = map[string]any{} // Worklight's identity always had attributes
	}
	in := adapters.IdentityInput{
		DeviceID:     deviceOf(x),
		UserIdentity: adapters.UserIdentity{UserName: userName, DisplayName: display, Attributes: attrs},
		AppID:        x.app.App,
		ClientData:   clientData,
	}
	v, err := u.bridge.validateIdentity(x, in)
	if err != nil {
		return answerOutcome{}, err
	}
	switch v {
	case adapters.No:
		return answerOutcome{}, &Error{Code: CodeRefused, Message: "the PKI bridge does not enroll this user", Details: map[string]any{"realm": u.name}}
	case adapters.NoUseDependentRealmOnly:
		identity := map[string]any{}
		for k, val := range dep.Identity {
			identity[k] = val
		}
		identity["realm"] = u.name
		identity["dependentRealm"] = u.dependent
		return answerOutcome{identity: identity, userLogin: true}, nil
	}
	req, err := u.bridge.csrRequirements(x, in)
	if err != nil {
		return answerOutcome{}, err
	}
	rs := x.s.realm(u.name)
	if rs.Data == nil {
		rs.Data = map[string]string{}
	}
	reqJSON, _ := json.Marshal(req)
	enrollee := in
	enrollee.ClientData = nil // the CSR's answer brings its own
	inJSON, _ := json.Marshal(enrollee)
	n, err := x.e.issueNonce(x, u.name)
	if err != nil {
		return answerOutcome{}, err
	}
	rs.Data[dataRequirements], rs.Data[dataEnrollee], rs.Data[dataEnrollNonce] = string(reqJSON), string(inJSON), n
	return answerOutcome{challenge: map[string]any{"token": n, "csrRequirements": req}}, nil
}

// deviceOf is the device identity of the session, if a device realm passed.
func deviceOf(x *exchange) string {
	for _, rs := range x.s.st.Realms {
		if rs.Passed {
			if id, ok := rs.Identity["id"].(string); ok {
				if _, isUser := rs.Identity["userId"]; !isUser {
					return id
				}
			}
		}
	}
	return ""
}

// enrollCSR signs the CSR of an enrollment the bridge accepted. The enrollment is one CSR long and
// lives only as long as both what started it: the dependent realm's login of the same user (a
// logout, an expiry or another user's login ends it), and the enrollment challenge's nonce (single
// use, expiring). The enrollment is forgotten whatever the outcome.
func (u *userCertRealm) enrollCSR(x *exchange, csrB64 string, clientData adapters.ClientData) (answerOutcome, error) {
	rs := x.s.realm(u.name)
	var req adapters.CSRRequirements
	var who adapters.IdentityInput
	if rs.Data[dataRequirements] == "" || json.Unmarshal([]byte(rs.Data[dataRequirements]), &req) != nil ||
		json.Unmarshal([]byte(rs.Data[dataEnrollee]), &who) != nil {
		return answerOutcome{}, errorf(CodeNoChallenge, `send {"enroll": true} first: there is no enrollment in progress`)
	}
	nonce := rs.Data[dataEnrollNonce]
	delete(rs.Data, dataRequirements)
	delete(rs.Data, dataEnrollee)
	delete(rs.Data, dataEnrollNonce)
	x.s.dirty = true
	dep := x.s.peek(u.dependent)
	if userID, _ := dep.identity()["userId"].(string); !dep.live(x.now) || userID != who.UserIdentity.UserName {
		return answerOutcome{}, retryEnroll(fmt.Sprintf(`the %s login that started this enrollment is over: send {"enroll": true} again`, u.dependent))
	}
	if err := x.e.consumeNonce(x, nonce, u.name); err != nil {
		var re *retryError
		if errors.As(err, &re) {
			return answerOutcome{}, retryEnroll(`the enrollment challenge expired or was used: send {"enroll": true} again`)
		}
		return answerOutcome{}, err
	}
	der, err := decodeB64("csr", csrB64, pki.MaxCSRSize)
	if err != nil {
		return answerOutcome{}, err
	}
	csr, err := pki.ParseCSR(der)
	if err != nil {
		return answerOutcome{}, pkiError("the CSR", err)
	}
	if err := pki.CheckRequirements(csr, pkiRequirements(req)); err != nil {
		return answerOutcome{}, pkiError("the CSR", err)
	}
	// The bridge's calls for this CSR find it verified (a host PKI capability need not verify it
	// again).
	x.ctx = adapters.WithVerifiedCSR(x.ctx, csr)
	who.ClientData = clientData
	in := adapters.NewCSRInput(who, csr)
	v, err := u.bridge.validateCSR(x, in)
	if err != nil {
		return answerOutcome{}, err
	}
	if v != adapters.Yes {
		return answerOutcome{}, &Error{Code: CodeCSRRejected, Message: "the PKI bridge rejected the CSR"}
	}
	certDER, err := u.bridge.generate(x, in, csr, req)
	if err != nil {
		return answerOutcome{}, err
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil || !pki.SamePublicKey(cert.PublicKey, csr.PublicKey) {
		return answerOutcome{}, &Error{Code: CodeUnavailable, Message: "the PKI bridge returned a certificate that is not for the CSR's key", Err: err}
	}
	if err := x.e.storeIssued(x, cert, u.entity(), who.UserIdentity.UserName, u.name); err != nil {
		return answerOutcome{}, err
	}
	n, err := x.e.issueNonce(x, u.name)
	if err != nil {
		return answerOutcome{}, err
	}
	return answerOutcome{status: "enrolled", extra: map[string]any{"certificate": b64(cert.Raw), "token": n}}, nil
}
