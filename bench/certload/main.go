// Command certload measures certificate issuance under load, with the same settings (workers,
// duration, key type, pre-made CSRs) for every target, so the figures are comparable:
//
//   - hostd: a new device provisioned end to end over HTTP (the challenge, then the CSR with the
//     payload signed by its key), signed by the built-in CA, a wasm PKI bridge (the Go example, or
//     the C one; both have the host sign with a key it holds) or a go-plugin one.
//     Every provisioning is of a device id never used before (a device id that holds a live
//     certificate takes a new key only with that key's proof), so its CSR, which names the id, is
//     made in the worker from a pre-made key: one ECDSA signature more than cfssl's share;
//   - hostd sign-in: a provisioned device signing in with its certificate in a new session;
//   - cfssl: POST /api/v1/cfssl/sign of the same kind of CSR.
//
// With -hostd-pid and -cfssl-pid it reports, beside each throughput, the CPU time the target's
// server spent per operation, read from /proc, and with -db-pid that of hostd's database server.
//
// bench/pki-load.sh starts the daemons and runs it.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/realmgate/realmgate/pki"
)

func main() {
	hostd := flag.String("hostd", "http://127.0.0.1:18280", "hostd URL")
	cfssl := flag.String("cfssl", "http://127.0.0.1:18281", "cfssl serve URL")
	workers := flag.Int("c", 8, "concurrent workers")
	dur := flag.Duration("d", 10*time.Second, "duration of each target")
	only := flag.String("only", "", "run only the targets whose names contain this text, and cfssl's (the ratios are against it)")
	rounds := flag.Int("rounds", 1, "measure the targets in this many interleaved rounds of duration/rounds each, so that a change of machine load weighs on every target alike")
	hostdPID := flag.Int("hostd-pid", 0, "hostd's process id: report the CPU time it spends per operation (Linux /proc)")
	cfsslPID := flag.Int("cfssl-pid", 0, "cfssl serve's process id: report the CPU time it spends per operation (Linux /proc)")
	dbPID := flag.Int("db-pid", 0, "the process id of hostd's database server (PostgreSQL's postmaster): report the CPU time it spends per hostd operation (Linux /proc)")
	flag.Parse()
	if *rounds < 1 {
		*rounds = 1
	}
	servers = map[bool]int{true: *hostdPID, false: *cfsslPID}
	database = *dbPID
	if err := run(*hostd, *cfssl, *workers, *dur, *only, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "certload:", err)
		os.Exit(1)
	}
}

// identity is a pre-made device key and CSR: key generation is the client's, not the server's.
type identity struct {
	id  string
	key *ecdsa.PrivateKey
	csr []byte
}

var counter atomic.Int64

func newIdentity() identity {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := fmt.Sprintf("load-%d-%d", os.Getpid(), counter.Add(1))
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: id}}, key)
	return identity{id: id, key: key, csr: csr}
}

// renamed is the identity's key under a device id never used before, with its CSR.
func (id identity) renamed() (identity, error) {
	name := fmt.Sprintf("load-%d-%d", os.Getpid(), counter.Add(1))
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, id.key)
	if err != nil {
		return identity{}, err
	}
	return identity{id: name, key: id.key, csr: csr}, nil
}

// pool hands out pre-made identities round robin (CFSSL signs a CSR again; hostd provisioning
// renames them).
type pool struct {
	ids  []identity
	next atomic.Int64
}

func newPool(n int) *pool {
	p := &pool{ids: make([]identity, n)}
	for i := range p.ids {
		p.ids[i] = newIdentity()
	}
	return p
}

func (p *pool) get() identity { return p.ids[int(p.next.Add(1))%len(p.ids)] }

type target struct {
	name string
	op   func(c *http.Client, id identity) error
}

// servers are the process ids of the daemons measured, by whether the target is hostd's: the
// CPU time a server spends per operation is what the throughput ratio comes from on a machine
// whose cores the load tool shares, and it does not depend on the tool's own work.
var servers map[bool]int

// database is the process id of hostd's database server, when it has one of its own: its CPU
// time per operation is hostd's too.
var database int

