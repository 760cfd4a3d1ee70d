package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/internal/gitrev"
	"github.com/realmgate/realmgate/policydiff"
	"github.com/realmgate/realmgate/project"
)

// Exit statuses of hostd policy diff, for CI gates.
const (
	diffNotWeakened = 0 // no resource's protection was weakened
	diffWeakened    = 1 // protection was weakened somewhere
	diffError       = 2 // bad flags, or a project that does not load
)

// cmdPolicyDiff is hostd policy diff: how the effective security of every resource changed
// between two projects, each a directory or a directory at a git revision (DIR@REV). The exit
// status says whether protection was weakened anywhere.
func cmdPolicyDiff(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy diff", stderr)
	var configs []string
	fs.Func("config", "project `DIR`, or DIR@REV for DIR at a git revision; give it twice, the old project first", func(s string) error {
		configs = append(configs, s)
		return nil
	})
	format := fs.String("format", policydiff.FormatText, "output format: "+strings.Join(policydiff.Formats, ", "))
	if err := fs.Parse(args); err != nil {
		return diffError
	}
	if len(configs) != 2 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hostd policy diff: give --config OLD --config NEW (each DIR or DIR@REV), and nothing else")
		return diffError
	}
	known := false
	for _, f := range policydiff.Formats {
		known = known || f == *format
	}
	if !known {
		fmt.Fprintf(stderr, "hostd policy diff: --format %q: use %s\n", *format, strings.Join(policydiff.Formats, ", "))
		return diffError
	}
	tmp, err := os.MkdirTemp("", "hostd-policy-diff-")
	if err != nil {
		fmt.Fprintln(stderr, "hostd policy diff:", err)
		return diffError
	}
	defer os.RemoveAll(tmp)
	var models [2]*policydiff.Model
	for i, spec := range configs {
		dir, err := projectAt(ctx, spec, filepath.Join(tmp, fmt.Sprint(i)))
		if err != nil {
			fmt.Fprintf(stderr, "hostd policy diff: %s: %v\n", spec, err)
			return diffError
		}
		p, err := project.Load(dir, project.LoadOptions{AdapterKinds: adapters.Kinds()})
		if err != nil {
			var le *project.LoadError
			if errors.As(err, &le) {
				fmt.Fprintf(stderr, "hostd policy diff: %s does not load:\n", spec)
				printDiagnostics(stderr, spec, le.Diagnostics)
			} else {
				fmt.Fprintf(stderr, "hostd policy diff: %s: %v\n", spec, err)
			}
			return diffError
		}
		if models[i], err = policydiff.Build(p, policydiff.Options{DefaultTokenLifetimeSec: int(engine.DefaultTokenLifetime / time.Second)}); err != nil {
			fmt.Fprintf(stderr, "hostd policy diff: %s: %v\n", spec, err)
			return diffError
		}
	}
	rep := policydiff.Diff(configs[0], models[0], configs[1], models[1])
	if err := rep.Write(stdout, *format); err != nil {
		fmt.Fprintln(stderr, "hostd policy diff:", err)
		return diffError
	}
	if rep.Weakened {
		return diffWeakened
	}
	return diffNotWeakened
}

// projectAt returns the directory of a project spec: the directory itself (a directory whose
// name holds an @ included), or, for DIR@REV, DIR as it was at REV, exported into dest.
func projectAt(ctx context.Context, spec, dest string) (string, error) {
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		return spec, nil
	}
	s, err := gitrev.ParseSpec(spec)
	if err != nil {
		return "", err
	}
	if s.Rev == "" {
		return s.Dir, nil // project.Load says what is wrong with it
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return "", err
	}
	if _, err := gitrev.Export(ctx, s.Dir, s.Rev, dest); err != nil {
		return "", err
	}
	return dest, nil
}
