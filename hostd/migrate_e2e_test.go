package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
)

// migrateSample is the project of the Worklight 5.0.0.2 authentication model the migrate
// package's golden tests upgrade, with its expected result and dry-run diff beside it.
const migrateSample = "../migrate/testdata/sample"

// copyTree copies the files under src into dst and returns them by slash path.
func copyTree(t *testing.T, src, dst string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		files[filepath.ToSlash(rel)] = string(b)
		mustWrite(t, filepath.Join(dst, rel), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestMigrateCommandUpgradesAnOldProject runs `hostd migrate` on the old project: refused by
// `hostd check` before, a dry run that prints the golden diff and changes nothing, the upgrade
// that writes the golden project and keeps the originals in apps-backup/, a check that passes,
// and a second run that changes nothing.
func TestMigrateCommandUpgradesAnOldProject(t *testing.T) {
	dir := t.TempDir()
	before := copyTree(t, filepath.Join(migrateSample, "before"), dir)
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"check", "--config", dir}, &out, &errb); code != 1 || !strings.Contains(out.String(), "before Worklight 5.0.0.3") {
		t.Fatalf("check of the old project: exit %d, want 1 with the pre-5.0.0.3 errors\n%s", code, out.String())
	}

	out.Reset()
	if code := run(ctx, []string{"migrate", "--config", dir, "--dry-run"}, &out, &errb); code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, errb.String())
	}
	wantDiff, err := os.ReadFile(filepath.Join(migrateSample, "diff.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(wantDiff), out.String()); d != "" {
		t.Errorf("dry-run diff (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before, copyTree(t, dir, t.TempDir())); d != "" {
		t.Fatalf("the dry run changed the project (-before +after):\n%s", d)
	}

	out.Reset()
	if code := run(ctx, []string{"migrate", "--config", dir}, &out, &errb); code != 0 {
		t.Fatalf("migrate: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), dir+": 0 errors") {
		t.Errorf("migrate output lacks the clean check:\n%s", out.String())
	}
	got := copyTree(t, dir, t.TempDir())
	migrated, backups := map[string]string{}, map[string]string{}
	for rel, s := range got {
		if orig, ok := strings.CutPrefix(rel, "apps-backup/"); ok {
			backups[orig] = s
		} else {
			migrated[rel] = s
		}
	}
	if d := cmp.Diff(copyTree(t, filepath.Join(migrateSample, "after"), t.TempDir()), migrated); d != "" {
		t.Errorf("migrated project (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before, backups); d != "" {
		t.Errorf("apps-backup/ holds (-want the originals +got):\n%s", d)
	}

	out.Reset()
	if code := run(ctx, []string{"check", "--config", dir}, &out, &errb); code != 0 {
		t.Errorf("check of the migrated project: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run(ctx, []string{"migrate", "--config", dir}, &out, &errb); code != 0 || out.String() != dir+": nothing to upgrade\n" {
		t.Errorf("second run: exit %d, output %q", code, out.String())
	}
}

// TestMigratedProjectChallengesAsTheOldOneMeant serves the upgraded project and walks it with the
// Go client: the application that required SampleAppRealm on startup challenges for it in its
// mobile and web environments, and the procedures protected by a realm challenge for that realm
// before they run.
func TestMigratedProjectChallengesAsTheOldOneMeant(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, filepath.Join(migrateSample, "before"), dir)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--config", dir}, &out, &errb); code != 0 {
		t.Fatalf("migrate: exit %d\n%s%s", code, out.String(), errb.String())
	}
	d := startDaemon(t, dir, "")

	for _, tc := range []struct{ env, test string }{
		{"android", "Sample-android-mobileSecurityTest"},
		{"iphone", "Sample-iphone-mobileSecurityTest"},
		{"mobilewebapp", "Sample-webSecurityTest"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			c, err := client.New(client.Config{
				BaseURL: baseURL(d), AppID: "Sample", Environment: tc.env, AppVersion: "1.0",
				Device: &client.DeviceInfo{ID: "device-" + tc.env, OS: tc.env, Model: "test"},
			})
			if err != nil {
				t.Fatal(err)
			}
			var prompts []string
			c.RegisterHandler("SampleAppRealm", &client.LoginHandler{Ask: func(_ context.Context, p client.LoginPrompt) (client.Credentials, error) {
				prompts = append(prompts, "SampleAppRealm")
				return client.Credentials{Username: "alice", Password: "any"}, nil
			}})
			res, err := c.Init(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.SecurityTest != tc.test || res.User["userId"] != "alice" {
				t.Errorf("init: test %q user %v, want %q and alice", res.SecurityTest, res.User, tc.test)
			}
			if d := cmp.Diff([]string{"SampleAppRealm"}, prompts); d != "" {
				t.Errorf("login prompts on startup (-want +got):\n%s", d)
			}
		})
	}

	// A procedure that the old project protected with authenticationRealm challenges for it.
	r := newRaw(t, d, "mobilewebapp", "1.0")
	r.headers["WL-App-Id"] = "Sample"
	for _, tc := range []struct{ procedure, realm string }{
		{"balance", "SampleAppRealm"},
		{"transfer", "AdminRealm"},
	} {
		status, body, _ := r.do("POST", "/api/v1/adapters/Accounts/"+tc.procedure, `{"parameters":[]}`)
		if status != 401 || challenges(body)[tc.realm] == nil {
			t.Errorf("%s before login: status %d body %v, want 401 challenging %s", tc.procedure, status, body, tc.realm)
		}
	}
	// The one the old project left open (requiresAuthentication="false") is not challenged: it
	// reaches the adapter, which has no backend here.
	if status, body, _ := r.do("POST", "/api/v1/adapters/Accounts/rates", `{"parameters":[]}`); status == 401 {
		t.Errorf("rates: status %d body %v, want no challenge", status, body)
	}
}
