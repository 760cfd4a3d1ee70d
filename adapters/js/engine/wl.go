package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/dop251/goja"

	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

// The settings through which the host hands the engine the adapter (adapters/js): its
// -impl.js, the base URL of its <connectivity>, and the names of its XSL files that are
// Worklight's stock filtered.xsl, one a line. They are data: the engine compiles the JavaScript
// inside the sandbox.
const (
	SettingFile         = "realmgate.js.file"
	SettingSource       = "realmgate.js.source"
	SettingConnectivity = "realmgate.js.connectivity"
	SettingStockXSL     = "realmgate.js.stock-xsl"
	SettingMemoryLimit  = "realmgate.js.memory-limit"
)

// maxCallStack bounds JavaScript recursion: a runaway recursion fails the call with a
// RangeError instead of growing the stack into the memory cap.
const maxCallStack = 4096

// host is what the engine needs of the wasm host: outbound HTTP and the log. In the module it
// is the realmgate SDK; native tests give a fake.
type host interface {
	HTTP(realmgate.HTTPRequest) (*realmgate.HTTPResponse, error)
	Log(level slog.Level, msg string)
}

// engine is one adapter's JavaScript, loaded in one goja runtime. It serves one call at a time,
// as a wasm instance does.
type engine struct {
	host      host
	vm        *goja.Runtime
	file      string
	base      string
	stockXSL  map[string]bool
	functions []string
	stringify goja.Callable
	parse     goja.Callable
	cur       *callState
	globals   globals // the script's globals kept per session (scriptstate.go)
	// loading is true while the script's top level runs; statements are the SQL texts it
	// created (sql.go).
	loading    bool
	statements []string
}

// callState is what the WL.Server functions see of the call in progress.
type callState struct {
	realm     string         // the realm whose login this call serves, "" otherwise
	identity  map[string]any // the caller's identities: user, device, realms
	request   map[string]any // headers and parameters of the client's request
	params    goja.Value     // the parameters, a JavaScript array
	active    any
	activeSet bool
}

// newEngine compiles and runs the adapter's -impl.js from settings. The host has checked the
// APIs it uses (package adapters/jsapi) before it loaded the script: an API the engine does not provide
// is missing from WL, and a call of it fails.
func newEngine(h host, settings map[string]string) (*engine, error) {
	file, src := settings[SettingFile], settings[SettingSource]
	if file == "" {
		return nil, errors.New("no JavaScript: the host passed no " + SettingFile)
	}
	e := &engine{host: h, vm: goja.New(), file: file, base: settings[SettingConnectivity], stockXSL: map[string]bool{}}
	for name := range strings.SplitSeq(settings[SettingStockXSL], "\n") {
		if name != "" {
			e.stockXSL[name] = true
		}
	}
	e.vm.SetMaxCallStackSize(maxCallStack)
	jsonObj := e.vm.Get("JSON").ToObject(e.vm)
	e.stringify, _ = goja.AssertFunction(jsonObj.Get("stringify"))
	e.parse, _ = goja.AssertFunction(jsonObj.Get("parse"))
	if err := e.install(); err != nil {
		return nil, err
	}
	prg, err := goja.Compile(file, src, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	e.cur = &callState{}
	e.beforeScript()
	e.loading = true
	_, err = e.vm.RunProgram(prg)
	e.loading = false
	if err != nil {
		return nil, fmt.Errorf("running %s: %w", file, jsError(err))
	}
	e.afterScript()
	g := e.vm.GlobalObject()
	for _, k := range g.Keys() {
		if _, ok := goja.AssertFunction(g.Get(k)); ok {
			e.functions = append(e.functions, k)
		}
	}
	sort.Strings(e.functions)
	return e, nil
}

// jsError is the message of a JavaScript exception with its place (file:line:column).
func jsError(err error) error {
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return fmt.Errorf("RangeError: maximum call stack size (%d) exceeded%s", maxCallStack, so.Error())
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		msg := ex.Error()
		if len(msg) > 2048 {
			msg = msg[:2048]
		}
		return errors.New(msg)
	}
	return err
}

