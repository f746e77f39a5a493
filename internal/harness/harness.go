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
	"testing"
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
