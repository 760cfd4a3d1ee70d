package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/resource"
)

// The applications, realms and adapter of the load-test project (bench/pki-project).
const (
	webApp       = "BenchWeb"
	webEnv       = "mobilewebapp"
	webVersion   = "1.0"
	loginRealm   = "BenchLogin"
	scope        = "webTests"
	usersApp     = "BenchUsers"
	userCerts    = "BenchUserCerts"
	deviceEnv    = "android"
	adapterName  = "Accounts"
	procedure    = "getBalance"
	builtinApp   = "BenchBuiltin"
	builtinRealm = "BuiltinProvisioning"
)

// flow is one realistic sequence of a client's requests. A run of it is measured end to end,
// and each request in it as a step of its route.
type flow struct {
	name string
	// doc says what a run does, for -h.
	doc string
	// run does one run; ctx carries the sink its requests are recorded in.
	run func(ctx context.Context, w *worker) error
	// setup, when set, makes what run needs on the worker (a signed-in session, a token, a
	// provisioned device) before the run is timed; it does so once per worker, unmeasured.
	setup func(ctx context.Context, w *worker) error
}

func needSession(ctx context.Context, w *worker) error { _, err := w.session(ctx); return err }
func needToken(ctx context.Context, w *worker) error   { _, err := w.accessToken(ctx); return err }
func needRelogin(ctx context.Context, w *worker) error {
	if w.relogin != nil {
		return nil
	}
	c, err := w.webClient()
	if err != nil {
		return err
	}
	if err := initAsUser(ctx, c, w.user.Username); err != nil {
		return fmt.Errorf("signing in: %w", err)
	}
	w.relogin = c
	return nil
}
func needDevice(ctx context.Context, w *worker) error { _, err := w.provisioned(ctx); return err }

// provisioning is a flow provisioning a new device of app through realm.
func provisioning(name, app, realm, bridge string) flow {
	return flow{name: name, doc: "a new device provisioned by " + bridge + " (" + app + "): the challenge, its CSR and signed payload, the certificate",
		run: func(ctx context.Context, w *worker) error {
			_, err := w.provision(ctx, app, realm)
			return err
		}}
}

