//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// runWith runs calmkeyctl with the given stdin and stdout files.
func (c *cli) runWith(stdin, stdout *os.File, args ...string) (result, time.Duration) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = c.environ(nil)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	if stdout != nil {
		cmd.Stdout = stdout
	}
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	return c.outcome(err, out.String(), errb.String(), args), took
}

// A FIFO that no one writes to, and a stdin that never ends, end at
// --timeout with a clear message (exit 1), for check and upload.
func TestE2EInputTimeout(t *testing.T) {
	c := newCLI(t)
	fifo := filepath.Join(c.dir, "key.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A pipe whose writer stays open and silent.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, args := range [][]string{{"upload", fifo}, {"check", fifo}, {"upload", "-"}, {"check", "-"}} {
		r, took := c.runWith(pr, nil, append(args, "--timeout", "1s")...)
		if r.code != exitNo || !strings.Contains(r.stderr, "did not arrive whole") || !strings.Contains(r.stderr, "--timeout 1s") {
			t.Errorf("%q with nothing writing: %v", args, r)
		}
		t.Logf("%q ended after %v", args, took.Round(time.Millisecond))
	}
	expect(t, c.run("", "status"), exitNo, "status after the timed-out uploads")
}

// A failed write to stdout exits 1: /dev/full takes nothing.
func TestE2EStdoutFull(t *testing.T) {
	c := newCLI(t)
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	key := testkeys.SecretKey(testkeys.Fields{})
	c.addSecrets(key)
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload")
	for _, args := range [][]string{{"download", "-"}, {"show"}, {"status", "--json"}, {"status"}} {
		r, _ := c.runWith(nil, full, args...)
		if r.code != exitNo || !strings.Contains(r.stderr, "cannot write the output") {
			t.Errorf("%q > /dev/full: %v; want exit 1 saying the output failed", args, r)
		}
	}
}

// TestE2ENoSessionBus (Linux only: D-Bus and the Secret Service exist only
// there): without a session bus calmkeyctl exits 3 with the
// usual message and starts no D-Bus daemon (godbus would run dbus-launch,
// which leaves a dbus-daemon behind on every run).
func TestE2ENoSessionBus(t *testing.T) {
	c := newCLI(t)
	key := testkeys.SecretKey(testkeys.Fields{})
	c.addSecrets(key)
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
		t.Fatal("this machine has a session bus at /run/user/UID/bus, which godbus finds by itself; the test cannot make a machine without one")
	}
	// A dbus-launch ahead of the real one on PATH notes that it was run.
	bin := t.TempDir()
	marker := filepath.Join(bin, "dbus-launch-ran")
	script := "#!/bin/sh\necho ran >> " + marker + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	before := daemons(t)
	runtimeDir := t.TempDir()
	for _, args := range [][]string{{"status"}, {"upload", "-"}, {"delete", "--yes"}, {"show"}} {
		cmd := exec.Command(c.bin, append(args, "--timeout", "5s")...)
		cmd.Dir = c.dir
		var env []string
		for _, kv := range c.environ(nil) {
			if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") && !strings.HasPrefix(kv, "PATH=") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, "XDG_RUNTIME_DIR="+runtimeDir, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		cmd.Stdin = strings.NewReader(string(key))
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		r := c.outcome(cmd.Run(), out.String(), errb.String(), args)
		if r.code != exitUnavailable || !strings.Contains(r.stderr, "keychain (Secret Service) cannot be reached") || !strings.Contains(r.stderr, "no D-Bus session bus") {
			t.Errorf("%q without a session bus: %v; want exit 3 saying there is no session bus", args, r)
		}
	}
	if b, err := os.ReadFile(marker); err == nil {
		t.Errorf("calmkeyctl ran dbus-launch %d times", strings.Count(string(b), "ran"))
	}
	for pid, name := range daemons(t) {
		if _, ok := before[pid]; !ok {
			t.Errorf("a new %s (pid %d) is running after the runs", name, pid)
		}
	}
}

// daemons lists the running dbus-daemon and dbus-launch processes by pid.
func daemons(t *testing.T) map[int]string {
	t.Helper()
	found := map[int]string{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("cannot list processes: %v", err)
	}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil {
			continue
		}
		if name := strings.TrimSpace(string(comm)); name == "dbus-daemon" || name == "dbus-launch" {
			found[pid] = name
		}
	}
	return found
}
