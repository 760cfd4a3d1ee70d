package engine

import (
	"cmp"
	"context"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// provisioningRealm provisions devices with certificates and signs them in with those
// (PROTOCOL.md section 5): wl_deviceAutoProvisioningRealm signs with the built-in provisioning
// CA; a custom provisioning realm (DeviceAutoProvisioningAuthenticator) lets adapter procedures
// decide (Worklight's validate-csr-function and validate-certificate-function), and may hand
// identity checks (an MDM activation code) and signing to a PKI bridge.
type provisioningRealm struct {
	name string
	// custom realms: the adapter procedures that validate CSRs and certificates (zero: none).
	validateCSRFn, validateCertFn adapters.ProcRef
	bridge                        *adapterBridge // optional PKI bridge (custom realms)
	exp                           time.Duration
}

func newProvisioningRealm(e *Engine, p *project.Project, r *project.Realm) (realm, error) {
	pr := &provisioningRealm{name: r.Name}
	if r.Builtin {
		return pr, nil
	}
	if v, ok := r.Params.Get("validate-csr-function"); ok && v != "" {
		ref, ok := adapters.ParseProcRef(v)
		if !ok {
			return nil, fmt.Errorf("validate-csr-function %q is not Adapter.procedure", v)
		}
		pr.validateCSRFn = ref
	}
	if lm := p.LoginModules[r.LoginModule]; lm != nil {
		if v, ok := lm.Params.Get("validate-certificate-function"); ok && v != "" {
			ref, ok := adapters.ParseProcRef(v)
			if !ok {
				return nil, fmt.Errorf("validate-certificate-function %q is not Adapter.procedure", v)
			}
			pr.validateCertFn = ref
		}
		if lm.ExpirationInSeconds > 0 {
			pr.exp = time.Duration(lm.ExpirationInSeconds) * time.Second
		}
	}
	for _, prm := range r.Params {
		if strings.HasPrefix(prm.Name, "adapter-pki-bridge-") {
			b, err := newAdapterBridge(e, r, false)
			if err != nil {
				return nil, err
			}
			pr.bridge = b
			break
		}
	}
	return pr, nil
}

func (p *provisioningRealm) expiration() time.Duration { return p.exp }

// entity is what the certificates of this session's application bind to: "application:APP",
// "group:NAME" or "device", from the environment's <provisioning> setting.
func entityOf(x *exchange) (wire, key string) {
	ent := ""
	if a := x.e.project.Apps[x.app.App]; a != nil {
		if env := a.Envs[x.app.Env]; env != nil {
			ent = env.ProvisioningEntity
		}
	}
	switch {
	case ent == "" || ent == "application":
		return "application", "application:" + x.app.App
	default:
		return ent, ent
	}
}

func (p *provisioningRealm) challenge(x *exchange) (map[string]any, error) {
	if x.e.provisioningCA == nil && (p.bridge == nil || !p.bridge.generates()) {
		return nil, &Error{Code: CodeNotImplemented, Message: "device provisioning has no CA: run hostd ca init --data DIR",
			Details: map[string]any{"realm": p.name}}
	}
	n, err := x.e.issueNonce(x, p.name)
	if err != nil {
		return nil, err
	}
	wire, _ := entityOf(x)
	return map[string]any{"token": n, "entity": wire}, nil
}

func (p *provisioningRealm) answer(x *exchange, a *AnswerRequest) (answerOutcome, error) {
	var body struct {
		CSR     string `json:"csr"`
		Payload string `json:"payload"`
		// Proof re-provisions a device that holds a live certificate (checkProof).
		Proof          string              `json:"proof"`
		ActivationCode string              `json:"activationCode"`
		ClientData     adapters.ClientData `json:"clientData"`
	}
	if err := decodeAnswer(a.Body, &body); err != nil {
		return answerOutcome{}, err
	}
	if body.Payload == "" {
		return answerOutcome{}, errorf(CodeBadRequest, `answer {"payload": JWS}, with "csr" when the device has no certificate yet`)
	}
	cd := adapters.ClientData{}
	for k, v := range body.ClientData {
		cd[k] = v
	}
	if body.ActivationCode != "" {
		if len(body.ActivationCode) > 256 {
			return answerOutcome{}, errorf(CodeBadRequest, "activationCode is longer than 256 characters")
		}
		cd["activationCode"] = body.ActivationCode
	}
	if body.CSR != "" {
		return p.provision(x, body.CSR, body.Payload, body.Proof, cd)
	}
	if body.Proof != "" {
		return answerOutcome{}, errorf(CodeBadRequest, `"proof" goes with a "csr": it hands the device over to the CSR's key`)
	}
	return p.signIn(x, body.Payload, cd)
}

// provision issues a certificate for a new device key. A device id belongs to the key of its live
// certificate: while the device (id, entity) holds one, only a proof signed with that key (or an
// administrator's reset, which revokes it) lets a new key have the id. Without that rule whoever
// claims a device id would take the device over, with everything bound to it.
func (p *provisioningRealm) provision(x *exchange, csrB64, jws, proof string, cd adapters.ClientData) (answerOutcome, error) {
	// A provisioning test that also checks app authenticity provisions only an authentic app.
	if t := x.e.challengingTest(x, p.name); t != nil && t.HasRealm(project.RealmAuthenticity) {
		if rs := x.s.peek(project.RealmAuthenticity); rs == nil || !rs.Passed {
			return answerOutcome{}, &Error{Code: CodeRefused, Message: "the app's authenticity must be proven before a device is provisioned",
				Details: map[string]any{"realm": p.name}}
		}
	}
	der, err := decodeB64("csr", csrB64, pki.MaxCSRSize)
	if err != nil {
		return answerOutcome{}, err
	}
	csr, err := pki.ParseCSR(der)
	if err != nil {
		return answerOutcome{}, pkiError("the CSR", err)
	}
	// The bridge's calls for this CSR find it verified (a host PKI capability need not verify it
	// again).
	x.ctx = adapters.WithVerifiedCSR(x.ctx, csr)
	payload, key, err := pki.VerifyJWK(jws)
	if err != nil {
		return answerOutcome{}, pkiError("the signed payload", err)
	}
	if !pki.SamePublicKey(key, csr.PublicKey) {
		return answerOutcome{}, errorf(CodeBadRequest, "the payload is not signed by the CSR's key")
	}
	if err := checkPayloadApp(x, payload); err != nil {
		return answerOutcome{}, err
	}
	if err := x.e.consumeNonce(x, payload.Token, p.name); err != nil {
		return answerOutcome{}, err
	}
	_, entity := entityOf(x)
	// The device's live certificate is read here, before anything is signed, when a proof may
	// hand the device over (checkProof needs the certificate) or when adapters are asked
	// (their calls may act outside: they are not asked for a device that is refused). Else,
	// for the built-in CA, the unit of work below decides alone, from the device record it
	// reads anyway: a blocked device, or one holding a live certificate, is refused there as
	// it would be here, and the certificate signed for it is never stored nor sent. A
	// provisioning costs one store read less (a round trip on PostgreSQL).
	var current *store.CertificateRecord
	checkedFirst := proof != "" || p.bridge != nil || !p.validateCSRFn.IsZero()
	if checkedFirst {
		if current, err = x.e.liveCertificate(x, payload.Device.ID, entity); err != nil {
			return answerOutcome{}, err
		}
		if current != nil {
			if err := p.checkProof(x, proof, current, payload, csr.PublicKey); err != nil {
				return answerOutcome{}, err
			}
		}
	}
	who := adapters.IdentityInput{
		DeviceID:     payload.Device.ID,
		UserIdentity: adapters.UserIdentity{UserName: payload.Device.ID, DisplayName: cmp.Or(payload.Device.DisplayName, payload.Device.ID), Attributes: map[string]any{}},
		AppID:        x.app.App,
		ClientData:   withDevice(cd, payload),
	}
	if p.bridge != nil {
		v, err := p.bridge.validateIdentity(x, who)
		if err != nil {
			return answerOutcome{}, err
		}
		if v != adapters.Yes {
			return answerOutcome{}, &Error{Code: CodeRefused, Message: "the provisioning bridge does not accept this device", Details: map[string]any{"realm": p.name}}
		}
	}
	// The adapters' view of the CSR is built only for adapters: the built-in CA reads the CSR.
	var in adapters.CSRInput
	if p.bridge != nil || !p.validateCSRFn.IsZero() {
		in = adapters.NewCSRInput(who, csr)
	}
	if !p.validateCSRFn.IsZero() {
		if ok, err := p.callValid(x, p.validateCSRFn, in); err != nil {
			return answerOutcome{}, err
		} else if !ok {
			return answerOutcome{}, &Error{Code: CodeCSRRejected, Message: "the provisioning adapter rejected the CSR"}
		}
	}
	if p.bridge != nil {
		v, err := p.bridge.validateCSR(x, in)
		if err != nil {
			return answerOutcome{}, err
		}
		if v != adapters.Yes {
			return answerOutcome{}, &Error{Code: CodeCSRRejected, Message: "the provisioning bridge rejected the CSR"}
		}
	}
	cert, chain, err := p.sign(x, in, csr, payload.Device.ID, entity)
	if err != nil {
		return answerOutcome{}, err
	}
	if err := x.e.storeIssued(x, cert, entity, payload.Device.ID, p.name); err != nil {
		return answerOutcome{}, err
	}
	dev := store.Device{ID: payload.Device.ID, Entity: entity, App: x.app.App, OS: payload.Device.OS, Model: payload.Device.Model,
		DisplayName: payload.Device.DisplayName, Status: store.DeviceActive, CreatedAt: x.now, LastSeen: x.now, CertificateSerial: serialHex(cert)}
	actor, now := "session:"+SessionRef(x.s.rec.ID), x.now
	// The certificate record (storeIssued), the revocation of the one it replaces, the device
	// record and the session commit together: no certificate is kept without its device, and
	// no device names a certificate that was not kept.
	x.s.later(func(ctx context.Context, tx store.Tx) error {
		d := dev
		// The device is read again in the unit: its status and certificate must still be what
		// the checks above saw, or two provisionings of one id running at once would both
		// pass as its first, and the later would take the device from the earlier.
		old, err := tx.GetDevice(ctx, d.ID, entity)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case old.Status == store.DeviceBlocked:
			return &Error{Code: CodeDeviceBlocked, Message: "this device is blocked; contact your administrator"}
		default:
			d.CreatedAt = old.CreatedAt
		}
		if held := old.CertificateSerial; held != "" && (current == nil || held != current.Serial) {
			live, err := liveIn(ctx, tx, held, now)
			if err != nil {
				return err
			}
			switch {
			case live && !checkedFirst:
				return p.proofRequired(d.ID, "the answer carries no proof", nil)
			case live:
				return &Error{Code: CodeDeviceProofRequired, Details: map[string]any{"realm": p.name},
					Message: fmt.Sprintf("device %q was provisioned with another key while this answer was checked: send a \"proof\" signed with that certificate's key, or ask an administrator to reset the device", d.ID)}
			}
		}
		if current != nil {
			if err := tx.RevokeCertificate(ctx, current.Serial, "superseded: the device was provisioned with a new key", now); err != nil {
				return err
			}
			if err := x.e.auditIn(ctx, tx, actor, "device.rekey", d.ID,
				map[string]any{"entity": entity, "realm": p.name, "revokedSerial": current.Serial, "serial": d.CertificateSerial}); err != nil {
				return err
			}
		}
		return tx.PutDevice(ctx, d)
	})
	n, err := x.e.issueNonce(x, p.name)
	if err != nil {
		return answerOutcome{}, err
	}
	return answerOutcome{status: "provisioned", extra: map[string]any{
		"certificate": b64(cert.Raw), "chain": chainB64(chain), "token": n,
	}}, nil
}