// cpuTime returns the CPU time (user and system) process pid and its descendants have used
// (a go-plugin bridge is hostd's child, a database server's backends are its postmaster's),
// from /proc: each process's own time and that of its children it has reaped. Zero when pid is
// zero or /proc cannot be read.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	parent := map[int]int{}
	ticks := map[int]int64{}
	for _, d := range dirs {
		var p int
		if _, err := fmt.Sscan(d.Name(), &p); err != nil {
			continue
		}
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses and may hold spaces:
		// state is the first, ppid the second, utime, stime, cutime and cstime the 12th to
		// 15th (proc(5) fields 4 and 14 to 17).
		i := strings.LastIndex(string(raw), ") ")
		if i < 0 {
			continue
		}
		f := strings.Fields(string(raw[i+2:]))
		if len(f) < 15 {
			continue
		}
		var ppid int
		fmt.Sscan(f[1], &ppid)
		parent[p] = ppid
		for _, v := range f[11:15] {
			var n int64
			fmt.Sscan(v, &n)
			ticks[p] += n
		}
	}
	var total int64
	for p, n := range ticks {
		for q := p; q != 0; q = parent[q] {
			if q == pid {
				total += n
				break
			}
		}
	}
	return time.Duration(total) * time.Second / clockTicks
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's times (100 on every architecture
// Go supports).
const clockTicks = 100

func run(hostd, cfssl string, workers int, dur time.Duration, only string, rounds int) error {
	n := 2000
	fmt.Fprintf(os.Stderr, "making %d P-256 keys and CSRs...\n", n)
	ids := newPool(n)
	app := func(name string) func(*http.Client, identity) error {
		return func(c *http.Client, id identity) error {
			fresh, err := id.renamed()
			if err != nil {
				return err
			}
			_, err = provision(c, hostd, name, fresh)
			return err
		}
	}
	// Devices provisioned once, for the sign-in target.
	signers := make(chan *provisioned, workers*4)
	for range workers * 4 {
		jar, _ := cookiejar.New(nil)
		p, err := provision(&http.Client{Jar: jar}, hostd, "BenchBuiltin", newIdentity())
		if err != nil {
			return fmt.Errorf("preparing sign-ins: %w", err)
		}
		signers <- p
	}
	targets := []target{
		{"cfssl serve /api/v1/cfssl/sign", func(c *http.Client, id identity) error { return cfsslSign(c, cfssl, id) }},
		{"hostd provisioning, built-in CA", app("BenchBuiltin")},
		{"hostd provisioning, wasm bridge", app("BenchWasm")},
		{"hostd provisioning, wasm bridge (C)", app("BenchWasmC")},
		{"hostd provisioning, plugin bridge", app("BenchPlugin")},
		{"hostd sign-in with a certificate", func(c *http.Client, _ identity) error {
			p := <-signers
			defer func() { signers <- p }()
			return signIn(c, hostd, p)
		}},
	}
	results := map[string]float64{}
	count := map[string]float64{}
	failed := map[string]int64{}
	cpu, dbCPU := map[string]time.Duration{}, map[string]time.Duration{}
	for r := range rounds {
		for _, t := range targets {
			if !strings.Contains(t.name, only) && !strings.HasPrefix(t.name, "cfssl") {
				continue
			}
			pid, db := servers[strings.HasPrefix(t.name, "hostd")], 0
			if strings.HasPrefix(t.name, "hostd") {
				db = database
			}
			before, dbBefore := cpuTime(pid), cpuTime(db)
			rate, errs := measure(t, ids, workers, dur/time.Duration(rounds))
			cpu[t.name] += cpuTime(pid) - before
			dbCPU[t.name] += cpuTime(db) - dbBefore
			count[t.name] += rate * (dur / time.Duration(rounds)).Seconds()
			failed[t.name] += errs
			if r == rounds-1 {
				results[t.name] = count[t.name] / dur.Seconds()
				perOp := ""
				if pid != 0 && count[t.name] > 0 {
					perOp = fmt.Sprintf(", server CPU %.3f ms per operation", float64(cpu[t.name].Microseconds())/1000/count[t.name])
					if d := dbCPU[t.name]; d > 0 {
						perOp += fmt.Sprintf(" + database %.3f ms", float64(d.Microseconds())/1000/count[t.name])
					}
				}
				fmt.Printf("%-36s %9.1f per second (%d errors%s)\n", t.name, results[t.name], failed[t.name], perOp)
			}
		}
	}
	if base := results["cfssl serve /api/v1/cfssl/sign"]; base != 0 {
		for _, name := range []string{"hostd provisioning, built-in CA", "hostd provisioning, wasm bridge", "hostd provisioning, wasm bridge (C)", "hostd provisioning, plugin bridge"} {
			if r, ok := results[name]; ok {
				fmt.Printf("%-36s %9.2fx cfssl\n", name, r/base)
			}
		}
	}
	// The bridges against the built-in CA of the same daemon and run: what a bridge costs.
	if builtin := results["hostd provisioning, built-in CA"]; builtin != 0 {
		for _, name := range []string{"hostd provisioning, wasm bridge", "hostd provisioning, wasm bridge (C)", "hostd provisioning, plugin bridge"} {
			if r, ok := results[name]; ok {
				fmt.Printf("%-36s %9.2fx built-in CA\n", name, r/builtin)
			}
		}
	}
	return nil
}

