package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/go-json-experiment/json/jsontext"
)

// A call's parameters reach the script as plain JavaScript values: objects and arrays of the
// runtime's own kind, which adapters may modify and stringify, with members in the order the
// JSON has them, as JSON.parse makes them. Building them from jsontext's tokens costs a fraction
// of goja's JSON.parse (which decodes the text rune by rune through a UTF-16 reader), and under
// wasm every cycle counts many times over.

// maxJSONDepth bounds the nesting of the JSON jsonToJS builds, as the host's input bound does
// its size: the builder recurses once per level.
const maxJSONDepth = 1000

// jsonToJS builds the JavaScript value of one JSON text.
func (e *engine) jsonToJS(data []byte) (goja.Value, error) {
	d := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	v, err := e.readJS(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, errors.New("invalid JSON: text after the value")
	}
	return v, nil
}

func (e *engine) readJS(d *jsontext.Decoder, depth int) (goja.Value, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("invalid JSON: nested more than %d levels", maxJSONDepth)
	}
	tok, err := d.ReadToken()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	switch tok.Kind() {
	case 'n':
		return goja.Null(), nil
	case 't', 'f':
		return e.vm.ToValue(tok.Bool()), nil
	case '"':
		return e.vm.ToValue(tok.String()), nil
	case '0':
		f, err := tok.Float()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		return e.vm.ToValue(f), nil
	case '[':
		var items []any
		for d.PeekKind() != ']' {
			v, err := e.readJS(d, depth+1)
			if err != nil {
				return nil, err
			}
			items = append(items, v)
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		return e.vm.NewArray(items...), nil
	case '{':
		obj := e.vm.NewObject()
		for d.PeekKind() != '}' {
			tok, err := d.ReadToken()
			if err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			name := tok.String() // before the next read voids tok
			v, err := e.readJS(d, depth+1)
			if err != nil {
				return nil, err
			}
			if err := obj.Set(name, v); err != nil {
				return nil, err
			}
		}
		if _, err := d.ReadToken(); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		return obj, nil
	}
	return nil, fmt.Errorf("invalid JSON: unexpected %v", tok.Kind())
}

// goToJS builds the JavaScript value of a JSON-shaped Go value (what encoding/json decodes into
// an any, or builds for invokeHttp's results): objects with their members in name order, as
// encoding/json writes them.
func (e *engine) goToJS(v any, depth int) (goja.Value, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nested more than %d levels", maxJSONDepth)
	}
	switch v := v.(type) {
	case nil:
		return goja.Null(), nil
	case bool, string, float64, int, int64:
		return e.vm.ToValue(v), nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, err
		}
		return e.vm.ToValue(f), nil
	case []any:
		items := make([]any, len(v))
		for i, x := range v {
			jv, err := e.goToJS(x, depth+1)
			if err != nil {
				return nil, err
			}
			items[i] = jv
		}
		return e.vm.NewArray(items...), nil
	case map[string]any:
		obj := e.vm.NewObject()
		for _, k := range slices.Sorted(maps.Keys(v)) {
			jv, err := e.goToJS(v[k], depth+1)
			if err != nil {
				return nil, err
			}
			if err := obj.Set(k, jv); err != nil {
				return nil, err
			}
		}
		return obj, nil
	}
	// Anything else (a struct, a typed map or slice) goes through its JSON.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return e.jsonToJS(b)
}

// errSlowPath says that a value needs JSON.stringify itself: an object with a toJSON method, a
// Date, a wrapper object, a Go value, or nesting deep enough to be a cycle.
var errSlowPath = errors.New("the value needs JSON.stringify")

// stringifyJS is JSON.stringify(v) (ok false for undefined). Plain objects, arrays and primitives
// are written from Go, in goja's own member order and number format; anything else goes through
// goja's JSON.stringify, whose quoting (rune by rune) costs most of an echo call otherwise.
func (e *engine) stringifyJS(v goja.Value) (out []byte, ok bool, err error) {
	out, ok, err = e.appendJS(nil, v, 0)
	if err == nil {
		return out, ok, nil
	}
	if !errors.Is(err, errSlowPath) {
		return nil, false, err
	}
	s, err := e.stringify(goja.Undefined(), v)
	if err != nil {
		return nil, false, jsError(err)
	}
	if goja.IsUndefined(s) {
		return nil, false, nil
	}
	return []byte(s.String()), true, nil
}

// appendJS appends the JSON of v to b; ok is false when JSON.stringify would leave v out
// (undefined, a function, a symbol).
func (e *engine) appendJS(b []byte, v goja.Value, depth int) ([]byte, bool, error) {
	if depth > 64 {
		return nil, false, errSlowPath
	}
	switch {
	case v == nil || goja.IsUndefined(v):
		return b, false, nil
	case goja.IsNull(v):
		return append(b, "null"...), true, nil
	}
	if _, isSym := v.(*goja.Symbol); isSym {
		return b, false, nil
	}
	obj, isObj := v.(*goja.Object)
	if !isObj {
		return e.appendPrimitive(b, v)
	}
	if _, isFn := goja.AssertFunction(v); isFn {
		return b, false, nil
	}
	if t := obj.Get("toJSON"); t != nil && !goja.IsUndefined(t) {
		return nil, false, errSlowPath
	}
	switch obj.ClassName() {
	case "Array":
		b = append(b, '[')
		n := obj.Get("length").ToInteger()
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			var err error
			if b, ok, err = e.appendJS(b, obj.Get(strconv.FormatInt(i, 10)), depth+1); err != nil {
				return nil, false, err
			}
			if !ok {
				b = append(b, "null"...)
			}
		}
		return append(b, ']'), true, nil
	case "Object":
		b = append(b, '{')
		first := true
		for _, k := range obj.Keys() {
			mark := len(b)
			if !first {
				b = append(b, ',')
			}
			var err error
			if b, err = jsontext.AppendQuote(b, k); err != nil {
				return nil, false, errSlowPath
			}
			b = append(b, ':')
			var ok bool
			if b, ok, err = e.appendJS(b, obj.Get(k), depth+1); err != nil {
				return nil, false, err
			}
			if !ok {
				b = b[:mark] // JSON.stringify leaves the member out
				continue
			}
			first = false
		}
		return append(b, '}'), true, nil
	}
	return nil, false, errSlowPath
}

// appendPrimitive appends the JSON of a value that is not an object.
func (e *engine) appendPrimitive(b []byte, v goja.Value) ([]byte, bool, error) {
	switch x := v.Export().(type) {
	case bool:
		return strconv.AppendBool(b, x), true, nil
	case int64:
		return strconv.AppendInt(b, x, 10), true, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...), true, nil
		}
		return append(b, v.String()...), true, nil // JavaScript's number format
	case string:
		if strings.ContainsRune(x, utf8.RuneError) {
			return nil, false, errSlowPath // maybe a lone surrogate, which JSON.stringify escapes
		}
		q, err := jsontext.AppendQuote(b, x)
		if err != nil {
			return nil, false, errSlowPath
		}
		return q, true, nil
	}
	return nil, false, errSlowPath // a symbol, a big integer
}
