// Package policydiff compares the effective security of two versions of a project, resource by
// resource, for hostd policy diff and the CI gates built on it.
//
// [Build] reads a loaded [project.Project] into a [Model]: for every application environment,
// adapter procedure, static resource and access-token scope, the security test that protects it
// expanded into its realms by step, its user and device realms, and the definitions behind each
// realm (authenticator, login module, parameters, login expiration); a procedure without a test
// of its own is protected by the test of the environment that calls it, so it has one guard per
// environment. The rules of the project's own Rego policies are read too, as OPA prints them, so
// that layout and comments are not changes.
//
// [Diff] compares two models and classifies every difference as weakened, strengthened or
// changed (docs/policy-diff.md lists the rules); [Report.Weakened] is what a CI gate reads.
// [Report.Write] renders the report as text for a terminal, Markdown for a pull-request comment,
// or JSON for tools.
//
// The rules are conservative: where Realmgate cannot tell whether a new definition accepts no
// more clients than the old one (another login module, a parameter changed, a deny rule
// rewritten), the change counts as a weakening, for a person to review.
package policydiff
