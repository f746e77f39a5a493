package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/harness"
	"github.com/calmkey/calmkey/internal/privfile"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// End-to-end tests: the binary, built the way `make build` builds it
// (CGO_ENABLED=0, version through -ldflags), run as a user runs it against the
// real keychain of the test session: the Secret Service on Linux, Wine's
// Credential Manager in the Windows run. Each test has its own keychain
// service name, so tests never see each other's keys or the user's.

// e2eVersion is the version the tests build calmkeyctl with.
const e2eVersion = "v9.8.7-e2e"

// Set by scripts/wine/test, since there is no Go toolchain inside Wine:
// calmkeyctlEnv names a calmkeyctl.exe built as released, versionEnv the
// version it was built with. Unset, the tests build calmkeyctl themselves.
const (
	calmkeyctlEnv = "CALMKEY_E2E_CALMKEYCTL"
	versionEnv    = "CALMKEY_E2E_VERSION"
)

var (
	binDir     string
	binOnce    sync.Once
	binPath    string
	binVersion string
	binError   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "calmkeyctl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// exeSuffix is what executables' names end in here.
var exeSuffix = map[bool]string{true: ".exe"}[runtime.GOOS == "windows"]

// binary returns the calmkeyctl to run: the one calmkeyctlEnv names, or one
// built on first use, so runs without the harness (where every end-to-end
// test skips) do not pay for the build.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv(calmkeyctlEnv); p != "" {
			binPath, binVersion = p, os.Getenv(versionEnv)
			if _, err := os.Stat(p); err != nil {
				binError = fmt.Errorf("%s: %w", calmkeyctlEnv, err)
			}
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			binError = fmt.Errorf("no Go toolchain to build calmkeyctl with (%w); set %s to a built calmkeyctl", err, calmkeyctlEnv)
			return
		}
		binPath, binVersion = filepath.Join(binDir, "calmkeyctl"+exeSuffix), e2eVersion
		cmd := exec.Command(goTool, "build", "-o", binPath, "-ldflags", "-X main.version="+e2eVersion, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binError != nil {
		t.Fatal(binError)
	}
	return binPath
}

// cli runs the binary for one test.
type cli struct {
	t       *testing.T
	bin     string
	service string
	env     []string // added to the process environment
	dir     string   // working directory, a fresh temp dir
	secrets []string // must appear in no output but show --reveal's and download's
	runs    int
}

// newCLI sets up one end-to-end test. End-to-end tests run in parallel:
// each has its own service name and folder, and most of their time is spent
// starting processes (under Wine, about half a second each).
func newCLI(t *testing.T) *cli {
	t.Helper()
	harness.Require(t)
	t.Parallel()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	c := &cli{
		t:       t,
		bin:     binary(t),
		service: "calmkey-test-" + hex.EncodeToString(b),
		dir:     t.TempDir(),
		secrets: []string{testkeys.Secret},
	}
	t.Cleanup(c.deleteAll)
	return c
}

