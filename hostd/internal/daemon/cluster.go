package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/realmgate/realmgate/hostd/internal/keys"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/store"
)

// Records every daemon of a shared store reads (store.Blobs).
const (
	// generationBlob counts the reloads of the project: a reload on one daemon bumps it and the
	// others reload when they see it move.
	generationBlob = "project-generation"
	// caBlob is the provisioning CA's certificate: every daemon must issue with the same CA.
	caBlob = "provisioning-ca"
	// clusterActor audits the reloads a daemon makes because another one reloaded.
	clusterActor = "cluster"
)

// DefaultPollInterval bounds how long a rotation of the token keys or a reload on one daemon
// takes to reach the others of a shared store.
const DefaultPollInterval = 2 * time.Second

// cluster is what a daemon shares with the other daemons of its store. It is nil for a daemon
// alone on its embedded store.
type cluster struct {
	blobs store.Blobs
	every time.Duration

	mu   sync.Mutex
	seen int64 // the project generation this daemon runs
}

// openSharedKeys opens the token key set kept in the shared store, sealed under the key-encryption
// key file of this daemon. The first daemon of a store creates the file; the others need a copy.
func openSharedKeys(ctx context.Context, blobs store.Blobs, keysDir, kekFile, alg string) (*keys.Set, error) {
	if kekFile == "" {
		kekFile = filepath.Join(keysDir, keys.KEKFileName)
	}
	_, _, err := blobs.GetBlob(ctx, keys.BlobName)
	first := errors.Is(err, store.ErrNotFound)
	if err != nil && !first {
		return nil, fmt.Errorf("token signing keys: %w", err)
	}
	// Only the first daemon may make a key-encryption key: another one without the file would
	// otherwise make a key that opens nothing.
	kek, created, err := keys.LoadOrCreateKEK(kekFile, first)
	if err != nil {
		if !first {
			return nil, fmt.Errorf("token signing keys: %w; the store already holds the key set: copy %s from a daemon that serves this store", err, kekFile)
		}
		return nil, fmt.Errorf("token signing keys: %w", err)
	}
	set, _, err := keys.OpenShared(ctx, blobs, kek, alg)
	if err != nil {
		if created {
			os.Remove(kekFile) // another daemon came first with its own key: this one opens nothing
		}
		return nil, fmt.Errorf("token signing keys: %w", err)
	}
	return set, nil
}

// shareCA records the provisioning CA the first daemon of the store issues with, and refuses
// one that differs: two daemons with two CAs would each refuse the devices the other enrolled.
func (c *cluster) shareCA(ctx context.Context, ca *pki.CA, dir string) error {
	for range 4 {
		have, _, err := c.blobs.GetBlob(ctx, caBlob)
		switch {
		case err == nil:
			if !bytes.Equal(have, ca.Cert.Raw) {
				return fmt.Errorf("provisioning CA %s is not the one the other daemons of this store issue with: give every daemon the same caDir (ca.pem and ca-key.pem)", dir)
			}
			return nil
		case errors.Is(err, store.ErrNotFound):
			if _, err := c.blobs.PutBlob(ctx, caBlob, ca.Cert.Raw, 0); err == nil || !errors.Is(err, store.ErrConflict) {
				return err
			}
			// Another daemon recorded its CA first: compare with it.
		default:
			return fmt.Errorf("provisioning CA: %w", err)
		}
	}
	return errors.New("provisioning CA: the shared record keeps changing")
}

// generation returns the project generation in the store (0 before the first reload).
func (c *cluster) generation(ctx context.Context) (int64, error) {
	_, v, err := c.blobs.GetBlob(ctx, generationBlob)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	return v, err
}

// announce bumps the project generation after a reload of this daemon, so that the others
// reload too, and records that this daemon runs it.
func (c *cluster) announce(ctx context.Context, revision string) error {
	body, _ := json.Marshal(map[string]any{"revision": revision, "at": time.Now().UTC()})
	for range 8 {
		v, err := c.generation(ctx)
		if err != nil {
			return err
		}
		nv, err := c.blobs.PutBlob(ctx, generationBlob, body, v)
		if errors.Is(err, store.ErrConflict) {
			continue // another daemon reloaded at the same moment: count ours after it
		}
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.seen = max(c.seen, nv)
		c.mu.Unlock()
		return nil
	}
	return errors.New("the project generation keeps changing")
}

// watchCluster polls the shared store every interval: it adopts a rotation of the token keys
// another daemon made, and reloads the project when another daemon did.
func (d *Daemon) watchCluster() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.cluster.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.pollCluster(ctx)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (d *Daemon) pollCluster(ctx context.Context) {
	if err := d.keys.Refresh(ctx); err != nil {
		d.log.Warn("reading the shared token keys", "err", err)
	}
	v, err := d.cluster.generation(ctx)
	if err != nil {
		d.log.Warn("reading the project generation", "err", err)
		return
	}
	d.cluster.mu.Lock()
	stale := v > d.cluster.seen
	if stale {
		// Seen whatever the reload gives: a project this daemon cannot load is logged once, not
		// retried every interval.
		d.cluster.seen = v
	}
	d.cluster.mu.Unlock()
	if !stale {
		return
	}
	if _, err := d.reload(ctx, clusterActor, false); err != nil {
		d.log.Error("another daemon reloaded the project; this one could not and keeps the project it runs", "err", err, "generation", v)
		return
	}
	d.log.Info("reloaded after another daemon did", "generation", v)
}