// call runs one procedure with the session's script state (scriptstate.go) and answers
// {"result": R, "state": S}: R is the procedure's result (result), S the globals that differ
// from the script's baseline after it. When the procedure throws, the call fails and no state
// is answered.
func (e *engine) call(raw []byte) ([]byte, error) {
	ci, err := e.decodeCall(raw)
	if err != nil {
		return nil, err
	}
	if err := e.applyState(ci.State); err != nil {
		return nil, err
	}
	res, err := e.result(ci, raw)
	if err != nil {
		return nil, err
	}
	state := e.diffState()
	out := make([]byte, 0, len(res)+len(state)+22)
	out = append(out, `{"result":`...)
	out = append(out, res...)
	out = append(out, `,"state":`...)
	out = append(out, state...)
	return append(out, '}'), nil
}

// result runs one procedure: the JavaScript function of that name with the input's parameters
// (a login-function gets Worklight's (headers, errorMessage)). Its result, as JSON, is the
// output; when it called WL.Server.setActiveUser for the realm it serves, the output carries the
// identity as {"identity": ...}, which logs the user in.
func (e *engine) result(ci *callInput, raw []byte) ([]byte, error) {
	fn, ok := goja.AssertFunction(e.vm.GlobalObject().Get(ci.Procedure))
	if !ok {
		return nil, fmt.Errorf("%s defines no function %s", e.file, ci.Procedure)
	}
	e.cur = &callState{realm: ci.Realm, identity: ci.Identity, request: ci.Request}
	defer func() { e.cur = &callState{} }()
	args := ci.Args
	switch {
	case ci.Params != nil:
		e.cur.params = ci.Params
	case ci.Realm != "":
		// A login-function: Worklight's onAuthRequired(headers, errorMessage).
		args = []goja.Value{e.toJS(requestHeaders(ci.Request)), goja.Null()}
	default:
		// A call the host makes with one object (a PKI bridge's procedures, init): the object
		// is the function's one argument, as Worklight's adapter-based PKI bridge passed it.
		var err error
		if args, err = e.objectArgument(raw); err != nil {
			return nil, err
		}
	}
	res, err := fn(goja.Undefined(), args...)
	if err != nil {
		return nil, jsError(err)
	}
	out := []byte("{}")
	if res != nil && !goja.IsUndefined(res) {
		b, ok, err := e.stringifyJS(res)
		if err != nil {
			return nil, fmt.Errorf("the result of %s cannot be turned into JSON: %w", ci.Procedure, err)
		}
		if ok {
			out = b
		}
	}
	if e.cur.activeSet && e.cur.active != nil {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(out, &obj); err != nil || obj == nil {
			return nil, fmt.Errorf("%s called WL.Server.setActiveUser but returned no object", ci.Procedure)
		}
		id, err := json.Marshal(e.cur.active)
		if err != nil {
			return nil, fmt.Errorf("WL.Server.setActiveUser: the identity is not JSON: %w", err)
		}
		obj["identity"] = id
		return json.Marshal(obj)
	}
	return out, nil
}

// toJS turns a JSON value into a plain JavaScript value (objects and arrays of the runtime's
// own kind, so that adapters may modify and stringify them).
func (e *engine) toJS(v any) goja.Value {
	val, err := e.goToJS(v, 0)
	if err != nil {
		return goja.Undefined()
	}
	return val
}

