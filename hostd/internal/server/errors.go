package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/engine"
)

// Codes the HTTP layer adds to the engine's and the adapters'.
const (
	codeMissingAppContext = "missing_app_context"
	codeNotFound          = string(engine.CodeNotFound)
	codeTooLarge          = "payload_too_large"
	codeBadRequest        = string(engine.CodeBadRequest)
	codeUnauthorized      = "unauthorized"
	codeConflict          = "conflict"
	codeURITooLong        = "uri_too_long"
	codeMethodNotAllowed  = "method_not_allowed"
	// codeRateLimited: the client, or all clients of a realm, answered faster than the rate
	// limits allow (ratelimit.go); Retry-After says when a token is back.
	codeRateLimited = "rate_limited"
	codeInternal    = "internal_error"
	// codeInvalidConfiguration: a reload found errors in the configuration (the running one is
	// kept); the diagnostics are in the body.
	codeInvalidConfiguration = "invalid_configuration"
	// codeChallenged is no error: the body is a challenge the client answers before asking again.
	codeChallenged = "challenged"
)

// statuses is the one table from codes (the engine's, the adapters', this layer's) to HTTP
// statuses; a code that is not in it is a 500.
var statuses = map[string]int{
	codeBadRequest:                         http.StatusBadRequest,
	codeMissingAppContext:                  http.StatusBadRequest,
	codeInvalidRequest:                     http.StatusBadRequest,
	string(engine.CodeNonce):               http.StatusBadRequest,
	string(engine.CodeInvalidScope):        http.StatusBadRequest,
	string(engine.CodeInvalidTarget):       http.StatusBadRequest,
	string(adapters.CodeBadInput):          http.StatusBadRequest,
	codeUnauthorized:                       http.StatusUnauthorized,
	codeChallenged:                         http.StatusUnauthorized,
	string(engine.CodeRefused):             http.StatusForbidden,
	string(engine.CodeApplicationDisabled): http.StatusForbidden,
	string(engine.CodeDeviceBlocked):       http.StatusForbidden,
	string(engine.CodePolicyDenied):        http.StatusForbidden,
	string(engine.CodeXSRF):                http.StatusForbidden,
	string(engine.CodeCSRRejected):         http.StatusForbidden,
	string(engine.CodeDeviceProofRequired): http.StatusForbidden,
	string(engine.CodeIdentityMismatch):    http.StatusForbidden,
	string(engine.CodeProcedureNotAllowed): http.StatusForbidden,
	string(engine.CodeLoginNotAllowed):     http.StatusForbidden,
	string(engine.CodeUnknownApplication):  http.StatusNotFound,
	string(engine.CodeUnknownRealm):        http.StatusNotFound,
	codeNotFound:                           http.StatusNotFound,
	codeMethodNotAllowed:                   http.StatusMethodNotAllowed,
	string(engine.CodeNoChallenge):         http.StatusConflict,
	codeConflict:                           http.StatusConflict,
	codeTooLarge:                           http.StatusRequestEntityTooLarge,
	string(engine.CodeInputTooLarge):       http.StatusRequestEntityTooLarge,
	string(engine.CodeSessionFull):         http.StatusRequestEntityTooLarge,
	codeURITooLong:                         http.StatusRequestURITooLong,
	string(engine.CodeTooManyAttempts):     http.StatusTooManyRequests,
	string(engine.CodeBackoff):             http.StatusTooManyRequests,
	codeRateLimited:                        http.StatusTooManyRequests,
	codeInternal:                           http.StatusInternalServerError,
	codeInvalidConfiguration:               http.StatusInternalServerError,
	string(engine.CodeUnknownSecurityTest): http.StatusInternalServerError,
	string(adapters.CodeFailed):            http.StatusInternalServerError,
	string(adapters.CodeOutOfMemory):       http.StatusInternalServerError,
	string(engine.CodeNotImplemented):      http.StatusNotImplemented,
	string(adapters.CodeUnknownProcedure):  http.StatusNotImplemented,
	string(adapters.CodeBadOutput):         http.StatusBadGateway,
	string(engine.CodeUnavailable):         http.StatusServiceUnavailable,
	string(engine.CodePolicyTimeout):       http.StatusServiceUnavailable,
	string(adapters.CodeUnavailable):       http.StatusServiceUnavailable,
	string(adapters.CodeBusy):              http.StatusServiceUnavailable,
	string(adapters.CodeTimeout):           http.StatusGatewayTimeout,
}

// statusOf is the status of a code (statuses).
func statusOf(code string) int {
	if status, ok := statuses[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// apiError is an error body: {"error": code, "message": text} plus details.
type apiError struct {
	Code    string
	Message string
	Details map[string]any
	// RetryAfter, when set, is sent as Retry-After, in whole seconds rounded up.
	RetryAfter time.Duration
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
		if ae.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((ae.RetryAfter+time.Second-1)/time.Second), 10))
		}
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
		body["error"], body["message"] = codeInternal, "the server could not handle the request"
	}
	code, _ := body["error"].(string)
	s.metrics.failures.WithLabelValues(code).Inc()
	writeJSON(w, statusOf(code), body)
}

// writeChallenge answers with a challenge: the realms the client must answer before it asks
// again (a security test's, or a realm's new one after a wrong answer).
func writeChallenge(w http.ResponseWriter, ch *engine.Challenge) {
	writeJSON(w, statusOf(codeChallenged), ch)
}

// procedureFailed answers a failed adapter call {"isSuccessful": false, "errors": [...]} (the
// Worklight shape) with the status of the adapter's error code.
func (s *Server) procedureFailed(w http.ResponseWriter, adapter, procedure string, err error) {
	var ae *adapters.Error
	code, msg := adapters.CodeFailed, "the procedure failed"
	if errors.As(err, &ae) {
		code = ae.Code
		msg = ae.Message
		if ae.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((ae.RetryAfter+time.Second-1)/time.Second), 10))
		}
	}
	if msg == "" {
		msg = string(code)
	}
	s.log.Warn("procedure failed", "adapter", adapter, "procedure", procedure, "code", code, "err", err)
	writeJSON(w, statusOf(string(code)), map[string]any{"isSuccessful": false, "errors": []string{msg}, "error": string(code), "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
