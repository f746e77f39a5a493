package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
	"github.com/calmkey/calmkey/vault/vaulttest"
)

// In-process tests of run with an in-memory keychain. They cover what the
// end-to-end tests (e2e_test.go, real keychain, real binary) cannot reach
// well: a keychain that fails or hangs, the terminal prompt, flag parsing.

// unitService is the keychain service runIn uses unless told otherwise.
const unitService = "calmkey-unit-test"

// keyItems counts the items of service that hold keys: all but the index of
// tenants, which stays (listing none) once the last key is deleted.
func keyItems(m *vaulttest.MemoryBackend, service string) int {
	n := 0
	for user := range m.Items(service) {
		if user != vault.IndexItem {
			n++
		}
	}
	return n
}

// unreachable makes every call of m fail as an unreachable keychain would.
func unreachable(m *vaulttest.MemoryBackend) {
	m.FailOn("", fmt.Errorf("%w: no D-Bus session bus (test fake)", vault.ErrUnavailable))
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runIn runs the CLI in-process. Its output is checked for the test key's
// secret unless the command is one of the two that may print it.
func runIn(t *testing.T, e env, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if e.getenv == nil {
		e.getenv = func(k string) string {
			if k == ServiceEnv {
				return unitService
			}
			return ""
		}
	}
	if e.historyDir == "" {
		// Never the user's own record of the last tests.
		e.historyDir = t.TempDir()
	}
	if e.lockDir == "" {
		// As a process of its own: a keychain call a hung run left behind
		// holds that run's lock only, as it would die with its process.
		e.lockDir = t.TempDir()
	}
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, e)
	r := result{code, out.String(), errb.String()}
	if !mayRevealSecrets(args) && strings.Contains(r.stdout+r.stderr, testkeys.Secret) {
		t.Errorf("calmkeyctl %s printed the client secret", strings.Join(args, " "))
	}
	return r
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args  []string
		pos   []string
		force bool
		to    time.Duration
	}{
		{args: nil, pos: nil, to: defaultTimeout},
		{args: []string{"f"}, pos: []string{"f"}, to: defaultTimeout},
		{args: []string{"--force", "f"}, pos: []string{"f"}, force: true, to: defaultTimeout},
		{args: []string{"f", "--force"}, pos: []string{"f"}, force: true, to: defaultTimeout},
		{args: []string{"f", "-force", "--timeout", "5s"}, pos: []string{"f"}, force: true, to: 5 * time.Second},
		{args: []string{"f", "--timeout=1m", "g"}, pos: []string{"f", "g"}, to: time.Minute},
		{args: []string{"-", "--force"}, pos: []string{"-"}, force: true, to: defaultTimeout},
		{args: []string{"--", "--force"}, pos: []string{"--force"}, to: defaultTimeout},
		{args: []string{"f", "--", "-x", "--force"}, pos: []string{"f", "-x", "--force"}, to: defaultTimeout},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(&bytes.Buffer{})
		force := fs.Bool("force", false, "")
		to := timeoutFlag(fs)
		pos, err := parseInterleaved(fs, tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(pos, tt.pos) || *force != tt.force || *to != tt.to {
			t.Errorf("%q: got %q force=%v timeout=%v, want %q force=%v timeout=%v", tt.args, pos, *force, *to, tt.pos, tt.force, tt.to)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	if _, err := parseInterleaved(fs, []string{"f", "--nope"}); err == nil {
		t.Error("an unknown flag after a positional argument was accepted")
	}
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{},
		{"frobnicate"},
		{"check"},
		{"upload"},
		{"download"},
		{"check", "a", "b"},
		{"status", "extra"},
		{"status", "--reveal"},
		{"show", "--json"},
		{"test", "--timeout", "soon"},
		{"test", "--timeout", "0s"},
		{"upload", "f", "--timeout", "-1s"},
		{"delete", "--yes=maybe"},
		{"version", "now"},
		{"help", "frobnicate"},
	}
	for _, args := range tests {
		r := runIn(t, env{backend: vaulttest.NewMemoryBackend()}, "", args...)
		if r.code != exitUsage {
			t.Errorf("calmkeyctl %q: %v; want exit 2", args, r)
			continue
		}
		if r.stdout != "" {
			t.Errorf("calmkeyctl %q wrote to stdout on a usage error: %q", args, r.stdout)
		}
		if !strings.Contains(r.stderr, "Usage:") && !strings.Contains(r.stderr, "calmkeyctl help") {
			t.Errorf("calmkeyctl %q: no usage on stderr: %q", args, r.stderr)
		}
	}
}

func TestHelp(t *testing.T) {
	top := runIn(t, env{}, "", "--help")
	if top.code != exitOK || top.stderr != "" {
		t.Fatalf("--help: %v", top)
	}
	for _, want := range []string{"Exit status", ServiceEnv, "SSL_CERT_FILE"} {
		if !strings.Contains(top.stdout, want) {
			t.Errorf("top-level help lacks %q", want)
		}
	}
	for _, c := range commands {
		if !strings.Contains(top.stdout, "  "+c.usage) {
			t.Errorf("top-level help does not list %q", c.usage)
		}
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			r := runIn(t, env{}, "", args...)
			if r.code != exitOK || r.stderr != "" {
				t.Errorf("%q: %v", args, r)
				continue
			}
			if !strings.HasPrefix(r.stdout, "Usage: calmkeyctl "+c.name) || !strings.Contains(r.stdout, "Example:\n  calmkeyctl "+c.name) {
				t.Errorf("%q: help lacks the usage line or an example:\n%s", args, r.stdout)
			}
		}
	}
	// Flags are listed in each command's help.
	for cmd, flagName := range map[string]string{"status": "-json", "show": "-reveal", "download": "-force", "delete": "-yes", "test": "-timeout"} {
		for _, args := range [][]string{{cmd, "--help"}, {"help", cmd}} {
			if r := runIn(t, env{}, "", args...); !strings.Contains(r.stdout, flagName) {
				t.Errorf("%q does not mention %s", args, flagName)
			}
		}
	}
}

