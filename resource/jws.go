package resource

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// token is a JWS in compact serialization whose header passed the checks that need no key.
type token struct {
	signingInput string // header.payload, what the signature covers
	payload      string // base64url, decoded only once the signature holds
	alg, kid     string
	sig          []byte
}

var b64 = base64.RawURLEncoding.Strict()

// parseToken splits a compact JWS and checks its header: an allowed alg, typ at+jwt, a kid, no
// critical extensions. Each segment must be canonical unpadded base64url, so a token has one
// spelling only.
func parseToken(s string) (token, error) {
	var t token
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return t, fmt.Errorf("%w: not a JWS in compact form", ErrInvalidToken)
	}
	j := strings.IndexByte(s[i+1:], '.')
	if j < 0 {
		return t, fmt.Errorf("%w: not a JWS in compact form", ErrInvalidToken)
	}
	j += i + 1
	hdr, payload, sig := s[:i], s[i+1:j], s[j+1:]
	if hdr == "" || payload == "" || sig == "" || !isBase64URL(hdr) || !isBase64URL(payload) || !isBase64URL(sig) {
		return t, fmt.Errorf("%w: not a JWS in compact form", ErrInvalidToken)
	}
	hb, err := b64.DecodeString(hdr)
	if err != nil {
		return t, fmt.Errorf("%w: header is not base64url", ErrInvalidToken)
	}
	var typ string
	err = forEachMember(hb, func(name string, v []byte) error {
		var ok bool
		switch name {
		case "alg":
			t.alg, ok = jsonString(v)
		case "typ":
			typ, ok = jsonString(v)
		case "kid":
			t.kid, ok = jsonString(v)
		case "crit":
			// RFC 7515 4.1.11: extensions this validator does not know must be refused.
			return errors.New("critical header extensions are not supported")
		default:
			ok = true
		}
		if !ok {
			return fmt.Errorf("header member %q is not a string", name)
		}
		return nil
	})
	if err != nil {
		return t, fmt.Errorf("%w: header: %w", ErrInvalidToken, err)
	}
	if t.alg != AlgES256 && t.alg != AlgEdDSA {
		return t, fmt.Errorf("%w: alg is not ES256 or EdDSA", ErrInvalidToken)
	}
	if !isAccessTokenType(typ) {
		return t, fmt.Errorf("%w: typ is not at+jwt", ErrInvalidToken)
	}
	if t.kid == "" {
		return t, fmt.Errorf("%w: no kid", ErrInvalidToken)
	}
	// Both algorithms have 64-byte signatures (ES256: R and S of 32 bytes each, RFC 7518 3.4).
	if b64.DecodedLen(len(sig)) != 64 {
		return t, fmt.Errorf("%w: signature is not 64 bytes", ErrInvalidToken)
	}
	t.sig = make([]byte, 64)
	if n, err := b64.Decode(t.sig, []byte(sig)); err != nil || n != 64 {
		return t, fmt.Errorf("%w: signature is not base64url", ErrInvalidToken)
	}
	t.signingInput, t.payload = s[:j], payload
	return t, nil
}

