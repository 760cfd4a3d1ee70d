package policies

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestEvaluatorWithData(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, exampleProject("bank"))
	mods, err := CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	user := Module{Path: "bundle/limits.rego", Source: `package realmgate.user.limits

deny contains "over the limit" if {
	input.request.limit_probe > data.realmgate.user.limits.max
}
`}
	mods = append(mods, user)
	data := func(max int) map[string]any {
		return map[string]any{"realmgate": map[string]any{"user": map[string]any{"limits": map[string]any{"max": max}}}}
	}
	ctx := context.Background()
	low, err := NewEvaluatorWithData(ctx, mods, data(10))
	if err != nil {
		t.Fatal(err)
	}
	high, err := NewEvaluatorWithData(ctx, mods, data(1000))
	if err != nil {
		t.Fatal(err)
	}
	if low.Revision() == high.Revision() {
		t.Errorf("evaluators of different data share revision %s", low.Revision())
	}
	test := p.TestOrder[0]
	in := Input{Test: test, Request: map[string]any{"limit_probe": 100}}
	dl, err := low.Decide(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	dh, err := high.Decide(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(dl.Reasons, "over the limit") || slices.Contains(dh.Reasons, "over the limit") {
		t.Errorf("max 10: %+v; max 1000: %+v; want the limit to deny at 10, not at 1000", dl, dh)
	}

	for _, bad := range []map[string]any{
		{"realmgate": map[string]any{"config": map[string]any{}}},
		{"system": map[string]any{}},
		{"realmgate": "x"},
	} {
		if _, err := NewEvaluatorWithData(ctx, mods, bad); err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("data %v: err = %v, want outside", bad, err)
		}
	}
}
