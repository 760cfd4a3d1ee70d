package realmgate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"unicode/utf8"

	"github.com/realmgate/realmgate/internal/adapterjson"
)

// ABIVersion is the version of sdk-wasm/ABI.md this SDK implements.
const ABIVersion = 1

// Handler is a procedure on raw JSON: it gets the call's input and returns its output, which
// must be one JSON value. An error fails the call with the error's text as the message.
type Handler func(input []byte) (output []byte, err error)

// Serve runs h for the call whose input the host put at ptr/size and returns the packed result
// the exported procedure function must return. A panic in h fails the call (the instance
// stays usable) instead of crashing the module.
func Serve(ptr, size uint32, h Handler) uint64 {
	in := input(ptr, size)
	if in == nil && size > 0 {
		fail("realmgate: the input buffer was not allocated with realmgate_alloc")
		return 0
	}
	out, err := run(h, in)
	if err != nil {
		fail(err.Error())
		return 0
	}
	if len(out) == 0 {
		fail("realmgate: the procedure returned no output")
		return 0
	}
	return packResult(out)
}

func run(h Handler, in []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in the procedure: %v", r)
			Log(slog.LevelError, "procedure panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return h(in)
}

// Handle runs f for the call whose input is at ptr/size: it decodes the input JSON into In,
// and encodes f's Out as the output. An input that does not decode, or an error from f, fails
// the call.
//
// The input is decoded with JSON v2 (github.com/go-json-experiment/json), whose member names
// match field names exactly, as ABI.md says: encoding/json would also fill the field "amount"
// from a member "Amount" (or "key" from "\u212Aey"), which a policy reading
// input.request.parameters sees as another member. A member that differs from a field's name
// only in case fails the call with a [*MemberError]; members that resemble no field are ignored
// (see [Call] for parameters that refuse them); a repeated member or invalid UTF-8 fails the
// call. The output is encoded with encoding/json.
func Handle[In, Out any](ptr, size uint32, f func(In) (Out, error)) uint64 {
	return Serve(ptr, size, func(b []byte) ([]byte, error) {
		in, err := decodeInput[In](b)
		if err != nil {
			return nil, err
		}
		out, err := f(in)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	})
}

// decodeInput decodes a procedure's input as Handle does.
func decodeInput[In any](b []byte) (In, error) {
	in, err := adapterjson.Decode[In](b)
	if err != nil {
		return in, fmt.Errorf("invalid input: %w", err)
	}
	return in, nil
}

// MemberError is the error, wrapped in the one [Handle] fails a call with or returned by
// [Call.UnmarshalJSON], for a member that does not reach a field: one whose name differs from a
// field's only in case or Unicode case folding (Field names the field), or, in a [Call]'s
// parameters, one that matches no field at all (Field is empty).
type MemberError = adapterjson.MemberError

// Call is the input of an adapter procedure that clients call (POST
// /api/v1/adapters/{adapter}/{procedure}): the client's positional parameters, each decoded into
// P, the identities the procedure's security test established, and the calling application.
//
// Parameters are decoded strictly: member names must be P's field names exactly, and a member
// that is not a field of P fails the call ("unknown member"). The host hands the adapter the
// parameters its policy read, member for member; a member the adapter ignored or read under
// another name could carry what the policy never saw. The other members of the input are
// decoded as Handle does, so that the host may add members.
type Call[P any] struct {
	Parameters []P      `json:"parameters"`
	Identity   Identity `json:"identity"`
	App        App      `json:"app"`
}

// Identity is who called: the user and device identities and every realm's identity, as the
// procedure's security test established them (empty for unprotected procedures).
type Identity struct {
	User   map[string]any `json:"user"`
	Device map[string]any `json:"device"`
	Realms map[string]any `json:"realms"`
}

// App is the calling application: its id, environment and version.
type App struct {
	ID      string `json:"id"`
	Env     string `json:"env"`
	Version string `json:"version"`
}

// UserID is the calling user's id ("" when the security test has no user realm).
func (c *Call[P]) UserID() string {
	id, _ := c.Identity.User["userId"].(string)
	return id
}

// UnmarshalJSON decodes the call as [Handle] decodes its input, and its parameters strictly
// (json.RejectUnknownMembers): a member that is not a field of P is a [*MemberError].
func (c *Call[P]) UnmarshalJSON(b []byte) error {
	env, err := adapterjson.Decode[struct {
		Parameters json.RawMessage `json:"parameters"`
		Identity   Identity        `json:"identity"`
		App        App             `json:"app"`
	}](b)
	if err != nil {
		return err
	}
	var params []P
	if len(env.Parameters) > 0 {
		params, err = adapterjson.DecodeStrict[[]P](env.Parameters)
		if err != nil {
			var me *MemberError
			if errors.As(err, &me) {
				me.Path = "parameters" + me.Path
				return me
			}
			return fmt.Errorf("parameters: %w", err)
		}
	}
	*c = Call[P]{Parameters: params, Identity: env.Identity, App: env.App}
	return nil
}

// Fail records message as the failure of the current call: whatever the procedure returns
// afterwards, the call fails with code adapter_failure and this message (cut at 4 KiB). It is
// what returning an error from a Handler or Handle function does; call it directly from a
// procedure that does not use them.
func Fail(message string) { fail(message) }

// Log writes a record to the host's log at level, with args as alternating keys and values as
// in log/slog (or slog.Attr values). The host keeps at most 64 records a call, 4 KiB each.
func Log(level slog.Level, msg string, args ...any) {
	Logger().Log(context.Background(), level, msg, args...)
}

// Logger returns a slog.Logger that writes to the host's log.
func Logger() *slog.Logger { return slog.New(hostHandler{}) }

// hostHandler encodes a record as the JSON object the log host function reads: "msg" and one
// member per attribute, groups flattened as "group.key".
type hostHandler struct {
	attrs  []slog.Attr
	prefix string
}

func (hostHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h hostHandler) Handle(_ context.Context, r slog.Record) error {
	writeLog(int32(r.Level), h.encode(r))
	return nil
}

// encode returns the JSON object of r.
func (h hostHandler) encode(r slog.Record) []byte {
	var b bytes.Buffer
	b.WriteString(`{"msg":`)
	msg, _ := json.Marshal(r.Message)
	b.Write(msg)
	for _, a := range h.attrs {
		appendAttr(&b, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.prefix, a)
		return true
	})
	b.WriteByte('}')
	return b.Bytes()
}

