// Package conformance is the suite that every adapter backend and every example adapter passes,
// so that an adapter behaves the same whether it runs as a wasm module or as a plugin process
// and whatever language it is written in.
//
// [Run] checks the core procedures every conformance adapter implements (echo, fail, config,
// log) and the error contract of adapters.Adapter; [PKIBridge] checks the PKI-bridge
// procedures against the JSON shapes of adapters/pki.go.
//
// The checks report through [T], not *testing.T, so that they run in two places: under go test
// (package adapters/adaptertest adapts *testing.T) and in `hostd adapter test`, which runs them
// with this package's [Runner] and never links the testing package into the daemon.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/realmgate/realmgate/adapters"
)

// Name is the adapter name Run passes to open.
const Name = "conformance"

// Settings are the adapter settings Run passes to open; the config procedure must return them
// plus "adapter": Name.
var Settings = map[string]string{
	"greeting": "hello",
	"empty":    "",
	"unicode":  "grüße ☃ 😀",
}

// CoreProcedures are the procedures every conformance adapter implements.
var CoreProcedures = []string{"config", "echo", "fail", "log"}

// MaxInput is the input limit Run configures; Run checks that a larger input is refused.
const MaxInput = 512 << 10

// waitLog bounds how long Run waits for a log record that a backend forwards asynchronously.
// It is a guard against a hang, not a performance assertion.
const waitLog = 10 * time.Second

// Config returns the configuration Run passes to open: Name, Settings, the limits Run checks
// and a logger writing to rec. open adds what its backend needs (Kind, Module or Command,
// CacheDir) and must keep the rest.
func Config(rec *LogRecorder) adapters.Config {
	limits := adapters.DefaultLimits
	limits.MaxInput = MaxInput
	settings := make(map[string]string, len(Settings))
	for k, v := range Settings {
		settings[k] = v
	}
	return adapters.Config{
		Name:     Name,
		Settings: settings,
		Limits:   limits,
		Logger:   rec.Logger(),
	}
}

