package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// The MDM activation-code bridge (sdk-wasm/c/examples/mdmbridge) is a C module: these tests
// build it from source with its build.sh and run it through the wasm host with four instances
// (the default) on a single-use store (realmgate.once), which keeps the used codes.

// mdmBridgeDir is the MDM bridge's folder, from this package's folder.
const mdmBridgeDir = "../c/examples/mdmbridge"

// mdmModule builds the MDM bridge (cached by the content of the C SDK and the bridge) and
// returns the module's path and bytes. It skips the test when the C toolchain is absent,
// unless REALMGATE_REQUIRE_TOOLCHAINS is set.
func mdmModule(t testing.TB) (string, []byte) {
	t.Helper()
	var c language
	for _, l := range languages {
		if l.Name == "c" {
			c = l
		}
	}
	if m := c.missing(); m != "" {
		msg := fmt.Sprintf("C toolchain absent: %s is missing (install with .ci/install-wasm-sdks.sh)", m)
		if os.Getenv(requireToolchains) != "" {
			t.Fatalf("%s; %s is set, so this fails", msg, requireToolchains)
		}
		t.Skip(msg)
	}
	var inputs []string
	for _, dir := range []string{sdkDir("c") + "/src", sdkDir("c") + "/include", sdkDir("c") + "/conformance", sdkDir("c") + "/cc-wasm.sh", mdmBridgeDir} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "build" {
				return filepath.SkipDir
			}
			if !d.IsDir() && d.Name() != "README.md" {
				inputs = append(inputs, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	path := adaptertest.CachedBuild(t, "mdmbridge.wasm", inputs, toolVersions("c"), func(out string) error {
		cmd := exec.Command("bash", filepath.Join(mdmBridgeDir, "build.sh"), out)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("mdmbridge build.sh: %w\n%s", err, b)
		}
		return nil
	})
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, wasm
}

// mdmCode is one entry of the bridge's "codes" setting.
type mdmCode struct {
	Code      string `json:"code"`
	DeviceID  string `json:"deviceId"`
	ExpiresAt any    `json:"expiresAt"` // Unix seconds or an RFC 3339 UTC string
}

func codesSetting(t testing.TB, codes ...mdmCode) string {
	t.Helper()
	b, err := json.Marshal(codes)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// openMDM opens the MDM bridge through the wasm host with four instances, and a single-use
// store of its own unless cfg names one.
func openMDM(t *testing.T, module string, cfg adapters.Config) adapters.Adapter {
	t.Helper()
	if cfg.Limits.Instances == 0 {
		cfg.Limits.Instances = 4
	}
	if cfg.SingleUse == nil {
		cfg.SingleUse = adaptertest.NewSingleUse()
	}
	return openWasm(t, module, cfg)
}

// redeem calls validateIdentity for device with code (omitted when empty) and returns the verdict.
func redeem(t *testing.T, a adapters.Adapter, code any, device string) (string, error) {
	t.Helper()
	in := map[string]any{"deviceId": device, "userIdentity": map[string]any{"userName": "alice"}, "appId": "com.example.app"}
	if code != nil {
		in["clientData"] = map[string]any{"activationCode": code}
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Call(t.Context(), "validateIdentity", raw)
	if err != nil {
		return "", err
	}
	var v adapters.Valid
	if err := adaptertest.DecodeStrict(out, &v); err != nil {
		t.Fatalf("validateIdentity output %s: %v", out, err)
	}
	return v.Valid, nil
}

// TestMDMBridgeConformance runs the conformance suite against the MDM bridge.
func TestMDMBridgeConformance(t *testing.T) {
	module, _ := mdmModule(t)
	adaptertest.Run(t, func(t *testing.T, cfg adapters.Config) adapters.Adapter {
		return openMDM(t, module, cfg)
	})
}

// TestMDMBridgePKI runs the PKI-bridge checks with a client that sends a valid code for its
// device; another device presenting that code is refused.
func TestMDMBridgePKI(t *testing.T) {
	module, _ := mdmModule(t)
	const code = "K7Q2-9XWD-4MZP"
	a := openMDM(t, module, adapters.Config{Name: "MDMBridge", Settings: map[string]string{
		"codes": codesSetting(t, mdmCode{code, "device-1", time.Now().Add(time.Hour).Unix()}),
	}})
	adaptertest.PKIBridge(t, a, adaptertest.PKIFixture{
		ClientData: adapters.ClientData{"activationCode": code},
		Rejected:   &adapters.IdentityInput{DeviceID: "device-2", UserIdentity: adapters.UserIdentity{UserName: "mallory"}},
	})
	if got, err := redeem(t, a, code, "device-1"); err != nil || got != adapters.No {
		t.Errorf("the fixture's code a second time: %q, %v; want NO", got, err)
	}
}

// TestMDMBridgeCodes walks the code rules in order on one adapter: the steps share its state.
func TestMDMBridgeCodes(t *testing.T) {
	module, _ := mdmModule(t)
	now := time.Now()
	rfc := func(d time.Duration) string { return now.Add(d).UTC().Format("2006-01-02T15:04:05Z") }
	a := openMDM(t, module, adapters.Config{Name: "MDMBridge", Settings: map[string]string{
		"codes": codesSetting(t,
			mdmCode{"AAAA-1111", "d1", now.Add(time.Hour).Unix()},
			mdmCode{"BBBB-2222", "d2", rfc(time.Hour)},
			mdmCode{"CCCC-3333", "d1", now.Add(-time.Minute).Unix()},
			mdmCode{"DDDD-4444", "d1", rfc(-time.Second)},
			mdmCode{"EEEE-5555", "d3", rfc(24 * time.Hour)},
			mdmCode{"ünï-cødé ☃", "d4", now.Add(time.Hour).Unix()},
		),
	}})
	steps := []struct {
		name   string
		code   any // nil: no clientData
		device string
		want   string
	}{
		{"unknown code", "ZZZZ-9999", "d1", adapters.No},
		{"another device's code", "AAAA-1111", "d2", adapters.No},
		{"no device id", "AAAA-1111", "", adapters.No},
		{"valid", "AAAA-1111", "d1", adapters.Yes},
		{"reused", "AAAA-1111", "d1", adapters.No},
		{"reused from another device", "AAAA-1111", "d2", adapters.No},
		{"expired (Unix seconds)", "CCCC-3333", "d1", adapters.No},
		{"expired (RFC 3339)", "DDDD-4444", "d1", adapters.No},
		{"valid (RFC 3339)", "BBBB-2222", "d2", adapters.Yes},
		{"a refusal does not use the code up: wrong device", "EEEE-5555", "d1", adapters.No},
		{"prefix of a code", "EEEE-555", "d3", adapters.No},
		{"code with more after it", "EEEE-55550", "d3", adapters.No},
		{"code with a NUL after it", "EEEE-5555\x00", "d3", adapters.No},
		{"code of another case", "eeee-5555", "d3", adapters.No},
		{"device of another case", "EEEE-5555", "D3", adapters.No},
		{"then the right device", "EEEE-5555", "d3", adapters.Yes},
		{"unicode code", "ünï-cødé ☃", "d4", adapters.Yes},
		{"no clientData", nil, "d1", adapters.No},
		{"empty code", "", "d1", adapters.No},
		{"code of the wrong type", 1111, "d1", adapters.No},
		{"code an object", map[string]string{"code": "AAAA-1111"}, "d1", adapters.No},
	}
	for _, s := range steps {
		got, err := redeem(t, a, s.code, s.device)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: validateIdentity(%v, %q) = %s, want %s", s.name, s.code, s.device, got, s.want)
		}
	}
	// The other procedures; config keeps the codes to itself.
	for _, tc := range []struct{ procedure, input, want string }{
		{"config", `{}`, `{"adapter":"MDMBridge","codes":"<redacted>"}`},
		{"getCSRRequirements", `{"deviceId":"d1","userIdentity":{"userName":"alice"}}`, `{"commonName":"alice"}`},
		{"validateCSR", `{"csrInfo":{"cn":"alice"},"userIdentity":{"userName":"alice"}}`, `{"valid":"YES"}`},
		{"validateCSR", `{"csrInfo":{"cn":"bob"},"userIdentity":{"userName":"alice"}}`, `{"valid":"NO"}`},
		{"init", `{"dependent-user-auth-realm":"Login"}`, `{}`},
	} {
		out, err := a.Call(t.Context(), tc.procedure, json.RawMessage(tc.input))
		if err != nil {
			t.Errorf("%s(%s): %v", tc.procedure, tc.input, err)
			continue
		}
		if d := cmp.Diff(tc.want, string(out)); d != "" {
			t.Errorf("%s(%s) (-want +got):\n%s", tc.procedure, tc.input, d)
		}
	}
	procs := strings.Join(a.Procedures(), ",")
	if !strings.Contains(procs, "validateIdentity") || strings.Contains(procs, "generateCertificate") {
		t.Errorf("procedures %q: want validateIdentity and no generateCertificate", procs)
	}
}

// TestMDMBridgeSettings checks that a wrong "codes" setting fails validateIdentity with a message
// that says what is wrong, and never quotes a code.
func TestMDMBridgeSettings(t *testing.T) {
	module, _ := mdmModule(t)
	exp := time.Now().Add(time.Hour).Unix()
	many := make([]mdmCode, 10001)
	for i := range many {
		many[i] = mdmCode{fmt.Sprintf("code-%d", i), "d", exp}
	}
	for _, tc := range []struct {
		name, codes, want string
	}{
		{"absent", "", `setting codes: required: a JSON array of {"code", "deviceId", "expiresAt"}`},
		{"not JSON", "[{", "setting codes: not JSON: "},
		{"not an array", `{"code":"x"}`, "setting codes: want a JSON array"},
		{"element not an object", `["SECRET-1"]`, "setting codes: element 0: want an object"},
		{"no code", fmt.Sprintf(`[{"deviceId":"d","expiresAt":%d}]`, exp), "setting codes: element 0: code: want a string"},
		{"empty code", fmt.Sprintf(`[{"code":"","deviceId":"d","expiresAt":%d}]`, exp), "setting codes: element 0: code: want 1 to 256 bytes"},
		{"long code", fmt.Sprintf(`[{"code":"%s","deviceId":"d","expiresAt":%d}]`, strings.Repeat("x", 257), exp), "setting codes: element 0: code: want 1 to 256 bytes"},
		{"no device", fmt.Sprintf(`[{"code":"SECRET-1","expiresAt":%d}]`, exp), "setting codes: element 0: deviceId: want a string"},
		{"no expiry", `[{"code":"SECRET-1","deviceId":"d"}]`, "setting codes: element 0: expiresAt: want Unix seconds or a UTC time such as 2025-12-31T23:59:59Z"},
		{"fractional expiry", `[{"code":"SECRET-1","deviceId":"d","expiresAt":1.5}]`, "element 0: expiresAt: want Unix seconds"},
		{"local time", `[{"code":"SECRET-1","deviceId":"d","expiresAt":"2030-01-02T03:04:05+01:00"}]`, "element 0: expiresAt: want Unix seconds"},
		{"February 30th", `[{"code":"SECRET-1","deviceId":"d","expiresAt":"2030-02-30T03:04:05Z"}]`, "element 0: expiresAt: want Unix seconds"},
		{"unknown member", fmt.Sprintf(`[{"code":"SECRET-1","deviceId":"d","expires":%d}]`, exp), "setting codes: element 0: unknown member (want code, deviceId, expiresAt)"},
		{"second element wrong", fmt.Sprintf(`[{"code":"SECRET-1","deviceId":"d","expiresAt":%d},{"code":"SECRET-2","deviceId":7,"expiresAt":%d}]`, exp, exp), "setting codes: element 1: deviceId: want a string"},
		{"repeated code", codesSetting(t, mdmCode{"SECRET-1", "d1", exp}, mdmCode{"SECRET-2", "d2", exp}, mdmCode{"SECRET-1", "d3", exp}), "setting codes: elements 0 and 2 have the same code"},
		{"too many", codesSetting(t, many...), "setting codes: more than 10000 codes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := openMDM(t, module, adapters.Config{Name: "MDMBridge", Settings: map[string]string{"codes": tc.codes}})
			_, err := redeem(t, a, "SECRET-1", "d1")
			if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "MDMBridge", "validateIdentity"); e != nil {
				if !strings.HasPrefix(e.Message, tc.want) && !strings.Contains(e.Message, tc.want) {
					t.Errorf("message %q, want %q", e.Message, tc.want)
				}
				if strings.Contains(e.Message, "SECRET") {
					t.Errorf("message %q quotes a code", e.Message)
				}
			}
		})
	}
}

