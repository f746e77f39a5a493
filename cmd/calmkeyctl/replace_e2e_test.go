package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// End-to-end tests of issue 17: replace, and list --expiring, on the real
// keychain, logging on to fakealm's loopback servers.

const oldClientID = "sb-old-key!b1|sapcloudalm!b16907"

// download is the stored key's bytes, as download - gives them.
func (c *cli) download(t *testing.T, tenant string) string {
	t.Helper()
	r := c.run("", "download", "-", "--tenant", tenant)
	expect(t, r, exitOK, "download -")
	return r.stdout
}

// TestE2EReplace: replace follows the rules in order and says what
// happened; only a key that logs on goes in, and then status and list show
// the replacement and the new key's test.
func TestE2EReplace(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	c := logonCLI(t, srv)
	old := srv.SecretKeyWith(testkeys.Fields{ClientID: oldClientID, Secret: "the-old-secret-0a1b2c3d"})
	fresh := srv.SecretKey() // the client id and secret fakealm accepts
	c.addSecrets(old)
	c.addSecrets(fresh)
	tenant := testkeys.Tenant
	expect(t, c.run(string(old), "upload", "-"), exitOK, "upload the old key")

	r := c.run("not a key", "replace", "-")
	expect(t, r, exitNo, "replace with no key")
	other := srv.SecretKeyWith(testkeys.Fields{Tenant: "acme-other"})
	r = c.run(string(other), "replace", "-")
	expect(t, r, exitNo, "replace with another tenant's key")
	if !strings.Contains(r.stderr, "acme-other") || !strings.Contains(r.stderr, tenant) || !strings.Contains(r.stderr, "Nothing was changed") {
		t.Errorf("the refusal names not both tenants: %v", r)
	}
	r = c.run(string(old), "replace", "-")
	expect(t, r, exitOK, "replace with the stored key")
	if !strings.Contains(r.stdout, "already stored") {
		t.Errorf("replace with the stored key: %v", r)
	}
	srv.RejectKey(true)
	r = c.run(string(fresh), "replace", "-")
	expect(t, r, exitNo, "replace with a key that does not log on")
	if !strings.Contains(r.stderr, "rejected") || !strings.Contains(r.stderr, "Nothing was changed") || !strings.Contains(r.stdout, "Token") {
		t.Errorf("a failed test says not why, or not that nothing changed: %v", r)
	}
	srv.RejectKey(false)
	if c.download(t, tenant) != string(old) {
		t.Fatal("a refused replace changed the stored key")
	}

	r = c.run(string(fresh), "replace", "-", "--json")
	expect(t, r, exitOK, "replace --json")
	var out replaceJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || !out.Replaced || !out.Tested || out.Test == nil || !out.Test.OK ||
		out.OldClientID != oldClientID || out.NewClientID != testkeys.ClientID || out.Tenant != tenant {
		t.Errorf("replace --json: %+v (%v)", out, err)
	}
	if c.download(t, tenant) != string(fresh) {
		t.Fatal("after replace, download does not give the new key")
	}
	r = c.run("", "status")
	if !strings.Contains(r.stdout, "Replaced:") || !strings.Contains(r.stdout, "was "+oldClientID) {
		t.Errorf("status shows no replacement: %v", r)
	}
	r = c.run("", "list", "--json")
	var l listJSON
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Tenants) != 1 {
		t.Fatalf("list --json: %v (%v)", r, err)
	}
	tj := l.Tenants[0]
	if tj.LastReplacement == nil || tj.LastReplacement.OldClientID != oldClientID || tj.LastReplacement.NewClientID != testkeys.ClientID {
		t.Errorf("list --json last_replacement = %+v", tj.LastReplacement)
	}
	if tj.LastTest == nil || !tj.LastTest.OK {
		t.Errorf("the test that let the key in is not its last test: %+v", tj.LastTest)
	}

	// --no-test: no logon at all, a warning, and no last test.
	before := srv.Counts()
	r = c.run(string(old), "replace", "-", "--no-test")
	expect(t, r, exitOK, "replace --no-test")
	if !strings.Contains(r.stderr, "warning: the new key was not tested") || srv.Counts() != before {
		t.Errorf("replace --no-test: %v (requests %+v, before %+v)", r, srv.Counts(), before)
	}
	if c.download(t, tenant) != string(old) {
		t.Fatal("replace --no-test did not store the key")
	}
	r = c.run("", "status", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.LastReplacement == nil || st.LastReplacement.OldClientID != testkeys.ClientID {
		t.Errorf("status --json after the second replace: %+v (%v)", st.LastReplacement, err)
	}
	if r := c.run("", "list"); !strings.Contains(r.stdout, "not tested") {
		t.Errorf("list shows a last test for a key put in untested: %v", r)
	}
}

// TestE2EListExpiring: list --expiring DAYS names the tenants whose
// certificate ends within DAYS days, soonest first, and exits 1 if any.
func TestE2EListExpiring(t *testing.T) {
	c := newCLI(t)
	now := time.Now()
	// Calendar days: 5.5 days from now is day 5 or 6, whatever the hour;
	// 7 days less an hour is day 6 or 7.
	for _, k := range []struct {
		tenant string
		left   time.Duration
	}{{"acme-soon", 132 * time.Hour}, {"acme-later", 60 * 24 * time.Hour}, {"acme-week", 7*24*time.Hour - time.Hour}} {
		ca := testkeys.NewCA(t)
		chain, key := ca.Client(t, "client", now.Add(k.left), testkeys.ECDSA)
		file := testkeys.X509Key(testkeys.Fields{Tenant: k.tenant}, chain, key)
		c.addSecrets(file)
		expect(t, c.run(string(file), "upload", "-"), exitOK, "upload "+k.tenant)
	}
	expect(t, c.run(string(testkeys.SecretKey(testkeys.Fields{Tenant: "acme-secret"})), "upload", "-"), exitOK, "upload a secret key")

	r := c.run("", "list", "--expiring", "30")
	expect(t, r, exitNo, "list --expiring 30")
	soon, week := strings.Index(r.stdout, "acme-soon"), strings.Index(r.stdout, "acme-week")
	if soon < 0 || week < soon || strings.Contains(r.stdout, "acme-later") || strings.Contains(r.stdout, "acme-secret") {
		t.Errorf("list --expiring 30:\n%s", r.stdout)
	}
	r = c.run("", "list", "--expiring", "7", "--json")
	expect(t, r, exitNo, "list --expiring 7 --json")
	var l listJSON
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || l.Expiring == nil || *l.Expiring != 7 || len(l.Tenants) != 2 {
		t.Fatalf("list --expiring 7 --json: %v (%v)", r, err)
	}
	r = c.run("", "list", "--expiring", "4")
	expect(t, r, exitOK, "list --expiring 4")
	if !strings.Contains(r.stdout, "No client certificate expires within 4 days") {
		t.Errorf("list --expiring 4: %v", r)
	}
	expect(t, c.run("", "list", "--expiring", "-3"), exitUsage, "list --expiring -3")
}
