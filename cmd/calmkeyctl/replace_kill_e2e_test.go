package main

import (
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// killRoundsEnv sets how many rounds TestE2EReplaceKill runs (at least
// killRounds).
const killRoundsEnv = "CALMKEY_E2E_KILL_ROUNDS"

const killRounds = 30

// TestE2EReplaceKill: calmkeyctl replace, killed (SIGKILL on Unix,
// TerminateProcess on Windows) at a random moment of its run, leaves the
// old key or the new one: download gives one of them byte for byte after
// every round, never anything else, and the next command has tidied what
// the killed one left (list shows the tenant once, whole). The moments are
// drawn over the length of an unkilled run, so some rounds end before the
// swap, some during it and some after; the counts are logged.
func TestE2EReplaceKill(t *testing.T) {
	srv := fakealm.Start(t, fakealm.Options{})
	c := logonCLI(t, srv)
	rounds := killRounds
	if n, err := strconv.Atoi(os.Getenv(killRoundsEnv)); err == nil && n > rounds {
		rounds = n
	}
	// Two keys that both log on (fakealm accepts its client id and
	// secret): they differ in their bytes, so each round swaps one for the
	// other. x509, so that each key is several parts.
	keys := [2][]byte{srv.X509Key(), srv.X509KeyWith(testkeys.Fields{APIURL: srv.APIURL() + "/"})}
	for i, k := range keys {
		c.addSecrets(k)
		c.file("key"+strconv.Itoa(i)+".json", k, 0o600)
	}
	expect(t, c.run(string(keys[0]), "upload", "-"), exitOK, "upload")
	tenant := testkeys.Tenant
	// How long an unkilled replace takes here: the span the kills are
	// drawn from (a little beyond it, so that some rounds finish).
	var spans []time.Duration
	cur := 0
	for range 3 {
		start := time.Now()
		expect(t, c.run("", "replace", "key"+strconv.Itoa(1-cur)+".json"), exitOK, "replace")
		spans = append(spans, time.Since(start))
		cur = 1 - cur
	}
	slices.Sort(spans)
	span := spans[1] * 6 / 5
	counts := map[string]int{}
	killed := 0
	for round := range rounds {
		next := 1 - cur
		cmd, _, _, err := c.launch(nil, "", "replace", "key"+strconv.Itoa(next)+".json")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(span))))
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if !cmd.ProcessState.Success() {
			killed++ // else it had ended before the kill
		}
		got := c.download(t, tenant)
		switch got {
		case string(keys[cur]):
			counts["old"]++
		case string(keys[next]):
			counts["new"]++
			cur = next
		default:
			counts["other"]++
			t.Errorf("round %d: download gives neither the old key nor the new one (%d bytes)", round+1, len(got))
		}
		if r := c.run("", "list"); r.code != exitOK || strings.Count(r.stdout, tenant) != 1 || strings.Contains(r.stdout, "damaged") {
			t.Errorf("round %d: list after the kill: %v", round+1, r)
		}
	}
	t.Logf("kill -9 rounds: %d (%d killed while running, span %v): old %d, new %d, other %d",
		rounds, killed, span.Round(time.Millisecond), counts["old"], counts["new"], counts["other"])
	if counts["other"] != 0 {
		t.Errorf("%d rounds left neither key", counts["other"])
	}
}
