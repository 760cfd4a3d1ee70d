package sdk

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/plugins/internal/pluginpb"
	"github.com/realmgate/realmgate/plugins/internal/wire"
)

// started returns a server over procs that has received its Start call, and the buffer its
// process log writes to.
func started(t *testing.T, procs Procedures) (*server, *bytes.Buffer) {
	t.Helper()
	var stderr bytes.Buffer
	s, err := newServer(procs, newProcessLogger(&stderr))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Start(t.Context(), &pluginpb.StartRequest{Adapter: "a", Settings: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := slices.Sorted(maps.Keys(procs)); !slices.Equal(resp.Procedures, want) {
		t.Fatalf("Start listed %q, want %q", resp.Procedures, want)
	}
	return s, &stderr
}

func doCall(t *testing.T, s *server, procedure, input string) *pluginpb.CallResponse {
	t.Helper()
	resp, err := s.Call(t.Context(), &pluginpb.CallRequest{Procedure: procedure, Input: []byte(input)})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestCall(t *testing.T) {
	long := strings.Repeat("é", wire.MaxMessage) // 2 bytes a rune: cut on a rune boundary
	s, _ := started(t, Procedures{
		"echo":   func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil },
		"nil":    func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil },
		"fail":   func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, Failf("no %s", "way") },
		"plain":  func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, errors.New("plain error") },
		"bad":    func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, BadInput("wrong shape") },
		"claim":  func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, adapters.ErrTimeout },
		"long":   func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, Fail(long) },
		"binary": func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, Fail("bad \xff byte") },
		"panic":  func(context.Context, json.RawMessage) (json.RawMessage, error) { panic("boom") },
		"config": JSON(func(ctx context.Context, _ struct{}) (map[string]string, error) {
			c := Config(ctx)
			c["mutated"] = "yes" // a copy: the next call does not see it
			return Config(ctx), nil
		}),
		"typed": JSON(func(_ context.Context, in struct{ N int }) (int, error) { return in.N * 2, nil }),
	})
	tests := []struct {
		procedure, input string
		want             *pluginpb.CallResponse
	}{
		{"echo", `{"a":1}`, &pluginpb.CallResponse{Output: []byte(`{"a":1}`)}},
		{"nil", `{}`, &pluginpb.CallResponse{Output: []byte(`null`)}},
		{"config", `{}`, &pluginpb.CallResponse{Output: []byte(`{"adapter":"a","k":"v"}`)}},
		{"typed", `{"N":21}`, &pluginpb.CallResponse{Output: []byte(`42`)}},
		{"typed", `"x"`, &pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_bad_input",
			Message: "input does not decode as struct { N int }: " + libraryError(`"x"`, &struct{ N int }{})}}},
		{"fail", `{}`, &pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_failure", Message: "no way"}}},
		{"plain", `{}`, &pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_failure", Message: "plain error"}}},
		{"bad", `{}`, &pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_bad_input", Message: "wrong shape"}}},
		{"claim", `{}`, &pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_failure", Message: "adapter_timeout"}}},
		{"long", `{}`, &pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_failure", Message: long[:wire.MaxMessage]}}},
		{"binary", `{}`, &pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_failure", Message: "bad \uFFFD byte"}}},
		{"panic", `{}`, &pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_failure", Message: "procedure panic panicked"}}},
		{"nope", `{}`, &pluginpb.CallResponse{Error: &pluginpb.Error{Code: "unknown_procedure", Message: `no procedure "nope"`}}},
	}
	for _, tc := range tests {
		got := doCall(t, s, tc.procedure, tc.input)
		if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
			t.Errorf("%s(%s) (-want +got):\n%s", tc.procedure, tc.input, diff)
		}
	}
}

// libraryError is JSON v2's error for decoding in into v. Its text is the library's own: it even
// words it at random, once per process, "cannot unmarshal" or "unable to unmarshal".
func libraryError(in string, v any) string {
	return jsonv2.Unmarshal([]byte(in), v).Error()
}

func TestCallBeforeStart(t *testing.T) {
	s, err := newServer(Procedures{"echo": func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }}, processLog)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Call(t.Context(), &pluginpb.CallRequest{Procedure: "echo", Input: []byte(`1`)}); err == nil {
		t.Error("call before Start succeeded")
	}
}

func TestNewServerRefuses(t *testing.T) {
	echo := func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }
	for name, procs := range map[string]Procedures{
		"none":        {},
		"empty name":  {"": echo},
		"nil":         {"echo": nil},
		"bad unicode": {"\xff": echo},
	} {
		if _, err := newServer(procs, processLog); err == nil {
			t.Errorf("%s: newServer accepted %v", name, procs)
		}
	}
}

func TestLogger(t *testing.T) {
	late := make(chan *slog.Logger, 1)
	s, stderr := started(t, Procedures{
		"log": func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			l := Logger(ctx)
			l.Debug("debug record")
			l.With("user", "alice").WithGroup("req").Warn("warn record", "id", 7, slog.Group("g", "x", true))
			l.Error(strings.Repeat("m", wire.MaxLogRecord+10), "big", strings.Repeat("v", 100))
			late <- l
			return in, nil
		},
		"spam": func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
			for i := range wire.MaxLogRecords + 5 {
				Logger(ctx).Info("spam", "i", i)
			}
			return in, nil
		},
	})
	got := doCall(t, s, "log", `{}`)
	want := &pluginpb.CallResponse{Output: []byte(`{}`), Logs: []*pluginpb.LogRecord{
		{Level: int32(slog.LevelDebug), Message: "debug record"},
		{Level: int32(slog.LevelWarn), Message: "warn record", Attrs: []byte(`{"user":"alice","req":{"id":7,"g":{"x":true}}}`)},
		{Level: int32(slog.LevelError), Message: strings.Repeat("m", wire.MaxLogRecord-len(`{"attrs_truncated":true}`)), Attrs: []byte(`{"attrs_truncated":true}`)},
	}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}

	// A record written after the call returned goes to the process log.
	(<-late).Info("after the call", "n", 1)
	var rec map[string]any
	if err := json.Unmarshal(stderr.Bytes(), &rec); err != nil {
		t.Fatalf("process log %q: %v", stderr, err)
	}
	delete(rec, "@timestamp")
	if diff := cmp.Diff(map[string]any{"@level": "info", "@message": "after the call", "n": 1.0}, rec); diff != "" {
		t.Errorf("late record (-want +got):\n%s", diff)
	}

	spam := doCall(t, s, "spam", `{}`)
	if len(spam.Logs) != wire.MaxLogRecords || spam.DroppedLogs != 5 {
		t.Errorf("spam: %d records, %d dropped; want %d and 5", len(spam.Logs), spam.DroppedLogs, wire.MaxLogRecords)
	}
}

