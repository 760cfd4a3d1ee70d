package engine

import (
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The dummy hash an unknown user name is checked against has the cost of the file's hashes.
func TestPasswordFileDummyHashHasTheFilesCost(t *testing.T) {
	for _, costs := range [][]int{{4}, {5, 5, 4}, {6}} {
		users := map[string][]byte{}
		for i, c := range costs {
			h, err := bcrypt.GenerateFromPassword([]byte("pw"), c)
			if err != nil {
				t.Fatal(err)
			}
			users[fmt.Sprint("u", i)] = h
		}
		p := newPasswordFile(users)
		got, err := bcrypt.Cost(p.dummy)
		if err != nil || got != costs[0] {
			t.Errorf("costs %v: dummy hash cost %d (%v), want %d", costs, got, err, costs[0])
		}
		if _, err := p.login(credentials{username: "nobody", password: "pw"}); err != errWrongCredentials {
			t.Errorf("unknown user: %v, want wrong credentials", err)
		}
	}
}
