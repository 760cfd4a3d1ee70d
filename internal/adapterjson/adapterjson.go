// Package adapterjson decodes the JSON input of an adapter procedure into Go values for the
// guest SDK (sdk-wasm/go/realmgate) and the plugin SDK (plugins/sdk).
//
// Decoding is JSON v2's (github.com/go-json-experiment/json, the Go team's implementation of
// encoding/json/v2) with its default options: a member reaches a struct field only under the
// field's exact name, a repeated member and invalid UTF-8 are refused, and DecodeStrict refuses
// members that match no field (json.RejectUnknownMembers). encoding/json (v1) also fills the
// field "amount" from a member "Amount" (or "key" from "\u212Aey", the Kelvin sign), while a
// policy (Rego) reads members by their exact names; with exact names an adapter reads exactly
// the members its policy read.
//
// The library ignores an unknown member unless told to refuse them all, and so would silently
// drop a member whose name differs from a field's only by Unicode case folding. Such a member
// is almost always a client's mistake or a probe for a case-insensitive reader, so this package
// refuses it with a *MemberError naming the field. That check asks the library itself which
// names a struct decodes (a pass with json.MatchCaseInsensitiveNames, then probes with exact
// names) instead of restating its field rules; it can only refuse input, never change what a
// field receives, which is always the exact-name decoding.
package adapterjson

