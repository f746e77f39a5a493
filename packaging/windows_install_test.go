//go:build disttest

package packaging

// Tests of the Windows installer (the MSI that scripts/msi builds from
// packaging/calmkey.wxs) installed, upgraded, refused and removed under Wine,
// of the MSI's tables, of signing (scripts/sign) with a throwaway
// certificate, and of the winget and Scoop manifests.

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/calmkey/calmkey/internal/testkeys"
	wt "github.com/calmkey/calmkey/internal/windowtest"
)

// upgradeCode is the MSI's UpgradeCode in packaging/calmkey.wxs; it must
// never change, or an install of a new release would not replace the old.
const upgradeCode = "{57D89A30-2AA5-46BD-BFC6-6855034E9CA6}"

// msiTable exports one table of an MSI as rows of named columns.
func msiTable(t testing.TB, msi, table string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(run(t, "", "msiinfo", "export", msi, table), "\r\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("msiinfo export %s %s: no header", msi, table)
	}
	cols := strings.Split(strings.TrimRight(lines[0], "\r"), "\t")
	var rows []map[string]string
	for _, l := range lines[3:] {
		row := map[string]string{}
		for i, v := range strings.Split(strings.TrimRight(l, "\r"), "\t") {
			if i < len(cols) {
				row[cols[i]] = v
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func msiProperties(t testing.TB, msi string) map[string]string {
	t.Helper()
	props := map[string]string{}
	for _, r := range msiTable(t, msi, "Property") {
		props[r["Property"]] = r["Value"]
	}
	return props
}

// TestMSITables reads the MSI as Windows Installer will: a per-user package
// that asks for no elevation, with this version, the stable UpgradeCode, the
// refusal of a downgrade, the PATH entry and the zip's four files.
func TestMSITables(t *testing.T) {
	msi := dist(msiName())
	props := msiProperties(t, msi)
	for k, v := range map[string]string{"ProductName": "calmkey", "ProductVersion": version, "UpgradeCode": upgradeCode} {
		if props[k] != v {
			t.Errorf("MSI property %s=%q, want %q", k, props[k], v)
		}
	}
	if !regexp.MustCompile(`^\{[0-9A-F-]{36}\}$`).MatchString(props["ProductCode"]) {
		t.Errorf("MSI ProductCode %q is not a GUID", props["ProductCode"])
	}
	// A per-user package sets no ALLUSERS (1 or 2 would make it per-machine or
	// let Windows choose) and marks itself as needing no elevation (word
	// count bit 8): Windows then shows no UAC prompt.
	if v, ok := props["ALLUSERS"]; ok {
		t.Errorf("MSI sets ALLUSERS=%q: a per-user package sets none", v)
	}
	sum := run(t, "", "msiinfo", "suminfo", msi)
	m := regexp.MustCompile(`(?m)^Source: (\d+)`).FindStringSubmatch(sum)
	if m == nil {
		t.Fatalf("msiinfo suminfo shows no word count:\n%s", sum)
	}
	if wc, _ := strconv.Atoi(m[1]); wc&8 == 0 {
		t.Errorf("MSI word count %d lacks bit 8 (no elevation needed): Windows would ask for administrator rights", wc)
	}
	if !strings.Contains(sum, "Template: x64;1033") {
		t.Errorf("MSI is not an x64 package:\n%s", sum)
	}

	conds := msiTable(t, msi, "LaunchCondition")
	if len(conds) != 1 || conds[0]["Condition"] != "NOT WIX_DOWNGRADE_DETECTED" || !strings.Contains(conds[0]["Description"], "newer version of calmkey is already installed") {
		t.Errorf("MSI launch conditions %v: want the downgrade refused with a message", conds)
	}
	env := msiTable(t, msi, "Environment")
	if len(env) != 1 || env[0]["Name"] != "=-Path" || env[0]["Value"] != "[~];[INSTALLDIR]" {
		t.Errorf("MSI Environment table %v: want the install folder appended to the user's Path and removed on uninstall", env)
	}

	// The MSI holds the zip's files, byte for byte.
	dir := t.TempDir()
	run(t, "", "msiextract", "-C", dir, msi)
	got := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got[d.Name()], _ = os.ReadFile(p)
		}
		return err
	})
	for _, name := range []string{"calmkey.exe", "calmkeyctl.exe", "README.md", "LICENSE"} {
		want, err := os.ReadFile(filepath.Join(unzipped(t), name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[name], want) {
			t.Errorf("the MSI's %s differs from the zip's", name)
		}
		delete(got, name)
	}
	if len(got) > 0 {
		t.Errorf("the MSI installs more files than the zip has: %v", sortedKeys(got))
	}
}

// nextVersion is version with its last number one higher.
func nextVersion(t testing.TB) string {
	t.Helper()
	i := strings.LastIndex(version, ".")
	n, err := strconv.Atoi(version[i+1:])
	if err != nil {
		t.Fatalf("version %q does not end in a number", version)
	}
	return version[:i+1] + strconv.Itoa(n+1)
}

// wine runs a Windows program and returns its output, its exit status (as
// the Unix exit status carries it: the low 8 bits) and how long it ran.
func wine(t testing.TB, env []string, args ...string) (string, int, time.Duration) {
	t.Helper()
	cmd := exec.Command("wine", args...)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode(), took
	case err != nil:
		t.Fatalf("wine %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0, took
}

// winPath is an absolute Linux path as Windows programs under Wine see it
// (drive Z:). msiexec needs it: it would take "/tmp/..." for an option.
func winPath(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }

// msiexec runs msiexec ACTION MSI silently with a verbose log, and fails the
// test with that log when the exit status is not want.
func msiexec(t testing.TB, want int, action, msi string) time.Duration {
	t.Helper()
	log := filepath.Join(t.TempDir(), "msiexec.log")
	out, code, took := wine(t, nil, "msiexec", action, winPath(msi), "/qn", "/l*v", winPath(log))
	if code != want {
		b, _ := os.ReadFile(log)
		t.Fatalf("msiexec %s %s: exit status %d, want %d\n%s\nlog:\n%s", action, filepath.Base(msi), code, want, out, b)
	}
	return took
}

// installedProducts lists the calmkey entries in Apps (the Uninstall keys,
// per user and per machine: Wine records a per-user install in the latter)
// as their DisplayVersion.
func installedProducts(t testing.TB) []string {
	t.Helper()
	var versions []string
	for _, root := range []string{"HKCU", "HKLM"} {
		out, code, _ := wine(t, nil, "reg", "query", root+`\Software\Microsoft\Windows\CurrentVersion\Uninstall`, "/s")
		if code != 0 {
			continue // no such key
		}
		for _, entry := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n\n") {
			vals := regValues(entry)
			if vals["DisplayName"] == "calmkey" {
				versions = append(versions, vals["DisplayVersion"])
			}
		}
	}
	return versions
}

// regValues reads "    NAME    REG_TYPE    VALUE" lines from reg query.
func regValues(out string) map[string]string {
	vals := map[string]string{}
	out = strings.ReplaceAll(out, "\r", "")
	for _, m := range regexp.MustCompile(`(?m)^[ \t]+(\S+)[ \t]+REG_\w+[ \t]*(.*?)[ \t]*$`).FindAllStringSubmatch(out, -1) {
		vals[m[1]] = m[2]
	}
	return vals
}

// userPath is the user's own Path (HKCU\Environment), split at ';'.
func userPath(t testing.TB) []string {
	t.Helper()
	out, code, _ := wine(t, nil, "reg", "query", `HKCU\Environment`, "/v", "Path")
	if code != 0 {
		return nil
	}
	var dirs []string
	for _, d := range strings.Split(regValues(out)["Path"], ";") {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// TestWindowsMSI installs the MSI under Wine as a user without
// administrator rights would (msiexec /i /qn), starts what it installed,
// upgrades it with an MSI of the next version, has the older MSI refused,
// and uninstalls: no file, shortcut or PATH entry is left, and a key stored
// before is still in the Credential Manager. -v shows the times.
func TestWindowsMSI(t *testing.T) {
	wt.RequireTools(t)
	winePrefix(t)
	// No Linux menu entries for the Start-menu shortcut.
	t.Setenv("WINEDLLOVERRIDES", "mscoree,mshtml=;winemenubuilder.exe=d")
	prefix := os.Getenv("WINEPREFIX")
	msi, err := filepath.Abs(dist(msiName()))
	if err != nil {
		t.Fatal(err)
	}

	// The higher version's MSI, built as make dist builds one, from the
	// zip's files.
	next := nextVersion(t)
	nextMSI := filepath.Join(t.TempDir(), "calmkey-"+next+"-windows-amd64.msi")
	run(t, root, "scripts/msi", next, unzipped(t), nextMSI)

	users := filepath.Join(prefix, "drive_c", "users")
	installed := func() []string {
		m, _ := filepath.Glob(filepath.Join(users, "*", "AppData", "Local", "Programs", "calmkey", "*"))
		return m
	}
	shortcut := func() []string {
		m, _ := filepath.Glob(filepath.Join(users, "*", "AppData", "Roaming", "Microsoft", "Windows", "Start Menu", "Programs", "calmkey.lnk"))
		return m
	}
	inPath := func() bool {
		for _, d := range userPath(t) {
			if strings.HasSuffix(strings.TrimRight(d, `\`), `\AppData\Local\Programs\calmkey`) {
				return true
			}
		}
		return false
	}
	var dir string // the install folder, on Linux
	var svc string // the keychain service of the key stored before the uninstall

	if !t.Run("install", func(t *testing.T) {
		took := msiexec(t, 0, "/i", msi)
		t.Logf("msiexec /i %s took %v", msiName(), took.Round(time.Millisecond))
		files := installed()
		var names []string
		for _, f := range files {
			names = append(names, filepath.Base(f))
		}
		sort.Strings(names)
		if strings.Join(names, " ") != "LICENSE README.md calmkey.exe calmkeyctl.exe" {
			t.Fatalf("installed under AppData\\Local\\Programs\\calmkey: %v; want calmkey.exe, calmkeyctl.exe, README.md, LICENSE", names)
		}
		dir = filepath.Dir(files[0])
		for _, pf := range []string{"Program Files", "Program Files (x86)"} {
			if m, _ := filepath.Glob(filepath.Join(prefix, "drive_c", pf, "calmkey*")); len(m) > 0 {
				t.Errorf("the per-user MSI installed into %s: %v", pf, m)
			}
		}
		if len(shortcut()) != 1 {
			t.Error("no Start-menu shortcut calmkey.lnk in the user's Start Menu\\Programs")
		}
		if !inPath() {
			t.Errorf("the install folder is not on the user's Path: %q", userPath(t))
		}
		if got := installedProducts(t); len(got) != 1 || got[0] != version {
			t.Errorf("Apps lists calmkey at %v, want once at %s", got, version)
		}
	}) {
		t.FailNow()
	}

	t.Run("installed programs run", func(t *testing.T) {
		out, code, _ := wine(t, nil, filepath.Join(dir, "calmkeyctl.exe"), "version")
		if got := strings.TrimSpace(out); code != 0 || got != versionLine("calmkeyctl") {
			t.Errorf("installed calmkeyctl.exe version: %q (exit %d), want %q", got, code, versionLine("calmkeyctl"))
		}
		svc = wt.StoreWithCLI(t, "wine", filepath.Join(dir, "calmkeyctl.exe"))
		w := wt.Launch(t, []string{"wine", filepath.Join(dir, "calmkey.exe")}, svc)
		t.Logf("the installed calmkey.exe showed its window after %v", w.Shown)
		wt.ExpectStoredKey(t, w, "msi-installed-with-key.png")
		wt.Stop(w)
		if err := waitWineserver(60 * time.Second); err != nil {
			t.Fatalf("wineserver: %v", err)
		}
	})

	t.Run("upgrade", func(t *testing.T) {
		took := msiexec(t, 0, "/i", nextMSI)
		t.Logf("msiexec /i of %s over %s took %v", next, version, took.Round(time.Millisecond))
		if got := installedProducts(t); len(got) != 1 || got[0] != next {
			t.Errorf("after the upgrade Apps lists calmkey at %v, want once at %s", got, next)
		}
		if len(installed()) != 4 || len(shortcut()) != 1 {
			t.Errorf("after the upgrade: files %v, shortcut %v", installed(), shortcut())
		}
		n := 0
		for _, d := range userPath(t) {
			if strings.Contains(d, `\Programs\calmkey`) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("after the upgrade the user's Path holds the install folder %d times: %q", n, userPath(t))
		}
	})

	t.Run("older version refused", func(t *testing.T) {
		// ERROR_INSTALL_FAILURE (1603); a Unix exit status keeps its low 8
		// bits. Wine logs no text for a failed launch condition; the message
		// is checked in the MSI's tables (TestMSITables).
		msiexec(t, 1603&0xff, "/i", msi)
		if got := installedProducts(t); len(got) != 1 || got[0] != next {
			t.Errorf("after the refused downgrade Apps lists calmkey at %v, want once at %s", got, next)
		}
	})

	t.Run("uninstall", func(t *testing.T) {
		took := msiexec(t, 0, "/x", nextMSI)
		t.Logf("msiexec /x took %v", took.Round(time.Millisecond))
		if left := installed(); len(left) > 0 {
			t.Errorf("uninstall left %v", left)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("uninstall left the folder %s", dir)
		}
		if left := shortcut(); len(left) > 0 {
			t.Errorf("uninstall left the shortcut %v", left)
		}
		if inPath() {
			t.Errorf("uninstall left the install folder on the user's Path: %q", userPath(t))
		}
		if got := installedProducts(t); len(got) > 0 {
			t.Errorf("after the uninstall Apps still lists calmkey at %v", got)
		}
		if svc == "" {
			t.Skip("no key was stored (the step before failed)")
		}
		// The zip's calmkeyctl.exe still finds the key stored before.
		out, code, _ := wine(t, []string{svc}, windowsExe(t, "calmkeyctl.exe"), "status", "--tenant", testkeys.Tenant)
		if code != 0 || !strings.Contains(out, testkeys.Tenant) {
			t.Errorf("after the uninstall the key is gone from the Credential Manager: calmkeyctl status (exit %d):\n%s", code, out)
		}
	})
}

// TestSigning signs copies of the Windows downloads with a throwaway
// certificate, as make dist does when CALMKEY_SIGN_PFX_BASE64 is set, and
// verifies each against that certificate; a byte changed after signing
// fails the verification.
func TestSigning(t *testing.T) {
	for _, tool := range []string{"openssl", "osslsigncode"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run scripts/deps.sh dist", tool)
		}
	}
	dir := t.TempDir()
	cert, key, pfx := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pfx")
	run(t, dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
		"-subj", "/CN=calmkey test signing", "-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=codeSigning")
	run(t, dir, "openssl", "pkcs12", "-export", "-inkey", key, "-in", cert, "-out", pfx, "-passout", "pass:throwaway password")
	b, err := os.ReadFile(pfx)
	if err != nil {
		t.Fatal(err)
	}

	files := map[string]string{
		"calmkey.exe":               windowsExe(t, "calmkey.exe"),
		"calmkeyctl.exe":            windowsExe(t, "calmkeyctl.exe"),
		ctlName("windows", "arm64"): dist(ctlName("windows", "arm64")),
		msiName():                   dist(msiName()),
	}
	var signed []string
	for name, src := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name)
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
		signed = append(signed, dst)
	}
	sign := exec.Command(filepath.Join(root, "scripts/sign"), signed...)
	sign.Env = append(os.Environ(), "CALMKEY_SIGN_PFX_BASE64="+base64.StdEncoding.EncodeToString(b), "CALMKEY_SIGN_PASSWORD=throwaway password")
	if out, err := sign.CombinedOutput(); err != nil {
		t.Fatalf("scripts/sign: %v\n%s", err, out)
	}

	verify := func(file string) (string, error) {
		out, err := exec.Command("osslsigncode", "verify", "-CAfile", cert, "-in", file).CombinedOutput()
		return string(out), err
	}
	for _, f := range signed {
		out, err := verify(f)
		if err != nil || !strings.Contains(out, "Succeeded") {
			t.Errorf("osslsigncode verify %s: %v\n%s", filepath.Base(f), err, out)
		} else if !strings.Contains(out, "sha256") && !strings.Contains(out, "SHA256") {
			t.Errorf("%s is not signed with SHA-256:\n%s", filepath.Base(f), out)
		}
	}

	// One byte changed after signing, in the middle of the file (code or
	// data, not the signature at the end).
	for _, f := range signed {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/3] ^= 0xff
		changed := f + ".changed"
		if err := os.WriteFile(changed, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := verify(changed); err == nil {
			t.Errorf("%s changed after signing still verifies:\n%s", filepath.Base(f), out)
		}
	}
}

func sha256hex(t testing.TB, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// readYAML decodes a winget manifest into a generic map, keeping the
// scalars' YAML types, so that a version written unquoted shows as a number.
func readYAML(t testing.TB, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("# yaml-language-server: $schema=https://aka.ms/winget-manifest.")) {
		t.Errorf("%s does not name its schema on its first line", filepath.Base(file))
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", filepath.Base(file), err)
	}
	return m
}

// TestWingetManifests checks the winget manifests structurally, offline:
// the four files of the multi-file set, each with the fields its 1.12.0
// schema requires, versions as strings, and the MSI's codes and hash.
// (The official schemas cannot be had here from a package registry, and
// files from public repositories are not committed, so no JSON Schema
// validation.)
func TestWingetManifests(t *testing.T) {
	w := dist(wingetDir)
	const id = "calmkey.calmkey"
	expectFiles(t, "dist/winget", filesUnder(t, w), map[string]os.FileMode{
		id + ".yaml": 0, id + ".installer.yaml": 0, id + ".locale.en-US.yaml": 0, id + ".locale.de-DE.yaml": 0,
	})
	props := msiProperties(t, dist(msiName()))
	url := releaseURL()

	common := map[string]any{"PackageIdentifier": id, "PackageVersion": version, "ManifestVersion": "1.12.0"}
	for file, want := range map[string]map[string]any{
		id + ".yaml": {"ManifestType": "version", "DefaultLocale": "en-US"},
		id + ".installer.yaml": {"ManifestType": "installer", "InstallerType": "msi", "Scope": "user",
			"ProductCode": props["ProductCode"], "MinimumOSVersion": "10.0.0.0", "UpgradeBehavior": "install"},
		id + ".locale.en-US.yaml": {"ManifestType": "defaultLocale", "PackageLocale": "en-US", "Publisher": "calmkey",
			"PackageName": "calmkey", "License": "Apache-2.0"},
		id + ".locale.de-DE.yaml": {"ManifestType": "locale", "PackageLocale": "de-DE"},
	} {
		m := readYAML(t, filepath.Join(w, file))
		for k, v := range common {
			want[k] = v
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: %s is %#v, want the string %q", file, k, m[k], v)
			}
		}
		if sd, ok := m["ShortDescription"].(string); strings.Contains(file, "locale") && (!ok || len(sd) < 3 || len(sd) > 256) {
			t.Errorf("%s: ShortDescription %q: want 3 to 256 characters", file, sd)
		}
	}

	m := readYAML(t, filepath.Join(w, id+".installer.yaml"))
	entries, _ := m["AppsAndFeaturesEntries"].([]any)
	if len(entries) != 1 {
		t.Fatalf("installer manifest: AppsAndFeaturesEntries %v, want one", m["AppsAndFeaturesEntries"])
	}
	for k, v := range map[string]string{"ProductCode": props["ProductCode"], "UpgradeCode": upgradeCode, "DisplayVersion": version, "DisplayName": "calmkey"} {
		if got := entries[0].(map[string]any)[k]; got != v {
			t.Errorf("installer manifest: AppsAndFeaturesEntries %s is %#v, want %q", k, got, v)
		}
	}
	installers, _ := m["Installers"].([]any)
	if len(installers) != 1 {
		t.Fatalf("installer manifest: Installers %v, want one", m["Installers"])
	}
	inst := installers[0].(map[string]any)
	if inst["Architecture"] != "x64" || inst["InstallerUrl"] != url+"/"+msiName() {
		t.Errorf("installer manifest: installer %v, want x64 at %s/%s", inst, url, msiName())
	}
	if got, want := inst["InstallerSha256"], strings.ToUpper(sha256hex(t, dist(msiName()))); got != want {
		t.Errorf("installer manifest: InstallerSha256 %v, want the MSI's %s", got, want)
	}
}

// releaseURL is the folder that make dist wrote into the manifests.
func releaseURL() string {
	if u := os.Getenv("CALMKEY_RELEASE_URL"); u != "" {
		return strings.TrimRight(u, "/")
	}
	return "https://github.com/calmkey/calmkey/releases/download/v" + version
}

// TestScoopManifest checks dist/calmkey.json: the zip's URL and hash,
// calmkeyctl on PATH, the Start-menu shortcut, checkver and autoupdate.
func TestScoopManifest(t *testing.T) {
	b, err := os.ReadFile(dist(scoopName))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Version      string `json:"version"`
		Description  string `json:"description"`
		Homepage     string `json:"homepage"`
		License      string `json:"license"`
		Architecture map[string]struct {
			URL  string `json:"url"`
			Hash string `json:"hash"`
		} `json:"architecture"`
		Bin        string          `json:"bin"`
		Shortcuts  [][]string      `json:"shortcuts"`
		Checkver   json.RawMessage `json:"checkver"`
		Autoupdate struct {
			Architecture map[string]struct {
				URL  string `json:"url"`
				Hash struct {
					URL string `json:"url"`
				} `json:"hash"`
			} `json:"architecture"`
		} `json:"autoupdate"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", scoopName, err)
	}
	if m.Version != version || m.Description == "" || m.Homepage == "" || m.License != "Apache-2.0" {
		t.Errorf("%s: version %q, description %q, homepage %q, license %q", scoopName, m.Version, m.Description, m.Homepage, m.License)
	}
	a := m.Architecture["64bit"]
	if a.URL != releaseURL()+"/"+zipName() || a.Hash != sha256hex(t, dist(zipName())) {
		t.Errorf("%s: 64bit %+v, want the zip's URL and SHA-256", scoopName, a)
	}
	if m.Bin != "calmkeyctl.exe" {
		t.Errorf("%s: bin %q, want calmkeyctl.exe", scoopName, m.Bin)
	}
	if len(m.Shortcuts) != 1 || fmt.Sprint(m.Shortcuts[0]) != "[calmkey.exe calmkey]" {
		t.Errorf("%s: shortcuts %v, want calmkey.exe as calmkey", scoopName, m.Shortcuts)
	}
	if len(m.Checkver) == 0 {
		t.Errorf("%s has no checkver", scoopName)
	}
	u := m.Autoupdate.Architecture["64bit"]
	if !strings.Contains(u.URL, "$version") || strings.Contains(u.URL, version) ||
		strings.ReplaceAll(u.URL, "$version", version) != a.URL ||
		strings.ReplaceAll(u.Hash.URL, "$version", version) != releaseURL()+"/SHA256SUMS" {
		t.Errorf("%s: autoupdate %+v does not turn into this release's URLs with $version=%s", scoopName, u, version)
	}
}
