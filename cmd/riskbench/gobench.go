package main

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// goBench is one benchmark's runs: metric unit → the value of each run.
type goBench struct {
	Pkg, Name string
	Runs      int
	Metrics   map[string][]float64
	Units     []string // in the order go test printed them
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// parseGoBench reads `go test -bench` output (several packages, -count
// runs) and groups the runs of each benchmark, in the order first seen.
func parseGoBench(out string) ([]*goBench, error) {
	var (
		pkg   string
		order []*goBench
		byKey = map[string]*goBench{}
	)
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark's own log line, or a name printed before a failure
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		key := pkg + " " + name
		b := byKey[key]
		if b == nil {
			b = &goBench{Pkg: pkg, Name: name, Metrics: map[string][]float64{}}
			byKey[key] = b
			order = append(order, b)
		}
		b.Runs++
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: value %q: %w", line, f[i], err)
			}
			unit := f[i+1]
			if _, ok := b.Metrics[unit]; !ok {
				b.Units = append(b.Units, unit)
			}
			b.Metrics[unit] = append(b.Metrics[unit], v)
		}
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("no benchmark results in the go test output")
	}
	return order, nil
}

// Median of one metric over the runs, and whether it was measured.
func (b *goBench) Median(unit string) (float64, bool) {
	v, ok := b.Metrics[unit]
	return median(v), ok && len(v) > 0
}

// findBench returns the benchmark of pkg whose name is name.
func findBench(bs []*goBench, pkg, name string) *goBench {
	for _, b := range bs {
		if b.Pkg == pkg && b.Name == name {
			return b
		}
	}
	return nil
}