func TestVersionDefault(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runIn(t, env{}, "", args...)
		if r.code != exitOK || r.stdout != "calmkeyctl "+version+"\n" {
			t.Errorf("%q: %v", args, r)
		}
	}
	if version != "dev" {
		t.Errorf("version without -ldflags = %q, want dev", version)
	}
}

func TestInProcessLifecycle(t *testing.T) {
	mem := vaulttest.NewMemoryBackend()
	e := env{backend: mem}
	key := testkeys.SecretKey(testkeys.Fields{})

	if r := runIn(t, e, "", "status"); r.code != exitNo || !strings.Contains(r.stderr, "calmkeyctl upload") {
		t.Fatalf("status with nothing stored: %v", r)
	}
	if r := runIn(t, e, string(key), "upload", "-"); r.code != exitOK || !strings.Contains(r.stdout, testkeys.Tenant) {
		t.Fatalf("upload -: %v", r)
	}
	if keyItems(mem, unitService) == 0 {
		t.Fatal("upload stored nothing in the backend")
	}
	if r := runIn(t, e, string(key), "upload", "-"); r.code != exitNo || !strings.Contains(r.stderr, "already has a service key") || !strings.Contains(r.stderr, "calmkeyctl delete --tenant "+testkeys.Tenant) {
		t.Fatalf("second upload: %v; want exit 1 pointing at delete", r)
	}
	r := runIn(t, e, "", "status", "--json")
	var st map[string]any
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &st) != nil {
		t.Fatalf("status --json: %v", r)
	}
	if st["stored"] != true || st["tenant"] != testkeys.Tenant || st["client_id"] != testkeys.ClientID || st["file_name"] != nil {
		t.Errorf("status --json: %v", st)
	}

	// delete on a terminal asks; anything but yes keeps the key.
	term := env{backend: mem, terminal: true}
	for _, answer := range []string{"n\n", "\n", "", "maybe\n"} {
		r := runIn(t, term, answer, "delete")
		if r.code != exitNo || !strings.Contains(r.stderr, "[y/N]") || !strings.Contains(r.stderr, "Not deleted") {
			t.Errorf("delete answered %q: %v", answer, r)
		}
	}
	if r := runIn(t, e, "", "status"); r.code != exitOK {
		t.Fatalf("the key was deleted although the answer was no: %v", r)
	}
	// In a script, delete without --yes is a usage error and changes nothing.
	if r := runIn(t, e, "y\n", "delete"); r.code != exitUsage || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("delete without a terminal and without --yes: %v", r)
	}
	if r := runIn(t, term, "Yes\n", "delete"); r.code != exitOK || !strings.Contains(r.stderr, testkeys.Tenant) {
		t.Fatalf("delete answered yes: %v", r)
	}
	if n := keyItems(mem, unitService); n != 0 {
		t.Errorf("%d keychain items left after delete", n)
	}
	if r := runIn(t, term, "y\n", "delete"); r.code != exitNo || strings.Contains(r.stderr, "[y/N]") {
		t.Errorf("delete with nothing stored: %v; want exit 1 without a question", r)
	}
	if r := runIn(t, e, "", "delete", "--yes"); r.code != exitNo {
		t.Errorf("delete --yes with nothing stored: %v", r)
	}
}

