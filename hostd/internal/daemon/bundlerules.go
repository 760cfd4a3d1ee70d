package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/internal/policybundle"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// RemoteDisableData is where a bundle's remote-disable rules are, under data:
// data.realmgate.user.remote_disable.APP.ENV is a list of rules as the admin API takes them.
const RemoteDisableData = "realmgate.user.remote_disable"

// bundleRules are the remote-disable rules of a bundle, by application and environment.
type bundleRules map[[2]string][]store.Rule

// get is engine.Options.BundleRules.
func (r bundleRules) get(app, env string) []store.Rule { return r[[2]string{app, env}] }

// remoteDisableRules reads and checks the remote-disable rules of a bundle: each names an
// environment of the project (a typo would otherwise silently protect nothing) and is valid as
// the admin API requires (engine.ValidateRule, at most engine.MaxRulesPerEnvironment).
func remoteDisableRules(b *policybundle.Bundle, p *project.Project) (bundleRules, error) {
	rg, _ := b.Data["realmgate"].(map[string]any)
	user, _ := rg["user"].(map[string]any)
	raw, ok := user["remote_disable"]
	if !ok {
		return nil, nil
	}
	apps, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("data.%s is not an object of applications", RemoteDisableData)
	}
	out := bundleRules{}
	for _, app := range slices.Sorted(maps.Keys(apps)) {
		envs, ok := apps[app].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("data.%s.%s is not an object of environments", RemoteDisableData, app)
		}
		for _, env := range slices.Sorted(maps.Keys(envs)) {
			where := fmt.Sprintf("data.%s.%s.%s", RemoteDisableData, app, env)
			if a := p.Apps[app]; a == nil || a.Envs[env] == nil {
				return nil, fmt.Errorf("%s: the project has no application environment %s/%s", where, app, env)
			}
			enc, err := json.Marshal(envs[env])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			dec := json.NewDecoder(bytes.NewReader(enc))
			dec.DisallowUnknownFields()
			var rules []store.Rule
			if err := dec.Decode(&rules); err != nil {
				return nil, fmt.Errorf("%s: not a list of rules: %w", where, err)
			}
			if len(rules) > engine.MaxRulesPerEnvironment {
				return nil, fmt.Errorf("%s: %d rules, at most %d", where, len(rules), engine.MaxRulesPerEnvironment)
			}
			for i, r := range rules {
				if err := engine.ValidateRule(r); err != nil {
					return nil, fmt.Errorf("%s[%d]: %w", where, i, err)
				}
			}
			out[[2]string{app, env}] = rules
		}
	}
	return out, nil
}
