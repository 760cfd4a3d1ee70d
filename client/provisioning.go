package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The realms whose challenges the client answers with a keystore or an attestation.
const (
	RealmDeviceAutoProvisioning = "wl_deviceAutoProvisioningRealm"
	RealmAuthenticity           = "wl_authenticityRealm"
	RealmUserCertificate        = "wl_userCertificateAuthRealm"
)

// Typed refusals of the realms that hand out certificates. They wrap the server's *Error when
// the server refused (so errors.Is also matches ErrRefused and errors.As finds the *Error).
var (
	// ErrProvisioningRefused: the server would not provision this device (a CSR or activation
	// code refused), or refused a certificate it had just issued.
	ErrProvisioningRefused = errors.New("device provisioning refused")
	// ErrEnrollmentRefused: the user-certificate realm would not enroll this user (the PKI
	// bridge said NO, or rejected the CSR), or refused a certificate it had just issued.
	ErrEnrollmentRefused = errors.New("user certificate enrollment refused")
	// ErrAuthenticityRefused: the server did not accept the application's attestation.
	ErrAuthenticityRefused = errors.New("application authenticity refused")
)

// codeRealmRefused is the server's code of a realm's final refusal; the certificate handlers
// take it, in reply to a stored certificate, as a refusal of that certificate.
const codeRealmRefused = "realm_refused"

// errNewSession asks the client to drop the session and re-issue the request: a realm refused
// a stored certificate for the rest of the session, and the handler has dropped it so that a new
// session obtains another.
var errNewSession = errors.New("start a new session")

// refusalHandler is implemented by handlers that give a 403 reply to their answer a meaning:
// handleRefusal returns the error the call ends with, or errNewSession.
type refusalHandler interface {
	handleRefusal(ctx context.Context, realm string, e *Error) error
}

// answerKind records what a certificate handler answered last in a call.
type answerKind int

const (
	answeredNothing answerKind = iota
	answeredStored             // a payload signed with a credential from the keystore
	answeredFresh              // a payload signed with a credential obtained in this call
	answeredCSR                // a CSR
	answeredEnroll             // {"enroll": true}
)

// maxCSRAttempts bounds the CSRs one call sends for one realm: a second covers a nonce that
// went stale while the user looked for an activation code.
const maxCSRAttempts = 2

// certState is what a certificate handler remembers of one realm within one call.
type certState struct {
	entity      string
	last        answerKind
	pending     *ecdsa.PrivateKey // the key of the CSR sent, until its certificate arrives
	csrAttempts int
	// storedErrors counts the answers with the stored credential that drew an error without
	// "enroll": true (a stale nonce, say): the first is answered again with the same credential.
	storedErrors int
	dropped      bool // a refused credential was dropped in this call
}

// dropStored reports whether a challenge that follows an answer with the stored credential says
// that credential is of no use: "enroll": true at once, a plain error the second time.
func (st *certState) dropStored(enroll bool) bool {
	if enroll {
		return true
	}
	st.storedErrors++
	return st.storedErrors > 1
}

// certStates keeps a certState per realm, fresh for each call (round 1).
type certStates struct {
	mu     sync.Mutex
	states map[string]*certState
}

func (s *certStates) begin(realm string, round int) *certState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.states == nil {
		s.states = map[string]*certState{}
	}
	st := s.states[realm]
	if st == nil || round <= 1 {
		st = &certState{}
		s.states[realm] = st
	}
	return st
}

func (s *certStates) get(realm string) *certState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.states[realm]
}

// loadUsable returns the entity's credential when it can sign now: a missing, damaged or
// expired one is reported as nil, so the handler obtains a new one (which replaces it).
func loadUsable(ks Keystore, entity string) (*Credential, error) {
	cred, err := ks.Load(entity)
	switch {
	case errors.Is(err, ErrNoCredential), errors.Is(err, ErrKeystoreDamaged):
		return nil, nil
	case err != nil:
		return nil, err
	}
	if !time.Now().Before(cred.Leaf().NotAfter) {
		return nil, nil
	}
	return cred, nil
}