// fromJS turns a JavaScript value into a JSON-shaped Go value.
func (e *engine) fromJS(v goja.Value) (any, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	s, err := e.stringify(goja.Undefined(), v)
	if err != nil {
		return nil, err
	}
	if goja.IsUndefined(s) {
		return nil, nil
	}
	var out any
	d := json.NewDecoder(strings.NewReader(s.String()))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// throw raises a JavaScript Error from a Go function called by the adapter.
func (e *engine) throw(format string, args ...any) {
	panic(e.vm.NewGoError(fmt.Errorf(format, args...)))
}

// install defines WL.Server and WL.Logger.
func (e *engine) install() error {
	vm := e.vm
	wl := vm.NewObject()
	server := vm.NewObject()
	logger := vm.NewObject()
	set := func(o *goja.Object, name string, f func(goja.FunctionCall) goja.Value) {
		_ = o.Set(name, f)
	}
	set(server, "invokeHttp", e.invokeHTTP)
	set(server, "setActiveUser", e.setActiveUser)
	set(server, "getActiveUser", e.getActiveUser)
	set(server, "getClientRequest", e.getClientRequest)
	set(server, "getClientId", e.getClientID)
	set(server, "invokeProcedure", e.invokeProcedure)       // invoke.go
	set(server, "pki", e.pki)                               // invoke.go
	set(server, "createSQLStatement", e.createSQLStatement) // sql.go
	set(server, "invokeSQLStatement", e.invokeSQLStatement)
	set(server, "invokeSQLStoredProcedure", e.invokeSQLStoredProcedure)
	for name, level := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "log": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError} {
		set(logger, name, func(c goja.FunctionCall) goja.Value {
			parts := make([]string, len(c.Arguments))
			for i, a := range c.Arguments {
				parts[i] = e.logString(a)
			}
			e.host.Log(level, strings.Join(parts, " "))
			return goja.Undefined()
		})
	}
	_ = wl.Set("Server", server)
	_ = wl.Set("Logger", logger)
	return vm.Set("WL", wl)
}

// logString renders a logged value: strings as they are, objects as JSON.
func (e *engine) logString(v goja.Value) string {
	if _, isObj := v.(*goja.Object); isObj {
		if s, err := e.stringify(goja.Undefined(), v); err == nil && !goja.IsUndefined(s) {
			return s.String()
		}
	}
	return v.String()
}

// setActiveUser(realm, identity) logs the user in to realm: the identity (userId, displayName,
// attributes) becomes the realm's, as a Go guest's {"identity"} does. Only a call that serves
// that realm's login can do so; a null identity (a logout) is accepted anywhere and changes
// nothing, since the session forgets the login on logout.
func (e *engine) setActiveUser(c goja.FunctionCall) goja.Value {
	realm := c.Argument(0).String()
	id, err := e.fromJS(c.Argument(1))
	if err != nil {
		e.throw("WL.Server.setActiveUser: the identity is not JSON: %v", err)
	}
	if id == nil {
		return goja.Undefined()
	}
	obj, ok := id.(map[string]any)
	if !ok {
		e.throw("WL.Server.setActiveUser: the identity must be an object with a userId")
	}
	if n, isNum := obj["userId"].(json.Number); isNum {
		obj["userId"] = n.String()
	}
	if uid, _ := obj["userId"].(string); uid == "" {
		e.throw("WL.Server.setActiveUser: the identity has no userId")
	}
	switch {
	case e.cur.realm == "":
		e.throw("WL.Server.setActiveUser(%q): this call is not part of a login to realm %s (call it from the procedure a realm's client answers)", realm, realm)
	case realm != e.cur.realm:
		e.throw("WL.Server.setActiveUser(%q): this call serves the login to realm %q", realm, e.cur.realm)
	}
	e.cur.active, e.cur.activeSet = obj, true
	return goja.Undefined()
}

// getActiveUser([realm]) returns the identity of the caller in realm (or the user realm), or the
// one this call set, or null.
func (e *engine) getActiveUser(c goja.FunctionCall) goja.Value {
	realm := ""
	if a := c.Argument(0); !goja.IsUndefined(a) && !goja.IsNull(a) {
		realm = a.String()
	}
	if e.cur.activeSet && (realm == "" || realm == e.cur.realm) {
		if e.cur.active == nil {
			return goja.Null()
		}
		return e.toJS(e.cur.active)
	}
	if realm != "" {
		if realms, ok := e.cur.identity["realms"].(map[string]any); ok {
			if id, ok := realms[realm].(map[string]any); ok && len(id) > 0 {
				return e.toJS(id)
			}
		}
		return goja.Null()
	}
	if u, ok := e.cur.identity["user"].(map[string]any); ok && len(u) > 0 {
		return e.toJS(u)
	}
	return goja.Null()
}

