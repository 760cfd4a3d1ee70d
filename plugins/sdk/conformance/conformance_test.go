package conformance

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedact(t *testing.T) {
	got := Redact(map[string]string{
		"adapter": "PKIBridge", "ca-cert": "PEM", "ca-key": "PEM KEY", "API-Key": "k",
		"client-secret": "s", "DB_PASSWORD": "p", "keystore": "kept", "validity-days": "30",
	})
	want := map[string]string{
		"adapter": "PKIBridge", "ca-cert": "PEM", "ca-key": Redacted, "API-Key": Redacted,
		"client-secret": Redacted, "DB_PASSWORD": Redacted, "keystore": "kept", "validity-days": "30",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Redact (-want +got):\n%s", diff)
	}
}

func TestProcedures(t *testing.T) {
	p := Procedures()
	var names []string
	for name := range p {
		names = append(names, name)
	}
	if len(p) != 4 || p["echo"] == nil || p["fail"] == nil || p["config"] == nil || p["log"] == nil {
		t.Errorf("Procedures() = %v, want echo, fail, config and log", names)
	}
	delete(p, "echo")
	if Procedures()["echo"] == nil {
		t.Error("Procedures() shares its map between calls")
	}
}
