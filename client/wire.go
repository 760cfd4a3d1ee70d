package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Header and cookie names of the wire protocol (PROTOCOL.md section 1).
const (
	HeaderAppID          = "WL-App-Id"
	HeaderAppEnvironment = "WL-App-Environment"
	HeaderAppVersion     = "WL-App-Version"
	// HeaderInstanceID carries the anti-XSRF token on every request after the
	// wl_antiXSRFRealm challenge.
	HeaderInstanceID = "WL-Instance-Id"

	CookieSession    = "WL_SESSION"
	CookiePersistent = "WL_PERSISTENT_COOKIE"
)

// The built-in realms whose challenges the client answers without help.
const (
	RealmAntiXSRF             = "wl_antiXSRFRealm"
	RealmAnonymousUser        = "wl_anonymousUserRealm"
	RealmRemoteDisable        = "wl_remoteDisableRealm"
	RealmDeviceNoProvisioning = "wl_deviceNoProvisioningRealm"
)

// Limits on what the client reads and keeps.
const (
	// MaxResponseBytes bounds every reply body the client reads itself (challenges, realm
	// replies, errors, init, procedure results, session).
	MaxResponseBytes = 1 << 20
	// MaxRequestBytes bounds a request body buffered for re-issuing; bodies with GetBody are
	// not buffered and not bounded here.
	MaxRequestBytes = 1 << 20

	maxRealms        = 64   // realms named by one challenge
	maxRealmNameLen  = 256  // bytes of a realm name
	maxMessageLen    = 1024 // runes kept of a server message
	maxCodeLen       = 64   // bytes of a server error code
	maxInstanceIDLen = 1024 // bytes of an anti-XSRF token
)

// challengeBody is a 401 challenge: {"securityTest", "step", "challenges": {realm: payload}}.
type challengeBody struct {
	SecurityTest string
	Step         int
	Challenges   map[string]json.RawMessage
}

// errNotChallenge says a 401 body is valid JSON but not a challenge (for example a resource
// server's Bearer 401); Do hands such replies to the caller untouched.
var errNotChallenge = errors.New("not a challenge body")

// parseChallengeBody parses a 401 body. It returns errNotChallenge when the body is not a JSON
// object with a "challenges" member, a *json.SyntaxError-wrapping ErrMalformedResponse when it is
// not JSON, and ErrMalformedResponse when it claims to be a challenge but breaks its shape.
func parseChallengeBody(b []byte) (*challengeBody, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, errNotChallenge // valid JSON that is not an object
		}
		return nil, fmt.Errorf("%w: challenge body: %w", ErrMalformedResponse, err)
	}
	raw, ok := top["challenges"]
	if !ok {
		return nil, errNotChallenge
	}
	out := &challengeBody{}
	if st, ok := top["securityTest"]; ok && !isNull(st) {
		if err := json.Unmarshal(st, &out.SecurityTest); err != nil {
			return nil, fmt.Errorf("%w: securityTest is not a string", ErrMalformedResponse)
		}
	}
	if step, ok := top["step"]; ok && !isNull(step) {
		if err := json.Unmarshal(step, &out.Step); err != nil || out.Step < 0 {
			return nil, fmt.Errorf("%w: step is not a non-negative integer", ErrMalformedResponse)
		}
	}
	if !isObject(raw) {
		return nil, fmt.Errorf("%w: challenges is not an object", ErrMalformedResponse)
	}
	if err := json.Unmarshal(raw, &out.Challenges); err != nil {
		return nil, fmt.Errorf("%w: challenges: %w", ErrMalformedResponse, err)
	}
	if len(out.Challenges) == 0 {
		return nil, fmt.Errorf("%w: challenge names no realm", ErrMalformedResponse)
	}
	if len(out.Challenges) > maxRealms {
		return nil, fmt.Errorf("%w: challenge names %d realms (at most %d)", ErrMalformedResponse, len(out.Challenges), maxRealms)
	}
	for realm, payload := range out.Challenges {
		if err := checkRealmName(realm); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
		}
		if !isObject(payload) {
			return nil, fmt.Errorf("%w: payload of realm %q is not an object", ErrMalformedResponse, realm)
		}
	}
	return out, nil
}

