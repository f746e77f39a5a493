package ui

import (
	"context"
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/vault"
)

// deleteDialog asks before the key is deleted.
type deleteDialog struct {
	question *widget.Label
	reminder *widget.Label
	stamp    string // the key asked about, as vault's Store.Stamp names it
	dialog   *dialog.ConfirmDialog
	open     bool
}

// errChanged: the key was not the one the user agreed to delete.
var errChanged = errors.New("the stored key changed")

// onDelete reads the keychain again, then asks for confirmation, naming the
// tenant, and reminds the user that deleting here does not delete the key
// in SAP BTP.
func (sec *section) onDelete() {
	w := sec.w
	if w.busy != 0 || sec.running != nil || (w.state != stStored && !w.corrupt()) {
		return
	}
	w.whenFresh("Nothing was deleted from here.", sec.askDelete)
}

func (sec *section) askDelete() {
	w := sec.w
	var what string
	switch {
	case w.state == stStored:
		what = "the service key of tenant " + sec.stored.Key.Tenant
	case w.corrupt():
		what = "the damaged service key"
	default:
		return
	}
	v := &deleteDialog{
		question: wrapped("Delete " + what + " from this computer's keychain?"),
		reminder: wrapped("The key stays valid in the SAP BTP cockpit until you delete it there too " +
			"(Instances and Subscriptions > your SAP Cloud ALM API instance > Credentials). " +
			"Managed systems that use it keep working until then."),
		stamp: w.stamp,
	}
	v.dialog = dialog.NewCustomConfirm("Delete the service key?", "Delete", "Keep", container.NewVBox(v.question, v.reminder), func(ok bool) {
		if ok {
			w.deleteKey(v.stamp)
		}
	}, w.win)
	v.dialog.SetConfirmImportance(widget.DangerImportance)
	tracked(v.dialog, &v.open)
	w.dialogs.delete = v
	v.dialog.Show()
	v.dialog.Resize(fyne.NewSize(480, v.dialog.MinSize().Height))
}

// deleteKey deletes the stored key if it is still the one asked about
// (stamp): a key that another program put in its place meanwhile is not
// deleted without asking again.
func (w *window) deleteKey(stamp string) {
	w.keychain("Deleting the service key…", func(ctx context.Context) error {
		now, err := w.store.Stamp(ctx)
		switch {
		case err != nil:
			return err
		case now == "":
			return vault.ErrNotFound
		case now != stamp:
			return errChanged
		}
		return w.store.Delete(ctx)
	}, func(err error) {
		switch {
		case err == nil || errors.Is(err, vault.ErrNotFound):
			// ErrNotFound: someone (calmkeyctl) deleted it first; the
			// outcome the user asked for holds either way.
			w.state, w.loadErr, w.stamp, w.stampOK = stEmpty, nil, "", true
			w.sec.setKey(nil)
			w.forgetLastTest()
		case errors.Is(err, errChanged):
			w.read(readingText, func(change) {
				w.warn("The key was not deleted", "Another program (calmkeyctl, another calmkey window or a script) replaced the service key after you were asked, so nothing was deleted. The window now shows the key that is stored: delete it again if you mean to.")
			})
		case errors.Is(err, vault.ErrBusy):
			w.offerRetry("The key was not deleted", keychainFailureText("deleted", err), func() { w.deleteKey(stamp) })
		case errors.Is(err, vault.ErrTimeout):
			// vault's text says what may be left.
			w.warn("The keychain did not answer", "Deleting the service key did not finish: "+err.Error()+".")
			w.read("", nil)
		default:
			w.warn("The key was not deleted", keychainFailureText("deleted", err))
		}
	})
}
