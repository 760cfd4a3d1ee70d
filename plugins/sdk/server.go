package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/plugins/internal/pluginpb"
	"github.com/realmgate/realmgate/plugins/internal/wire"
)

// server implements the gRPC adapter service over a plugin's procedures.
type server struct {
	pluginpb.UnimplementedAdapterServer
	procs Procedures
	names []string
	log   *slog.Logger // the process logger, for what happens outside calls
	// config is set by Start: the settings plus "adapter". Calls before Start are refused.
	config atomic.Pointer[map[string]string]

	// running holds the numbers (CallRequest.id) of the calls whose procedure has not
	// returned, for Running.
	mu      sync.Mutex
	running map[uint64]int
}

func newServer(procs Procedures, log *slog.Logger) (*server, error) {
	if len(procs) == 0 {
		return nil, errors.New("no procedures to serve")
	}
	for name, p := range procs {
		if name == "" || !utf8.ValidString(name) {
			return nil, fmt.Errorf("procedure name %q is not a non-empty UTF-8 string", name)
		}
		if p == nil {
			return nil, fmt.Errorf("procedure %q is nil", name)
		}
	}
	return &server{procs: maps.Clone(procs), names: slices.Sorted(maps.Keys(procs)), log: log, running: map[uint64]int{}}, nil
}

// Start records the adapter's configuration and lists the procedures.
func (s *server) Start(_ context.Context, req *pluginpb.StartRequest) (*pluginpb.StartResponse, error) {
	cfg := make(map[string]string, len(req.GetSettings())+1)
	maps.Copy(cfg, req.GetSettings())
	cfg["adapter"] = req.GetAdapter()
	s.config.Store(&cfg)
	return &pluginpb.StartResponse{Procedures: s.names}, nil
}

// Call runs one procedure. Its outcome, failures included, is in the response; a gRPC error is
// returned only for a call the daemon should not have made.
func (s *server) Call(ctx context.Context, req *pluginpb.CallRequest) (*pluginpb.CallResponse, error) {
	cfg := s.config.Load()
	if cfg == nil {
		return nil, errors.New("call before start")
	}
	p, ok := s.procs[req.GetProcedure()]
	if !ok {
		return &pluginpb.CallResponse{Error: &pluginpb.Error{
			Code:    string(adapters.CodeUnknownProcedure),
			Message: clean(fmt.Sprintf("no procedure %q", req.GetProcedure()), wire.MaxMessage),
		}}, nil
	}
	c := &call{config: *cfg, rec: newRecorder(s.log)}
	if id := req.GetId(); id != 0 {
		s.track(id, 1)
		defer s.track(id, -1)
	}
	out, err := s.run(context.WithValue(ctx, callKey{}, c), req.GetProcedure(), p, req.GetInput())
	resp := &pluginpb.CallResponse{}
	resp.Logs, resp.DroppedLogs = c.rec.finish()
	if err != nil {
		code, msg := errorOf(err)
		resp.Error = &pluginpb.Error{Code: string(code), Message: clean(msg, wire.MaxMessage)}
		return resp, nil
	}
	if out == nil {
		out = []byte("null")
	}
	resp.Output = out
	return resp, nil
}

// track counts a call in (+1) or out (-1) of running.
func (s *server) track(id uint64, delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.running[id] + delta; n > 0 {
		s.running[id] = n
	} else {
		delete(s.running, id)
	}
}

// Running answers which of the asked calls still run: the daemon asks about the calls it gave
// up on, and kills a plugin whose procedure ignores its cancelled context.
func (s *server) Running(_ context.Context, req *pluginpb.RunningRequest) (*pluginpb.RunningResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &pluginpb.RunningResponse{}
	for _, id := range req.GetIds() {
		if s.running[id] > 0 {
			resp.Ids = append(resp.Ids, id)
		}
	}
	return resp, nil
}

// run calls p, turning a panic into a failed call so that one bad input does not take down the
// plugin and every call in flight with it.
func (s *server) run(ctx context.Context, name string, p Procedure, in []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("procedure panicked", "procedure", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			out, err = nil, Fail("procedure "+name+" panicked")
		}
	}()
	return p(ctx, in)
}

// callKey is the context key of the *call a procedure runs in.
type callKey struct{}

// call is what a procedure's context knows of its call.
type call struct {
	config map[string]string
	rec    *recorder
}

// clean makes s fit a protobuf string of at most max bytes: valid UTF-8 (protobuf refuses to
// marshal anything else) and cut on a rune boundary.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
