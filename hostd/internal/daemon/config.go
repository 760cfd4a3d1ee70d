// Package daemon wires hostd together: server settings (hostd.yaml and flags), the store, the
// token keys, the HTTP server, the decision log, and a graceful shutdown. It owns the runtime (the
// loaded project, its engine and its adapters), reference-counted so that a reload swaps it
// atomically and the old one closes after its last request (runtime.go).
package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/internal/server"
)

// SettingsFile is the optional server-settings file in the project directory.
const SettingsFile = "hostd.yaml"

// Settings are hostd's server settings. Flags override the file; the file overrides defaults.
type Settings struct {
	// Listen is the address to serve on.
	Listen string `yaml:"listen"`
	// Data is the folder of the embedded store and generated keys.
	Data string `yaml:"data"`
	// Store selects the durable store: by default the embedded SQLite file DATA/realmgate.db;
	// for several daemons, one PostgreSQL database.
	Store StoreSettings `yaml:"store"`
	// Development relaxes checks meant for production (unpinned adapters) and says so at start.
	Development bool `yaml:"development"`
	// AdapterCacheDir keeps compiled wasm modules between restarts; default DATA/adapter-cache.
	// Daemons on one machine may share it.
	AdapterCacheDir string `yaml:"adapterCacheDir"`
	// JSEngine is the JavaScript engine module that runs Worklight JavaScript adapters (hostd
	// adapter build-js-engine writes it), and JSEngineSHA256 its pin. Without it, development
	// mode builds the engine from source; production refuses JavaScript adapters.
	JSEngine       string `yaml:"jsEngine"`
	JSEngineSHA256 string `yaml:"jsEngineSHA256"`
	// DataSources maps the JNDI names of SQL adapters' <dataSourceJNDIName> to databases
	// (datasources.go); an adapter naming one that is not here does not load.
	DataSources map[string]DataSourceSettings `yaml:"dataSources"`
	// AdminTokenFile holds the admin API's bearer token.
	AdminTokenFile string `yaml:"adminTokenFile"`
	// SecureCookies marks cookies Secure (set it when a TLS proxy fronts hostd).
	SecureCookies bool `yaml:"secureCookies"`
	// TrustedProxies are the load balancers and proxies in front of hostd, as CIDRs
	// ("10.0.0.0/8") or addresses. For a request whose peer is one of them, the client's address
	// (its rate limits and login backoff) is the right-most X-Forwarded-For address that is not
	// one of them; for any other request it is the peer, and X-Forwarded-For is not read.
	TrustedProxies []string `yaml:"trustedProxies"`
	// JanitorInterval is how often expired sessions, nonces, failed-login counts and token
	// revocations, persistent users not seen within session.persistentCookieAge and audit
	// records past audit.retention are removed from the store (default 1m).
	JanitorInterval Duration `yaml:"janitorInterval"`
	Session         struct {
		// IdleTimeout ends a session not used for this long (default 30m).
		IdleTimeout Duration `yaml:"idleTimeout"`
		// MaxLifetime ends a session this long after it began, however active it is (default
		// 12h): a stolen session cookie is not good forever.
		MaxLifetime Duration `yaml:"maxLifetime"`
		// PendingTimeout ends, this long after its last use, a session that has passed no realm
		// that needs a credential (default 5m, at most IdleTimeout): a flood of new sessions
		// that are challenged and never answered leaves the store within minutes.
		PendingTimeout Duration `yaml:"pendingTimeout"`
		// PersistentCookieAge is the life of the anonymous user's WL_PERSISTENT_COOKIE
		// (default 8760h, a year). A persistent user not seen for this long holds a cookie
		// that has expired, and the janitor deletes it.
		PersistentCookieAge Duration `yaml:"persistentCookieAge"`
	} `yaml:"session"`
	Audit struct {
		// Retention is how long audit records are kept; the janitor deletes older ones
		// (default 9600h, 400 days; 0 keeps them forever).
		Retention Duration `yaml:"retention"`
	} `yaml:"audit"`
	Limits struct {
		MaxBodyBytes int64    `yaml:"maxBodyBytes"`
		MaxAttempts  int      `yaml:"maxAttempts"`
		NonceTTL     Duration `yaml:"nonceTTL"`
		// BackoffAfter failed logins of one account (ClientBackoffAfter from one client
		// address) make each further login wait, one second doubled per failure up to
		// BackoffMax.
		BackoffAfter       int      `yaml:"backoffAfter"`
		ClientBackoffAfter int      `yaml:"clientBackoffAfter"`
		BackoffMax         Duration `yaml:"backoffMax"`
		// UnauthenticatedPolicyTimeout bounds the policy evaluation of a request from a caller
		// who has passed no realm that needs a credential (default 500ms; 503 past it).
		UnauthenticatedPolicyTimeout Duration `yaml:"unauthenticatedPolicyTimeout"`
		// UnauthenticatedInputBytes bounds the procedure parameters, as JSON, that the policy
		// evaluates for such a caller (default 65536): larger ones are withheld from it.
		UnauthenticatedInputBytes int `yaml:"unauthenticatedInputBytes"`
		// InputDepth bounds the nesting of request facts for every caller (default 32); deeper
		// parameters are refused (400).
		InputDepth int `yaml:"inputDepth"`
		// AnswersPerClient is the rate, per second, of challenge answers and new sessions of one
		// client address (an IPv6 client by its /64), ClientBurst of them at once (defaults 20
		// and 100); AnswersPerRealm, RealmBurst those of one realm from all clients (defaults
		// 2000 and 4000). Over them: 429 rate_limited with Retry-After. 0 disables a limit.
		// Each daemon applies them on its own.
		AnswersPerClient float64 `yaml:"answersPerClient"`
		ClientBurst      int     `yaml:"clientBurst"`
		AnswersPerRealm  float64 `yaml:"answersPerRealm"`
		RealmBurst       int     `yaml:"realmBurst"`
		// RateLimitedClients bounds the client addresses the per-client limit tracks at once
		// (default 65536, about 12 MiB when full): past it, clients whose bucket has refilled are
		// forgotten first.
		RateLimitedClients int `yaml:"rateLimitedClients"`
	} `yaml:"limits"`
	// ShutdownTimeout bounds how long SIGTERM waits for requests in flight.
	ShutdownTimeout Duration `yaml:"shutdownTimeout"`
	Tokens          struct {
		// Algorithm signs access tokens: ES256 (default) or EdDSA.
		Algorithm string `yaml:"algorithm"`
		// Issuer is the tokens' iss; default http://LISTEN-ADDRESS.
		Issuer string `yaml:"issuer"`
		// KeysDir holds the signing keys (token-keys.json), for keys provisioned outside hostd
		// or shared by several daemons; default DATA/keys, generated on first start.
		KeysDir string `yaml:"keysDir"`
		// KeyEncryptionKeyFile seals the token keys that the daemons of a PostgreSQL store
		// keep in it; every daemon needs the same file (default KEYSDIR/token-keys.kek, made by
		// the first daemon of the store; copy it to the others).
		KeyEncryptionKeyFile string `yaml:"keyEncryptionKeyFile"`
		// RotateEvery rotates the signing key on a schedule (default 24h; 0 in the file keeps it).
		RotateEvery Duration `yaml:"rotateEvery"`
		// Audiences are the resource servers a client may ask a token for (the token request's
		// audience or resource parameter); a token asked for none is for the application.
		Audiences []string `yaml:"audiences"`
	} `yaml:"tokens"`
	Provisioning struct {
		// CADir holds the provisioning CA (ca.pem, ca-key.pem) made by hostd ca init; default
		// DATA/ca. In development mode a missing CA is created.
		CADir string `yaml:"caDir"`
	} `yaml:"provisioning"`
	Authenticity struct {
		// AndroidRoots are PEM files of the roots Android Key Attestation chains lead to
		// (Google's attestation roots, or a test root).
		AndroidRoots []string `yaml:"androidRoots"`
		// Adapter is "Adapter.procedure" of a verifier for other attestation formats.
		Adapter string `yaml:"adapter"`
	} `yaml:"authenticity"`

	// Policy and DecisionLogs: an OPA bundle of the deployment's own policies and data, and
	// decision logs in OPA's shape (policysettings.go, docs/bundles.md).
	Policy       PolicySettings      `yaml:"policy"`
	DecisionLogs DecisionLogSettings `yaml:"decisionLogs"`
}

