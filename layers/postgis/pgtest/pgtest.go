// Package pgtest starts throwaway PostgreSQL clusters for tests, with the
// local PostgreSQL binaries (initdb, pg_ctl) in a temporary directory on a
// free port, so that a test may stop and start its own database.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// Cluster is a running throwaway cluster.
type Cluster struct {
	t    testing.TB
	dir  string
	port int
	bin  string
}

// URL is the cluster's connection URL (user postgres, trust auth).
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// binDir finds the PostgreSQL binaries: pg_config's BINDIR or Debian's path.
func binDir() string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		return string(trimNL(out))
	}
	return "/usr/lib/postgresql/15/bin"
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Start initialises and starts a cluster, stopped and removed when the test
// ends. Without PostgreSQL binaries the test is skipped, or fails when
// CI=true. As root, the server runs as the postgres user (initdb refuses
// root).
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin := binDir()
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL binaries are required in CI: %v", err)
		}
		t.Skipf("no PostgreSQL binaries: %v", err)
	}
	dir, err := os.MkdirTemp("", "riskmap-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t, dir: dir, port: freePort(t), bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	c.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	c.Startup()
	t.Cleanup(func() {
		_ = c.cmd("pg_ctl", "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop").Run()
		os.RemoveAll(dir)
	})
	return c
}

// Stop stops the server (fast shutdown): clients see it go away.
func (c *Cluster) Stop() {
	c.t.Helper()
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop")
}

// Startup starts the server and waits until it accepts connections.
func (c *Cluster) Startup() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", c.port, c.dir)
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "start")
}

func (c *Cluster) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	if out, err := c.cmd(name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("%s: %v\n%s\n%s", name, err, out, log)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
