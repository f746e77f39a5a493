//go:build linux

package main

// End-to-end tests of the Secret Service's failures, and the terminal for
// the delete prompt through script(1). Linux only: the Secret Service and
// D-Bus exist only there (Windows' Credential Manager has no bus to take away
// or to stall), and script(1)'s options are util-linux's. The prompt on a
// Windows console is tested in e2e_windows_test.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// Without a reachable Secret Service every keychain command exits 3 and says
// so; check, which needs no keychain, still works.
func TestE2EKeychainUnavailable(t *testing.T) {
	c := newCLI(t)
	key := testkeys.SecretKey(testkeys.Fields{})
	c.addSecrets(key)
	keyFile := c.file("key.txt", key, 0o600)
	noBus := []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(c.dir, "no-bus")}
	for _, args := range keychainCommands(keyFile, filepath.Join(c.dir, "out.txt")) {
		args = append(args, "--timeout", "5s")
		r := c.runEnv(noBus, "", args...)
		if args[0] == "delete" && args[1] != "--yes" {
			// Plain delete without a terminal stops before the keychain.
			expect(t, r, exitUsage, "delete without --yes")
			continue
		}
		if r.code != exitUnavailable {
			t.Errorf("%q without a Secret Service: %v; want exit 3", args, r)
		}
		if !strings.Contains(r.stderr, "keychain") {
			t.Errorf("%q: the message does not mention the keychain: %q", args, r.stderr)
		}
	}
	r := c.runEnv(noBus, "", "status", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.ErrorCode != "keychain_unavailable" {
		t.Errorf("status --json without a Secret Service: %v", r)
	}
	expect(t, c.runEnv(noBus, "", "check", keyFile), exitOK, "check without a Secret Service")
}

// On a terminal, delete asks; script(1) gives the binary a real pseudo-terminal.
func TestE2EDeleteOnTerminal(t *testing.T) {
	scriptTool, err := exec.LookPath("script")
	if err != nil {
		harness.Require(t)
		t.Fatal("script (util-linux/bsdutils) is needed to give calmkeyctl a terminal: ", err)
	}
	testDeleteOnTerminal(t, func(c *cli, answer string) result {
		t.Helper()
		cmd := exec.Command(scriptTool, "-qec", c.bin+" delete", "/dev/null")
		cmd.Dir = c.dir
		cmd.Env = c.environ(nil)
		cmd.Stdin = strings.NewReader(answer + "\n")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{code: code, stdout: out.String()}
	})
}

// A D-Bus that accepts connections and never answers stands for a keychain
// stuck behind an unlock prompt: --timeout must end the command with exit 3.
func TestE2EKeychainSilent(t *testing.T) {
	c := newCLI(t)
	sock := filepath.Join(c.dir, "silent-bus")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	accepted := make(chan struct{}, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range conns {
			conn.Close()
		}
	})
	silent := []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + sock}
	for _, args := range [][]string{{"status", "--json"}, {"delete", "--yes"}} {
		r := c.runEnv(silent, "", append(args, "--timeout", "1s")...)
		if r.code != exitUnavailable {
			t.Errorf("%q with a silent keychain: %v; want exit 3", args, r)
		}
		if args[0] == "status" {
			var st statusJSON
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.ErrorCode != "keychain_timeout" {
				t.Errorf("status --json with a silent keychain: %v", r)
			}
		}
	}
	select {
	case <-accepted:
	default:
		t.Error("calmkeyctl never connected to the silent bus; the test proves nothing")
	}
}