// Run runs the conformance suite against adapters opened by open. The adapter under test must
// implement the core conformance procedures:
//
//	echo   output = input, byte for byte (objects, arrays, unicode, numbers, 100 KiB inputs)
//	fail   input {"message": string} -> the call fails with Code adapter_failure and Message == message
//	config output = the adapter's configuration object: every Settings entry plus "adapter": Name
//	log    input {"msg": string, "level": "debug"|"info"|"warn"|"error"} -> one log record through
//	       the host's logger with that message and level; output {"logged": true}
//
// and Run checks: an unknown procedure fails with ErrUnknownProcedure; invalid JSON or an input
// over MaxInput fails with ErrBadInput; Procedures lists at least the core four, sorted;
// concurrent calls (16 goroutines x 20 calls) are all correct; after a failed call the next call
// works; Close then Call fails with ErrUnavailable. Errors must name the adapter and procedure.
//
// open is called twice (once for the adapter the close check closes) with the configuration
// from [Config]; it reports its own failures with t.Fatal. Run closes the adapters it opens, so
// Close must tolerate being called again if open also registers a cleanup.
func Run(t T, open func(t T, cfg adapters.Config) adapters.Adapter) {
	t.Helper()
	rec := NewLogRecorder()
	cfg := Config(rec)
	a := open(t, cfg)
	if a == nil {
		t.Fatalf("open returned a nil adapter")
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	s := &suite{a: a, rec: rec, cfg: cfg}

	t.Run("procedures", s.procedures)
	t.Run("echo", s.echo)
	t.Run("fail", s.fail)
	t.Run("config", s.config)
	t.Run("log", s.log)
	t.Run("unknown procedure", s.unknownProcedure)
	t.Run("bad input", s.badInput)
	t.Run("next call after failure", s.afterFailure)
	t.Run("concurrent calls", s.concurrent)
	t.Run("close", func(t T) {
		b := open(t, Config(NewLogRecorder()))
		if b == nil {
			t.Fatalf("open returned a nil adapter")
		}
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		closeThenCall(t, b)
	})
}

type suite struct {
	a   adapters.Adapter
	rec *LogRecorder
	cfg adapters.Config
}

func (s *suite) call(t T, procedure string, input string) (json.RawMessage, error) {
	t.Helper()
	return s.a.Call(t.Context(), procedure, json.RawMessage(input))
}

func (s *suite) procedures(t T) {
	got := s.a.Procedures()
	if !slices.IsSorted(got) {
		t.Errorf("Procedures() = %q, not sorted", got)
	}
	if c := slices.Compact(slices.Clone(got)); len(c) != len(got) {
		t.Errorf("Procedures() = %q, has duplicates", got)
	}
	for _, p := range CoreProcedures {
		if !slices.Contains(got, p) {
			t.Errorf("Procedures() = %q, lacks core procedure %q", got, p)
		}
	}
}

// EchoInputs are the inputs Run echoes, by name.
func EchoInputs() []struct{ Name, JSON string } {
	nested := strings.Repeat(`{"a":[`, 48) + `"deep"` + strings.Repeat(`]}`, 48)
	var big strings.Builder
	big.WriteString(`[`)
	for i := 0; big.Len() < 100<<10; i++ {
		if i > 0 {
			big.WriteString(",")
		}
		fmt.Fprintf(&big, `{"i":%d,"s":"item %d \u00e9\u2603","f":%d.5e-3,"ok":%t,"n":null}`, i, i, i, i%2 == 0)
	}
	big.WriteString(`]`)
	return []struct{ Name, JSON string }{
		{"empty object", `{}`},
		{"empty array", `[]`},
		{"string", `"just a string"`},
		{"literals", `[true,false,null]`},
		{"numbers", `[0,-0,1,-1,1.5,-2.25e-7,1E+300,123456789012345678901234567890,0.1000]`},
		{"object", `{"userName":"alice","attributes":{"roles":["a","b"],"level":3},"ok":true}`},
		{"unicode", `{"text":"héllo wörld ☃ 😀 日本語","escaped":"\u00e9\u2603\ud83d\ude00","ключ":"значение"}`},
		{"escapes", `{"q":"\"quoted\" \\ \/ \b\f\n\r\t \u0000 \u001f"}`},
		{"whitespace kept", " { \"a\" : [ 1 ,\n\t2 ] , \"b\" : { } } "},
		{"nested", nested},
		{"100 KiB string", `{"data":"` + strings.Repeat("0123456789abcdef", 100<<10/16) + `"}`},
		{"100 KiB array", big.String()},
	}
}

func (s *suite) echo(t T) {
	for _, tc := range EchoInputs() {
		t.Run(tc.Name, func(t T) {
			got, err := s.call(t, "echo", tc.JSON)
			if err != nil {
				t.Fatalf("echo: %v", err)
			}
			if !bytes.Equal(got, []byte(tc.JSON)) {
				t.Errorf("echo output differs from its input:\n%s", firstDifference(tc.JSON, string(got)))
			}
		})
	}
}

func (s *suite) fail(t T) {
	for _, msg := range []string{
		"no such user: bob",
		"ünïcödé message ☃ 😀",
		`quotes " and \ backslashes`,
		strings.Repeat("long message ", 200),
	} {
		in, _ := json.Marshal(map[string]string{"message": msg})
		_, err := s.call(t, "fail", string(in))
		e := CheckError(t, err, adapters.CodeFailed, s.cfg.Name, "fail")
		if e != nil && e.Message != msg {
			t.Errorf("fail: Message = %q, want the guest's message %q", e.Message, msg)
		}
	}
}

func (s *suite) config(t T) {
	out, err := s.call(t, "config", `{}`)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("config output %s is not an object of strings: %v", out, err)
	}
	want := map[string]string{"adapter": s.cfg.Name}
	for k, v := range s.cfg.Settings {
		want[k] = v
	}
	if !maps.Equal(want, got) {
		t.Errorf("config output = %q, want %q", got, want)
	}
}

