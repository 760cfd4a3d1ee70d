package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Keystore keeps the key pairs and certificate chains the client obtains: one credential per
// entity. Entities are named "device", "application:<app>", "group:<name>" (what a provisioning
// realm certifies) and "user:<realm>" (a user certificate of that realm). The handlers of the
// provisioning and user-certificate realms load, store and drop credentials themselves.
//
// DirKeystore keeps them in files, MemoryKeystore in memory. An implementation of its own (the
// platform's secure storage, say) must be safe for concurrent use: clients of several
// applications may share one keystore, as a group of applications shares one certificate.
type Keystore interface {
	// Load returns the entity's credential. It returns an error matching ErrNoCredential when
	// there is none and ErrKeystoreDamaged when what is stored cannot be used (the handlers then
	// obtain a new credential in its place).
	Load(entity string) (*Credential, error)
	// Store saves c for the entity, replacing any earlier credential as one atomic change.
	Store(entity string, c *Credential) error
	// Delete forgets the entity's credential; forgetting a missing one is not an error.
	Delete(entity string) error
}

// Credential is a private key and the certificate chain issued for it, leaf first. It prints
// without the key, so logging one does not leak it.
type Credential struct {
	// Key is an *ecdsa.PrivateKey on P-256 (the keys the client makes) or an *rsa.PrivateKey of
	// at least 2048 bits.
	Key crypto.Signer
	// Chain is the certificate for Key first, then its issuers.
	Chain []*x509.Certificate
}

// Leaf returns the credential's own certificate (nil for an empty chain).
func (c *Credential) Leaf() *x509.Certificate {
	if c == nil || len(c.Chain) == 0 {
		return nil
	}
	return c.Chain[0]
}

// String describes the leaf certificate; the key is never shown. (Value receivers, so that a
// Credential printed by value is redacted too.)
func (c Credential) String() string {
	leaf := c.Leaf()
	if leaf == nil {
		return "{no certificate, key [redacted]}"
	}
	return fmt.Sprintf("{%s serial %x until %s, key [redacted]}", leaf.Subject, leaf.SerialNumber,
		leaf.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))
}

// GoString is String, for %#v.
func (c Credential) GoString() string { return "client.Credential" + c.String() }

// Sentinels of keystores.
var (
	// ErrNoCredential: the keystore holds nothing for the entity.
	ErrNoCredential = errors.New("no credential stored")
	// ErrKeystoreDamaged: what the keystore holds for the entity cannot be used (it does not
	// parse, its key does not match its certificate, it names another entity, or its file may
	// be read by other users).
	ErrKeystoreDamaged = errors.New("stored credential unusable")
	// ErrInvalidEntity: an entity name that is empty, too long or not valid UTF-8.
	ErrInvalidEntity = errors.New("invalid entity name")
)

// Bounds of stored credentials.
const (
	maxCredentialBytes = 64 << 10 // one encoded credential
	maxChainCerts      = 5        // certificates in a chain, leaf included
	maxCertBytes       = 8 << 10  // DER of one certificate
	maxEntityLen       = 200      // bytes of an entity name
)

// Entity names.
const (
	EntityDevice            = "device"
	entityApplicationPrefix = "application:"
	entityGroupPrefix       = "group:"
	entityUserPrefix        = "user:"
)

func checkEntity(entity string) error {
	if entity == "" || len(entity) > maxEntityLen || !validUTF8NoControls(entity) {
		return fmt.Errorf("%w %q", ErrInvalidEntity, truncate(entity, 64))
	}
	return nil
}

func validUTF8NoControls(s string) bool {
	return sanitize(s, len(s)+1) == s
}

// credentialFile is the stored form of a credential, in a DirKeystore file and in a
// MemoryKeystore alike: the entity it belongs to, the PKCS#8 private key PEM and the chain PEM.
type credentialFile struct {
	Version    int    `json:"version"`
	Entity     string `json:"entity"`
	PrivateKey string `json:"privateKey"`
	Chain      string `json:"certificateChain"`
}

const credentialVersion = 1

