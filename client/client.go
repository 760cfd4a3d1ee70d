package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// DefaultMaxRounds is how many times one realm may be challenged in one call when
// Config.MaxRounds is zero. It is above the server's default attempt limit (five), so a user
// who keeps typing wrong passwords meets the server's 429, not this bound.
const DefaultMaxRounds = 10

// maxReissues bounds how often one call re-issues its request after settling challenges; the
// per-realm bound normally stops a misbehaving server long before.
const maxReissues = 32

// Config describes the application a Client speaks for. BaseURL, AppID, Environment and
// AppVersion are required.
type Config struct {
	// BaseURL is the server's root, e.g. "https://auth.example.com" or with a path prefix.
	BaseURL string
	// AppID, Environment and AppVersion are sent as WL-App-Id, WL-App-Environment and
	// WL-App-Version on every request to the server.
	AppID       string
	Environment string
	AppVersion  string
	// HTTPClient sends the requests (its Transport, Timeout and CheckRedirect are used). It is
	// copied, never modified: the Client always uses its own cookie jar. Nil means a plain
	// &http.Client{}.
	HTTPClient *http.Client
	// Device, when set, registers a DeviceHandler for wl_deviceNoProvisioningRealm. Without it
	// that realm's challenge fails with ErrNoHandler.
	Device *DeviceInfo
	// OnNotify is the remote-disable notification callback of the built-in NotifyHandler; nil
	// acknowledges every notice.
	OnNotify func(ctx context.Context, n Notice) error
	// PersistentCookie restores the WL_PERSISTENT_COOKIE of an earlier run, so the anonymous
	// user realm recognises the same user. Empty lets the server issue one.
	PersistentCookie string
	// MaxRounds bounds how many times one realm may be challenged in one call; zero means
	// DefaultMaxRounds.
	MaxRounds int

	// Keystore keeps the certificates the client obtains (DirKeystore for a directory,
	// MemoryKeystore in memory). With it, New registers a UserCertificateHandler for
	// wl_userCertificateAuthRealm and, together with Device, a ProvisioningHandler for
	// wl_deviceAutoProvisioningRealm.
	Keystore Keystore
	// ActivationCode is the MDM activation code the ProvisioningHandler sends with its CSR;
	// OnActivationCode, when set, is asked instead each time a CSR is sent.
	ActivationCode   string
	OnActivationCode func(ctx context.Context, realm string) (string, error)
	// Attestation, when set, registers an AuthenticityHandler for wl_authenticityRealm.
	Attestation AttestationProvider
}

// Client speaks the Realmgate protocol for one application: it keeps the session cookies and the
// anti-XSRF instance id, and settles challenges with the registered handlers before handing back
// the resource the caller asked for. A Client is safe for concurrent use.
type Client struct {
	base      *url.URL
	app       string
	env       string
	version   string
	maxRounds int
	hc        *http.Client
	jar       http.CookieJar

	// gate serialises the settling of challenges (and the request that opens a session) and
	// keeps other requests from being in flight meanwhile, so concurrent calls answer each
	// challenge once and none races a session-id rotation.
	gate *gate

	mu         sync.Mutex
	handlers   map[string]ChallengeHandler
	instanceID string
	gen        uint64 // counts settled challenges; a 401 older than the last settlement is stale
	identities map[string]json.RawMessage
	// logins holds, per login realm, the authenticator the server's last challenge of it named
	// ({"authenticator", "header"}), so that a user-certificate realm's dependent realm can be
	// answered before the server challenges it (see dependentFirst).
	logins map[string]json.RawMessage

	tokens tokens

	// Built from Config for the certificate handlers.
	device         DeviceInfo
	keystore       Keystore
	activationCode func(ctx context.Context, realm string) (string, error)
}

