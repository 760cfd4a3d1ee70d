package daemon

import (
	"log/slog"
	goruntime "runtime"
	"testing"
)

// TestReserveGuestProcs: GOMAXPROCS becomes the CPUs the process started with plus the wasm call
// slots, at most maxGuestProcs more, and is left alone when the operator set it.
func TestReserveGuestProcs(t *testing.T) {
	saved, savedProcs := guestProcs.base, goruntime.GOMAXPROCS(0)
	savedExplicit := guestProcs.explicit
	t.Cleanup(func() {
		guestProcs.base, guestProcs.explicit = saved, savedExplicit
		goruntime.GOMAXPROCS(savedProcs)
	})
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name     string
		explicit bool
		slots    int
		want     int
	}{
		{"no wasm adapter", false, 0, 2},
		{"slots added", false, 6, 8},
		{"bounded", false, 1000, 2 + maxGuestProcs},
		{"set by the operator", true, 6, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			goruntime.GOMAXPROCS(3) // what a previous load left, or the operator's setting
			guestProcs.base, guestProcs.explicit = 2, tc.explicit
			if tc.explicit {
				guestProcs.base = 3
			}
			reserveGuestProcs(tc.slots, log)
			if got := goruntime.GOMAXPROCS(0); got != tc.want {
				t.Errorf("GOMAXPROCS = %d, want %d", got, tc.want)
			}
		})
	}
}