func (s *suite) log(t T) {
	levels := []struct {
		name  string
		level slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
	}
	for i, lv := range levels {
		t.Run(lv.name, func(t T) {
			msg := fmt.Sprintf("conformance %s record %d ☃ %d", lv.name, i, time.Now().UnixNano())
			in, _ := json.Marshal(map[string]string{"msg": msg, "level": lv.name})
			out, err := s.call(t, "log", string(in))
			if err != nil {
				t.Fatalf("log: %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("log output %s is not a JSON object: %v", out, err)
			}
			if len(got) != 1 || got["logged"] != true {
				t.Errorf("log output = %s, want {\"logged\":true}", out)
			}
			ctx, cancel := context.WithTimeout(t.Context(), waitLog)
			defer cancel()
			match := func(e LogEntry) bool { return e.Message == msg }
			e, ok := s.rec.Wait(ctx, match)
			if !ok {
				t.Fatalf("no log record with message %q reached the host's logger; records: %+v", msg, s.rec.Entries())
			}
			if e.Level != lv.level {
				t.Errorf("log record level = %v, want %v", e.Level, lv.level)
			}
			if n := len(s.rec.Matching(match)); n != 1 {
				t.Errorf("%d log records with message %q, want 1", n, msg)
			}
		})
	}
}

func (s *suite) unknownProcedure(t T) {
	for _, name := range []string{"noSuchProcedure", "ECHO", "echo2"} {
		_, err := s.call(t, name, `{}`)
		CheckError(t, err, adapters.CodeUnknownProcedure, s.cfg.Name, name)
	}
}

func (s *suite) badInput(t T) {
	for _, tc := range []struct{ name, input string }{
		{"truncated", `{"a":`},
		{"not JSON", `not json`},
		{"empty", ``},
		{"trailing garbage", `{"a":1} x`},
		{"single quotes", `{'a':1}`},
		{"over MaxInput", `"` + strings.Repeat("x", MaxInput) + `"`},
	} {
		t.Run(tc.name, func(t T) {
			_, err := s.call(t, "echo", tc.input)
			CheckError(t, err, adapters.CodeBadInput, s.cfg.Name, "echo")
		})
	}
}

func (s *suite) afterFailure(t T) {
	for _, fail := range []struct{ procedure, input string }{
		{"fail", `{"message":"first call fails"}`},
		{"noSuchProcedure", `{}`},
		{"echo", `{"broken":`},
	} {
		if _, err := s.call(t, fail.procedure, fail.input); err == nil {
			t.Fatalf("%s(%s) succeeded, want an error", fail.procedure, fail.input)
		}
		want := `{"after":"` + fail.procedure + `"}`
		got, err := s.call(t, "echo", want)
		if err != nil {
			t.Fatalf("echo after a failed %s call: %v", fail.procedure, err)
		}
		if string(got) != want {
			t.Errorf("echo after a failed %s call = %s, want %s", fail.procedure, got, want)
		}
	}
}

func (s *suite) concurrent(t T) {
	const goroutines, calls = 16, 20
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				in := fmt.Sprintf(`{"goroutine":%d,"call":%d,"pad":"%s"}`, g, c, strings.Repeat("p", (g*calls+c)%97))
				if c%5 == 4 {
					// Interleave failures so that failure handling is exercised under load.
					msg := fmt.Sprintf("failure %d/%d", g, c)
					_, err := s.a.Call(t.Context(), "fail", json.RawMessage(`{"message":"`+msg+`"}`))
					var e *adapters.Error
					if !errors.As(err, &e) || e.Code != adapters.CodeFailed || e.Message != msg {
						t.Errorf("concurrent fail %d/%d: got %v, want adapter_failure %q", g, c, err, msg)
					}
					continue
				}
				got, err := s.a.Call(t.Context(), "echo", json.RawMessage(in))
				if err != nil {
					t.Errorf("concurrent echo %d/%d: %v", g, c, err)
					continue
				}
				if string(got) != in {
					t.Errorf("concurrent echo %d/%d = %s, want %s", g, c, got, in)
				}
			}
		}()
	}
	wg.Wait()
}

func closeThenCall(t T, a adapters.Adapter) {
	if _, err := a.Call(t.Context(), "echo", json.RawMessage(`{"before":"close"}`)); err != nil {
		t.Fatalf("echo before Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	_, err := a.Call(t.Context(), "echo", json.RawMessage(`{"after":"close"}`))
	CheckError(t, err, adapters.CodeUnavailable, Name, "echo")
	_ = a.Close(ctx) // a second Close must not panic
}

// CheckError checks that err is an *adapters.Error with the given code, that errors.Is matches
// it against the code's sentinel, and, when adapter or procedure are not empty, that it names
// them. It returns the error, or nil after reporting a mismatch.
func CheckError(t Reporter, err error, code adapters.Code, adapter, procedure string) *adapters.Error {
	t.Helper()
	if err == nil {
		t.Errorf("got no error, want %s", code)
		return nil
	}
	var e *adapters.Error
	if !errors.As(err, &e) {
		t.Errorf("error %v (%T) is not an *adapters.Error, want %s", err, err, code)
		return nil
	}
	if e.Code != code {
		t.Errorf("error code = %s (%v), want %s", e.Code, err, code)
		return nil
	}
	if !errors.Is(err, &adapters.Error{Code: code}) {
		t.Errorf("errors.Is(%v, sentinel of %s) = false", err, code)
	}
	if adapter != "" && e.Adapter != adapter {
		t.Errorf("error names adapter %q, want %q (%v)", e.Adapter, adapter, err)
	}
	if procedure != "" && e.Procedure != procedure {
		t.Errorf("error names procedure %q, want %q (%v)", e.Procedure, procedure, err)
	}
	return e
}
