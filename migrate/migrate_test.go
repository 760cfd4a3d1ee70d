package migrate

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// readTree returns the files under dir by slash path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, s := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSampleGolden upgrades testdata/sample/before and compares the project with
// testdata/sample/after, the dry run's diff with testdata/sample/diff.golden, and the backups
// with the originals; a second run changes nothing.
func TestSampleGolden(t *testing.T) {
	before := readTree(t, "testdata/sample/before")
	dir := t.TempDir()
	writeTree(t, dir, before)

	plan, err := Make(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Left) != 0 {
		t.Errorf("left: %q", plan.Left)
	}
	diff := plan.Unified()
	if got := readTree(t, dir); !cmp.Equal(before, got) {
		t.Fatalf("planning changed the project:\n%s", cmp.Diff(before, got))
	}
	if err := Apply(dir, plan); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, dir)
	migrated, backups := map[string]string{}, map[string]string{}
	for rel, s := range got {
		if after, ok := strings.CutPrefix(rel, BackupDir+"/"); ok {
			backups[after] = s
		} else {
			migrated[rel] = s
		}
	}
	if *update {
		os.RemoveAll("testdata/sample/after")
		writeTree(t, "testdata/sample/after", migrated)
		if err := os.WriteFile("testdata/sample/diff.golden", []byte(diff), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff(readTree(t, "testdata/sample/after"), migrated); d != "" {
		t.Errorf("migrated project (-want +got):\n%s", d)
	}
	wantDiff, err := os.ReadFile("testdata/sample/diff.golden")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(wantDiff), diff); d != "" {
		t.Errorf("dry-run diff (-want +got):\n%s", d)
	}
	wantBackups := map[string]string{}
	for _, f := range plan.Files {
		wantBackups[f.Rel] = before[f.Rel]
	}
	if len(wantBackups) != 3 {
		t.Errorf("changed files %d, want 3 (auth config, adapter, application)", len(wantBackups))
	}
	if d := cmp.Diff(wantBackups, backups); d != "" {
		t.Errorf("backups (-want +got):\n%s", d)
	}

	again, err := Make(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Files) != 0 || len(again.Left) != 0 {
		t.Errorf("second run changes %d files, left %q:\n%s", len(again.Files), again.Left, again.Unified())
	}
}