// New checks cfg and returns a Client with the built-in handlers registered: anti-XSRF,
// remote-disable notify (Config.OnNotify) and, with Config.Device, device no-provisioning.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("realmgate: BaseURL: %w", err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("realmgate: BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("realmgate: BaseURL must not carry credentials, a query or a fragment")
	}
	if base.Path == "" {
		base.Path = "/" // so joined paths are absolute, as the cookie jar needs
	}
	for name, v := range map[string]string{"AppID": cfg.AppID, "Environment": cfg.Environment, "AppVersion": cfg.AppVersion} {
		if v == "" || !validHeaderValue(v) {
			return nil, fmt.Errorf("realmgate: %s must be a non-empty header-safe string", name)
		}
	}
	if cfg.MaxRounds < 0 {
		return nil, fmt.Errorf("realmgate: MaxRounds must not be negative")
	}
	if cfg.Keystore != nil && cfg.Device != nil && cfg.Device.ID == "" {
		return nil, fmt.Errorf("realmgate: provisioning needs Device.ID (the CSR's common name)")
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("realmgate: cookie jar: %w", err)
	}
	c := &Client{
		base:       base,
		app:        cfg.AppID,
		env:        cfg.Environment,
		version:    cfg.AppVersion,
		maxRounds:  cfg.MaxRounds,
		jar:        jar,
		gate:       newGate(),
		handlers:   map[string]ChallengeHandler{},
		identities: map[string]json.RawMessage{},
	}
	if c.maxRounds == 0 {
		c.maxRounds = DefaultMaxRounds
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		hc = &copied
	}
	hc.Jar = jar
	hc.CheckRedirect = c.checkRedirect(hc.CheckRedirect)
	c.hc = hc

	if cfg.PersistentCookie != "" {
		if !validCookieValue(cfg.PersistentCookie) {
			return nil, fmt.Errorf("realmgate: PersistentCookie is not a valid cookie value")
		}
		jar.SetCookies(c.apiURL(), []*http.Cookie{{Name: CookiePersistent, Value: cfg.PersistentCookie, Path: "/"}})
	}

	c.handlers[RealmAntiXSRF] = &xsrfHandler{c: c}
	c.handlers[RealmRemoteDisable] = &NotifyHandler{OnNotify: cfg.OnNotify}
	if cfg.Device != nil {
		c.handlers[RealmDeviceNoProvisioning] = &DeviceHandler{Device: *cfg.Device}
		c.device = *cfg.Device
	}
	c.keystore = cfg.Keystore
	c.activationCode = cfg.OnActivationCode
	if c.activationCode == nil && cfg.ActivationCode != "" {
		code := cfg.ActivationCode
		c.activationCode = func(context.Context, string) (string, error) { return code, nil }
	}
	if cfg.Keystore != nil {
		c.handlers[RealmUserCertificate] = c.UserCertificateHandler()
		if cfg.Device != nil {
			c.handlers[RealmDeviceAutoProvisioning] = c.ProvisioningHandler()
		}
	}
	if cfg.Attestation != nil {
		c.handlers[RealmAuthenticity] = &AuthenticityHandler{Attest: cfg.Attestation}
	}
	return c, nil
}

// appInfo is the application as signed payloads name it.
func (c *Client) appInfo() AppInfo {
	return AppInfo{ID: c.app, Version: c.version, Environment: c.env}
}

// ProvisioningHandler returns a new ProvisioningHandler made of the Config's Keystore, Device,
// application and activation code, to register for a custom provisioning realm:
//
//	c.RegisterHandler("MDMRealm", c.ProvisioningHandler())
func (c *Client) ProvisioningHandler() *ProvisioningHandler {
	return &ProvisioningHandler{Keystore: c.keystore, Device: c.device, App: c.appInfo(), ActivationCode: c.activationCode}
}

// UserCertificateHandler returns a new UserCertificateHandler made of the Config's Keystore,
// Device and application, to register for a user-certificate realm of another name.
func (c *Client) UserCertificateHandler() *UserCertificateHandler {
	return &UserCertificateHandler{Keystore: c.keystore, Device: c.device, App: c.appInfo()}
}

