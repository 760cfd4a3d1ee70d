package policies

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/realmgate/realmgate/project"
)

// FuzzCompileRego writes the input as a project's authenticationConfig.xml: a project that loads
// compiles to Rego that OPA formats as it is and prepares, with a package for each security test.
// (project.FuzzLoadAuthConfig checks the loading itself.)
func FuzzCompileRego(f *testing.F) {
	f.Add([]byte(authConfig(`
	<securityTests>
		<mobileSecurityTest name="mobileTests">
			<testAppAuthenticity/>
			<testDeviceId provisioningType="auto" />
			<testUser realm="form" />
			<testDirectUpdate mode="perSession" />
		</mobileSecurityTest>
		<webSecurityTest name="webTests"><testUser realm="form"/></webSecurityTest>
		<customSecurityTest name="Prüfung &quot;x&quot;">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="wl_anonymousUserRealm" isInternalUserID="true" step="3"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="form" loginModule="m"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="m"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
	</loginModules>
`)))
	// The example projects and, when present, the real projects beside the repository.
	for _, pattern := range []string{
		filepath.Join(exampleProject("*"), "server", "conf", "authenticationConfig.xml"),
		filepath.Join(corpusDir, "*", "server", "conf", "authenticationConfig.xml"),
	} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		conf := filepath.Join(dir, filepath.FromSlash(project.AuthConfigPath))
		if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(conf, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := project.Load(dir, project.LoadOptions{})
		if err != nil {
			return
		}
		mods, err := CompileRego(p)
		if err != nil {
			t.Fatalf("a project that loads does not compile: %v", err)
		}
		if len(mods) < 3+len(p.TestOrder) {
			t.Fatalf("%d modules for %d tests", len(mods), len(p.TestOrder))
		}
		checkFormatted(t, mods)
		if _, err := NewEvaluator(context.Background(), mods); err != nil {
			t.Fatalf("compiled Rego does not prepare: %v", err)
		}
	})
}
