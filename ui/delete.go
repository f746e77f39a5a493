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

// deleteScreen asks before the key is deleted.
type deleteScreen struct {
	question *widget.Label
	reminder *widget.Label
	dialog   *dialog.ConfirmDialog
}

// onDelete asks for confirmation, naming the tenant, and reminds the user
// that deleting here does not delete the key in SAP BTP.
func (s *keyScreen) onDelete() {
	if s.busy != 0 || s.test != nil {
		return
	}
	var what string
	switch {
	case s.state == stStored:
		what = "the service key of tenant " + s.stored.Key.Tenant
	case s.state == stFailed && errors.Is(s.loadErr, vault.ErrCorrupt):
		what = "the damaged service key"
	default:
		return
	}
	v := &deleteScreen{
		question: wrapped("Delete " + what + " from this computer's keychain?"),
		reminder: wrapped("The key stays valid in the SAP BTP cockpit until you delete it there too " +
			"(Instances and Subscriptions > your SAP Cloud ALM API instance > Credentials). " +
			"Managed systems that use it keep working until then."),
	}
	v.dialog = dialog.NewCustomConfirm("Delete the service key?", "Delete", "Keep", container.NewVBox(v.question, v.reminder), func(ok bool) {
		if ok {
			s.deleteKey()
		}
	}, s.win)
	v.dialog.SetConfirmImportance(widget.DangerImportance)
	s.confirmDel = v
	v.dialog.Show()
	v.dialog.Resize(fyne.NewSize(480, v.dialog.MinSize().Height))
}

func (s *keyScreen) deleteKey() {
	tenant := s.tenant
	if s.stored != nil {
		tenant = s.stored.Key.Tenant
	}
	s.keychain("Deleting the service key…", func(ctx context.Context) error { return s.store.Delete(ctx, tenant) }, func(err error) {
		if err != nil && !errors.Is(err, vault.ErrNotFound) {
			s.warn("The key was not deleted", keychainFailureText("deleted", err))
			return
		}
		// ErrNotFound: someone (calmkeyctl) deleted it first; the outcome
		// the user asked for holds either way.
		s.state, s.stored, s.loadErr = stEmpty, nil, nil
		s.forgetLastTest()
	})
}
