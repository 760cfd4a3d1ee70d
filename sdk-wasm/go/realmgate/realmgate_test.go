package realmgate

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
)

func TestEncodeLogRecord(t *testing.T) {
	h := hostHandler{}.WithAttrs([]slog.Attr{slog.String("realm", "R")}).WithGroup("req").(hostHandler)
	r := slog.NewRecord(time.Time{}, slog.LevelWarn, `say "hi" ☃`, 0)
	r.AddAttrs(slog.Int("n", 3), slog.Group("user", slog.String("name", "alice")), slog.Any("ch", make(chan int)))
	got := string(h.encode(r))
	if !json.Valid([]byte(got)) {
		t.Fatalf("record %s is not JSON", got)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(got), &m)
	delete(m, "req.ch") // a value JSON cannot encode is logged as its text; its address varies
	if diff := cmp.Diff(map[string]any{"msg": `say "hi" ☃`, "realm": "R", "req.n": 3.0, "req.user.name": "alice"}, m); diff != "" {
		t.Errorf("record %s (-want +got):\n%s", got, diff)
	}
}

func TestHTTPRequestEncoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  HTTPRequest
		want string
	}{
		{"get", HTTPRequest{URL: "http://127.0.0.1:8080/x"}, `{"url":"http://127.0.0.1:8080/x"}`},
		{"text body", HTTPRequest{Method: "POST", URL: "https://pki.example.com/sign", Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"a":1}`)},
			`{"method":"POST","url":"https://pki.example.com/sign","headers":{"Content-Type":"application/json"},"body":"{\"a\":1}"}`},
		{"binary body", HTTPRequest{Method: "PUT", URL: "http://h:1/", Body: []byte{0xff, 0x00, 0x01}}, `{"method":"PUT","url":"http://h:1/","bodyBase64":"/wAB"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encodeHTTPRequest(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHTTPResponseDecoding(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     *HTTPResponse
		err      string
	}{
		{"text", `{"status":200,"headers":{"A":"b"},"body":"ok"}`, &HTTPResponse{Status: 200, Headers: map[string]string{"A": "b"}, Body: []byte("ok")}, ""},
		{"binary", `{"status":201,"bodyBase64":"/wAB"}`, &HTTPResponse{Status: 201, Body: []byte{0xff, 0, 1}}, ""},
		{"refused", `{"error":"127.0.0.1:9 is not on the adapter's allow-list"}`, nil, "realmgate: http: 127.0.0.1:9 is not on the adapter's allow-list"},
		{"no status", `{"body":"x"}`, nil, "no valid status"},
		{"bad base64", `{"status":200,"bodyBase64":"!"}`, nil, "bodyBase64"},
		{"not JSON", `{`, nil, "not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeHTTPResponse([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDecodeHTTPResponse(f *testing.F) {
	f.Add([]byte(`{"status":200,"headers":{"A":"b"},"body":"ok"}`))
	f.Add([]byte(`{"status":200,"bodyBase64":"/wAB"}`))
	f.Add([]byte(`{"error":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := decodeHTTPResponse(b)
		if err == nil && (resp.Status < 100 || resp.Status > 999) {
			t.Fatalf("accepted status %d", resp.Status)
		}
	})
}

// TestDecodeInputExactNames: a member reaches a field only under the field's exact name, as the
// policy that checked the call read it; in a Call's parameters an unknown member fails the call.
func TestDecodeInputExactNames(t *testing.T) {
	type payment struct {
		Payee  string  `json:"payee"`
		Amount float64 `json:"amount"`
	}
	host := func(params string) string {
		return `{"parameters":` + params + `,"identity":{"user":{"userId":"alice"},"device":null,"realms":{"BankLogin":{"userId":"alice"}}},"app":{"id":"BankApp","env":"android","version":"2.1.0"},"later":1}`
	}
	for _, tc := range []struct {
		name, in string
		want     Call[payment]
		err      string
	}{
		{name: "exact", in: host(`[{"payee":"rent","amount":5000}]`), want: Call[payment]{
			Parameters: []payment{{Payee: "rent", Amount: 5000}},
			Identity:   Identity{User: map[string]any{"userId": "alice"}, Realms: map[string]any{"BankLogin": map[string]any{"userId": "alice"}}},
			App:        App{ID: "BankApp", Env: "android", Version: "2.1.0"},
		}},
		{name: "capitalised", in: host(`[{"Amount":5000}]`),
			err: `invalid input: parameters[0]: unknown member "Amount" (member names are case-sensitive: the field is "amount")`},
		{name: "second parameter", in: host(`[{"payee":"x"},{"p\u0061yee":"y","AMOUNT":1}]`),
			err: `invalid input: parameters[1]: unknown member "AMOUNT"`},
		{name: "unknown parameter member", in: host(`[{"amount":1,"memo":"x"}]`),
			err: `invalid input: parameters[0]: unknown member "memo"`},
		{name: "full-width", in: host(`[{"ａｍｏｕｎｔ":5000}]`),
			err: `invalid input: parameters[0]: unknown member "ａｍｏｕｎｔ"`},
		{name: "envelope case", in: `{"Parameters":[{"amount":1}]}`,
			err: `invalid input: unknown member "Parameters" (member names are case-sensitive: the field is "parameters")`},
		// The library words this message "cannot unmarshal" or "unable to unmarshal", chosen
		// at random once per process so that nobody depends on its text.
		{name: "wrong type", in: host(`[{"amount":"5000"}]`), err: "invalid input: parameters: json: "},
		{name: "repeated parameter member", in: host(`[{"amount":1,"amount":5000}]`), err: "invalid input: jsontext: duplicate object member name \"amount\" within \"/parameters/0\""},
		{name: "repeated envelope member", in: `{"parameters":[{"amount":1}],"parameters":[{"amount":5000}]}`, err: "invalid input: jsontext: duplicate object member name"},
		{name: "invalid UTF-8", in: host("[{\"payee\":\"\xff\"}]"), err: "invalid input: jsontext: invalid UTF-8"},
		{name: "no parameters", in: `{}`, want: Call[payment]{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeInput[Call[payment]]([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.name == "exact" && got.UserID() != "alice" {
				t.Errorf("UserID() = %q", got.UserID())
			}
		})
	}
	// Handle's own inputs: exact names, other members ignored (the host may add some).
	in, err := decodeInput[struct {
		Realm string `json:"realm"`
	}]([]byte(`{"realm":"R","parameters":[]}`))
	if err != nil || in.Realm != "R" {
		t.Errorf("plain input: %+v %v", in, err)
	}
	if _, err := decodeInput[IdentityInput]([]byte(`{"DeviceId":"d"}`)); err == nil || !strings.Contains(err.Error(), `unknown member "DeviceId"`) {
		t.Errorf("PKI input with another case: %v", err)
	}
}

// TestMemberErrorIsTyped: a caller can branch on the member that was refused, whichever JSON
// package decodes a Call.
func TestMemberErrorIsTyped(t *testing.T) {
	type payment struct {
		Amount float64 `json:"amount"`
	}
	in := []byte(`{"parameters":[{"Amount":5000}]}`)
	want := &MemberError{Path: "parameters[0]", Member: "Amount", Field: "amount"}
	var v1 Call[payment]
	_, err := decodeInput[Call[payment]](in)
	for name, err := range map[string]error{
		"Handle":        err,
		"encoding/json": json.Unmarshal(in, &v1),
		"json v2":       jsonv2.Unmarshal(in, new(Call[payment])),
	} {
		var me *MemberError
		if !errors.As(err, &me) {
			t.Errorf("%s: %v, want a *MemberError", name, err)
			continue
		}
		if diff := cmp.Diff(want, me); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	var serr *jsonv2.SemanticError
	if _, err := decodeInput[Call[payment]]([]byte(`{"parameters":[{"amount":"5000"}]}`)); !errors.As(err, &serr) {
		t.Errorf("wrong type: %v, want a *json.SemanticError", err)
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"O=Example", map[string]string{"O": "Example"}, ""},
		{" O = Example Bank , OU=Mobile ", map[string]string{"O": "Example Bank", "OU": "Mobile"}, ""},
		{"O=a=b", map[string]string{"O": "a=b"}, ""},
		{"O", nil, `"O" is not TYPE=VALUE`},
		{"O=,OU=x", nil, `"O=" is not TYPE=VALUE`},
		{"O=a,,OU=b", nil, `"" is not TYPE=VALUE`},
		{"O=a,O=b", nil, "names O twice"},
	}
	for _, tt := range tests {
		got, err := ParseSubject(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSubject(%q): error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSubject(%q): %v", tt.in, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("ParseSubject(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestDecodePKIAnswer(t *testing.T) {
	var s SignedCertificate
	if err := decodePKIAnswer([]byte(`{"certificateBase64":"MII","serialNumber":"7f","notBefore":1,"notAfter":2}`), &s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(SignedCertificate{CertificateBase64: "MII", SerialNumber: "7f", NotBefore: 1, NotAfter: 2}, s); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	err := decodePKIAnswer([]byte(`{"error":"the adapter is not granted the host PKI capability"}`), &s)
	var pe *PKIError
	if !errors.As(err, &pe) || pe.Message != "the adapter is not granted the host PKI capability" {
		t.Errorf("refusal: %v, want a *PKIError with the host's reason", err)
	}
	if err := decodePKIAnswer([]byte(`{"error":`), &s); err == nil || errors.As(err, &pe) {
		t.Errorf("a broken refusal: %v, want an error that is not a refusal", err)
	}
}

func TestDecodeParsedCSR(t *testing.T) {
	var got ParsedCSR
	answer := `{"dn":"CN=alice","cn":"alice","publicKey":{"base64":"MFkw","algorithm":"EC","thumbprint":"tp","spkiSha256":"h"},` +
		`"signature":{"base64":"MEUC","algorithm":"SHA256withECDSA"},"attributes":{"challengePassword":"pw"},"Cn":"mallory"}`
	if err := decodePKIAnswer([]byte(answer), &got); err != nil {
		t.Fatal(err)
	}
	want := ParsedCSR{DN: "CN=alice", CN: "alice", PublicKey: PKIKeyInfo{KeyInfo: KeyInfo{Base64: "MFkw", Algorithm: "EC"}, Thumbprint: "tp", SPKISHA256: "h"},
		Signature: SigInfo{Base64: "MEUC", Algorithm: "SHA256withECDSA"}, Attributes: map[string]string{"challengePassword": "pw"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed CSR (-want +got), a member differing only in case must not reach a field:\n%s", diff)
	}
}