// encodeCredential checks c and encodes it for entity.
func encodeCredential(entity string, c *Credential) ([]byte, error) {
	if err := checkEntity(entity); err != nil {
		return nil, err
	}
	if err := checkCredential(c); err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, fmt.Errorf("realmgate: keystore: encoding the private key: %w", err)
	}
	var chain strings.Builder
	for _, cert := range c.Chain {
		chain.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	}
	f := credentialFile{
		Version:    credentialVersion,
		Entity:     entity,
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
		Chain:      chain.String(),
	}
	return json.MarshalIndent(f, "", "  ")
}

// checkCredential accepts a credential the handlers can sign with: a key of the accepted kinds,
// one to maxChainCerts certificates, the leaf certifying the key.
func checkCredential(c *Credential) error {
	if c == nil || c.Key == nil {
		return fmt.Errorf("realmgate: keystore: a credential needs a key")
	}
	if err := checkSigningKey(c.Key); err != nil {
		return fmt.Errorf("realmgate: keystore: %w", err)
	}
	if len(c.Chain) == 0 || len(c.Chain) > maxChainCerts {
		return fmt.Errorf("realmgate: keystore: a credential needs 1 to %d certificates, not %d", maxChainCerts, len(c.Chain))
	}
	for i, cert := range c.Chain {
		if cert == nil || len(cert.Raw) == 0 || len(cert.Raw) > maxCertBytes {
			return fmt.Errorf("realmgate: keystore: certificate %d is missing or over %d bytes", i, maxCertBytes)
		}
	}
	if !samePublicKey(c.Chain[0].PublicKey, c.Key.Public()) {
		return fmt.Errorf("realmgate: keystore: the leaf certificate is not for the credential's key")
	}
	return nil
}

// checkSigningKey accepts what the signed payloads may use: ECDSA P-256 (ES256) or RSA of 2048
// bits or more (RS256).
func checkSigningKey(key crypto.Signer) error {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("an ECDSA key must be on P-256")
		}
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("an RSA key must have at least 2048 bits")
		}
	default:
		return fmt.Errorf("a %T key cannot sign payloads; use ECDSA P-256", key)
	}
	return nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && b != nil && k.Equal(b)
}

// decodeCredential parses a stored credential and checks that it belongs to entity. Every
// failure matches ErrKeystoreDamaged.
func decodeCredential(entity string, b []byte) (*Credential, error) {
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("realmgate: keystore: %s: %w: %s", entity, ErrKeystoreDamaged, fmt.Sprintf(format, args...))
	}
	if len(b) > maxCredentialBytes {
		return nil, damaged("over %d bytes", maxCredentialBytes)
	}
	var f credentialFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, damaged("not a credential object: %v", err)
	}
	if f.Version != credentialVersion {
		return nil, damaged("version %d (this client reads %d)", f.Version, credentialVersion)
	}
	if f.Entity != entity {
		return nil, damaged("it holds the credential of %q", truncate(f.Entity, 64))
	}
	block, rest := pem.Decode([]byte(f.PrivateKey))
	if block == nil || block.Type != "PRIVATE KEY" || strings.TrimSpace(string(rest)) != "" {
		return nil, damaged("privateKey is not one PKCS#8 PEM block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, damaged("privateKey: %v", err)
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, damaged("privateKey is a %T", parsed)
	}
	c := &Credential{Key: key}
	data := []byte(f.Chain)
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(c.Chain) == maxChainCerts {
			return nil, damaged("certificateChain holds a %s block or more than %d certificates", truncate(block.Type, 32), maxChainCerts)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, damaged("certificate %d: %v", len(c.Chain), err)
		}
		c.Chain = append(c.Chain, cert)
	}
	if strings.TrimSpace(string(data)) != "" {
		return nil, damaged("certificateChain has data that is not PEM")
	}
	if err := checkCredential(c); err != nil {
		return nil, damaged("%v", err)
	}
	return c, nil
}

// DirKeystore keeps each credential in its own file <dir>/<entity>.json (mode 0600, in a
// directory it creates with mode 0700), written atomically: a crash leaves the old file or the
// new one, never a mix. Characters of the entity other than ASCII letters, digits, '-' and '_'
// (and a '.' that does not start the name) are written as %XX, so "user:Realm" is
// "user%3ARealm.json". Each file also records its entity, so two names that a case-insensitive
// file system confuses are told apart (the second then counts as damaged and is replaced).
//
// A file that users other than its owner may read or write is refused (ErrKeystoreDamaged) on
// systems with Unix permissions.
type DirKeystore string