// flows are every flow, in the order reports list them.
var flows = []flow{
	{name: "healthz", doc: "GET /healthz: the floor of a request to the daemon, the peer of the other flows' figures", run: func(ctx context.Context, w *worker) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.cfg.url+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := w.cfg.hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			return &statusError{status: resp.StatusCode, route: "healthz"}
		}
		return nil
	}},
	{name: "init", doc: "a new app instance connects (" + webApp + "): init, the anti-XSRF challenge, the login challenge answered with a password", run: func(ctx context.Context, w *worker) error {
		c, err := w.webClient()
		if err != nil {
			return err
		}
		return initAsUser(ctx, c, w.user.Username)
	}},
	{name: "login", doc: "a signed-in app instance logs out of " + loginRealm + " and signs in again", run: func(ctx context.Context, w *worker) error {
		c := w.relogin
		if err := c.Logout(ctx, loginRealm); err != nil {
			return err
		}
		return initAsUser(ctx, c, w.user.Username)
	}, setup: needRelogin},
	{name: "adapter", doc: "a signed-in app instance calls " + adapterName + "." + procedure, run: func(ctx context.Context, w *worker) error {
		c, err := w.session(ctx)
		if err != nil {
			return err
		}
		out, err := c.InvokeProcedure(ctx, adapterName, procedure)
		if err != nil {
			return err
		}
		var res struct {
			User    string   `json:"user"`
			Balance *float64 `json:"balance"`
		}
		if err := json.Unmarshal(out, &res); err != nil || res.User != w.user.Username || res.Balance == nil {
			return fmt.Errorf("%s.%s: %w: %.200s", adapterName, procedure, errUnexpected, out)
		}
		return nil
	}, setup: needSession},
	{name: "token", doc: "a signed-in app instance obtains an access token for " + scope + " (POST /oauth/token)", run: func(ctx context.Context, w *worker) error {
		c, err := w.session(ctx)
		if err != nil {
			return err
		}
		_, err = c.ObtainAccessToken(ctx, scope)
		return err
	}, setup: needSession},
	{name: "validation", doc: "a resource server validates an access token at the daemon (POST /oauth/validation)", run: func(ctx context.Context, w *worker) error {
		tok, err := w.accessToken(ctx)
		if err != nil {
			return err
		}
		return w.validate(ctx, tok)
	}, setup: needToken},
	{name: "offline", doc: "a resource server validates an access token offline (package resource, keys from /oauth/jwks)", run: func(ctx context.Context, w *worker) error {
		tok, err := w.accessToken(ctx)
		if err != nil {
			return err
		}
		start := time.Now()
		got, err := w.validator.Validate(ctx, tok, scope)
		if err == nil && got.UserID != w.user.Username {
			err = fmt.Errorf("offline validation: %w: user %q", errUnexpected, got.UserID)
		}
		kind := ""
		if err != nil {
			kind = errorKind(err)
		}
		s := ctx.Value(sinkKey{}).(*sink)
		s.stats.step(s.flow, "offline validation", time.Since(start), false, 0, kind, err)
		return err
	}, setup: needToken},
	provisioning("provision", builtinApp, builtinRealm, "the built-in CA"),
	provisioning("provision-wasm", "BenchWasm", "WasmProvisioning", "the wasm PKI bridge"),
	provisioning("provision-plugin", "BenchPlugin", "PluginProvisioning", "the go-plugin PKI bridge"),
	{name: "device-signin", doc: "a provisioned device signs in with its certificate in a new session (" + builtinApp + ")", run: func(ctx context.Context, w *worker) error {
		d, err := w.provisioned(ctx)
		if err != nil {
			return err
		}
		c, err := w.deviceClient(builtinApp, builtinRealm, d.device, d.keys)
		if err != nil {
			return err
		}
		return initAsDevice(ctx, c, d.device.ID)
	}, setup: needDevice},
	{name: "enroll", doc: "a new app instance of " + usersApp + " enrolls a user certificate (after the password login) and signs in with it", run: func(ctx context.Context, w *worker) error {
		c, err := client.New(client.Config{BaseURL: w.cfg.url, AppID: usersApp, Environment: webEnv, AppVersion: webVersion,
			HTTPClient: w.cfg.hc, Keystore: &client.MemoryKeystore{}})
		if err != nil {
			return err
		}
		c.RegisterHandler(loginRealm, &client.LoginHandler{Credentials: w.user})
		c.RegisterHandler(userCerts, c.UserCertificateHandler())
		return initAsUser(ctx, c, w.user.Username)
	}},
}

func flowNamed(name string) (flow, bool) {
	for _, f := range flows {
		if f.name == name {
			return f, true
		}
	}
	return flow{}, false
}

// config is what every worker shares.
type config struct {
	url, issuer string
	hc          *http.Client // the recording client
	users       []client.Credentials
	// runID makes the device ids of this run unlike those of any other run on the same
	// store: an id that holds a live certificate takes a new key only with that key's proof.
	runID   string
	devices atomic.Int64
}

// worker is one simulated client. It keeps what the flows on an established session need: a
// signed-in app instance and its token, a provisioned device. They are made on first use,
// outside any measurement.
type worker struct {
	cfg       *config
	id        int
	user      client.Credentials
	validator *resource.Validator

	web   *client.Client
	token string
	// relogin is the login flow's app instance: a logout revokes the tokens its session
	// obtained, so it is not web, whose token the validation flows check.
	relogin *client.Client
	device  *device
}

type device struct {
	device client.DeviceInfo
	keys   client.Keystore
}

func (w *worker) webClient() (*client.Client, error) {
	c, err := client.New(client.Config{BaseURL: w.cfg.url, AppID: webApp, Environment: webEnv, AppVersion: webVersion, HTTPClient: w.cfg.hc})
	if err != nil {
		return nil, err
	}
	c.RegisterHandler(loginRealm, &client.LoginHandler{Credentials: w.user})
	return c, nil
}