// TestMDMBridgeSingleUse: of 16 concurrent redemptions of one code on four instances exactly
// one succeeds; and no input makes the host discard an instance: after a barrage of hostile
// inputs the redeemed codes are still refused, the codes were loaded at most once per instance,
// and the host discarded nothing.
func TestMDMBridgeSingleUse(t *testing.T) {
	module, _ := mdmModule(t)
	exp := time.Now().Add(time.Hour).Unix()
	var codes []mdmCode
	for i := range 8 {
		codes = append(codes, mdmCode{fmt.Sprintf("RACE-%d", i), "d1", exp})
	}
	rec := adaptertest.NewLogRecorder()
	a := openMDM(t, module, adapters.Config{Name: "MDMBridge", Logger: rec.Logger(),
		Settings: map[string]string{"codes": codesSetting(t, codes...)}})

	for _, c := range codes {
		var wg sync.WaitGroup
		var mu sync.Mutex
		verdicts := map[string]int{}
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := redeem(t, a, c.Code, "d1")
				if err != nil {
					v = err.Error()
				}
				mu.Lock()
				verdicts[v]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if d := cmp.Diff(map[string]int{adapters.Yes: 1, adapters.No: 15}, verdicts); d != "" {
			t.Errorf("16 concurrent redemptions of %s (-want +got):\n%s", c.Code, d)
		}
	}

	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	hostile := []string{
		`{"deviceId":"d1","clientData":{"activationCode":"` + strings.Repeat("R", 400<<10) + `"}}`,
		`{"deviceId":"` + strings.Repeat("d", 400<<10) + `","clientData":{"activationCode":"RACE-0"}}`,
		`{"deviceId":"d1","clientData":{"activationCode":` + deep + `}}`,
		`{"deviceId":"d1","clientData":` + deep + `}`,
		`{"deviceId":{"id":"d1"},"clientData":{"activationCode":"RACE-0"}}`,
		`{"deviceId":["d1"],"clientData":{"activationCode":"RACE-0"}}`,
		`{"deviceId":"d1","clientData":"RACE-0"}`,
		`{"deviceId":"d1","clientData":{"activationCode":"RACE-0\u0000"}}`,
		`{"deviceId":"d1\ud800","clientData":{"activationCode":"RACE-0"}}`,
		`[` + strings.Repeat(`{"a":1},`, 30000) + `{}]`,
		`null`, `0`, `"x"`,
	}
	for _, in := range hostile {
		// Failures are fine; a discarded instance is not.
		_, _ = a.Call(t.Context(), "validateIdentity", json.RawMessage(in))
	}
	for _, c := range codes {
		if got, err := redeem(t, a, c.Code, "d1"); err != nil || got != adapters.No {
			t.Errorf("%s after the hostile inputs: %q, %v; want NO (still used)", c.Code, got, err)
		}
	}
	if d := rec.Matching(func(e adaptertest.LogEntry) bool { return e.Message == "wasm instance discarded" }); len(d) != 0 {
		t.Errorf("the host discarded the instance: %+v", d)
	}
	if n := len(rec.Matching(func(e adaptertest.LogEntry) bool { return strings.HasPrefix(e.Message, "activation codes loaded") })); n < 1 || n > 4 {
		t.Errorf("the codes were loaded %d times, want once per instance (at most 4)", n)
	}
}