// The service name comes from CALMKEY_KEYCHAIN_SERVICE, else the default.
func TestServiceName(t *testing.T) {
	mem := vaulttest.NewMemoryBackend()
	key := string(testkeys.SecretKey(testkeys.Fields{}))
	withService := func(s string) env {
		return env{backend: mem, getenv: func(k string) string {
			if k == ServiceEnv {
				return s
			}
			return ""
		}}
	}
	if r := runIn(t, withService("calmkey-a"), key, "upload", "-"); r.code != exitOK {
		t.Fatal(r)
	}
	if r := runIn(t, withService("calmkey-b"), "", "status"); r.code != exitNo {
		t.Errorf("a key stored under service calmkey-a is seen under calmkey-b: %v", r)
	}
	r := runIn(t, withService(""), "", "status")
	if r.code != exitNo {
		t.Errorf("a key stored under service calmkey-a is seen under the default: %v", r)
	}
	if keyItems(mem, "calmkey-a") == 0 {
		t.Error("nothing is stored under calmkey-a")
	}
	for _, other := range []string{"calmkey-b", vault.DefaultService, unitService} {
		if n := len(mem.Items(other)); n != 0 {
			t.Errorf("%d items stored under %s", n, other)
		}
	}
	if r := runIn(t, withService("calmkey-a"), "", "status"); r.code != exitOK || !strings.Contains(r.stdout, `"calmkey-a"`) {
		t.Errorf("status under calmkey-a: %v", r)
	}
}

