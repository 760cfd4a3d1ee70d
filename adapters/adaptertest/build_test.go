package adaptertest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/realmgate/realmgate/adapters/adaptertest"
)

func TestCachedBuildRunsOncePerContent(t *testing.T) {
	t.Setenv(adaptertest.CacheDirEnv, t.TempDir())
	src := filepath.Join(t.TempDir(), "input.txt")
	builds := 0
	build := func(out string) error {
		builds++
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		return os.WriteFile(out, append([]byte("built from "), b...), 0o644)
	}
	for _, step := range []struct {
		content    string
		wantBuilds int
	}{
		{"v1", 1},
		{"v1", 1}, // same content: cached
		{"v2", 2}, // changed content: rebuilt
		{"v1", 2}, // the v1 artifact is still there
	} {
		if err := os.WriteFile(src, []byte(step.content), 0o644); err != nil {
			t.Fatal(err)
		}
		p := adaptertest.CachedBuild(t, "artifact.bin", []string{src}, "tool v1", build)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := "built from " + step.content; string(got) != want {
			t.Errorf("artifact = %q, want %q", got, want)
		}
		if builds != step.wantBuilds {
			t.Errorf("after content %q: %d builds, want %d", step.content, builds, step.wantBuilds)
		}
	}
}