// RegisterHandler makes h answer the challenges of realm, replacing any handler registered for
// it before (built-in ones included). A nil h removes the realm's handler.
func (c *Client) RegisterHandler(realm string, h ChallengeHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h == nil {
		delete(c.handlers, realm)
		return
	}
	c.handlers[realm] = h
}

func (c *Client) handler(realm string) ChallengeHandler {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handlers[realm]
}

func (c *Client) setInstanceID(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.instanceID = id
}

// PersistentCookie returns the WL_PERSISTENT_COOKIE the server issued (or Config gave), to keep
// for the next run; empty when there is none yet.
func (c *Client) PersistentCookie() string {
	for _, ck := range c.jar.Cookies(c.apiURL()) {
		if ck.Name == CookiePersistent {
			return ck.Value
		}
	}
	return ""
}

func (c *Client) hasSession() bool {
	for _, ck := range c.jar.Cookies(c.apiURL()) {
		if ck.Name == CookieSession {
			return true
		}
	}
	return false
}

// Do sends req and returns the resource's response once every challenge on the way is settled.
//
// A request to the server (same scheme and host as BaseURL; a URL without a host is taken
// relative to BaseURL) carries the application headers and, once known, WL-Instance-Id. A 401
// challenge body is answered realm by realm with the registered handlers, step after step, and
// req is re-issued each time; its body is replayed through GetBody or, without GetBody, from a
// copy of at most MaxRequestBytes. A 403 or 429 reply becomes an *Error. Any other reply,
// including a 401 that is not a challenge body, is returned as is; the caller closes its body.
// Requests to other hosts are sent unchanged, without the application headers.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if req == nil || req.URL == nil {
		return nil, errors.New("realmgate: nil request")
	}
	ctx := req.Context()
	if req.URL.Host == "" {
		u, err := c.resolve(req.URL.String())
		if err != nil {
			return nil, err
		}
		req = req.Clone(ctx)
		req.URL, req.Host = u, ""
	}
	if !c.sameOrigin(req.URL) {
		return c.hc.Do(req)
	}
	getBody, err := replayable(req)
	if err != nil {
		return nil, err
	}
	rounds := map[string]int{}
	for reissue := 0; ; reissue++ {
		resp, gen, err := c.send(ctx, req, getBody)
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			ch, err := takeChallenge(resp)
			if err != nil {
				return nil, err
			}
			if ch == nil {
				return resp, nil
			}
			if reissue == maxReissues {
				realm := orderRealms(ch.Challenges)[0]
				return nil, &RealmError{Realm: realm, Round: rounds[realm], Err: ErrTooManyRounds}
			}
			if err := c.settle(ctx, gen, ch, rounds); err != nil {
				return nil, err
			}
		case http.StatusForbidden, http.StatusTooManyRequests:
			b, err := readBody(resp)
			if err != nil {
				return nil, err
			}
			return nil, parseError(resp.StatusCode, b, "")
		default:
			return resp, nil
		}
	}
}

// send issues one attempt of req. It returns the settlement generation current when the request
// left, so a challenge that another goroutine settled meanwhile is recognised as stale.
func (c *Client) send(ctx context.Context, req *http.Request, getBody func() (io.ReadCloser, error)) (*http.Response, uint64, error) {
	// Requests share the gate while settlement holds it alone. The first request opens the
	// session, so while there is none requests go one at a time: concurrent calls then share
	// one session instead of each opening its own.
	if !settling(ctx, c) {
		if c.hasSession() {
			if err := c.gate.share(ctx); err != nil {
				return nil, 0, err
			}
			defer c.gate.unshare()
		} else {
			_, release, err := c.lock(ctx)
			if err != nil {
				return nil, 0, err
			}
			defer release()
		}
	}
	r := req.Clone(ctx)
	if getBody != nil {
		body, err := getBody()
		if err != nil {
			return nil, 0, fmt.Errorf("realmgate: re-reading request body: %w", err)
		}
		r.Body = body
	}
	c.mu.Lock()
	gen, id := c.gen, c.instanceID
	c.mu.Unlock()
	c.decorate(r.Header, id)
	resp, err := c.hc.Do(r)
	return resp, gen, err
}