// TestMDMBridgeSingleUseAcrossDaemons: the used codes live in the host's single-use store, so
// single use holds across instances and daemons. Two adapters of the same name on one store
// stand for two daemons of one database, four instances each: of 32 concurrent redemptions of
// one code spread over both, exactly one succeeds. The adapter that replaces one (a restart or
// a reload) still refuses the code. Another adapter's store keys are its own.
func TestMDMBridgeSingleUseAcrossDaemons(t *testing.T) {
	module, _ := mdmModule(t)
	exp := time.Now().Add(time.Hour).Unix()
	settings := map[string]string{"codes": codesSetting(t, mdmCode{"ONCE-1", "d1", exp}, mdmCode{"ONCE-2", "d2", exp})}
	su := adaptertest.NewSingleUse()
	daemons := []adapters.Adapter{
		openMDM(t, module, adapters.Config{Name: "MDMBridge", Settings: settings, SingleUse: su}),
		openMDM(t, module, adapters.Config{Name: "MDMBridge", Settings: settings, SingleUse: su}),
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		verdicts = map[string]int{}
	)
	for i := range 32 {
		wg.Go(func() {
			v, err := redeem(t, daemons[i%2], "ONCE-1", "d1")
			if err != nil {
				v = err.Error()
			}
			mu.Lock()
			verdicts[v]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if d := cmp.Diff(map[string]int{adapters.Yes: 1, adapters.No: 31}, verdicts); d != "" {
		t.Errorf("32 concurrent redemptions on two daemons of four instances (-want +got):\n%s", d)
	}

	if err := daemons[0].Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	restarted := openMDM(t, module, adapters.Config{Name: "MDMBridge", Settings: settings, SingleUse: su})
	other := openMDM(t, module, adapters.Config{Name: "OtherBridge", Settings: settings, SingleUse: su})
	for _, step := range []struct {
		name string
		a    adapters.Adapter
		code string
		want string
	}{
		{"after a restart", restarted, "ONCE-1", adapters.No},
		{"the other code, after a restart", restarted, "ONCE-2", adapters.Yes},
		{"the other code on the other daemon", daemons[1], "ONCE-2", adapters.No},
		{"another adapter on the store has keys of its own", other, "ONCE-1", adapters.Yes},
	} {
		if got, err := redeem(t, step.a, step.code, map[string]string{"ONCE-1": "d1", "ONCE-2": "d2"}[step.code]); err != nil || got != step.want {
			t.Errorf("%s: %q, %v; want %s", step.name, got, err, step.want)
		}
	}
}

// TestMDMBridgeWithoutStore: when the host's single-use store cannot answer (down, or not given
// to the adapter), redeeming a valid code fails the call with a message that says why and
// leaves the code unused; refusals are still refusals. A code that expires more than 400 days
// ahead is refused: the host keeps a key 400 days at most.
func TestMDMBridgeWithoutStore(t *testing.T) {
	module, _ := mdmModule(t)
	now := time.Now()
	settings := map[string]string{"codes": codesSetting(t,
		mdmCode{"CODE-1", "d1", now.Add(time.Hour).Unix()},
		mdmCode{"FAR-1", "d1", now.Add(401 * 24 * time.Hour).Unix()},
	)}
	su := adaptertest.NewSingleUse()
	su.Err = errors.New("the database is down")
	down := openMDM(t, module, adapters.Config{Name: "MDMBridge", Settings: settings, SingleUse: su})
	_, err := redeem(t, down, "CODE-1", "d1")
	if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "MDMBridge", "validateIdentity"); e != nil &&
		e.Message != "validateIdentity: the activation code cannot be marked used: once: the host's single-use store is not available" {
		t.Errorf("store down: message %q", e.Message)
	}
	if strings.Contains(fmt.Sprint(err), "CODE-1") {
		t.Errorf("the error quotes the code: %v", err)
	}
	if got, err := redeem(t, down, "CODE-1", "d2"); err != nil || got != adapters.No {
		t.Errorf("another device's code with the store down: %q, %v; want NO", got, err)
	}
	su.Err = nil
	for i, want := range []string{adapters.Yes, adapters.No} {
		if got, err := redeem(t, down, "CODE-1", "d1"); err != nil || got != want {
			t.Errorf("the store back, redemption %d: %q, %v; want %s", i+1, got, err, want)
		}
	}
	if got, err := redeem(t, down, "FAR-1", "d1"); err != nil || got != adapters.No {
		t.Errorf("a code that expires in 401 days: %q, %v; want NO", got, err)
	}

	none := openWasm(t, module, adapters.Config{Name: "MDMBridge", Settings: settings})
	_, err = redeem(t, none, "CODE-1", "d1")
	if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "MDMBridge", "validateIdentity"); e != nil && !strings.Contains(e.Message, "not available") {
		t.Errorf("no store: message %q", e.Message)
	}
}

// mdmUsedMargin is how long after its expiry the bridge keeps a code used (USED_MARGIN), and
// maxOnceTTL the longest TTL of realmgate.once, in seconds.
const (
	mdmUsedMargin = 3600
	maxOnceTTL    = 400 * 24 * 60 * 60
)

// modelCode is the Go model of one parsed entry of the "codes" setting, for the fuzz target.
type modelCode struct {
	code, device string
	expiresAt    int64
}

// parseCodesModel is the Go model of the bridge's parser of the "codes" setting: what it accepts
// and the entries it reads.
func parseCodesModel(setting string) ([]modelCode, error) {
	if setting == "" {
		return nil, errors.New("required")
	}
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(setting), &list); err != nil || list == nil {
		return nil, errors.New("not an array")
	}
	if len(list) > 10000 {
		return nil, errors.New("too many")
	}
	var out []modelCode
	seen := map[string]bool{}
	for _, raw := range list {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return nil, errors.New("not an object")
		}
		for k := range obj {
			if k != "code" && k != "deviceId" && k != "expiresAt" {
				return nil, errors.New("unknown member")
			}
		}
		str := func(name string) (string, error) {
			var s *string
			if err := json.Unmarshal(obj[name], &s); err != nil || s == nil {
				return "", errors.New(name + ": not a string")
			}
			if len(*s) == 0 || len(*s) > 256 {
				return "", errors.New(name + ": length")
			}
			return *s, nil
		}
		c, err := str("code")
		if err != nil {
			return nil, err
		}
		d, err := str("deviceId")
		if err != nil {
			return nil, err
		}
		exp, err := modelExpiry(obj["expiresAt"])
		if err != nil {
			return nil, err
		}
		out = append(out, modelCode{c, d, exp})
		if seen[c] {
			return nil, errors.New("repeated")
		}
		seen[c] = true
	}
	return out, nil
}

