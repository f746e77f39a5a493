//go:build linux

package main

import (
	"bytes"
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