// isAccessTokenType reports whether typ names an RFC 9068 access token: "at+jwt", or its full
// media type, compared without case (RFC 7515 4.1.9).
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// verify checks the token's signature with k, whose type must fit the token's alg.
func (k *verifyKey) verify(t token) error {
	if t.alg != k.alg {
		return fmt.Errorf("%w: alg does not fit the key of the kid", ErrInvalidToken)
	}
	var ok bool
	switch k.alg {
	case AlgES256:
		h := sha256.Sum256([]byte(t.signingInput))
		r := new(big.Int).SetBytes(t.sig[:32])
		s := new(big.Int).SetBytes(t.sig[32:])
		ok = ecdsa.Verify(k.ec, h[:], r, s)
	case AlgEdDSA:
		ok = ed25519.Verify(k.ed, []byte(t.signingInput), t.sig)
	}
	if !ok {
		return fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	return nil
}

// claims is what a verified token's payload says.
type claims struct {
	client    Client
	exp       time.Time
	notBefore time.Time // the later of iat and nbf; zero when neither is given
}

// decodeClaims reads a verified payload and checks iss, and aud when audience is not empty.
// Claims of the wrong JSON type, a missing iss or exp, client_id and data.application_id that
// disagree, or an aud that does not hold audience make the token invalid.
func decodeClaims(payload, issuer, audience string) (claims, error) {
	var c claims
	pb, err := b64.DecodeString(payload)
	if err != nil {
		return c, fmt.Errorf("%w: payload is not base64url", ErrInvalidToken)
	}
	var iss, appID string
	var auds []string
	var hasExp bool
	err = forEachMember(pb, func(name string, v []byte) error {
		ok := true
		switch name {
		case "iss":
			iss, ok = jsonString(v)
		case "exp":
			c.exp, ok = numericDate(v)
			hasExp = true
		case "iat", "nbf":
			var t time.Time
			if t, ok = numericDate(v); ok && t.After(c.notBefore) {
				c.notBefore = t
			}
			if name == "iat" {
				c.client.IssuedAt = t
			}
		case "jti":
			c.client.TokenID, ok = jsonString(v)
		case "scope":
			c.client.Scope, ok = jsonString(v)
		case "client_id":
			c.client.ApplicationID, ok = jsonString(v)
		case "sub":
			c.client.Subject, ok = jsonString(v)
		case "aud":
			auds, ok = jsonStrings(v)
		case "data":
			return forEachMember(v, func(name string, v []byte) error {
				ok := true
				switch name {
				case "user_id":
					c.client.UserID, ok = jsonString(v)
				case "device_id":
					c.client.DeviceID, ok = jsonString(v)
				case "application_id":
					appID, ok = jsonString(v)
				}
				if !ok {
					return fmt.Errorf("data.%s is not a string", name)
				}
				return nil
			})
		}
		if !ok {
			return fmt.Errorf("claim %q has the wrong type", name)
		}
		return nil
	})
	switch {
	case err != nil:
		return c, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	case iss != issuer:
		return c, fmt.Errorf("%w: issued by another issuer", ErrInvalidToken)
	case !hasExp:
		return c, fmt.Errorf("%w: no exp", ErrInvalidToken)
	}
	switch {
	case audience != "" && !slices.Contains(auds, audience):
		return c, fmt.Errorf("%w: issued for another audience", ErrInvalidToken)
	case audience != "":
		c.client.Audience = audience
	case len(auds) > 0:
		c.client.Audience = auds[0]
	}
	if c.client.ApplicationID == "" {
		c.client.ApplicationID = appID
	} else if appID != "" && appID != c.client.ApplicationID {
		return c, fmt.Errorf("%w: client_id and data.application_id differ", ErrInvalidToken)
	}
	if c.client.ApplicationID == "" {
		return c, fmt.Errorf("%w: no client_id", ErrInvalidToken)
	}
	if c.client.UserID == "" {
		c.client.UserID = c.client.Subject
	}
	c.client.ExpiresAt = c.exp
	return c, nil
}

// maxNumericDate bounds NumericDate claims to what time.Time and int64 nanoseconds carry safely
// (about the year 36812).
const maxNumericDate = 1 << 40

// numericDate reads an RFC 7519 NumericDate: seconds since the epoch, maybe fractional.
func numericDate(v []byte) (time.Time, bool) {
	if len(v) == 0 || v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f < 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), true
}

// jsonString reads a JSON string value; v is part of a document json.Valid accepted.
func jsonString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body), true
	}
	// Escapes, or invalid UTF-8 that encoding/json replaces with U+FFFD: its decoding rules.
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonStrings reads a claim that RFC 7519 allows to be a string or an array of strings (aud).
func jsonStrings(v []byte) ([]string, bool) {
	if s, ok := jsonString(v); ok {
		return []string{s}, true
	}
	var raw []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &raw) != nil {
		return nil, false
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		s, ok := jsonString(r)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// forEachMember calls fn with each member of the JSON object data: its name and its value, as
// raw JSON. Unlike json.Unmarshal into a struct it matches names exactly (not ignoring case)
// and refuses duplicate names, so a header or claim cannot be read one way here and another way
// by a different parser. It allocates nothing for names without escapes, which is why it walks
// the document itself rather than using a json.Decoder: claims are read on every first-seen
// token.
func forEachMember(data []byte, fn func(name string, v []byte) error) error {
	if !json.Valid(data) {
		return errors.New("not JSON")
	}
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return errors.New("not a JSON object")
	}
	var seen [16]string
	names := seen[:0]
	i = skipSpace(data, i+1)
	for data[i] != '}' {
		end := skipValue(data, i) // the name, a string
		name, ok := jsonString(data[i:end])
		if !ok {
			return errors.New("not a JSON object")
		}
		for _, n := range names {
			if n == name {
				return fmt.Errorf("member %q appears twice", name)
			}
		}
		names = append(names, name)
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // the colon
		end = skipValue(data, i)
		if err := fn(name, data[i:end]); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value at data[i:], for a document json.Valid accepted.
func skipValue(data []byte, i int) int {
	depth := 0
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			for i++; data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}