import (
	"encoding"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MemberError is a member that does not reach a field: one whose name differs from a field's
// only in case or Unicode case folding (Field names it), or, with DecodeStrict, one that
// matches no field at all (Field is empty).
type MemberError struct {
	// Path locates the object holding the member, as in "[0].payee" ("" for the top level).
	Path string
	// Member is the member's name as sent.
	Member string
	// Field is the name of the field it resembles, when it resembles one.
	Field string
}

func (e *MemberError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString("unknown member ")
	b.WriteString(quote(e.Member))
	if e.Field != "" {
		b.WriteString(" (member names are case-sensitive: the field is ")
		b.WriteString(quote(e.Field))
		b.WriteString(")")
	}
	return b.String()
}

// quote quotes a member name for a message, cut to a length a person can read.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

// Decode decodes data into a T with exact member names: members that match no field are
// ignored, a member that resembles a field (differs only by case folding) is a *MemberError.
// Other errors are the library's (*json.SemanticError, *jsontext.SyntacticError).
func Decode[T any](data []byte) (T, error) {
	return decode[T](data, false)
}

// DecodeStrict is Decode that also refuses, with a *MemberError, a member that matches no
// field of a struct.
func DecodeStrict[T any](data []byte) (T, error) {
	return decode[T](data, true)
}

func decode[T any](data []byte, strict bool) (T, error) {
	var v T
	if u, ok := any(&v).(json.Unmarshaler); ok && !decodesFromDecoder(&v) && jsontext.Value(data).IsValid() {
		// As with encoding/json, a type that decodes itself gets the whole input and its error
		// is returned as it is (the library would wrap it in a *json.SemanticError).
		return v, u.UnmarshalJSON(data)
	}
	// Most inputs hold only members their type knows: one strict decoding settles them.
	err := json.Unmarshal(data, &v, json.RejectUnknownMembers(true))
	if err == nil {
		return v, nil
	}
	serr, unknown := unknownMember(err)
	if !unknown {
		return v, err
	}
	if strict {
		name := serr.JSONPointer.LastToken()
		return v, &MemberError{
			Path:   path(serr.JSONPointer.Parent()),
			Member: name,
			Field:  similarField(serr.GoType, name),
		}
	}
	// An unknown member: look for one that resembles a field anywhere in the input, then decode
	// afresh, ignoring unknown members.
	if err := checkNames(data, reflect.TypeFor[T]()); err != nil {
		return v, err
	}
	var fresh T
	err = json.Unmarshal(data, &fresh)
	return fresh, err
}

func decodesFromDecoder(v any) bool {
	_, ok := v.(json.UnmarshalerFrom)
	return ok
}

// unknownMember reports whether err is the library's error for an unknown member.
func unknownMember(err error) (*json.SemanticError, bool) {
	var serr *json.SemanticError
	if errors.As(err, &serr) && serr.Err == json.ErrUnknownName {
		return serr, true
	}
	return nil, false
}

// checkNames decodes data into a throwaway value of type t with case-insensitive member names,
// so that the library routes a member that resembles a field to that field, and refuses the
// first such member whose name is not the field's exact name. Errors of any other kind are
// left to the exact decoding that follows, which meets them too.
func checkNames(data []byte, t reflect.Type) error {
	c := &nameCheck{data: data}
	err := json.Unmarshal(data, reflect.New(t).Interface(),
		json.MatchCaseInsensitiveNames(true),
		jsontext.AllowDuplicateNames(true), // "amount" and "Amount" in one object: refuse "Amount" below
		json.WithUnmarshalers(json.UnmarshalFromFunc(c.visit)))
	var me *MemberError
	if errors.As(err, &me) {
		return me
	}
	return nil
}

// nameCheck follows a decoding: parents[d] is the struct type whose JSON object is open at
// decoder depth d (nil when that level is not a struct).
type nameCheck struct {
	data    []byte
	parents []reflect.Type
}

// visit runs before the library decodes each value (v points to where it goes); it returns
// errors.ErrUnsupported to let the library decode it.
func (c *nameCheck) visit(dec *jsontext.Decoder, v any) error {
	d := dec.StackDepth()
	if d > 0 && d < len(c.parents) && c.parents[d] != nil {
		if kind, _ := dec.StackIndex(d); kind == '{' {
			name := c.lastName(dec)
			if !exactName(c.parents[d], name) {
				if field := similarField(c.parents[d], name); field != "" {
					return &MemberError{Path: path(dec.StackPointer().Parent()), Member: name, Field: field}
				}
				// Routed here only by the library's looser folding (it also ignores '-' and
				// '_'); the exact decoding ignores it.
				return dec.SkipValue()
			}
		}
	}
	t := reflect.TypeOf(v).Elem()
	if !reachesStruct(t) {
		return dec.SkipValue() // no member name in it matters, and the value is thrown away
	}
	for len(c.parents) <= d+1 {
		c.parents = append(c.parents, nil)
	}
	// A field of pointer type is visited twice at one depth, the pointer then what it points
	// to: the last visit says what the value's object is.
	c.parents[d+1] = nil
	if t.Kind() == reflect.Struct {
		c.parents[d+1] = t
	}
	return errors.ErrUnsupported
}

var reachCache sync.Map // reflect.Type -> bool

// reachesStruct reports whether a value of type t may hold a struct (that does not decode
// itself) whose member names matter; an interface holds none, since the library decodes JSON
// into an interface as maps, slices and scalars.
func reachesStruct(t reflect.Type) bool {
	if r, ok := reachCache.Load(t); ok {
		return r.(bool)
	}
	r := reaches(t, map[reflect.Type]bool{})
	reachCache.Store(t, r)
	return r
}

func reaches(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if seen[t] {
		return false // already being looked at, higher up
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Struct:
		return !decodesItself(t)
	case reflect.Slice, reflect.Array, reflect.Map:
		return !decodesItself(t) && reaches(t.Elem(), seen)
	}
	return false
}

// lastName returns the name of the member whose value the decoder is about to read. It is the
// last token read, so the input up to the decoder's offset ends with it; reading it there
// costs its length, where dec.StackPointer costs the whole path, every level of it.
func (c *nameCheck) lastName(dec *jsontext.Decoder) string {
	end := int(dec.InputOffset())
	if end >= 2 && end <= len(c.data) && c.data[end-1] == '"' {
		for start := end - 2; start >= 0; start-- {
			if c.data[start] != '"' {
				continue
			}
			backslashes := 0
			for i := start - 1; i >= 0 && c.data[i] == '\\'; i-- {
				backslashes++
			}
			if backslashes%2 == 1 {
				continue // an escaped quote inside the name
			}
			if name, err := jsontext.AppendUnquote(nil, c.data[start:end]); err == nil {
				return string(name)
			}
			break
		}
	}
	return dec.StackPointer().LastToken()
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	unmarshalerFromType = reflect.TypeFor[json.UnmarshalerFrom]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodesItself reports whether a struct type has its own decoding method: its member names
// are its own business.
func decodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(unmarshalerFromType) || pt.Implements(textUnmarshalerType)
}

// exactName reports whether the library, matching names exactly, decodes a member called name
// into a field of struct type t.
func exactName(t reflect.Type, name string) bool {
	if _, ok := fieldNames(t)[name]; ok {
		return true
	}
	return knownName(t, name) // a field tagged case:ignore, or an embedded fallback
}

// similarField returns the field of struct type t whose name equals name under Unicode case
// folding, "" when there is none.
func similarField(t reflect.Type, name string) string {
	for _, f := range fieldNames(t).sorted() {
		if strings.EqualFold(f, name) && f != name {
			return f
		}
	}
	return ""
}

type names map[string]struct{}

// sorted returns the names in order: of several fields equal under folding (rare), a message
// names always the same one.
func (n names) sorted() []string { return slices.Sorted(maps.Keys(n)) }

var fieldCache sync.Map // reflect.Type -> names

// fieldNames returns the member names the library decodes into fields of struct type t, with
// exact matching. Candidates are the names the fields' tags or Go names could give (through
// embedded structs too); the library keeps those it actually decodes, so that its rules for
// unexported, ignored, shadowed and embedded fields are not restated here.
func fieldNames(t reflect.Type) names {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	if n, ok := fieldCache.Load(t); ok {
		return n.(names)
	}
	n := names{}
	for _, c := range candidates(t, map[reflect.Type]bool{}) {
		if _, ok := n[c]; !ok && knownName(t, c) {
			n[c] = struct{}{}
		}
	}
	fieldCache.Store(t, n)
	return n
}

func candidates(t reflect.Type, seen map[reflect.Type]bool) []string {
	if seen[t] {
		return nil
	}
	seen[t] = true
	var out []string
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" {
			name = sf.Name
		}
		out = append(out, name)
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if sf.Anonymous && ft.Kind() == reflect.Struct {
			out = append(out, candidates(ft, seen)...)
		}
	}
	return out
}

// skipValues decodes every value below the top level by skipping it, so that a probe tries a
// member name without running any decoding method of the field's type.
var skipValues = json.WithUnmarshalers(json.UnmarshalFromFunc(func(dec *jsontext.Decoder, _ any) error {
	if dec.StackDepth() == 0 {
		return errors.ErrUnsupported
	}
	return dec.SkipValue()
}))

// knownName asks the library whether it decodes a member called name into struct type t when
// it matches names exactly and refuses unknown members.
func knownName(t reflect.Type, name string) bool {
	key, err := jsontext.AppendQuote(nil, name)
	if err != nil {
		return false
	}
	probe := append(append([]byte{'{'}, key...), []byte(":null}")...)
	_, unknown := unknownMember(json.Unmarshal(probe, reflect.New(t).Interface(), json.RejectUnknownMembers(true), skipValues))
	return !unknown
}

// path renders a JSON Pointer for a message: "/parameters/0/to" as "parameters[0].to".
// Array indexes and member names made of digits look alike there.
func path(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if isIndex(tok) {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func isIndex(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
