package vault

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
)

// TestParseLookAlikeTenants: uaa.identityzone is an XSUAA subdomain. Names
// that look like another tenant's in a list are refused, with a problem
// that says so, instead of being stored beside the real one.
func TestParseLookAlikeTenants(t *testing.T) {
	secret := secretKey(t)
	for _, tt := range []struct{ name, zone, why string }{
		{"leading space", " acme-prod", "U+0020"},
		{"Cyrillic а", "\u0430cme-prod", "U+0430 (\u0430)"},
		{"fullwidth a", "\uff41cme-prod", "U+FF41"},
		{"space", "acme prod", "U+0020"},
		{"no-break space", "acme\u00a0prod", "U+00A0"},
		{"combining accent", "acme-pro\u0301d", "U+0301"},
		{"upper case", "Acme-prod", "U+0041 (A)"},
		{"any script", "mandant-münchen-東京", "U+00FC"},
		{"leading dash", "-acme", "starts or ends with '-'"},
		{"trailing dash", "acme-", "starts or ends with '-'"},
		{"64 characters", strings.Repeat("a", 64), "64 bytes long"},
		{"63 KB", strings.Repeat("a", 63<<10), "bytes long"},
		{"underscore", "acme_prod", "U+005F (_)"},
		{"dot", "acme.prod", "U+002E (.)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(setField(t, secret, "uaa.identityzone", tt.zone))
			fe := formatError(t, err)
			if !hasFinding(fe.Problems, "uaa.identityzone", "is not a valid tenant (subdomain) name: it") ||
				!hasFinding(fe.Problems, "uaa.identityzone", tt.why) ||
				!hasFinding(fe.Problems, "uaa.identityzone", "a tenant is an XSUAA subdomain: 1 to 63 characters a-z, 0-9 and '-'") {
				t.Errorf("want a problem at uaa.identityzone naming %s and the rule, got %v", tt.why, fe.Problems)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("the problem text is %d bytes long", len(err.Error()))
			}
			if TenantNameError(tt.zone) == nil {
				t.Error("TenantNameError accepts it")
			}
		})
	}
	for _, zone := range []string{"acme-prod", "a", "0", "a-b", "x1", strings.Repeat("a", 63), "acme--prod"} {
		if k, err := Parse(setField(t, secret, "uaa.identityzone", zone)); err != nil || k.Tenant != zone {
			t.Errorf("%q: %v, %v", zone, k, err)
		}
		if err := TenantNameError(zone); err != nil {
			t.Errorf("TenantNameError(%q) = %v", zone, err)
		}
	}
}

// A key without identityzone takes its tenant from uaa.url's subdomain,
// in lower case (hosts have no case), and that must be a valid name too.
func TestParseTenantFromURL(t *testing.T) {
	for _, tt := range []struct{ url, tenant, problem string }{
		{"https://ACME-Prod.authentication.eu10.hana.ondemand.com", "acme-prod", ""},
		{"https://acme_prod.authentication.eu10.hana.ondemand.com", "", "the subdomain of uaa.url is not a valid tenant name (it holds U+005F (_))"},
	} {
		file := edit(t, testkeys.SecretKey(testkeys.Fields{UAAURL: tt.url}), func(_, uaa map[string]any) { delete(uaa, "identityzone") })
		k, err := Parse(file)
		switch {
		case tt.problem == "" && (err != nil || k.Tenant != tt.tenant):
			t.Errorf("%s: %v, %v; want tenant %q", tt.url, k, err, tt.tenant)
		case tt.problem != "" && !hasFinding(formatError(t, err).Problems, "uaa.identityzone", tt.problem):
			t.Errorf("%s: %v; want a problem saying %q", tt.url, err, tt.problem)
		}
	}
}

func TestTenantNameError(t *testing.T) {
	err := TenantNameError("\u0430cme\x1b")
	if !errors.Is(err, errTenantName) {
		t.Fatalf("%v does not match errTenantName", err)
	}
	if msg := err.Error(); strings.ContainsRune(msg, '\x1b') || !strings.Contains(msg, `\x1b`) ||
		!strings.Contains(msg, "is not a valid tenant (subdomain) name") {
		t.Errorf("message %q: want the name escaped and the rule", msg)
	}
	if err := TenantNameError(strings.Repeat("x", 70000)); len(err.Error()) > 400 {
		t.Errorf("a long name gives a %d-byte message", len(err.Error()))
	}
}

// TestStoredOddNameStillLoads: a key an earlier calmkey stored under a
// name the format check now refuses, written straight to the keychain,
// still loads, lists (with the name flagged by TenantNameError) and
// deletes.
func TestStoredOddNameStillLoads(t *testing.T) {
	s, m := memStore(t)
	ctx := context.Background()
	storeTenants(t, s, "acme-prod")
	odd := "\u0430cme-prod"
	file := testkeys.SecretKey(testkeys.Fields{Tenant: odd, UAAURL: "https://acme-prod.authentication.eu10.hana.ondemand.com"})
	writeFixture(t, m, odd, file, "old.txt")
	st, err := s.Load(ctx, odd)
	if err != nil || string(st.Key.Bytes()) != string(file) || st.Key.Tenant != odd {
		t.Fatalf("Load of the stored odd name: %v", err)
	}
	if !hasFinding(st.Key.Warnings, "uaa.identityzone", "is not a valid tenant (subdomain) name") {
		t.Errorf("warnings %v: want the name flagged", st.Key.Warnings)
	}
	entries, err := s.LoadAll(ctx)
	if err != nil || len(entries) != 2 || entries[1].Tenant != odd || entries[1].Err != nil {
		t.Fatalf("LoadAll: %+v, %v", entries, err)
	}
	if TenantNameError(entries[1].Tenant) == nil || TenantNameError(entries[0].Tenant) != nil {
		t.Error("TenantNameError does not flag only the odd name")
	}
	if err := s.Delete(ctx, odd); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s); len(got) != 1 || got[0] != "acme-prod" {
		t.Errorf("after the delete: %q", got)
	}
}

// writeFixture stores file as tenant's key the way calmkey's layout 2 has
// it, straight through the backend, without the format check's rule on
// names: what an earlier calmkey left.
func writeFixture(t *testing.T, b Backend, tenant string, file []byte, fileName string) {
	t.Helper()
	key, err := parse(file, time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	it := itemsOf(tenant)
	chunks := split(encodePercent(file), ChunkSize)
	for i, c := range chunks {
		if err := b.Set(memService, it.part(i+1), c); err != nil {
			t.Fatal(err)
		}
	}
	mtext, err := newManifest(key, file, len(chunks), time.Now().UTC().Truncate(time.Second), fileName).encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Set(memService, it.manifest, mtext); err != nil {
		t.Fatal(err)
	}
	var d indexDoc
	if head, err := b.Get(memService, IndexItem); err == nil {
		if d, err = decodeIndexHead(head); err != nil || d.Parts > 0 {
			t.Fatalf("index: %v", err)
		}
	}
	head, _, err := encodeIndex(d.Gen+1, (&index{doc: d}).with(tenant, true), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Set(memService, IndexItem, head); err != nil {
		t.Fatal(err)
	}
}
