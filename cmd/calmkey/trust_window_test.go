package main

// Real-window tests of a window that stays true (issue 10): the app runs
// under Xvfb while calmkeyctl changes the key beside it, and the window is
// read back with OCR. And the app racing calmkeyctl to store a key, driven
// with xdotool and xclip as a user pastes and confirms.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
	wt "github.com/calmkey/calmkey/internal/windowtest"
)

// rounds reads a round count from the environment, def when unset.
func rounds(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q is not a round count", name, v)
	}
	return n
}

// keyFile writes a key to a file of the test's own.
func keyFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// changeTarget is how soon a change made by another program should show
// (the watcher checks every 2 s); changeWithin is how long the test waits
// before it calls the window wrong. Tests do not fail on timing: a window
// that shows the change late on a loaded machine passes, with the time
// logged beside the target (CI once took over 5 s while other packages
// built and ran beside it).
const (
	changeTarget = 5 * time.Second
	changeWithin = 30 * time.Second
)

// TestWindowShowsCLIChanges: with the app open, calmkeyctl deletes the key
// and the window shows "No service key"; calmkeyctl uploads one and the
// window shows its tenant (target: within 5 s each). Each time is counted from
// calmkeyctl's exit to the first frame of the settled picture (frames are
// taken every ~50 ms and read afterwards, so the OCR's own time does not
// count). CALMKEY_CHANGE_ROUNDS (default 1) repeats the delete and upload,
// for the figures: the test logs every time, the median and the maximum.
func TestWindowShowsCLIChanges(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	ctl := filepath.Join(bin, "calmkeyctl")
	svc := wt.StoreWithCLI(t, ctl)
	r := launch(t, bin, "calmkey", svc)
	wt.ExpectStoredKey(t, r, "window-before-cli-delete.png")
	key := keyFile(t, "key.txt", testkeys.SecretKey(testkeys.Fields{}))

	var times []time.Duration
	n := rounds(t, "CALMKEY_CHANGE_ROUNDS", 1)
	for i := range n {
		for _, step := range []struct {
			args []string
			want string
		}{
			{[]string{"delete", "--yes"}, "No service key"},
			{[]string{"upload", key}, testkeys.Tenant},
		} {
			before := r.Screenshot(t)
			res := wt.Run(t, nil, []string{svc}, append([]string{ctl}, step.args...)...)
			if res.Code != 0 {
				t.Fatalf("calmkeyctl %s: exit %d\n%s", step.args[0], res.Code, res.Stderr)
			}
			c, ok := r.WaitForChange(t, before, step.want, changeWithin)
			wt.SaveShot(t, fmt.Sprintf("window-after-cli-%s-%d.png", step.args[0], i+1), c.Shot)
			if !ok {
				wt.Stop(r)
				t.Fatalf("round %d: %v after calmkeyctl %s the window does not show %q; it reads:\n%s\nthe app's output:\n%s",
					i+1, changeWithin, step.args[0], step.want, c.Text, r.Out.String())
			}
			wt.MustNotContain(t, c.Text, append(wt.ErrorWords, testkeys.Secret)...)
			slow := ""
			if c.After > changeTarget {
				slow = fmt.Sprintf(" (over the %v target: a busy machine, or a slow check)", changeTarget)
			}
			t.Logf("round %d: calmkeyctl %s shown after %v%s", i+1, step.args[0], c.After.Round(time.Millisecond), slow)
			times = append(times, c.After)
		}
	}
	wt.MustContain(t, wt.ReadText(t, r.Screenshot(t)), "stored by another program")
	t.Logf("window shows a calmkeyctl change: %d changes, median %v, max %v",
		len(times), median(times).Round(time.Millisecond), slices.Max(times).Round(time.Millisecond))
}

