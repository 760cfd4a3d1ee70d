// Package pluginpb holds the gRPC contract between the daemon and plugin processes
// (adapter.proto) and its generated Go code.
//
// The generated files are committed so that building and CI need no protoc. To regenerate after
// editing adapter.proto, install protoc (Debian: apt-get install protobuf-compiler, 3.21.12) and the
// pinned generators, then run go generate:
//
//	GOBIN=/tmp/protobin go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	GOBIN=/tmp/protobin go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	PATH=/tmp/protobin:$PATH go generate ./plugins/internal/pluginpb
package pluginpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative adapter.proto
