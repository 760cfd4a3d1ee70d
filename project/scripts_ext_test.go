package project_test

import (
	"github.com/realmgate/realmgate/internal/jscheck"
	"github.com/realmgate/realmgate/project"
)

func init() { project.ScriptsForTests = jscheck.New() }
