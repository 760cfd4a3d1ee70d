package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// maxParamDepth bounds the nesting of a procedure call's body; parameters are records, not
// trees.
const maxParamDepth = 64

// decodeProcedureCall reads the body of a procedure call, {"parameters": [...]}, into the one
// value that both the policy (input.request.parameters) and the adapter (the JSON encoding of
// the same value) receive, so that the two cannot read different members.
//
// It refuses (400) what one JSON reader and another could read differently: bytes that are not
// UTF-8 (replaced by U+FFFD by some readers, refused by others), a repeated member (the first
// wins for some readers, the last for others), and two members of one object whose names are
// equal under Unicode case folding or compatibility normalisation ("amount" and "Amount",
// "key" and "\u212Aey", "café" composed and decomposed, "amount" and its full-width form):
// readers that fold names (Go's encoding/json does) would take either for the other. A single
// member keeps its name exactly; it is a different member from any other spelling, for the
// policy and for adapters, whose SDKs match member names exactly. Numbers keep the digits the
// client sent. Members of the body other than "parameters" are refused.
func decodeProcedureCall(body []byte) ([]any, error) {
	if !utf8.Valid(body) {
		return nil, newError(codeBadRequest, "the request body is not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	d := paramDecoder{dec: dec}
	v, err := d.value("", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, newError(codeBadRequest, "the request body holds more than one JSON value")
	}
	call, ok := v.(map[string]any)
	if !ok {
		return nil, newError(codeBadRequest, `the body must be {"parameters": [...]}`)
	}
	for k := range call {
		if k != "parameters" {
			return nil, newError(codeBadRequest, `the body must be {"parameters": [...]}: unknown member `+quoteName(k))
		}
	}
	switch p := call["parameters"].(type) {
	case nil:
		return []any{}, nil
	case []any:
		return p, nil
	}
	return nil, newError(codeBadRequest, `"parameters" must be an array`)
}

type paramDecoder struct {
	dec  *json.Decoder
	fold *cases.Caser // made for the first name that is not ASCII
}

// value reads one JSON value at path.
func (d *paramDecoder) value(path string, depth int) (any, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if depth >= maxParamDepth {
		return nil, newError(codeBadRequest, "the parameters are nested more than "+strconv.Itoa(maxParamDepth)+" levels deep")
	}
	if delim == '[' {
		arr := []any{}
		for d.dec.More() {
			v, err := d.value(path+"["+strconv.Itoa(len(arr))+"]", depth+1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := d.dec.Token(); err != nil {
			return nil, syntaxError(err)
		}
		return arr, nil
	}
	obj := map[string]any{}
	simple := map[string]string{} // simpleFold(name) -> name
	full := map[string]string{}   // fullFold(name) -> name
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		name, _ := tok.(string)
		if _, dup := obj[name]; dup {
			return nil, newError(codeBadRequest, at(path)+"member "+quoteName(name)+" is repeated: send it once")
		}
		for _, c := range []struct {
			seen map[string]string
			key  string
		}{{simple, simpleFold(name)}, {full, d.fullFold(name)}} {
			if other, ok := c.seen[c.key]; ok {
				return nil, newError(codeBadRequest, at(path)+"members "+quoteName(other)+" and "+quoteName(name)+
					" differ only in case or Unicode form, so readers may take one for the other: send one")
			}
			c.seen[c.key] = name
		}
		v, err := d.value(memberPath(path, name), depth+1)
		if err != nil {
			return nil, err
		}
		obj[name] = v
	}
	if _, err := d.dec.Token(); err != nil {
		return nil, syntaxError(err)
	}
	return obj, nil
}

// simpleFold is the key strings.EqualFold compares by (and encoding/json's field matching): each
// rune becomes the smallest rune of its simple case-folding orbit (for ASCII, the upper case).
func simpleFold(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		out = append(out, least)
	}
	return string(out)
}

// fullFold is NFKC applied around full Unicode case folding: names that differ in case, in
// composition, or in compatibility forms (full-width letters, ligatures, the Kelvin and ohm
// signs) get one key.
func (d *paramDecoder) fullFold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s) // what folding and NFKC make of ASCII, without their cost
	}
	if d.fold == nil {
		f := cases.Fold()
		d.fold = &f
	}
	return norm.NFKC.String(d.fold.String(norm.NFKC.String(s)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return newError(codeBadRequest, "the request body is not valid JSON (byte "+strconv.FormatInt(se.Offset, 10)+")")
	}
	return newError(codeBadRequest, "the request body is not valid JSON")
}

func memberPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func at(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

// quoteName quotes a client's member name for a message, cut to a readable length.
func quoteName(s string) string {
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