// unmeasured is ctx without its sink: the requests of a worker's setup are not the flow's.
func unmeasured(ctx context.Context) context.Context { return withSink(ctx, nil) }

// session is the worker's signed-in app instance, made once.
func (w *worker) session(ctx context.Context) (*client.Client, error) {
	if w.web != nil {
		return w.web, nil
	}
	c, err := w.webClient()
	if err != nil {
		return nil, err
	}
	if err := initAsUser(unmeasured(ctx), c, w.user.Username); err != nil {
		return nil, fmt.Errorf("signing in: %w", err)
	}
	w.web = c
	return c, nil
}

// accessToken is a token of the worker's session, obtained once.
func (w *worker) accessToken(ctx context.Context) (string, error) {
	if w.token != "" {
		return w.token, nil
	}
	c, err := w.session(ctx)
	if err != nil {
		return "", err
	}
	tok, err := c.ObtainAccessToken(unmeasured(ctx), scope)
	if err != nil {
		return "", fmt.Errorf("obtaining a token: %w", err)
	}
	w.token = tok.Value
	return w.token, nil
}

// validate asks the daemon whether tok is active for the scope, as a resource server does.
func (w *worker) validate(ctx context.Context, tok string) error {
	form := url.Values{"token": {tok}, "scope": {scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.url+"/oauth/validation", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := w.cfg.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{status: resp.StatusCode, route: "oauth validation"}
	}
	var out struct {
		Active bool   `json:"active"`
		Sub    string `json:"sub"`
	}
	if err := json.Unmarshal(b, &out); err != nil || !out.Active {
		return fmt.Errorf("oauth validation: %w: %.200s", errUnexpected, b)
	}
	return nil
}

func (w *worker) deviceClient(app, realm string, d client.DeviceInfo, keys client.Keystore) (*client.Client, error) {
	c, err := client.New(client.Config{BaseURL: w.cfg.url, AppID: app, Environment: deviceEnv, AppVersion: webVersion,
		HTTPClient: w.cfg.hc, Device: &d, Keystore: keys})
	if err != nil {
		return nil, err
	}
	c.RegisterHandler(realm, c.ProvisioningHandler())
	return c, nil
}

// provision provisions a device never seen before, with a key made for it.
func (w *worker) provision(ctx context.Context, app, realm string) (*device, error) {
	d := &device{
		device: client.DeviceInfo{ID: fmt.Sprintf("load-%s-%d", w.cfg.runID, w.cfg.devices.Add(1)), OS: "android", Model: "load"},
		keys:   &client.MemoryKeystore{},
	}
	c, err := w.deviceClient(app, realm, d.device, d.keys)
	if err != nil {
		return nil, err
	}
	if err := initAsDevice(ctx, c, d.device.ID); err != nil {
		return nil, err
	}
	return d, nil
}

// provisioned is the worker's device provisioned once by the built-in CA.
func (w *worker) provisioned(ctx context.Context) (*device, error) {
	if w.device != nil {
		return w.device, nil
	}
	d, err := w.provision(unmeasured(ctx), builtinApp, builtinRealm)
	if err != nil {
		return nil, fmt.Errorf("provisioning the device: %w", err)
	}
	w.device = d
	return d, nil
}

// initAsUser connects c and checks that the session's user is user.
func initAsUser(ctx context.Context, c *client.Client, user string) error {
	res, err := c.Init(ctx)
	if err != nil {
		return err
	}
	if got, _ := res.User["userId"].(string); got != user {
		return fmt.Errorf("init: %w: user %q, want %q", errUnexpected, got, user)
	}
	return nil
}

// initAsDevice connects c and checks that the session's device is id.
func initAsDevice(ctx context.Context, c *client.Client, id string) error {
	res, err := c.Init(ctx)
	if err != nil {
		return err
	}
	if got, _ := res.Device["id"].(string); got != id {
		return fmt.Errorf("init: %w: device %q, want %q", errUnexpected, got, id)
	}
	return nil
}

func newRunID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
