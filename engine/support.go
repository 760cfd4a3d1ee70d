package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/store"
)

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("engine: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	// 8-4-4-4-12 hex digits, written in place: every decision gets one.
	var u [36]byte
	hex.Encode(u[0:8], b[0:4])
	u[8] = '-'
	hex.Encode(u[9:13], b[4:6])
	u[13] = '-'
	hex.Encode(u[14:18], b[6:8])
	u[18] = '-'
	hex.Encode(u[19:23], b[8:10])
	u[23] = '-'
	hex.Encode(u[24:36], b[10:16])
	return string(u[:])
}

// messageID is a notify rule's id: the one the administrator gave, or one derived from the
// message so that an edited message must be acknowledged again.
func messageID(r *store.Rule) string {
	if r.MessageID != "" {
		return r.MessageID
	}
	sum := sha256.Sum256([]byte(r.Message))
	return hex.EncodeToString(sum[:8])
}

// compiledRule is a remote-disable rule with its version constraint parsed once, when the rules
// are read from the store: parsing it on every request cost more than the policy decision.
type compiledRule struct {
	store.Rule
	// constraint is nil when Versions is empty, or does not parse (refused when the rule was
	// stored; fail closed if one slipped through): the rule then applies to every version.
	constraint *semver.Constraints
	// versions memoizes matches by the version as sent (see appliesTo).
	versions *versionMemo
}

func compileRules(rules []store.Rule) []compiledRule {
	out := make([]compiledRule, len(rules))
	for i, r := range rules {
		out[i].Rule = r
		out[i].versions = &versionMemo{}
		if r.Versions != "" {
			out[i].constraint, _ = semver.NewConstraint(r.Versions)
		}
	}
	return out
}

// ValidateRule checks a remote-disable rule before it is stored.
func ValidateRule(r store.Rule) error {
	switch r.Action {
	case "block", "notify":
	default:
		return errorf(CodeBadRequest, "action must be \"block\" or \"notify\", not %q", r.Action)
	}
	if r.Versions != "" {
		if _, err := semver.NewConstraint(r.Versions); err != nil {
			return errorf(CodeBadRequest, "versions %q is not a semantic-version constraint (for example \"<2.0.0\")", r.Versions)
		}
	}
	if r.Message == "" {
		return errorf(CodeBadRequest, "a rule needs a message for the user")
	}
	if len(r.Message) > 4096 || len(r.DownloadLink) > 2048 || len(r.MessageID) > 128 {
		return errorf(CodeBadRequest, "message, downloadLink or messageId too long")
	}
	return nil
}

// rulesCache keeps remote-disable rules briefly, so that a protected request does not read them
// from the store every time.
type rulesCache struct {
	store interface {
		GetRules(ctx context.Context, app, env string) ([]store.Rule, error)
	}
	ttl time.Duration
	// fixed are the rules of the configuration (Options.BundleRules), before the stored ones.
	fixed func(app, env string) []store.Rule

	mu      sync.Mutex
	entries map[string]rulesEntry
}

type rulesEntry struct {
	rules   []compiledRule
	fetched time.Time
}

func newRulesCache(s Store, ttl time.Duration) *rulesCache {
	return &rulesCache{store: s, ttl: ttl, entries: map[string]rulesEntry{}}
}

func (c *rulesCache) get(ctx context.Context, app, env string, now time.Time) ([]compiledRule, error) {
	key := app + "\x00" + env
	c.mu.Lock()
	ent, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(ent.fetched) < c.ttl && !now.Before(ent.fetched) {
		return ent.rules, nil
	}
	stored, err := c.store.GetRules(ctx, app, env)
	if err != nil {
		return nil, unavailable("the remote-disable rules", err)
	}
	if c.fixed != nil {
		if fixed := c.fixed(app, env); len(fixed) > 0 {
			stored = append(append(make([]store.Rule, 0, len(fixed)+len(stored)), fixed...), stored...)
		}
	}
	rules := compileRules(stored)
	c.mu.Lock()
	if len(c.entries) > 10_000 {
		c.entries = map[string]rulesEntry{}
	}
	c.entries[key] = rulesEntry{rules: rules, fetched: now}
	c.mu.Unlock()
	return rules, nil
}