// dropCredential forgets the entity's credential after the server refused it.
func dropCredential(ks Keystore, entity string) error {
	if err := ks.Delete(entity); err != nil {
		return fmt.Errorf("dropping the refused credential of %s: %w", entity, err)
	}
	return nil
}

// storeIssued checks that the certificate of a "provisioned" or "enrolled" reply is for the key
// of the CSR sent, and stores the credential.
func storeIssued(ks Keystore, entity string, key *ecdsa.PrivateKey, s *Status) (*Credential, string, error) {
	if key == nil {
		return nil, "", fmt.Errorf("%w %q before any CSR was sent", ErrUnexpectedStatus, s.Status)
	}
	r, err := parseIssuedReply(s.Body)
	if err != nil {
		return nil, "", err
	}
	if !samePublicKey(r.Chain[0].PublicKey, key.Public()) {
		return nil, "", malformed("the issued certificate is not for the key of the CSR")
	}
	cred := &Credential{Key: key, Chain: r.Chain}
	if err := ks.Store(entity, cred); err != nil {
		return nil, "", err
	}
	return cred, r.Token, nil
}

// ProvisioningHandler answers device-provisioning realms (wl_deviceAutoProvisioningRealm, and
// custom realms of the DeviceAutoProvisioningAuthenticator under their own names) without the
// application's help, as PROTOCOL.md section 5 describes:
//
//   - With a certificate for the challenged entity in the Keystore, it answers
//     {"payload": JWS} signed by the stored key with the chain in the x5c header.
//   - Without one (or with an expired or unreadable one), it makes an ECDSA P-256 key pair and
//     answers {"csr", "payload"}: a CSR whose subject is CN=<device id> and a JWS over the
//     nonce carrying the public key as jwk, plus "activationCode" when ActivationCode gives one.
//     The server replies "provisioned" with the certificate and a fresh nonce; the handler
//     stores key and chain, and answers again with the x5c payload.
//   - When the server does not accept a stored certificate (revoked, unknown, of another
//     entity: a new challenge carrying "enroll": true, or "error" twice in a row), the handler
//     drops it and provisions again. A refusal of it that is final for the session (403
//     realm_refused) makes the client start a new session for that, once per call.
//   - Whenever it provisions a new key while it holds an unexpired certificate for the entity
//     (the stored one, or one it has just dropped), it adds "proof": a JWS signed by that
//     certificate's key with its chain in x5c, over the same claims plus "newKey", the RFC 7638
//     thumbprint of the new key. The server requires it while the device id holds a live
//     certificate: the device keeps its id. Without it, a server that still deems the old
//     certificate live refuses with 403 device_proof_required (ErrDeviceProofRequired), and only
//     an administrator's reset of the device lets a new key have its id.
//
// The payload claims are {"token", "device": Device, "app": App}. The entity is the
// challenge's: "application" is stored as "application:<App.ID>", "group:<name>" under that
// name (so the applications of a group share one key pair), and "device".
//
// Client.ProvisioningHandler returns one built from the client's Config, ready to register
// for a custom realm.
type ProvisioningHandler struct {
	Keystore Keystore
	Device   DeviceInfo
	App      AppInfo
	// ActivationCode, when set, gives the code an MDM issued for this device, sent as
	// "activationCode" beside the CSR; an empty code is not sent.
	ActivationCode func(ctx context.Context, realm string) (string, error)

	states certStates
	// retired keeps, per entity, a credential dropped in this handler's life until a new one is
	// stored: the key that signs the proof of the next provisioning.
	retiredMu sync.Mutex
	retired   map[string]*Credential
}

// retire remembers the entity's stored credential, while it is unexpired, before it is dropped.
func (h *ProvisioningHandler) retire(entity string) {
	cred, err := loadUsable(h.Keystore, entity)
	if err != nil || cred == nil {
		return
	}
	h.retiredMu.Lock()
	defer h.retiredMu.Unlock()
	if h.retired == nil {
		h.retired = map[string]*Credential{}
	}
	h.retired[entity] = cred
}