func measure(t target, ids *pool, workers int, dur time.Duration) (float64, int64) {
	var done, errs atomic.Int64
	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 4}
			for time.Now().Before(stop) {
				jar, _ := cookiejar.New(nil)
				c := &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}
				if err := t.op(c, ids.get()); err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintf(os.Stderr, "%s: %v\n", t.name, err)
					}
					continue
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), errs.Load()
}

func cfsslSign(c *http.Client, base string, id identity) error {
	body, _ := json.Marshal(map[string]string{"certificate_request": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: id.csr}))})
	resp, err := c.Post(base+"/api/v1/cfssl/sign", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Success bool `json:"success"`
		Result  struct {
			Certificate string `json:"certificate"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.Success || out.Result.Certificate == "" {
		return fmt.Errorf("cfssl: status %d, %v", resp.StatusCode, err)
	}
	return nil
}

type provisioned struct {
	app   string
	id    identity
	chain []*x509.Certificate
}

func post(c *http.Client, url, app string, body any) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("WL-App-Id", app)
	req.Header.Set("WL-App-Environment", "android")
	req.Header.Set("WL-App-Version", "1.0")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, m, nil
}

// nonce opens a session of app and returns its provisioning realm and nonce.
func nonce(c *http.Client, base, app string) (string, string, error) {
	st, body, err := post(c, base+"/api/v1/apps/"+app+"/android/init", app, map[string]any{})
	if err != nil {
		return "", "", err
	}
	chs, _ := body["challenges"].(map[string]any)
	for realm, ch := range chs {
		if tok, ok := ch.(map[string]any)["token"].(string); ok && st == 401 {
			return realm, tok, nil
		}
	}
	return "", "", fmt.Errorf("init: status %d %v", st, body)
}

func payload(p identity, app, token string) pki.Payload {
	return pki.Payload{Token: token, Device: pki.DeviceInfo{ID: p.id, OS: "load"}, App: pki.AppInfo{ID: app, Environment: "android", Version: "1.0"}}
}

func provision(c *http.Client, base, app string, id identity) (*provisioned, error) {
	realm, tok, err := nonce(c, base, app)
	if err != nil {
		return nil, err
	}
	jws, err := pki.SignJWK(id.key, payload(id, app, tok))
	if err != nil {
		return nil, err
	}
	st, body, err := post(c, base+"/api/v1/auth/"+realm, app, map[string]any{"csr": base64.StdEncoding.EncodeToString(id.csr), "payload": jws})
	if err != nil {
		return nil, err
	}
	if st != 200 || body["status"] != "provisioned" {
		return nil, fmt.Errorf("provisioning: status %d %v", st, body)
	}
	p := &provisioned{app: app, id: id}
	certs := []any{body["certificate"]}
	if chain, ok := body["chain"].([]any); ok {
		certs = append(certs, chain...)
	}
	for _, enc := range certs {
		der, _ := base64.StdEncoding.DecodeString(enc.(string))
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, errors.New("provisioning: the certificate does not parse")
		}
		p.chain = append(p.chain, cert)
	}
	return p, nil
}

func signIn(c *http.Client, base string, p *provisioned) error {
	realm, tok, err := nonce(c, base, p.app)
	if err != nil {
		return err
	}
	jws, err := pki.SignX5C(p.id.key, p.chain, payload(p.id, p.app, tok))
	if err != nil {
		return err
	}
	st, body, err := post(c, base+"/api/v1/auth/"+realm, p.app, map[string]any{"payload": jws})
	if err != nil {
		return err
	}
	if st != 200 || body["status"] != "success" {
		return fmt.Errorf("sign-in: status %d %v", st, body)
	}
	return nil
}
