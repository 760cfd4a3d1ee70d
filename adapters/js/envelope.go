package js

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/realmgate/realmgate/internal/jsonvalid"
)

// errInvalidJSON is why an input or a session state cannot be passed to the engine.
var errInvalidJSON = errors.New("not one JSON value")

// callEnvelope is the engine's input {"procedure", "input", "state"}, spliced rather than
// marshalled: the input and the state, checked here, go through as they are (the engine parses
// them), which spares every call a compaction of its input by encoding/json.
func callEnvelope(procedure string, input, state json.RawMessage) ([]byte, error) {
	if !jsonvalid.Valid(input) || (len(state) > 0 && !jsonvalid.Valid(state)) {
		return nil, errInvalidJSON
	}
	name, err := json.Marshal(procedure)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(`{"procedure":,"input":,"state":}`)+len(name)+len(input)+len(state))
	b = append(b, `{"procedure":`...)
	b = append(b, name...)
	b = append(b, `,"input":`...)
	b = append(b, input...)
	if len(state) > 0 {
		b = append(b, `,"state":`...)
		b = append(b, state...)
	}
	return append(b, '}'), nil
}

// envelopeMembers reads the engine's answer {"result", "state"} as raw values as encoding/json
// would decode it into two fields (the last of a name winning, names matched without case). It checks the answer's shape only: the wasm
// backend has checked it is JSON, and a string of the result may hold what JavaScript allows and
// strict JSON does not (a lone surrogate), so the reading allows it too.
func envelopeMembers(out []byte) (result, state json.RawMessage, err error) {
	d := jsontext.NewDecoder(bytes.NewReader(out), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	tok, err := d.ReadToken()
	if err != nil {
		return nil, nil, err
	}
	if tok.Kind() != '{' {
		return nil, nil, errors.New("the answer is not an object")
	}
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, nil, err
		}
		name := tok.String()
		v, err := d.ReadValue()
		if err != nil {
			return nil, nil, err
		}
		switch {
		case strings.EqualFold(name, "result"):
			result = bytes.Clone(v)
		case strings.EqualFold(name, "state"):
			state = bytes.Clone(v)
		}
	}
	return result, state, nil
}
