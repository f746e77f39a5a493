package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// fullWriter fails every write, as stdout on a full disk or a closed pipe.
type fullWriter struct{ writes int }

func (w *fullWriter) Write(p []byte) (int, error) {
	w.writes++
	return 0, errors.New("no space left on device")
}

// A command whose output does not arrive exits 1 and says so.
func TestStdoutWriteFailure(t *testing.T) {
	e := env{backend: vaulttest.NewMemoryBackend(), lockDir: t.TempDir(), getenv: func(string) string { return "" }}
	if r := runIn(t, e, string(testkeys.SecretKey(testkeys.Fields{})), "upload", "-"); r.code != exitOK {
		t.Fatalf("upload: %v", r)
	}
	for _, args := range [][]string{{"download", "-"}, {"show"}, {"show", "--reveal"}, {"status"}, {"status", "--json"}, {"version"}, {"check", "-"}} {
		var errb bytes.Buffer
		out := &fullWriter{}
		stdin := strings.NewReader(string(testkeys.SecretKey(testkeys.Fields{})))
		code := run(context.Background(), args, stdin, out, &errb, e)
		if code != exitNo {
			t.Errorf("%q with a full stdout: exit %d, want 1; stderr %q", args, code, errb.String())
		}
		if out.writes == 0 {
			t.Errorf("%q wrote nothing; the test proves nothing", args)
		}
		if !strings.Contains(errb.String(), "cannot write the output") || !strings.Contains(errb.String(), "no space left") {
			t.Errorf("%q: stderr does not say the output failed: %q", args, errb.String())
		}
		if strings.Contains(errb.String(), testkeys.Secret) {
			t.Errorf("%q: the secret reached stderr", args)
		}
	}
	// A command that fails anyway keeps its own status.
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"status", "--json"}, strings.NewReader(""), &fullWriter{}, &errb, env{backend: vaulttest.NewMemoryBackend(), lockDir: t.TempDir()}); code != exitNo {
		t.Errorf("status --json with nothing stored and a full stdout: exit %d", code)
	}
}

// Held elsewhere past --timeout, the keychain lock is exit 4 with
// keychain_busy, and the stored key is left as it was.
func TestKeychainBusy(t *testing.T) {
	dir := t.TempDir()
	mem := vaulttest.NewMemoryBackend()
	e := env{backend: mem, lockDir: dir, getenv: func(k string) string {
		if k == ServiceEnv {
			return "calmkey-busy-test"
		}
		return ""
	}}
	key := testkeys.SecretKey(testkeys.Fields{})
	if r := runIn(t, e, string(key), "upload", "-"); r.code != exitOK {
		t.Fatalf("upload: %v", r)
	}
	before := mem.Items("calmkey-busy-test")
	path, err := vault.LockFile(dir, "calmkey-busy-test")
	if err != nil {
		t.Fatal(err)
	}
	other := flock.New(path)
	if err := other.Lock(); err != nil {
		t.Fatal(err)
	}
	defer other.Unlock()
	other2 := testkeys.SecretKey(testkeys.Fields{Tenant: "other-tenant"})
	for _, args := range [][]string{{"upload", "-"}, {"delete", "--yes"}, {"list"}, {"status"}, {"show"}, {"download", "-"}, {"test"}, {"test", "--all"}} {
		r := runIn(t, e, string(other2), append(args, "--timeout", "150ms")...)
		if r.code != exitBusy {
			t.Errorf("%q while another calmkey holds the lock: %v; want exit 4", args, r)
			continue
		}
		if !strings.Contains(r.stderr, "another calmkey") || !strings.Contains(r.stderr, "try again") {
			t.Errorf("%q: %q", args, r.stderr)
		}
	}
	r := runIn(t, e, "", "status", "--json", "--timeout", "150ms")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != exitBusy || st.ErrorCode != "keychain_busy" {
		t.Errorf("status --json while busy: %v (%v)", r, err)
	}
	if after := mem.Items("calmkey-busy-test"); !maps.Equal(after, before) {
		t.Error("the stored key changed while another calmkey held the lock")
	}
}

// pipeReader never ends until closed: stdin from a program that hangs.
func TestInputBoundedByTimeout(t *testing.T) {
	for _, cmd := range []string{"upload", "check"} {
		pr, pw := io.Pipe()
		go func() { _, _ = pw.Write([]byte(`{"uaa": {`)) }() // a start, then nothing
		var out, errb bytes.Buffer
		done := make(chan int, 1)
		start := time.Now()
		go func() {
			done <- run(context.Background(), []string{cmd, "-", "--timeout", "200ms"}, pr, &out, &errb,
				env{backend: vaulttest.NewMemoryBackend(), lockDir: t.TempDir()})
		}()
		select {
		case code := <-done:
			if code != exitNo {
				t.Errorf("%s - from a stdin that never ends: exit %d, want 1", cmd, code)
			}
			for _, want := range []string{"stdin", "--timeout 200ms", "did not arrive whole"} {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("%s: stderr lacks %q: %q", cmd, want, errb.String())
				}
			}
			t.Logf("%s - ended after %v", cmd, time.Since(start).Round(time.Millisecond))
		case <-time.After(time.Minute):
			t.Fatalf("%s - hangs although --timeout is 200ms", cmd)
		}
		pw.Close()
	}
}

