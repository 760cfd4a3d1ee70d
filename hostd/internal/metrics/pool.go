package metrics

import (
	"database/sql"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// PoolReporter is a store that reports its connection pools, by pool name, in database/sql's
// shape: the DBStats of each *sql.DB (SQLite's writer and readers), or a pgxpool.Stat mapped
// onto it (TotalConns to OpenConnections, AcquiredConns to InUse, IdleConns to Idle, MaxConns to
// MaxOpenConnections, EmptyAcquireCount and AcquireDuration to WaitCount and WaitDuration). It
// names only standard types, so a store satisfies it without importing hostd.
type PoolReporter interface {
	PoolStats() map[string]sql.DBStats
}

// PoolSeries are the names of the pool series: a store that is not a PoolReporter has none.
var PoolSeries = []string{
	"realmgate_store_connections",
	"realmgate_store_connections_max",
	"realmgate_store_connection_waits_total",
	"realmgate_store_connection_wait_seconds_total",
}

var (
	descConns = prometheus.NewDesc(PoolSeries[0],
		"Store connections by pool and state (open = in_use + idle).", []string{"pool", "state"}, nil)
	descConnsMax = prometheus.NewDesc(PoolSeries[1],
		"The most connections a pool opens (0: no limit).", []string{"pool"}, nil)
	descWaits = prometheus.NewDesc(PoolSeries[2],
		"Requests for a connection that waited for one, by pool.", []string{"pool"}, nil)
	descWaitSeconds = prometheus.NewDesc(PoolSeries[3],
		"Time spent waiting for a connection, by pool.", []string{"pool"}, nil)
)

// poolCollector reads the pools of the store at each scrape: saturation is in_use against max,
// and waits that grow.
type poolCollector struct {
	src atomic.Pointer[PoolReporter]
}

func (c *poolCollector) set(p PoolReporter) { c.src.Store(&p) }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descConns
	ch <- descConnsMax
	ch <- descWaits
	ch <- descWaitSeconds
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.src.Load()
	if p == nil {
		return
	}
	for pool, st := range (*p).PoolStats() {
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(st.OpenConnections), pool, "open")
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(st.InUse), pool, "in_use")
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.GaugeValue, float64(st.Idle), pool, "idle")
		ch <- prometheus.MustNewConstMetric(descConnsMax, prometheus.GaugeValue, float64(st.MaxOpenConnections), pool)
		ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(st.WaitCount), pool)
		ch <- prometheus.MustNewConstMetric(descWaitSeconds, prometheus.CounterValue, st.WaitDuration.Seconds(), pool)
	}
}
