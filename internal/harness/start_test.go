package harness

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A program that cannot start for an ordinary reason (it is not there) is
// not tried again: only Wine's failure before the start is.
func TestStartTriesOnceWhenTheProgramIsMissing(t *testing.T) {
	builds := 0
	missing := filepath.Join(t.TempDir(), "no-such-program")
	_, err := Start(t, func() *exec.Cmd { builds++; return exec.Command(missing) })
	// Windows looks for "no-such-program.exe" and reports exec.ErrNotFound.
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("starting a missing program: %v, want a not-found error", err)
	}
	if builds != 1 {
		t.Errorf("the command was built %d times, want 1", builds)
	}
}

func TestStartStartsTheProgram(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := Start(t, func() *exec.Cmd { return exec.Command(exe, "-test.run=^$") })
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("the started test binary (running no test) ended with %v", err)
	}
}
