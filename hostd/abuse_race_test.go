//go:build race

package main

// floodUnderRace is set when the tests run under the race detector, which makes every request
// of TestFloodOfNewSessionsIsBounded about ten times slower: the flood is scaled down.
const floodUnderRace = true
