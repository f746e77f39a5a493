//go:build disttest

package packaging

// Windows' own file dialogs, as calmkey.exe from the zip opens them under
// Wine on the test session's Xvfb (make test-windows-app runs them). Wine 8
// shows its IFileOpenDialog and IFileSaveDialog as windows of their own,
// whose file name box takes a typed path and Enter. The writing behind the
// save dialog is tested through the ui package's seam as well
// (ui/filepick_test.go).

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/testkeys"
	wt "github.com/calmkey/calmkey/internal/windowtest"
)

// newWindowOf waits for a visible window of the app that was not among
// before (a dialog), and checks that it is above the app's window.
func newWindowOf(t *testing.T, app *wt.Running, before []string, what string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, id := range wt.Visible(app.Cmd.Process.Pid) {
			if !slices.Contains(before, id) {
				stack := wt.Stacking(t)
				if d, m := slices.Index(stack, id), slices.Index(stack, app.Window); d < 0 || m < 0 || d > m {
					t.Errorf("the %s (window %s) is not in front of calmkey's (%s): stacking %v", what, id, app.Window, stack)
				}
				return id
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s window of its own came within 60 s; the app's output:\n%s", what, app.Out.String())
	return ""
}

// xdotool runs xdotool and returns its output.
func xdotool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("xdotool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitGone waits for the window to close.
func waitGone(t *testing.T, app *wt.Running, id, what string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); slices.Contains(wt.Visible(app.Cmd.Process.Pid), id); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the %s did not close", what)
		}
	}
}

// listed is what calmkeyctl.exe list prints for the keychain service svc.
func listed(t *testing.T, svc string) string {
	t.Helper()
	return wt.Run(t, nil, []string{svc, "WINEDEBUG=-all"}, "wine", windowsExe(t, "calmkeyctl.exe"), "list").Stdout
}

func TestWindowsAppOpenDialogStoresTypedKeyFile(t *testing.T) {
	wt.RequireTools(t)
	winePrefix(t)
	svc := wt.ServiceEnv(wt.Service(t))
	file := filepath.Join(t.TempDir(), "acme-key.txt")
	if err := os.WriteFile(file, testkeys.SecretKey(testkeys.Fields{}), 0o600); err != nil {
		t.Fatal(err)
	}
	app := wt.Launch(t, []string{"wine", windowsExe(t, "calmkey.exe")}, svc)
	wt.ExpectNoKey(t, app, "windows-before-open-dialog.png")
	before := wt.Visible(app.Cmd.Process.Pid)

	app.Key(t, "ctrl+o")
	dlg := newWindowOf(t, app, before, "file-open dialog")
	if name := xdotool(t, "getwindowname", dlg); name != "Add a tenant's service key" {
		t.Errorf("the file-open dialog is titled %q", name)
	}
	typeInto(t, dlg, winPath(file))
	waitGone(t, app, dlg, "file-open dialog")

	if text, shown := app.WaitFor(t, "Store this service key?", 60*time.Second); !shown {
		t.Fatalf("no confirmation after choosing %s; the window reads:\n%s", file, text)
	}
	// The one blue thing on the confirmation is Store in keychain.
	store, found := wt.FindColor(t, app.Screenshot(t), wt.PrimaryBlue, 6)
	if !found {
		t.Fatal("no Store in keychain button on the confirmation")
	}
	app.Click(t, store.X+store.W/2, store.Y+store.H/2)
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(listed(t, svc), testkeys.Tenant); time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("calmkeyctl.exe list does not show %s after Store in keychain:\n%s", testkeys.Tenant, listed(t, svc))
		}
	}
	wt.ExpectStoredKey(t, app, "windows-after-open-dialog.png")

	// The next dialog starts in the folder last used: a bare file name
	// finds the next tenant's key there.
	next := filepath.Join(filepath.Dir(file), "next-key.txt")
	if err := os.WriteFile(next, testkeys.SecretKey(testkeys.Fields{Tenant: "next-tenant"}), 0o600); err != nil {
		t.Fatal(err)
	}
	before = wt.Visible(app.Cmd.Process.Pid)
	app.Key(t, "ctrl+o")
	dlg = newWindowOf(t, app, before, "second file-open dialog")
	typeInto(t, dlg, filepath.Base(next))
	waitGone(t, app, dlg, "second file-open dialog")
	if text, shown := app.WaitFor(t, "next-key.txt holds a valid service key", 60*time.Second); !shown {
		t.Fatalf("the bare name next-key.txt in the second dialog did not find %s; the window reads:\n%s", next, text)
	}
}

// withStoredKey starts calmkey.exe from the zip, with a key that
// calmkeyctl.exe stored, and waits until its window shows the key
// (photographed as shot). It returns the app and the keychain service's
// variable.
func withStoredKey(t *testing.T, shot string) (*wt.Running, string) {
	t.Helper()
	wt.RequireTools(t)
	winePrefix(t)
	svc := wt.StoreWithCLI(t, "wine", windowsExe(t, "calmkeyctl.exe"))
	app := wt.Launch(t, []string{"wine", windowsExe(t, "calmkey.exe")}, svc)
	t.Logf("calmkey.exe showed its window after %v", app.Shown)
	wt.ExpectStoredKey(t, app, shot)
	return app, svc
}

