package console

import (
	"net/http"

	dto "github.com/prometheus/client_model/go"
)

// procedureHealth is one procedure's calls by outcome.
type procedureHealth struct {
	Name     string
	Calls    float64
	Failures float64
	// Outcomes counts the calls by outcome (ok, error, timeout, trap, unavailable, busy...).
	Outcomes map[string]float64
}

// adapterHealth is what the metrics registry says of one adapter.
type adapterHealth struct {
	Name, Backend string
	// Instances is the adapter's configured instance pool (0: the backend's default).
	Instances int
	// Busy is the calls in progress now.
	Busy            float64
	Calls, Failures float64
	Procedures      []procedureHealth
}

// Metric names the health page reads (hostd/internal/metrics).
const (
	metricCalls = "realmgate_adapter_calls_total"
	metricBusy  = "realmgate_adapter_busy_instances"
)

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// adapterHealthOf reads the adapters' calls and busy instances from families, for the adapters
// of the loaded project (by name, with their configured instances).
func adapterHealthOf(families []*dto.MetricFamily, adapters map[string]adapterHealth) []adapterHealth {
	procs := map[string]map[string]*procedureHealth{}
	for _, f := range families {
		switch f.GetName() {
		case metricCalls:
			for _, m := range f.GetMetric() {
				l := labels(m)
				a, ok := adapters[l["adapter"]]
				if !ok {
					continue
				}
				n := m.GetCounter().GetValue()
				a.Calls += n
				if l["outcome"] != "ok" {
					a.Failures += n
				}
				adapters[a.Name] = a
				if procs[a.Name] == nil {
					procs[a.Name] = map[string]*procedureHealth{}
				}
				p := procs[a.Name][l["procedure"]]
				if p == nil {
					p = &procedureHealth{Name: l["procedure"], Outcomes: map[string]float64{}}
					procs[a.Name][l["procedure"]] = p
				}
				p.Calls += n
				if l["outcome"] != "ok" {
					p.Failures += n
				}
				p.Outcomes[l["outcome"]] += n
			}
		case metricBusy:
			for _, m := range f.GetMetric() {
				l := labels(m)
				if a, ok := adapters[l["adapter"]]; ok {
					a.Busy += m.GetGauge().GetValue()
					adapters[a.Name] = a
				}
			}
		}
	}
	out := make([]adapterHealth, 0, len(adapters))
	for _, name := range sortedKeys(adapters) {
		a := adapters[name]
		for _, pn := range sortedKeys(procs[name]) {
			a.Procedures = append(a.Procedures, *procs[name][pn])
		}
		out = append(out, a)
	}
	return out
}

func (c *Console) healthPage(w http.ResponseWriter, r *http.Request, s *session) {
	rt, release := c.runtime(w, r, s)
	defer release()
	if rt == nil {
		return
	}
	adapters := map[string]adapterHealth{}
	for name, a := range rt.Project.Adapters {
		if a.Backend == nil {
			continue
		}
		adapters[name] = adapterHealth{Name: name, Backend: a.Backend.Kind, Instances: a.Backend.Instances}
	}
	pg := page{Title: "Adapter health", Nav: "health"}
	var families []*dto.MetricFamily
	if c.opts.Metrics != nil {
		var err error
		if families, err = c.opts.Metrics.Gather(); err != nil {
			c.log.Warn("console: gathering metrics", "err", err)
		}
	}
	pg.Data = adapterHealthOf(families, adapters)
	c.render(w, r, http.StatusOK, "health", s, pg)
}
