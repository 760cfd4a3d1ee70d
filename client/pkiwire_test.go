package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

func TestParseProvisioningChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		wantEntity string
		wantEnroll bool
		wantErr    error
	}{
		{in: `{"token":"n1","entity":"application"}`, wantEntity: "application:BankApp"},
		{in: `{"token":"n1","entity":"device"}`, wantEntity: "device"},
		{in: `{"token":"n1","entity":"device","enroll":true,"error":"revoked"}`, wantEntity: "device", wantEnroll: true},
		{in: `{"token":"n1","entity":"device","enroll":1}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n1","entity":"group:bank","error":"x","remainingAttempts":2}`, wantEntity: "group:bank"},
		{in: `{"token":"n1","entity":"group:"}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n1","entity":"group:a\nb"}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n1"}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n1","entity":"user"}`, wantErr: ErrUnsupportedChallenge},
		{in: `{"token":"","entity":"device"}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"a b","entity":"device"}`, wantErr: ErrMalformedResponse},
		{in: `{"token":1,"entity":"device"}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"` + strings.Repeat("n", 1025) + `","entity":"device"}`, wantErr: ErrMalformedResponse},
	}
	for _, tt := range tests {
		got, err := parseProvisioningChallenge([]byte(tt.in), "BankApp")
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: error %v, want %v", tt.in, err, tt.wantErr)
			}
			continue
		}
		want := &provisioningChallenge{Token: "n1", Entity: tt.wantEntity, Enroll: tt.wantEnroll}
		if diff := cmp.Diff(want, got); err != nil || diff != "" {
			t.Errorf("%s: %v (-want +got):\n%s", tt.in, err, diff)
		}
	}
}

func TestParseUserCertChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    *userCertChallenge
		wantErr error
	}{
		{in: `{"token":"n","dependentRealm":"LoginRealm"}`, want: &userCertChallenge{Token: "n", DependentRealm: "LoginRealm"}},
		{in: `{"token":"n","dependentRealm":"LoginRealm","enroll":true,"error":"revoked"}`, want: &userCertChallenge{Token: "n", DependentRealm: "LoginRealm", Enroll: true}},
		{
			in: `{"token":"n","csrRequirements":{"commonName":"alice","additionalSubject":{"O":"IBM","OU":"Mobile"},"additionalAttributes":{"challengePassword":"p"}}}`,
			want: &userCertChallenge{Token: "n", Requirements: &csrRequirements{CommonName: "alice", AdditionalSubject: map[string]string{"O": "IBM", "OU": "Mobile"},
				AdditionalAttributes: map[string]string{"challengePassword": "p"}}},
		},
		{in: `{"token":"n","csrRequirements":{"additionalSubject":{"O":"Example"}}}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n","csrRequirements":{"commonName":"a","additionalSubject":"O=Example"}}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n","csrRequirements":{"commonName":"a","additionalSubject":{"O":1}}}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n","csrRequirements":{"commonName":"a\u0000"}}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n","csrRequirements":{"commonName":"a","additionalAttributes":{"x":1}}}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n","csrRequirements":"CN=a"}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n","dependentRealm":"../admin"}`, wantErr: ErrMalformedResponse},
		{in: `{"token":"n","enroll":"yes"}`, wantErr: ErrMalformedResponse},
		{in: `{"dependentRealm":"LoginRealm"}`, wantErr: ErrMalformedResponse},
	}
	for _, tt := range tests {
		got, err := parseUserCertChallenge([]byte(tt.in))
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: error %v, want %v", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseIssuedReply(t *testing.T) {
	t.Parallel()
	leaf := testCredential(t, "leaf", time.Hour).Chain[0]
	ca := testCredential(t, "ca", time.Hour).Chain[0]
	cert := base64.StdEncoding.EncodeToString(leaf.Raw)
	caB64 := base64.StdEncoding.EncodeToString(ca.Raw)
	body := func(m map[string]any) string { b, _ := json.Marshal(m); return string(b) }
	tests := []struct {
		name      string
		in        string
		wantCerts int
		wantErr   bool
	}{
		{"provisioned", body(map[string]any{"realm": "r", "status": "provisioned", "certificate": cert, "chain": []string{caB64}, "token": "t"}), 2, false},
		{"enrolled without chain", body(map[string]any{"status": "enrolled", "certificate": cert, "token": "t"}), 1, false},
		{"no token", body(map[string]any{"certificate": cert}), 0, true},
		{"no certificate", body(map[string]any{"token": "t"}), 0, true},
		{"not base64", body(map[string]any{"certificate": "!!", "token": "t"}), 0, true},
		{"url base64", body(map[string]any{"certificate": base64.RawURLEncoding.EncodeToString(leaf.Raw), "token": "t"}), 0, true},
		{"not a certificate", body(map[string]any{"certificate": "AAAA", "token": "t"}), 0, true},
		{"chain entry bad", body(map[string]any{"certificate": cert, "chain": []string{"AAAA"}, "token": "t"}), 0, true},
		{"chain too long", body(map[string]any{"certificate": cert, "chain": []string{caB64, caB64, caB64, caB64, caB64}, "token": "t"}), 0, true},
		{"certificate too large", body(map[string]any{"certificate": strings.Repeat("A", 4*maxCertBytes/3+8), "token": "t"}), 0, true},
		{"chain not a list", body(map[string]any{"certificate": cert, "chain": caB64, "token": "t"}), 0, true},
	}
	for _, tt := range tests {
		got, err := parseIssuedReply([]byte(tt.in))
		if tt.wantErr {
			if !errors.Is(err, ErrMalformedResponse) {
				t.Errorf("%s: error %v, want ErrMalformedResponse", tt.name, err)
			}
			continue
		}
		if err != nil || len(got.Chain) != tt.wantCerts || got.Token != "t" || !got.Chain[0].Equal(leaf) {
			t.Errorf("%s: %+v, %v", tt.name, got, err)
		}
	}
}

