// Package plugins is the go-plugin backend of the adapter contract: it runs an adapter as a
// separate process speaking gRPC through hashicorp/go-plugin, and registers itself as the
// adapter kind "plugin". A blank import switches it on:
//
//	import _ "github.com/realmgate/realmgate/plugins"
//
//	a, err := adapters.Open(ctx, adapters.Config{
//		Name:     "PKIBridge",
//		Kind:     "plugin",
//		Command:  []string{"/opt/realmgate/adapters/pkibridge"},
//		SHA256:   "9f2c…", // hex SHA-256 of the binary
//		Settings: map[string]string{"ca-cert": certPEM, "ca-key": keyPEM},
//	})
//
// Plugins are written with package plugins/sdk.
//
// # Process life
//
// Open checks the binary against Config.SHA256 (when set) and launches it with an empty
// environment, so the daemon's own variables never reach a plugin; the channel is secured with
// go-plugin's automatic mTLS and only its gRPC protocol is accepted. A first Start call hands the
// plugin its name and Settings (which may hold keys: they travel over the mTLS channel, never in
// argv or the environment) and returns the procedures it implements; a procedure listed in
// Config.Procedures that the plugin lacks fails Open.
//
// A plugin that dies (a crash, a kill) fails the calls in flight with adapter_unavailable; the
// next call launches it again, checksum included. Repeated launch failures back off up to
// five seconds, during which calls fail at once with the last launch error; so do processes
// that keep dying within ten seconds of their launch: after two relaunched at once, the next
// waits 50 ms, then twice as long each time up to five seconds, so that a plugin that crashes on
// every call does not spin the CPU. Close stops the process and waits for it; a plugin whose
// daemon dies without closing it exits by itself (plugins/sdk watches its parent).
//
// A call given up on (its deadline passed, its caller left) is cancelled: gRPC cancels the
// procedure's context in the plugin. Once Limits.CancelGrace has passed, the daemon asks the
// plugin (the Running call) whether the procedure still runs, and kills the process if it does,
// does not answer within a second, or cannot say (a plugin built before Running): a procedure
// that ignores its context never runs unbounded. The calls in flight in the killed process fail
// with adapter_unavailable; the next call launches a new one.
//
// # Calls
//
// Every call is bounded: the input by Limits.MaxInput and checked to be JSON before it leaves
// the daemon, the wall time by Limits.CallTimeout (adapter_timeout), the response by
// Limits.MaxOutput plus a fixed allowance for the error message and log records. A plugin's
// outcome crosses the process boundary inside the response, since go-plugin turns errors into
// plain strings: the code and message come back as the same *adapters.Error, and a code a
// plugin may not claim (a timeout, say) is reported as adapter_bad_output.
//
// # Logs
//
// Records a procedure writes with sdk.Logger come back with its response and are written to
// Config.Logger, tagged with the adapter and procedure, before Call returns. What a plugin writes
// to stderr outside calls is parsed here (hclog's JSON lines, or plain text) rather than by
// go-plugin, whose parser panics on a line such as {"@message": 1} and would let a plugin take
// the daemon down; go-plugin's own logs go to Config.Logger through an hclog bridge.
package plugins
