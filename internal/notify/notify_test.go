package notify_test

import (
	"context"
	"errors"
	"testing"

	"github.com/calmkey/calmkey/internal/notify"
)

func TestEscape(t *testing.T) {
	got := notify.Escape(`a <b>x</b> & $(rm -rf ~) „q“`)
	if want := `a &lt;b&gt;x&lt;/b&gt; &amp; $(rm -rf ~) „q“`; got != want {
		t.Errorf("Escape = %q, want %q", got, want)
	}
}

func TestSendWithoutBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	err := notify.Notifier{App: "calmkey"}.Send(context.Background(), "t", "b")
	if !errors.Is(err, notify.ErrNoBus) {
		t.Errorf("Send without a bus = %v, want ErrNoBus", err)
	}
}
