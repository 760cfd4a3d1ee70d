// Package exactjson decodes JSON into Go values as encoding/json does, except that an object
// member reaches a struct field only when its name is the field's name exactly.
//
// encoding/json also gives a field the members whose names differ from the field's in case or
// by Unicode case folding: {"Amount": 5000} and {"\u212Aey": 1} ("K", the Kelvin sign) fill the
// fields "amount" and "key". A policy (Rego) reads members by their exact names, so a client
// could send a member the policy did not see and the adapter still read. Adapters decoding with
// this package read exactly the members the policy read; the others are refused when they would
// have filled a field, and ignored or refused (Options.DisallowUnknown) otherwise.
//
// Only the member names change: values decode exactly as with encoding/json (after the check,
// encoding/json does the decoding), repeated members keep the last, and types with their own
// UnmarshalJSON decode their part of the input as they please.
package exactjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Options change how Unmarshal treats members that match no field.
type Options struct {
	// DisallowUnknown refuses members that match no field of a struct, as
	// encoding/json.Decoder.DisallowUnknownFields does. Without it they are ignored, so that an
	// input may grow members its reader does not need.
	DisallowUnknown bool
}

// MemberError is a member that does not reach a field: one whose name differs from a field's
// only in case or Unicode case folding (Field names it), or, with DisallowUnknown, one that
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

// ErrTooDeep is returned for input nested deeper than encoding/json accepts.
var ErrTooDeep = errors.New("exactjson: input nested too deeply")

// maxDepth is encoding/json's own nesting limit.
const maxDepth = 10000

// Unmarshal decodes data into v (a non-nil pointer) like json.Unmarshal, with exact member
// names and members matching no field ignored.
func Unmarshal(data []byte, v any) error {
	return Options{}.Unmarshal(data, v)
}

// Unmarshal decodes data into v (a non-nil pointer) like json.Unmarshal, with exact member
// names. A member refused by the options is a *MemberError.
func (o Options) Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return json.Unmarshal(data, v) // encoding/json's own *InvalidUnmarshalError
	}
	t := rv.Type().Elem()
	if needsCheck(t) {
		if !json.Valid(data) {
			return json.Unmarshal(data, v) // encoding/json's own *SyntaxError
		}
		c := checker{dec: json.NewDecoder(bytes.NewReader(data)), opts: o}
		c.dec.UseNumber()
		if err := c.value(t, ""); err != nil {
			return err
		}
	}
	return json.Unmarshal(data, v)
}

// checker walks the input alongside the type it decodes into.
type checker struct {
	dec   *json.Decoder
	opts  Options
	depth int
}

func (c *checker) value(t reflect.Type, path string) error {
	tok, err := c.dec.Token()
	if err != nil {
		return err
	}
	return c.valueFrom(tok, t, path)
}

// valueFrom checks the value that starts with tok; t is nil when nothing about it is checked.
func (c *checker) valueFrom(tok json.Token, t reflect.Type, path string) error {
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar: no member names in it
	}
	c.depth++
	if c.depth > maxDepth {
		return ErrTooDeep
	}
	defer func() { c.depth-- }()
	t = target(t)
	if d == '[' {
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; c.dec.More(); i++ {
			if err := c.value(elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		_, err := c.dec.Token() // ]
		return err
	}
	var fields *structFields
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = fieldsOf(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	for c.dec.More() {
		tok, err := c.dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields.exact[name]; !ok {
				if similar, ok := fields.folded[foldKey(name)]; ok {
					return &MemberError{Path: path, Member: name, Field: similar}
				}
				if c.opts.DisallowUnknown {
					return &MemberError{Path: path, Member: name}
				}
			}
		}
		if err := c.value(ft, memberPath(path, name)); err != nil {
			return err
		}
	}
	_, err := c.dec.Token() // }
	return err
}

func memberPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// target is the type whose member names are checked for a value decoded into t: pointers are
// followed; nil when nothing is checked (an interface, or a type that decodes itself).
func target(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Kind() == reflect.Interface || decodesItself(t) {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			return t
		}
		t = t.Elem()
	}
	return nil
}

func decodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(unmarshalerType) || pt.Implements(unmarshalerType) ||
		t.Implements(textUnmarshalerType) || pt.Implements(textUnmarshalerType)
}

var checkCache sync.Map // reflect.Type -> bool

// needsCheck reports whether a value of type t may hold a struct whose member names matter;
// others (maps of scalars, json.RawMessage, any) decode with encoding/json alone.
func needsCheck(t reflect.Type) bool {
	if v, ok := checkCache.Load(t); ok {
		return v.(bool)
	}
	need := reachesStruct(t, map[reflect.Type]bool{})
	checkCache.Store(t, need)
	return need
}

func reachesStruct(t reflect.Type, seen map[reflect.Type]bool) bool {
	t = target(t)
	if t == nil || seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Slice, reflect.Array, reflect.Map:
		return reachesStruct(t.Elem(), seen)
	}
	return false
}

// structFields are the member names a struct type decodes, as encoding/json finds them.
type structFields struct {
	exact  map[string]reflect.Type // member name -> field type
	folded map[string]string       // foldKey(name) -> name
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{exact: map[string]reflect.Type{}, folded: map[string]string{}}
	for _, fd := range typeFields(t) {
		f.exact[fd.name] = fd.typ
		f.folded[foldKey(fd.name)] = fd.name
	}
	fieldCache.Store(t, f)
	return f
}

type field struct {
	name   string
	typ    reflect.Type
	tagged bool
	depth  int
}

// typeFields lists the fields encoding/json decodes into for struct type t: exported fields
// under their tag's name or their own, "-" left out, the fields of untagged embedded structs
// promoted, and of several fields with one name the least nested (or the only tagged one among
// them) kept, none when that leaves a tie.
func typeFields(t reflect.Type) []field {
	type level struct {
		typ   reflect.Type
		depth int
	}
	var all []field
	visited := map[reflect.Type]bool{}
	next := []level{{t, 0}}
	for len(next) > 0 {
		current := next
		next = nil
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := 0; i < l.typ.NumField(); i++ {
				sf := l.typ.Field(i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous {
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					next = append(next, level{ft, l.depth + 1})
					continue
				}
				tagged := name != ""
				if !tagged {
					name = sf.Name
				}
				all = append(all, field{name: name, typ: sf.Type, tagged: tagged, depth: l.depth})
			}
		}
	}
	byName := map[string][]field{}
	var order []string
	for _, f := range all {
		if _, ok := byName[f.name]; !ok {
			order = append(order, f.name)
		}
		byName[f.name] = append(byName[f.name], f)
	}
	var out []field
	for _, name := range order {
		fs := byName[name]
		minDepth := fs[0].depth
		for _, f := range fs {
			minDepth = min(minDepth, f.depth)
		}
		var top, tagged []field
		for _, f := range fs {
			if f.depth == minDepth {
				top = append(top, f)
				if f.tagged {
					tagged = append(tagged, f)
				}
			}
		}
		switch {
		case len(top) == 1:
			out = append(out, top[0])
		case len(tagged) == 1:
			out = append(out, tagged[0])
		}
	}
	return out
}

// validTagName is encoding/json's rule for a tag name it uses.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// foldKey maps names that strings.EqualFold (and so encoding/json) takes for the same to one
// key: each rune becomes the smallest rune of its simple case-folding orbit.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