// getClientId() returns the id of the client whose call runs (the call input's
// request.clientId, which the host derives from the session), or null for a call with no
// session.
func (e *engine) getClientID(goja.FunctionCall) goja.Value {
	if id, ok := e.cur.request["clientId"].(string); ok && id != "" {
		return e.vm.ToValue(id)
	}
	return goja.Null()
}

// getClientRequest() returns the client's request, read only: getHeader(name),
// getHeaderNames(), getParameter(name), as Worklight's Java request answered them.
func (e *engine) getClientRequest(goja.FunctionCall) goja.Value {
	headers := requestHeaders(e.cur.request)
	params, _ := e.cur.request["parameters"].(map[string]any)
	req := e.vm.NewObject()
	_ = req.Set("getHeader", func(c goja.FunctionCall) goja.Value {
		name := c.Argument(0).String()
		for k, v := range headers {
			if strings.EqualFold(k, name) {
				return e.vm.ToValue(fmt.Sprint(v))
			}
		}
		return goja.Null()
	})
	_ = req.Set("getHeaderNames", func(goja.FunctionCall) goja.Value {
		names := make([]any, 0, len(headers))
		for k := range headers {
			names = append(names, k)
		}
		return e.toJS(names)
	})
	_ = req.Set("getParameter", func(c goja.FunctionCall) goja.Value {
		if v, ok := params[c.Argument(0).String()]; ok {
			return e.vm.ToValue(fmt.Sprint(v))
		}
		return goja.Null()
	})
	_ = req.Set("getParameters", func(goja.FunctionCall) goja.Value {
		if e.cur.params == nil {
			return e.vm.NewArray()
		}
		return e.cur.params
	})
	return req
}

func requestHeaders(req map[string]any) map[string]any {
	h, _ := req["headers"].(map[string]any)
	if h == nil {
		h = map[string]any{}
	}
	return h
}

// httpOptions are invokeHttp's options (Worklight's documented members).
type httpOptions struct {
	Method              string         `json:"method"`
	Path                string         `json:"path"`
	ReturnedContentType string         `json:"returnedContentType"`
	Parameters          map[string]any `json:"parameters"`
	Headers             map[string]any `json:"headers"`
	Cookies             map[string]any `json:"cookies"`
	Body                *struct {
		Content     any    `json:"content"`
		ContentType string `json:"contentType"`
	} `json:"body"`
	Transformation *struct {
		Type    string `json:"type"`
		XSLFile string `json:"xslFile"`
	} `json:"transformation"`
}

// invokeHttp(options) requests the adapter's back end (its <connectivity> protocol, domain and
// port; the host allows nothing else) and returns Worklight's result: isSuccessful,
// statusCode, statusReason, responseHeaders, and the content (JSON members, XML or HTML
// converted, or {text} for plain text).
func (e *engine) invokeHTTP(c goja.FunctionCall) goja.Value {
	raw, err := e.fromJS(c.Argument(0))
	if err != nil {
		e.throw("WL.Server.invokeHttp: the options are not JSON: %v", err)
	}
	b, _ := json.Marshal(raw)
	var o httpOptions
	if err := json.Unmarshal(b, &o); err != nil {
		e.throw("WL.Server.invokeHttp: bad options: %v", err)
	}
	res, err := e.doHTTP(o)
	if err != nil {
		e.throw("WL.Server.invokeHttp: %v", err)
	}
	return e.toJS(res)
}

