package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/calmkey/calmkey/internal/earlierkey"
	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// TestE2ETenants: the binary with keys of four tenants on the real keychain
// (the Secret Service; Credential Manager under Wine), two of which log on
// and two are rejected, with names of every kind (a space, another script,
// 300 characters; upload refuses them now, so they are stored as an earlier
// calmkey stored them): every view names them exactly, key commands without
// --tenant exit 2 listing them, test --all tests them all and list shows
// the last tests; deleting one leaves the others' items byte for byte.
func TestE2ETenants(t *testing.T) {
	good := fakealm.Start(t, fakealm.Options{})
	bad := fakealm.Start(t, fakealm.Options{})
	bad.RejectKey(true)
	c := newCLI(t)
	c.env = append(c.env, "SSL_CERT_FILE="+c.file("fake-cas.pem", append(append([]byte{}, good.CA.CertPEM...), bad.CA.CertPEM...), 0o644))
	long := strings.Repeat("sehr-langer-mandant-", 15)
	keys := map[string][]byte{
		"acme-dev":           good.SecretKeyWith(testkeys.Fields{Tenant: "acme-dev"}),
		"mandant-münchen-東京": good.X509KeyWith(testkeys.Fields{Tenant: "mandant-münchen-東京"}),
		"acme prod":          bad.SecretKeyWith(testkeys.Fields{Tenant: "acme prod"}),
		long:                 bad.X509KeyWith(testkeys.Fields{Tenant: long}),
	}
	names := slices.Sorted(maps.Keys(keys))
	for _, n := range names {
		c.addSecrets(keys[n])
		r := c.run(string(keys[n]), "upload", "-")
		if vault.TenantNameError(n) != nil {
			// Refused now; stored as an earlier calmkey did, it must work.
			expect(t, r, exitNo, "upload of "+n)
			if !strings.Contains(r.stderr, "uaa.identityzone: is not a valid tenant (subdomain) name") {
				t.Errorf("upload of %q is not refused for its name: %q", n, r.stderr)
			}
			earlierkey.Store(t, vault.KeyringBackend{}, c.service, "", keys[n], "")
			continue
		}
		expect(t, r, exitOK, "upload of "+n)
		if !strings.Contains(r.stdout, "tenant "+n+" (") {
			t.Errorf("upload does not name %q: %q", n, r.stdout)
		}
	}
	r := c.run(string(good.SecretKeyWith(testkeys.Fields{Tenant: "acme-dev", ClientID: "sb-2nd!b1|sapcloudalm!b2"})), "upload", "-")
	expect(t, r, exitNo, "a second key for acme-dev")
	if !strings.Contains(r.stderr, "tenant acme-dev already has a service key: delete it first") {
		t.Errorf("second key: %q", r.stderr)
	}

	r = c.run("", "status")
	expect(t, r, exitUsage, "status with four tenants")
	if !strings.Contains(r.stderr, "4 tenants have a service key; name one with --tenant NAME:\n  "+strings.Join(names, "\n  ")+"\n") {
		t.Errorf("status does not list the tenants:\n%s", r.stderr)
	}
	for _, n := range names {
		r := c.run("", "status", "--tenant", n, "--json")
		expect(t, r, exitOK, "status --json --tenant "+n)
		var st statusJSON
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Tenant != n {
			t.Errorf("status --json --tenant %q shows %q (%v)", n, st.Tenant, err)
		}
		r = c.run("", "show", "--tenant", n)
		expect(t, r, exitOK, "show --tenant "+n)
		var shown struct {
			UAA struct {
				Zone string `json:"identityzone"`
			} `json:"uaa"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || shown.UAA.Zone != n {
			t.Errorf("show --tenant %q: %v", n, err)
		}
		r = c.run("", "download", "-", "--tenant", n)
		if r.code != exitOK || r.stdout != string(keys[n]) {
			t.Errorf("download --tenant %q: exit %d, other bytes", n, r.code)
		}
	}

	r = c.run("", "list")
	expect(t, r, exitOK, "list")
	for _, n := range names {
		// Names that are not subdomains, stored by an earlier calmkey, are flagged.
		flag := ""
		if vault.TenantNameError(n) != nil {
			flag = "  (not a valid tenant name: see below)"
		}
		if !strings.Contains(r.stdout, "not tested  "+n+flag+"\n") {
			t.Errorf("list lacks %q as not tested:\n%s", n, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "\nWarning: the 3 names flagged above are not valid tenant (subdomain) names.") {
		t.Errorf("list does not say why it flags the names:\n%s", r.stdout)
	}

	r = c.run("", "test", "--all")
	expect(t, r, exitNo, "test --all with two rejected keys")
	if fakeToken.MatchString(r.stdout + r.stderr) {
		t.Error("test --all printed an access token")
	}
	for _, n := range names {
		word := "ok    "
		if n == "acme prod" || n == long {
			word = "FAIL  "
		}
		if !strings.Contains(r.stdout, "\n"+word+n+" (") {
			t.Errorf("test --all has no %q line for %q:\n%s", strings.TrimSpace(word), n, r.stdout)
		}
	}
	if !strings.HasSuffix(r.stdout, "4 tenants tested: 2 work, 2 fail (acme prod, "+long+").\n") {
		t.Errorf("test --all summary:\n%s", r.stdout)
	}

	r = c.run("", "list", "--json")
	expect(t, r, exitOK, "list --json")
	var l listJSON
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Tenants) != 4 {
		t.Fatalf("list --json: %v (%v)", r, err)
	}
	for i, tj := range l.Tenants {
		want := "works"
		if tj.Tenant == "acme prod" || tj.Tenant == long {
			want = "rejected"
		}
		if tj.Tenant != names[i] || tj.LastTest == nil || tj.LastTest.Result != want {
			t.Errorf("list --json %d: %s, last test %+v, want %s", i, tj.Tenant, tj.LastTest, want)
		}
	}

	r = c.run("", "test", "--all", "--json")
	expect(t, r, exitNo, "test --all --json")
	var aj struct {
		OK      bool       `json:"ok"`
		Summary allSummary `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &aj); err != nil || aj.OK || aj.Summary.Tested != 4 || aj.Summary.Failed != 2 {
		t.Errorf("test --all --json: %+v (%v)", aj, err)
	}

	// Deleting one tenant leaves the others' items byte for byte, read raw.
	others := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "acme prod" })
	before := c.rawTenantItems(others)
	expect(t, c.run("", "delete", "--tenant", "acme prod", "--yes"), exitOK, "delete --tenant 'acme prod'")
	if after := c.rawTenantItems(others); !maps.Equal(after, before) {
		t.Errorf("deleting 'acme prod' changed the other tenants' items (%d items, %d before)", len(after), len(before))
	}
	if left := c.rawItems("acme prod", 4); len(left) != 0 {
		t.Errorf("items of 'acme prod' left: %v", left)
	}
	r = c.run("", "list")
	if strings.Contains(r.stdout, "acme prod") || !strings.Contains(r.stdout, "3 service keys stored") {
		t.Errorf("list after the delete:\n%s", r.stdout)
	}
}

// rawTenantItems reads the manifests and parts of the tenants' keys raw
// through go-keyring.
func (c *cli) rawTenantItems(tenants []string) map[string]string {
	c.t.Helper()
	items := map[string]string{}
	for _, tenant := range tenants {
		for _, user := range append([]string{vault.KeyItem(tenant)}, partNames(tenant, 6)...) {
			if v, err := keyring.Get(c.service, user); err == nil {
				items[user] = v
			}
		}
	}
	if len(items) < 2*len(tenants) {
		c.t.Fatalf("only %d raw items for %d keys", len(items), len(tenants))
	}
	return items
}
