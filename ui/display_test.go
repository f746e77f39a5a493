package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/calmkey/calmkey/internal/testkeys"
)

func TestDisplayMasksSecretsUntilReveal(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()

	f.tap(f.sec().row.displayButton)
	v := f.w.dialogs.display
	if v == nil || !f.overlayShown() {
		t.Fatal("Display showed nothing")
	}
	mustContain(t, "masked JSON", v.json.Text, testkeys.Tenant, testkeys.ClientID, `"clientsecret"`)
	mustNotContain(t, "masked JSON", v.json.Text, testkeys.Secret)
	mustNotContain(t, "display dialog", texts(f.win.Canvas().Overlays().Top()), testkeys.Secret)
	if !strings.Contains(v.json.Text, "\n  ") {
		t.Errorf("the JSON is not pretty-printed:\n%s", v.json.Text)
	}

	test.Tap(v.reveal)
	if !strings.Contains(v.json.Text, testkeys.Secret) {
		t.Error("Reveal does not show the secret")
	}
	if string(k.JSON(true)) != v.json.Text {
		t.Error("the revealed text is not the key's JSON")
	}
	if v.reveal.Text != "Hide secrets" {
		t.Errorf("reveal button reads %q after revealing", v.reveal.Text)
	}
	test.Tap(v.reveal)
	mustNotContain(t, "JSON after hiding", v.json.Text, testkeys.Secret)

	// Displaying again starts masked.
	v.dialog.Dismiss()
	f.tap(f.sec().row.displayButton)
	mustNotContain(t, "JSON shown again", f.w.dialogs.display.json.Text, testkeys.Secret)
}

func TestDisplayCopyButtons(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	k := f.storeKey(testkeys.SecretKey(testkeys.Fields{}), "")
	f.load()
	f.tap(f.sec().row.displayButton)
	v := f.w.dialogs.display
	clip := f.app.Clipboard()

	wantTokenURL := "https://" + testkeys.Tenant + ".authentication.eu10.hana.ondemand.com/oauth/token"
	for _, tc := range []struct {
		tap  func()
		want string
	}{
		{func() { test.Tap(v.copyTokenURL) }, wantTokenURL},
		{func() { test.Tap(v.copyClientID) }, testkeys.ClientID},
		{func() { test.Tap(v.copyAPI) }, k.APIEndpoint},
		{func() { test.Tap(v.copySecret) }, testkeys.Secret},
	} {
		tc.tap()
		if got := clip.Content(); got != tc.want {
			t.Errorf("clipboard = %q, want %q", redact(got), redact(tc.want))
		}
	}
	mustContain(t, "copied note", v.copied.Text, "Client secret copied", "cleared from the clipboard")
	mustNotContain(t, "copied note", v.copied.Text, testkeys.Secret)
}

func redact(s string) string { return strings.ReplaceAll(s, testkeys.Secret, "<secret>") }

func TestCopiedSecretLeavesClipboard(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.w.clip.clearAfter = 30 * time.Millisecond
	f.tap(f.sec().row.displayButton)
	clip := f.app.Clipboard()

	test.Tap(f.w.dialogs.display.copySecret)
	if clip.Content() != testkeys.Secret {
		t.Fatal("the secret was not copied")
	}
	f.pumpUntil("the clipboard to be cleared", func() bool { return clip.Content() == "" })

	// Something the user copied afterwards stays.
	test.Tap(f.w.dialogs.display.copySecret)
	clip.SetContent("something else")
	time.Sleep(60 * time.Millisecond)
	f.drain(50 * time.Millisecond)
	if clip.Content() != "something else" {
		t.Errorf("the clipboard was cleared of what the user copied later: %q", clip.Content())
	}

	// Token URL and client ID are not secrets and stay.
	test.Tap(f.w.dialogs.display.copyClientID)
	time.Sleep(60 * time.Millisecond)
	f.drain(50 * time.Millisecond)
	if clip.Content() != testkeys.ClientID {
		t.Errorf("the client ID left the clipboard: %q", clip.Content())
	}
}

func TestClosingWindowTakesCopiedSecretOffClipboard(t *testing.T) {
	f := withKey(t, fixtureOpts{})
	f.tap(f.sec().row.displayButton)
	test.Tap(f.w.dialogs.display.copySecret)
	f.close()
	if got := f.app.Clipboard().Content(); got != "" {
		t.Errorf("clipboard after closing = %q, want empty", redact(got))
	}
}

func TestDisplayX509KeyHasNoSecretToCopy(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ca := testkeys.NewCA(t)
	chain, keyPEM := ca.Client(t, testkeys.ClientID, time.Now().Add(60*24*time.Hour), testkeys.ECDSA)
	f.storeKey(testkeys.X509Key(testkeys.Fields{}, chain, keyPEM), "")
	f.load()
	f.tap(f.sec().row.displayButton)
	v := f.w.dialogs.display
	if !v.copySecret.Disabled() {
		t.Error("Client secret can be copied from an x509 key")
	}
	mustNotContain(t, "masked JSON", v.json.Text, "PRIVATE KEY")
	test.Tap(v.copyTokenURL)
	if got := f.app.Clipboard().Content(); got != "https://"+testkeys.Tenant+".authentication.cert.eu10.hana.ondemand.com/oauth/token" {
		t.Errorf("token URL of an x509 key = %q, want the certurl's", got)
	}
	mustContain(t, "display dialog", texts(f.win.Canvas().Overlays().Top()), "no client secret")
}
