// Package client is the Go client SDK of Realmgate. It works the way Worklight clients did: the
// application registers a challenge handler per realm and simply calls its resources; when the
// server answers a call with a challenge, the client settles it with the handlers and then
// returns the resource, so application code never sees the authentication dance.
//
// # The dance
//
// A protected resource answers an unauthenticated request with
//
//	401 {"securityTest": T, "step": N, "challenges": {realm: payload, ...}}
//
// and the client answers every realm of that step with POST /api/v1/auth/{realm}, using the
// realm's ChallengeHandler, then re-issues the original request (its body is replayed), step
// after step until the resource is served. A wrong answer draws a new challenge for the realm
// carrying "error" and "remainingAttempts", which the handler sees in Challenge. Multi-round
// realms (device provisioning, user-certificate enrollment) get a 200 reply whose status is not
// "success"; the handler's HandleStatus gives the next answer.
//
// Every request to the server carries WL-App-Id, WL-App-Environment and WL-App-Version, the
// session cookies (WL_SESSION, WL_PERSISTENT_COOKIE) from the client's own cookie jar, and, once
// the anti-XSRF realm has issued it, WL-Instance-Id. None of these go to other hosts.
//
// # Handlers
//
// New registers handlers for the built-in realms: wl_antiXSRFRealm (the instance id),
// wl_remoteDisableRealm (a notice acknowledged through Config.OnNotify) and, when Config.Device
// is set, wl_deviceNoProvisioningRealm. LoginHandler answers realms backed by a login module
// with the form, basic or header authenticator, from fixed Credentials or by asking a callback
// on every attempt. Any other realm takes a ChallengeHandler of the application's own (a
// HandlerFunc for single-round realms).
//
// # Errors
//
// Refusals from the server are *Error values with the status, the server's code and message;
// errors.Is matches ErrApplicationDisabled (remote disable blocked this version; see
// DownloadLink), ErrTooManyAttempts (429) and ErrRefused (any 403). Failures found on the client
// side are *RealmError values naming the realm: ErrNoHandler, ErrTooManyRounds (a realm
// challenged more than Config.MaxRounds times in one call, so a server that never settles cannot
// make the client loop), ErrCredentialsRejected, or a handler's own error. Replies the client
// reads are bounded by MaxResponseBytes; a reply that breaks the protocol gives
// ErrMalformedResponse or ErrResponseTooLarge.
//
// # Concurrency
//
// A Client is safe for concurrent use. Challenges are settled one call at a time, and while one
// is being settled no other request of the Client is in flight: they wait, as Worklight clients
// queued requests while a challenge handler ran (the server may rotate the session id at login,
// and a request carrying the old id would lose the session). A call that meets a challenge
// another call settled meanwhile re-issues its request instead of answering again, and the
// first request, which opens the session, goes alone, so concurrent calls share one session and
// one login. Handlers are therefore never called concurrently by one Client. A handler that
// needs to call the server itself does so through the same Client with the context it was
// given; those requests do not wait.
//
// # Example
//
//	c, err := client.New(client.Config{
//		BaseURL:     "https://auth.example.com",
//		AppID:       "BankApp",
//		Environment: "android",
//		AppVersion:  "2.1.0",
//		Device:      &client.DeviceInfo{ID: deviceID, OS: "android", Model: "Pixel 9", DisplayName: "Alice's phone"},
//	})
//	if err != nil {
//		return err
//	}
//	c.RegisterHandler("AccountsRealm", &client.LoginHandler{
//		Ask: func(ctx context.Context, p client.LoginPrompt) (client.Credentials, error) {
//			return showLoginForm(ctx, p.Error, p.RemainingAttempts)
//		},
//	})
//	balance, err := c.InvokeProcedure(ctx, "Accounts", "getBalance", accountID)
//	if errors.Is(err, client.ErrApplicationDisabled) {
//		var e *client.Error
//		errors.As(err, &e)
//		return offerUpdate(e.Message, e.DownloadLink)
//	}
//
// Package clienttest runs an in-process server speaking the same protocol, for tests of code
// built on this package.
package client
