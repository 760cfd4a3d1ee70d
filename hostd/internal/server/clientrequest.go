package server

import (
	"net/http"
	"slices"
)

// What of the client's request an adapter sees (the call input's "request", contract C5):
// Worklight's WL.Server.getClientRequest() read the request's headers and parameters. The
// credentials are left out: the session cookie and every other cookie, Authorization and
// Proxy-Authorization, and the anti-XSRF token of the session (WL-Instance-Id); an adapter
// that holds them could act as the client. The rest is bounded, so that a client cannot make
// every call it makes carry a large copy of its request into the sandbox.
const (
	maxRequestNames = 64      // headers, and parameters, passed
	maxRequestBytes = 8 << 10 // names and values of the headers, and of the parameters
)

// withheldHeaders are the headers an adapter never sees, by canonical name.
var withheldHeaders = func() map[string]bool {
	m := map[string]bool{}
	for _, h := range []string{"Cookie", "Authorization", "Proxy-Authorization", HeaderInstanceID} {
		m[http.CanonicalHeaderKey(h)] = true
	}
	return m
}()

// clientRequest is the request as adapters see it: {"headers": {Name: value}, "parameters":
// {name: value}}, header names canonical and a header's values joined with ", ", the query
// string's parameters with their first value. Within each, names are taken in sorted order
// until maxRequestNames or maxRequestBytes is reached; the others are left out.
func clientRequest(r *http.Request) map[string]any {
	headers := map[string]any{}
	canonical := make(map[string][]string, len(r.Header))
	for name, vs := range r.Header {
		c := http.CanonicalHeaderKey(name)
		if !withheldHeaders[c] {
			canonical[c] = append(canonical[c], vs...)
		}
	}
	take(headers, canonical, func(vs []string) string { return joinValues(vs) })
	params := map[string]any{}
	take(params, r.URL.Query(), func(vs []string) string { return vs[0] })
	return map[string]any{"headers": headers, "parameters": params}
}

// take copies from into to, in sorted order, within the bounds.
func take(to map[string]any, from map[string][]string, value func([]string) string) {
	names := make([]string, 0, len(from))
	for name, vs := range from {
		if len(vs) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	size := 0
	for _, name := range names {
		v := value(from[name])
		if len(to) == maxRequestNames || size+len(name)+len(v) > maxRequestBytes {
			continue
		}
		to[name] = v
		size += len(name) + len(v)
	}
}

func joinValues(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	out := vs[0]
	for _, v := range vs[1:] {
		out += ", " + v
	}
	return out
}
