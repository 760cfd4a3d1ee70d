// Package policies is what is policy in Realmgate: the security tests of a [project.Project]
// compiled to Rego, the embedded Rego library they share, the prepared OPA query that decides
// requests, and the runner of Rego tests.
//
// [CompileRego] writes one Rego package per security test (realmgate.tests["NAME"]: its realms by
// step, its user and device realm), a router (data.realmgate.decision), the realms the project
// defines (realmgate.config), the library ([Library], rego/lib.rego) and the project's own
// policies, which must live under realmgate.user and may only add: deny with a reason, or require
// more realms (step-up). The generated source is what `opa fmt` writes, and `opa test` can run it.
//
// [NewEvaluator] parses and compiles those modules once and prepares the one query [Query]; a
// problem in the user's Rego comes back as project diagnostics with file and line. Each request
// is then one [Evaluator.Decide] of a typed [Input] (the test, the realms passed, the application,
// the resource, request facts), converted to OPA's value once, and answered as a typed
// [Decision]: allow, challenge the realms of the lowest unfinished step, or deny with reasons.
// Decide memoizes decisions on exactly the input the compiled policies read, and evaluates every
// time when a policy reads the whole input or calls a built-in whose result is not a function of
// it (the clock, randomness, the network).
//
// [ProjectTestModules] and [RunTests] run the test_* rules of the library and of a project's
// policies/*_test.rego against the compiled policy set, for hostd policy test. [Cover] collects
// OPA's coverage over those runs ([RunTestsCovered]) and over decisions ([Evaluator.EvalCovered]),
// and [Evaluator.Explain] says which of the users' rules denied or stepped up, with OPA's trace,
// for hostd policy explain. Package scenario runs the project's scenario files.
//
// The package knows nothing of sessions or HTTP: the engine builds the input and acts on the
// decision.
package policies
