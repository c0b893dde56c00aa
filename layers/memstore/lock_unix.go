//go:build unix

package memstore

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f so that two processes
// never open the same directory; the kernel drops it when the process dies.
func lockFile(f *os.File) error {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return nil
}
