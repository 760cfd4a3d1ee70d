package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

// recordingAdapter records the calls it gets; initializingAdapter is one that is an
// adapters.Initializer.
type recordingAdapter struct {
	calls []string
}

func (r *recordingAdapter) Call(_ context.Context, procedure string, _ json.RawMessage) (json.RawMessage, error) {
	r.calls = append(r.calls, procedure)
	return json.RawMessage(`{}`), nil
}
func (r *recordingAdapter) Procedures() []string        { return nil }
func (r *recordingAdapter) Close(context.Context) error { return nil }

type initializingAdapter struct{ recordingAdapter }

func (r *initializingAdapter) CallInit(_ context.Context, init adapters.Init, procedure string, _ json.RawMessage) (json.RawMessage, error) {
	r.calls = append(r.calls, init.Procedure+" (once), "+procedure)
	return json.RawMessage(`{}`), nil
}

// TestLoadedAdaptersCallInit: a PKI bridge's call reaches the backend's Initializer; a backend
// without one gets init before the procedure; an adapter without a backend fails at init.
func TestLoadedAdaptersCallInit(t *testing.T) {
	plain, remembering := &recordingAdapter{}, &initializingAdapter{}
	la := loadedAdapters{"Plain": plain, "Remembering": remembering}
	init := adapters.Init{Procedure: "init", Input: json.RawMessage(`{"realm":"R","parameters":{}}`)}
	for _, name := range []string{"Plain", "Remembering"} {
		if _, err := la.CallInit(t.Context(), name, init, "validateCSR", json.RawMessage(`{}`)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if diff := cmp.Diff([]string{"init", "validateCSR"}, plain.calls); diff != "" {
		t.Errorf("calls of a backend without Initializer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"init (once), validateCSR"}, remembering.calls); diff != "" {
		t.Errorf("calls of an Initializer (-want +got):\n%s", diff)
	}
	_, err := la.CallInit(t.Context(), "Missing", init, "validateCSR", json.RawMessage(`{}`))
	var ae *adapters.Error
	if !errors.As(err, &ae) || ae.Code != adapters.CodeUnavailable || ae.Adapter != "Missing" || ae.Procedure != "init" {
		t.Errorf("an adapter without a backend: %v, want adapter_unavailable in Missing.init", err)
	}
}
