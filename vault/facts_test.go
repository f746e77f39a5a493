package vault

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calmkey/calmkey/vault/vaulttest"
)

func TestFormatTime(t *testing.T) {
	zone := time.FixedZone("CET", 3600)
	old := time.Local
	time.Local = zone
	defer func() { time.Local = old }()
	if got := FormatTime(time.Date(2026, 12, 1, 14, 4, 59, 0, time.UTC)); got != "2026-12-01 15:04 CET" {
		t.Errorf("FormatTime = %q", got)
	}
	if got := FormatTime(time.Time{}); got != Unknown {
		t.Errorf("FormatTime(zero) = %q", got)
	}
}

func TestFacts(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	sum := Summary{
		Tenant: "acme-prod", ClientID: "sb-x", CredentialType: X509, Declared: true,
		APIEndpoint: "https://eu10.alm.cloud.sap/api", TokenURL: "https://t/oauth/token",
		CertExpiry: now.Add(5 * 24 * time.Hour), UploadedAt: now, FileName: "key\x1b.txt",
	}
	facts := Facts(sum, now)
	byID := map[string]Fact{}
	var ids []string
	for _, f := range facts {
		byID[f.ID] = f
		ids = append(ids, f.ID)
	}
	if got := strings.Join(ids, ","); got != "tenant,region,clientId,credentialType,apiEndpoint,tokenUrl,uploaded,certExpiry" {
		t.Errorf("facts in order %s", got)
	}
	for id, want := range map[string]string{
		FactTenant:     "acme-prod",
		FactRegion:     Unknown,
		FactUploaded:   FormatTime(now) + ` from key\x1b.txt`,
		FactCertExpiry: "(in 5 days)",
	} {
		if got := byID[id].Value; !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q in it", id, got, want)
		}
	}
	if byID[FactCertExpiry].Label != "Certificate expiry" || byID[FactClientID].Label != "Client ID" {
		t.Errorf("labels %+v", facts)
	}
	if got := Facts(Summary{}, now)[0].Value; got != Unknown {
		t.Errorf("an unknown tenant is %q", got)
	}
}

// TestIdentity: a Stored and its Summary from List have one identity; a
// key stored again (another upload time), another client id or other bytes
// do not.
func TestIdentity(t *testing.T) {
	s, _ := memStore(t)
	ctx := context.Background()
	storeTenants(t, s, "acme-prod")
	st, err := s.Load(ctx, "acme-prod")
	if err != nil {
		t.Fatal(err)
	}
	sums, err := s.List(ctx)
	if err != nil || len(sums) != 1 {
		t.Fatal(sums, err)
	}
	id := st.Identity()
	if id.SHA256 == "" || !id.Same(sums[0].Identity()) || !sums[0].Identity().Same(st.Summary().Identity()) {
		t.Fatalf("Stored %+v and Summary %+v differ", id, sums[0].Identity())
	}
	moved := id
	moved.UploadedAt = id.UploadedAt.In(time.FixedZone("X", 7200))
	if !id.Same(moved) {
		t.Error("the same time in another zone is another key")
	}
	for what, change := range map[string]func(*Identity){
		"time":   func(i *Identity) { i.UploadedAt = i.UploadedAt.Add(time.Second) },
		"client": func(i *Identity) { i.ClientID += "x" },
		"bytes":  func(i *Identity) { i.SHA256 = strings.Repeat("0", 64) },
		"tenant": func(i *Identity) { i.Tenant = "other" },
	} {
		other := id
		change(&other)
		if id.Same(other) {
			t.Errorf("another %s is the same key", what)
		}
	}
	if (*Stored)(nil).Identity() != (Identity{}) {
		t.Error("a nil Stored has an identity")
	}
}

// TestLoadAll: every tenant loaded, sorted; a damaged key is an entry with
// Err; a damaged index is one entry without a tenant; a keychain failure
// fails the call.
func TestLoadAll(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	if got, err := s.LoadAll(ctx); err != nil || len(got) != 0 {
		t.Fatalf("nothing stored: %v, %v", got, err)
	}
	files := storeTenants(t, s, "zeta", "alpha", "mid", "beta", "gamma", "delta")
	if err := m.Set(memService, PartItem("mid", 1), "tampered"); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadAll(ctx)
	if err != nil || len(got) != len(files) {
		t.Fatalf("LoadAll: %d entries, %v", len(got), err)
	}
	for i, e := range got {
		if i > 0 && got[i-1].Tenant >= e.Tenant {
			t.Errorf("not sorted: %q before %q", got[i-1].Tenant, e.Tenant)
		}
		switch {
		case e.Tenant == "mid" && (!errors.Is(e.Err, ErrCorrupt) || e.Stored != nil):
			t.Errorf("the damaged key: %+v", e)
		case e.Tenant != "mid" && (e.Err != nil || string(e.Stored.Key.Bytes()) != string(files[e.Tenant])):
			t.Errorf("%s: %v", e.Tenant, e.Err)
		}
	}
	// A tenant deleted between List and its Load is left out: the second
	// read of zeta's manifest is Load's, and another program deleted it.
	var reads atomic.Int32
	m.Intercept(func(c vaulttest.Call) error {
		if c.Op == vaulttest.OpGet && c.User == KeyItem("zeta") {
			if reads.Add(1) == 2 {
				if err := m.Delete(memService, KeyItem("zeta")); err != nil {
					t.Error(err)
				}
			}
		}
		return nil
	})
	got, err = s.LoadAll(ctx)
	m.Intercept(nil)
	if err != nil || len(got) != len(files)-1 || reads.Load() != 2 {
		t.Fatalf("with zeta deleted meanwhile: %d entries, %v (%d reads)", len(got), err, reads.Load())
	}
	for _, e := range got {
		if e.Tenant == "zeta" {
			t.Errorf("zeta listed: %+v", e)
		}
	}
	if err := m.Set(memService, IndexItem, "{"); err != nil {
		t.Fatal(err)
	}
	got, err = s.LoadAll(ctx)
	if err != nil || len(got) != 1 || got[0].Tenant != "" || !errors.Is(got[0].Err, ErrCorrupt) {
		t.Errorf("damaged index: %+v, %v", got, err)
	}
	m.FailOn(vaulttest.OpGet, ErrUnavailable)
	if _, err := s.LoadAll(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("keychain unavailable: %v", err)
	}
	m.Intercept(nil)
}