// typeInto replaces what the dialog's file name box holds with text, and
// presses Enter.
func typeInto(t *testing.T, dlg, text string) {
	t.Helper()
	xdotool(t, "windowfocus", "--sync", dlg)
	xdotool(t, "key", "End", "shift+Home")
	xdotool(t, "type", "--delay", "20", text)
	xdotool(t, "key", "Return")
}

func TestWindowsAppSaveDialogCancelChangesNothing(t *testing.T) {
	app, svc := withStoredKey(t, "windows-before-save-dialog.png")
	was := listed(t, svc)
	before := wt.Visible(app.Cmd.Process.Pid)

	app.Key(t, "ctrl+s")
	dlg := newWindowOf(t, app, before, "save dialog")
	if name := xdotool(t, "getwindowname", dlg); !strings.HasPrefix(name, "Download the service key of ") {
		t.Errorf("the save dialog is titled %q", name)
	}
	xdotool(t, "windowfocus", "--sync", dlg)
	xdotool(t, "key", "Escape")
	waitGone(t, app, dlg, "save dialog")

	text := wt.Settle(t, app, testkeys.Tenant)
	// Neither calmkey's own download dialog, nor a notice, nor a question
	// whether to replace a file.
	wt.MustNotContain(t, text, "Key saved", "Download the service key", "Replace the", "already exists")
	if now := listed(t, svc); now != was {
		t.Errorf("calmkeyctl.exe list changed after Cancel:\n%s\nwas:\n%s", now, was)
	}
	// Nothing written where the dialog could have saved: the Wine user's
	// folders and the session's home.
	for _, dir := range []string{filepath.Join(os.Getenv("WINEPREFIX"), "drive_c", "users"), os.Getenv("HOME")} {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(d.Name(), "-service-key.txt") {
				t.Errorf("Cancel left %s", p)
			}
			return nil
		})
	}
}

func TestWindowsAppSaveDialogWritesKey(t *testing.T) {
	app, _ := withStoredKey(t, "windows-before-save.png")
	path := filepath.Join(t.TempDir(), "saved-key.txt")
	before := wt.Visible(app.Cmd.Process.Pid)

	app.Key(t, "ctrl+s")
	dlg := newWindowOf(t, app, before, "save dialog")
	typeInto(t, dlg, winPath(path))
	waitGone(t, app, dlg, "save dialog")
	waitForKeyIn(t, path, "after Save in the save dialog")
}

// waitForKeyIn waits until the file at path holds the key that
// StoreWithCLI stored. It reads the file, not the window: tesseract reads
// the "Key saved" notice over the dimmed window unreliably.
func waitForKeyIn(t *testing.T, path, when string) {
	t.Helper()
	want := testkeys.SecretKey(testkeys.Fields{})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if got, err := os.ReadFile(path); err == nil && bytes.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not hold the stored key 60 s %s; the screen: %s", path, when, rootShot(t, "windows-save-not-saved.png"))
		}
	}
}

// Saving over a file that exists: Windows' save dialog asks whether to
// replace it, and after Yes calmkey replaces it with the key, asking no
// second question.
func TestWindowsAppSaveDialogReplacesAfterItsOwnQuestion(t *testing.T) {
	app, _ := withStoredKey(t, "windows-before-save-over.png")
	path := filepath.Join(t.TempDir(), "old-key.txt")
	if err := os.WriteFile(path, []byte("an older key\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := wt.Visible(app.Cmd.Process.Pid)

	app.Key(t, "ctrl+s")
	dlg := newWindowOf(t, app, before, "save dialog")
	typeInto(t, dlg, winPath(path))
	// Windows' own question is a message box titled as the dialog is (not
	// the file name box's completion list, also a window); Yes is its
	// default button.
	title := xdotool(t, "getwindowname", dlg)
	question := ""
	for deadline := time.Now().Add(60 * time.Second); question == ""; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the save dialog asked nothing about replacing %s within 60 s; the screen: %s", path, rootShot(t, "windows-save-over-no-question.png"))
		}
		for _, id := range wt.Visible(app.Cmd.Process.Pid) {
			// A window may close between the two looks: no name, no match.
			name, _ := exec.Command("xdotool", "getwindowname", id).Output()
			if id != dlg && !slices.Contains(before, id) && strings.TrimSpace(string(name)) == title {
				question = id
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // until it takes keys
	xdotool(t, "windowfocus", "--sync", question)
	xdotool(t, "key", "Return")
	waitGone(t, app, dlg, "save dialog")
	// Had calmkey asked a second question, nobody would answer it, and the
	// file would stay as it was.
	waitForKeyIn(t, path, "after Yes to the save dialog's question")
}

// rootShot photographs the whole screen (the app's dialogs are windows of
// their own) into the screenshot folder and says where.
func rootShot(t *testing.T, name string) string {
	t.Helper()
	shot, err := exec.Command("import", "-window", "root", "png:-").Output()
	if err != nil {
		return fmt.Sprintf("import failed (%v)", err)
	}
	wt.SaveShot(t, name, shot)
	return name + " in the screenshot folder"
}
