package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/internal/jscheck"
	"github.com/realmgate/realmgate/migrate"
	"github.com/realmgate/realmgate/project"
)

// cmdMigrate is `hostd migrate --config DIR [--dry-run]`: Worklight's 5.0.0.3 upgrade of a
// project in the older authentication model, in place, after copying each file it changes into
// DIR/apps-backup/. With --dry-run it prints the unified diff and changes nothing. After the
// upgrade the project is checked as `hostd check` checks it, so the one command says whether
// the project now loads. Exit status: 0 upgraded (or nothing to do), 1 something left to do by
// hand or the upgraded project has errors, 2 usage.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("migrate", stderr)
	dir := fs.String("config", "", "project directory (upgraded in place)")
	dryRun := fs.Bool("dry-run", false, "print the unified diff of the upgrade and change nothing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hostd migrate: --config DIR is required, and nothing else")
		return 2
	}
	plan, err := migrate.Make(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "hostd migrate:", err)
		return 1
	}
	code := 0
	for _, l := range plan.Left {
		fmt.Fprintf(stderr, "hostd migrate: left to do by hand: %s\n", l)
		code = 1
	}
	if *dryRun {
		fmt.Fprint(stdout, plan.Unified())
		return code
	}
	if len(plan.Files) == 0 {
		fmt.Fprintf(stdout, "%s: nothing to upgrade\n", *dir)
		return code
	}
	if err := migrate.Apply(*dir, plan); err != nil {
		fmt.Fprintln(stderr, "hostd migrate:", err)
		return 1
	}
	for _, f := range plan.Files {
		fmt.Fprintf(stdout, "upgraded %s (original in %s)\n", f.Rel, filepath.ToSlash(filepath.Join(migrate.BackupDir, f.Rel)))
	}
	diags := project.Check(*dir, project.LoadOptions{AdapterKinds: adapters.Kinds(), Scripts: jscheck.New()})
	printDiagnostics(stdout, *dir, diags)
	nerr := len(diags.Errors())
	fmt.Fprintf(stdout, "%s: %s\n", *dir, checkSummary(nerr, len(diags)-nerr))
	if nerr > 0 {
		return 1
	}
	return code
}