func (c *Client) decorate(h http.Header, instanceID string) {
	h.Set(HeaderAppID, c.app)
	h.Set(HeaderAppEnvironment, c.env)
	h.Set(HeaderAppVersion, c.version)
	if instanceID != "" {
		h.Set(HeaderInstanceID, instanceID)
	}
}

// settlingKey marks a context as running inside this client's challenge settlement, so that
// requests a handler makes through the same client do not wait for the gate it already holds.
type settlingKey struct{}

func settling(ctx context.Context, c *Client) bool {
	owner, _ := ctx.Value(settlingKey{}).(*Client)
	return owner == c
}

// lock holds the gate alone unless ctx already runs under it. It honours ctx while waiting.
func (c *Client) lock(ctx context.Context) (context.Context, func(), error) {
	if settling(ctx, c) {
		return ctx, func() {}, nil
	}
	if err := c.gate.hold(ctx); err != nil {
		return nil, nil, err
	}
	return context.WithValue(ctx, settlingKey{}, c), c.gate.unhold, nil
}

// settle answers every realm of one challenge, anti-XSRF first (later answers must carry its
// header), then remote disable, then app authenticity, then the device realm, then the others by
// name; once the device realm is settled the request is re-issued before the others.
func (c *Client) settle(ctx context.Context, gen uint64, ch *challengeBody, rounds map[string]int) error {
	ctx, release, err := c.lock(ctx)
	if err != nil {
		return err
	}
	defer release()
	c.mu.Lock()
	stale := c.gen != gen
	c.mu.Unlock()
	if stale {
		return nil // settled by another call while this one waited: re-issue and see
	}
	defer func() {
		c.mu.Lock()
		c.gen++
		c.mu.Unlock()
	}()
	realms := orderRealms(ch.Challenges)
	for i, realm := range realms {
		if err := c.settleRealm(ctx, ch, realm, rounds, 0); err != nil {
			if errors.Is(err, errNewSession) {
				c.resetSession()
				return nil // re-issue: the request opens a new session
			}
			return err
		}
		if i+1 < len(realms) && isDeviceRealm(ch.Challenges, realm) {
			// The device is proven: re-issue before the realms after it, whose login the device
			// may already share (device SSO), so that nobody is asked for it again.
			return nil
		}
	}
	return nil
}

// isDeviceRealm reports whether realm of a challenge is a device realm.
func isDeviceRealm(challenges map[string]json.RawMessage, realm string) bool {
	return realm == RealmDeviceNoProvisioning || realm == RealmDeviceAutoProvisioning || isProvisioningChallenge(challenges[realm])
}

// resetSession forgets the session (its cookie, instance id and identities) so that the next
// request opens a new one; the persistent cookie stays. The caller holds the gate alone.
func (c *Client) resetSession() {
	c.jar.SetCookies(c.apiURL(), []*http.Cookie{{Name: CookieSession, Value: "", Path: "/", MaxAge: -1}})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.instanceID = ""
	c.identities = map[string]json.RawMessage{}
}

// maxNesting bounds how deep realms named in replies to other realms' answers are settled
// (a user-certificate realm's dependent realm is one level).
const maxNesting = 4

