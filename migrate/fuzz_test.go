package migrate

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzMigrate feeds arbitrary adapter, application and authentication documents to the upgrade:
// it never panics, what it writes still parses, and a second run changes nothing.
func FuzzMigrate(f *testing.F) {
	f.Add([]byte(`<loginConfiguration><realms/><loginModules><loginModule name="M" canBeResourceLogin="true"/></loginModules></loginConfiguration>`),
		[]byte(`<adapter name="A" requiresAuthentication="true"><procedure name="p" authenticationRealm="R"/></adapter>`),
		[]byte(`<application id="S"><usage requireAuthentication="onStartup"><realm name="R"/></usage><android/><mobilewebapp/></application>`))
	f.Add([]byte("<c:x xmlns:c='u'>\r\n\t<c:securityTests/>\r\n</c:x>"),
		[]byte(`<adapter><procedure name='p' authenticationRealm='a&amp;"b'></procedure></adapter>`),
		[]byte(`<nativeIOSApp id="N"><x><usage requireAuthentication="onStartup"/></x></nativeIOSApp>`))
	f.Fuzz(func(t *testing.T, auth, adapter, app []byte) {
		dir := t.TempDir()
		for rel, b := range map[string][]byte{
			authConfigRel:                       auth,
			"adapters/A/A.xml":                  adapter,
			"apps/S/application-descriptor.xml": app,
		} {
			p := filepath.Join(dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		plan, err := Make(dir)
		if err != nil {
			return
		}
		for _, file := range plan.Files {
			if _, err := parse(file.New); err != nil {
				t.Fatalf("%s no longer parses: %v\n%s", file.Rel, err, file.New)
			}
		}
		if err := Apply(dir, plan); err != nil {
			t.Fatal(err)
		}
		again, err := Make(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Files) != 0 {
			t.Fatalf("second run changes:\n%s", again.Unified())
		}
	})
}