func TestCases(t *testing.T) {
	const auth = `<loginConfiguration>
  <realms>
    <realm name="R" loginModule="M"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
  </realms>
  <loginModules>
    <loginModule name="M"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
  </loginModules>
</loginConfiguration>
`
	tests := []struct {
		name     string
		files    map[string]string
		want     map[string]string // changed files, whole
		wantLeft []string
	}{
		{
			name: "a procedure that requires authentication without a realm is left, and so is its adapter's flag",
			files: map[string]string{
				"server/conf/authenticationConfig.xml": auth,
				"adapters/A/A.xml":                     `<adapter name="A" requiresAuthentication="true"><procedure name="p" requiresAuthentication="true"/></adapter>`,
			},
			wantLeft: []string{
				`adapters/A/A.xml: procedure "p" requires authentication without naming a realm: give it securityTest="..." by hand`,
				`adapters/A/A.xml: adapter "A" keeps requiresAuthentication until its procedures have security tests`,
			},
		},
		{
			name: "an adapter flag goes when every procedure has its test; an existing securityTest is kept",
			files: map[string]string{
				"server/conf/authenticationConfig.xml": auth,
				"adapters/A/A.xml": "<adapter name=\"A\" requiresAuthentication=\"true\">\r\n" +
					"  <procedure name='p' authenticationRealm='R'></procedure>\r\n" +
					"  <procedure name=\"q\" securityTest=\"t\" authenticationRealm=\"R\"/>\r\n</adapter>\r\n",
			},
			want: map[string]string{
				"server/conf/authenticationConfig.xml": `<loginConfiguration>
  <securityTests>
    <customSecurityTest name="R-customSecurityTest">
      <test realm="R" isInternalUserID="true"/>
    </customSecurityTest>
  </securityTests>

  <realms>
    <realm name="R" loginModule="M"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
  </realms>
  <loginModules>
    <loginModule name="M"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
  </loginModules>
</loginConfiguration>
`,
				"adapters/A/A.xml": "<adapter name=\"A\">\r\n" +
					"  <procedure name='p' securityTest=\"R-customSecurityTest\"></procedure>\r\n" +
					"  <procedure name=\"q\" securityTest=\"t\" authenticationRealm=\"R\"/>\r\n</adapter>\r\n",
			},
		},
		{
			name: "tests go into an existing <securityTests>; a native application and an environment that never required authentication",
			files: map[string]string{
				"server/conf/authenticationConfig.xml": "<c:loginConfiguration xmlns:c=\"x\">\n\t<c:securityTests>\n\t\t<customSecurityTest name=\"old\"><test realm=\"R\"/></customSecurityTest>\n\t</c:securityTests>\n\t<c:realms/>\n</c:loginConfiguration>\n",
				"apps/N/application-descriptor.xml":    `<nativeAndroidApp id="N"><usage requireAuthentication="onStartup"><realm name="R"/></usage></nativeAndroidApp>`,
				"apps/H/application-descriptor.xml": `<application id="H">
	<usage requireAuthentication="onStartup"><realm name="R"/></usage>
	<desktopbrowser><usage requireAuthentication="never"/></desktopbrowser>
	<mobilewebapp securityTest=""/>
</application>`,
			},
			want: map[string]string{
				"server/conf/authenticationConfig.xml": "<c:loginConfiguration xmlns:c=\"x\">\n\t<c:securityTests>\n\t\t<customSecurityTest name=\"old\"><test realm=\"R\"/></customSecurityTest>\n" +
					"\t\t<webSecurityTest name=\"H-webSecurityTest\">\n\t\t\t<testUser realm=\"R\"/>\n\t\t</webSecurityTest>\n" +
					"\t\t<mobileSecurityTest name=\"N-android-mobileSecurityTest\">\n\t\t\t<testUser realm=\"R\"/>\n\t\t</mobileSecurityTest>\n" +
					"\t</c:securityTests>\n\t<c:realms/>\n</c:loginConfiguration>\n",
				"apps/N/application-descriptor.xml": `<nativeAndroidApp id="N" securityTest="N-android-mobileSecurityTest"></nativeAndroidApp>`,
				"apps/H/application-descriptor.xml": `<application id="H">
	<desktopbrowser></desktopbrowser>
	<mobilewebapp securityTest="H-webSecurityTest"/>
</application>`,
			},
		},
		{
			name: "an environment's own onStartup realm gets a test of its own",
			files: map[string]string{
				"server/conf/authenticationConfig.xml": "<loginConfiguration>\n  <securityTests>\n  </securityTests>\n</loginConfiguration>\n",
				"apps/W/application-descriptor.xml": `<application id="W">
  <usage requireAuthentication="onStartup"><realm name="R"/></usage>
  <desktopbrowser>
    <usage requireAuthentication="onStartup"><realm name="Other"/></usage>
  </desktopbrowser>
  <mobilewebapp/>
</application>`,
			},
			want: map[string]string{
				"server/conf/authenticationConfig.xml": "<loginConfiguration>\n  <securityTests>\n" +
					"    <webSecurityTest name=\"W-desktopbrowser-webSecurityTest\">\n      <testUser realm=\"Other\"/>\n    </webSecurityTest>\n" +
					"    <webSecurityTest name=\"W-webSecurityTest\">\n      <testUser realm=\"R\"/>\n    </webSecurityTest>\n" +
					"  </securityTests>\n</loginConfiguration>\n",
				"apps/W/application-descriptor.xml": `<application id="W">
  <desktopbrowser securityTest="W-desktopbrowser-webSecurityTest">
  </desktopbrowser>
  <mobilewebapp securityTest="W-webSecurityTest"/>
</application>`,
			},
		},
		{
			name: "an application that requires authentication on startup without a realm is left",
			files: map[string]string{
				"server/conf/authenticationConfig.xml": auth,
				"apps/S/application-descriptor.xml":    `<application id="S"><usage requireAuthentication="onStartup"/><android/></application>`,
			},
			wantLeft: []string{`apps/S/application-descriptor.xml: application "S" requires authentication on startup without naming a realm: add <realm name="..."/> to its <usage> and run again`},
		},
		{
			name: "a project already upgraded changes nothing",
			files: map[string]string{
				"server/conf/authenticationConfig.xml": auth,
				"apps/S/application-descriptor.xml":    `<application id="S"><android securityTest="x"/></application>`,
				"adapters/A/A.xml":                     `<adapter name="A"><procedure name="p" securityTest="x"/><procedure name="o" requiresAuthentication="false"/></adapter>`,
			},
		},
		{
			name: "no authentication configuration to hold the tests",
			files: map[string]string{
				"adapters/A/A.xml": `<adapter name="A"><procedure name="p" authenticationRealm="R"/></adapter>`,
			},
			wantLeft: []string{`adapters/A/A.xml: procedure "p" is protected by realm "R", but the project has no server/conf/authenticationConfig.xml to hold its security test`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			plan, err := Make(dir)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range plan.Files {
				got[f.Rel] = string(f.New)
			}
			want := tc.want
			if want == nil {
				want = map[string]string{}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("changed files (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantLeft, plan.Left); d != "" {
				t.Errorf("left (-want +got):\n%s", d)
			}
			if err := Apply(dir, plan); err != nil {
				t.Fatal(err)
			}
			again, err := Make(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Files) != 0 {
				t.Errorf("second run changes:\n%s", again.Unified())
			}
		})
	}
}

func TestApplyKeepsAnEarlierBackup(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"server/conf/authenticationConfig.xml":              `<loginConfiguration><loginModules><loginModule name="M" canBeResourceLogin="true"/></loginModules></loginConfiguration>`,
		BackupDir + "/server/conf/authenticationConfig.xml": "earlier original",
	})
	plan, err := Make(dir)
	if err != nil {
		t.Fatal(err)
	}
	var be *BackupExistsError
	if err := Apply(dir, plan); !errors.As(err, &be) {
		t.Fatalf("apply: %v, want BackupExistsError", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "server/conf/authenticationConfig.xml"))
	if !bytes.Contains(b, []byte("canBeResourceLogin")) {
		t.Errorf("the file was changed without its backup: %s", b)
	}
}