// Fields printed from outside calmkey's checks (a file name) are escaped
// everywhere: status, check, upload, download (written, or refused as it
// exists), problems.
func TestPrintedFieldsEscaped(t *testing.T) {
	dir := t.TempDir()
	raw, shown := "key\x1b]0;owned\x07\u202e.txt", `\x1b`
	if runtime.GOOS == "windows" {
		// Windows refuses control characters in a file name; a bidi
		// override is allowed there, and as misleading on a terminal.
		raw, shown = "key\u202eowned.txt", `\u202e`
	}
	name := filepath.Join(dir, raw)
	if err := os.WriteFile(name, testkeys.SecretKey(testkeys.Fields{}), 0o600); err != nil {
		t.Fatalf("this file system refuses the name: %v", err)
	}
	e := env{backend: vaulttest.NewMemoryBackend(), lockDir: t.TempDir()}
	for _, args := range [][]string{{"check", name}, {"upload", name}, {"status"}, {"check", filepath.Join(dir, "nope\x1b[2J")},
		{"download", filepath.Join(dir, "out-"+raw)}, {"download", name}} {
		r := runIn(t, e, "", args...)
		if strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07\u202e") {
			t.Errorf("%q printed a control character raw:\n%q\n%q", args, r.stdout, r.stderr)
		}
		want := shown
		if args[0] == "check" && strings.Contains(args[1], "nope") {
			want = `\x1b`
		}
		if args[0] != "upload" && !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("%q does not show the escape: %q %q", args, r.stdout, r.stderr)
		}
	}
	// A member name that repeats, with an escape in it, as a problem path.
	dup := strings.Replace(string(testkeys.SecretKey(testkeys.Fields{})), `"uaa": {`, `"uaa": {"\u001b[2J": 1, "\u001b[2J": 2,`, 1)
	r := runIn(t, e, dup, "check", "-")
	if r.code != exitNo || strings.Contains(r.stderr, "\x1b") || !strings.Contains(r.stderr, `uaa.\x1b[2J: appears more than once`) {
		t.Errorf("duplicate with an escape: %v", r)
	}
}

// Warnings are announced on the success line, not only on stderr.
func TestWarningsAnnounced(t *testing.T) {
	e := env{backend: vaulttest.NewMemoryBackend(), lockDir: t.TempDir()}
	loop := testkeys.SecretKey(testkeys.Fields{UAAURL: "https://127.0.0.1:40001", APIURL: "https://127.0.0.1:40003/api"})
	for _, cmd := range []string{"check", "upload"} {
		r := runIn(t, e, string(loop), cmd, "-")
		if r.code != exitOK {
			t.Fatalf("%s of a loopback key: %v", cmd, r)
		}
		if !strings.Contains(r.stdout, "warnings on stderr") || !strings.Contains(r.stderr, "uaa.url: warning: names an IP address") {
			t.Errorf("%s: warnings not announced:\n%v", cmd, r)
		}
	}
	r := runIn(t, e, string(testkeys.SecretKey(testkeys.Fields{})), "check", "-")
	if r.code != exitOK || strings.Contains(r.stdout, "warning") || r.stderr != "" {
		t.Errorf("check of a clean key: %v", r)
	}
}

// A key with a fragment in its URL, or a member twice, is refused by check
// and upload, and nothing is stored.
func TestStricterCheckRefuses(t *testing.T) {
	mem := vaulttest.NewMemoryBackend()
	e := env{backend: mem, lockDir: t.TempDir()}
	fragment := testkeys.SecretKey(testkeys.Fields{UAAURL: "https://127.0.0.1:37099#@acme.authentication.eu10.hana.ondemand.com"})
	dup := strings.Replace(string(testkeys.SecretKey(testkeys.Fields{})), `"url":`, `"u\u0072l": "https://evil.example", "url":`, 1)
	for what, file := range map[string]string{"fragment": string(fragment), "duplicate": dup} {
		for _, cmd := range []string{"check", "upload"} {
			r := runIn(t, e, file, cmd, "-")
			if r.code != exitNo || !strings.Contains(r.stderr, "uaa.url: ") {
				t.Errorf("%s of a key with a %s: %v", cmd, what, r)
			}
		}
	}
	if n := len(mem.Items(unitService)); n != 0 {
		t.Errorf("%d items stored", n)
	}
}
