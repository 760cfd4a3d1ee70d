package jsapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsTableAgrees checks that the table of docs/adapters.md says of each API what Table
// says: every supported API is named in the row of supported ones, and no refused API of the
// WL.Server and WL.Logger names is; so a change of status changes the page too.
func TestDocsTableAgrees(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "adapters.md"))
	if err != nil {
		t.Fatal(err)
	}
	var supported string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "| supported |") {
			supported = line
		}
	}
	if supported == "" {
		t.Fatal(`docs/adapters.md has no "| supported |" row`)
	}
	for _, s := range Table() {
		if strings.Contains(s.API, " ") || s.API == FamilyJava {
			continue // families are described in words
		}
		short := "`" + s.API[strings.LastIndex(s.API, ".")+1:] + "`"
		named := strings.Contains(supported, "`"+s.API+"`") || strings.Contains(supported, short)
		if s.Status == Supported && !named {
			t.Errorf("docs/adapters.md does not list %s among the supported APIs", s.API)
		}
		if s.Status == Refused && named {
			t.Errorf("docs/adapters.md lists %s among the supported APIs, but it is refused", s.API)
		}
	}
}
