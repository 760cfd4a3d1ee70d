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
// after step until the resource is served. Realms are answered anti-XSRF first, then remote
// disable, app authenticity and the device realm (a predefined mobile test challenges them all in
// one step); once the device realm is settled the request is re-issued before the others, so a
// login the device already shares is not asked for again. A wrong answer draws a new challenge for the realm
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
// wl_remoteDisableRealm (a notice acknowledged through Config.OnNotify), when Config.Device is
// set, wl_deviceNoProvisioningRealm, and the certificate realms below. LoginHandler answers
// realms backed by a login module with the form, basic or header authenticator, from fixed
// Credentials or by asking a callback on every attempt. Any other realm takes a
// ChallengeHandler of the application's own (a HandlerFunc for single-round realms).
//
// A reply to an answer may challenge other realms first (a user-certificate realm challenges
// its dependent login realm): the client answers them at once with their own handlers.
//
// # Certificates
//
// With Config.Keystore the client also does what Worklight clients did for the certificate
// realms, without the application's help. A Keystore keeps one credential (a private key and
// its certificate chain) per entity: DirKeystore writes <dir>/<entity>.json files (mode 0600,
// replaced atomically), MemoryKeystore keeps them in memory. Keys are ECDSA P-256, made on the
// device; no private key is ever sent or printed.
//
//   - Device provisioning (ProvisioningHandler, registered for wl_deviceAutoProvisioningRealm
//     when Config.Device is set too): the first time, a CSR for CN=<device id> and a JWS over
//     the nonce carrying the public key (plus an MDM activation code when Config gives one);
//     the certificate the server replies with is stored, and every later session answers with
//     a JWS over the nonce whose x5c header carries it. The entity is the challenge's:
//     "application:<app>", "group:<name>" (shared by the applications of the group) or
//     "device". A certificate the server no longer accepts is dropped and the device
//     provisioned again, with a proof signed by the dropped certificate's key while it is
//     unexpired: a device id that holds a live certificate takes a new key only with that
//     proof (else ErrDeviceProofRequired, until an administrator resets the device). Custom
//     provisioning realms take Client.ProvisioningHandler.
//   - Application authenticity (AuthenticityHandler, registered for wl_authenticityRealm with
//     Config.Attestation): the AttestationProvider attests a key over the nonce (Android Key
//     Attestation on a device).
//   - User certificates (UserCertificateHandler, registered for wl_userCertificateAuthRealm):
//     with a certificate for "user:<realm>" the user signs in with it; without one the client
//     asks to enroll, answers the dependent realm (a login) when the server challenges it (or
//     before asking, when its LoginHandler holds fixed Credentials and the client knows the
//     realm's authenticator from an earlier challenge: one round trip less), builds a CSR with exactly the subject the PKI bridge requires, stores the certificate and
//     signs in with it. A realm answered "NO_USE_DEPENDENT_REALM_ONLY" settles with the login
//     alone.
//
// Their refusals are typed: ErrProvisioningRefused, ErrEnrollmentRefused and
// ErrAuthenticityRefused, wrapping the server's *Error when it refused.
//
// # Errors
//
// Refusals from the server are *Error values with the status, the server's code and message;
// errors.Is matches ErrApplicationDisabled (remote disable blocked this version; see
// DownloadLink), ErrDeviceProofRequired (the device id belongs to another key), ErrTooManyAttempts
// (429) and ErrRefused (any 403). Failures found on the client
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
// Tests of code built on this package run against the real daemon: package hostdtest (module
// path github.com/realmgate/realmgate/hostd/hostdtest) starts it on 127.0.0.1 for a project
// directory, with a temporary store.
package client
