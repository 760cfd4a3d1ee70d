package wasm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/realmgate/realmgate/adapters"
)

// Outbound HTTP is the guest's only way out of the sandbox: one request per call of the http
// host function, only to host:port pairs of the adapter's allow-list, with bounded sizes and a
// deadline, no proxies from the environment and no redirects to another host.

// httpRequest is the JSON a guest passes to the http host function.
type httpRequest struct {
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	Body       *string           `json:"body"`
	BodyBase64 *string           `json:"bodyBase64"`
	Convert    string            `json:"convert"` // convert.go
}

// httpResponse is the JSON the http host function hands back.
type httpResponse struct {
	Status     int               `json:"status,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       *string           `json:"body,omitempty"`
	BodyBase64 string            `json:"bodyBase64,omitempty"`
	Error      string            `json:"error,omitempty"`
	// JSON is the converted document when the request asked for a conversion (convert.go);
	// ConvertError says why it could not be converted (the body is then there as usual).
	JSON         map[string]any `json:"json,omitempty"`
	ConvertError string         `json:"convertError,omitempty"`
}

// outbound is a checked request, ready to send.
type outbound struct {
	method  string
	url     *url.URL
	headers http.Header
	body    []byte
	convert string
}

// droppedHeaders are managed by the transport; a guest cannot set them.
var droppedHeaders = map[string]bool{"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Upgrade": true, "Te": true, "Trailer": true, "Keep-Alive": true, "Proxy-Connection": true}

// maxHTTPRequestJSON bounds the request description for a body limit of maxBody bytes: the body
// in base64 plus room for the URL and headers.
func maxHTTPRequestJSON(maxBody int) int { return maxBody/3*4 + 8 + 64<<10 }

// parseHTTPRequest decodes and checks the request description b: a known method, an http or
// https URL whose host and port are on allow (compared exactly, case-insensitively, the port
// defaulting by scheme), no user info, headers with valid names and values, and a body of at
// most maxBody bytes.
func parseHTTPRequest(b []byte, allow []adapters.HostPort, maxBody int) (*outbound, error) {
	if len(b) > maxHTTPRequestJSON(maxBody) {
		return nil, fmt.Errorf("the request description is larger than %d bytes", maxHTTPRequestJSON(maxBody))
	}
	var req httpRequest
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		return nil, fmt.Errorf("the request description is not valid: %v", err)
	}
	if d.More() {
		return nil, errors.New("the request description has data after the JSON object")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		return nil, fmt.Errorf("method %q is not allowed", cutUTF8(strings.ToValidUTF8(method, "?"), 32))
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %v", err)
	}
	if err := checkURL(u, allow); err != nil {
		return nil, err
	}
	if !validConvert(req.Convert) {
		return nil, fmt.Errorf("convert %q is not one of %s", cutUTF8(strings.ToValidUTF8(req.Convert, "?"), 32), convertNames)
	}
	out := &outbound{method: method, url: u, headers: http.Header{}, convert: req.Convert}
	for k, v := range req.Headers {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("header name %q is not valid", cutUTF8(strings.ToValidUTF8(k, "?"), 64))
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("header %s has a value with a line break or NUL", k)
		}
		ck := http.CanonicalHeaderKey(k)
		if droppedHeaders[ck] {
			continue
		}
		out.headers.Set(ck, v)
	}
	switch {
	case req.Body != nil && req.BodyBase64 != nil:
		return nil, errors.New("both body and bodyBase64 are set")
	case req.Body != nil:
		out.body = []byte(*req.Body)
	case req.BodyBase64 != nil:
		if out.body, err = base64.StdEncoding.DecodeString(*req.BodyBase64); err != nil {
			return nil, fmt.Errorf("bodyBase64: %v", err)
		}
	}
	if len(out.body) > maxBody {
		return nil, fmt.Errorf("the request body of %d bytes exceeds the limit of %d bytes", len(out.body), maxBody)
	}
	return out, nil
}

// checkURL checks that u is an absolute http or https URL, without user info, whose host and
// port are on allow.
func checkURL(u *url.URL, allow []adapters.HostPort) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q is not allowed: only http and https", cutUTF8(u.Scheme, 16))
	}
	if u.User != nil {
		return errors.New("URLs with user info are not allowed: send credentials in a header")
	}
	if u.Host == "" || u.Opaque != "" {
		return errors.New("the URL has no host")
	}
	if !allowed(u.Scheme, u.Host, allow) {
		return fmt.Errorf("%s is not on the adapter's allow-list", hostPortOf(u.Scheme, u.Host))
	}
	return nil
}

// hostPortOf returns "host:port" of a URL host, the port defaulting by scheme.
func hostPortOf(scheme, host string) string {
	h, p := splitHostPort(scheme, host)
	return net.JoinHostPort(h, strconv.Itoa(p))
}

func splitHostPort(scheme, hostport string) (string, int) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		host, portStr = strings.Trim(hostport, "[]"), ""
	}
	port := 0
	if portStr == "" {
		switch scheme {
		case "http":
			port = 80
		case "https":
			port = 443
		}
	} else if p, err := strconv.Atoi(portStr); err == nil && p > 0 && p < 65536 {
		port = p
	}
	return strings.ToLower(host), port
}

// allowed reports whether the host:port of a URL is on allow. Port 0 never matches.
func allowed(scheme, hostport string, allow []adapters.HostPort) bool {
	host, port := splitHostPort(scheme, hostport)
	if host == "" || port == 0 {
		return false
	}
	for _, a := range allow {
		if a.Port == port && strings.EqualFold(strings.Trim(a.Host, "[]"), host) {
			return true
		}
	}
	return false
}

// validHeaderName reports whether k is an HTTP token.
func validHeaderName(k string) bool {
	if k == "" || len(k) > 256 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// encodeHTTPResponse builds the response JSON: the body as text when it is valid UTF-8, else in
// base64; multiple header values are joined with ", ".
func encodeHTTPResponse(status int, header http.Header, body []byte) []byte {
	r := httpResponse{Status: status, Headers: map[string]string{}}
	for k, v := range header {
		r.Headers[k] = strings.Join(v, ", ")
	}
	if utf8.Valid(body) {
		s := string(body)
		r.Body = &s
	} else {
		r.BodyBase64 = base64.StdEncoding.EncodeToString(body)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return httpError(err)
	}
	return b
}

// httpError is the response JSON of a request that was not made or failed.
func httpError(err error) []byte {
	b, _ := json.Marshal(httpResponse{Error: err.Error()})
	return b
}

// httpClient makes the requests of one adapter.
type httpClient struct {
	allow   []adapters.HostPort
	maxBody int
	timeout time.Duration
	client  *http.Client
}

func newHTTPClient(allow []adapters.HostPort, limits adapters.Limits) *httpClient {
	c := &httpClient{allow: allow, maxBody: limits.MaxHTTPBody, timeout: limits.HTTPTimeout}
	dialer := &net.Dialer{Timeout: limits.HTTPTimeout}
	transport := &http.Transport{
		Proxy: nil, // never a proxy from the environment: the allow-list names the real peers
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			// Defense in depth: the URL was checked, and so is every connection.
			if !allowed("", addr, allow) {
				return nil, fmt.Errorf("connection to %s refused: not on the adapter's allow-list", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:    limits.HTTPTimeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	c.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// Follow a redirect only to the same scheme, host and port; hand any other back to
			// the guest as the 3xx response it is.
			first := via[0].URL
			if len(via) >= 5 || req.URL.Scheme != first.Scheme ||
				hostPortOf(req.URL.Scheme, req.URL.Host) != hostPortOf(first.Scheme, first.Host) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	return c
}

// do performs the request the guest described in b and returns the response JSON.
func (c *httpClient) do(ctx context.Context, b []byte) []byte {
	out, err := parseHTTPRequest(b, c.allow, c.maxBody)
	if err != nil {
		return httpError(err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, out.method, out.url.String(), bytes.NewReader(out.body))
	if err != nil {
		return httpError(err)
	}
	req.Header = out.headers
	if len(out.body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return httpError(fmt.Errorf("%s %s: %w", out.method, hostPortOf(out.url.Scheme, out.url.Host), unwrapURLError(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.maxBody)+1))
	if err != nil {
		return httpError(fmt.Errorf("reading the response: %w", err))
	}
	if len(body) > c.maxBody {
		return httpError(fmt.Errorf("the response body exceeds the limit of %d bytes", c.maxBody))
	}
	if out.convert != "" {
		return encodeConverted(resp.StatusCode, resp.Header, body, out.convert)
	}
	return encodeHTTPResponse(resp.StatusCode, resp.Header, body)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (c *httpClient) close() {
	c.client.CloseIdleConnections()
}
