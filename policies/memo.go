package policies

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// keyBuffers hold the bytes of memo keys between decisions, so that a decision answered from the
// memo allocates nothing for its key.
var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// maxPooledKey bounds the buffers kept for keys: one grown by a request with large facts that the
// policies read whole is left to the garbage collector.
const maxPooledKey = 64 << 10

// appendKey appends to b the memo key of in: the values of the input paths the policies read
// (Evaluator.deps), each ended by a zero byte, and reports false when a value cannot be encoded
// (the decision is then evaluated, not memoized). Two inputs get the same key only if OPA sees the
// same values at every one of those paths:
//   - a path that leads nowhere ("u") differs from one that leads to null ("n"): Rego tells them
//     apart (`not input.request.flag` holds when flag is missing, not when it is null);
//   - a path that goes on past a value that is not an object (a string field, a map[string]string
//     of request facts, a struct) encodes that whole value with the depth it stopped at ("w"),
//     since OPA converts such values through JSON and may find the rest of the path inside.
func (e *Evaluator) appendKey(b []byte, in *Input) ([]byte, bool) {
	for _, p := range e.deps {
		var ok bool
		if b, ok = appendInputPath(b, in, p); !ok {
			return b, false
		}
		b = append(b, 0)
	}
	return b, true
}

// appendInputPath appends the encoding of what input path p (p[0] a member of the input object)
// leads to.
func appendInputPath(b []byte, in *Input, p []string) ([]byte, bool) {
	switch p[0] {
	case "test":
		return appendStringAt(b, p, 1, in.Test), true
	case "passed":
		if len(p) > 1 {
			b = appendStopped(b, 1)
		}
		return appendStrings(b, in.Passed), true
	case "app":
		if len(p) == 1 {
			b = append(b, '{')
			b = appendLenPrefixed(b, ':', in.App.ID)
			b = appendLenPrefixed(b, ':', in.App.Env)
			return appendLenPrefixed(b, ':', in.App.Version), true
		}
		switch p[1] {
		case "id":
			return appendStringAt(b, p, 2, in.App.ID), true
		case "env":
			return appendStringAt(b, p, 2, in.App.Env), true
		case "version":
			return appendStringAt(b, p, 2, in.App.Version), true
		}
	case "resource":
		if len(p) == 1 {
			b = append(b, '{')
			b = appendLenPrefixed(b, ':', in.Resource.Kind)
			b = appendLenPrefixed(b, ':', in.Resource.Name)
			return appendValue(b, in.Resource.Attributes)
		}
		switch p[1] {
		case "kind":
			return appendStringAt(b, p, 2, in.Resource.Kind), true
		case "name":
			return appendStringAt(b, p, 2, in.Resource.Name), true
		case "attributes":
			return appendMapPath(b, in.Resource.Attributes, p[2:])
		}
	case "request":
		return appendMapPath(b, in.Request, p[1:])
	case "user":
		return appendMapPath(b, in.User, p[1:])
	}
	return append(b, 'u'), true // a member the input does not have
}

// appendStringAt appends a string field found at depth of path p.
func appendStringAt(b []byte, p []string, depth int, s string) []byte {
	if depth < len(p) {
		b = appendStopped(b, depth)
	}
	return appendLenPrefixed(b, 's', s)
}

// appendStopped marks a path that goes on past a value that is not an object.
func appendStopped(b []byte, depth int) []byte {
	b = append(b, 'w')
	return strconv.AppendInt(b, int64(depth), 10)
}

// appendMapPath appends what path leads to inside the JSON-shaped object m (a nil m is null).
func appendMapPath(b []byte, m map[string]any, path []string) ([]byte, bool) {
	var v any = m
	depth, present := 0, true
	for ; depth < len(path); depth++ {
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		if v, present = m[path[depth]]; !present {
			break
		}
	}
	switch {
	case !present:
		return append(b, 'u'), true
	case depth < len(path):
		b = appendStopped(b, depth)
	}
	return appendValue(b, v)
}

