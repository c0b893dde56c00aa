// Package cputime reads the CPU time a process has used, for benchmarks
// that report it beside the wall clock: on a machine shared with other
// jobs the wall clock mostly measures the neighbours.
package cputime

import (
	"syscall"
	"time"
)

// Used is the CPU time (user and system, all threads) the process has
// used so far; 0 if the system cannot say.
func Used() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