// orderRealms orders the realms of one challenge: anti-XSRF, remote disable, app authenticity,
// the device realm, then the others by name. A predefined mobile test challenges all of them in
// one step; the device is proven before the user logs in, so that a login the device already
// shares (device SSO) is not asked for again.
func orderRealms(challenges map[string]json.RawMessage) []string {
	realms := make([]string, 0, len(challenges))
	for r := range challenges {
		realms = append(realms, r)
	}
	rank := func(r string) int {
		switch r {
		case RealmAntiXSRF:
			return 0
		case RealmRemoteDisable:
			return 1
		case RealmAuthenticity:
			return 2 // a device is provisioned only once the application is proven genuine
		}
		if isDeviceRealm(challenges, r) {
			return 3
		}
		return 4
	}
	sort.Slice(realms, func(i, j int) bool {
		if ri, rj := rank(realms[i]), rank(realms[j]); ri != rj {
			return ri < rj
		}
		return realms[i] < realms[j]
	})
	return realms
}

// isProvisioningChallenge reports whether a challenge payload is a provisioning realm's: it names
// the entity a certificate is issued to.
func isProvisioningChallenge(payload json.RawMessage) bool {
	var p struct {
		Entity string `json:"entity"`
	}
	return json.Unmarshal(payload, &p) == nil && p.Entity != ""
}

// settleRealm runs one realm's rounds until the server says "success", the handler settles it
// locally, or the server stops challenging it.
//
// A 401 reply to an answer may name realms other than this one: the server wants them first (a
// user-certificate realm's dependent realm, an expired anti-XSRF token). They are settled at
// once, with their own handlers; then the realm goes on with its own payload in that reply, or,
// without one, the request is re-issued and challenges it again if need be.
func (c *Client) settleRealm(ctx context.Context, ch *challengeBody, realm string, rounds map[string]int, depth int) error {
	h := c.handler(realm)
	if h == nil {
		return &RealmError{Realm: realm, Round: rounds[realm], Err: ErrNoHandler}
	}
	next := func() (int, error) {
		rounds[realm]++
		if rounds[realm] > c.maxRounds {
			return 0, &RealmError{Realm: realm, Round: rounds[realm] - 1, Err: ErrTooManyRounds}
		}
		return rounds[realm], nil
	}
	var cur json.RawMessage // the payload of the challenge being answered
	challenge := func(test string, step int, payload json.RawMessage) (*Answer, error) {
		round, err := next()
		if err != nil {
			return nil, err
		}
		info, err := parsePayloadInfo(payload)
		if err != nil {
			return nil, &RealmError{Realm: realm, Round: round, Err: err}
		}
		cur = payload
		c.learnLogin(realm, h, payload)
		a, err := h.HandleChallenge(ctx, &Challenge{
			Realm: realm, SecurityTest: test, Step: step, Round: round,
			Payload: payload, Error: info.Error, RemainingAttempts: info.RemainingAttempts,
		})
		if err != nil {
			return nil, &RealmError{Realm: realm, Round: round, Err: err}
		}
		return a, nil
	}

	ans, err := challenge(ch.SecurityTest, ch.Step, ch.Challenges[realm])
	for {
		if err != nil {
			return err
		}
		if ans == nil || ans.Skip {
			return nil
		}
		if dep, payload := c.dependentFirst(h, cur, ans, rounds); dep != "" && depth < maxNesting {
			// One round trip less than {"enroll": true} answered with the dependent realm's
			// challenge; a server that wants the enroll first (409) gets it.
			first := &challengeBody{SecurityTest: ch.SecurityTest, Step: ch.Step, Challenges: map[string]json.RawMessage{dep: payload}}
			var e *Error
			if err := c.settleRealm(ctx, first, dep, rounds, depth+1); err != nil && !(errors.As(err, &e) && e.Status == http.StatusConflict) {
				return err
			}
		}
		reply, again, postErr := c.postAnswer(ctx, realm, ans)
		if postErr != nil {
			var e *Error
			if r, ok := h.(refusalHandler); ok && errors.As(postErr, &e) && e.Status == http.StatusForbidden {
				if err := r.handleRefusal(ctx, realm, e); !errors.Is(err, errNewSession) {
					return &RealmError{Realm: realm, Round: rounds[realm], Err: err}
				}
				return errNewSession
			}
			return postErr
		}
		switch {
		case again != nil:
			for _, other := range orderRealms(again.Challenges) {
				if other == realm {
					continue
				}
				if depth >= maxNesting {
					return &RealmError{Realm: other, Round: rounds[other], Err: fmt.Errorf("%w: realms named in replies nest too deep", ErrTooManyRounds)}
				}
				if err := c.settleRealm(ctx, again, other, rounds, depth+1); err != nil {
					return err
				}
			}
			payload, ok := again.Challenges[realm]
			if !ok {
				return nil
			}
			ans, err = challenge(again.SecurityTest, again.Step, payload)
		case reply.Status == "success":
			c.mu.Lock()
			c.identities[realm] = reply.Identity
			c.mu.Unlock()
			return nil
		default:
			var round int
			if round, err = next(); err != nil {
				return err
			}
			ans, err = h.HandleStatus(ctx, &Status{Realm: realm, Status: reply.Status, Round: round, Body: reply.Body})
			if err != nil {
				err = &RealmError{Realm: realm, Round: round, Err: err}
			}
		}
	}
}

