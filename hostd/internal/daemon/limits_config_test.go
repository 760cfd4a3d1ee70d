package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/hostd/internal/server"
)

func TestLimitSettings(t *testing.T) {
	load := func(t *testing.T, yaml string) (Settings, error) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadSettings(dir)
	}
	t.Run("defaults", func(t *testing.T) {
		s, err := load(t, "")
		if err != nil {
			t.Fatal(err)
		}
		want := server.RateLimits{AnswersPerClient: 20, ClientBurst: 100, AnswersPerRealm: 2000, RealmBurst: 4000, MaxClients: 1 << 16}
		if diff := cmp.Diff(want, s.rateLimits()); diff != "" {
			t.Errorf("rate limits (-want +got):\n%s", diff)
		}
		if s.JanitorInterval != Duration(time.Minute) || len(s.TrustedProxies) != 0 {
			t.Errorf("janitor %v, trusted proxies %v", s.JanitorInterval, s.TrustedProxies)
		}
	})
	t.Run("set and disabled", func(t *testing.T) {
		s, err := load(t, `
trustedProxies: ["10.0.0.0/8", "192.0.2.7"]
janitorInterval: 5s
session:
  pendingTimeout: 2m
limits:
  answersPerClient: 0
  answersPerRealm: 50.5
  realmBurst: 10
`)
		if err != nil {
			t.Fatal(err)
		}
		want := server.RateLimits{AnswersPerClient: 0, ClientBurst: 100, AnswersPerRealm: 50.5, RealmBurst: 10, MaxClients: 1 << 16}
		if diff := cmp.Diff(want, s.rateLimits()); diff != "" {
			t.Errorf("rate limits (-want +got):\n%s", diff)
		}
		if s.JanitorInterval != Duration(5*time.Second) || s.Session.PendingTimeout != Duration(2*time.Minute) {
			t.Errorf("janitor %v, pending %v", s.JanitorInterval, s.Session.PendingTimeout)
		}
	})
	for _, bad := range []struct{ yaml, says string }{
		{"limits:\n  answersPerClient: -1\n", "answersPerClient"},
		{"limits:\n  answersPerRealm: 10\n  realmBurst: 0\n", "realmBurst"},
		{"limits:\n  clientBurst: 0\n", "clientBurst"},
		{"limits:\n  rateLimitedClients: -5\n", "rateLimitedClients"},
		{"trustedProxies: [\"10.0.0.0/33\"]\n", "trustedProxies"},
		{"trustedProxies: [\"balancer.example\"]\n", "trustedProxies"},
	} {
		if _, err := load(t, bad.yaml); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%q: %v, want an error naming %s", bad.yaml, err, bad.says)
		}
	}
}