// Store drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// StoreSettings are the settings of the store section.
type StoreSettings struct {
	// Driver is "sqlite" (the default: the file realmgate.db in the data folder) or "postgres".
	Driver string `yaml:"driver"`
	// DSN is the PostgreSQL database, as a URL (postgres://realmgate@db.example:5432/realmgate
	// ?sslmode=verify-full) or key=value pairs. A password does not belong in hostd.yaml: give
	// the whole DSN in DSNFile or DSNEnv instead, or the password alone in PGPASSWORD or a
	// ~/.pgpass file.
	DSN string `yaml:"dsn"`
	// DSNFile is a file holding the DSN, readable by hostd's user alone (like every secret file).
	DSNFile string `yaml:"dsnFile"`
	// DSNEnv names an environment variable holding the DSN.
	DSNEnv string `yaml:"dsnEnv"`
	// MaxConns bounds the connections to the database (default: the DSN's pool_max_conns, or
	// 16).
	MaxConns int32 `yaml:"maxConns"`
	// ConnectTimeout bounds the opening of a connection (default: the DSN's connect_timeout, or
	// 5s).
	ConnectTimeout Duration `yaml:"connectTimeout"`
	// StatementTimeout makes the server cancel a statement that runs longer (default: the
	// DSN's statement_timeout, or 30s).
	StatementTimeout Duration `yaml:"statementTimeout"`
	// PollInterval bounds how long a reload or a token key rotation on one daemon of a
	// PostgreSQL store takes to reach the others (default 2s).
	PollInterval Duration `yaml:"pollInterval"`
}

