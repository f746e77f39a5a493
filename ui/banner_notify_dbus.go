//go:build !windows && !darwin

package ui

import (
	"context"
	"log"
	"time"

	"fyne.io/fyne/v2"

	"github.com/calmkey/calmkey/internal/notify"
)

// notifyWithin bounds showing one notification: a session bus or a
// notification service that does not answer must not keep a goroutine.
const notifyWithin = 10 * time.Second

// systemNotifier tells the desktop through the freedesktop Notifications
// service, in the background.
func systemNotifier(fyne.App) func(title, body string) {
	return func(title, body string) {
		go func() {
			if err := sendNotification(title, body); err != nil {
				log.Printf("calmkey: the desktop notification was not shown: %v", err)
			}
		}()
	}
}

// sendNotification shows one notification and waits for the service's
// answer; the text goes as D-Bus data.
func sendNotification(title, body string) error {
	ctx, cancel := context.WithTimeout(context.Background(), notifyWithin)
	defer cancel()
	return notify.Notifier{App: "calmkey"}.Send(ctx, title, body)
}
