// Package harness tells integration tests whether they run inside the test
// session that scripts/test-session sets up (a private D-Bus with an unlocked
// GNOME Keyring, a throwaway HOME and an Xvfb display, and for Windows
// programs a throwaway Wine prefix with its own Credential Manager). Outside
// it they must not run: they would reach the developer's own keychain and
// display. Programs under Wine see the session's environment too, so the
// same check holds there (scripts/wine/test fails the run on any skip).
package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// EnvVar is set to 1 by scripts/test-session.
const EnvVar = "CALMKEY_TEST_SESSION"

// Active reports whether the test session is present.
func Active() bool { return os.Getenv(EnvVar) == "1" }

// Require stops t unless the test session is present: in CI (CI=true) the
// test fails, because a test that needs the real keychain or display must
// never silently skip there; elsewhere it skips with a one-line reason.
func Require(t testing.TB) {
	t.Helper()
	if Active() {
		return
	}
	const why = "needs the test session (a throwaway real keychain and display): run it through 'make test' or scripts/test-session"
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// Start starts the command that build makes and returns it. Under Wine,
// starting a program sometimes fails before it exists: CreateProcess
// answers ERROR_INTERNAL_ERROR ("Internal error.") when the wineserver
// loses a file descriptor it was handing over, and Wine prints "wine
// client error: sendmsg: Bad file descriptor" (Wine 8.0, seen once in some
// thousands of starts by calmkeyctl's end-to-end tests). Nothing ran then,
// so Start builds the command anew and tries again, up to three times,
// logging each retry; any other error, and the third, is returned.
func Start(tb testing.TB, build func() *exec.Cmd) (*exec.Cmd, error) {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		cmd := build()
		err := cmd.Start()
		if err == nil || attempt == 3 || !notStarted(err) {
			return cmd, err
		}
		tb.Logf("starting %s failed before it ran (%v); trying again", filepath.Base(cmd.Path), err)
		time.Sleep(100 * time.Millisecond)
	}
}
