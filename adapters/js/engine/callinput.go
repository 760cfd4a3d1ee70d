package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/dop251/goja"
	"github.com/go-json-experiment/json/jsontext"
)

// callInput is what the host passes the engine's call procedure: {"procedure": name, "input":
// {...}, "state": {...}}, the input that of an adapter procedure (see sdk-wasm/ABI.md and the adapter realm's
// calls): positional parameters, the caller's identities, the realm of a login, the request.
type callInput struct {
	Procedure string
	Realm     string
	Identity  map[string]any
	Request   map[string]any
	// Params is the parameters array as JavaScript, nil when there is none; Args its elements.
	Params *goja.Object
	Args   []goja.Value
	// State is the session's script state: global name to JSON value (scriptstate.go); nil when
	// the session has none or the call has no session.
	State map[string]goja.Value
}

// decodeCall reads a call in one pass over its JSON: the parameters become JavaScript values
// as they are read, without a Go copy first.
func (e *engine) decodeCall(raw []byte) (*callInput, error) {
	d := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	ci := &callInput{}
	err := readObject(d, func(name string) error {
		switch name {
		case "procedure":
			return readString(d, &ci.Procedure)
		case "input":
			return readObject(d, func(name string) error {
				switch name {
				case "parameters":
					return e.readParameters(d, ci)
				case "realm":
					return readString(d, &ci.Realm)
				case "identity":
					return readGo(d, &ci.Identity)
				case "request":
					return readGo(d, &ci.Request)
				}
				return d.SkipValue()
			})
		case "state":
			return e.readState(d, ci)
		}
		return d.SkipValue()
	})
	if err != nil {
		return nil, fmt.Errorf("invalid call: %w", err)
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, errors.New("invalid call: text after the value")
	}
	return ci, nil
}

// readParameters reads the parameters: an array, or null.
func (e *engine) readParameters(d *jsontext.Decoder, ci *callInput) error {
	switch d.PeekKind() {
	case 'n':
		_, err := d.ReadToken()
		return err
	case '[':
	default:
		return errors.New("invalid parameters: not an array")
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	var items []any
	for d.PeekKind() != ']' {
		v, err := e.readJS(d, 1)
		if err != nil {
			return fmt.Errorf("invalid parameters: %w", err)
		}
		items = append(items, v)
		ci.Args = append(ci.Args, v)
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	ci.Params = e.vm.NewArray(items...)
	return nil
}

// readObject reads a JSON object, calling member for each member's name with the decoder at
// its value, which member must read.
func readObject(d *jsontext.Decoder, member func(name string) error) error {
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '{' {
		return fmt.Errorf("%v where an object was expected", tok.Kind())
	}
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return err
		}
		if err := member(tok.String()); err != nil {
			return err
		}
	}
	_, err = d.ReadToken()
	return err
}

func readString(d *jsontext.Decoder, into *string) error {
	tok, err := d.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '"' {
		return fmt.Errorf("%v where a string was expected", tok.Kind())
	}
	*into = tok.String()
	return nil
}

// readGo decodes the next value into a Go value with encoding/json (identities and the request
// are small, and Go code reads them).
func readGo(d *jsontext.Decoder, into any) error {
	v, err := d.ReadValue()
	if err != nil {
		return err
	}
	return json.Unmarshal(v, into)
}