// proofCredential returns the credential that signs a provisioning's proof: the stored one when
// it is usable, else the one retired last, while it is unexpired.
func (h *ProvisioningHandler) proofCredential(entity string) (*Credential, error) {
	cred, err := loadUsable(h.Keystore, entity)
	if err != nil || cred != nil {
		return cred, err
	}
	h.retiredMu.Lock()
	defer h.retiredMu.Unlock()
	if c := h.retired[entity]; c != nil && time.Now().Before(c.Leaf().NotAfter) {
		return c, nil
	}
	return nil, nil
}

func (h *ProvisioningHandler) forgetRetired(entity string) {
	h.retiredMu.Lock()
	defer h.retiredMu.Unlock()
	delete(h.retired, entity)
}

const maxActivationCodeLen = 4096

// HandleChallenge answers a provisioning challenge {"token", "entity"}.
func (h *ProvisioningHandler) HandleChallenge(ctx context.Context, ch *Challenge) (*Answer, error) {
	if h.Keystore == nil {
		return nil, errors.New("the provisioning handler has no Keystore")
	}
	p, err := parseProvisioningChallenge(ch.Payload, h.App.ID)
	if err != nil {
		return nil, err
	}
	st := h.states.begin(ch.Realm, ch.Round)
	if st.entity != "" && st.entity != p.Entity {
		*st = certState{} // another entity: nothing carries over
	}
	st.entity = p.Entity
	claims := payloadClaims{Token: p.Token, Device: h.Device, App: h.App}

	if ch.Error != "" || p.Enroll {
		switch {
		case st.last == answeredFresh:
			return nil, fmt.Errorf("%w: the new certificate was not accepted: %s", ErrProvisioningRefused, ch.Error)
		case st.last == answeredCSR:
			if st.csrAttempts >= maxCSRAttempts {
				return nil, fmt.Errorf("%w: %s", ErrProvisioningRefused, ch.Error)
			}
			return h.provision(ctx, ch.Realm, st, claims)
		case p.Enroll || st.last == answeredStored && st.dropStored(false):
			// The stored certificate was not accepted (revoked, unknown, of another entity),
			// but the realm may be answered again: provision anew.
			h.retire(p.Entity)
			if err := dropCredential(h.Keystore, p.Entity); err != nil {
				return nil, err
			}
			st.dropped = true
			return h.provision(ctx, ch.Realm, st, claims)
		}
	}
	cred, err := loadUsable(h.Keystore, p.Entity)
	if err != nil {
		return nil, err
	}
	if cred == nil {
		return h.provision(ctx, ch.Realm, st, claims)
	}
	jws, err := signX5C(cred, claims)
	if err != nil {
		return nil, err
	}
	st.last = answeredStored
	return &Answer{Body: map[string]string{"payload": jws}}, nil
}

