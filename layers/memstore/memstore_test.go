package memstore

import (
	"testing"

	"riskmap/layers"
	"riskmap/layers/storetest"
)

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (layers.Store, error) {
		s := New() // Close does nothing: "reopening" finds the same data
		return func() (layers.Store, error) { return s, nil }
	})
}

func TestConformanceDisk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() (layers.Store, error) {
		dir := t.TempDir()
		return func() (layers.Store, error) { return Open(dir) }
	})
}
