package daemon

import (
	"log/slog"
	"os"
	goruntime "runtime"
	"sync"
)

// maxGuestProcs bounds the Ps added for wasm guests: beyond it, that many guests looping at once
// can still hold every P until their deadlines.
const maxGuestProcs = 32

// guestProcs remembers the GOMAXPROCS the process started with, and whether the operator set it.
var guestProcs struct {
	sync.Mutex
	base     int
	explicit bool
}

// reserveGuestProcs makes room in the Go scheduler for slots wasm calls running at once. A wasm
// guest runs machine code that wazero compiled, which the Go scheduler cannot preempt: a guest
// that loops holds its P (one of GOMAXPROCS) until its deadline stops it, and as many looping
// guests as there are Ps would stall every request of the daemon until then. So GOMAXPROCS is
// raised to what the process started with plus the slots (at most maxGuestProcs more): guests
// never hold every P, and the operating system shares the CPUs between their threads and the
// daemon's. A GOMAXPROCS set in the environment is left as it is.
func reserveGuestProcs(slots int, log *slog.Logger) {
	g := &guestProcs
	g.Lock()
	defer g.Unlock()
	if g.base == 0 {
		g.base, g.explicit = goruntime.GOMAXPROCS(0), os.Getenv("GOMAXPROCS") != ""
	}
	if g.explicit {
		if slots >= g.base {
			log.Warn("GOMAXPROCS is set in the environment and wasm calls may hold every P: a looping guest can stall the daemon until its deadline",
				"gomaxprocs", g.base, "wasm_call_slots", slots)
		}
		return
	}
	want := g.base + min(slots, maxGuestProcs)
	if prev := goruntime.GOMAXPROCS(want); prev != want {
		log.Info("GOMAXPROCS set for the wasm call slots", "gomaxprocs", want, "cpus", g.base, "wasm_call_slots", slots)
	}
}
