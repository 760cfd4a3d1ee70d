// Package decisionlog writes decision logs in the shape of OPA's (its decision log plugin's
// EventV1): one JSON object per decision with its decision_id, timestamp, path, input, result
// and the revisions of the bundles that decided, so that tooling that reads OPA's decision logs
// reads these. Secrets in the input are masked with OPA's mask rules before an event leaves the
// process. Events go through a bounded buffer to a sink (a JSON-lines file or an HTTP collector
// that receives gzip'd JSON arrays, as OPA's plugin sends them) on a goroutine of their own:
// logging never blocks a request, and when the sink cannot keep up the oldest events are dropped
// and counted.
package decisionlog

import (
	"encoding/json"
	"errors"
	"time"
)

// Event is one decision, with the JSON names of OPA's decision log events.
type Event struct {
	Labels     map[string]string     `json:"labels"`
	DecisionID string                `json:"decision_id"`
	Bundles    map[string]BundleInfo `json:"bundles,omitempty"`
	Path       string                `json:"path,omitempty"`
	// Input is the policy's input as JSON; the logger masks it before it is written.
	Input json.RawMessage `json:"input,omitempty"`
	// Result is the decision as JSON.
	Result json.RawMessage `json:"result,omitempty"`
	// Erased and Masked list the mask rules that removed or replaced part of the event.
	Erased    []string       `json:"erased,omitempty"`
	Masked    []string       `json:"masked,omitempty"`
	Timestamp time.Time      `json:"timestamp"`
	Metrics   map[string]any `json:"metrics,omitempty"`
}

// BundleInfo is the revision of a bundle that took part in a decision.
type BundleInfo struct {
	Revision string `json:"revision,omitempty"`
}

// masked is an event after masking: input and result decoded, so that rules can reach into them.
type masked struct {
	Labels     map[string]string     `json:"labels"`
	DecisionID string                `json:"decision_id"`
	Bundles    map[string]BundleInfo `json:"bundles,omitempty"`
	Path       string                `json:"path,omitempty"`
	Input      *any                  `json:"input,omitempty"`
	Result     *any                  `json:"result,omitempty"`
	Erased     []string              `json:"erased,omitempty"`
	Masked     []string              `json:"masked,omitempty"`
	Timestamp  time.Time             `json:"timestamp"`
	Metrics    map[string]any        `json:"metrics,omitempty"`
}

// encode masks the event with rules and encodes it. Only the parts that a rule targets are
// decoded and encoded again; the others are written as they came.
func encode(e *Event, rules []*MaskRule) (json.RawMessage, error) {
	m := masked{Labels: e.Labels, DecisionID: e.DecisionID, Bundles: e.Bundles, Path: e.Path,
		Erased: e.Erased, Masked: e.Masked, Timestamp: e.Timestamp.UTC(), Metrics: e.Metrics}
	for _, part := range []struct {
		name string
		raw  json.RawMessage
		dst  **any
	}{{"input", e.Input, &m.Input}, {"result", e.Result, &m.Result}} {
		if len(part.raw) == 0 {
			continue
		}
		var v any = part.raw
		if targets(rules, part.name) {
			dec := json.NewDecoder(bytesReader(part.raw))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
		} else if !json.Valid(part.raw) {
			return nil, errors.New("decisionlog: the event's " + part.name + " is not JSON")
		}
		*part.dst = &v
	}
	for _, r := range rules {
		r.apply(&m)
	}
	return json.Marshal(&m)
}

// targets reports whether one of rules masks part ("input" or "result").
func targets(rules []*MaskRule, part string) bool {
	for _, r := range rules {
		if r.parts[0] == part {
			return true
		}
	}
	return false
}
