package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/realmgate/realmgate/client"
)

// flowResult is one simulated device's provisioning (or user-certificate enrollment), login and
// token through the balancer.
type flowResult struct {
	device, serial string
	enroll         bool // a user-certificate enrollment, not a device provisioning
	ok             bool
	err            error
	end            time.Time
}

// runFlows runs workers simulated devices through provisioning, login and a token until stop
// is closed, each device new, and returns every outcome.
func runFlows(t *testing.T, l *clusterLab, workers int, prefix string, stop <-chan struct{}) []flowResult {
	t.Helper()
	var mu sync.Mutex
	var out []flowResult
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%d-%d", prefix, w, n.Add(1))
				ks := &client.MemoryKeystore{}
				// Odd workers enroll user certificates, even ones provision devices.
				r := flowResult{device: id, enroll: w%2 == 1}
				env, entity := "android", "application:Bank"
				if r.enroll {
					env, entity = "iphone", client.UserEntity("CertRealm")
				}
				c := l.client(t, env, ks, id)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				_, r.err = c.Init(ctx)
				if r.err == nil {
					_, r.err = c.ObtainAccessToken(ctx, map[bool]string{false: "bankTest", true: "certTest"}[r.enroll])
				}
				cancel()
				if cred, err := ks.Load(entity); err == nil {
					r.serial = hex.EncodeToString(cred.Leaf().SerialNumber.Bytes())
				}
				r.ok, r.end = r.err == nil, time.Now()
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

// checkRecords asserts that every user certificate a client saw enrolled is in the database, that
// every provisioning a client saw succeed is in the database whole
// (the device record naming its live certificate, the certificate naming the device), and that
// the database holds no half-written provisioning: no device naming a certificate that is not
// there, no device certificate without its device.
func checkRecords(t *testing.T, l *clusterLab, results []flowResult) (devices, certs int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	byDevice := map[string]string{} // device id -> certificate serial
	rows, err := conn.Query(ctx, `SELECT convert_from(id, 'UTF8'), convert_from(certificate_serial, 'UTF8') FROM devices`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, serial string
		if err := rows.Scan(&id, &serial); err != nil {
			t.Fatal(err)
		}
		byDevice[id] = serial
	}
	rows.Close()
	owners := map[string]string{} // serial -> owner
	users := map[string]bool{}    // serials of user certificates
	rows, err = conn.Query(ctx, `SELECT convert_from(serial, 'UTF8') FROM certificates WHERE convert_from(entity, 'UTF8') LIKE 'user:%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var serial string
		if err := rows.Scan(&serial); err != nil {
			t.Fatal(err)
		}
		users[serial] = true
	}
	rows.Close()
	rows, err = conn.Query(ctx, `SELECT convert_from(serial, 'UTF8'), convert_from(owner, 'UTF8') FROM certificates WHERE convert_from(entity, 'UTF8') NOT LIKE 'user:%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var serial, owner string
		if err := rows.Scan(&serial, &owner); err != nil {
			t.Fatal(err)
		}
		owners[serial] = owner
	}
	rows.Close()
	for id, serial := range byDevice {
		if serial != "" && owners[serial] != id {
			t.Errorf("half-written: device %s names certificate %s, which is not its own in the database", id, serial)
		}
	}
	for serial, owner := range owners {
		if byDevice[owner] != serial {
			t.Errorf("half-written: certificate %s of %s has no device record naming it", serial, owner)
		}
	}
	for _, r := range results {
		if r.enroll {
			if r.ok && !users[r.serial] {
				t.Errorf("lost: user certificate %s was enrolled (client %s) but is not in the database", r.serial, r.device)
			}
			continue
		}
		if r.ok && (r.serial == "" || byDevice[r.device] != r.serial) {
			t.Errorf("lost: device %s was provisioned (certificate %s) but the database has %q", r.device, r.serial, byDevice[r.device])
		}
	}
	return len(byDevice), len(owners) + len(users)
}

func summarize(results []flowResult) (ok, failed int, first, last time.Time) {
	for _, r := range results {
		if r.ok {
			ok++
			continue
		}
		failed++
		if first.IsZero() || r.end.Before(first) {
			first = r.end
		}
		if r.end.After(last) {
			last = r.end
		}
	}
	return
}

// TestClusterFaults drives simulated devices through provisioning, login and tokens through the
// balancer while (1) one daemon is killed with SIGKILL: nothing a client saw succeed is lost, no
// provisioning is half-written, failures stop once the balancer has taken the daemon out, and the
// other daemon serves on; (2) PostgreSQL is stopped: the daemons answer 503 with a message that
// says the store is unavailable, and serve again when it is back, without a restart.
func TestClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, HAProxy and two hostd processes")
	}
	l := newClusterLab(t)

	t.Run("kill -9 of a daemon", func(t *testing.T) {
		stop := make(chan struct{})
		var results []flowResult
		done := make(chan struct{})
		go func() { results = runFlows(t, l, 4, "kill", stop); close(done) }()
		time.Sleep(3 * time.Second)
		killed := time.Now()
		if err := l.daemons[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-l.daemons[0].exited
		time.Sleep(5 * time.Second)
		close(stop)
		<-done
		ok, failed, first, last := summarize(results)
		devices, certs := checkRecords(t, l, results)
		t.Logf("kill -9: %d flows ok, %d failed%s; %d devices and %d certificates in the database, 0 lost, 0 half-written",
			ok, failed, window(first, last, killed), devices, certs)
		if failed > 0 && (first.Before(killed) || last.After(killed.Add(3*time.Second))) {
			for _, r := range results {
				if !r.ok {
					t.Logf("failed at %v: %v", r.end.Sub(killed).Round(time.Millisecond), r.err)
				}
			}
			t.Errorf("failures outside the fault window (the kill, and 3s for the balancer's health check)")
		}
		var after int
		for _, r := range results {
			if r.ok && r.end.After(killed.Add(3*time.Second)) {
				after++
			}
		}
		if after == 0 {
			t.Error("nothing succeeded after the kill: the other daemon did not serve on")
		}
	})

	t.Run("PostgreSQL stopped and started", func(t *testing.T) {
		stop := make(chan struct{})
		var results []flowResult
		done := make(chan struct{})
		go func() { results = runFlows(t, l, 4, "pg", stop); close(done) }()
		time.Sleep(2 * time.Second)
		stopped := time.Now()
		if err := l.pg.Stop(); err != nil {
			t.Fatal(err)
		}
		// While it is down: 503, and a message that says so.
		d := l.daemons[1]
		req, _ := http.NewRequest("POST", "http://"+d.addr+"/api/v1/apps/Bank/android/init", strings.NewReader("{}"))
		req.Header.Set("WL-App-Id", "Bank")
		req.Header.Set("WL-App-Environment", "android")
		req.Header.Set("WL-App-Version", "1.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(b), `"unavailable"`) {
			t.Errorf("a request while the database is down: %d %s, want 503 unavailable", resp.StatusCode, b)
		}
		if resp, err := http.Get("http://" + d.addr + "/readyz"); err != nil || resp.StatusCode != 503 {
			t.Errorf("/readyz while the database is down: %v %v, want 503", err, resp)
		}
		time.Sleep(2 * time.Second)
		if err := l.pg.Restart(); err != nil {
			t.Fatal(err)
		}
		restarted := time.Now()
		time.Sleep(6 * time.Second)
		close(stop)
		<-done
		ok, failed, first, last := summarize(results)
		devices, certs := checkRecords(t, l, results)
		t.Logf("PostgreSQL down for %v: %d flows ok, %d failed%s; %d devices and %d certificates in the database, 0 lost, 0 half-written",
			restarted.Sub(stopped).Round(time.Millisecond), ok, failed, window(first, last, stopped), devices, certs)
		for _, r := range results {
			if !r.ok && (r.end.Before(stopped) || r.end.After(restarted.Add(4*time.Second)) || !strings.Contains(r.err.Error(), "503")) {
				t.Errorf("a failure outside the outage or not a 503, %v after the stop: %v", r.end.Sub(stopped).Round(time.Millisecond), r.err)
			}
		}
		var after int
		for _, r := range results {
			if r.ok && r.end.After(restarted) {
				after++
			}
		}
		if after == 0 {
			t.Error("nothing succeeded after the database came back: the daemons did not recover")
		}
	})
}

// window describes when failures ended, relative to a fault.
func window(first, last, fault time.Time) string {
	if first.IsZero() {
		return ""
	}
	return fmt.Sprintf(" (ending between %v and %v after the fault)", first.Sub(fault).Round(time.Millisecond), last.Sub(fault).Round(time.Millisecond))
}