func (e *engine) doHTTP(o httpOptions) (map[string]any, error) {
	if e.base == "" {
		return nil, errors.New("the adapter XML has no <connectivity><connectionPolicy> with a domain to request")
	}
	var transform transformer
	if t := o.Transformation; t != nil && strings.EqualFold(t.Type, "xslFile") {
		var err error
		if transform, err = xslTransformer(t.XSLFile, e.stockXSL); err != nil {
			return nil, err
		}
	}
	method := strings.ToUpper(o.Method)
	if method == "" {
		method = "GET"
	}
	path := o.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(e.base + path)
	if err != nil {
		return nil, fmt.Errorf("path %q: %v", o.Path, err)
	}
	if base, _ := url.Parse(e.base); base == nil || u.Host != base.Host || u.Scheme != base.Scheme {
		return nil, fmt.Errorf("path %q leaves the adapter's back end", o.Path)
	}
	req := realmgate.HTTPRequest{Method: method, Headers: map[string]string{}}
	for k, v := range o.Headers {
		req.Headers[k] = fmt.Sprint(v)
	}
	if len(o.Cookies) > 0 {
		names := make([]string, 0, len(o.Cookies))
		for k := range o.Cookies {
			names = append(names, k)
		}
		sort.Strings(names)
		var parts []string
		for _, k := range names {
			parts = append(parts, k+"="+fmt.Sprint(o.Cookies[k]))
		}
		req.Headers["Cookie"] = strings.Join(parts, "; ")
	}
	form := url.Values{}
	for k, v := range o.Parameters {
		form.Set(k, fmt.Sprint(v))
	}
	switch {
	case o.Body != nil:
		switch c := o.Body.Content.(type) {
		case string:
			req.Body = []byte(c)
		case nil:
		default:
			req.Body, _ = json.Marshal(c)
		}
		if o.Body.ContentType != "" {
			req.Headers["Content-Type"] = o.Body.ContentType
		}
		addQuery(u, form)
	case len(form) > 0 && (method == "POST" || method == "PUT"):
		req.Body = []byte(form.Encode())
		req.Headers["Content-Type"] = "application/x-www-form-urlencoded"
	default:
		addQuery(u, form)
	}
	req.URL = u.String()
	resp, err := e.host.HTTP(req)
	if err != nil {
		return map[string]any{"isSuccessful": false, "errors": []any{err.Error()}, "warnings": []any{}, "info": []any{}}, nil
	}
	out := map[string]any{
		"isSuccessful":    resp.Status < 400,
		"statusCode":      resp.Status,
		"statusReason":    statusText(resp.Status),
		"responseHeaders": resp.Headers,
		"warnings":        []any{},
		"info":            []any{},
	}
	if resp.Status >= 400 {
		out["errors"] = []any{fmt.Sprintf("the back end answered %d", resp.Status)}
	}
	kind := contentKind(o.ReturnedContentType, headerValue(resp.Headers, "Content-Type"))
	var content map[string]any
	switch {
	case transform != nil:
		content, err = transform(resp.Body)
	case kind == "json":
		content, err = jsonContent(resp.Body)
	case kind == "xml":
		content, err = xmlToJSON(resp.Body)
	case kind == "html":
		content, err = htmlToJSON(resp.Body)
	default:
		content = map[string]any{"text": string(resp.Body)}
	}
	if err != nil {
		if resp.Status >= 400 {
			content, err = map[string]any{"text": string(resp.Body)}, nil
		} else {
			return nil, err
		}
	}
	for k, v := range content {
		out[k] = v
	}
	return out, nil
}

func addQuery(u *url.URL, form url.Values) {
	if len(form) == 0 {
		return
	}
	q := u.Query()
	for k, vs := range form {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// contentKind is how a response is converted: json, xml, html or text, from invokeHttp's
// returnedContentType or else the response's Content-Type.
func contentKind(returned, contentType string) string {
	t := strings.ToLower(returned)
	if t == "" {
		t = strings.ToLower(contentType)
	}
	switch {
	case strings.Contains(t, "json") || strings.Contains(t, "javascript"):
		return "json"
	case strings.Contains(t, "html"):
		return "html"
	case strings.Contains(t, "xml"):
		return "xml"
	}
	return "text"
}

// jsonContent is a JSON response as Worklight merged it into the result: an object's members,
// or any other value as the member "array" (arrays) or "text".
func jsonContent(body []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("the response is not JSON: %w", err)
	}
	switch t := v.(type) {
	case map[string]any:
		return t, nil
	case []any:
		return map[string]any{"array": t}, nil
	}
	return map[string]any{"text": string(body)}, nil
}

func statusText(code int) string {
	if s := httpStatusText[code]; s != "" {
		return s
	}
	return strconv.Itoa(code)
}

var httpStatusText = map[int]string{200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
	301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized",
	403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error",
	502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
