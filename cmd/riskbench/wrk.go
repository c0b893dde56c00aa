package main

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed walk.lua
var walkLua []byte

// wrkResult is what one wrk run measured, from the line walk.lua prints.
type wrkResult struct {
	Requests      int64 `json:"requests"`
	DurationUS    int64 `json:"duration_us"`
	Bytes         int64 `json:"bytes"`
	P50US         int64 `json:"p50_us"`
	P90US         int64 `json:"p90_us"`
	P99US         int64 `json:"p99_us"`
	MaxUS         int64 `json:"max_us"`
	ConnectErrors int64 `json:"connect_errors"`
	ReadErrors    int64 `json:"read_errors"`
	WriteErrors   int64 `json:"write_errors"`
	Timeouts      int64 `json:"timeouts"`
	S2xx          int64 `json:"s2xx"`
	S3xx          int64 `json:"s3xx"`
	S4xx          int64 `json:"s4xx"`
	S5xx          int64 `json:"s5xx"`
}

// RPS is the completed requests per second.
func (r wrkResult) RPS() float64 {
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// SocketErrors counts requests that got no response.
func (r wrkResult) SocketErrors() int64 {
	return r.ConnectErrors + r.ReadErrors + r.WriteErrors + r.Timeouts
}

// parseWrk reads wrk's output for the riskbench line. An output without
// one (wrk failed, or ran another script), with no requests, or whose
// status counts do not add up is an error: no figure is made up.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	found := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		js, ok := strings.CutPrefix(line, "riskbench ")
		if !ok {
			continue
		}
		if found {
			return r, errors.New("wrk output holds two riskbench lines")
		}
		dec := json.NewDecoder(strings.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return r, fmt.Errorf("wrk output: riskbench line: %w", err)
		}
		found = true
	}
	switch {
	case !found:
		return r, fmt.Errorf("wrk output has no riskbench line:\n%s", out)
	case r.Requests == 0 || r.DurationUS <= 0:
		return r, fmt.Errorf("wrk completed no requests:\n%s", out)
	case r.S2xx+r.S3xx+r.S4xx+r.S5xx != r.Requests:
		return r, fmt.Errorf("wrk: status counts %d+%d+%d+%d do not add up to %d requests", r.S2xx, r.S3xx, r.S4xx, r.S5xx, r.Requests)
	case r.P50US > r.P99US || r.P99US > r.MaxUS:
		return r, fmt.Errorf("wrk: latencies out of order: p50 %d µs, p99 %d µs, max %d µs", r.P50US, r.P99US, r.MaxUS)
	}
	return r, nil
}

// wrkRun is one load run: paths walked against base for a duration.
type wrkRun struct {
	Base        string // http://host:port
	Paths       []string
	Threads     int
	Connections int
	Duration    time.Duration
}

// Command is the wrk command line, for the report.
func (w wrkRun) Command() string {
	return fmt.Sprintf("wrk -t%d -c%d -d%s --timeout 10s -s walk.lua %s/ -- PATHS %d", w.Threads, w.Connections, w.Duration, w.Base, w.Threads)
}

// run writes the script and the path list to dir and runs wrk.
func (w wrkRun) run(ctx context.Context, dir string) (wrkResult, error) {
	if len(w.Paths) == 0 {
		return wrkResult{}, errors.New("wrk: no paths to request")
	}
	script := filepath.Join(dir, "walk.lua")
	if err := os.WriteFile(script, walkLua, 0o644); err != nil {
		return wrkResult{}, err
	}
	list := filepath.Join(dir, "paths.txt")
	if err := os.WriteFile(list, []byte(strings.Join(w.Paths, "\n")+"\n"), 0o644); err != nil {
		return wrkResult{}, err
	}
	secs := max(1, int(w.Duration.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, "wrk", "-t"+strconv.Itoa(w.Threads), "-c"+strconv.Itoa(w.Connections),
		"-d"+strconv.Itoa(secs)+"s", "--timeout", "10s", "-s", script, w.Base+"/", "--", list, strconv.Itoa(w.Threads))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	return parseWrk(string(out))
}