// dependentAnswerer is a handler whose answer to a challenge may need another realm passed
// first: the user-certificate handler's {"enroll": true} needs the dependent realm the
// challenge names.
type dependentAnswerer interface {
	dependentRealm(payload json.RawMessage, a *Answer) string
}

// dependentFirst returns the realm to answer before posting a (and the challenge payload to
// answer it with), or "": a user-certificate realm's dependent realm, when a is
// {"enroll": true}, the session has not passed that realm, this call has not answered it yet,
// its handler is a LoginHandler that holds fixed Credentials (so nobody is asked for them
// before the server wants them), and the client knows the realm's authenticator from an earlier
// challenge of it. PROTOCOL.md section 7 step 3 lets a client answer the dependent realm as soon
// as the challenge names it, which saves the enroll answer challenged with the dependent realm
// and the request re-issued after it.
func (c *Client) dependentFirst(h ChallengeHandler, payload json.RawMessage, a *Answer, rounds map[string]int) (string, json.RawMessage) {
	da, ok := h.(dependentAnswerer)
	if !ok {
		return "", nil
	}
	dep := da.dependentRealm(payload, a)
	if dep == "" || rounds[dep] > 0 {
		return "", nil
	}
	lh, ok := c.handler(dep).(*LoginHandler)
	if !ok || lh.Ask != nil || lh.Credentials.Username == "" {
		return "", nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, passed := c.identities[dep]; passed {
		return "", nil
	}
	known, ok := c.logins[dep]
	if !ok {
		return "", nil
	}
	return dep, known
}

// learnLogin keeps the authenticator a login realm's challenge names (never its error or
// remaining attempts), for dependentFirst.
func (c *Client) learnLogin(realm string, h ChallengeHandler, payload json.RawMessage) {
	if _, ok := h.(*LoginHandler); !ok {
		return
	}
	var p struct {
		Authenticator string `json:"authenticator"`
		Header        string `json:"header,omitempty"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return
	}
	switch p.Authenticator {
	case "form", "basic":
		p.Header = ""
	case "header":
		if !validHeaderName(p.Header) {
			return
		}
	default:
		return
	}
	b, err := json.Marshal(p)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logins == nil {
		c.logins = map[string]json.RawMessage{}
	}
	c.logins[realm] = b
}

// postAnswer sends one answer to POST /api/v1/auth/{realm}. It returns the 200 reply, or the
// challenge of a 401 reply; any other status is an *Error.
func (c *Client) postAnswer(ctx context.Context, realm string, a *Answer) (*authResult, *challengeBody, error) {
	body := []byte("{}")
	if a.Body != nil {
		var err error
		if body, err = json.Marshal(a.Body); err != nil {
			return nil, nil, &RealmError{Realm: realm, Err: fmt.Errorf("encoding answer: %w", err)}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint("api", "v1", "auth", realm), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	c.mu.Lock()
	id := c.instanceID
	c.mu.Unlock()
	c.decorate(req.Header, id)
	for k, vs := range a.Header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	b, err := readBody(resp)
	if err != nil {
		return nil, nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		r, err := parseAuthResult(realm, b)
		if err != nil {
			return nil, nil, &RealmError{Realm: realm, Err: err}
		}
		return r, nil, nil
	case http.StatusUnauthorized:
		ch, err := parseChallengeBody(b)
		if errors.Is(err, errNotChallenge) {
			err = fmt.Errorf("%w: 401 reply to an answer is not a challenge", ErrMalformedResponse)
		}
		if err != nil {
			return nil, nil, &RealmError{Realm: realm, Err: err}
		}
		return nil, ch, nil
	default:
		return nil, nil, parseError(resp.StatusCode, b, realm)
	}
}

// takeChallenge reads a 401 reply. It returns the challenge, or nil with the reply's body intact
// when the reply is not a challenge (a resource server's Bearer 401, an HTML page).
func takeChallenge(resp *http.Response) (*challengeBody, error) {
	b, over, err := readPrefix(resp.Body, MaxResponseBytes)
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("realmgate: reading 401 reply: %w", err)
	}
	declaredJSON := isJSON(resp.Header)
	if over {
		if declaredJSON {
			resp.Body.Close()
			return nil, fmt.Errorf("realmgate: 401 reply: %w (more than %d bytes)", ErrResponseTooLarge, MaxResponseBytes)
		}
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
		return nil, nil
	}
	resp.Body.Close()
	if !json.Valid(b) {
		if declaredJSON {
			return nil, fmt.Errorf("realmgate: 401 reply: %w: body is not valid JSON", ErrMalformedResponse)
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return nil, nil
	}
	ch, err := parseChallengeBody(b)
	if errors.Is(err, errNotChallenge) {
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("realmgate: 401 reply: %w", err)
	}
	return ch, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// replayable returns a way to get req's body again for every attempt.
func replayable(req *http.Request) (func() (io.ReadCloser, error), error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		return req.GetBody, nil
	}
	b, over, err := readPrefix(req.Body, MaxRequestBytes)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("realmgate: reading request body: %w", err)
	}
	if over {
		return nil, fmt.Errorf("realmgate: %w: more than %d bytes; give the request a GetBody", ErrRequestTooLarge, MaxRequestBytes)
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, nil
}

// checkRedirect keeps the anti-XSRF token and application headers from following a redirect to
// another origin, then applies the caller's policy (or the standard limit of 10 redirects).
func (c *Client) checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !c.sameOrigin(req.URL) {
			for _, h := range []string{HeaderInstanceID, HeaderAppID, HeaderAppEnvironment, HeaderAppVersion} {
				req.Header.Del(h)
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

func (c *Client) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && strings.EqualFold(u.Host, c.base.Host)
}

// endpoint builds a URL under BaseURL from path segments, each escaped.
func (c *Client) endpoint(segments ...string) string {
	esc := make([]string, len(segments))
	for i, s := range segments {
		esc[i] = url.PathEscape(s)
	}
	return c.base.JoinPath(esc...).String()
}

func (c *Client) apiURL() *url.URL { return c.base.JoinPath("api", "v1") }

// resolve takes a path (with an optional query) relative to BaseURL.
func (c *Client) resolve(p string) (*url.URL, error) {
	ref, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("realmgate: path %q: %w", p, err)
	}
	if ref.Scheme != "" || ref.Host != "" || ref.User != nil {
		return nil, fmt.Errorf("realmgate: path %q is not relative to BaseURL", p)
	}
	u := c.base.JoinPath(ref.EscapedPath())
	u.RawQuery = ref.RawQuery
	return u, nil
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 && v[i] != '\t' || v[i] == 0x7f {
			return false
		}
	}
	return true
}

func validCookieValue(v string) bool {
	if len(v) > 4096 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}
