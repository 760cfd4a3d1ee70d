package daemon

// Slots is how many calls of adapter may run at once (its limiter's concurrency; 0 when it
// does not say): invokeProcedure refuses a chain of calls that would wait for a slot it holds
// itself.
func (la loadedAdapters) Slots(adapter string) int {
	if c, ok := la[adapter].(interface{ Capacity() (int, int) }); ok {
		n, _ := c.Capacity()
		return n
	}
	return 0
}
