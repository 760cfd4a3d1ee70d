// Package wire holds what the daemon and the plugin SDK must agree on besides the gRPC contract:
// the go-plugin handshake, the name the adapter is dispensed under and the bounds of what a call
// may carry back.
package wire

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/realmgate/realmgate/plugins/internal/pluginpb"
)

// Handshake is checked by go-plugin before anything else: a binary launched with another cookie
// or protocol version refuses to start, and a plugin binary run by hand says it is a plugin.
// ProtocolVersion changes whenever adapter.proto changes incompatibly.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "REALMGATE_ADAPTER_PLUGIN",
	MagicCookieValue: "7f3c9a2e-realmgate-adapter-v1",
}

// PluginName is the name the one plugin of a plugin process is dispensed under.
const PluginName = "adapter"

// Bounds of a call's response, enforced by the SDK and again by the daemon, which trusts
// nothing a plugin sends.
const (
	// MaxMessage bounds an error message; longer ones are cut.
	MaxMessage = 4 << 10
	// MaxLogRecords bounds the log records one call carries back; the rest are dropped and
	// counted.
	MaxLogRecords = 64
	// MaxLogRecord bounds one record's message plus attributes.
	MaxLogRecord = 4 << 10
	// ResponseOverhead is what a response may hold beyond its output: the error message, the
	// log records and the protobuf framing around them.
	ResponseOverhead = MaxMessage + MaxLogRecords*(MaxLogRecord+64) + 1024
)

// Plugin is the go-plugin Plugin of both sides: the SDK sets Impl, the daemon dispenses a
// client. go-plugin's net/rpc protocol is not supported.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pluginpb.AdapterServer
}

var _ plugin.GRPCPlugin = (*Plugin)(nil)

// GRPCServer registers the plugin's adapter service.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterAdapterServer(s, p.Impl)
	return nil
}

// GRPCClient returns a pluginpb.AdapterClient on the plugin's connection.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginpb.NewAdapterClient(c), nil
}
