package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

// End-to-end tests of issue 10 (trust): real processes racing on the real
// Secret Service, honest timeouts, no D-Bus daemon started.

// start starts calmkeyctl without waiting for it.
func (c *cli) start(stdin string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	c.t.Helper()
	cmd, out, errb, err := c.launch(nil, stdin, args...)
	if err != nil {
		c.t.Fatalf("calmkeyctl %s: %v", strings.Join(args, " "), err)
	}
	return cmd, out, errb
}

func (c *cli) wait(cmd *exec.Cmd, out, errb *bytes.Buffer, args ...string) result {
	c.t.Helper()
	return c.outcome(cmd.Wait(), out.String(), errb.String(), args)
}

// rawItems reads the items of tenant's key under the test's service
// straight through go-keyring, as another program would see them: the
// manifest and parts 1..parts (each read costs a D-Bus session, so no more
// than the test's key can have, and a few).
func (c *cli) rawItems(tenant string, parts int) []string {
	c.t.Helper()
	var found []string
	for _, user := range append([]string{vault.KeyItem(tenant)}, partNames(tenant, parts)...) {
		_, err := keyring.Get(c.service, user)
		switch {
		case err == nil:
			found = append(found, user)
		case !errors.Is(err, keyring.ErrNotFound):
			c.t.Fatalf("raw read of %s: %v", user, err)
		}
	}
	return found
}

func partNames(tenant string, n int) []string {
	var names []string
	for i := 1; i <= n; i++ {
		names = append(names, vault.PartItem(tenant, i))
	}
	return names
}

