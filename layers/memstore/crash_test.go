//go:build unix

package memstore

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"riskmap/layers"
)

const (
	crashDirEnv     = "MEMSTORE_CRASH_DIR"
	crashCompactEnv = "MEMSTORE_CRASH_COMPACT"
	crashBatch      = 100
)

// TestHelperWriter is the child of TestCrash: it appends numbered batches
// to the store in its directory until it is killed, printing "ok k" once
// batch k is durable.
func TestHelperWriter(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	opts := Options{CompactAt: 64 << 10}
	if os.Getenv(crashCompactEnv) == "1" {
		opts.compactAlways = true
	}
	s, err := OpenWith(dir, opts)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	n, _ := s.Count(context.Background(), layers.Query{Layer: layers.WaterSources})
	for k := n/crashBatch + 1; ; k++ {
		if err := s.Upsert(context.Background(), layers.WaterSources, batch(k, crashBatch)); err != nil {
			fmt.Println("upsert:", err)
			os.Exit(2)
		}
		fmt.Printf("ok %d\n", k)
	}
}

// TestCrash kills a writer with SIGKILL at random moments, some during
// compaction, and checks that every batch is wholly present or wholly
// absent, that the present ones are a prefix, and that every acknowledged
// batch survived.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	total := 0
	for run := range 6 {
		compact := run >= 3
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashCompactEnv+"="+boolDigit(compact))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := make(chan int, 1)
		first := make(chan struct{})
		go func() {
			last, once := 0, false
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				if k, err := strconv.Atoi(strings.TrimPrefix(line, "ok ")); err == nil {
					last = k
					if !once {
						once = true
						close(first)
					}
				} else if strings.HasPrefix(line, "open:") || strings.HasPrefix(line, "upsert:") {
					t.Errorf("child: %s", line)
				}
			}
			if !once {
				close(first)
			}
			acked <- last
		}()
		select {
		case <-first:
		case <-time.After(20 * time.Second):
			t.Fatal("the writer wrote nothing")
		}
		time.Sleep(time.Duration(r.Intn(150)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		last := <-acked
		cmd.Wait()

		tmps, _ := filepath.Glob(filepath.Join(dir, "*"+tmpExt))
		s := mustOpen(t, dir, Options{})
		m := checkBatches(t, s, crashBatch, last)
		t.Logf("run %d (compact every write: %v): %d batches stored, last acknowledged %d, killed mid-compaction: %v",
			run, compact, m, last, len(tmps) > 0)
		if m < total {
			t.Fatalf("batches went from %d to %d", total, m)
		}
		total = m
		if run%2 == 0 {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		} else {
			s.abandon()
		}
	}
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
