package jsapi

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dop251/goja/parser"
	"github.com/realmgate/realmgate/internal/corpustest"
)

// BenchmarkScan measures the scan of the corpus's largest adapter (247 KB of SQL procedures)
// against its peer, goja's parse of the same file alone: scan/parse says what finding the uses
// costs on top of parsing (a scan parses too, so it is at least 1).
func BenchmarkScan(b *testing.B) {
	file := filepath.Join(corpustest.Root(b), "ZichengLouche__BrandEdge", "adapters", "BHDSqlAdapter", "BHDSqlAdapter-impl.js")
	src, err := os.ReadFile(file)
	if err != nil {
		b.Skip(err)
	}
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, err := parser.ParseFile(nil, "A-impl.js", src, 0, parser.WithDisableSourceMaps); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Alternating the two in one loop keeps their ratio fair on a shared, noisy machine.
	b.Run("ratio", func(b *testing.B) {
		var parse, scan time.Duration
		for b.Loop() {
			t0 := time.Now()
			if _, err := parser.ParseFile(nil, "A-impl.js", src, 0, parser.WithDisableSourceMaps); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if _, err := Scan("A-impl.js", src); err != nil {
				b.Fatal(err)
			}
			parse, scan = parse+t1.Sub(t0), scan+time.Since(t1)
		}
		b.ReportMetric(float64(scan)/float64(parse), "scan/parse")
	})
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, err := Scan("A-impl.js", src); err != nil {
				b.Fatal(err)
			}
		}
	})
}
