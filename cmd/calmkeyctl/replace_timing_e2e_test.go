package main

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// timingEnv makes TestE2EReplaceTiming run 7 rounds instead of 1, for
// the figures of the note.
const timingEnv = "CALMKEY_E2E_TIMING"

// TestE2EReplaceTiming: replace and the old way, delete then upload then
// test, each leave the new key stored; it logs how long each took, as
// calmkeyctl runs on the real keychain against fakealm (medians, secret and
// x509 keys), and asserts nothing about speed. For the figures:
// CALMKEY_E2E_TIMING=1 scripts/test-session go test -count=1 -v
// -run TestE2EReplaceTiming ./cmd/calmkeyctl
func TestE2EReplaceTiming(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	c := logonCLI(t, srv)
	rounds := 1
	if os.Getenv(timingEnv) != "" {
		rounds = 7
	}
	for _, kind := range []string{"secret", "x509"} {
		keys := [2][]byte{srv.SecretKey(), srv.SecretKeyWith(testkeys.Fields{APIURL: srv.APIURL() + "/"})}
		if kind == "x509" {
			keys = [2][]byte{srv.X509Key(), srv.X509KeyWith(testkeys.Fields{APIURL: srv.APIURL() + "/"})}
		}
		files := [2]string{}
		for i, k := range keys {
			c.addSecrets(k)
			files[i] = c.file(kind+strconv.Itoa(i)+".json", k, 0o600)
		}
		expect(t, c.run("", "upload", files[0]), exitOK, "upload")
		var replace, oldWay []time.Duration
		cur := 0
		for range rounds {
			start := time.Now()
			expect(t, c.run("", "replace", files[1-cur]), exitOK, "replace")
			replace = append(replace, time.Since(start))
			cur = 1 - cur
			if c.download(t, testkeys.Tenant) != string(keys[cur]) {
				t.Fatal("after replace, download does not give the new key")
			}
			start = time.Now()
			expect(t, c.run("", "delete", "--yes"), exitOK, "delete")
			expect(t, c.run("", "upload", files[1-cur]), exitOK, "upload")
			expect(t, c.run("", "test"), exitOK, "test")
			oldWay = append(oldWay, time.Since(start))
			cur = 1 - cur
			if c.download(t, testkeys.Tenant) != string(keys[cur]) {
				t.Fatal("after delete and upload, download does not give the new key")
			}
		}
		expect(t, c.run("", "delete", "--yes"), exitOK, "delete")
		r, o := median(replace), median(oldWay)
		t.Logf("%s: replace %v, delete+upload+test %v, ratio %.2f (medians of %d)", kind, r.Round(time.Millisecond), o.Round(time.Millisecond), float64(r)/float64(o), rounds)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