// Every command that touches the keychain exits 3 when it cannot be reached.
func TestKeychainUnavailable(t *testing.T) {
	dir := t.TempDir()
	keyFile := secretKeyFile(t, dir)
	mem := vaulttest.NewMemoryBackend()
	unreachable(mem)
	for _, args := range keychainCommands(keyFile, filepath.Join(dir, "out.txt")) {
		r := runIn(t, env{backend: mem, terminal: true}, "y\n", args...)
		if r.code != exitUnavailable {
			t.Errorf("%q with an unreachable keychain: %v; want exit 3", args, r)
		}
		if !strings.Contains(r.stderr, "calmkeyctl "+args[0]+": ") {
			t.Errorf("%q: no message on stderr: %q", args, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.txt")); err == nil {
		t.Error("download wrote a file although the keychain was unreachable")
	}
	r := runIn(t, env{backend: mem}, "", "test", "--json")
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out["ok"] != false || out["error_code"] != "keychain_unavailable" {
		t.Errorf("test --json with an unreachable keychain: %v (%v)", r, err)
	}
	if steps, ok := out["steps"].([]any); !ok || len(steps) != 0 {
		t.Errorf("test --json: steps = %v, want []", out["steps"])
	}
}

// secretKeyFile writes a valid client-secret key to dir/key.txt.
func secretKeyFile(t *testing.T, dir string) string {
	t.Helper()
	keyFile := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(keyFile, testkeys.SecretKey(testkeys.Fields{}), 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile
}

func keychainCommands(keyFile, outFile string) [][]string {
	return [][]string{
		{"upload", keyFile},
		{"list"},
		{"status"},
		{"status", "--json"},
		{"show"},
		{"download", outFile},
		{"delete"},
		{"delete", "--yes"},
		{"test"},
		{"test", "--all"},
	}
}

// A keychain that never answers gives exit 3 once --timeout has passed,
// instead of hanging the script that called it.
func TestKeychainHangs(t *testing.T) {
	dir := t.TempDir()
	keyFile := secretKeyFile(t, dir)
	mem := vaulttest.NewMemoryBackend()
	hang := make(chan struct{})
	entered := make(chan struct{}, 1)
	mem.Intercept(func(vaulttest.Call) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-hang
		return nil
	})
	defer close(hang)
	for _, args := range keychainCommands(keyFile, filepath.Join(dir, "out.txt")) {
		args = append(args, "--timeout", "100ms")
		done := make(chan result, 1)
		go func() { done <- runIn(t, env{backend: mem, terminal: true}, "y\n", args...) }()
		select {
		case r := <-done:
			if r.code != exitUnavailable {
				t.Errorf("%q with a hanging keychain: %v; want exit 3", args, r)
			}
		case <-time.After(time.Minute):
			// Not a timing check: a minute means it hangs for good.
			t.Fatalf("%q hangs although --timeout is 100ms", args)
		}
	}
	select {
	case <-entered:
	default:
		t.Error("no command reached the hanging keychain; the test proves nothing")
	}
}

func TestCheckInProcess(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	good := testkeys.SecretKey(testkeys.Fields{Type: "-"})
	var m map[string]any
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	uaa := m["uaa"].(map[string]any)
	delete(uaa, "clientid")
	uaa["url"] = "http://insecure.example"
	b, _ := json.Marshal(m)
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, env{}, "", "check", bad)
	if r.code != exitNo {
		t.Fatalf("check of a broken key: %v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	seen := map[string]int{}
	for i, l := range lines {
		for _, p := range []string{"uaa.clientid: ", "uaa.url: "} {
			if strings.HasPrefix(l, p) && !strings.Contains(l, "warning:") {
				seen[p] = i + 1
			}
		}
		if strings.Contains(l, ": warning: ") {
			seen["warning"] = i + 1
		}
	}
	if seen["uaa.clientid: "] == 0 || seen["uaa.url: "] == 0 {
		t.Errorf("check stderr lacks a line per problem starting with its JSON path:\n%s", r.stderr)
	}
	if w := seen["warning"]; w == 0 || w < seen["uaa.clientid: "] || w < seen["uaa.url: "] {
		t.Errorf("the warning (no credential-type) is missing or comes before the problems:\n%s", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("check of a broken key wrote to stdout: %q", r.stdout)
	}

	r = runIn(t, env{}, string(testkeys.SecretKey(testkeys.Fields{})), "check", "-")
	if r.code != exitOK || !strings.Contains(r.stdout, "valid") || !strings.Contains(r.stdout, testkeys.ClientID) {
		t.Errorf("check - of a good key: %v", r)
	}
	r = runIn(t, env{}, strings.Repeat(" ", vault.MaxFileSize+10), "check", "-")
	if r.code != exitNo || !strings.Contains(r.stderr, "64 KiB") {
		t.Errorf("check of a too large input: %v", r)
	}
	r = runIn(t, env{}, "", "check", filepath.Join(dir, "missing.json"))
	if r.code != exitNo || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("check of a missing file: %v", r)
	}
	r = runIn(t, env{}, "", "check", dir)
	if r.code != exitNo || !strings.Contains(r.stderr, "folder") {
		t.Errorf("check of a folder: %v", r)
	}
}

func TestErrorCodes(t *testing.T) {
	tests := map[error]string{
		fmt.Errorf("x: %w", vault.ErrNotFound):    "not_stored",
		fmt.Errorf("x: %w", vault.ErrCorrupt):     "corrupt",
		fmt.Errorf("x: %w", vault.ErrTimeout):     "keychain_timeout",
		fmt.Errorf("x: %w", vault.ErrUnavailable): "keychain_unavailable",
		context.DeadlineExceeded:                  "keychain_timeout",
		errors.New("other"):                       "keychain_error",
	}
	for err, want := range tests {
		if got := errorCode(err); got != want {
			t.Errorf("errorCode(%v) = %q, want %q", err, got, want)
		}
		_, code := keychainError(err, time.Second, "")
		wantCode := exitNo
		if want == "keychain_timeout" || want == "keychain_unavailable" {
			wantCode = exitUnavailable
		}
		if code != wantCode {
			t.Errorf("keychainError(%v) exit %d, want %d", err, code, wantCode)
		}
	}
}

// mayRevealSecrets says whether calmkeyctl args may print a secret: only
// show --reveal and download.
func mayRevealSecrets(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "download":
		return true
	case "show":
		for _, a := range args[1:] {
			if a == "--reveal" || a == "-reveal" || strings.HasPrefix(a, "--reveal=") || strings.HasPrefix(a, "-reveal=") {
				return true
			}
		}
	}
	return false
}

// run passes env.rootCAs to the logon, and a logon failure is exit 1.
func TestInProcessLogon(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	e := env{backend: vaulttest.NewMemoryBackend(), rootCAs: srv.RootCAs(), historyDir: t.TempDir()}
	if r := runIn(t, e, string(srv.SecretKey()), "upload", "-"); r.code != exitOK {
		t.Fatal(r)
	}
	r := runIn(t, e, "", "test")
	if r.code != exitOK || !strings.Contains(r.stdout, testkeys.Tenant) {
		t.Errorf("test: %v", r)
	}
	srv.RejectKey(true)
	r = runIn(t, e, "", "test", "--json")
	var rep struct {
		OK          bool `json:"ok"`
		KeyRejected bool `json:"key_rejected"`
	}
	if r.code != exitNo || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep.OK || !rep.KeyRejected {
		t.Errorf("test --json with a rejected key: %v", r)
	}
	// Without the fake CA the server is not trusted.
	srv.RejectKey(false)
	if r := runIn(t, env{backend: e.backend}, "", "test"); r.code != exitNo {
		t.Errorf("test against an untrusted server: %v", r)
	}
}

func BenchmarkRunCheck(b *testing.B) {
	key := string(testkeys.SecretKey(testkeys.Fields{}))
	for b.Loop() {
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"check", "-"}, strings.NewReader(key), &out, &errb, env{}); code != exitOK {
			b.Fatal(errb.String())
		}
	}
}
