package daemon

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/internal/console"
	"github.com/realmgate/realmgate/hostd/internal/server"
)

// Bounds of the console's live decision stream: decisions kept per viewer before the slowest
// lose some, and viewers at once.
const (
	consoleFeedBuffer  = 256
	consoleFeedViewers = 16
)

// newConsole builds the admin console, which comes with the admin API (it signs in with its
// token) and makes its changes through d.server's admin handlers, in-process. Nil without a
// token.
func (d *Daemon) newConsole(token []byte, reg prometheus.Gatherer) server.Console {
	if len(token) == 0 {
		return nil
	}
	d.feed = console.NewFeed(consoleFeedBuffer, consoleFeedViewers)
	return console.New(console.Options{
		Token: token,
		// d.server is built with the console: the API is reached through it once it is.
		API:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.server.Handler().ServeHTTP(w, r) }),
		Runtimes:      &d.runtimes,
		Metrics:       reg,
		Feed:          d.feed,
		SecureCookies: d.settings.SecureCookies,
		Logger:        d.log.With("component", "console"),
	})
}

// decisionSinks is the engine's DecisionSink: the decision log and, with the console, its
// live stream (which never blocks a request).
func (d *Daemon) decisionSinks() engine.DecisionSink {
	if d.feed == nil {
		return d.decisions
	}
	return teeSink{d.decisions, d.feed}
}

// teeSink hands each decision to every sink in turn.
type teeSink []engine.DecisionSink

func (t teeSink) Record(r engine.DecisionRecord) {
	for _, s := range t {
		s.Record(r)
	}
}
