package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

var testPayload = Payload{
	Token:  "nonce-123",
	Device: DeviceInfo{ID: "dev-1", OS: "android", Model: "Pixel", DisplayName: "Ann's phone"},
	App:    AppInfo{ID: "MyApp", Version: "1.0", Environment: "android"},
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forge builds a compact JWS from a raw header and payload, signed as alg says with key
// (ES256, RS256, HS256 with hmacKey, anything else: no signature).
func forge(t testing.TB, header string, payload []byte, alg string, key crypto.Signer, hmacKey []byte) string {
	t.Helper()
	input := b64url([]byte(header)) + "." + b64url(payload)
	h := sha256.Sum256([]byte(input))
	var sig []byte
	switch alg {
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), h[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case "RS256":
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, h[:]); err != nil {
			t.Fatal(err)
		}
	case "HS256":
		m := hmac.New(sha256.New, hmacKey)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	}
	return input + "." + b64url(sig)
}

func x5cHeader(alg string, certs ...*x509.Certificate) map[string]any {
	var x5c []string
	for _, c := range certs {
		x5c = append(x5c, base64.StdEncoding.EncodeToString(c.Raw))
	}
	return map[string]any{"alg": alg, "x5c": x5c}
}

func jwkJSON(t testing.TB, key any) json.RawMessage {
	t.Helper()
	b, err := jose.JSONWebKey{Key: key}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// issueFor issues a client certificate for key under ca at now, with optional changes.
func issueFor(t testing.TB, ca *CA, key crypto.Signer, now time.Time, change func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	if change == nil {
		cert, err := ca.Issue(mustParseCSR(t, newCSR(t, key, pkix.Name{CommonName: "device"})), IssueOptions{Subject: pkix.Name{CommonName: "device"}, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return cert
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "device"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	change(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestVerifyX5C(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Second)
	ca := testCA(t)
	other, err := NewCA(CAOptions{CommonName: "Other CA"})
	if err != nil {
		t.Fatal(err)
	}
	inter := newSubCA(t, ca, "Devices", ca.Cert.NotAfter)
	devKey, rsaKey, p384Key, otherKey := testKey(t, "p256"), testKey(t, "rsa2048"), testKey(t, "p384"), testKey(t, "p256b")
	leaf := issueFor(t, ca, devKey, now, nil)
	rsaLeaf := issueFor(t, ca, rsaKey, now, nil)
	p384Leaf := issueFor(t, ca, p384Key, now, nil)
	interLeaf := issueFor(t, inter, devKey, now, nil)
	foreignLeaf := issueFor(t, other, devKey, now, nil)
	serverLeaf := issueFor(t, ca, devKey, now, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
	noEKULeaf := issueFor(t, ca, devKey, now, func(c *x509.Certificate) { c.ExtKeyUsage = nil })
	selfTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "device"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	selfDER, err := x509.CreateCertificate(rand.Reader, selfTmpl, selfTmpl, devKey.Public(), devKey)
	if err != nil {
		t.Fatal(err)
	}
	selfSigned, _ := x509.ParseCertificate(selfDER)

	sign := func(key crypto.Signer, chain ...*x509.Certificate) string {
		s, err := SignX5C(key, chain, testPayload)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	payload := mustJSON(t, testPayload)
	hdr := func(h map[string]any) string { return string(mustJSON(t, h)) }
	with := func(h map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for k, v := range h {
			out[k] = v
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	es := x5cHeader("ES256", leaf)
	valid := sign(devKey, leaf)
	parts := strings.Split(valid, ".")
	tooMany := x5cHeader("ES256", leaf, ca.Cert, ca.Cert, ca.Cert, ca.Cert, ca.Cert)
	bigCert := map[string]any{"alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(make([]byte, MaxCertSize+1))}}

	tests := []struct {
		name      string
		jws       string
		roots     *x509.CertPool
		now       time.Time
		wantChain []*x509.Certificate
		want      []error
		msg       string
	}{
		{name: "es256", jws: valid, wantChain: []*x509.Certificate{leaf, ca.Cert}},
		{name: "rs256", jws: sign(rsaKey, rsaLeaf), wantChain: []*x509.Certificate{rsaLeaf, ca.Cert}},
		{name: "through an intermediate", jws: sign(devKey, interLeaf, inter.Cert), wantChain: []*x509.Certificate{interLeaf, inter.Cert, ca.Cert}},
		{name: "no extended key usage", jws: sign(devKey, noEKULeaf), wantChain: []*x509.Certificate{noEKULeaf, ca.Cert}},
		{name: "unknown claims and header members", jws: forge(t, hdr(with(es, "kid", "k1")), []byte(`{"token":"nonce-123","device":{"id":"dev-1","os":"android","model":"Pixel","displayName":"Ann's phone","extra":1},"app":{"id":"MyApp","version":"1.0","environment":"android"},"iat":5}`), "ES256", devKey, nil),
			wantChain: []*x509.Certificate{leaf, ca.Cert}},

		{name: "alg none", jws: forge(t, hdr(with(es, "alg", "none")), payload, "none", nil, nil), want: errs(ErrAlgorithm), msg: "unsigned"},
		{name: "alg None", jws: forge(t, hdr(with(es, "alg", "None")), payload, "none", nil, nil), want: errs(ErrAlgorithm), msg: "unsigned"},
		{name: "hmac keyed with the certificate", jws: forge(t, hdr(with(es, "alg", "HS256")), payload, "HS256", nil, leaf.Raw), want: errs(ErrAlgorithm), msg: "HMAC"},
		{name: "es384", jws: forge(t, hdr(with(es, "alg", "ES384")), payload, "none", nil, nil), want: errs(ErrAlgorithm), msg: `"ES384"`},
		{name: "ps256", jws: forge(t, hdr(with(es, "alg", "PS256")), payload, "none", nil, nil), want: errs(ErrAlgorithm)},
		{name: "no alg", jws: forge(t, hdr(with(es, "alg", nil)), payload, "none", nil, nil), want: errs(ErrAlgorithm), msg: "no alg"},
		{name: "alg not a string", jws: forge(t, hdr(with(es, "alg", 1)), payload, "none", nil, nil), want: errs(ErrMalformed)},
		{name: "rs256 with an ecdsa leaf", jws: forge(t, hdr(with(es, "alg", "RS256")), payload, "RS256", rsaKey, nil), want: errs(ErrAlgorithm), msg: "RS256 needs an RSA key"},
		{name: "es256 with a p384 leaf", jws: forge(t, hdr(x5cHeader("ES256", p384Leaf)), payload, "none", nil, nil), want: errs(ErrAlgorithm), msg: "P-384"},

		{name: "x5c and jwk", jws: forge(t, hdr(with(es, "jwk", jwkJSON(t, devKey.Public()))), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "both x5c and jwk"},
		{name: "no x5c", jws: forge(t, hdr(with(es, "x5c", nil)), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "no x5c"},
		{name: "jwk only", jws: mustSignJWK(t, devKey), want: errs(ErrMalformed), msg: "no x5c"},
		{name: "empty x5c", jws: forge(t, hdr(with(es, "x5c", []string{})), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "empty"},
		{name: "x5c not an array", jws: forge(t, hdr(with(es, "x5c", "MIIB")), payload, "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "x5c null", jws: forge(t, hdr(with(es, "x5c", json.RawMessage("null"))), payload, "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "x5c base64url", jws: forge(t, hdr(with(es, "x5c", []string{"-_-_"})), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "standard base64"},
		{name: "x5c not a certificate", jws: forge(t, hdr(with(es, "x5c", []string{"AAAA"})), payload, "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "x5c too long", jws: forge(t, hdr(tooMany), payload, "ES256", devKey, nil), want: errs(ErrTooLarge, ErrMalformed), msg: "6 certificates"},
		{name: "x5c certificate too large", jws: forge(t, hdr(bigCert), payload, "ES256", devKey, nil), want: errs(ErrTooLarge)},
		{name: "crit", jws: forge(t, hdr(with(es, "crit", []string{"b64"})), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "crit"},
		{name: "jku", jws: forge(t, hdr(with(es, "jku", "https://evil.example/keys")), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "never fetched"},
		{name: "x5u", jws: forge(t, hdr(with(es, "x5u", "https://evil.example/cert")), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "never fetched"},
		{name: "duplicate alg", jws: forge(t, `{"alg":"HS256","alg":"ES256","x5c":["`+base64.StdEncoding.EncodeToString(leaf.Raw)+`"]}`, payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "twice"},
		{name: "header not json", jws: forge(t, "alg=ES256", payload, "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "header with trailing data", jws: forge(t, hdr(es)+"{}", payload, "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "header not base64url", jws: "eyJ+" + valid[4:], want: errs(ErrMalformed)},
		{name: "header padded", jws: parts[0] + "==." + parts[1] + "." + parts[2], want: errs(ErrMalformed)},
		{name: "two parts", jws: parts[0] + "." + parts[1], want: errs(ErrMalformed), msg: "three"},
		{name: "four parts", jws: valid + ".x", want: errs(ErrMalformed), msg: "three"},
		{name: "json serialization with two signatures", jws: `{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"},{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`, want: errs(ErrMalformed), msg: "compact"},
		{name: "empty", jws: "", want: errs(ErrMalformed)},
		{name: "too large", jws: strings.Repeat("a", MaxJWSSize+1), want: errs(ErrTooLarge)},

		{name: "signed by another key", jws: forge(t, hdr(es), payload, "ES256", otherKey, nil), want: errs(ErrBadSignature)},
		{name: "payload changed", jws: parts[0] + "." + b64url([]byte(`{"token":"other"}`)) + "." + parts[2], want: errs(ErrBadSignature)},
		{name: "signature cut", jws: valid[:len(valid)-4], want: errs(ErrBadSignature)},
		{name: "signature empty", jws: parts[0] + "." + parts[1] + ".", want: errs(ErrBadSignature)},

		{name: "payload an array", jws: forge(t, hdr(es), []byte(`[]`), "ES256", devKey, nil), want: errs(ErrMalformed), msg: "not a JSON object"},
		{name: "payload null", jws: forge(t, hdr(es), []byte(`null`), "ES256", devKey, nil), want: errs(ErrMalformed), msg: "not a JSON object"},
		{name: "payload a string", jws: forge(t, hdr(es), []byte(`"x"`), "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "payload not json", jws: forge(t, hdr(es), []byte(`{token`), "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "token a number", jws: forge(t, hdr(es), []byte(`{"token":5}`), "ES256", devKey, nil), want: errs(ErrMalformed), msg: "claims"},
		{name: "device a string", jws: forge(t, hdr(es), []byte(`{"token":"a","device":"x"}`), "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "payload with trailing data", jws: forge(t, hdr(es), []byte(`{"token":"a"} {}`), "ES256", devKey, nil), want: errs(ErrMalformed), msg: "after"},

		{name: "another CA", jws: sign(devKey, foreignLeaf), want: errs(ErrUntrusted), msg: "unknown authority"},
		{name: "self-signed leaf", jws: sign(devKey, selfSigned), want: errs(ErrUntrusted)},
		{name: "intermediate missing", jws: sign(devKey, interLeaf), want: errs(ErrUntrusted)},
		{name: "server certificate", jws: sign(devKey, serverLeaf), want: errs(ErrUntrusted), msg: "key usage"},
		{name: "expired", jws: valid, now: leaf.NotAfter.Add(time.Second), want: errs(ErrUntrusted), msg: "expired"},
		{name: "not yet valid", jws: valid, now: leaf.NotBefore.Add(-time.Second), want: errs(ErrUntrusted)},
		{name: "no roots", jws: valid, roots: nil, want: errs(ErrUntrusted), msg: "no trusted roots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			roots, at := ca.Roots(), now
			if tt.name == "no roots" {
				roots = tt.roots
			}
			if !tt.now.IsZero() {
				at = tt.now
			}
			p, chain, err := VerifyX5C(tt.jws, roots, at)
			checkErr(t, err, tt.want, tt.msg)
			if err != nil {
				if p != nil || chain != nil {
					t.Error("a refusal returned a payload or a chain")
				}
				return
			}
			if d := cmp.Diff(testPayload, *p); d != "" {
				t.Errorf("payload (-want +got):\n%s", d)
			}
			if len(chain) != len(tt.wantChain) {
				t.Fatalf("chain of %d certificates, want %d", len(chain), len(tt.wantChain))
			}
			for i := range chain {
				if !chain[i].Equal(tt.wantChain[i]) {
					t.Errorf("chain[%d] = %q, want %q", i, chain[i].Subject, tt.wantChain[i].Subject)
				}
			}
		})
	}
}

func mustSignJWK(t testing.TB, key crypto.Signer) string {
	t.Helper()
	s, err := SignJWK(key, testPayload)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyJWK(t *testing.T) {
	t.Parallel()
	devKey, rsaKey, otherKey := testKey(t, "p256"), testKey(t, "rsa2048"), testKey(t, "p256b")
	payload := mustJSON(t, testPayload)
	hdr := func(alg string, jwk json.RawMessage) string {
		return string(mustJSON(t, map[string]any{"alg": alg, "jwk": jwk}))
	}
	pub := jwkJSON(t, devKey.Public())
	valid := mustSignJWK(t, devKey)
	parts := strings.Split(valid, ".")
	// A point that is not on P-256.
	var offCurve map[string]any
	json.Unmarshal(pub, &offCurve)
	offCurve["y"] = offCurve["x"]
	leaf := issueFor(t, testCA(t), devKey, time.Now(), nil)

	tests := []struct {
		name    string
		jws     string
		wantKey crypto.PublicKey
		want    []error
		msg     string
	}{
		{name: "es256", jws: valid, wantKey: devKey.Public()},
		{name: "rs256", jws: mustSignJWK(t, rsaKey), wantKey: rsaKey.Public()},
		{name: "forged es256", jws: forge(t, hdr("ES256", pub), payload, "ES256", devKey, nil), wantKey: devKey.Public()},

		{name: "private ec key", jws: forge(t, hdr("ES256", jwkJSON(t, devKey)), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: `private key material ("d")`},
		{name: "private rsa key", jws: forge(t, hdr("RS256", jwkJSON(t, rsaKey)), payload, "RS256", rsaKey, nil), want: errs(ErrMalformed), msg: "private key material"},
		{name: "symmetric key", jws: forge(t, hdr("HS256", json.RawMessage(`{"kty":"oct","k":"c2VjcmV0"}`)), payload, "HS256", nil, []byte("secret")), want: errs(ErrAlgorithm), msg: "HMAC"},
		{name: "symmetric key with es256", jws: forge(t, hdr("ES256", json.RawMessage(`{"kty":"oct","k":"c2VjcmV0"}`)), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: `("k")`},
		{name: "p384 key", jws: forge(t, hdr("ES256", jwkJSON(t, testKey(t, "p384").Public())), payload, "ES256", devKey, nil), want: errs(ErrAlgorithm), msg: "P-384"},
		{name: "rsa 1024", jws: forge(t, hdr("RS256", jwkJSON(t, testKey(t, "rsa1024").Public())), payload, "RS256", testKey(t, "rsa1024"), nil), want: errs(ErrWeakKey), msg: "1024"},
		{name: "ed25519", jws: forge(t, hdr("EdDSA", jwkJSON(t, testKey(t, "ed25519").Public())), payload, "none", nil, nil), want: errs(ErrAlgorithm)},
		{name: "rsa key with es256", jws: forge(t, hdr("ES256", jwkJSON(t, rsaKey.Public())), payload, "ES256", devKey, nil), want: errs(ErrAlgorithm), msg: "ES256 needs an ECDSA P-256 key"},
		{name: "ec key with rs256", jws: forge(t, hdr("RS256", pub), payload, "RS256", rsaKey, nil), want: errs(ErrAlgorithm), msg: "RS256 needs an RSA key"},
		{name: "alg none", jws: forge(t, hdr("none", pub), payload, "none", nil, nil), want: errs(ErrAlgorithm)},
		{name: "point off the curve", jws: forge(t, hdr("ES256", mustJSON(t, offCurve)), payload, "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "jwk not an object", jws: forge(t, hdr("ES256", json.RawMessage(`"key"`)), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "not a JSON object"},
		{name: "jwk null", jws: forge(t, hdr("ES256", json.RawMessage(`null`)), payload, "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "jwk and x5c", jws: forge(t, string(mustJSON(t, map[string]any{"alg": "ES256", "jwk": pub, "x5c": x5cHeader("", leaf)["x5c"]})), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "both"},
		{name: "x5c only", jws: forge(t, string(mustJSON(t, x5cHeader("ES256", leaf))), payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "no jwk"},
		{name: "no key", jws: forge(t, `{"alg":"ES256"}`, payload, "ES256", devKey, nil), want: errs(ErrMalformed), msg: "no jwk"},
		{name: "signed by another key", jws: forge(t, hdr("ES256", pub), payload, "ES256", otherKey, nil), want: errs(ErrBadSignature)},
		{name: "payload changed", jws: parts[0] + "." + b64url([]byte(`{"token":"x"}`)) + "." + parts[2], want: errs(ErrBadSignature)},
		{name: "payload an array", jws: forge(t, hdr("ES256", pub), []byte(`[1]`), "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "app a number", jws: forge(t, hdr("ES256", pub), []byte(`{"app":1}`), "ES256", devKey, nil), want: errs(ErrMalformed)},
		{name: "too large", jws: valid + strings.Repeat("A", MaxJWSSize), want: errs(ErrTooLarge)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, key, err := VerifyJWK(tt.jws)
			checkErr(t, err, tt.want, tt.msg)
			if err != nil {
				if p != nil || key != nil {
					t.Error("a refusal returned a payload or a key")
				}
				return
			}
			if d := cmp.Diff(testPayload, *p); d != "" {
				t.Errorf("payload (-want +got):\n%s", d)
			}
			if !SamePublicKey(key, tt.wantKey) {
				t.Error("the key returned is not the signer's")
			}
		})
	}
}

func TestSign(t *testing.T) {
	t.Parallel()
	leaf := issueFor(t, testCA(t), testKey(t, "p256"), time.Now(), nil)
	tests := []struct {
		name string
		key  crypto.Signer
		msg  string
	}{
		{"p384", testKey(t, "p384"), "P-256"},
		{"ed25519", testKey(t, "ed25519"), "ECDSA P-256 or RSA"},
	}
	for _, tt := range tests {
		_, err := SignJWK(tt.key, testPayload)
		checkErr(t, err, errs(ErrAlgorithm), tt.msg)
		_, err = SignX5C(tt.key, []*x509.Certificate{leaf}, testPayload)
		checkErr(t, err, errs(ErrAlgorithm), tt.msg)
	}
	// The header SignJWK writes carries the public key only.
	s := mustSignJWK(t, testKey(t, "p256"))
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[0])
	if strings.Contains(string(h), `"d"`) || !strings.Contains(string(h), `"jwk"`) {
		t.Errorf("header %s", h)
	}
}
