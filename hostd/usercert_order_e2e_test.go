package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
)

// TestUserCertificateDependentRealmInEitherOrder checks PROTOCOL.md section 7 step 3: the
// user-certificate realm's challenge names its dependent realm, and a client may answer that
// realm before it sends {"enroll": true} as well as after {"enroll": true} challenged it. Both
// orders lead to the enrollment challenge, a certificate and a sign-in.
func TestUserCertificateDependentRealmInEitherOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge")
	}
	l := newPKILab(t)
	d := l.start(t)
	for _, realm := range []struct{ name, env string }{
		{"wl_userCertificateAuthRealm", "android"}, // embedded PKI
		{"BridgeCertRealm", "iphone"},              // adapter-based PKI
	} {
		for _, order := range []string{"enroll first", "dependent realm first"} {
			t.Run(realm.name+"/"+order, func(t *testing.T) {
				s := newSession(t, d, "Plain", realm.env)
				st, body := s.init()
				dep, _ := challengeOf(t, st, body, realm.name)["dependentRealm"].(string)
				if dep != "Login" {
					t.Fatalf("challenge %v names dependent realm %q, want Login", body, dep)
				}
				if order == "enroll first" {
					st, body := s.answer(realm.name, map[string]any{"enroll": true})
					challengeOf(t, st, body, dep)
				}
				if st, body := s.answer(dep, map[string]any{"username": "alice", "password": "x"}); st != 200 || body["status"] != "success" {
					t.Fatalf("answering %s (%s): %d %v, want 200 success", dep, order, st, body)
				}
				st, body = s.answer(realm.name, map[string]any{"enroll": true})
				req, _ := challengeOf(t, st, body, realm.name)["csrRequirements"].(map[string]any)
				if req["commonName"] != "alice" {
					t.Fatalf("enrollment challenge %v, want csrRequirements for alice", body)
				}
				key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				subject := pkix.Name{CommonName: "alice"}
				if realm.name == "BridgeCertRealm" {
					subject.Organization = []string{"Example Bank"}
				}
				st, body = s.answer(realm.name, map[string]any{"csr": csrFor(t, key, subject)})
				if st != 200 || body["status"] != "enrolled" {
					t.Fatalf("CSR: %d %v, want 200 enrolled", st, body)
				}
				cert, err := x509.ParseCertificate(mustB64(body["certificate"].(string)))
				if err != nil {
					t.Fatal(err)
				}
				if st, body := certSignIn(t, s, realm.name, key, cert, body["token"].(string)); st != 200 {
					t.Fatalf("sign-in: %d %v", st, body)
				}
				// With the realm passed, its dependent realm has no pending challenge any more.
				if st, body := s.answer(dep, map[string]any{"username": "alice", "password": "x"}); st != 409 {
					t.Errorf("answering %s after the realm passed: %d %v, want 409", dep, st, body)
				}
			})
		}
	}
	// A realm that is no user-certificate realm's dependent realm is still refused without a
	// challenge, pending user-certificate challenge or not.
	s := newSession(t, d, "Plain", "android")
	s.init()
	if st, body := s.answer("BridgeCertRealm", map[string]any{"enroll": true}); st != 409 {
		t.Errorf("answering a realm of another test: %d %v, want 409", st, body)
	}
}
