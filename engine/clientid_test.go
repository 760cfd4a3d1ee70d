package engine_test

import (
	"crypto/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/engine"
)

// clientIDPattern is the shape of a client id: a version 8 UUID in lower case.
var clientIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// ClientID is a version 8 UUID that depends on the lineage alone, differs between lineages,
// holds no part of the lineage, and is none for no lineage.
func TestClientID(t *testing.T) {
	a, b := rand.Text(), rand.Text()
	ida, idb := engine.ClientID(a), engine.ClientID(b)
	for _, id := range []string{ida, idb} {
		if !clientIDPattern.MatchString(id) {
			t.Errorf("ClientID = %q, want a version 8 UUID", id)
		}
	}
	if engine.ClientID(a) != ida {
		t.Errorf("ClientID(a) changed between calls")
	}
	if ida == idb {
		t.Errorf("two lineages have the client id %q", ida)
	}
	if strings.Contains(strings.ToLower(a), strings.ReplaceAll(ida, "-", "")[:8]) || ida == engine.AnonymousUserID(a) {
		t.Errorf("ClientID(%q) = %q: it shows the lineage or another id made of it", a, ida)
	}
	if got := engine.ClientID(""); got != "" {
		t.Errorf(`ClientID("") = %q, want none`, got)
	}
}

// BenchmarkClientID measures the derivation each call holding a session makes; its peer is
// AnonymousUserID, the same construction over the anonymous user's cookie.
func BenchmarkClientID(b *testing.B) {
	lineage := rand.Text()
	b.Run("ClientID", func(b *testing.B) {
		for b.Loop() {
			_ = engine.ClientID(lineage)
		}
	})
	b.Run("AnonymousUserID", func(b *testing.B) {
		for b.Loop() {
			_ = engine.AnonymousUserID(lineage)
		}
	})
}