// checkRealmName accepts the names a realm can have in a URL path segment: letters, digits and
// "_.-:", not "." or "..". A server cannot steer answers (and credentials) to another endpoint.
func checkRealmName(realm string) error {
	if realm == "" || len(realm) > maxRealmNameLen || realm == "." || realm == ".." {
		return fmt.Errorf("invalid realm name %q", truncate(realm, 64))
	}
	for _, r := range realm {
		if !(r < utf8.RuneSelf && (isAlnum(byte(r)) || strings.ContainsRune("_.-:", r))) {
			return fmt.Errorf("invalid realm name %q", truncate(realm, 64))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// payloadInfo is what every challenge payload may carry after a wrong answer.
type payloadInfo struct {
	Error             string
	RemainingAttempts *int
}

func parsePayloadInfo(payload json.RawMessage) (payloadInfo, error) {
	var p struct {
		Error             json.RawMessage `json:"error"`
		RemainingAttempts json.RawMessage `json:"remainingAttempts"`
	}
	var info payloadInfo
	if err := json.Unmarshal(payload, &p); err != nil {
		return info, fmt.Errorf("%w: challenge payload: %w", ErrMalformedResponse, err)
	}
	if len(p.Error) > 0 && !isNull(p.Error) {
		var s string
		if err := json.Unmarshal(p.Error, &s); err != nil {
			return info, fmt.Errorf("%w: payload error is not a string", ErrMalformedResponse)
		}
		info.Error = sanitize(s, maxMessageLen)
	}
	if len(p.RemainingAttempts) > 0 && !isNull(p.RemainingAttempts) {
		var n int
		if err := json.Unmarshal(p.RemainingAttempts, &n); err != nil || n < 0 {
			return info, fmt.Errorf("%w: remainingAttempts is not a non-negative integer", ErrMalformedResponse)
		}
		info.RemainingAttempts = &n
	}
	return info, nil
}

// authResult is a 200 reply to POST /api/v1/auth/{R}: {"realm", "status", "identity", ...}.
type authResult struct {
	Status   string
	Identity json.RawMessage // nil when absent or null
	Body     json.RawMessage
}

func parseAuthResult(realm string, b []byte) (*authResult, error) {
	var p struct {
		Realm    *string         `json:"realm"`
		Status   string          `json:"status"`
		Identity json.RawMessage `json:"identity"`
	}
	if !isObject(b) {
		return nil, fmt.Errorf("%w: realm reply is not a JSON object", ErrMalformedResponse)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: realm reply: %w", ErrMalformedResponse, err)
	}
	if p.Realm != nil && *p.Realm != realm {
		return nil, fmt.Errorf("%w: reply for realm %q to an answer for %q", ErrMalformedResponse, truncate(*p.Realm, 64), realm)
	}
	status := cleanCode(p.Status)
	if status == "" {
		return nil, fmt.Errorf("%w: realm reply has no status (a snake_case word)", ErrMalformedResponse)
	}
	r := &authResult{Status: status, Body: json.RawMessage(b)}
	if len(p.Identity) > 0 && !isNull(p.Identity) {
		if !isObject(p.Identity) {
			return nil, fmt.Errorf("%w: identity is not an object", ErrMalformedResponse)
		}
		r.Identity = p.Identity
	}
	return r, nil
}

// parseError turns an error reply into an *Error. A body that is not the JSON error shape still
// gives an *Error with the status; the body text itself is never copied (it may be a page).
func parseError(status int, b []byte, realm string) *Error {
	e := &Error{Status: status, Realm: realm}
	var p struct {
		Error        string `json:"error"`
		Message      string `json:"message"`
		DownloadLink string `json:"downloadLink"`
	}
	if json.Unmarshal(b, &p) != nil {
		return e
	}
	e.Code = cleanCode(p.Error)
	e.Message = sanitize(p.Message, maxMessageLen)
	e.DownloadLink = cleanLink(p.DownloadLink)
	return e
}

// cleanCode keeps a code only when it is the snake_case token the protocol promises.
func cleanCode(code string) string {
	if code == "" || len(code) > maxCodeLen {
		return ""
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return ""
		}
	}
	return code
}

// cleanLink keeps only absolute http(s) links: an app shows this link to its user, so a
// javascript: or file: URL must not get through.
func cleanLink(link string) string {
	if link == "" || len(link) > 2048 {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// sanitize drops control and invalid characters and bounds the length, so server text is safe
// to log and display.
func sanitize(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			continue
		}
		if n == max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// validInstanceID accepts a token that can travel in a header unchanged: visible ASCII only.
func validInstanceID(tok string) bool {
	if tok == "" || len(tok) > maxInstanceIDLen {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 0x21 || tok[i] > 0x7e {
			return false
		}
	}
	return true
}

// validHeaderName accepts an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" || len(name) > 256 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// isJSON reports whether a reply declares a JSON body (application/json or any +json type).
func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// readPrefix reads at most limit bytes; over reports that the body holds more.
func readPrefix(r io.Reader, limit int) (b []byte, over bool, err error) {
	b, err = io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > limit {
		return b, true, nil
	}
	return b, false, nil
}

// readBody reads a whole reply the client consumes itself, bounded by MaxResponseBytes, and
// closes it.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, over, err := readPrefix(resp.Body, MaxResponseBytes)
	if err != nil {
		return nil, fmt.Errorf("realmgate: reading %d reply: %w", resp.StatusCode, err)
	}
	if over {
		return nil, fmt.Errorf("realmgate: %d reply: %w (more than %d bytes)", resp.StatusCode, ErrResponseTooLarge, MaxResponseBytes)
	}
	return b, nil
}