func TestMalformedDocumentIsAnError(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"adapters/A/A.xml": `<adapter><procedure name="p" authenticationRealm="R">`})
	_, err := Make(dir)
	var de *DocError
	if !errors.As(err, &de) || de.Rel != "adapters/A/A.xml" {
		t.Fatalf("err %v, want a DocError naming adapters/A/A.xml", err)
	}
}

func TestUnified(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"
	b := "1\n2\nthree\n4\n5\n6\n7\n8\n9\n10\n11\n12\nthirteen"
	want := `--- a/f
+++ b/f
@@ -1,6 +1,6 @@
 1
 2
-3
+three
 4
 5
 6
@@ -10,3 +10,4 @@
 10
 11
 12
+thirteen
\ No newline at end of file
`
	if d := cmp.Diff(want, unified("a/f", "b/f", a, b)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := unified("a/f", "b/f", a, a); got != "" {
		t.Errorf("same text: %q", got)
	}
}

// TestDryRunDiffApplies: the dry-run diff of the sample, applied by git apply to the project as
// it was, gives the migrated project, as docs/migrate.md says a reviewer may do.
func TestDryRunDiffApplies(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
			t.Fatal("git is required (REALMGATE_REQUIRE_TOOLCHAINS is set): run .ci/install-git.sh")
		}
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	writeTree(t, dir, readTree(t, "testdata/sample/before"))
	plan, err := Make(dir)
	if err != nil {
		t.Fatal(err)
	}
	patch := filepath.Join(t.TempDir(), "migrate.diff")
	if err := os.WriteFile(patch, []byte(plan.Unified()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "apply", patch)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_CEILING_DIRECTORIES="+filepath.Dir(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git apply: %v\n%s", err, out)
	}
	if d := cmp.Diff(readTree(t, "testdata/sample/after"), readTree(t, dir)); d != "" {
		t.Errorf("applied diff (-want +got):\n%s", d)
	}
}
