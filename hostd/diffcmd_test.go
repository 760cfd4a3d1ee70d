package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/policydiff"
)

// updateDiff rewrites the golden reports of hostd policy diff: go test ./hostd -run PolicyDiff -update-diff
var updateDiff = flag.Bool("update-diff", false, "rewrite testdata/policydiff/*.md")

// bankingDiffGolden is the Markdown report of the banking example against a copy whose transfer
// procedure is protected by the web test instead of the two-step transfer test.
const bankingDiffGolden = "testdata/policydiff/banking-transfer-weakened.md"

// weakenTransfer protects the example's transfer procedure with webTests, which has no PIN step.
func weakenTransfer(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, "adapters", "Accounts", "Accounts.xml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	weak := strings.Replace(string(b), `<procedure name="transfer" securityTest="transferTests"/>`, `<procedure name="transfer" securityTest="webTests"/>`, 1)
	if weak == string(b) {
		t.Fatal("the example's transfer procedure is not protected by transferTests any more: update the test")
	}
	mustWrite(t, p, weak)
}

// policyDiff runs hostd policy diff and returns its exit status, stdout and stderr.
func policyDiff(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"policy", "diff"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func checkDiffGolden(t *testing.T, path, got string) {
	t.Helper()
	if *updateDiff {
		mustWrite(t, path, got)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got); go test ./hostd -run PolicyDiff -update-diff after review:\n%s", path, d)
	}
}

// TestPolicyDiffCommandBanking: two copies of the example project, one with a weakened
// procedure. The report names the procedure and the realm it lost, and the exit status is 1; the
// same project twice exits 0 with nothing to report.
func TestPolicyDiffCommandBanking(t *testing.T) {
	root := t.TempDir()
	oldDir, newDir := filepath.Join(root, "old"), filepath.Join(root, "new")
	copyTree(t, exampleDir, oldDir)
	copyTree(t, exampleDir, newDir)
	weakenTransfer(t, newDir)

	code, out, errOut := policyDiff(t, "--config", oldDir, "--config", newDir, "--format", "markdown")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (weakened); stderr:\n%s\nstdout:\n%s", code, errOut, out)
	}
	out = strings.NewReplacer(oldDir, "banking-old", newDir, "banking-new").Replace(out)
	checkDiffGolden(t, bankingDiffGolden, out)
	// docs/policy-diff.md shows this report: it must be the one the command writes.
	doc, err := os.ReadFile("../docs/policy-diff.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```markdown\n"+out+"```\n") {
		t.Errorf("docs/policy-diff.md does not show the report the command writes:\n%s", out)
	}

	code, out, _ = policyDiff(t, "--config", oldDir, "--config", newDir, "--format", "json")
	var rep policydiff.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("json: exit %d, %v:\n%s", code, err, out)
	}
	if !rep.Weakened || len(rep.Resources) == 0 || rep.Resources[0].Name != "Accounts.transfer" || rep.Resources[0].Effect != policydiff.Weakened {
		t.Errorf("json report: %+v", rep)
	}

	// Reversed, the change only adds protection.
	if code, out, _ := policyDiff(t, "--config", newDir, "--config", oldDir); code != 0 || !strings.Contains(out, "strengthened") {
		t.Errorf("reversed: exit %d, want 0:\n%s", code, out)
	}
	if code, out, _ := policyDiff(t, "--config", oldDir, "--config", oldDir); code != 0 || !strings.Contains(out, "no change in effective security") {
		t.Errorf("same project: exit %d:\n%s", code, out)
	}
}

// TestPolicyDiffCommandGitRevisions: the example committed to a repository made here, then
// weakened in a second commit; diffing the two revisions gives the report of the two copies, and
// a revision against the uncommitted work tree works too. The work tree is left as it was.
func TestPolicyDiffCommandGitRevisions(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
			t.Fatal("git is required (REALMGATE_REQUIRE_TOOLCHAINS is set): run .ci/install-git.sh")
		}
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	proj := filepath.Join(repo, "banking")
	copyTree(t, exampleDir, proj)
	gitIn := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitIn("init", "-q", "-b", "main")
	gitIn("add", ".")
	gitIn("commit", "-q", "-m", "banking")
	weakenTransfer(t, proj)
	// Uncommitted: the work tree against its last commit.
	code, out, errOut := policyDiff(t, "--config", proj+"@HEAD", "--config", proj, "--format", "markdown")
	if code != 1 {
		t.Fatalf("work tree against HEAD: exit %d, want 1; stderr:\n%s", code, errOut)
	}
	checkDiffGolden(t, bankingDiffGolden, strings.NewReplacer(proj+"@HEAD", "banking-old", proj, "banking-new").Replace(out))

	gitIn("commit", "-q", "-am", "transfer without the PIN")
	code, out, errOut = policyDiff(t, "--config", proj+"@HEAD~1", "--config", proj+"@main", "--format", "markdown")
	if code != 1 {
		t.Fatalf("HEAD~1 against main: exit %d, want 1; stderr:\n%s", code, errOut)
	}
	checkDiffGolden(t, bankingDiffGolden, strings.NewReplacer(proj+"@HEAD~1", "banking-old", proj+"@main", "banking-new").Replace(out))
	if st, err := exec.Command("git", "-C", repo, "status", "--porcelain").Output(); err != nil || len(st) != 0 {
		t.Errorf("the work tree changed: %q, %v", st, err)
	}
}

// TestPolicyDiffCommandErrors: bad flags, a revision that does not exist and a project that does
// not load exit 2, which a CI gate tells from a weakening.
func TestPolicyDiffCommandErrors(t *testing.T) {
	broken := t.TempDir()
	mustWrite(t, filepath.Join(broken, "server", "conf", "authenticationConfig.xml"), "<notAConfig/>")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"one project", []string{"--config", exampleDir}, "--config OLD --config NEW"},
		{"three projects", []string{"--config", exampleDir, "--config", exampleDir, "--config", exampleDir}, "--config OLD --config NEW"},
		{"unknown format", []string{"--config", exampleDir, "--config", exampleDir, "--format", "html"}, "use text, markdown, json"},
		{"project does not load", []string{"--config", exampleDir, "--config", broken}, "does not load"},
		{"no revision after @", []string{"--config", exampleDir + "@", "--config", exampleDir}, "names no revision"},
		{"revision as option", []string{"--config", exampleDir + "@--output=x", "--config", exampleDir}, "starts with -"},
		{"not a repository", []string{"--config", broken + "@HEAD", "--config", exampleDir}, "not in a git work tree"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := policyDiff(t, tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}