// deleteAll leaves nothing in the session's keychain: it deletes every
// tenant's key that list shows; no key stored is fine.
func (c *cli) deleteAll() {
	c.t.Helper()
	r := c.run("", "list", "--json")
	var l struct {
		Tenants []struct {
			Tenant string `json:"tenant"`
		} `json:"tenants"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || r.code != exitOK {
		c.t.Errorf("cleanup: list --json: %v (%v)", r, err)
		return
	}
	for _, t := range l.Tenants {
		if r := c.run("", "delete", "--tenant", t.Tenant, "--yes"); r.code != exitOK {
			c.t.Errorf("cleanup: %v", r)
		}
	}
}

// addSecrets registers the secret material of a key file for the output scan:
// its client secret and every line of its private key.
func (c *cli) addSecrets(keyJSON []byte) {
	c.t.Helper()
	var doc struct {
		Credentials *struct {
			UAA map[string]any `json:"uaa"`
		} `json:"credentials"`
		UAA map[string]any `json:"uaa"`
	}
	if err := json.Unmarshal(keyJSON, &doc); err != nil {
		c.t.Fatalf("test key is not JSON: %v", err)
	}
	uaa := doc.UAA
	if doc.Credentials != nil {
		uaa = doc.Credentials.UAA
	}
	if s, ok := uaa["clientsecret"].(string); ok && s != "" {
		c.secrets = append(c.secrets, s)
	}
	if k, ok := uaa["key"].(string); ok {
		n := 0
		for _, line := range strings.Split(k, "\n") {
			// Base64 body lines; a leak of any of them is a leak.
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				c.secrets = append(c.secrets, line)
				n++
			}
		}
		if n == 0 {
			c.t.Fatal("test key has a uaa.key without a PEM body")
		}
	}
}

func (c *cli) environ(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		// The developer's own settings must not leak into the runs.
		if strings.HasPrefix(kv, ServiceEnv+"=") || strings.HasPrefix(kv, "SSL_CERT_FILE=") || strings.HasPrefix(kv, "SSL_CERT_DIR=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, ServiceEnv+"="+c.service)
	env = append(env, c.env...)
	return append(env, extra...)
}

// run runs calmkeyctl with args and stdin and scans its output for secrets.
func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	return c.runEnv(nil, stdin, args...)
}

func (c *cli) runEnv(extraEnv []string, stdin string, args ...string) result {
	c.t.Helper()
	cmd, out, errb, err := c.launch(extraEnv, stdin, args...)
	if err == nil {
		err = cmd.Wait()
	}
	return c.outcome(err, out.String(), errb.String(), args)
}

// launch starts calmkeyctl as command makes it (through harness.Start,
// which tries again when Wine failed to start it at all).
func (c *cli) launch(extraEnv []string, stdin string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, error) {
	c.t.Helper()
	var out, errb *bytes.Buffer
	cmd, err := harness.Start(c.t, func() *exec.Cmd {
		var cmd *exec.Cmd
		cmd, out, errb = c.command(extraEnv, stdin, args...)
		return cmd
	})
	return cmd, out, errb, err
}

// command is calmkeyctl with args, in the test's folder and environment
// (plus extraEnv), reading stdin, its output kept.
func (c *cli) command(extraEnv []string, stdin string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = c.environ(extraEnv)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

// outcome is the result of a run that ended with err, its output scanned
// for secrets.
func (c *cli) outcome(err error, stdout, stderr string, args []string) result {
	c.t.Helper()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("calmkeyctl %s: %v", strings.Join(args, " "), err)
	}
	r := result{code, stdout, stderr}
	c.scan(args, r)
	return r
}

func (c *cli) scan(args []string, r result) {
	c.t.Helper()
	c.runs++
	if mayRevealSecrets(args) {
		return
	}
	for _, s := range c.secrets {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			// Not the secret itself in the message: the output is what leaked.
			c.t.Errorf("calmkeyctl %s printed secret material (%d chars)", strings.Join(args, " "), len(s))
		}
	}
	if strings.Contains(r.stdout+r.stderr, "PRIVATE KEY") {
		c.t.Errorf("calmkeyctl %s printed a private key marker", strings.Join(args, " "))
	}
}

func (c *cli) file(name string, data []byte, mode os.FileMode) string {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, data, mode); err != nil {
		c.t.Fatal(err)
	}
	return p
}

func expect(t *testing.T, r result, code int, what string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: want exit %d, got %v", what, code, r)
	}
}

func TestE2EVersionAndHelp(t *testing.T) {
	c := newCLI(t)
	r := c.run("", "version")
	expect(t, r, exitOK, "version")
	if binVersion == "" || !strings.HasPrefix(r.stdout, "calmkeyctl "+binVersion) || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("version printed %q, want one line with %q; the -ldflags version did not arrive", r.stdout, binVersion)
	}
	for _, cmd := range commands {
		r := c.run("", cmd.name, "--help")
		expect(t, r, exitOK, cmd.name+" --help")
		if !strings.Contains(r.stdout, "Example:\n  calmkeyctl "+cmd.name) {
			t.Errorf("%s --help has no example:\n%s", cmd.name, r.stdout)
		}
	}
	r = c.run("")
	expect(t, r, exitUsage, "no command")
	if !strings.Contains(r.stderr, "Usage:") || r.stdout != "" {
		t.Errorf("no command: usage must go to stderr only: %v", r)
	}
	expect(t, c.run("", "nonsense"), exitUsage, "unknown command")
	expect(t, c.run("", "download"), exitUsage, "download without FILE")
	expect(t, c.run("", "status", "--nope"), exitUsage, "unknown flag")
}

func TestE2ECheck(t *testing.T) {
	c := newCLI(t)
	good := testkeys.SecretKey(testkeys.Fields{})
	c.addSecrets(good)
	r := c.run("", "check", c.file("key.txt", good, 0o600))
	expect(t, r, exitOK, "check of a good key")
	if !strings.Contains(r.stdout, testkeys.Tenant) {
		t.Errorf("check does not name the tenant: %q", r.stdout)
	}
	expect(t, c.run(string(good), "check", "-"), exitOK, "check - of a good key")

	// A key with a wrong secret type, an http token URL and no credential-type.
	var m map[string]any
	if err := json.Unmarshal(testkeys.SecretKey(testkeys.Fields{Type: "-"}), &m); err != nil {
		t.Fatal(err)
	}
	uaa := m["uaa"].(map[string]any)
	uaa["clientsecret"] = 42
	uaa["url"] = "http://acme.example"
	bad, _ := json.Marshal(m)
	r = c.run(string(bad), "check", "-")
	expect(t, r, exitNo, "check of a broken key")
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	var problems, warnings []string
	for _, l := range lines {
		switch {
		case strings.Contains(l, ": warning: ") || strings.HasPrefix(l, "warning: "):
			warnings = append(warnings, l)
		case strings.HasPrefix(l, "uaa.") || strings.HasPrefix(l, "endpoints."):
			if len(warnings) > 0 {
				t.Errorf("problem %q comes after a warning", l)
			}
			problems = append(problems, l)
		}
	}
	if !hasPrefix(problems, "uaa.clientsecret: ") || !hasPrefix(problems, "uaa.url: ") {
		t.Errorf("want a line each for uaa.clientsecret and uaa.url, got:\n%s", r.stderr)
	}
	if len(warnings) == 0 {
		t.Errorf("no warning for the missing credential-type:\n%s", r.stderr)
	}

	r = c.run("not json at all", "check", "-")
	expect(t, r, exitNo, "check of text")
	missing := filepath.Join(c.dir, "nope.txt")
	r = c.run("", "check", missing)
	expect(t, r, exitNo, "check of a missing file")
	mentionsPath(t, r.stderr, missing, "does not exist")
	r = c.run("", "check", c.dir)
	expect(t, r, exitNo, "check of a folder")
	mentionsPath(t, r.stderr, c.dir, "is a folder")
	r = c.run(strings.Repeat("x", vault.MaxFileSize+1), "check", "-")
	expect(t, r, exitNo, "check of too large an input")
	expect(t, c.run("", "status"), exitNo, "status after check (check must not store)")
}

func hasPrefix(lines []string, p string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func TestE2ESecretKeyLifecycle(t *testing.T) {
	c := newCLI(t)
	key := testkeys.SecretKey(testkeys.Fields{})
	c.addSecrets(key)
	keyFile := c.file("cloudalm-key.txt", key, 0o644)

	r := c.run("", "status")
	expect(t, r, exitNo, "status before upload")
	r = c.run("", "status", "--json")
	expect(t, r, exitNo, "status --json before upload")
	var none statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &none); err != nil || none.Stored || none.ErrorCode != "not_stored" {
		t.Errorf("status --json before upload: %v (%v)", r, err)
	}
	expect(t, c.run("", "show"), exitNo, "show before upload")
	expect(t, c.run("", "download", "x.txt"), exitNo, "download before upload")

	r = c.run("", "upload", keyFile)
	expect(t, r, exitOK, "upload")
	r = c.run("", "upload", keyFile)
	expect(t, r, exitNo, "second upload")
	if !strings.Contains(r.stderr, "tenant "+testkeys.Tenant+" already has a service key: delete it first") {
		t.Errorf("second upload does not say the tenant has a key: %q", r.stderr)
	}

	r = c.run("", "status")
	expect(t, r, exitOK, "status")
	for _, want := range []string{testkeys.Tenant, "eu10", testkeys.ClientID, "binding-secret", "https://eu10.alm.cloud.sap/api", "cloudalm-key.txt", vault.NoCertificate} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	r = c.run("", "status", "--json")
	expect(t, r, exitOK, "status --json")
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json is not one JSON object: %v\n%s", err, r.stdout)
	}
	want := map[string]any{
		"stored": true, "service": c.service, "tenant": testkeys.Tenant, "region": "eu10",
		"client_id": testkeys.ClientID, "credential_type": "binding-secret", "credential_type_declared": true,
		"api_endpoint": "https://eu10.alm.cloud.sap/api", "file_name": "cloudalm-key.txt",
		"token_url": "https://" + testkeys.Tenant + ".authentication.eu10.hana.ondemand.com/oauth/token",
	}
	for k, v := range want {
		if st[k] != v {
			t.Errorf("status --json %s = %v, want %v", k, st[k], v)
		}
	}
	if _, ok := st["cert_expiry"]; ok {
		t.Error("status --json has cert_expiry for a client-secret key")
	}
	up, err := time.Parse(time.RFC3339, fmt.Sprint(st["uploaded_at"]))
	if err != nil || time.Since(up) > time.Hour || time.Until(up) > time.Minute {
		t.Errorf("status --json uploaded_at = %v, want about now", st["uploaded_at"])
	}

	r = c.run("", "show")
	expect(t, r, exitOK, "show")
	var shown map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatalf("show is not JSON: %v", err)
	}
	if u := shown["uaa"].(map[string]any); u["clientid"] != testkeys.ClientID || u["clientsecret"] == "" || u["clientsecret"] == nil {
		t.Errorf("show: clientid %v, clientsecret %v; want the id and a mask", u["clientid"], u["clientsecret"])
	}
	r = c.run("", "show", "--reveal")
	expect(t, r, exitOK, "show --reveal")
	if !strings.Contains(r.stdout, testkeys.Secret) {
		// Also proves the scan looks for the right string.
		t.Error("show --reveal does not show the secret")
	}

	out := filepath.Join(c.dir, "downloaded.txt")
	expect(t, c.run("", "download", out), exitOK, "download")
	assertFile(t, out, key)
	r = c.run("", "download", "-")
	expect(t, r, exitOK, "download -")
	if r.stdout != string(key) {
		t.Error("download - differs from the uploaded file")
	}

	r = c.run("", "delete")
	expect(t, r, exitUsage, "delete without --yes and without a terminal")
	expect(t, c.run("", "status"), exitOK, "status after a refused delete")
	r = c.run("", "delete", "--yes")
	expect(t, r, exitOK, "delete --yes")
	expect(t, c.run("", "status"), exitNo, "status after delete")
	expect(t, c.run("", "delete", "--yes"), exitNo, "delete with nothing stored")
	// After a delete, upload works again.
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload after delete")
	if c.runs < 15 {
		t.Errorf("only %d runs scanned", c.runs)
	}
}

// mentionsPath checks that a message names path exactly as given (on
// Windows with its drive letter and backslashes) and says what it should.
func mentionsPath(t *testing.T, msg, path, says string) {
	t.Helper()
	if !strings.Contains(msg, path) || !strings.Contains(msg, says) {
		t.Errorf("the message does not name %s or lacks %q: %q", path, says, msg)
	}
}

// assertFile checks that path holds exactly want and that only its owner
// can read it: mode 0600, on Windows an access list for the user alone.
func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes differ from the %d uploaded", filepath.Base(path), len(got), len(want))
	}
	if err := privfile.Check(path); err != nil {
		t.Error(err)
	}
}

func TestE2EDownloadOverwrite(t *testing.T) {
	c := newCLI(t)
	key := testkeys.SecretKey(testkeys.Fields{})
	c.addSecrets(key)
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload -")

	old := []byte("an older file the user cares about\n")
	target := c.file("existing.txt", old, 0o644)
	r := c.run("", "download", target)
	expect(t, r, exitNo, "download over an existing file")
	mentionsPath(t, r.stderr, target, "--force")
	if got, _ := os.ReadFile(target); !bytes.Equal(got, old) {
		t.Fatal("the refused download changed the existing file")
	}
	// --force after the file name, as users type it.
	r = c.run("", "download", target, "--force")
	expect(t, r, exitOK, "download FILE --force")
	mentionsPath(t, r.stdout, target, "readable by you only")
	assertFile(t, target, key)
	if err := os.Chmod(target, 0o666); err != nil {
		t.Fatal(err)
	}
	expect(t, c.run("", "download", "--force", target), exitOK, "download --force FILE")
	assertFile(t, target, key)

	// A relative name lands in the working directory.
	expect(t, c.run("", "download", "rel.txt"), exitOK, "download to a relative name")
	assertFile(t, filepath.Join(c.dir, "rel.txt"), key)

	// A folder that does not exist: exit 1, nothing left behind.
	nowhere := filepath.Join(c.dir, "no", "such", "dir", "k.txt")
	r = c.run("", "download", nowhere)
	expect(t, r, exitNo, "download into a missing folder")
	mentionsPath(t, r.stderr, nowhere, "Nothing was written")
	if strings.Contains(r.stderr, "..") {
		t.Errorf("the OS's reason ends in a doubled period: %q", r.stderr)
	}
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestE2EX509FromStdin(t *testing.T) {
	c := newCLI(t)
	ca := testkeys.NewCA(t)
	expiry := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	chain, keyPEM := ca.Client(t, "calmkey-test", expiry, testkeys.RSAPKCS1)
	key := testkeys.X509Key(testkeys.Fields{}, chain, keyPEM)
	c.addSecrets(key)

	r := c.run(string(key), "upload", "-")
	expect(t, r, exitOK, "upload - of an x509 key")
	r = c.run("", "status", "--json")
	expect(t, r, exitOK, "status --json")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.CredentialType != "x509" || st.CertExpiry == nil || !st.CertExpiry.Equal(expiry) || st.FileName != "" {
		t.Errorf("status --json: type %q, cert_expiry %v (want %v), file_name %q", st.CredentialType, st.CertExpiry, expiry, st.FileName)
	}
	if !strings.HasPrefix(st.TokenURL, "https://"+testkeys.Tenant+".authentication.cert.") {
		t.Errorf("token_url %q is not the certurl", st.TokenURL)
	}
	r = c.run("", "status")
	if !strings.Contains(r.stdout, "Certificate expiry:  "+vault.FormatTime(expiry)+" (in ") || !strings.Contains(r.stdout, "x509") {
		t.Errorf("status does not show the certificate expiry:\n%s", r.stdout)
	}
	r = c.run("", "show")
	expect(t, r, exitOK, "show")
	if !strings.Contains(r.stdout, "BEGIN CERTIFICATE") {
		t.Error("show hides the certificate, which is public")
	}
	r = c.run("", "show", "--reveal")
	if !strings.Contains(r.stdout, c.secrets[len(c.secrets)-1]) {
		t.Error("show --reveal does not show the private key")
	}
	out := filepath.Join(c.dir, "x509.txt")
	expect(t, c.run("", "download", out), exitOK, "download")
	assertFile(t, out, key)
}

// Keys as users have them: a Windows download (BOM, CRLF) comes back byte for
// byte; cf v8 output comes back as the key object's own text.
func TestE2EKeyForms(t *testing.T) {
	c := newCLI(t)
	key := testkeys.SecretKey(testkeys.Fields{})
	c.addSecrets(key)

	windows := append([]byte("\xef\xbb\xbf"), bytes.ReplaceAll(key, []byte("\n"), []byte("\r\n"))...)
	expect(t, c.run("", "upload", c.file("win.txt", windows, 0o600)), exitOK, "upload of a BOM+CRLF file")
	out := filepath.Join(c.dir, "win-out.txt")
	expect(t, c.run("", "download", out), exitOK, "download")
	assertFile(t, out, windows)
	expect(t, c.run("", "delete", "--yes"), exitOK, "delete")

	wrapped := []byte("{\"credentials\": " + string(key) + "}\n")
	expect(t, c.run(string(wrapped), "upload", "-"), exitOK, "upload - of cf v8 output")
	parsed, err := vault.Parse(wrapped)
	if err != nil {
		t.Fatal(err)
	}
	r := c.run("", "download", "-")
	expect(t, r, exitOK, "download -")
	if r.stdout != string(parsed.Bytes()) || strings.Contains(r.stdout, "credentials") {
		t.Errorf("download of a cf v8 key is not the key object's text:\n%.200s", r.stdout)
	}
}

// BenchmarkE2EStatus is what a script pays per call: start the binary, load
// the key from the real Secret Service, print.
func BenchmarkE2EStatus(b *testing.B) {
	harness.Require(b)
	bin := binary(b)
	service := "calmkey-bench-" + fmt.Sprint(time.Now().UnixNano())
	env := append(os.Environ(), ServiceEnv+"="+service)
	runB := func(stdin string, args ...string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("calmkeyctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	runB(string(testkeys.SecretKey(testkeys.Fields{})), "upload", "-")
	b.Cleanup(func() { runB("", "delete", "--yes") })
	for b.Loop() {
		runB("", "status")
	}
}

// testDeleteOnTerminal: on a terminal, delete asks, naming the tenant; "n"
// keeps the key and "y" deletes it. onTerminal runs "calmkeyctl delete" on
// a terminal of the OS and types answer and Enter.
func testDeleteOnTerminal(t *testing.T, onTerminal func(c *cli, answer string) result) {
	c := newCLI(t)
	key := testkeys.SecretKey(testkeys.Fields{})
	c.addSecrets(key)
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload")
	ask := func(answer string) result {
		t.Helper()
		r := onTerminal(c, answer)
		c.scan([]string{"delete"}, r)
		return r
	}
	r := ask("n")
	expect(t, r, exitNo, "delete answered n on a terminal")
	if !strings.Contains(r.stdout, "[y/N]") || !strings.Contains(r.stdout, testkeys.Tenant) {
		t.Errorf("delete on a terminal did not ask naming the tenant: %q", r.stdout)
	}
	expect(t, c.run("", "status"), exitOK, "status after a declined delete")
	r = ask("y")
	expect(t, r, exitOK, "delete answered y on a terminal")
	expect(t, c.run("", "status"), exitNo, "status after delete")
}
