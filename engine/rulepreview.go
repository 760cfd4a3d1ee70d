package engine

import (
	"errors"

	"github.com/realmgate/realmgate/store"
)

// RulePreview is what a set of remote-disable rules does to one application version, decided
// exactly as the remote-disable realm decides a request: a matching "block" rule blocks, else
// the first matching "notify" rule notifies, else the version is let through.
type RulePreview struct {
	Version string `json:"version"`
	// Action is "block", "notify" or "allow".
	Action string `json:"action"`
	// Rule is the index of the deciding rule, -1 when none applies.
	Rule int `json:"rule"`
	// Message is the deciding rule's message.
	Message string `json:"message,omitempty"`
}

// PreviewRules tells what rules would do to each of versions, before they are stored: the admin
// console's remote-disable editor shows it, so that an operator sees which versions a constraint
// blocks (pre-releases and versions that do not parse included, see compiledRule.matches) with
// the realm's own matching rather than a second reading of the constraint. A rule that
// ValidateRule refuses is an error, named by its index.
func PreviewRules(rules []store.Rule, versions []string) ([]RulePreview, error) {
	for i, r := range rules {
		if err := ValidateRule(r); err != nil {
			msg := err.Error()
			var ee *Error
			if errors.As(err, &ee) {
				msg = ee.Message
			}
			return nil, errorf(CodeBadRequest, "rule %d: %s", i+1, msg)
		}
	}
	compiled := compileRules(rules)
	out := make([]RulePreview, 0, len(versions))
	for _, v := range versions {
		p := RulePreview{Version: v, Action: "allow", Rule: -1}
		for i := range compiled {
			if !compiled[i].appliesTo(v) {
				continue
			}
			if compiled[i].Action == "block" {
				p.Action, p.Rule, p.Message = "block", i, compiled[i].Message
				break
			}
			if p.Rule < 0 {
				p.Action, p.Rule, p.Message = "notify", i, compiled[i].Message
			}
		}
		out = append(out, p)
	}
	return out, nil
}
