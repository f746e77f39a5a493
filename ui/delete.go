package ui

import (
	"context"
	"errors"
	"log"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/lang"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/vault"
)

// deleteDialog asks before a tenant's key is deleted.
type deleteDialog struct {
	tenant   string
	question *widget.Label
	reminder *widget.Label
	dialog   *dialog.ConfirmDialog
	open     bool
}

// onDelete reads the keychain again, then asks for confirmation, naming the
// tenant, and reminds the user that deleting here does not delete the key
// in SAP BTP.
func (w *window) onDelete(sec *section) {
	if !w.busy.idle() || sec.running != nil || w.secs.byTenant(sec.tenant) != sec {
		return
	}
	w.whenFresh(sec, lang.X("window.undone.delete", "Nothing was deleted from here."), func() { w.askDelete(sec) })
}

func (w *window) askDelete(sec *section) {
	tenant := map[string]any{"Tenant": vault.Printable(sec.tenant)}
	var question string
	switch {
	case sec.stored != nil:
		question = lang.X("window.delete.question", "Delete the service key of tenant {{.Tenant}} from this computer's keychain? The other tenants' keys stay as they are.", tenant)
	case sec.tenant != "":
		question = lang.X("window.delete.questionDamaged", "Delete the damaged service key of tenant {{.Tenant}} from this computer's keychain? The other tenants' keys stay as they are.", tenant)
	default:
		question = lang.X("window.delete.questionDamagedEntry", "Delete the damaged service key from this computer's keychain? The other tenants' keys stay as they are.")
	}
	v := &deleteDialog{
		tenant:   sec.tenant,
		question: wrapped(question),
		reminder: wrapped(lang.X("window.delete.reminder", "The key stays valid in the SAP BTP cockpit until you delete it there too ({{.Cockpit}}). Managed systems that use it keep working until then.",
			map[string]any{"Cockpit": cockpitPath()})),
	}
	v.dialog = dialog.NewCustomConfirm(lang.X("window.delete.title", "Delete the service key?"), lang.X("window.button.delete", "Delete"), lang.X("window.button.keep", "Keep"),
		container.NewVBox(v.question, v.reminder), func(ok bool) {
			if ok {
				w.deleteKey(sec)
			}
		}, w.win)
	v.dialog.SetConfirmImportance(widget.DangerImportance)
	tracked(v.dialog, &v.open)
	w.dialogs.delete = v
	v.dialog.Show()
	v.dialog.Resize(fyne.NewSize(480, v.dialog.MinSize().Height))
}

// deleteKey deletes sec's key if it is still the one asked about (vault's
// DeleteIf): one that another program put in its place meanwhile is not
// deleted without asking again. Other tenants' changes do not matter. The
// tenant's last test goes with its key.
func (w *window) deleteKey(sec *section) {
	tenant, asked := sec.tenant, sec.stored
	history := w.history
	w.keychain(lang.X("window.line.deleting", "Deleting the service key of {{.Tenant}}…", map[string]any{"Tenant": vault.Printable(tenant)}), func(ctx context.Context) error {
		// The key asked about, checked under the keychain lock in the
		// same hold as the delete: one that another program stored in
		// its place after the question stays. A damaged key (nothing to
		// compare) is deleted as it is.
		var err error
		if asked != nil {
			err = w.store.DeleteIf(ctx, tenant, asked.Identity())
		} else {
			err = w.store.Delete(ctx, tenant)
		}
		if err != nil {
			return err
		}
		if history != nil && tenant != "" {
			hctx, cancel := context.WithTimeout(ctx, historyWithin)
			defer cancel()
			if err := history.Forget(hctx, tenant); err != nil {
				log.Printf("calmkey: the deleted key's last test stays on record: %v", err)
			}
		}
		return nil
	}, func(err error) {
		switch {
		case err == nil || errors.Is(err, vault.ErrNotFound):
			// ErrNotFound: someone (calmkeyctl) deleted it first; the
			// outcome the user asked for holds either way. The section
			// goes now; the next check reads the rest again.
			w.secs.remove(sec)
			w.loadErr = nil
			if len(w.secs.all) == 0 {
				w.state = stEmpty
			}
			w.shown = nil
			w.onForeground()
		case errors.Is(err, vault.ErrChanged):
			w.read(readingText(), nil, func(changes, error) {
				w.dialogs.warn(notDeletedTitle(), capitalized(lang.X("window.delete.replaced", "{{.Another}} replaced the service key of tenant {{.Tenant}} after you were asked, so nothing was deleted. The window now shows the key that is stored: delete it again if you mean to.",
					map[string]any{"Another": byAnother(), "Tenant": vault.Printable(tenant)})))
			})
		case errors.Is(err, vault.ErrBusy):
			w.dialogs.offerRetry(notDeletedTitle(), notDeletedText(err), func() { w.deleteKey(sec) })
		case errors.Is(err, vault.ErrTimeout):
			// vault's text says what may be left.
			w.dialogs.warn(noAnswerTitle(), lang.X("window.delete.timeout", "Deleting the service key did not finish: {{.Error}}.", map[string]any{"Error": errText(err)}))
			w.read("", nil, nil)
		default:
			w.dialogs.warn(notDeletedTitle(), notDeletedText(err))
		}
	})
}
