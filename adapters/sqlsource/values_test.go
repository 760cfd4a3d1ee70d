package sqlsource

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTextValue: an exact number is a JSON number when JSON can write it, else the string, so
// that the answer marshals.
func TestTextValue(t *testing.T) {
	for _, tt := range []struct {
		in, dbType string
		want       any
	}{
		{"12.50", "NUMERIC", json.Number("12.50")},
		{"-0.5", "numeric", json.Number("-0.5")},
		{"0", "DECIMAL", json.Number("0")},
		{"1e+30", "NUMERIC", json.Number("1e+30")},
		{"NaN", "NUMERIC", "NaN"},
		{"Infinity", "NUMERIC", "Infinity"},
		{"-Infinity", "NUMERIC", "-Infinity"},
		{"Inf", "DECIMAL", "Inf"},
		{"0x1p-2", "NUMERIC", "0x1p-2"},
		{"1_000", "NUMERIC", "1_000"},
		{"+1", "NUMERIC", "+1"},
		{"01", "NUMERIC", "01"},
		{".5", "NUMERIC", ".5"},
		{"12.50", "TEXT", "12.50"},
	} {
		got := jsonValue(tt.in, tt.dbType)
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("jsonValue(%q, %s): (-want +got)\n%s", tt.in, tt.dbType, d)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("jsonValue(%q, %s) = %#v does not marshal: %v", tt.in, tt.dbType, got, err)
		}
	}
}