// Load reads the entity's file.
func (d DirKeystore) Load(entity string) (*Credential, error) {
	path, err := d.path(entity)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("realmgate: keystore: %s: %w", entity, ErrNoCredential)
	}
	if err != nil {
		return nil, fmt.Errorf("realmgate: keystore: %w", err)
	}
	defer f.Close()
	if runtime.GOOS != "windows" && runtime.GOOS != "plan9" {
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("realmgate: keystore: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("realmgate: keystore: %s: %w: %s has mode %v; only its owner may use it (chmod 600)",
				entity, ErrKeystoreDamaged, path, st.Mode().Perm())
		}
	}
	b, over, err := readPrefix(f, maxCredentialBytes)
	if err != nil {
		return nil, fmt.Errorf("realmgate: keystore: %w", err)
	}
	if over {
		return nil, fmt.Errorf("realmgate: keystore: %s: %w: over %d bytes", entity, ErrKeystoreDamaged, maxCredentialBytes)
	}
	return decodeCredential(entity, b)
}

// Store writes the entity's file through a temporary file renamed over it.
func (d DirKeystore) Store(entity string, c *Credential) error {
	path, err := d.path(entity)
	if err != nil {
		return err
	}
	b, err := encodeCredential(entity, c)
	if err != nil {
		return err
	}
	dir := string(d)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("realmgate: keystore: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("realmgate: keystore: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("realmgate: keystore: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("realmgate: keystore: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("realmgate: keystore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("realmgate: keystore: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("realmgate: keystore: %w", err)
	}
	done = true
	syncDir(dir)
	return nil
}

// Delete removes the entity's file.
func (d DirKeystore) Delete(entity string) error {
	path, err := d.path(entity)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("realmgate: keystore: %w", err)
	}
	syncDir(string(d))
	return nil
}

func (d DirKeystore) path(entity string) (string, error) {
	if d == "" {
		return "", fmt.Errorf("realmgate: keystore: no directory")
	}
	if err := checkEntity(entity); err != nil {
		return "", fmt.Errorf("realmgate: keystore: %w", err)
	}
	return filepath.Join(string(d), entityFileName(entity)), nil
}

// entityFileName is the name of the file a DirKeystore keeps the entity's credential in.
func entityFileName(entity string) string {
	var b strings.Builder
	for i := 0; i < len(entity); i++ {
		c := entity[i]
		if isAlnum(c) || c == '-' || c == '_' || c == '.' && i > 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	b.WriteString(".json")
	return b.String()
}

// syncDir makes a rename or removal in dir durable where the system allows it.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		f.Close()
	}
}

// MemoryKeystore keeps credentials in memory, encoded as a DirKeystore encodes them (so they
// round-trip the same way): for tests, and for applications that must not keep keys on disk.
// The zero value is ready to use.
type MemoryKeystore struct {
	mu      sync.Mutex
	entries map[string][]byte
}

// Load returns a copy of the entity's credential.
func (m *MemoryKeystore) Load(entity string) (*Credential, error) {
	if err := checkEntity(entity); err != nil {
		return nil, fmt.Errorf("realmgate: keystore: %w", err)
	}
	m.mu.Lock()
	b, ok := m.entries[entity]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("realmgate: keystore: %s: %w", entity, ErrNoCredential)
	}
	return decodeCredential(entity, b)
}

// Store saves a copy of c.
func (m *MemoryKeystore) Store(entity string, c *Credential) error {
	b, err := encodeCredential(entity, c)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil {
		m.entries = map[string][]byte{}
	}
	m.entries[entity] = b
	return nil
}

// Delete forgets the entity's credential.
func (m *MemoryKeystore) Delete(entity string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, entity)
	return nil
}

// Entities lists the entities holding a credential, sorted.
func (m *MemoryKeystore) Entities() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.entries))
	for e := range m.entries {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// Compile-time interface guards.
var (
	_ Keystore = DirKeystore("")
	_ Keystore = (*MemoryKeystore)(nil)
)
