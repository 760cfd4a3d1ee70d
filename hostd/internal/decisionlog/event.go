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

// encode masks the event with rules and encodes it.
func encode(e *Event, rules []*MaskRule) (json.RawMessage, error) {
	m := masked{Labels: e.Labels, DecisionID: e.DecisionID, Bundles: e.Bundles, Path: e.Path,
		Erased: e.Erased, Masked: e.Masked, Timestamp: e.Timestamp.UTC(), Metrics: e.Metrics}
	for _, part := range []struct {
		raw json.RawMessage
		dst **any
	}{{e.Input, &m.Input}, {e.Result, &m.Result}} {
		if len(part.raw) == 0 {
			continue
		}
		var v any
		dec := json.NewDecoder(bytesReader(part.raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		*part.dst = &v
	}
	for _, r := range rules {
		r.apply(&m)
	}
	return json.Marshal(&m)
}