// storedMatches checks that the stored key loads whole and is the key in
// file: download gives it byte for byte (which needs its checksum to match)
// and, with all, status and show give its fields. It returns "" or what
// differs.
func (c *cli) storedMatches(file []byte, all bool) string {
	c.t.Helper()
	want, err := vault.Parse(file)
	if err != nil {
		c.t.Fatal(err)
	}
	if r := c.run("", "download", "-"); r.code != exitOK || r.stdout != string(file) {
		return fmt.Sprintf("download - gives other bytes (exit %d, %d bytes, want %d)", r.code, len(r.stdout), len(file))
	}
	if !all {
		return ""
	}
	r := c.run("", "status", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || r.code != exitOK {
		return fmt.Sprintf("status --json: %v", r)
	}
	if st.Tenant != want.Tenant || st.ClientID != want.ClientID {
		return fmt.Sprintf("status shows tenant %q, want %q", st.Tenant, want.Tenant)
	}
	if r := c.run("", "show"); r.code != exitOK || string(want.JSON(false))+"\n" != r.stdout {
		return fmt.Sprintf("show gives another key (exit %d)", r.code)
	}
	return ""
}

// TestE2ERaceUploads: rounds of several calmkeyctl processes uploading
// different keys of the same tenant at once, with a status reading beside
// them; then rounds of an upload racing a delete. Exactly one upload wins,
// the losers say the tenant already has a key, no read ever sees a damaged
// key, and what is stored is the winner's key byte for byte.
func TestE2ERaceUploads(t *testing.T) {
	c := newCLI(t)
	const rounds, racers = 50, 3
	const tenant = "racer-tenant"
	keys := make([][]byte, racers+1)
	for i := range keys {
		keys[i] = testkeys.SecretKey(testkeys.Fields{Tenant: tenant, ClientID: fmt.Sprintf("sb-racer-%d!b1|sapcloudalm!b16907", i), Secret: fmt.Sprintf("racer-secret-%d-0a1b2c3d4e5f", i)})
		c.addSecrets(keys[i])
	}
	start := time.Now()
	winners := map[int]int{}
	damaged, oneWinner := 0, 0
	for round := 0; round < rounds; round++ {
		type proc struct {
			cmd       *exec.Cmd
			out, errb *bytes.Buffer
			args      []string
		}
		var procs []proc
		for i := 0; i < racers; i++ {
			args := []string{"upload", "-"}
			cmd, out, errb := c.start(string(keys[i]), args...)
			procs = append(procs, proc{cmd, out, errb, args})
		}
		reader := []string{"status", "--json"}
		cmd, out, errb := c.start("", reader...)
		procs = append(procs, proc{cmd, out, errb, reader})
		won, wins := -1, 0
		for i, p := range procs {
			r := c.wait(p.cmd, p.out, p.errb, p.args...)
			if i == racers {
				// The reader sees no key yet, or a whole one; never damage.
				var st statusJSON
				_ = json.Unmarshal([]byte(r.stdout), &st)
				if st.ErrorCode == "corrupt" || (r.code != exitOK && st.ErrorCode != "not_stored") {
					damaged++
					t.Errorf("round %d: a status beside the uploads read %v", round, r)
				}
				continue
			}
			switch {
			case r.code == exitOK:
				if won >= 0 {
					t.Errorf("round %d: uploads %d and %d both say they stored their key", round, won, i)
				}
				won = i
				wins++
			case r.code == exitNo && strings.Contains(r.stderr, "tenant "+tenant+" already has a service key"):
			default:
				t.Errorf("round %d: upload %d: %v; want exit 0, or exit 1 saying the tenant already has a key", round, i, r)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no upload won", round)
		}
		winners[won]++
		if wins == 1 {
			oneWinner++
		}
		// download every round; status and show too every fifth.
		if diff := c.storedMatches(keys[won], round%5 == 0); diff != "" {
			damaged++
			t.Errorf("round %d: the stored key is not the winner's: %s", round, diff)
		}
		expect(t, c.run("", "delete", "--yes"), exitOK, "delete after a round")
	}
	raceTime := time.Since(start)

	// An upload against a delete: the key is there, the delete removes it
	// and the upload stores its own, or the upload is refused and the
	// delete leaves nothing. Never both refused, never a damaged key.
	start = time.Now()
	outcomes := map[string]int{}
	for round := 0; round < rounds; round++ {
		expect(t, c.run(string(keys[0]), "upload", "-"), exitOK, "upload before an upload-delete round")
		up := []string{"upload", "-"}
		del := []string{"delete", "--yes"}
		ucmd, uout, uerr := c.start(string(keys[racers]), up...)
		dcmd, dout, derr := c.start("", del...)
		ur := c.wait(ucmd, uout, uerr, up...)
		dr := c.wait(dcmd, dout, derr, del...)
		if dr.code != exitOK {
			t.Errorf("round %d: delete: %v", round, dr)
		}
		switch {
		case ur.code == exitOK:
			outcomes["delete, then upload"]++
			if diff := c.storedMatches(keys[racers], round%5 == 0); diff != "" {
				damaged++
				t.Errorf("round %d: %s", round, diff)
			}
			expect(t, c.run("", "delete", "--yes"), exitOK, "delete after the round")
		case ur.code == exitNo && strings.Contains(ur.stderr, "already has a service key"):
			outcomes["upload refused, then delete"]++
			if r := c.run("", "status", "--json"); r.code != exitNo || !strings.Contains(r.stdout, "not_stored") {
				damaged++
				t.Errorf("round %d: after the delete won, status says %v", round, r)
			}
		default:
			t.Errorf("round %d: upload against delete: %v", round, ur)
		}
		if left := c.rawItems(tenant, 3); len(left) != 0 {
			t.Errorf("round %d: items left after the round: %v", round, left)
		}
	}
	t.Logf("upload race: %d rounds of %d uploads and a status in %v; rounds with exactly one winner %d; wins per racer %v; damaged loads %d",
		rounds, racers, raceTime.Round(time.Millisecond), oneWinner, winners, damaged)
	t.Logf("upload against delete: %d rounds in %v; outcomes %v", rounds, time.Since(start).Round(time.Millisecond), outcomes)
	if damaged != 0 {
		t.Errorf("%d damaged loads", damaged)
	}
}

// TestE2ETimeoutLeavesNothing: uploads with tiny timeouts against the real
// keychain. Whenever one exits 3, nothing is stored and no part is left,
// read raw through go-keyring; when one exits 0, the key is whole.
func TestE2ETimeoutLeavesNothing(t *testing.T) {
	c := newCLI(t)
	ca := testkeys.NewCA(t)
	chain, keyPEM := ca.Client(t, "calmkey-timeout", time.Now().Add(90*24*time.Hour), testkeys.RSAPKCS1)
	// An x509 key: several parts, so a write cut short would show.
	key := testkeys.X509Key(testkeys.Fields{}, chain, keyPEM)
	c.addSecrets(key)
	timeouts := []string{"1ms", "3ms", "6ms", "9ms", "12ms", "15ms", "20ms", "30ms", "45ms", "70ms"}
	counts := map[int]int{}
	for run := 0; run < 30; run++ {
		to := timeouts[run%len(timeouts)]
		r := c.run(string(key), "upload", "-", "--timeout", to)
		counts[r.code]++
		switch r.code {
		case exitUnavailable:
			if left := c.rawItems(testkeys.Tenant, 8); len(left) != 0 {
				t.Errorf("upload --timeout %s exited 3 and left %v", to, left)
			}
			if !strings.Contains(r.stderr, "nothing was stored") {
				t.Errorf("upload --timeout %s: exit 3 without saying nothing was stored: %q", to, r.stderr)
			}
		case exitNo:
			// The deadline ended before stdin was read whole (1 ms leaves
			// no time to spare): nothing was stored either.
			if !strings.Contains(r.stderr, "did not arrive whole") {
				t.Errorf("upload --timeout %s: %v", to, r)
			}
			if left := c.rawItems(testkeys.Tenant, 8); len(left) != 0 {
				t.Errorf("upload --timeout %s exited 1 and left %v", to, left)
			}
		case exitOK:
			if diff := c.storedMatches(key, true); diff != "" {
				t.Errorf("upload --timeout %s stored a key that does not load: %s", to, diff)
			}
			expect(t, c.run("", "delete", "--yes"), exitOK, "delete after a stored key")
		default:
			t.Errorf("upload --timeout %s: %v", to, r)
		}
	}
	t.Logf("30 uploads with timeouts of 1-70ms: exit statuses %v", counts)
	if counts[exitUnavailable] == 0 {
		t.Error("no upload timed out; the test proves nothing")
	}
}
