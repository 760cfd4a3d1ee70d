package sdktest

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// pkiTypes are the struct types of adapters/pki.go, by name: every SDK's roundtrip procedure
// knows them by these names.
var pkiTypes = map[string]reflect.Type{
	"InitInput":               reflect.TypeFor[adapters.InitInput](),
	"UserIdentity":            reflect.TypeFor[adapters.UserIdentity](),
	"IdentityInput":           reflect.TypeFor[adapters.IdentityInput](),
	"Valid":                   reflect.TypeFor[adapters.Valid](),
	"CSRRequirements":         reflect.TypeFor[adapters.CSRRequirements](),
	"CSRInfo":                 reflect.TypeFor[adapters.CSRInfo](),
	"CSRInput":                reflect.TypeFor[adapters.CSRInput](),
	"GeneratedCertificate":    reflect.TypeFor[adapters.GeneratedCertificate](),
	"KeyInfo":                 reflect.TypeFor[adapters.KeyInfo](),
	"SigInfo":                 reflect.TypeFor[adapters.SigInfo](),
	"Issuer":                  reflect.TypeFor[adapters.Issuer](),
	"Validity":                reflect.TypeFor[adapters.Validity](),
	"Certificate":             reflect.TypeFor[adapters.Certificate](),
	"CertificateInput":        reflect.TypeFor[adapters.CertificateInput](),
	"IdentityFromCertificate": reflect.TypeFor[adapters.IdentityFromCertificate](),
}

// TestPKITypesCovered fails when adapters/pki.go gains a struct or map type that the SDKs'
// field-name check does not cover.
func TestPKITypesCovered(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "..", "adapters", "pki.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	// ClientData (any values) is checked inside the inputs that carry it.
	var inGo []string
	ast.Inspect(f, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.IsExported() && ts.Name.Name != "ClientData" {
			switch ts.Type.(type) {
			case *ast.StructType, *ast.MapType:
				inGo = append(inGo, ts.Name.Name)
			}
		}
		return true
	})
	var covered []string
	for name := range pkiTypes {
		covered = append(covered, name)
	}
	sort.Strings(inGo)
	sort.Strings(covered)
	if d := cmp.Diff(inGo, covered); d != "" {
		t.Errorf("struct types of adapters/pki.go (-) vs types the SDK check covers (+):\n%s", d)
	}
}

// filler sets every field of a value to a distinct non-zero value, with text that needs
// escaping and non-ASCII characters, so that a dropped, renamed or mangled field shows.
type filler struct{ n int }

func (f *filler) fill(v reflect.Value, path string) {
	f.n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s #%d \"ü☃😀\" \\ \n", path, f.n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(1)<<40 + int64(f.n))
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			f.fill(s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		if v.Type().Elem().Kind() == reflect.String {
			m.SetMapIndex(reflect.ValueOf("k1"), reflect.ValueOf(fmt.Sprintf("%s v1 é", path)))
			m.SetMapIndex(reflect.ValueOf("k\"2"), reflect.ValueOf("v\t2"))
		} else {
			m.SetMapIndex(reflect.ValueOf("s"), reflect.ValueOf(any("text ☃")))
			m.SetMapIndex(reflect.ValueOf("n"), reflect.ValueOf(any(-1.5e-3)))
			m.SetMapIndex(reflect.ValueOf("b"), reflect.ValueOf(any(true)))
			m.SetMapIndex(reflect.ValueOf("z"), reflect.Zero(v.Type().Elem()))
			m.SetMapIndex(reflect.ValueOf("o"), reflect.ValueOf(any(map[string]any{"a": []any{1.0, "two", nil}})))
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			f.fill(v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	default:
		panic("filler: unhandled kind " + v.Kind().String())
	}
}

// roundtrip sends a value of the named type through the guest's typed decoder and encoder.
func roundtrip(t *testing.T, a adapters.Adapter, name string, value any) []byte {
	t.Helper()
	in, err := json.Marshal(map[string]any{"type": name, "value": value})
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Call(t.Context(), "roundtrip", in)
	if err != nil {
		t.Fatalf("roundtrip %s: %v", name, err)
	}
	return out
}

// keys lists the member names of every non-empty object in a decoded JSON value, by path.
// An empty object counts as null: Go writes a nil map that is not omitempty
// (InitInput.parameters) as null, which SDKs without nil maps write as {}.
func keys(v any, path string, into map[string][]string) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return
		}
		names := make([]string, 0, len(v))
		for k, e := range v {
			names = append(names, k)
			keys(e, path+"."+k, into)
		}
		sort.Strings(names)
		into[path] = names
	case []any:
		for i, e := range v {
			keys(e, fmt.Sprintf("%s[%d]", path, i), into)
		}
	}
}

// TestPKIJSONNames checks each SDK's PKI-bridge types against adapters/pki.go: a value with
// every field set survives the guest's decoder and encoder unchanged (same names, same
// values), and the zero value comes back with exactly the members Go writes (omitempty).
func TestPKIJSONNames(t *testing.T) {
	names := make([]string, 0, len(pkiTypes))
	for name := range pkiTypes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, lang := range languages {
		t.Run(lang.Name, func(t *testing.T) {
			module, _ := example(t, lang)
			a := openWasm(t, module, adapters.Config{Name: "names"})
			for _, name := range names {
				typ := pkiTypes[name]
				t.Run(name+"/full", func(t *testing.T) {
					sample := reflect.New(typ)
					(&filler{}).fill(sample.Elem(), name)
					wantJSON, err := json.Marshal(sample.Interface())
					if err != nil {
						t.Fatal(err)
					}
					gotJSON := roundtrip(t, a, name, sample.Interface())
					var want, got any
					json.Unmarshal(wantJSON, &want)
					if err := json.Unmarshal(gotJSON, &got); err != nil {
						t.Fatalf("output %q is not JSON: %v", gotJSON, err)
					}
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("%s through the %s SDK (-Go +guest):\n%s", name, lang.Name, d)
					}
					strict := reflect.New(typ)
					if err := adaptertest.DecodeStrict(gotJSON, strict.Interface()); err != nil {
						t.Errorf("output does not decode strictly into adapters.%s: %v", name, err)
					}
				})
				t.Run(name+"/zero", func(t *testing.T) {
					zero := reflect.New(typ)
					wantJSON, _ := json.Marshal(zero.Interface())
					gotJSON := roundtrip(t, a, name, zero.Interface())
					got := reflect.New(typ)
					if err := adaptertest.DecodeStrict(gotJSON, got.Interface()); err != nil {
						t.Fatalf("output %s does not decode strictly into adapters.%s: %v", gotJSON, name, err)
					}
					if d := cmp.Diff(zero.Interface(), got.Interface(), cmpopts.EquateEmpty()); d != "" {
						t.Errorf("zero %s through the %s SDK (-Go +guest):\n%s", name, lang.Name, d)
					}
					var w, g any
					json.Unmarshal(wantJSON, &w)
					json.Unmarshal(gotJSON, &g)
					wk, gk := map[string][]string{}, map[string][]string{}
					keys(w, name, wk)
					keys(g, name, gk)
					if d := cmp.Diff(wk, gk); d != "" {
						t.Errorf("members of the zero %s (-Go +guest); omitempty differs:\n%s", name, d)
					}
				})
			}
		})
	}
}
