package bridge_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/sdk-wasm/go/examples/cfsslbridge/bridge"
	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

// The tests here run the bridge natively against a stand-in for CFSSL's API, to pin down its
// handling of every kind of answer; sdk-wasm/sdktest runs the wasm module against a real
// `cfssl serve`.

type ca struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM string
}

func newCA(t testing.TB, cn string, isCA bool) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, IsCA: isCA, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key, certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// sign issues a certificate for pub, as CFSSL would.
func (c *ca) sign(t testing.TB, subject pkix.Name, pub any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: time.Now().Add(-5 * time.Minute), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, pub, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func envelope(certDER []byte) []byte {
	b, _ := json.Marshal(map[string]any{"success": true, "errors": []any{}, "messages": []any{},
		"result": map[string]string{"certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}))}})
	return b
}

func TestNewRefusesBadSettings(t *testing.T) {
	leaf := newCA(t, "leaf", false)
	for _, tc := range []struct {
		name     string
		settings map[string]string
		err      string
	}{
		{"no URL", map[string]string{}, "cfssl-url: required"},
		{"not http", map[string]string{"cfssl-url": "ftp://127.0.0.1:21"}, "is not an http or https URL"},
		{"no host", map[string]string{"cfssl-url": "http:///api"}, "has no host"},
		{"credentials", map[string]string{"cfssl-url": "http://u:p@127.0.0.1:8888"}, "carries credentials"},
		{"query", map[string]string{"cfssl-url": "http://127.0.0.1:8888/?x=1"}, "query or fragment"},
		{"bad CA", map[string]string{"cfssl-url": "http://127.0.0.1:8888", "ca-cert": "nope"}, "ca-cert: no PEM CERTIFICATE block"},
		{"CA not a CA", map[string]string{"cfssl-url": "http://127.0.0.1:8888", "ca-cert": leaf.certPEM}, "is not a CA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bridge.New(tc.settings, nil)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

// fakeCFSSL answers the bridge's requests and records them.
type fakeCFSSL struct {
	requests []realmgate.HTTPRequest
	answer   func(req realmgate.HTTPRequest) (*realmgate.HTTPResponse, error)
}

func (f *fakeCFSSL) do(req realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
	f.requests = append(f.requests, req)
	return f.answer(req)
}

func csrFor(t *testing.T, subject pkix.Name) (string, *x509.CertificateRequest) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := x509.ParseCertificateRequest(der)
	return base64.StdEncoding.EncodeToString(der), csr
}

func TestGenerateCertificate(t *testing.T) {
	issuer, other := newCA(t, "CFSSL CA", true), newCA(t, "CFSSL CA", true)
	alice := realmgate.UserIdentity{UserName: "alice"}
	csrObj, csr := csrFor(t, pkix.Name{CommonName: "alice", Organization: []string{"Example"}})
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	tests := []struct {
		name     string
		settings map[string]string // besides cfssl-url
		answer   func(req realmgate.HTTPRequest) (*realmgate.HTTPResponse, error)
		err      string // "" for success
		calls    []string
	}{
		{name: "signed, CA from the setting",
			settings: map[string]string{"ca-cert": issuer.certPEM, "profile": "client"},
			answer: func(realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
				return &realmgate.HTTPResponse{Status: 200, Body: envelope(issuer.sign(t, csr.Subject, csr.PublicKey))}, nil
			},
			calls: []string{"http://cfssl.test:8888/base/api/v1/cfssl/sign"}},
		{name: "signed, CA from the info endpoint",
			settings: map[string]string{},
			answer: func(req realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
				if strings.HasSuffix(req.URL, "/info") {
					return &realmgate.HTTPResponse{Status: 200, Body: envelope(issuer.cert.Raw)}, nil
				}
				return &realmgate.HTTPResponse{Status: 200, Body: envelope(issuer.sign(t, csr.Subject, csr.PublicKey))}, nil
			},
			calls: []string{"http://cfssl.test:8888/base/api/v1/cfssl/sign", "http://cfssl.test:8888/base/api/v1/cfssl/info"}},
		{name: "refused",
			settings: map[string]string{"ca-cert": issuer.certPEM},
			answer: func(realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
				return &realmgate.HTTPResponse{Status: 400, Body: []byte(`{"success":false,"result":null,"errors":[{"code":5200,"message":"Invalid or unknown policy"}],"messages":[]}`)}, nil
			},
			err:   "CFSSL at http://cfssl.test:8888/base/api/v1/cfssl/sign: CFSSL refused the request (HTTP status 400): 5200 Invalid or unknown policy",
			calls: []string{"http://cfssl.test:8888/base/api/v1/cfssl/sign"}},
		{name: "host refuses the request",
			settings: map[string]string{"ca-cert": issuer.certPEM},
			answer: func(realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
				return nil, errors.New("realmgate: http: cfssl.test:8888 is not on the adapter's allow-list")
			},
			err:   "CFSSL at http://cfssl.test:8888/base/api/v1/cfssl/sign: realmgate: http: cfssl.test:8888 is not on the adapter's allow-list",
			calls: []string{"http://cfssl.test:8888/base/api/v1/cfssl/sign"}},
		{name: "certificate for another key",
			settings: map[string]string{"ca-cert": issuer.certPEM},
			answer: func(realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
				return &realmgate.HTTPResponse{Status: 200, Body: envelope(issuer.sign(t, csr.Subject, otherKey.Public()))}, nil
			},
			err:   "CFSSL returned a certificate for another key than the CSR's",
			calls: []string{"http://cfssl.test:8888/base/api/v1/cfssl/sign"}},
		{name: "certificate of another CA",
			settings: map[string]string{"ca-cert": issuer.certPEM},
			answer: func(realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
				return &realmgate.HTTPResponse{Status: 200, Body: envelope(other.sign(t, csr.Subject, csr.PublicKey))}, nil
			},
			err:   `CFSSL returned a certificate that the CA "CN=CFSSL CA" did not sign`,
			calls: []string{"http://cfssl.test:8888/base/api/v1/cfssl/sign"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settings := map[string]string{"cfssl-url": "http://cfssl.test:8888/base/"}
			for k, v := range tt.settings {
				settings[k] = v
			}
			f := &fakeCFSSL{answer: tt.answer}
			b, err := bridge.New(settings, f.do)
			if err != nil {
				t.Fatal(err)
			}
			g, err := b.GenerateCertificate(realmgate.CSRInput{CSR: csrObj, UserIdentity: alice})
			var urls []string
			for _, r := range f.requests {
				urls = append(urls, r.URL)
			}
			if d := cmp.Diff(tt.calls, urls); d != "" {
				t.Errorf("requests (-want +got):\n%s", d)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("GenerateCertificate: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			der, _ := base64.StdEncoding.DecodeString(g.CertificateBase64)
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignatureFrom(issuer.cert); err != nil {
				t.Error(err)
			}
			var sent struct {
				CertificateRequest string `json:"certificate_request"`
				Profile            string `json:"profile"`
			}
			if err := json.Unmarshal(f.requests[0].Body, &sent); err != nil {
				t.Fatalf("sign request body %q: %v", f.requests[0].Body, err)
			}
			block, _ := pem.Decode([]byte(sent.CertificateRequest))
			if block == nil || block.Type != "CERTIFICATE REQUEST" || string(block.Bytes) != string(csr.Raw) {
				t.Errorf("certificate_request %q is not the CSR in PEM", sent.CertificateRequest)
			}
			if sent.Profile != settings["profile"] {
				t.Errorf("profile %q, want %q", sent.Profile, settings["profile"])
			}
			if ct := f.requests[0].Headers["Content-Type"]; ct != "application/json" || f.requests[0].Method != "POST" {
				t.Errorf("request %s with Content-Type %q, want a JSON POST", f.requests[0].Method, ct)
			}
		})
	}

	t.Run("CSR for another user", func(t *testing.T) {
		f := &fakeCFSSL{answer: func(realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
			return nil, errors.New("must not be asked")
		}}
		b, _ := bridge.New(map[string]string{"cfssl-url": "http://cfssl.test:8888"}, f.do)
		bob, _ := csrFor(t, pkix.Name{CommonName: "bob"})
		if _, err := b.GenerateCertificate(realmgate.CSRInput{CSR: bob, UserIdentity: alice}); err == nil || !strings.Contains(err.Error(), `not for the user "alice"`) {
			t.Errorf("GenerateCertificate: %v, want a refusal naming the user", err)
		}
		if len(f.requests) != 0 {
			t.Errorf("CFSSL was asked to sign a CSR for another user")
		}
	})
}

func TestValidateCertificate(t *testing.T) {
	issuer, namesake := newCA(t, "CFSSL CA", true), newCA(t, "CFSSL CA", true)
	f := &fakeCFSSL{answer: func(realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
		return &realmgate.HTTPResponse{Status: 200, Body: envelope(issuer.cert.Raw)}, nil
	}}
	b, err := bridge.New(map[string]string{"cfssl-url": "http://cfssl.test:8888"}, f.do)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	alice := pkix.Name{CommonName: "alice"}
	for _, tc := range []struct {
		name, base64, want string
	}{
		{"issued by the CA", base64.StdEncoding.EncodeToString(issuer.sign(t, alice, key.Public())), realmgate.Yes},
		{"issued by a namesake CA", base64.StdEncoding.EncodeToString(namesake.sign(t, alice, key.Public())), realmgate.No},
		{"not base64", "!!", realmgate.No},
		{"not a certificate", "AAAA", realmgate.No},
	} {
		v, err := b.ValidateCertificate(realmgate.CertificateInput{Certificate: realmgate.Certificate{Base64: tc.base64}})
		if err != nil || v.Valid != tc.want {
			t.Errorf("ValidateCertificate(%s) = %v, %v; want %s", tc.name, v, err, tc.want)
		}
	}
	if len(f.requests) != 1 {
		t.Errorf("%d requests to CFSSL, want the CA asked for once", len(f.requests))
	}
}

func TestValidateCSR(t *testing.T) {
	b, _ := bridge.New(map[string]string{"cfssl-url": "http://cfssl.test:8888"}, nil)
	good, _ := csrFor(t, pkix.Name{CommonName: "alice"})
	for _, tc := range []struct {
		name string
		csr  string
		user string
		want string
	}{
		{"matching CN", good, "alice", realmgate.Yes},
		{"other user", good, "bob", realmgate.No},
		{"no user", good, "", realmgate.No},
		{"garbage", "AAAA", "alice", realmgate.No},
	} {
		v, _ := b.ValidateCSR(realmgate.CSRInput{CSR: tc.csr, UserIdentity: realmgate.UserIdentity{UserName: tc.user}})
		if v.Valid != tc.want {
			t.Errorf("ValidateCSR(%s) = %s, want %s", tc.name, v.Valid, tc.want)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	issuer := newCA(t, "CFSSL CA", true)
	tests := []struct {
		name    string
		status  int
		body    string
		err     string // "" for success
		refused bool
	}{
		{"success", 200, string(envelope(issuer.cert.Raw)), "", false},
		{"refused", 400, `{"success":false,"result":null,"errors":[{"code":9002,"message":"CSR Decode failed"}],"messages":[]}`,
			"CFSSL refused the request (HTTP status 400): 9002 CSR Decode failed", true},
		{"refused without reason", 200, `{"success":false}`, "(HTTP status 200): no reason given", true},
		{"success with an error status", 500, string(envelope(issuer.cert.Raw)), "(HTTP status 500)", true},
		{"control characters in the reason", 400, `{"success":false,"errors":[{"code":1,"message":"a\nb\u001b[31m"}]}`, "1 a?b?[31m", true},
		{"long reason", 400, `{"success":false,"errors":[{"code":1,"message":"` + strings.Repeat("é", 300) + `"}]}`, strings.Repeat("é", 100) + "...", true},
		{"not JSON, error status", 502, "<html>bad gateway</html>", `HTTP status 502, and the body is not CFSSL's JSON: "<html>bad gateway</html>"`, false},
		{"not JSON", 200, "hello", "the answer is not CFSSL's JSON", false},
		{"no certificate", 200, `{"success":true,"result":{}}`, "no result.certificate", false},
		{"no result", 200, `{"success":true}`, "no result.certificate", false},
		{"not PEM", 200, `{"success":true,"result":{"certificate":"MIIB"}}`, "not a PEM CERTIFICATE", false},
		{"PEM of a key", 200, `{"success":true,"result":{"certificate":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}}`, "not a PEM CERTIFICATE", false},
		{"PEM garbage", 200, `{"success":true,"result":{"certificate":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}}`, "result.certificate: x509:", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := bridge.DecodeResponse(tt.status, []byte(tt.body))
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !cert.Equal(issuer.cert) {
					t.Errorf("decoded %q, want the CA certificate", cert.Subject)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("DecodeResponse: %v, want an error containing %q", err, tt.err)
			}
			if got := errors.Is(err, bridge.ErrRefused); got != tt.refused {
				t.Errorf("errors.Is(err, ErrRefused) = %v, want %v", got, tt.refused)
			}
		})
	}
}

// FuzzDecodeResponse holds the CFSSL answer parser to its contract on any status and body: no
// panic; a certificate or an error, never both or neither; an error text bounded and free of
// control characters (it reaches the caller and the log).
func FuzzDecodeResponse(f *testing.F) {
	issuer := newCA(f, "CFSSL CA", true)
	f.Add(200, envelope(issuer.cert.Raw))
	f.Add(400, []byte(`{"success":false,"result":null,"errors":[{"code":9002,"message":"CSR Decode failed"}],"messages":[]}`))
	f.Add(200, []byte(`{"success":true,"result":{"certificate":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}}`))
	f.Add(502, []byte("<html>\x00\xff</html>"))
	f.Add(200, []byte(`{"success":true,"result":null,"errors":null}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		cert, err := bridge.DecodeResponse(status, body)
		if (cert == nil) == (err == nil) {
			t.Fatalf("DecodeResponse(%d, %q) = %v, %v: want exactly one of a certificate and an error", status, body, cert, err)
		}
		if err == nil {
			if status/100 != 2 {
				t.Fatalf("DecodeResponse accepted HTTP status %d", status)
			}
			return
		}
		msg := err.Error()
		if !utf8.ValidString(msg) || strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 && r != '\n' }) {
			t.Fatalf("error %q is not printable UTF-8", msg)
		}
		// One printable reason per error entry; the envelope itself is bounded by the host's
		// MaxHTTPBody, so bound the text per entry.
		if limit := 400 + len(body)*2; len(msg) > limit {
			t.Fatalf("error of %d bytes for a body of %d", len(msg), len(body))
		}
	})
}

// FuzzNew holds the settings parser to its contract: no panic, and an accepted cfssl-url is an
// http(s) base URL the bridge can append its API paths to.
func FuzzNew(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8888", "https://ca.example:443/cfssl/", "http://u@h:1", "http://h:1/?q", "http:///x", "//h", "http://[::1]:1", "http://h:1/%2F"} {
		f.Add(s, "client")
	}
	f.Fuzz(func(t *testing.T, rawURL, profile string) {
		var got []string
		b, err := bridge.New(map[string]string{"cfssl-url": rawURL, "profile": profile}, func(req realmgate.HTTPRequest) (*realmgate.HTTPResponse, error) {
			got = append(got, req.URL)
			return nil, errors.New("offline")
		})
		if err != nil {
			return
		}
		_, _ = b.ValidateCertificate(realmgate.CertificateInput{})
		if len(got) != 1 {
			t.Fatalf("%d requests, want 1", len(got))
		}
		u, err := url.Parse(got[0])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || !strings.HasSuffix(u.Path, "/api/v1/cfssl/info") {
			t.Fatalf("cfssl-url %q gave the request URL %q (%v)", rawURL, got[0], err)
		}
	})
}

func ExampleDecodeResponse() {
	_, err := bridge.DecodeResponse(400, []byte(`{"success":false,"errors":[{"code":9002,"message":"CSR Decode failed"}]}`))
	fmt.Println(err)
	// Output: CFSSL refused the request (HTTP status 400): 9002 CSR Decode failed
}