func (c *rulesCache) invalidate(app, env string) {
	c.mu.Lock()
	delete(c.entries, app+"\x00"+env)
	c.mu.Unlock()
}

// SetRules validates and stores the remote-disable rules of an application environment (at
// most MaxRulesPerEnvironment; none clears them), audits the change under actor, and applies it
// at once.
func (e *Engine) SetRules(ctx context.Context, actor, app, env string, rules []store.Rule) error {
	if err := e.CheckEnvironment(app, env); err != nil {
		return err
	}
	if len(rules) > MaxRulesPerEnvironment {
		return errorf(CodeBadRequest, "at most %d rules per environment", MaxRulesPerEnvironment)
	}
	for _, r := range rules {
		if err := ValidateRule(r); err != nil {
			return err
		}
	}
	err := e.update(ctx, func(tx store.Tx) error {
		if err := tx.PutRules(ctx, app, env, rules); err != nil {
			return err
		}
		return e.auditIn(ctx, tx, actor, "remote_disable.put", app+"/"+env, map[string]any{"rules": rules})
	})
	if err != nil {
		return unavailable("the rule store", err)
	}
	e.rules.invalidate(app, env)
	return nil
}

func auditRecord(now time.Time, actor, action, target string, detail json.RawMessage) store.AuditRecord {
	return store.AuditRecord{Time: now, Actor: actor, Action: action, Target: target, Detail: detail}
}

// DecisionRecord is one security-test decision, for the decision log (shaped after OPA's
// decision logs: an id, the query's input summary, the result and the policy revision).
type DecisionRecord struct {
	Time       time.Time `json:"timestamp"`
	DecisionID string    `json:"decision_id"`
	// Session is a hash of the session id (the id itself is a secret).
	Session  string   `json:"session"`
	App      string   `json:"app"`
	Env      string   `json:"env"`
	Version  string   `json:"version,omitempty"`
	Resource string   `json:"resource"`
	Kind     string   `json:"resource_kind"`
	Test     string   `json:"security_test"`
	Passed   []string `json:"realms_passed"`
	Outcome  string   `json:"outcome"`
	Step     int      `json:"step,omitempty"`
	Realms   []string `json:"realms_challenged,omitempty"`
	Reasons  []string `json:"reasons,omitempty"`
	Revision string   `json:"revision"`
	// Input is the policy input the decision was made on, for a decision log in OPA's shape
	// (which masks its secrets); nil for a decision the policy did not make.
	Input *policies.Input `json:"-"`
}

// DecisionSink receives one record per security-test decision: the decision log. The engine
// declares it and the daemon supplies it (a log and a metric), so that decisions flow out of the
// engine without the engine knowing where they go.
type DecisionSink interface {
	Record(DecisionRecord)
}

// DecisionFunc adapts a function to a DecisionSink.
type DecisionFunc func(DecisionRecord)

// Record calls f(d).
func (f DecisionFunc) Record(d DecisionRecord) { f(d) }

func (e *Engine) logDecision(x *exchange, req AccessRequest, passed []string, dec decisionView, input *policies.Input) {
	if e.decisions == nil {
		return
	}
	e.decisions.Record(DecisionRecord{
		Time:       x.now,
		DecisionID: newUUID(),
		Session:    x.s.ref(),
		App:        req.App.App,
		Env:        req.App.Env,
		Version:    req.App.Version,
		Resource:   req.Resource.Name,
		Kind:       req.Resource.Kind,
		Test:       x.test.Name,
		Passed:     passed,
		Outcome:    dec.Outcome,
		Step:       dec.Step,
		Realms:     dec.Realms,
		Reasons:    dec.Reasons,
		Revision:   e.eval.Revision(),
		Input:      input,
	})
}

type decisionView = policies.Decision