// sign issues the device certificate: through the PKI bridge when the realm has one, else with
// the built-in provisioning CA. The subject is CN=device id, O=the entity.
func (p *provisioningRealm) sign(x *exchange, in adapters.CSRInput, csr *x509.CertificateRequest, deviceID, entity string) (*x509.Certificate, [][]byte, error) {
	if p.bridge != nil && p.bridge.generates() {
		der, err := p.bridge.generate(x, in, csr, adapters.CSRRequirements{})
		if err != nil {
			return nil, nil, err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil || !pki.SamePublicKey(cert.PublicKey, csr.PublicKey) {
			return nil, nil, &Error{Code: CodeUnavailable, Message: "the provisioning bridge returned a certificate that is not for the CSR's key", Err: err}
		}
		return cert, nil, nil
	}
	ca := x.e.provisioningCA
	if ca == nil {
		return nil, nil, &Error{Code: CodeNotImplemented, Message: "device provisioning has no CA: run hostd ca init --data DIR"}
	}
	cert, err := ca.Issue(csr, pki.IssueOptions{Now: x.now, Subject: pkix.Name{CommonName: deviceID, Organization: []string{entity}}})
	if err != nil {
		return nil, nil, pkiError("the CSR", err)
	}
	return cert, ca.ChainDER(), nil
}

// callValid runs a Worklight-style validation function: it answers {"valid": "YES"|"NO"} (or
// true/false, as Worklight's JavaScript functions did).
func (p *provisioningRealm) callValid(x *exchange, ref adapters.ProcRef, in any) (bool, error) {
	if x.e.procs == nil {
		return false, &Error{Code: CodeNotImplemented, Message: "adapter " + ref.Adapter + " is not loaded"}
	}
	raw, _ := json.Marshal(in)
	out, err := x.e.procs.Call(x.ctx, ref.Adapter, ref.Procedure, raw)
	if err != nil {
		return false, bridgeError(ref, err)
	}
	var b bool
	if json.Unmarshal(out, &b) == nil {
		return b, nil
	}
	var v adapters.Valid
	if err := json.Unmarshal(out, &v); err != nil || (v.Valid != adapters.Yes && v.Valid != adapters.No) {
		return false, &Error{Code: CodeUnavailable, Message: fmt.Sprintf("%s must answer {\"valid\": \"YES\" | \"NO\"}", ref)}
	}
	return v.Valid == adapters.Yes, nil
}

// signIn checks a payload signed with a provisioned certificate.
func (p *provisioningRealm) signIn(x *exchange, jws string, cd adapters.ClientData) (answerOutcome, error) {
	var roots *x509.CertPool
	if (p.bridge == nil || !p.bridge.generates()) && x.e.provisioningCA != nil {
		roots = x.e.provisioningCA.Roots()
	}
	payload, rec, leaf, err := x.e.verifyIssued(x, jws, roots)
	if err != nil {
		return answerOutcome{}, err
	}
	if err := checkPayloadApp(x, payload); err != nil {
		return answerOutcome{}, err
	}
	wire, entity := entityOf(x)
	if rec.Entity != entity {
		return answerOutcome{}, retryEnroll(fmt.Sprintf("this certificate was provisioned for %s, not %s: provision again", rec.Entity, entity))
	}
	if rec.Owner != payload.Device.ID {
		return answerOutcome{}, errorf(CodeBadRequest, "the payload's device is not the certificate's")
	}
	if err := x.e.consumeNonce(x, payload.Token, p.name); err != nil {
		return answerOutcome{}, err
	}
	// Only the certificate the device record names proves the device: one it replaced, or one
	// issued while the record was reset, is not the device's any more.
	dev, err := x.e.store.GetDevice(x.ctx, payload.Device.ID, entity)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return answerOutcome{}, retryEnroll("this device is not provisioned here: provision again")
	case err != nil:
		return answerOutcome{}, unavailable("the device store", err)
	case dev.Status == store.DeviceBlocked:
		return answerOutcome{}, &Error{Code: CodeDeviceBlocked, Message: "this device is blocked; contact your administrator"}
	case subtle.ConstantTimeCompare([]byte(dev.CertificateSerial), []byte(rec.Serial)) != 1:
		return answerOutcome{}, retryEnroll("this certificate is no longer the device's: provision again")
	}
	if !p.validateCertFn.IsZero() {
		in := adapters.NewCertificateInput(leaf, withDevice(cd, payload))
		ok, err := p.callValid(x, p.validateCertFn, in)
		if err != nil {
			return answerOutcome{}, err
		}
		if !ok {
			return answerOutcome{}, retryEnroll("the provisioning adapter no longer accepts this certificate: provision again")
		}
	}
	now, serial := x.now, rec.Serial
	x.s.later(func(ctx context.Context, tx store.Tx) error {
		// The device record the proof was checked against is read again in the unit: a block
		// or a reset that committed since is not undone by this sign-in.
		d, err := tx.GetDevice(ctx, payload.Device.ID, entity)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return &Error{Code: CodeRefused, Message: "this device was reset while it signed in: provision again", Details: map[string]any{"realm": p.name}}
		case err != nil:
			return err
		case d.Status == store.DeviceBlocked:
			return &Error{Code: CodeDeviceBlocked, Message: "this device is blocked; contact your administrator"}
		case subtle.ConstantTimeCompare([]byte(d.CertificateSerial), []byte(serial)) != 1:
			return &Error{Code: CodeRefused, Message: "this certificate stopped being the device's while it signed in: provision again", Details: map[string]any{"realm": p.name}}
		}
		d.LastSeen, d.OS, d.Model, d.DisplayName = now, payload.Device.OS, payload.Device.Model, payload.Device.DisplayName
		return tx.PutDevice(ctx, d)
	})
	id := map[string]any{"id": payload.Device.ID, "entity": wire, "certificateSerial": rec.Serial}
	for k, v := range map[string]string{"os": payload.Device.OS, "model": payload.Device.Model, "displayName": payload.Device.DisplayName} {
		if v != "" {
			id[k] = v
		}
	}
	return answerOutcome{identity: id}, nil
}

