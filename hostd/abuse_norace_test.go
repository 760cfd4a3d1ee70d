//go:build !race

package main

// floodUnderRace is set when the tests run under the race detector (abuse_race_test.go).
const floodUnderRace = false
