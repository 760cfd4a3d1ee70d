package daemon

import (
	"encoding/json"
	"testing"

	"github.com/realmgate/realmgate/hostd/internal/policybundle"
	"github.com/realmgate/realmgate/project"
)

// FuzzRemoteDisableRules feeds arbitrary JSON as a bundle's remote_disable data: the rules are
// read or refused, never a panic, and every rule read is one the admin API would take, for an
// environment of the project.
func FuzzRemoteDisableRules(f *testing.F) {
	f.Add(`{"BankApp": {"android": [{"versions": "<2.0.0", "action": "block", "message": "m"}]}}`)
	f.Add(`{"BankApp": {"android": [{"action": "notify", "message": "m", "messageId": "x"}]}}`)
	f.Add(`{"BankApp": {"ios": []}}`)
	f.Add(`[]`)
	p := &project.Project{Apps: map[string]*project.App{"BankApp": {Envs: map[string]*project.Environment{"android": {}}}}}
	f.Fuzz(func(t *testing.T, raw string) {
		var v any
		if json.Unmarshal([]byte(raw), &v) != nil {
			return
		}
		b := &policybundle.Bundle{Data: map[string]any{"realmgate": map[string]any{"user": map[string]any{"remote_disable": v}}}}
		rules, err := remoteDisableRules(b, p)
		if err != nil {
			return
		}
		for key, rs := range rules {
			if key != [2]string{"BankApp", "android"} {
				t.Fatalf("rules for %v, which the project lacks", key)
			}
			for _, r := range rs {
				if r.Action != "block" && r.Action != "notify" || r.Message == "" {
					t.Fatalf("accepted %+v", r)
				}
			}
		}
	})
}
