package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"time"

	"github.com/realmgate/realmgate/hostd/internal/decisionlog"
)

// PolicySettings are the settings of the policy section: where the deployment's own policies and
// data come from besides the project's policies/ folder (docs/bundles.md).
type PolicySettings struct {
	Bundle BundleSettings `yaml:"bundle"`
}

// BundleSettings name an OPA bundle of Rego modules under realmgate.user and data under
// data.realmgate.user: a directory or bundle file (Path), or a URL polled with ETag (URL).
type BundleSettings struct {
	// Name is the bundle's name in decision logs (default "realmgate-user").
	Name string `yaml:"name"`
	// Path is a bundle directory or a bundle file (.tar.gz), read again every PollInterval.
	Path string `yaml:"path"`
	// URL is a bundle file served over HTTP(S), fetched every PollInterval with If-None-Match.
	URL string `yaml:"url"`
	// PollInterval is how often the bundle is read or fetched again (default 30s).
	PollInterval Duration `yaml:"pollInterval"`
	// VerificationKeyFile requires signed bundles (OPA's .signatures.json) that verify with this
	// public key (PEM) or HMAC secret; Algorithm is its algorithm (default RS256, as `opa run
	// --verification-key`), KeyID the key id the signature names (default "default") and Scope
	// the scope it must claim.
	VerificationKeyFile string `yaml:"verificationKeyFile"`
	Algorithm           string `yaml:"algorithm"`
	KeyID               string `yaml:"keyId"`
	Scope               string `yaml:"scope"`
	// MaxBytes bounds the bundle and each of its files (default 32 MiB).
	MaxBytes int64 `yaml:"maxBytes"`
	// BearerTokenFile holds a token sent to the bundle server (Authorization: Bearer), readable
	// by hostd's user alone; only over https, or http to a loopback address.
	BearerTokenFile string `yaml:"bearerTokenFile"`
}

// DefaultBundlePollInterval is how often a bundle is read again unless pollInterval says.
const DefaultBundlePollInterval = 30 * time.Second

// DefaultBundleName names the bundle in decision logs unless policy.bundle.name says.
const DefaultBundleName = "realmgate-user"

// Configured reports whether a bundle is configured.
func (b BundleSettings) Configured() bool { return b.Path != "" || b.URL != "" }

// bundleAlgorithms are the signing algorithms OPA verifies bundles with.
var bundleAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "EdDSA"}

func (b BundleSettings) validate() error {
	if b.Path != "" && b.URL != "" {
		return errors.New("policy.bundle: give path or url, not both")
	}
	if !b.Configured() {
		if b.VerificationKeyFile != "" || b.Algorithm != "" || b.KeyID != "" || b.Scope != "" || b.PollInterval != 0 || b.MaxBytes != 0 || b.Name != "" || b.BearerTokenFile != "" {
			return errors.New("policy.bundle: the bundle settings need a path (a directory or .tar.gz) or a url")
		}
		return nil
	}
	if b.URL != "" {
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("policy.bundle.url: %q is not an http or https URL", b.URL)
		}
		if u.User != nil {
			return errors.New("policy.bundle.url: credentials do not belong in the URL")
		}
		if b.BearerTokenFile != "" && u.Scheme == "http" && !loopback(u.Hostname()) {
			return errors.New("policy.bundle.bearerTokenFile: the token would cross the network in clear: use an https URL")
		}
	}
	if b.BearerTokenFile != "" && b.URL == "" {
		return errors.New("policy.bundle.bearerTokenFile is for a bundle url")
	}
	if b.VerificationKeyFile == "" && (b.Algorithm != "" || b.KeyID != "" || b.Scope != "") {
		return errors.New("policy.bundle: algorithm, keyId and scope verify signatures: set verificationKeyFile too")
	}
	if b.Algorithm != "" && !slices.Contains(bundleAlgorithms, b.Algorithm) {
		return fmt.Errorf("policy.bundle.algorithm: %q is not one of %v", b.Algorithm, bundleAlgorithms)
	}
	if b.PollInterval != 0 && time.Duration(b.PollInterval) < 100*time.Millisecond {
		return errors.New("policy.bundle.pollInterval: at least 100ms")
	}
	if b.MaxBytes < 0 {
		return errors.New("policy.bundle.maxBytes cannot be negative")
	}
	return nil
}

// loopback reports whether host is a loopback address or localhost.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DecisionLogSettings are the settings of the decisionLogs section: decision logs in OPA's
// shape, to a file, an HTTP collector or both, beside the decision lines of hostd's own log.
type DecisionLogSettings struct {
	// File receives one JSON event a line, appended, synced after each batch.
	File string `yaml:"file"`
	// URL receives POSTs of gzip'd JSON arrays of events, as OPA's decision log plugin sends.
	URL string `yaml:"url"`
	// BatchSize (default 100) events make a batch; BufferSize (default 10000) events wait at
	// most, the oldest dropped past it; FlushInterval (default 5s) bounds how long an event
	// waits for its batch.
	BatchSize     int      `yaml:"batchSize"`
	BufferSize    int      `yaml:"bufferSize"`
	FlushInterval Duration `yaml:"flushInterval"`
	// MaskPaths are OPA mask paths removed from every event ("/input/request/parameters");
	// unset: decisionlog.DefaultMaskPaths. An empty list masks nothing.
	MaskPaths []string `yaml:"maskPaths"`
}

// Configured reports whether a decision log sink is configured.
func (s DecisionLogSettings) Configured() bool { return s.File != "" || s.URL != "" }

// masks are the mask rules of MaskPaths.
func (s DecisionLogSettings) masks() ([]*decisionlog.MaskRule, error) {
	paths := s.MaskPaths
	if paths == nil {
		paths = decisionlog.DefaultMaskPaths
	}
	return decisionlog.ParseMaskPaths(paths)
}

func (s DecisionLogSettings) validate() error {
	if !s.Configured() {
		if s.BatchSize != 0 || s.BufferSize != 0 || s.FlushInterval != 0 || s.MaskPaths != nil {
			return errors.New("decisionLogs: the settings need a file or a url to write to")
		}
		return nil
	}
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("decisionLogs.url: %q is not an http or https URL", s.URL)
		}
		if u.User != nil {
			return errors.New("decisionLogs.url: credentials do not belong in the URL")
		}
	}
	if s.BatchSize < 0 || s.BufferSize < 0 {
		return errors.New("decisionLogs: batchSize and bufferSize cannot be negative")
	}
	if s.BufferSize != 0 && s.BufferSize < max(s.BatchSize, 1) {
		return errors.New("decisionLogs: bufferSize must hold at least one batch (batchSize)")
	}
	if _, err := s.masks(); err != nil {
		return fmt.Errorf("decisionLogs.maskPaths: %w", err)
	}
	return nil
}