// liveCertificate returns the certificate device (id, entity) holds when it is live (stored, not
// revoked, not expired), or nil when the device has none: a device id with a live certificate
// belongs to the holder of that certificate's key. A device an administrator blocked is refused
// (CodeDeviceBlocked).
func (e *Engine) liveCertificate(x *exchange, id, entity string) (*store.CertificateRecord, error) {
	dev, err := e.store.GetDevice(x.ctx, id, entity)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, unavailable("the device store", err)
	case dev.Status == store.DeviceBlocked:
		return nil, &Error{Code: CodeDeviceBlocked, Message: "this device is blocked; contact your administrator"}
	case dev.CertificateSerial == "":
		return nil, nil
	}
	rec, err := e.store.GetCertificate(x.ctx, dev.CertificateSerial)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, unavailable("the certificate store", err)
	case rec.RevokedAt != nil || !x.now.Before(rec.NotAfter):
		return nil, nil
	}
	return &rec, nil
}

// checkProof verifies the proof that hands device payload.Device.ID over to a new key: a compact
// JWS whose x5c leaf is the device's live certificate byte for byte, signed by that certificate's
// key and valid now, whose claims name the answer's nonce and device and, in "newKey", the
// KeyThumbprint of the CSR's key. The nonce makes it single-use and bound to this session; newKey
// binds it to this CSR, so a proof cannot be moved to another key.
func (p *provisioningRealm) checkProof(x *exchange, proof string, current *store.CertificateRecord, payload *pki.Payload, newKey crypto.PublicKey) error {
	refuse := func(why string, cause error) error { return p.proofRequired(payload.Device.ID, why, cause) }
	if proof == "" {
		return refuse("the answer carries no proof", nil)
	}
	leaf, err := x5cLeaf(proof)
	if err != nil {
		return refuse("the proof carries no certificate", err)
	}
	if subtle.ConstantTimeCompare(leaf.Raw, current.DER) != 1 {
		return refuse("the proof is not signed with it", nil)
	}
	// The stored certificate is the trust: the proof's leaf is that record, so it is its own root.
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	claims, _, err := pki.VerifyX5C(proof, roots, x.now)
	if err != nil {
		return refuse("the proof does not verify with it", err)
	}
	thumb, err := pki.KeyThumbprint(newKey)
	if err != nil {
		return pkiError("the CSR's key", err)
	}
	switch {
	case subtle.ConstantTimeCompare([]byte(claims.Token), []byte(payload.Token)) != 1:
		return refuse("the proof is not over this challenge's token", nil)
	case claims.Device.ID != payload.Device.ID:
		return refuse("the proof is for another device", nil)
	case subtle.ConstantTimeCompare([]byte(claims.NewKey), []byte(thumb)) != 1:
		return refuse("the proof's newKey is not the CSR's key", nil)
	}
	return nil
}

// proofRequired refuses a CSR for device id, which holds a live certificate, for the reason why.
func (p *provisioningRealm) proofRequired(id, why string, cause error) error {
	return &Error{Code: CodeDeviceProofRequired,
		Message: fmt.Sprintf("device %q already holds a live certificate and %s: send a \"proof\" signed with that certificate's key, or ask an administrator to reset the device", id, why),
		Details: map[string]any{"realm": p.name}, Err: cause}
}

// liveIn reports whether the certificate with serial is live at now (stored, not revoked, not
// expired), read in the unit of work tx.
func liveIn(ctx context.Context, tx store.Tx, serial string, now time.Time) (bool, error) {
	rec, err := tx.GetCertificate(ctx, serial)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return rec.RevokedAt == nil && now.Before(rec.NotAfter), nil
}