// validate checks the store section (without reading the DSN's file or variable).
func (s StoreSettings) validate() error {
	switch s.Driver {
	case "", DriverSQLite:
		if s.DSN != "" || s.DSNFile != "" || s.DSNEnv != "" || s.MaxConns != 0 || s.ConnectTimeout != 0 || s.StatementTimeout != 0 || s.PollInterval != 0 {
			return errors.New("store: dsn, dsnFile, dsnEnv and the pool settings are for driver postgres; the sqlite store is the file realmgate.db in the data folder")
		}
	case DriverPostgres:
		n := 0
		for _, v := range []string{s.DSN, s.DSNFile, s.DSNEnv} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return errors.New("store: driver postgres needs exactly one of dsn, dsnFile (a file holding the DSN) and dsnEnv (the name of a variable holding it)")
		}
		if s.MaxConns < 0 {
			return errors.New("store: maxConns cannot be negative")
		}
	default:
		return fmt.Errorf("store: unknown driver %q (known: %s, %s)", s.Driver, DriverSQLite, DriverPostgres)
	}
	return nil
}

// DefaultSettings are used where neither the file nor a flag says otherwise.
func DefaultSettings() Settings {
	var s Settings
	s.Listen = "127.0.0.1:10080"
	s.Data = "./data"
	s.Limits.MaxBodyBytes = 1 << 20
	s.Limits.AnswersPerClient = server.DefaultAnswersPerClient
	s.Limits.ClientBurst = server.DefaultClientBurst
	s.Limits.AnswersPerRealm = server.DefaultAnswersPerRealm
	s.Limits.RealmBurst = server.DefaultRealmBurst
	s.Limits.RateLimitedClients = server.DefaultMaxClients
	s.JanitorInterval = Duration(time.Minute)
	s.Session.MaxLifetime = Duration(12 * time.Hour)
	s.Session.PersistentCookieAge = Duration(engine.DefaultConfig.PersistentCookieAge)
	s.Audit.Retention = Duration(DefaultAuditRetention)
	s.ShutdownTimeout = Duration(15 * time.Second)
	s.Tokens.Algorithm = "ES256"
	s.Tokens.RotateEvery = Duration(24 * time.Hour)
	return s
}

// DefaultAuditRetention is how long audit records are kept unless audit.retention says
// otherwise: over a year, so that a yearly review finds the whole year.
const DefaultAuditRetention = 400 * 24 * time.Hour

// Duration is a time.Duration written as "30m" in YAML.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 30m or 2m30s", n.Line, n.Value)
	}
	if v < 0 {
		return fmt.Errorf("line %d: a duration cannot be negative", n.Line)
	}
	*d = Duration(v)
	return nil
}

// LoadSettings reads DIR/hostd.yaml over the defaults; a missing file is fine, an unknown key is
// an error (a typo would otherwise silently keep a default).
func LoadSettings(dir string) (Settings, error) {
	return loadSettings(filepath.Join(dir, SettingsFile), true)
}

// LoadSettingsFile reads the settings file at path, which must exist, over the defaults: the
// settings of a deployment kept apart from its project folder.
func LoadSettingsFile(path string) (Settings, error) {
	return loadSettings(path, false)
}

func loadSettings(path string, optional bool) (Settings, error) {
	s := DefaultSettings()
	name := filepath.Base(path)
	data, err := os.ReadFile(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// Validate checks the settings that have no safe reading when wrong.
func (s Settings) Validate() error {
	for _, a := range s.Tokens.Audiences {
		if a == "" || len(a) > 256 || strings.ContainsAny(a, " \t\r\n") {
			return fmt.Errorf("tokens.audiences: %q is not a resource server name (non-empty, at most 256 characters, no spaces)", a)
		}
	}
	if s.Limits.UnauthenticatedInputBytes < 0 || s.Limits.InputDepth < 0 {
		return errors.New("limits: sizes and depths cannot be negative")
	}
	if err := s.rateLimits().Validate(); err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if _, err := server.ParseTrustedProxies(s.TrustedProxies); err != nil {
		return fmt.Errorf("trustedProxies: %w", err)
	}
	if err := s.Policy.Bundle.validate(); err != nil {
		return err
	}
	if err := s.DecisionLogs.validate(); err != nil {
		return err
	}
	return s.Store.validate()
}

// rateLimits are the server's rate limits of the limits section.
func (s Settings) rateLimits() server.RateLimits {
	return server.RateLimits{
		AnswersPerClient: s.Limits.AnswersPerClient, ClientBurst: s.Limits.ClientBurst,
		AnswersPerRealm: s.Limits.AnswersPerRealm, RealmBurst: s.Limits.RealmBurst,
		MaxClients: s.Limits.RateLimitedClients,
	}
}
