package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/realmgate/realmgate/engine"
)

// Codes the HTTP layer adds to the engine's.
const (
	codeMissingAppContext = "missing_app_context"
	codeNotFound          = "not_found"
	codeTooLarge          = "payload_too_large"
	codeBadRequest        = string(engine.CodeBadRequest)
	codeUnauthorized      = "unauthorized"
	codeConflict          = "conflict"
	codeURITooLong        = "uri_too_long"
	codeMethodNotAllowed  = "method_not_allowed"
)

// statusOf is the one place that maps error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case codeBadRequest, codeMissingAppContext, string(engine.CodeNonce), "invalid_request", "invalid_scope",
		string(engine.CodeInvalidTarget):
		return http.StatusBadRequest
	case codeUnauthorized:
		return http.StatusUnauthorized
	case string(engine.CodeRefused), string(engine.CodeApplicationDisabled), string(engine.CodeDeviceBlocked),
		string(engine.CodePolicyDenied), string(engine.CodeXSRF), string(engine.CodeCSRRejected),
		string(engine.CodeDeviceProofRequired), string(engine.CodeIdentityMismatch), string(engine.CodeProcedureNotAllowed):
		return http.StatusForbidden
	case string(engine.CodeUnknownApplication), string(engine.CodeUnknownRealm), codeNotFound:
		return http.StatusNotFound
	case string(engine.CodeNoChallenge), codeConflict:
		return http.StatusConflict
	case codeTooLarge, string(engine.CodeInputTooLarge):
		return http.StatusRequestEntityTooLarge
	case codeURITooLong:
		return http.StatusRequestURITooLong
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case string(engine.CodeTooManyAttempts), string(engine.CodeBackoff):
		return http.StatusTooManyRequests
	case string(engine.CodeNotImplemented):
		return http.StatusNotImplemented
	case string(engine.CodeUnavailable), string(engine.CodePolicyTimeout):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// apiError is an error body: {"error": code, "message": text} plus details.
type apiError struct {
	Code    string
	Message string
	Details map[string]any
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(code, message string) *apiError { return &apiError{Code: code, Message: message} }

// writeError writes err as an error body with the status of its code. Errors that are neither
// engine nor API errors are internal: the client gets a generic message, the log the cause.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae *apiError
		ee *engine.Error
	)
	body := map[string]any{}
	switch {
	case errors.As(err, &ae):
		for k, v := range ae.Details {
			body[k] = v
		}
		body["error"], body["message"] = ae.Code, ae.Message
	case errors.As(err, &ee):
		for k, v := range ee.Details {
			body[k] = v
		}
		body["error"], body["message"] = string(ee.Code), ee.Message
		if ee.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((ee.RetryAfter+time.Second-1)/time.Second), 10))
		}
		if ee.Code == engine.CodeUnavailable {
			s.log.Error("request failed", "path", r.URL.Path, "err", err)
		}
	default:
		s.log.Error("internal error", "path", r.URL.Path, "err", err)
		body["error"], body["message"] = "internal_error", "the server could not handle the request"
	}
	code, _ := body["error"].(string)
	writeJSON(w, statusOf(code), body)
}

// writeChallenge answers a challenge: the realms the client must answer before it asks again.
func (s *Server) writeChallenge(w http.ResponseWriter, ch *engine.Challenge) {
	writeJSON(w, http.StatusUnauthorized, ch)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
