//go:build linux

package windowtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// FreezeDisplay stops the test session's X server (SIGSTOP), so that every
// X call of every client waits, as on a display that hangs; the returned
// function lets it go on (SIGCONT), and so does the end of the test. Do not
// photograph or drive a window while it is frozen: those calls wait too.
func FreezeDisplay(t testing.TB) (resume func()) {
	t.Helper()
	pid := sessionXvfb(t)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("stopping Xvfb: %v", err)
	}
	var once sync.Once
	resume = func() { once.Do(func() { _ = syscall.Kill(pid, syscall.SIGCONT) }) }
	t.Cleanup(resume)
	return resume
}

// sessionXvfb finds the test session's Xvfb: the one whose environment
// names this session's folder (scripts/test-session starts it there).
func sessionXvfb(t testing.TB) int {
	t.Helper()
	tmp := os.Getenv("CALMKEY_SESSION_TMP")
	if tmp == "" {
		t.Fatal("CALMKEY_SESSION_TMP is not set: run the test in scripts/test-session")
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("CALMKEY_SESSION_TMP=" + tmp + "\x00")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "comm"))
		if strings.TrimSpace(string(comm)) != "Xvfb" {
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "environ"))
		if bytes.Contains(append([]byte{0}, env...), append([]byte{0}, want...)) {
			return pid
		}
	}
	t.Fatal("the test session's Xvfb was not found")
	return 0
}