// appendStrings appends a list of strings; nil is null, as OPA sees it.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, 'n')
	}
	b = append(b, 'a')
	b = strconv.AppendInt(b, int64(len(ss)), 10)
	for _, s := range ss {
		b = appendLenPrefixed(b, ':', s)
	}
	return b
}

// appendValue appends a self-delimiting encoding of v. It walks the types OPA reads natively
// (nil, booleans, strings byte for byte, json.Number, map[string]any, []any) and []string, and
// encodes any other value as the JSON that OPA converts it through; nil maps and slices are null,
// as OPA sees them. It reports false for values JSON cannot encode.
func appendValue(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, 'n'), true
	case bool:
		if x {
			return append(b, 't'), true
		}
		return append(b, 'f'), true
	case string:
		return appendLenPrefixed(b, 's', x), true
	case json.Number:
		return appendLenPrefixed(b, 'd', string(x)), true
	case []string:
		return appendStrings(b, x), true
	case []any:
		if x == nil {
			return append(b, 'n'), true
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		for _, e := range x {
			var ok bool
			if b, ok = appendValue(b, e); !ok {
				return b, false
			}
		}
		return b, true
	case map[string]any:
		if x == nil {
			return append(b, 'n'), true
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		for _, k := range keys {
			b = appendLenPrefixed(b, ':', k)
			var ok bool
			if b, ok = appendValue(b, x[k]); !ok {
				return b, false
			}
		}
		return b, true
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, false
	}
	return appendLenPrefixed(b, 'j', string(j)), true
}

func appendLenPrefixed(b []byte, kind byte, s string) []byte {
	b = append(b, kind)
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// nondeterministic lists built-ins whose result is not a function of the input, beyond those OPA
// marks Nondeterministic. Certificate verification checks validity against the wall clock (unless
// given a time), so a memoized "valid" would outlive the certificate.
var nondeterministic = map[string]bool{
	"time.now_ns": true, "rand.intn": true, "uuid.rfc4122": true, "opa.runtime": true,
	"http.send": true, "net.lookup_ip_addr": true,
	"crypto.x509.parse_and_verify_certificates":              true,
	"crypto.x509.parse_and_verify_certificates_with_options": true,
}

// inputDependencies walks every module and returns the input paths they read (the longest
// constant prefix of each input reference), with paths covered by a shorter one removed. It
// returns memoize=false when a rule reads input as a whole or calls a non-deterministic built-in.
func inputDependencies(c *ast.Compiler) ([][]string, bool) {
	memoize := true
	var paths [][]string
	var visit func(x any) bool
	visit = func(x any) bool {
		switch t := x.(type) {
		case ast.Ref:
			if !t[0].Equal(ast.InputRootDocument) {
				return false
			}
			var p []string
			for _, term := range t[1:] {
				s, ok := term.Value.(ast.String)
				if !ok {
					break
				}
				p = append(p, string(s))
			}
			if len(p) == 0 {
				memoize = false
			}
			paths = append(paths, p)
			for _, term := range t[1:] {
				ast.NewGenericVisitor(visit).Walk(term)
			}
			return true
		case ast.Var:
			if t.Equal(ast.InputRootDocument.Value) {
				memoize = false // a bare input term reads everything
			}
		case *ast.Expr:
			if t.IsCall() {
				name := t.Operator().String()
				if nondeterministic[name] {
					memoize = false
				} else if bi, ok := ast.BuiltinMap[name]; ok && bi.Nondeterministic {
					memoize = false
				}
			}
		}
		return false
	}
	for _, m := range c.Modules {
		ast.NewGenericVisitor(visit).Walk(m)
	}
	if !memoize {
		return nil, false
	}
	sort.Slice(paths, func(i, j int) bool {
		return len(paths[i]) < len(paths[j]) || (len(paths[i]) == len(paths[j]) && strings.Join(paths[i], ".") < strings.Join(paths[j], "."))
	})
	var out [][]string
	for _, p := range paths {
		covered := false
		for _, q := range out {
			if len(q) <= len(p) && strings.Join(q, "\x00") == strings.Join(p[:len(q)], "\x00") {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, p)
		}
	}
	return out, true
}
