// Package scenario reads and runs policy scenarios: files in a project's policies/ folder, named
// *.scenario.yaml, where a reviewer who does not write Rego states what must hold: a resource
// (an application environment, an adapter procedure, a static URL, a token scope), the facts of
// the request (application version, realms passed, procedure parameters, remote-disable state, a
// blocked device) and the decision it must get (allow, challenge with the realms of the next step,
// deny with a reason, or blocked).
//
// [Build] turns a resource and facts into what the engine evaluates: the security test the server
// applies and the [policies.Input] the engine builds; [Decide] asks the engine's evaluator
// ([policies.Evaluator.Decide]) for the decision, so a scenario checks the policies the daemon
// runs, not a model of them. [Run] does both for every scenario and compares with what it expects;
// `hostd policy test` runs a project's scenarios, and package policytest runs them from go test.
//
// The schema is in docs/policy.md; [Parse] refuses anything else with the file and line.
package scenario
