package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicySettingsValidation: the policy and decisionLogs blocks of hostd.yaml are checked at
// load, each mistake named by its key.
func TestPolicySettingsValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"no bundle", "", ""},
		{"path", "policy:\n  bundle:\n    path: b.tar.gz\n", ""},
		{"url signed", "policy:\n  bundle:\n    url: https://127.0.0.1/b.tar.gz\n    verificationKeyFile: k.pem\n    algorithm: ES256\n    keyId: ops\n    pollInterval: 5s\n", ""},
		{"both", "policy:\n  bundle:\n    path: b\n    url: http://127.0.0.1/b\n", "path or url, not both"},
		{"neither", "policy:\n  bundle:\n    pollInterval: 5s\n", "need a path"},
		{"not http", "policy:\n  bundle:\n    url: file:///etc/b.tar.gz\n", "not an http or https URL"},
		{"credentials in url", "policy:\n  bundle:\n    url: https://u:p@127.0.0.1/b\n", "credentials"},
		{"key settings without key", "policy:\n  bundle:\n    path: b\n    keyId: ops\n", "set verificationKeyFile"},
		{"unknown algorithm", "policy:\n  bundle:\n    path: b\n    verificationKeyFile: k\n    algorithm: none\n", "algorithm"},
		{"poll too fast", "policy:\n  bundle:\n    path: b\n    pollInterval: 1ms\n", "at least 100ms"},
		{"typo", "policy:\n  bundle:\n    pth: b\n", "pth"},
		{"token over https", "policy:\n  bundle:\n    url: https://bundles.example/b\n    bearerTokenFile: t\n", ""},
		{"token over loopback http", "policy:\n  bundle:\n    url: http://127.0.0.1:8181/b\n    bearerTokenFile: t\n", ""},
		{"token over clear http", "policy:\n  bundle:\n    url: http://bundles.example/b\n    bearerTokenFile: t\n", "in clear"},
		{"token without url", "policy:\n  bundle:\n    path: b\n    bearerTokenFile: t\n", "for a bundle url"},
		{"logs to a file", "decisionLogs:\n  file: d.jsonl\n  batchSize: 10\n  bufferSize: 100\n  maskPaths: [/input/request/parameters/0/pin]\n", ""},
		{"logs without a sink", "decisionLogs:\n  batchSize: 10\n", "need a file or a url"},
		{"logs url", "decisionLogs:\n  url: ftp://127.0.0.1/x\n", "not an http or https URL"},
		{"buffer below batch", "decisionLogs:\n  file: d\n  batchSize: 10\n  bufferSize: 5\n", "at least one batch"},
		{"negative", "decisionLogs:\n  file: d\n  batchSize: -1\n", "negative"},
		{"mask outside input and result", "decisionLogs:\n  file: d\n  maskPaths: [/data/x]\n", "maskPaths"},
		{"mask not a path", "decisionLogs:\n  file: d\n  maskPaths: [input]\n", "slash-prefixed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadSettings(dir)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
