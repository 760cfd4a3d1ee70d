package project

// ScriptsForTests is the ScriptChecker that the diagnostics cases with the javascript directive
// load with. The model knows no JavaScript: scripts_ext_test.go, in package project_test, sets it
// to hostd's checker (internal/jscheck), which imports this package and so cannot be imported
// by its internal tests.
var ScriptsForTests ScriptChecker