// FuzzPKIReplies runs every parser of the certificate realms' challenges and replies, and of
// stored credentials, on the same bytes: none may panic, every error is typed, and what they
// accept keeps their bounds.
func FuzzPKIReplies(f *testing.F) {
	leaf := testCredential(f, "leaf", time.Hour)
	stored, _ := encodeCredential("device", leaf)
	cert := base64.StdEncoding.EncodeToString(leaf.Chain[0].Raw)
	for _, s := range []string{
		`{"token":"n1","entity":"application"}`,
		`{"token":"n1","entity":"group:bank"}`,
		`{"token":"n","dependentRealm":"LoginRealm","enroll":true}`,
		`{"token":"n","csrRequirements":{"commonName":"alice","additionalSubject":{"O":"Example","OU":"Mobile"},"additionalAttributes":{"challengePassword":"p"}}}`,
		`{"realm":"r","status":"provisioned","certificate":"` + cert + `","chain":["` + cert + `"],"token":"t"}`,
		`{"status":"enrolled","certificate":"` + cert + `","token":"t"}`,
		string(stored),
		`null`, `[]`, `{"token":null}`, `{"csrRequirements":null,"token":"x"}`,
	} {
		f.Add([]byte(s))
	}
	typed := func(t *testing.T, err error) {
		t.Helper()
		if err != nil && !errors.Is(err, ErrMalformedResponse) && !errors.Is(err, ErrUnsupportedChallenge) {
			t.Fatalf("untyped error %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if tok, err := parseTokenChallenge(b); err == nil && !validToken(tok) {
			t.Fatalf("token %q accepted", tok)
		} else {
			typed(t, err)
		}
		if p, err := parseProvisioningChallenge(b, "app"); err == nil {
			if !validToken(p.Token) || checkEntity(p.Entity) != nil {
				t.Fatalf("accepted %+v", p)
			}
		} else {
			typed(t, err)
		}
		if ch, err := parseUserCertChallenge(b); err == nil {
			if !validToken(ch.Token) {
				t.Fatalf("token %q accepted", ch.Token)
			}
			if r := ch.Requirements; r != nil {
				if r.CommonName == "" || len(r.AdditionalSubject) > rfc4514.MaxAttributes || len(r.AdditionalAttributes) > maxCSRAttributes {
					t.Fatalf("requirements %+v accepted", r)
				}
				// Building the subject and attributes fails cleanly or gives a CSR.
				if seq, err := subjectFor(*r); err == nil {
					if attrs, err := csrAttributes(r.AdditionalAttributes); err == nil {
						if _, err := buildCSR(fuzzKey(), seq, attrs); err != nil && strings.Contains(err.Error(), "signing") {
							t.Fatal(err)
						}
					} else {
						typed(t, err)
					}
				} else {
					typed(t, err)
				}
			}
		} else {
			typed(t, err)
		}
		if r, err := parseIssuedReply(b); err == nil {
			if !validToken(r.Token) || len(r.Chain) == 0 || len(r.Chain) > maxChainCerts {
				t.Fatalf("reply %+v accepted", r)
			}
		} else {
			typed(t, err)
		}
		if c, err := decodeCredential("device", b); err == nil {
			if checkCredential(c) != nil {
				t.Fatal("an unusable credential decoded")
			}
		} else if !errors.Is(err, ErrKeystoreDamaged) {
			t.Fatalf("credential error %v is not ErrKeystoreDamaged", err)
		}
	})
}