func modelExpiry(raw json.RawMessage) (int64, error) {
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if raw == nil || d.Decode(&v) != nil {
		return 0, errors.New("expiresAt: missing")
	}
	switch v := v.(type) {
	case json.Number:
		return strconv.ParseInt(v.String(), 10, 64)
	case string:
		return modelUTC(v)
	}
	return 0, errors.New("expiresAt: wrong type")
}

// modelUTC reads exactly YYYY-MM-DDTHH:MM:SSZ, years 1970 to 9999, no leap second.
func modelUTC(s string) (int64, error) {
	bad := errors.New("expiresAt: not YYYY-MM-DDTHH:MM:SSZ")
	if len(s) != 20 {
		return 0, bad
	}
	for i := range len(s) {
		switch i {
		case 4, 7:
			if s[i] != '-' {
				return 0, bad
			}
		case 10:
			if s[i] != 'T' {
				return 0, bad
			}
		case 13, 16:
			if s[i] != ':' {
				return 0, bad
			}
		case 19:
			if s[i] != 'Z' {
				return 0, bad
			}
		default:
			if s[i] < '0' || s[i] > '9' {
				return 0, bad
			}
		}
	}
	n := func(i, k int) int { v, _ := strconv.Atoi(s[i : i+k]); return v }
	y, mo, d, h, mi, se := n(0, 4), n(5, 2), n(8, 2), n(11, 2), n(14, 2), n(17, 2)
	if y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 {
		return 0, bad
	}
	if d > time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return 0, bad
	}
	return time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC).Unix(), nil
}

