// Command example is a resource server whose endpoints need Realmgate access tokens, validated
// offline against the issuer's JWKS:
//
//	go run ./resource/example --jwks http://127.0.0.1:10080/oauth/jwks --issuer http://127.0.0.1:10080 --listen 127.0.0.1:10081
//
// With --allow-origin, the pages of that origin may call the endpoints from a browser (the demo
// web app of examples/web).
//
// GET /accounts needs a token of scope mobileTests, GET /statements one of scope webTests; both
// answer the token's client as JSON. GET /healthz needs nothing. With hostd running the banking
// example, a client gets a token with POST /oauth/token and calls
//
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:10081/accounts
//
// Without a token, or with one of another scope, the answer's WWW-Authenticate header names the
// scope to ask hostd for.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/realmgate/realmgate/resource"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run serves until ctx ends; it prints "listening on http://ADDR" once it accepts connections.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jwks := fs.String("jwks", "http://127.0.0.1:10080/oauth/jwks", "the issuer's JWKS URL")
	keyFile := fs.String("key-file", "", "a file of PEM public keys or a JWKS, instead of --jwks")
	issuer := fs.String("issuer", "http://127.0.0.1:10080", "the iss of the tokens (hostd: its base URL)")
	listen := fs.String("listen", "127.0.0.1:10081", "address to listen on")
	allowOrigin := fs.String("allow-origin", "", "a web app's origin (http://host:port) that may call the endpoints from a browser (CORS); none by default")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := resource.Config{Issuer: *issuer}
	if *keyFile != "" {
		cfg.KeyFile = *keyFile
	} else {
		cfg.JWKSURL = *jwks
	}
	v, err := resource.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	// The issuer may start after us: tokens are checked once its keys can be fetched.
	if err := v.Refresh(ctx); err != nil {
		log.Warn("keys not loaded yet", "err", err)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	h := handler(v, log)
	if *allowOrigin != "" {
		h = allowBrowser(*allowOrigin, h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 32 << 10}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// handler routes the example's endpoints.
func handler(v *resource.Validator, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /accounts", v.Require("mobileTests")(answer("accounts", log)))
	mux.Handle("GET /statements", v.Require("webTests")(answer("statements", log)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

// allowBrowser lets pages of origin call h from a browser (CORS): the preflight of a GET with
// an Authorization header is answered, and a page may read WWW-Authenticate, which names the
// scope of the token to obtain (the JavaScript client's callResource reads it).
func allowBrowser(origin string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != origin {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Vary", "Origin")
		w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Set("Access-Control-Allow-Methods", "GET")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// answer replies {"resource": name, "client": the token's client}. It logs the token id, never
// the token.
func answer(name string, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := resource.ClientFromContext(r.Context())
		log.Info("served", "resource", name, "app", c.ApplicationID, "user", c.UserID, "jti", c.TokenID)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			Resource string           `json:"resource"`
			Client   *resource.Client `json:"client"`
		}{name, c})
	})
}