func appendAttr(b *bytes.Buffer, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			appendAttr(b, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	key, _ := json.Marshal(prefix + a.Key)
	val, err := json.Marshal(v.Any())
	if err != nil {
		val, _ = json.Marshal(v.String())
	}
	b.WriteByte(',')
	b.Write(key)
	b.WriteByte(':')
	b.Write(val)
}

func (h hostHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := h
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		c.attrs = append(c.attrs, slog.Attr{Key: h.prefix + a.Key, Value: a.Value})
	}
	return c
}

func (h hostHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := h
	c.prefix = h.prefix + name + "."
	return c
}

var settings map[string]string

// Config returns the adapter's configuration: the settings of its configuration file plus
// "adapter", its name. The configuration does not change while the module runs, so it is read
// from the host once.
func Config() (map[string]string, error) {
	if settings == nil {
		var s map[string]string
		if err := json.Unmarshal(config(), &s); err != nil {
			return nil, fmt.Errorf("realmgate: reading the configuration: %w", err)
		}
		settings = s
	}
	c := make(map[string]string, len(settings))
	for k, v := range settings {
		c[k] = v
	}
	return c, nil
}

// Setting returns one setting of the adapter's configuration, "" when it is not set.
func Setting(name string) string {
	c, err := Config()
	if err != nil {
		return ""
	}
	return c[name]
}

// HTTPRequest is an outbound HTTP request. Method defaults to GET. The host sends it only to an
// http or https URL whose host and port are on the adapter's allow-list.
type HTTPRequest struct {
	Method  string
	URL     string
	Headers map[string]string
	Body    []byte
}

// HTTPResponse is the response to an HTTPRequest. Headers with several values are joined with
// ", ". Redirects to another host are not followed: they come back as the 3xx response.
type HTTPResponse struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

type httpRequestJSON struct {
	Method     string            `json:"method,omitempty"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       *string           `json:"body,omitempty"`
	BodyBase64 *string           `json:"bodyBase64,omitempty"`
}

type httpResponseJSON struct {
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       *string           `json:"body"`
	BodyBase64 *string           `json:"bodyBase64"`
	Error      string            `json:"error"`
}

// HTTP makes an outbound request through the host. It fails when the host refused or could
// not make the request (host not allowed, timeout, body too large); a response with any status
// is not an error.
func HTTP(req HTTPRequest) (*HTTPResponse, error) {
	b, err := encodeHTTPRequest(req)
	if err != nil {
		return nil, err
	}
	return decodeHTTPResponse(httpCall(b))
}

func encodeHTTPRequest(req HTTPRequest) ([]byte, error) {
	w := httpRequestJSON{Method: req.Method, URL: req.URL, Headers: req.Headers}
	if len(req.Body) > 0 {
		if utf8.Valid(req.Body) {
			s := string(req.Body)
			w.Body = &s
		} else {
			s := base64.StdEncoding.EncodeToString(req.Body)
			w.BodyBase64 = &s
		}
	}
	return json.Marshal(w)
}

func decodeHTTPResponse(b []byte) (*HTTPResponse, error) {
	var w httpResponseJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("realmgate: http: the host's response is not valid: %w", err)
	}
	if w.Error != "" {
		return nil, errors.New("realmgate: http: " + w.Error)
	}
	resp := &HTTPResponse{Status: w.Status, Headers: w.Headers}
	switch {
	case w.BodyBase64 != nil:
		body, err := base64.StdEncoding.DecodeString(*w.BodyBase64)
		if err != nil {
			return nil, fmt.Errorf("realmgate: http: bodyBase64: %w", err)
		}
		resp.Body = body
	case w.Body != nil:
		resp.Body = []byte(*w.Body)
	}
	if resp.Status < 100 || resp.Status > 999 {
		return nil, errors.New("realmgate: http: the host's response has no valid status: " + strconv.Itoa(resp.Status))
	}
	return resp, nil
}
