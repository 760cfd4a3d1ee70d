package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
)

func TestLoginErrorsStatusAndRetryAfter(t *testing.T) {
	s := New(Options{})
	cases := []struct {
		err        *engine.Error
		status     int
		retryAfter string
	}{
		{&engine.Error{Code: engine.CodeBackoff, Message: "wait", RetryAfter: 1500 * time.Millisecond}, http.StatusTooManyRequests, "2"},
		{&engine.Error{Code: engine.CodeTooManyAttempts, Message: "stop"}, http.StatusTooManyRequests, ""},
		{&engine.Error{Code: engine.CodeIdentityMismatch, Message: "another user"}, http.StatusForbidden, ""},
		{&engine.Error{Code: engine.CodeProcedureNotAllowed, Message: "not a submit procedure"}, http.StatusForbidden, ""},
	}
	for _, tc := range cases {
		w := httptest.NewRecorder()
		s.writeError(w, httptest.NewRequest("POST", "/api/v1/auth/R", nil), tc.err)
		var body map[string]any
		json.Unmarshal(w.Body.Bytes(), &body)
		got := []any{w.Code, w.Header().Get("Retry-After"), body["error"]}
		want := []any{tc.status, tc.retryAfter, string(tc.err.Code)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.err.Code, diff)
		}
	}
}
