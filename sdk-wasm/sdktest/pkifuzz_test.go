package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzCPKIDecode holds the C SDK's typed decoder of the PKI-bridge objects (rg_decode, driven by
// the field tables of sdk-wasm/c/src/pki.c) and its encoder (rg_encode) to the Go types of
// adapters/pki.go. The fuzzer's JSON goes through the bare host to the example's roundtrip
// procedure as {"type": NAME, "value": JSON}, for one of the types; a reference decoder written
// here from the types says what the guest must do:
//
//   - a member reaches a field only under the field's exact JSON name; other members are
//     ignored; null leaves a field's zero value;
//   - a string field takes a string, an int64 field an integer literal in range, a struct
//     field an object, a map of strings (the init input, additionalSubject,
//     additionalAttributes) an object whose members are all strings, an array of strings
//     (dnsNames, emails) an array whose elements are all strings, a map of anything
//     (attributes, clientData) any object;
//   - anything else is refused with an error, never a trap, and what is accepted comes back as
//     Go's encoding/json writes the decoded value (member for member, numbers spelled the same).
//
// Inputs the guest reads by other rules are left out, not judged: invalid JSON (FuzzCJSON's
// domain), nesting beyond the parser's limit, repeated member names (the C parser keeps them
// all; Go keeps the last) and member names that differ from a field's only in case
// (encoding/json would fill the field; the SDK, like every SDK here, matches exact names).
//
//	go test ./sdk-wasm/sdktest -run '^$' -fuzz FuzzCPKIDecode -fuzztime 60s
func FuzzCPKIDecode(f *testing.F) {
	var lang language
	for _, l := range languages {
		if l.Name == "c" {
			lang = l
		}
	}
	_, wasm := example(f, lang)
	h := newBareHost(f, wasm, nil)
	in := h.instance(f)

	names := make([]string, 0, len(pkiTypes))
	for name := range pkiTypes {
		names = append(names, name)
	}
	slices.Sort(names)
	fieldNames := map[string]map[string]bool{} // by type: the member names of its fields
	for name, typ := range pkiTypes {
		fieldNames[name] = map[string]bool{}
		jsonNames(typ, fieldNames[name])
	}

	for i, name := range names {
		sample := reflect.New(pkiTypes[name])
		(&filler{}).fill(sample.Elem(), name)
		full, err := json.Marshal(sample.Interface())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), full)
		f.Add(uint8(i), []byte(`{}`))
		f.Add(uint8(i), []byte(`null`))
		f.Add(uint8(i), []byte(`[]`))
	}
	for _, s := range []string{
		`{"deviceId":1}`, `{"deviceId":null,"userIdentity":null,"appId":"a"}`,
		`{"userIdentity":{"userName":"u","attributes":[1]}}`, `{"userIdentity":"u"}`,
		`{"version":9223372036854775807}`, `{"version":9223372036854775808}`,
		`{"version":-9223372036854775808}`, `{"version":-9223372036854775809}`,
		`{"version":1.0}`, `{"version":1e2}`, `{"version":-0}`, `{"version":"1"}`,
		`{"valid":{"notBefore":1,"notAfter":-1}}`, `{"valid":{"notBefore":0.5}}`,
		`{"a":"b","c":"d"}`, `{"a":null}`, `{"a":1}`, `{"a":{"b":"c"}}`,
		`{"additionalSubject":{"O":"IBM"},"additionalAttributes":{"challengePassword":null}}`,
		`{"csrInfo":{"dnsNames":["a",null]}}`, `{"csrInfo":{"emails":"a@b"}}`, `{"csrInfo":{"dnsNames":[]}}`,
		`{"clientData":{"x":[1,{"y":null}]},"cn":"\u00fc\ud83d\ude00\u2028"}`, `{"clientData":[]}`,
		`{"cn":"\ud800"}`, "{\"cn\":\"\xff\"}", `{"issuer":{"uniqueId":""},"subjectUniqueId":""}`,
	} {
		for i := range names {
			f.Add(uint8(i), []byte(s))
		}
	}

	f.Fuzz(func(t *testing.T, which uint8, value []byte) {
		name := names[int(which)%len(names)]
		typ := pkiTypes[name]
		if !json.Valid(value) || depth(value)+1 > guestMaxDepth || !plainMembers(value, fieldNames[name]) {
			return
		}
		input := append(append([]byte(`{"type":"`+name+`","value":`), value...), '}')
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, _, err := in.call(ctx, "roundtrip", input)
		var ge *guestError
		if err != nil && !errors.As(err, &ge) {
			in = h.instance(t) // a trap: the instance is unusable; that is the bug
			t.Fatalf("roundtrip %s %.300q broke the ABI: %v", name, value, err)
		}
		var v any
		if err := decodeNumbers(value, &v); err != nil {
			t.Fatalf("decoding valid JSON %q: %v", value, err)
		}
		if why := refuses(typ, v, name); why != "" {
			if err == nil {
				t.Fatalf("%s %.300q: accepted (%.300q), want a refusal: %s", name, value, out, why)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s %.300q: refused (%v), want it accepted", name, value, err)
		}
		goValue := reflect.New(typ)
		if err := json.Unmarshal(value, goValue.Interface()); err != nil {
			t.Fatalf("%s %.300q: the reference accepts it, encoding/json does not: %v", name, value, err)
		}
		wantJSON, err := json.Marshal(goValue.Interface())
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(out) || !json.Valid(out) {
			t.Fatalf("%s %.300q: wrote %.300q, not valid UTF-8 JSON", name, value, out)
		}
		var want, got any
		if err := decodeNumbers(wantJSON, &want); err != nil {
			t.Fatal(err)
		}
		if err := decodeNumbers(out, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(emptyAsNull(want), emptyAsNull(got)) {
			t.Fatalf("%s %.300q: guest wrote %.300q, Go writes %.300q", name, value, out, wantJSON)
		}
	})
}

// refuses says why the typed decoder must refuse v (decoded with UseNumber) as a value of typ,
// or "" when it must accept it.
func refuses(typ reflect.Type, v any, path string) string {
	if v == nil {
		return "" // null leaves the zero value
	}
	switch typ.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			return path + ": not a string"
		}
	case reflect.Int, reflect.Int64: // Go's int is 64 bits wide where these tests run
		n, ok := v.(json.Number)
		if !ok {
			return path + ": not a number"
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err != nil {
			return path + ": not an int64 literal"
		}
	case reflect.Slice: // []string
		a, ok := v.([]any)
		if !ok {
			return path + ": not an array"
		}
		for i, e := range a {
			if _, ok := e.(string); !ok {
				return fmt.Sprintf("%s[%d]: not a string", path, i)
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return path + ": not an object"
		}
		if typ.Elem().Kind() == reflect.String {
			for k, e := range m {
				if _, ok := e.(string); !ok {
					return path + "." + k + ": not a string"
				}
			}
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return path + ": not an object"
		}
		for k, e := range m {
			if ft, ok := fieldByJSONName(typ, k); ok {
				if why := refuses(ft, e, path+"."+k); why != "" {
					return why
				}
			}
		}
	default:
		panic("refuses: unhandled kind " + typ.Kind().String())
	}
	return ""
}

// fieldByJSONName finds the field of a struct that a member named name fills, looking into
// embedded structs as encoding/json does (CertificateInput's Certificate).
func fieldByJSONName(typ reflect.Type, name string) (reflect.Type, bool) {
	for i := range typ.NumField() {
		sf := typ.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous && tag == "" {
			if ft, ok := fieldByJSONName(sf.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag == "" {
			tag = sf.Name
		}
		if tag == name {
			return sf.Type, true
		}
	}
	return nil, false
}

// jsonNames adds the JSON member names of typ's fields, and of the structs in it, to into.
func jsonNames(typ reflect.Type, into map[string]bool) {
	if typ.Kind() != reflect.Struct {
		return
	}
	for i := range typ.NumField() {
		sf := typ.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.Anonymous || tag != "" {
			if tag == "" {
				tag = sf.Name
			}
			into[tag] = true
		}
		jsonNames(sf.Type, into)
	}
}

// plainMembers reports whether valid JSON names no member twice in one object and no member
// whose name differs from a field's only in case: the inputs on which exact-name matching and
// encoding/json agree.
func plainMembers(b []byte, fieldNames map[string]bool) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	type object struct {
		seen   map[string]bool
		expect bool // the next string token is a member name
	}
	var stack []*object
	for {
		tok, err := d.Token()
		if err != nil {
			return true // io.EOF: json.Valid has checked the rest
		}
		var top *object
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.expect {
			if top.seen[s] {
				return false
			}
			top.seen[s] = true
			top.expect = false
			for name := range fieldNames {
				if s != name && strings.EqualFold(s, name) {
					return false
				}
			}
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &object{seen: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &object{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object, the next token is a member name.
		if len(stack) > 0 && stack[len(stack)-1].seen != nil {
			stack[len(stack)-1].expect = true
		}
	}
}

func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// emptyAsNull replaces empty objects and arrays by nil, recursively: Go writes a nil map or
// slice that is not omitempty as null where the guest writes {} (as TestPKIJSONNames allows).
func emptyAsNull(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return nil
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = emptyAsNull(e)
		}
		return out
	case []any:
		if len(v) == 0 {
			return nil
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = emptyAsNull(e)
		}
		return out
	}
	return v
}
