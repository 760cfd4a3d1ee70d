package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// AppInfo identifies the application in the payloads a device signs.
type AppInfo struct {
	ID          string `json:"id"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
}

// payloadClaims are the claims of a signed payload (PROTOCOL.md section 5).
type payloadClaims struct {
	Token  string     `json:"token"`
	Device DeviceInfo `json:"device"`
	App    AppInfo    `json:"app"`
	// NewKey, in a re-provisioning proof only, is the RFC 7638 thumbprint of the CSR's key.
	NewKey string `json:"newKey,omitempty"`
}

// keyThumbprint is the RFC 7638 JWK thumbprint of a public key (SHA-256, base64url without
// padding): how a proof names the key it hands the device over to.
func keyThumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("realmgate: key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// signX5C signs the claims with the credential's key as a compact JWS whose header carries the
// credential's chain as x5c: what a holder of a certificate answers.
func signX5C(cred *Credential, claims payloadClaims) (string, error) {
	x5c := make([]string, len(cred.Chain))
	for i, c := range cred.Chain {
		x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	return signPayload(cred.Key, claims, (&jose.SignerOptions{}).WithHeader("x5c", x5c))
}

// signJWK signs the claims with key as a compact JWS whose header carries the public key as jwk:
// what a device sends beside its CSR, proving it holds the CSR's key for this nonce.
func signJWK(key crypto.Signer, claims payloadClaims) (string, error) {
	return signPayload(key, claims, &jose.SignerOptions{EmbedJWK: true})
}

func signPayload(key crypto.Signer, claims payloadClaims, opts *jose.SignerOptions) (string, error) {
	var alg jose.SignatureAlgorithm
	switch key.(type) {
	case *ecdsa.PrivateKey:
		alg = jose.ES256
	case *rsa.PrivateKey:
		alg = jose.RS256
	}
	if err := checkSigningKey(key); err != nil {
		return "", fmt.Errorf("realmgate: signing a payload: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("realmgate: signing a payload: %w", err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("realmgate: signing a payload: %w", err)
	}
	obj, err := signer.Sign(b)
	if err != nil {
		return "", fmt.Errorf("realmgate: signing a payload: %w", err)
	}
	return obj.CompactSerialize()
}
