// Package faults holds riskmap's fault tests, run by `make faults` (with
// RISKMAP_FAULTS=1; skipped otherwise): they drive the built riskmap
// command as a separate process and break what it stands on — PostgreSQL
// stopped under load, SIGKILL during an import on both stores, a full
// disk under the embedded store — and check that the service degrades
// clearly and keeps its data whole. Each test logs what it observed on
// lines starting with "RESULT", which `riskbench faults` copies into
// docs/FAULTS.md.
package faults