func TestLoggerOutsideCall(t *testing.T) {
	if Logger(context.Background()) != processLog {
		t.Error("Logger outside a call is not the process log")
	}
	if Config(context.Background()) != nil {
		t.Error("Config outside a call is not nil")
	}
}

func TestProcessLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	l := newProcessLogger(&buf)
	for _, lv := range []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn + 1, slog.LevelError + 4} {
		l.Log(context.Background(), lv, "m")
	}
	var got []string
	for line := range strings.Lines(buf.String()) {
		var rec struct {
			Level string `json:"@level"`
			Time  string `json:"@timestamp"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z07:00", rec.Time); err != nil {
			t.Errorf("timestamp %q is not hclog's: %v", rec.Time, err)
		}
		got = append(got, rec.Level)
	}
	// Below debug is not written; the rest map onto hclog's names.
	if diff := cmp.Diff([]string{"debug", "info", "warn", "error"}, got); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
}

func TestPKIBridge(t *testing.T) {
	if got := (PKIBridge{}).Procedures(); len(got) != 0 {
		t.Errorf("empty bridge exports %v", slices.Collect(maps.Keys(got)))
	}
	valid := func(v string) func(context.Context, adapters.IdentityInput) (adapters.Valid, error) {
		return func(context.Context, adapters.IdentityInput) (adapters.Valid, error) {
			return adapters.Valid{Valid: v}, nil
		}
	}
	cert := func(b64 string) func(context.Context, adapters.CSRInput) (adapters.GeneratedCertificate, error) {
		return func(context.Context, adapters.CSRInput) (adapters.GeneratedCertificate, error) {
			return adapters.GeneratedCertificate{CertificateBase64: b64}, nil
		}
	}
	der := selfSigned(t)
	tests := []struct {
		name   string
		bridge PKIBridge
		proc   string
		want   string // output, or "error: message"
	}{
		{"init", PKIBridge{Init: func(context.Context, adapters.InitInput) error { return nil }}, ProcInit, `{}`},
		{"init fails", PKIBridge{Init: func(context.Context, adapters.InitInput) error { return Fail("no realm") }}, ProcInit, "error: no realm"},
		{"verdict", PKIBridge{ValidateIdentity: valid(adapters.NoUseDependentRealmOnly)}, ProcValidateIdentity, `{"valid":"NO_USE_DEPENDENT_REALM_ONLY"}`},
		{"unknown verdict", PKIBridge{ValidateIdentity: valid("MAYBE")}, ProcValidateIdentity, `error: verdict "MAYBE" is not one of ["YES" "NO" "NO_USE_DEPENDENT_REALM_ONLY"]`},
		{"csr verdict", PKIBridge{ValidateCSR: func(context.Context, adapters.CSRInput) (adapters.Valid, error) {
			return adapters.Valid{Valid: adapters.NoUseDependentRealmOnly}, nil
		}}, ProcValidateCSR, `error: verdict "NO_USE_DEPENDENT_REALM_ONLY" is not one of ["YES" "NO"]`},
		{"no common name", PKIBridge{GetCSRRequirements: func(context.Context, adapters.IdentityInput) (adapters.CSRRequirements, error) {
			return adapters.CSRRequirements{}, nil
		}}, ProcGetCSRRequirements, "error: getCSRRequirements returned no commonName"},
		{"certificate", PKIBridge{GenerateCertificate: cert(base64.StdEncoding.EncodeToString(der))}, ProcGenerateCertificate,
			fmt.Sprintf(`{"certificateBase64":%q}`, base64.StdEncoding.EncodeToString(der))},
		{"certificate not base64", PKIBridge{GenerateCertificate: cert("@@")}, ProcGenerateCertificate, "error: generateCertificate returned a certificate that is not base64: illegal base64 data at input byte 0"},
		{"certificate not DER", PKIBridge{GenerateCertificate: cert("AAAA")}, ProcGenerateCertificate, "error: generateCertificate returned a certificate that does not parse"},
		{"no user name", PKIBridge{GetIdentityFromCertificate: func(context.Context, adapters.CertificateInput) (adapters.IdentityFromCertificate, error) {
			return adapters.IdentityFromCertificate{}, nil
		}}, ProcGetIdentityFromCertificate, "error: getIdentityFromCertificate returned no userName"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			procs := tc.bridge.Procedures()
			if got := slices.Collect(maps.Keys(procs)); !slices.Equal(got, []string{tc.proc}) {
				t.Fatalf("bridge exports %q, want [%q]", got, tc.proc)
			}
			out, err := procs[tc.proc](t.Context(), json.RawMessage(`{}`))
			got := string(out)
			if err != nil {
				_, msg := errorOf(err)
				got = "error: " + msg
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("%s = %s, want %s", tc.proc, got, tc.want)
			}
		})
	}
}

// TestPKIBridgeDocumentedInputs: each procedure decodes the object Worklight's documentation
// gives it into the adapters type it is written against.
func TestPKIBridgeDocumentedInputs(t *testing.T) {
	var got []any
	b := PKIBridge{
		Init: func(_ context.Context, in adapters.InitInput) error { got = append(got, in); return nil },
		ValidateIdentity: func(_ context.Context, in adapters.IdentityInput) (adapters.Valid, error) {
			got = append(got, in)
			return adapters.Valid{Valid: adapters.Yes}, nil
		},
		GenerateCertificate: func(_ context.Context, in adapters.CSRInput) (adapters.GeneratedCertificate, error) {
			got = append(got, in)
			return Certificate(selfSigned(t)), nil
		},
		ValidateCertificate: func(_ context.Context, in adapters.CertificateInput) (adapters.Valid, error) {
			got = append(got, in)
			return adapters.Valid{Valid: adapters.Yes}, nil
		},
	}
	user := adapters.UserIdentity{UserName: "alice", DisplayName: "Alice", Attributes: map[string]any{"level": 3.0}}
	calls := []struct {
		proc, input string
		want        any
	}{
		{ProcInit, `{"dependent-user-auth-realm":"WASLTPARealm","pki-bridge-class":"com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI"}`,
			adapters.InitInput{"dependent-user-auth-realm": "WASLTPARealm", "pki-bridge-class": "com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI"}},
		{ProcValidateIdentity, `{"deviceId":"d-1","userIdentity":{"userName":"alice","displayName":"Alice","attributes":{"level":3}},"appId":"com.example"}`,
			adapters.IdentityInput{DeviceID: "d-1", UserIdentity: user, AppID: "com.example"}},
		{ProcGenerateCertificate, `{"deviceId":"d-1","csr":"MIIB","userIdentity":{"userName":"alice","displayName":"Alice","attributes":{"level":3}},"appId":"com.example"}`,
			adapters.CSRInput{DeviceID: "d-1", CSR: "MIIB", UserIdentity: user, AppID: "com.example"}},
		{ProcValidateCertificate, `{"cn":"carol","dn":"CN=carol","serialNumber":"1f","version":3,"valid":{"notBefore":1,"notAfter":2}}`,
			adapters.CertificateInput{Certificate: adapters.Certificate{CN: "carol", DN: "CN=carol", SerialNumber: "1f", Version: 3, Valid: adapters.Validity{NotBefore: 1, NotAfter: 2}}}},
	}
	procs := b.Procedures()
	var want []any
	for _, c := range calls {
		if _, err := procs[c.proc](t.Context(), json.RawMessage(c.input)); err != nil {
			t.Fatalf("%s(%s): %v", c.proc, c.input, err)
		}
		want = append(want, c.want)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("inputs (-want +got):\n%s", d)
	}
}

func TestParseCSR(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseCSR(base64.StdEncoding.EncodeToString(der))
	if err != nil || req.Subject.CommonName != "alice" {
		t.Fatalf("ParseCSR = %v, %v", req, err)
	}
	tampered := slices.Clone(der)
	tampered[len(tampered)-1] ^= 1 // the signature's last byte
	for name, b64 := range map[string]string{
		"not base64": "@@",
		"not DER":    "AAAA",
		"tampered":   base64.StdEncoding.EncodeToString(tampered),
	} {
		_, err := ParseCSR(b64)
		if code, _ := errorOf(err); err == nil || code != adapters.CodeBadInput {
			t.Errorf("%s: ParseCSR error %v, want adapter_bad_input", name, err)
		}
	}
}

// selfSigned returns a DER certificate.
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}, NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestRunning: Running names the asked calls whose procedure has not returned, whether or not
// their context ended, and forgets a call once it returns.
func TestRunning(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	s, _ := started(t, Procedures{
		"stuck": func(context.Context, json.RawMessage) (json.RawMessage, error) {
			entered <- struct{}{}
			<-release // ignores its context
			return json.RawMessage(`1`), nil
		},
	})
	running := func(ids ...uint64) []uint64 {
		t.Helper()
		resp, err := s.Running(t.Context(), &pluginpb.RunningRequest{Ids: ids})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetIds()
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{}, 2)
	for _, id := range []uint64{7, 0} { // 0: a call the daemon did not number
		go func() {
			_, _ = s.Call(ctx, &pluginpb.CallRequest{Procedure: "stuck", Input: []byte(`{}`), Id: id})
			done <- struct{}{}
		}()
		<-entered
	}
	cancel()
	if diff := cmp.Diff([]uint64{7}, running(7, 8, 0)); diff != "" {
		t.Errorf("running calls while one is stuck (-want +got):\n%s", diff)
	}
	close(release)
	<-done
	<-done
	if got := running(7, 8, 0); len(got) != 0 {
		t.Errorf("running calls after they returned: %v, want none", got)
	}
}
