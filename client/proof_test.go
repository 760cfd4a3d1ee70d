package client_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/pki"
)

// TestReprovisioningSignsProof: a client that provisions a new key while it holds an unexpired
// certificate for the entity proves, with that certificate's key, that the device hands its id
// over to the new key (PROTOCOL.md section 5); without one it sends no proof.
func TestReprovisioningSignsProof(t *testing.T) {
	t.Parallel()
	const realm = client.RealmDeviceAutoProvisioning
	tests := []struct {
		name   string
		stored func(t *testing.T) *client.Credential
		// storedReply answers the stored certificate's payload.
		storedReply func(w http.ResponseWriter)
		wantProof   bool
	}{
		{name: "certificate no longer accepted", stored: validCredential, wantProof: true, storedReply: func(w http.ResponseWriter) {
			reply(w, http.StatusUnauthorized, `{"challenges":{"`+realm+`":{"token":"n2","entity":"device","enroll":true,"error":"no longer accepted"}}}`)
		}},
		{name: "certificate refused for the session", stored: validCredential, wantProof: true, storedReply: func(w http.ResponseWriter) {
			reply(w, http.StatusForbidden, `{"error":"realm_refused","message":"no"}`)
		}},
		{name: "no certificate", wantProof: false},
		{name: "expired certificate", stored: expiredCredential, wantProof: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu  sync.Mutex
				csr map[string]string
			)
			srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if !strings.HasPrefix(r.URL.Path, "/api/v1/auth/") {
					reply(w, http.StatusUnauthorized, `{"challenges":{"`+realm+`":{"token":"n1","entity":"device"}}}`)
					return
				}
				var body map[string]string
				json.NewDecoder(r.Body).Decode(&body)
				if body["csr"] == "" {
					tt.storedReply(w)
					return
				}
				mu.Lock()
				csr = body
				mu.Unlock()
				reply(w, http.StatusForbidden, `{"error":"device_proof_required","message":"stop here"}`)
			})
			var ks client.MemoryKeystore
			var old *client.Credential
			if tt.stored != nil {
				old = tt.stored(t)
				if err := ks.Store("device", old); err != nil {
					t.Fatal(err)
				}
			}
			c := newClient(t, srv.URL, func(cfg *client.Config) { cfg.Keystore = &ks })
			_, err := c.InvokeProcedure(context.Background(), "acct", "p")
			if !errors.Is(err, client.ErrDeviceProofRequired) || !errors.Is(err, client.ErrProvisioningRefused) {
				t.Errorf("error %v, want ErrDeviceProofRequired and ErrProvisioningRefused", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if csr == nil {
				t.Fatal("no CSR was sent")
			}
			proof, sent := csr["proof"]
			if sent != tt.wantProof {
				t.Fatalf("proof sent: %v, want %v (answer %v)", sent, tt.wantProof, csr)
			}
			if !sent {
				return
			}
			roots := x509.NewCertPool()
			roots.AddCert(old.Leaf())
			claims, _, err := pki.VerifyX5C(proof, roots, time.Now())
			if err != nil {
				t.Fatalf("the proof does not verify with the stored certificate: %v", err)
			}
			payload, key, err := pki.VerifyJWK(csr["payload"])
			if err != nil {
				t.Fatal(err)
			}
			der, _ := base64.StdEncoding.DecodeString(csr["csr"])
			req, err := x509.ParseCertificateRequest(der)
			if err != nil || !pki.SamePublicKey(req.PublicKey, key) {
				t.Fatalf("the payload is not signed by the CSR's key: %v", err)
			}
			tp, _ := (&jose.JSONWebKey{Key: req.PublicKey}).Thumbprint(crypto.SHA256)
			want := *payload
			want.NewKey = base64.RawURLEncoding.EncodeToString(tp)
			if d := cmp.Diff(want, *claims); d != "" {
				t.Errorf("proof claims (-want +got):\n%s", d)
			}
		})
	}
}
