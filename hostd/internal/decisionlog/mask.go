package decisionlog

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Mask operations, as OPA's mask rules name them.
const (
	OpRemove = "remove"
	OpUpsert = "upsert"
)

// MaskRule removes or replaces one part of an event, as a rule of OPA's data.system.log.mask
// does: a slash-prefixed path whose first segment is input or result ("/input/password",
// "/input/request/parameters/0/pin"), segments URL-path-escaped. Remove deletes the member or
// array element and lists the path in the event's erased; upsert sets it to Value, making the
// objects on the way, and lists it in masked. A path that is not in the event does nothing.
//
// OPA keeps its mask rules unexported (v1/plugins/logs/mask.go); this is the same rule set,
// path parsing, remove and upsert, written again here.
type MaskRule struct {
	Op    string `json:"op" yaml:"op"`
	Path  string `json:"path" yaml:"path"`
	Value any    `json:"value,omitempty" yaml:"value"`
	parts []string
}

// String is the rule's path as the event's erased or masked list names it.
func (r *MaskRule) String() string { return "/" + strings.Join(r.parts, "/") }

// ParseMaskRule parses a rule: op "" is remove.
func ParseMaskRule(op, path string, value any) (*MaskRule, error) {
	switch op {
	case "":
		op = OpRemove
	case OpRemove, OpUpsert:
	default:
		return nil, fmt.Errorf("mask %s: op %q is not remove or upsert", path, op)
	}
	if path == "" {
		return nil, errors.New("mask must be non-empty")
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("mask %q must be slash-prefixed", path)
	}
	parts := strings.Split(path[1:], "/")
	switch parts[0] {
	case "input", "result":
	default:
		return nil, fmt.Errorf("mask %q: prefix not allowed: %s (input or result)", path, parts[0])
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("mask %q: %w", path, err)
		}
		parts[i] = u
	}
	return &MaskRule{Op: op, Path: path, Value: value, parts: parts}, nil
}

// ParseMaskPaths parses remove rules from paths.
func ParseMaskPaths(paths []string) ([]*MaskRule, error) {
	out := make([]*MaskRule, 0, len(paths))
	for _, p := range paths {
		r, err := ParseMaskRule(OpRemove, p, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// DefaultMaskPaths remove the part of a policy input that a caller fills freely: the procedure
// parameters, which may carry a password, a PIN, a card number or a token an adapter needs. The
// rest of the input (the test, the realms passed, the application, the resource, the method and
// path) names no secret: the engine's input never holds a challenge answer, a credential header,
// a session id, a cookie or a token.
var DefaultMaskPaths = []string{"/input/request/parameters"}

func (r *MaskRule) apply(e *masked) {
	root := &e.Input
	if r.parts[0] == "result" {
		root = &e.Result
	}
	if *root == nil {
		return
	}
	rest := r.parts[1:]
	switch r.Op {
	case OpRemove:
		if len(rest) == 0 {
			*root = nil
		} else {
			v, ok := remove(**root, rest)
			if !ok {
				return
			}
			**root = v
		}
		e.Erased = append(e.Erased, r.String())
	case OpUpsert:
		if len(rest) == 0 {
			v := r.Value
			*root = &v
		} else if !upsert(**root, rest, r.Value) {
			return
		}
		e.Masked = append(e.Masked, r.String())
	}
}

// remove returns node with the member or element at path removed, and whether it was there.
func remove(node any, path []string) (any, bool) {
	seg := path[0]
	switch v := node.(type) {
	case map[string]any:
		c, ok := v[seg]
		if !ok {
			return node, false
		}
		if len(path) == 1 {
			delete(v, seg)
			return v, true
		}
		nc, ok := remove(c, path[1:])
		if ok {
			v[seg] = nc
		}
		return v, ok
	case []any:
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 || i >= len(v) {
			return node, false
		}
		if len(path) == 1 {
			return slices.Delete(v, i, i+1), true
		}
		nc, ok := remove(v[i], path[1:])
		if ok {
			v[i] = nc
		}
		return v, ok
	}
	return node, false
}

// upsert sets the member or element at path below node, making the objects on the way.
func upsert(node any, path []string, value any) bool {
	for _, seg := range path[:len(path)-1] {
		switch v := node.(type) {
		case map[string]any:
			c, ok := v[seg]
			if !ok {
				c = map[string]any{}
				v[seg] = c
			}
			node = c
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return false
			}
			node = v[i]
		default:
			return false
		}
	}
	last := path[len(path)-1]
	switch v := node.(type) {
	case map[string]any:
		v[last] = value
	case []any:
		i, err := strconv.Atoi(last)
		if err != nil || i < 0 || i >= len(v) {
			return false
		}
		v[i] = value
	default:
		return false
	}
	return true
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