// provision answers with a new key pair's CSR.
func (h *ProvisioningHandler) provision(ctx context.Context, realm string, st *certState, claims payloadClaims) (*Answer, error) {
	if h.Device.ID == "" {
		return nil, errors.New("provisioning needs a device id (Config.Device.ID)")
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	csr, err := buildCSR(key, pkix.RDNSequence{{{Type: oidCommonName, Value: h.Device.ID}}}, nil)
	if err != nil {
		return nil, err
	}
	jws, err := signJWK(key, claims)
	if err != nil {
		return nil, err
	}
	body := map[string]string{"csr": base64.StdEncoding.EncodeToString(csr), "payload": jws}
	old, err := h.proofCredential(st.entity)
	if err != nil {
		return nil, err
	}
	if old != nil {
		// The device's current key hands its id over to the new key (PROTOCOL.md section 5).
		proofClaims := claims
		if proofClaims.NewKey, err = keyThumbprint(key.Public()); err != nil {
			return nil, err
		}
		if body["proof"], err = signX5C(old, proofClaims); err != nil {
			return nil, err
		}
	}
	if h.ActivationCode != nil {
		code, err := h.ActivationCode(ctx, realm)
		if err != nil {
			return nil, err
		}
		if len(code) > maxActivationCodeLen {
			return nil, fmt.Errorf("the activation code is over %d bytes", maxActivationCodeLen)
		}
		if code != "" {
			body["activationCode"] = code
		}
	}
	st.pending, st.last = key, answeredCSR
	st.csrAttempts++
	return &Answer{Body: body}, nil
}

// HandleStatus stores the certificate of a "provisioned" reply and answers with a payload
// signed over the reply's fresh nonce.
func (h *ProvisioningHandler) HandleStatus(_ context.Context, s *Status) (*Answer, error) {
	if s.Status != "provisioned" {
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
	h.forgetRetired(st.entity)
	jws, err := signX5C(cred, payloadClaims{Token: token, Device: h.Device, App: h.App})
	if err != nil {
		return nil, err
	}
	st.last = answeredFresh
	return &Answer{Body: map[string]string{"payload": jws}}, nil
}

func (h *ProvisioningHandler) handleRefusal(_ context.Context, realm string, e *Error) error {
	st := h.states.get(realm)
	if st != nil && st.last == answeredStored && !st.dropped && e.Code == codeRealmRefused {
		h.retire(st.entity)
		if err := dropCredential(h.Keystore, st.entity); err != nil {
			return err
		}
		st.dropped, st.last = true, answeredNothing
		return errNewSession
	}
	return fmt.Errorf("%w: %w", ErrProvisioningRefused, e)
}

// Attestation is evidence that the application is genuine, for wl_authenticityRealm.
type Attestation struct {
	// Format names the evidence: "android-key" (Android Key Attestation), or another format a
	// verifier configured on the server handles.
	Format string
	// Chain is the attestation certificate chain, DER, leaf first.
	Chain [][]byte
}

// AttestationProvider makes an attestation for the realm's challenge. For "android-key" the
// leaf's attestation challenge is the challenge string's bytes (UTF-8): on a device, generate a
// key in the Android Keystore with setAttestationChallenge(challenge) and return its chain.
type AttestationProvider func(ctx context.Context, challenge string) (*Attestation, error)

// AuthenticityHandler answers wl_authenticityRealm's {"token"} with
// {"attestation": {"format", "chain"}} from Attest. A refused attestation ends the call with
// ErrAuthenticityRefused: a new attestation of the same application would not fare better.
type AuthenticityHandler struct {
	Attest AttestationProvider
}

const (
	maxAttestationCerts     = 10
	maxAttestationCertBytes = 16 << 10
)

// HandleChallenge answers an authenticity challenge.
func (h *AuthenticityHandler) HandleChallenge(ctx context.Context, ch *Challenge) (*Answer, error) {
	if h.Attest == nil {
		return nil, errors.New("the authenticity handler has no AttestationProvider")
	}
	token, err := parseTokenChallenge(ch.Payload)
	if err != nil {
		return nil, err
	}
	if ch.Error != "" {
		return nil, fmt.Errorf("%w: %s", ErrAuthenticityRefused, ch.Error)
	}
	a, err := h.Attest(ctx, token)
	if err != nil {
		return nil, err
	}
	if a == nil || len(a.Format) > 64 || !validHeaderName(a.Format) {
		return nil, errors.New("the attestation provider gave no format (a token such as \"android-key\")")
	}
	if len(a.Chain) == 0 || len(a.Chain) > maxAttestationCerts {
		return nil, fmt.Errorf("the attestation provider gave %d certificates (1 to %d)", len(a.Chain), maxAttestationCerts)
	}
	chain := make([]string, len(a.Chain))
	for i, der := range a.Chain {
		if len(der) == 0 || len(der) > maxAttestationCertBytes {
			return nil, fmt.Errorf("attestation certificate %d is empty or over %d bytes", i, maxAttestationCertBytes)
		}
		chain[i] = base64.StdEncoding.EncodeToString(der)
	}
	return &Answer{Body: map[string]any{"attestation": map[string]any{"format": a.Format, "chain": chain}}}, nil
}

// HandleStatus refuses: the realm has a single round.
func (h *AuthenticityHandler) HandleStatus(_ context.Context, s *Status) (*Answer, error) {
	return nil, unexpectedStatus(s)
}

func (h *AuthenticityHandler) handleRefusal(_ context.Context, _ string, e *Error) error {
	return fmt.Errorf("%w: %w", ErrAuthenticityRefused, e)
}
