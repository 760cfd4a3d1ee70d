package engine

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/project"
)

// AttestationVerifier checks attestation formats other than Android Key Attestation (Apple App
// Attest, vendor SDKs): an adapter procedure that receives {"format", "attestation", "challenge",
// "app": {"id", "env", "packageName", "bundleId"}} and answers {"valid": "YES" | "NO"}.
type AttestationVerifier = adapters.ProcRef

// authenticity is wl_authenticityRealm: the app proves it is the genuine app with a hardware
// attestation made over the realm's nonce.
type authenticity struct{ sessionLife }

func (authenticity) challenge(x *exchange) (map[string]any, error) {
	n, err := x.e.issueNonce(x, project.RealmAuthenticity)
	if err != nil {
		return nil, err
	}
	return map[string]any{"token": n}, nil
}

// FormatAndroidKey is the Android Key Attestation format.
const FormatAndroidKey = "android-key"

func (authenticity) answer(x *exchange, a *AnswerRequest) (answerOutcome, error) {
	var body struct {
		Attestation struct {
			Format string   `json:"format"`
			Chain  []string `json:"chain"`
		} `json:"attestation"`
		Token string `json:"token"`
	}
	if err := decodeAnswer(a.Body, &body); err != nil {
		return answerOutcome{}, err
	}
	env := x.environment()
	if env == nil || !env.SupportsDeviceSecurity() {
		return answerOutcome{}, &Error{Code: CodeRefused, Message: "app authenticity runs on android and iOS environments only"}
	}
	switch body.Attestation.Format {
	case FormatAndroidKey:
		return androidKey(x, env, body.Attestation.Chain)
	case "":
		return answerOutcome{}, errorf(CodeBadRequest, `answer {"attestation": {"format": "android-key", "chain": [...]}}`)
	}
	return adapterAttestation(x, env, body.Attestation.Format, a.Body, body.Token)
}

func androidKey(x *exchange, env *project.Environment, chainB64 []string) (answerOutcome, error) {
	if len(chainB64) == 0 || len(chainB64) > pki.MaxAttestationChain {
		return answerOutcome{}, errorf(CodeBadRequest, "the attestation chain must hold 1 to %d certificates", pki.MaxAttestationChain)
	}
	chain := make([][]byte, len(chainB64))
	for i, c := range chainB64 {
		der, err := decodeB64(fmt.Sprintf("attestation.chain[%d]", i), c, pki.MaxCertSize)
		if err != nil {
			return answerOutcome{}, err
		}
		chain[i] = der
	}
	if x.e.attestationRoots == nil {
		return answerOutcome{}, &Error{Code: CodeNotImplemented, Message: "no Android attestation roots are configured (authenticity.androidRoots in hostd.yaml)"}
	}
	// The leaf says which nonce it was made for; that nonce must be this session's, unused.
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return answerOutcome{}, errorf(CodeBadRequest, "the attestation leaf is not a certificate")
	}
	var challenge []byte
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(pki.OIDAndroidKeyDescription) {
			desc, err := pki.ParseAndroidKeyDescription(ext.Value)
			if err != nil {
				return answerOutcome{}, pkiError("the attestation", err)
			}
			challenge = desc.Challenge
		}
	}
	if challenge == nil {
		return answerOutcome{}, errorf(CodeBadRequest, "the attestation leaf has no key description")
	}
	if err := x.e.consumeNonce(x, string(challenge), project.RealmAuthenticity); err != nil {
		return answerOutcome{}, err
	}
	att, err := pki.VerifyAndroidKeyAttestation(chain, x.e.attestationRoots, challenge, x.now)
	if err != nil {
		return answerOutcome{}, &Error{Code: CodeRefused, Message: "the attestation does not verify: " + err.Error(), Err: err}
	}
	pkgOK := false
	for _, p := range att.PackageNames {
		pkgOK = pkgOK || (env.PackageName != "" && p == env.PackageName)
	}
	digestOK := false
	for _, d := range att.SignatureDigests {
		for _, want := range env.SigningCertificateDigests {
			w, _ := hex.DecodeString(want)
			digestOK = digestOK || bytes.Equal(d, w)
		}
	}
	if !pkgOK || !digestOK {
		return answerOutcome{}, &Error{Code: CodeRefused, Message: "the attested application is not this application (package name or signing certificate differ)"}
	}
	return answerOutcome{identity: map[string]any{"format": FormatAndroidKey, "packageName": env.PackageName}}, nil
}

func adapterAttestation(x *exchange, env *project.Environment, format string, raw []byte, token string) (answerOutcome, error) {
	v := x.e.attestationVerifier
	if v == nil || x.e.procs == nil {
		return answerOutcome{}, errorf(CodeBadRequest, "attestation format %q is not supported (android-key is; configure authenticity.adapter for others)", format)
	}
	if err := x.e.consumeNonce(x, token, project.RealmAuthenticity); err != nil {
		return answerOutcome{}, err
	}
	var answer map[string]any
	_ = json.Unmarshal(raw, &answer)
	in, _ := json.Marshal(map[string]any{
		"format": format, "attestation": answer["attestation"], "challenge": token,
		"app": map[string]any{"id": x.app.App, "env": x.app.Env, "packageName": env.PackageName, "bundleId": env.BundleID},
	})
	out, err := x.e.procs.Call(x.ctx, v.Adapter, v.Procedure, in)
	if err != nil {
		return answerOutcome{}, bridgeError(*v, err)
	}
	var valid adapters.Valid
	if err := json.Unmarshal(out, &valid); err != nil {
		return answerOutcome{}, &Error{Code: CodeUnavailable, Message: "the attestation verifier gave an unexpected answer", Err: err}
	}
	if valid.Valid != adapters.Yes {
		return answerOutcome{}, &Error{Code: CodeRefused, Message: "the attestation verifier refused the app"}
	}
	return answerOutcome{identity: map[string]any{"format": format}}, nil
}

// environment is the request's application environment.
func (x *exchange) environment() *project.Environment {
	if a := x.e.project.Apps[x.app.App]; a != nil {
		return a.Envs[x.app.Env]
	}
	return nil
}
