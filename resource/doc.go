// Package resource validates Realmgate access tokens in a resource server, offline: a token is
// checked against the issuer's published keys (its JWKS), with no call to the issuer per request.
//
// A token is a JWS in compact form (PROTOCOL.md section 6): header {"alg": "ES256" or "EdDSA",
// "typ": "at+jwt", "kid"}, claims iss, aud, iat, exp, jti, scope, client_id, sub, sid and data
// {user_id, device_id, application_id}. A Validator checks, in this order:
//
//  1. the signature: the token's form, an allowed alg (ES256 or EdDSA, never none, never HMAC),
//     typ at+jwt, a kid naming a key of the issuer whose type fits the alg, the signature, iss
//     equal to the expected issuer, and, when Config.Audience is set, an aud that holds it; any
//     failure is ErrInvalidToken;
//  2. the time: exp not passed (ErrExpired), iat and nbf not in the future (ErrNotYetValid), each
//     with a leeway of at most 5 seconds for clock skew;
//  3. the scope: the scope the caller requires is among the token's (ErrInsufficientScope).
//
// A token that fails two checks reports the first, so a forged token is never told apart from
// an expired one by its answer.
//
// # Audience and revocation
//
// hostd mints a token for an audience: the application by default, or a resource server of its
// tokens.audiences that the token request named. A resource server that sets Config.Audience to
// its own name refuses tokens minted for others, so a token given to one service cannot be
// replayed to another. hostd also revokes tokens early (a logout in the session that obtained
// them, an administrator blocking their device), but only its online validation
// (POST /oauth/validation) sees that: a Validator, checking offline, accepts a revoked token
// until it expires, which is why tokens live a minute by default.
//
// # Keys
//
// Keys come from a JWKS URL (hostd: <issuer>/oauth/jwks), a key file (PEM public keys or a JWKS
// document) or bytes given in the Config. The key set is fetched with a deadline and a size
// bound, kept for the Cache-Control max-age of the reply, and refreshed in the background when
// it is stale. A token naming an unknown kid refreshes it at once (the issuer rotated its key),
// but at most once per Config.MinRefreshInterval, so tokens with made-up kids cannot make the
// validator hammer the issuer. A key is honoured as long as the issuer publishes it: the issuer
// keeps a rotated-out key published until every token it signed has expired.
//
// # Verified-token cache
//
// Verifying a signature costs tens of microseconds; a client sends the same token many times.
// A Validator remembers the claims of tokens it verified, keyed by the SHA-256 of the token, up to
// Config.CacheSize of them. A remembered token still goes through the time and scope checks on
// every use, and is forgotten when it expires or when its key leaves the issuer's key set.
//
// # HTTP
//
// Require wraps a handler: it reads "Authorization: Bearer <token>", validates it for a scope and
// hands the handler a *Client (ClientFromContext). Refusals follow RFC 6750: 401 with
// WWW-Authenticate: Bearer scope="<scope>" for a request without a token, the same plus
// error="invalid_token" for a bad or expired token, 403 error="insufficient_scope" for a token
// of another scope, 400 error="invalid_request" for a malformed Authorization header. Clients
// read the scope from that header to learn which token to ask for.
//
//	v, err := resource.New(resource.Config{
//		JWKSURL: "https://auth.example.com/oauth/jwks",
//		Issuer:  "https://auth.example.com",
//	})
//	if err != nil {
//		return err
//	}
//	mux := http.NewServeMux()
//	mux.Handle("GET /accounts", v.Require("mobileTests")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		c := resource.ClientFromContext(r.Context())
//		fmt.Fprintf(w, "accounts of %s on %s\n", c.UserID, c.DeviceID)
//	})))
//
// Tests of code built on this package get real tokens from the daemon itself (package
// hostd/hostdtest starts it, the client SDK obtains tokens); package resourcetest runs an issuer
// that mints tokens shaped as the daemon's and spoils them on demand, for the cases a daemon never
// produces. resource/node is the same validator for Node.js.
package resource
