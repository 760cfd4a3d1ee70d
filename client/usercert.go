package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// UserCertificateHandler answers wl_userCertificateAuthRealm (and realms of the same class under
// other names) without the application's help, as PROTOCOL.md section 7 describes. The user's
// certificate is kept in the Keystore as the entity "user:<realm>".
//
//   - With a stored certificate, it answers the challenge {"token", "dependentRealm"} with
//     {"payload": JWS} signed by the stored key, the chain in the x5c header.
//   - Without one it answers {"enroll": true}. When the session has not passed the dependent
//     realm yet, the server challenges that realm in its reply, and the client answers it with
//     that realm's own handler (a LoginHandler, say) before asking again. When that handler is
//     a LoginHandler holding fixed Credentials and the client saw the realm's challenge before
//     (so it knows the authenticator), the client answers the dependent realm the challenge
//     names first, then {"enroll": true}: one round trip less. The PKI bridge then
//     decides: NO ends the call with ErrEnrollmentRefused; NO_USE_DEPENDENT_REALM_ONLY settles
//     the realm with the dependent realm's identity and no certificate; YES sends the enrollment
//     challenge {"token", "csrRequirements"}, which the handler answers with {"csr"}: a new
//     ECDSA P-256 key pair's CSR whose subject is exactly CN=<commonName> and the attributes of
//     the additionalSubject object ({"O": "IBM"}: one RDN each, the most general first), and
//     which carries additionalAttributes as PKCS #9 attributes (challengePassword,
//     unstructuredName, unstructuredAddress or dotted OIDs, string values). The server replies "enrolled" with the
//     certificate and a fresh nonce; the handler stores key and chain and signs in with them.
//   - A sign-in answered with a challenge carrying "enroll": true (the bridge no longer accepts
//     the certificate) drops the stored certificate and enrolls again; one answered with an
//     "error" alone (a stale nonce) signs in again, and drops the certificate only when that
//     fails too.
//
// The payload claims are {"token", "device": Device, "app": App}. Client.UserCertificateHandler
// returns one built from the client's Config.
type UserCertificateHandler struct {
	Keystore Keystore
	Device   DeviceInfo
	App      AppInfo

	states certStates
}

// UserEntity is the keystore entity of the user certificate of realm.
func UserEntity(realm string) string { return entityUserPrefix + realm }

// HandleChallenge answers a sign-in or enrollment challenge.
func (h *UserCertificateHandler) HandleChallenge(_ context.Context, ch *Challenge) (*Answer, error) {
	if h.Keystore == nil {
		return nil, errors.New("the user-certificate handler has no Keystore")
	}
	p, err := parseUserCertChallenge(ch.Payload)
	if err != nil {
		return nil, err
	}
	st := h.states.begin(ch.Realm, ch.Round)
	st.entity = UserEntity(ch.Realm)

	if p.Requirements != nil {
		if ch.Error != "" && st.last == answeredCSR && st.csrAttempts >= maxCSRAttempts {
			return nil, fmt.Errorf("%w: %s", ErrEnrollmentRefused, ch.Error)
		}
		return h.enroll(st, *p.Requirements)
	}
	refused := p.Enroll || ch.Error != ""
	switch {
	case refused && st.last == answeredFresh:
		return nil, fmt.Errorf("%w: the new certificate was not accepted: %s", ErrEnrollmentRefused, ch.Error)
	case refused && st.last == answeredStored && st.dropStored(p.Enroll):
		if err := dropCredential(h.Keystore, st.entity); err != nil {
			return nil, err
		}
		st.dropped = true
		return h.askToEnroll(st), nil
	case p.Enroll:
		// The server asks for enrollment: whatever is stored is of no use to it.
		if err := dropCredential(h.Keystore, st.entity); err != nil {
			return nil, err
		}
		return h.askToEnroll(st), nil
	}
	cred, err := loadUsable(h.Keystore, st.entity)
	if err != nil {
		return nil, err
	}
	if cred == nil {
		return h.askToEnroll(st), nil
	}
	jws, err := signX5C(cred, payloadClaims{Token: p.Token, Device: h.Device, App: h.App})
	if err != nil {
		return nil, err
	}
	st.last = answeredStored
	return &Answer{Body: map[string]string{"payload": jws}}, nil
}

// dependentRealm names the dependent realm of a sign-in challenge when a is {"enroll": true}:
// the realm the server will want passed before it answers the enrollment.
func (h *UserCertificateHandler) dependentRealm(payload json.RawMessage, a *Answer) string {
	if a == nil || !isEnrollAnswer(a) {
		return ""
	}
	p, err := parseUserCertChallenge(payload)
	if err != nil || p.Requirements != nil {
		return ""
	}
	return p.DependentRealm
}

func isEnrollAnswer(a *Answer) bool {
	m, ok := a.Body.(map[string]bool)
	return ok && len(m) == 1 && m["enroll"]
}

func (h *UserCertificateHandler) askToEnroll(st *certState) *Answer {
	st.last = answeredEnroll
	return &Answer{Body: map[string]bool{"enroll": true}}
}

// enroll answers the enrollment challenge with a CSR built to the requirements.
func (h *UserCertificateHandler) enroll(st *certState, req csrRequirements) (*Answer, error) {
	subject, err := subjectFor(req)
	if err != nil {
		return nil, err
	}
	attrs, err := csrAttributes(req.AdditionalAttributes)
	if err != nil {
		return nil, err
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	csr, err := buildCSR(key, subject, attrs)
	if err != nil {
		return nil, err
	}
	st.pending, st.last = key, answeredCSR
	st.csrAttempts++
	return &Answer{Body: map[string]string{"csr": base64.StdEncoding.EncodeToString(csr)}}, nil
}

// HandleStatus stores the certificate of an "enrolled" reply and signs in with it over the
// reply's fresh nonce.
func (h *UserCertificateHandler) HandleStatus(_ context.Context, s *Status) (*Answer, error) {
	if s.Status != "enrolled" {
		return nil, unexpectedStatus(s)
	}
	st := h.states.get(s.Realm)
	if st == nil || st.last != answeredCSR {
		return nil, fmt.Errorf("%w %q before any CSR was sent", ErrUnexpectedStatus, s.Status)
	}
	cred, token, err := storeIssued(h.Keystore, st.entity, st.pending, s)
	if err != nil {
		return nil, err
	}
	st.pending = nil
	jws, err := signX5C(cred, payloadClaims{Token: token, Device: h.Device, App: h.App})
	if err != nil {
		return nil, err
	}
	st.last = answeredFresh
	return &Answer{Body: map[string]string{"payload": jws}}, nil
}

func (h *UserCertificateHandler) handleRefusal(_ context.Context, realm string, e *Error) error {
	st := h.states.get(realm)
	if st != nil && st.last == answeredStored && !st.dropped && e.Code == codeRealmRefused {
		if err := dropCredential(h.Keystore, st.entity); err != nil {
			return err
		}
		st.dropped, st.last = true, answeredNothing
		return errNewSession
	}
	return fmt.Errorf("%w: %w", ErrEnrollmentRefused, e)
}