// TestAppRacesCLI: the app (a key pasted, its Store in keychain clicked)
// and calmkeyctl upload store a key of the same tenant at the same moment.
// Each round exactly one wins: the loser says a key is already stored (the
// app in its dialog, calmkeyctl with exit status 1), and the stored key is
// the winner's, whole (download - checks its checksum). The pasted key
// leaves the clipboard either way. CALMKEY_RACE_ROUNDS (default 3) sets the
// rounds: make test runs 3, make test-app-race 50 (about 10 s a round on a
// busy 2-core machine).
func TestAppRacesCLI(t *testing.T) {
	wt.RequireTools(t)
	bin := binaries(t)
	ctl := filepath.Join(bin, "calmkeyctl")
	svc := wt.ServiceEnv(wt.Service(t))
	appKey := testkeys.SecretKey(testkeys.Fields{ClientID: "sb-app!b1|sapcloudalm!b16907"})
	cliKey := testkeys.SecretKey(testkeys.Fields{ClientID: "sb-cli!b2|sapcloudalm!b16907"})
	cliFile := keyFile(t, "cli.txt", cliKey)
	r := launch(t, bin, "calmkey", svc)
	wt.ExpectNoKey(t, r, "race-start.png")

	n := rounds(t, "CALMKEY_RACE_ROUNDS", 3)
	wins, lost := map[string]int{}, map[string]int{}
	damaged := 0
	var store wt.Word     // the confirmation's Store in keychain button
	var storePatch []byte // what it looks like
	for round := 1; round <= n; round++ {
		// The app: paste the key and wait for the confirmation.
		wt.SetClipboard(t, string(appKey))
		r.Key(t, "ctrl+v")
		if storePatch == nil {
			text, shown := r.WaitFor(t, "Store this service key?", 30*time.Second)
			if !shown {
				t.Fatalf("round %d: no confirmation after pasting; the window reads:\n%s", round, text)
			}
			// The OCR cannot read white on blue: the button is the one
			// blue thing on the dialog.
			shot := r.Screenshot(t)
			var found bool
			if store, found = wt.FindColor(t, shot, wt.PrimaryBlue, 6); !found {
				wt.SaveShot(t, "race-confirmation.png", shot)
				t.Fatalf("round %d: no Store in keychain button on the confirmation", round)
			}
			storePatch = wt.Patch(t, shot, store.X, store.Y, store.W, store.H)
		} else {
			deadline := time.Now().Add(30 * time.Second)
			for !bytes.Equal(wt.Patch(t, r.Screenshot(t), store.X, store.Y, store.W, store.H), storePatch) {
				if time.Now().After(deadline) {
					t.Fatalf("round %d: no confirmation after pasting; the window reads:\n%s", round, wt.ReadText(t, r.Screenshot(t)))
				}
				time.Sleep(50 * time.Millisecond)
			}
		}

		// The race: a click on Store in keychain and calmkeyctl upload at
		// once, one of them a little later by chance.
		var cli wt.Result
		var wg sync.WaitGroup
		wg.Add(2)
		start := make(chan struct{})
		cliDelay, appDelay := jitter(), jitter()
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(cliDelay)
			cli = wt.Run(t, nil, []string{svc}, ctl, "upload", cliFile)
		}()
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(appDelay)
			x, y := store.Center()
			r.Click(t, x, y)
		}()
		close(start)
		wg.Wait()

		// What each says.
		var text string
		var appLost bool
		for deadline := time.Now().Add(30 * time.Second); ; {
			shot := r.Screenshot(t)
			text = wt.ReadText(t, shot)
			if appLost = wt.Contains(text, "The tenant already has a key"); appLost {
				break
			}
			if wt.Contains(text, testkeys.Tenant) && !wt.Contains(text, "Storing the service key") && !wt.Contains(text, "Store in keychain") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the app says neither stored nor already stored; it reads:\n%s", round, text)
			}
			time.Sleep(100 * time.Millisecond)
		}
		cliWon := cli.Code == 0
		if !cliWon && (cli.Code != 1 || !wt.Contains(cli.Stderr, "already has a service key")) {
			t.Fatalf("round %d: calmkeyctl upload exit %d, want 0 or 1 with \"already has a service key\":\n%s", round, cli.Code, cli.Stderr)
		}
		if cliWon == !appLost {
			t.Fatalf("round %d: calmkeyctl won %v, the app won %v: want exactly one winner; the app reads:\n%s\ncalmkeyctl: %s", round, cliWon, !appLost, text, cli.Stderr)
		}

		// The stored key is the winner's, and whole.
		got := wt.Run(t, nil, []string{svc}, ctl, "download", "-")
		want, winner := appKey, "app"
		if cliWon {
			want, winner = cliKey, "calmkeyctl"
		}
		switch {
		case got.Code != 0:
			damaged++
			t.Errorf("round %d: the stored key does not load: exit %d %s", round, got.Code, got.Stderr)
		case got.Stdout != string(want):
			damaged++
			t.Errorf("round %d: %s won, but the keychain holds another key", round, winner)
		}
		wins[winner]++
		if appLost {
			// The app's Save found calmkeyctl's key under the lock, or its
			// watcher saw the key first and closed the confirmation.
			how := "at its save"
			if wt.Contains(text, "while you were checking") {
				how = "seen by its watcher"
			}
			lost[how]++
		}
		if clip := wt.Clipboard(t); clip != "" {
			t.Errorf("round %d: the pasted key stays on the clipboard (%d bytes)", round, len(clip))
		}
		t.Logf("round %d: %s won (calmkeyctl %v later, the app's click %v later)", round, winner, cliDelay, appDelay)

		// Back to no key.
		if appLost {
			r.Key(t, "Tab", "space") // the notice's OK
		}
		if res := wt.Run(t, nil, []string{svc}, ctl, "delete", "--yes"); res.Code != 0 {
			t.Fatalf("round %d: calmkeyctl delete: exit %d %s", round, res.Code, res.Stderr)
		}
		if text, shown := r.WaitFor(t, "No service key", 30*time.Second); !shown || wt.Contains(text, "already has a") {
			t.Fatalf("round %d: the window does not return to no key; it reads:\n%s", round, text)
		}
	}
	t.Logf("app against calmkeyctl: %d rounds, wins %v (the app lost %v), damaged loads %d", n, wins, lost, damaged)
}

// jitter is a random delay of up to 40 ms, so that either side of a race
// can be first.
func jitter() time.Duration { return time.Duration(rand.IntN(40)) * time.Millisecond }
