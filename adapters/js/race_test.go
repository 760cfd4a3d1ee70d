//go:build race

package js_test

// underRace is set when the tests run under the race detector.
const underRace = true
