package plugins

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/plugins/internal/pluginpb"
	"github.com/realmgate/realmgate/plugins/internal/wire"
)

// FuzzDecodeResponse feeds arbitrary bytes as a plugin's response message: whatever a plugin
// sends, the daemon returns either valid bounded JSON or an *adapters.Error with a code a
// plugin may report (or adapter_bad_output), and log records within their bounds.
func FuzzDecodeResponse(f *testing.F) {
	seed := func(r *pluginpb.CallResponse) {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(&pluginpb.CallResponse{Output: []byte(`{"a":1}`)})
	seed(&pluginpb.CallResponse{Output: []byte(`{"a":`)})
	seed(&pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_failure", Message: "no"}})
	seed(&pluginpb.CallResponse{Error: &pluginpb.Error{Code: "adapter_timeout", Message: "claimed"}})
	seed(&pluginpb.CallResponse{Output: []byte(`1`), DroppedLogs: 3, Logs: []*pluginpb.LogRecord{
		{Level: 8, Message: "m", Attrs: []byte(`{"k":"v","adapter":"spoof"}`)},
		{Level: -1 << 30, Message: "low", Attrs: []byte(`[1]`)},
	}})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	const maxOutput = 64
	f.Fuzz(func(t *testing.T, data []byte) {
		var resp pluginpb.CallResponse
		if proto.Unmarshal(data, &resp) != nil {
			return // gRPC fails such a message before it reaches decodeResponse
		}
		out, perr := decodeResponse(&resp, maxOutput)
		if perr != nil {
			if !pluginCodes[perr.Code] && perr.Code != adapters.CodeBadOutput {
				t.Fatalf("code %q", perr.Code)
			}
			if len(perr.Message) > wire.MaxMessage || !utf8.ValidString(perr.Message) {
				t.Fatalf("message of %d bytes, valid UTF-8 %v", len(perr.Message), utf8.ValidString(perr.Message))
			}
		} else if len(out) == 0 || len(out) > maxOutput || !json.Valid(out) {
			t.Fatalf("output %q accepted", out)
		}
		recs, dropped := decodeLogs(&resp)
		if len(recs) > wire.MaxLogRecords || dropped < 0 {
			t.Fatalf("%d records, %d dropped", len(recs), dropped)
		}
		for _, r := range recs {
			if len(r.msg) > wire.MaxLogRecord || !utf8.ValidString(r.msg) || r.level < -8 || r.level > 8 {
				t.Fatalf("record %+v out of bounds", r)
			}
			for _, a := range r.attrs {
				if a.Key == "adapter" || a.Key == "procedure" {
					t.Fatalf("record spoofs the daemon's %q attribute", a.Key)
				}
			}
		}
	})
}

// FuzzParseStderrLine feeds arbitrary lines as a plugin's stderr: the parser go-plugin ships
// panics on some; this one must take anything and return a valid UTF-8 message.
func FuzzParseStderrLine(f *testing.F) {
	for _, s := range []string{
		`{"@message": 1, "@level": 5}`,
		`{"@level":"error","@message":"boom","k":{"n":[1,2]}}`,
		`{"@message":"x","@timestamp":"not a time"}`,
		"panic: runtime error\n",
		"\xff{",
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		_, msg, _ := parseStderrLine(line)
		if !utf8.ValidString(msg) {
			t.Fatalf("message %q is not valid UTF-8", msg)
		}
	})
}