// FuzzMDMBridge holds the bridge's parser of the "codes" setting and its redemption rules to the
// Go model above, through the bare host with a fresh instance per input: the bridge accepts
// exactly the settings the model accepts, answers what the model answers, answers NO to the
// same code the second time, and never traps.
//
//	go test ./sdk-wasm/sdktest -run '^$' -fuzz FuzzMDMBridge -fuzztime 60s
func FuzzMDMBridge(f *testing.F) {
	_, wasm := mdmModule(f)
	settings := map[string]string{"adapter": "MDMBridge"}
	h := newBareHost(f, wasm, settings)
	now := time.Now()
	future, past := now.Add(time.Hour).Unix(), now.Add(-time.Hour).Unix()
	f.Add(fmt.Sprintf(`[{"code":"A","deviceId":"d","expiresAt":%d}]`, future), "A", "d")
	f.Add(fmt.Sprintf(`[{"code":"A","deviceId":"d","expiresAt":%d}]`, past), "A", "d")
	f.Add(`[{"code":"A","deviceId":"d","expiresAt":"2999-12-31T23:59:59Z"}]`, "A", "d")
	f.Add(`[{"code":"A","deviceId":"d","expiresAt":"2024-02-29T00:00:00Z"},{"code":"B","deviceId":"d","expiresAt":"2100-02-28T23:59:59Z"}]`, "B", "d")
	f.Add(`[{"code":"A","deviceId":"d","expiresAt":"2100-02-29T00:00:00Z"}]`, "A", "d")
	f.Add(`[{"code":"\ud800","deviceId":"d","expiresAt":9223372036854775807}]`, "\ufffd", "d")
	f.Add(`[{"code":"A","code":"B","deviceId":"d","expiresAt":-9223372036854775808}]`, "B", "d")
	f.Add(`[{"code":"A","deviceId":"d","expiresAt":1e20}]`, "A", "d")
	f.Add(`[{"code":"A","deviceId":"d","expiresAt":"1970-01-01T00:00:00Z"},{"code":"A","deviceId":"e","expiresAt":1}]`, "A", "e")
	f.Add(`[]`, "", "")
	f.Add(`null`, "A", "d")
	f.Add(``, "A", "d")
	f.Fuzz(func(t *testing.T, codes, code, device string) {
		// The guest reads the setting as the host encodes it: Go's JSON, invalid UTF-8 replaced.
		var seenCodes string
		b, _ := json.Marshal(codes)
		if err := json.Unmarshal(b, &seenCodes); err != nil {
			t.Fatal(err)
		}
		model, merr := parseCodesModel(seenCodes)
		// Keep clear of expiries about now and about the longest TTL: the guest reads its own
		// clock.
		for _, m := range model {
			if d := m.expiresAt - time.Now().Unix(); d > -5 && d < 5 {
				t.Skip("an expiry within seconds of now")
			}
			if d := m.expiresAt - time.Now().Unix() + mdmUsedMargin - maxOnceTTL; d > -5 && d < 5 {
				t.Skip("an expiry within seconds of the longest single-use TTL")
			}
		}
		settings["codes"] = codes
		h.resetOnce() // each input starts with no code used
		in := h.instance(t)
		defer in.mod.Close(context.Background())
		raw, _ := json.Marshal(map[string]any{
			"deviceId":     device,
			"userIdentity": map[string]string{"userName": "u"},
			"clientData":   map[string]string{"activationCode": code},
		})
		// What the guest sees of the strings, after Go's JSON encoding (invalid UTF-8 replaced).
		var seen struct {
			DeviceID   string `json:"deviceId"`
			ClientData struct{ ActivationCode string }
		}
		if err := json.Unmarshal(raw, &seen); err != nil {
			t.Fatal(err)
		}
		want := adapters.No
		for _, m := range model {
			if m.code == seen.ClientData.ActivationCode && m.device == seen.DeviceID &&
				time.Now().Unix() < m.expiresAt && m.expiresAt-time.Now().Unix()+mdmUsedMargin <= maxOnceTTL {
				want = adapters.Yes
			}
		}
		for attempt := range 2 {
			// A guard against a guest that loops, not a performance assertion.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			out, _, err := in.call(ctx, "validateIdentity", raw)
			cancel()
			var ge *guestError
			if err != nil && !errors.As(err, &ge) {
				t.Fatalf("codes %q: validateIdentity broke the ABI (the instance would be discarded): %v", codes, err)
			}
			if merr != nil {
				if err == nil || !strings.HasPrefix(ge.msg, "setting codes: ") {
					t.Fatalf("codes %q: the model refuses the setting (%v), the bridge answered %s, %v", codes, merr, out, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("codes %q: the model accepts the setting, the bridge failed: %v", codes, err)
			}
			var v adapters.Valid
			if err := adaptertest.DecodeStrict(out, &v); err != nil {
				t.Fatalf("output %s: %v", out, err)
			}
			if attempt == 1 {
				want = adapters.No // used, or still refused
			}
			if v.Valid != want {
				t.Fatalf("codes %q, code %q, device %q, attempt %d: %s, want %s", codes, code, device, attempt+1, v.Valid, want)
			}
		}
	})
}

// BenchmarkMDMValidateIdentity measures validateIdentity of the MDM bridge (a refusal: every
// code is compared in constant time, so refusals cost the most) against echo of the same input
// on the same adapter, which pays the same host and JSON costs without the scan, alternating
// blocks of calls so that both see the same machine. It reports both per-call times and their
// ratio (validate/echo) for a small and the largest code list.
//
//	go test ./sdk-wasm/sdktest -run '^$' -bench MDMValidateIdentity -benchtime 2000x
func BenchmarkMDMValidateIdentity(b *testing.B) {
	const block = 50
	module, _ := mdmModule(b)
	exp := time.Now().Add(time.Hour).Unix()
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("codes=%d", n), func(b *testing.B) {
			codes := make([]mdmCode, n)
			for i := range codes {
				codes[i] = mdmCode{fmt.Sprintf("CODE-%08d-XXXX", i), fmt.Sprintf("device-%d", i), exp}
			}
			a, err := adapters.Open(context.Background(), adapters.Config{Kind: "wasm", Name: "MDMBridge", Module: module,
				CacheDir: adaptertest.CompilationCacheDir(b), Limits: adapters.Limits{Instances: 1},
				Settings: map[string]string{"codes": codesSetting(b, codes...)}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { a.Close(context.Background()) })
			input := json.RawMessage(`{"deviceId":"device-1","userIdentity":{"userName":"alice"},"clientData":{"activationCode":"CODE-99999999-XXXX"}}`)
			ctx := context.Background()
			if _, err := a.Call(ctx, "validateIdentity", input); err != nil { // loads the codes
				b.Fatal(err)
			}
			var validate, echo time.Duration
			b.ResetTimer()
			for done := 0; done < b.N; done += block {
				k := min(block, b.N-done)
				t0 := time.Now()
				for range k {
					if _, err := a.Call(ctx, "validateIdentity", input); err != nil {
						b.Fatal(err)
					}
				}
				t1 := time.Now()
				for range k {
					if _, err := a.Call(ctx, "echo", input); err != nil {
						b.Fatal(err)
					}
				}
				validate += t1.Sub(t0)
				echo += time.Since(t1)
			}
			f := float64(b.N)
			b.ReportMetric(float64(validate.Nanoseconds())/f, "validate-ns/call")
			b.ReportMetric(float64(echo.Nanoseconds())/f, "echo-ns/call")
			b.ReportMetric(float64(validate)/float64(echo), "validate/echo")
		})
	}
}
