package adapters

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInvokeChain(t *testing.T) {
	c := InvokeChain{"A.p"}
	var err error
	for _, next := range []string{"q", "r", "s", "t"} {
		if c, err = c.Next("B", next); err != nil {
			t.Fatalf("call %d deep refused: %v", len(c), err)
		}
	}
	if diff := cmp.Diff(InvokeChain{"A.p", "B.q", "B.r", "B.s", "B.t"}, c); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
	if got := c.Held("B"); got != 4 {
		t.Errorf("Held(B) = %d, want 4", got)
	}
	var ie *InvokeError
	if _, err := c.Next("C", "u"); !errors.As(err, &ie) || ie.Code != InvokeDepth {
		t.Errorf("a fifth nested call = %v, want %s", err, InvokeDepth)
	}
	if _, err := c[:2].Next("A", "p"); !errors.As(err, &ie) || ie.Code != InvokeCycle {
		t.Errorf("a call of A.p from A.p's chain = %v, want %s", err, InvokeCycle)
	}
	// Next never writes into the caller's chain: siblings get chains of their own.
	base := InvokeChain{"A.p", "B.q"}
	x, _ := base[:1].Next("X", "x")
	y, _ := base[:1].Next("Y", "y")
	if diff := cmp.Diff([]InvokeChain{{"A.p", "B.q"}, {"A.p", "X.x"}, {"A.p", "Y.y"}}, []InvokeChain{base, x, y}); diff != "" {
		t.Errorf("chains (-want +got):\n%s", diff)
	}
}
