package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a running `riskmap serve` started by riskbench.
type server struct {
	cmd     *exec.Cmd
	base    string
	log     *os.File
	done    chan error
	Startup time.Duration
}

// startServer runs bin with args (serve …) listening on addr, its log in
// logPath, and waits until /healthz answers 200 (loading the large
// profile takes a while).
func startServer(ctx context.Context, bin, addr, logPath string, wait time.Duration, args ...string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr, log: logf, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(wait)
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case err := <-s.done:
			s.done <- err
			logf.Close()
			return nil, fmt.Errorf("riskmap serve exited before it was healthy (%v); log %s:\n%s", err, logPath, tail(logPath))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := client.Get(s.base + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.Startup = time.Since(start)
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("riskmap serve not healthy after %s; log %s:\n%s", wait, logPath, tail(logPath))
		}
	}
}

// stop ends the server with SIGTERM (SIGKILL after 20 s) and reports an
// exit that was not a clean shutdown.
func (s *server) stop() error {
	defer s.log.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("riskmap serve did not stop within 20 s of SIGTERM; killed")
	}
}

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case err := <-s.done:
		s.done <- err
		return false
	default:
		return true
	}
}

// procStatus reads a field in kB (VmRSS, VmHWM) of /proc/PID/status.
func procStatus(pid int, field string) (int64, error) {
	if runtime.GOOS != "linux" {
		return 0, errors.New("memory figures need Linux /proc")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// debugVars reads the goroutine count from riskmap serve's --debug-addr.
func debugVars(ctx context.Context, base string) (goroutines int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/vars", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s/debug/vars: %s", base, resp.Status)
	}
	var v struct {
		Goroutines *int `json:"goroutines"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return 0, fmt.Errorf("GET %s/debug/vars: %w", base, err)
	}
	if v.Goroutines == nil {
		return 0, fmt.Errorf("GET %s/debug/vars: no goroutines field", base)
	}
	return *v.Goroutines, nil
}

// tail returns the last lines of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// machineInfo describes this machine.
func machineInfo(ctx context.Context, goBin string) machine {
	m := machine{CPUs: runtime.NumCPU(), CPU: "unknown CPU", Go: runtime.Version() + " (riskbench)"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				m.MemKB, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	if out, err := exec.CommandContext(ctx, goBin, "env", "GOVERSION").Output(); err == nil {
		m.Go = strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, "uname", "-sr").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	return m
}
