package htpasswd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The constants are bcrypt's.
func TestCostsAreBcrypts(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"MinCost", MinCost, bcrypt.MinCost},
		{"MaxCost", MaxCost, bcrypt.MaxCost},
		{"DefaultCost", DefaultCost, bcrypt.DefaultCost},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, bcrypt's is %d", c.name, c.got, c.want)
		}
	}
}

// costHash returns a bcrypt hash of "pw" at cost, memoized (a cost-10 hash takes a while).
func costHash(t testing.TB, cost int) string {
	t.Helper()
	if h, ok := costHashes[cost]; ok {
		return h
	}
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
	if err != nil {
		t.Fatal(err)
	}
	costHashes[cost] = string(h)
	return string(h)
}

var costHashes = map[int]string{}

// TestCost: Cost says what bcrypt.Cost says, on real hashes and on near misses of each check.
func TestCost(t *testing.T) {
	h5 := costHash(t, 5)
	cases := []string{
		h5,
		costHash(t, 4),
		strings.Replace(h5, "$2a$", "$2y$", 1),
		strings.Replace(h5, "$2a$", "$2b$", 1),
		strings.Replace(h5, "$2a$", "$2$", 1) + "x",
		strings.Replace(h5, "$2a$", "$3a$", 1),
		strings.Replace(h5, "$2a$", "$1a$", 1),
		strings.Replace(h5, "$2a$", "x2a$", 1),
		strings.Replace(h5, "$2a$05$", "$2a$+5$", 1),
		strings.Replace(h5, "$2a$05$", "$2a$-5$", 1),
		strings.Replace(h5, "$2a$05$", "$2a$03$", 1),
		strings.Replace(h5, "$2a$05$", "$2a$31$", 1),
		strings.Replace(h5, "$2a$05$", "$2a$32$", 1),
		strings.Replace(h5, "$2a$05$", "$2a$5x$", 1),
		strings.Replace(h5, "$2a$05$", "$2a$ 5$", 1),
		h5[:len(h5)-1],
		h5[:minHashSize],
		"",
		"$",
		"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
		"$apr1$salt$ZXhhbXBsZWV4YW1wbGVleGFtcGxl",
	}
	for _, h := range cases {
		got, gotErr := Cost([]byte(h))
		want, wantErr := bcrypt.Cost([]byte(h))
		if (gotErr == nil) != (wantErr == nil) || got != want {
			t.Errorf("Cost(%q) = %d, %v; bcrypt.Cost says %d, %v", h, got, gotErr, want, wantErr)
		}
	}
}

// FuzzCost holds Cost to bcrypt.Cost: the same cost for every hash bcrypt reads, an error for
// every value it refuses.
func FuzzCost(f *testing.F) {
	for _, c := range []int{4, 5} {
		f.Add([]byte(costHash(f, c)))
	}
	f.Add([]byte("$2y$+5$" + strings.Repeat("a", 53)))
	f.Add([]byte("$0$10$" + strings.Repeat("a", 53)))
	f.Fuzz(func(t *testing.T, h []byte) {
		got, gotErr := Cost(h)
		want, wantErr := bcrypt.Cost(h)
		if (gotErr == nil) != (wantErr == nil) || got != want {
			t.Fatalf("Cost(%q) = %d, %v; bcrypt.Cost says %d, %v", h, got, gotErr, want, wantErr)
		}
	})
}

// TestReadFile: the users a password file holds check against their passwords, comments are
// skipped, and a file over the size bound, a line without a hash or with another hash scheme
// are refused with the file and line.
func TestReadFile(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	users, err := ReadFile(write("users", "alice:"+string(hash)+"\n# bob:x\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Fatalf("users = %q, want only alice", users)
	}
	if err := bcrypt.CompareHashAndPassword(users["alice"], []byte("s3cret")); err != nil {
		t.Errorf("alice's hash does not match her password: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword(users["alice"], []byte("S3cret")); err == nil {
		t.Error("alice's hash matches a wrong password")
	}
	for _, tc := range []struct {
		name, content, want string
	}{
		{"big", strings.Repeat("\n", MaxFileBytes+1), "is larger than 4194304 bytes"},
		{"nohash", "alice\n", "nohash:1: expected user:bcrypt-hash"},
		{"nouser", "# users\n:" + string(hash) + "\n", "nouser:2: expected user:bcrypt-hash"},
		{"md5", "alice:" + string(hash) + "\nbob:$apr1$salt$ZXhhbXBsZWV4YW1wbGVleGFtcGxl\n", `md5:2: user "bob" does not have a bcrypt hash`},
	} {
		if _, err := ReadFile(write(tc.name, tc.content)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ReadFile error = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "nosuch")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: ReadFile error = %v, want one wrapping fs.ErrNotExist", err)
	}
}

func TestCommonCost(t *testing.T) {
	cases := []struct {
		costs []int
		want  int
	}{
		{nil, DefaultCost},
		{[]int{5}, 5},
		{[]int{5, 5, 4}, 5},
		{[]int{4, 5}, 5}, // a tie goes to the dearer cost
		{[]int{12, 4, 4}, 4},
	}
	for _, tc := range cases {
		users := map[string][]byte{}
		for i, c := range tc.costs {
			users[fmt.Sprint("u", i)] = []byte(costHash(t, c))
		}
		if got := CommonCost(users); got != tc.want {
			t.Errorf("CommonCost(%v) = %d, want %d", tc.costs, got, tc.want)
		}
	}
}
