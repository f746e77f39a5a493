package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/calmkey/calmkey/internal/earlierkey"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// End-to-end tests of issue 14's findings on the real keychain.

// TestE2EListDamagedAndLookAlike: list vouches only for what it read. With
// a part of one key tampered on the real keychain, list shows that tenant
// as damaged (text and --json), as status and download do, and the others
// as they are; a key that an earlier calmkey stored under a look-alike of
// a tenant's name is flagged in list and status.
func TestE2EListDamagedAndLookAlike(t *testing.T) {
	c := newCLI(t)
	keys := map[string][]byte{}
	for i, tenant := range []string{"acme-prod", "acme-dev", "аcme-prod"} {
		keys[tenant] = testkeys.SecretKey(testkeys.Fields{Tenant: tenant, ClientID: fmt.Sprintf("sb-list-%d!b1|sapcloudalm!b16907", i), Secret: fmt.Sprintf("list-secret-%d-0a1b2c3d4e5f", i)})
		c.addSecrets(keys[tenant])
	}
	expect(t, c.run(string(keys["acme-prod"]), "upload", "-"), exitOK, "upload acme-prod")
	expect(t, c.run(string(keys["acme-dev"]), "upload", "-"), exitOK, "upload acme-dev")
	earlierkey.Store(t, vault.KeyringBackend{}, c.service, "", keys["аcme-prod"], "")

	part := vault.PartItem("acme-dev", 1)
	v, err := keyring.Get(c.service, part)
	if err != nil {
		t.Fatalf("raw read of part 1 of acme-dev: %v", err)
	}
	if err := keyring.Set(c.service, part, strings.Replace(v, "sb-list-1", "sb-list-9", 1)); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status", "--tenant", "acme-dev"}, {"download", "-", "--tenant", "acme-dev"}} {
		r := c.run("", args...)
		if r.code != exitNo || !strings.Contains(r.stderr, "the stored service key of tenant acme-dev is damaged") {
			t.Errorf("%s of the tampered key: %v", args[0], r)
		}
	}

	r := c.run("", "list")
	expect(t, r, exitOK, "list")
	if !regexp.MustCompile(`damaged: see 'calmkeyctl status --tenant acme-dev'\s+acme-dev\n`).MatchString(r.stdout) ||
		!regexp.MustCompile(`not tested\s+acme-prod\n`).MatchString(r.stdout) ||
		!regexp.MustCompile(`not tested\s+аcme-prod  \(not a valid tenant name: see below\)\n`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, `Warning: "аcme-prod" is not a valid tenant (subdomain) name`) {
		t.Errorf("list with a tampered key and a look-alike:\n%s", r.stdout)
	}
	r = c.run("", "list", "--json")
	expect(t, r, exitOK, "list --json")
	var l listJSON
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Tenants) != 3 {
		t.Fatalf("list --json: %v (%v)", r, err)
	}
	for _, tj := range l.Tenants {
		switch tj.Tenant {
		case "acme-dev":
			if tj.ErrorCode != "corrupt" || tj.ClientID != "" {
				t.Errorf("list --json shows the tampered key as %+v", tj)
			}
		case "acme-prod":
			if tj.ErrorCode != "" || tj.TenantNameError != "" || tj.ClientID == "" {
				t.Errorf("list --json shows acme-prod as %+v", tj)
			}
		case "аcme-prod":
			if tj.ErrorCode != "" || !strings.Contains(tj.TenantNameError, "not a valid tenant (subdomain) name") {
				t.Errorf("list --json shows the look-alike as %+v", tj)
			}
		default:
			t.Errorf("list --json shows %q", tj.Tenant)
		}
	}
	r = c.run("", "status", "--tenant", "аcme-prod")
	if r.code != exitOK || !strings.Contains(r.stdout, "may imitate another tenant's name") {
		t.Errorf("status of the look-alike: %v", r)
	}
}

// cacheRoundsEnv sets the rounds of TestE2EUploadsAcrossCacheFolders; the
// issue's reproduction ran 8.
const cacheRoundsEnv = "CALMKEY_E2E_CACHE_ROUNDS"

// TestE2EUploadsAcrossCacheFolders is the reproduction of issue 14: rounds
// of 6 calmkeyctl uploads of different tenants at once, each process with
// a HOME, XDG_CACHE_HOME and XDG_CONFIG_HOME of its own (as under cron, a
// systemd user unit, sudo -E or a sandboxed shell; on Windows, its own
// AppData folders), against one keychain. Every upload exits 0, and list
// then shows every tenant uploaded so far: none was lost from the index,
// whichever lock file each process found.
func TestE2EUploadsAcrossCacheFolders(t *testing.T) {
	c := newCLI(t)
	rounds := 3
	if s := os.Getenv(cacheRoundsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", cacheRoundsEnv, s)
		}
		rounds = n
	}
	const racers = 6
	var want []string
	for round := range rounds {
		type proc struct {
			tenant string
			run    func() result
		}
		var procs []proc
		for i := range racers {
			tenant := fmt.Sprintf("cache-r%d-t%d", round, i)
			key := testkeys.SecretKey(testkeys.Fields{Tenant: tenant, Secret: fmt.Sprintf("cache-secret-%d-%d-0a1b2c3d", round, i)})
			c.addSecrets(key)
			cmd, out, errb, err := c.launch(ownFolders(t, c.dir, round, i), string(key), "upload", "-")
			if err != nil {
				t.Fatal(err)
			}
			procs = append(procs, proc{tenant, func() result { return c.outcome(cmd.Wait(), out.String(), errb.String(), []string{"upload", "-"}) }})
		}
		for _, p := range procs {
			expect(t, p.run(), exitOK, fmt.Sprintf("round %d: upload of %s", round, p.tenant))
			want = append(want, p.tenant)
		}
		r := c.run("", "list", "--json")
		var l listJSON
		if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || r.code != exitOK {
			t.Fatalf("round %d: list --json: %v (%v)", round, r, err)
		}
		var got []string
		for _, tj := range l.Tenants {
			if tj.ErrorCode != "" {
				t.Errorf("round %d: %s is listed as %s: %s", round, tj.Tenant, tj.ErrorCode, tj.Error)
			}
			got = append(got, tj.Tenant)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: list shows %d tenants, want %d; missing %v", round, len(got), len(want), missing(want, got))
		}
	}
	t.Logf("%d rounds of %d uploads with folders of their own: every tenant listed", rounds, racers)
}

// ownFolders is the environment of upload i of round: a home, cache and
// config folder of its own.
func ownFolders(t *testing.T, dir string, round, i int) []string {
	home := filepath.Join(dir, fmt.Sprintf("home-%d-%d", round, i))
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}
	if runtime.GOOS == "windows" {
		env = append(env, "USERPROFILE="+home, "LOCALAPPDATA="+filepath.Join(home, "Local"), "APPDATA="+filepath.Join(home, "Roaming"))
	}
	return env
}

func missing(want, got []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}
