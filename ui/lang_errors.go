package ui

import (
	"errors"
	"runtime"

	"fyne.io/fyne/v2/lang"

	"github.com/calmkey/calmkey/vault"
)

// errText is a keychain error as the window words it. In English it is
// vault's text, which says the most (the wait, the keychain's own error).
// In German it is the German for its kind, found with errors.Is, with the
// facts vault gives as values (vault.ErrorFacts), never read from its
// words; an error of no known kind stays as it is.
func errText(err error) string {
	if current != langGerman {
		return err.Error()
	}
	var f vault.ErrorFacts
	if ve := (*vault.Error)(nil); errors.As(err, &ve) {
		f = ve.Facts()
	}
	tenant := map[string]any{"Tenant": vault.Printable(f.Tenant)}
	switch {
	case errors.Is(err, vault.ErrUnavailable):
		name, what := keychainHelp()
		if f.Detail != "" {
			return lang.X("window.error.unavailableDetail", "the keychain ({{.Keychain}}) cannot be reached ({{.Detail}}); {{.What}}", map[string]any{"Keychain": name, "Detail": f.Detail, "What": what})
		}
		return lang.X("window.error.unavailable", "the keychain ({{.Keychain}}) cannot be reached; {{.What}}", map[string]any{"Keychain": name, "What": what})
	case errors.Is(err, vault.ErrBusy):
		return lang.X("window.error.busy", "another calmkey is changing the key; try again")
	case errors.Is(err, vault.ErrTimeout):
		return timeoutText(f)
	case errors.Is(err, vault.ErrCorrupt) && f.Tenant != "":
		return lang.X("window.error.corruptTenant", "the stored service key of tenant {{.Tenant}} is damaged; delete it and upload the key file again", tenant)
	case errors.Is(err, vault.ErrCorrupt):
		return lang.X("window.error.corrupt", "the stored service key is damaged; delete it and upload the key file again")
	case errors.Is(err, vault.ErrAlreadyStored) && f.Tenant != "":
		return lang.X("window.error.alreadyStoredTenant", "tenant {{.Tenant}} already has a service key: delete it first", tenant)
	case errors.Is(err, vault.ErrAlreadyStored):
		return lang.X("window.error.alreadyStored", "the tenant already has a service key: delete it first")
	case errors.Is(err, vault.ErrNotFound) && f.Tenant != "":
		return lang.X("window.error.notFoundTenant", "no service key is stored for tenant {{.Tenant}}", tenant)
	case errors.Is(err, vault.ErrNotFound):
		return lang.X("window.error.notFound", "no service key is stored; upload one first")
	case errors.Is(err, vault.ErrChanged) && f.Left == vault.LeftNothingDeleted:
		return lang.X("window.error.changedNotDeleted", "the service key of tenant {{.Tenant}} was replaced meanwhile; nothing was deleted", tenant)
	case errors.Is(err, vault.ErrChanged) && f.Tenant != "":
		return lang.X("window.error.changedTenant", "the service key of tenant {{.Tenant}} was replaced meanwhile; nothing was changed: look at the key now stored and try again", tenant)
	case errors.Is(err, vault.ErrChanged):
		return lang.X("window.error.changed", "the service key was replaced meanwhile; nothing was changed: look at the key now stored and try again")
	}
	return err.Error()
}

// timeoutText is vault.ErrTimeout in the window's language, with the wait
// and what the call left, as vault's English says them.
func timeoutText(f vault.ErrorFacts) string {
	data := map[string]any{"Wait": roundDuration(f.Wait), "Grace": roundDuration(f.Grace), "Tenant": vault.Printable(f.Tenant)}
	switch {
	case f.Wait == 0:
		return lang.X("window.error.timeout", "the keychain did not answer in time; if it asks to be unlocked, unlock it and try again; calmkeyctl list shows what is stored")
	case f.Left == vault.LeftNothingStored:
		return lang.X("window.error.timeoutNothingStored", "the keychain did not answer within {{.Wait}}; nothing was stored; if it asks to be unlocked, unlock it and try again", data)
	case f.Left == vault.LeftNothingDeleted:
		return lang.X("window.error.timeoutNothingDeleted", "the keychain did not answer within {{.Wait}}; nothing was deleted; if it asks to be unlocked, unlock it and try again", data)
	case f.Left == vault.LeftPartialKey:
		return lang.X("window.error.timeoutPartial", "the keychain did not answer within {{.Wait}}, and the change it had started had not ended {{.Grace}} later; the keychain may hold a partial key: run calmkeyctl delete; if it asks to be unlocked, unlock it and try again", data)
	case f.Left == vault.LeftNotReplaced:
		return lang.X("window.error.timeoutNotReplaced", "the keychain did not answer within {{.Wait}}; the key of tenant {{.Tenant}} was not replaced; if the keychain asks to be unlocked, unlock it and try again", data)
	case f.Left == vault.LeftEitherKey:
		return lang.X("window.error.timeoutEitherKey", "the keychain did not answer within {{.Wait}} while calmkey replaced the key of tenant {{.Tenant}}; either key may be stored now, whole: run calmkeyctl list to see which", data)
	}
	return lang.X("window.error.timeoutWithin", "the keychain did not answer within {{.Wait}}; if it asks to be unlocked, unlock it and try again", data)
}

// keychainHelp names this OS's keychain as its users know it, and says
// what to do when it cannot be reached, as vault's keychainHelp does.
func keychainHelp() (name, what string) {
	switch runtime.GOOS {
	case "darwin":
		return lang.X("window.keychain.darwin", "your login keychain"),
			lang.X("window.keychain.darwinHelp", "unlock your login keychain in Keychain Access and try again")
	case "windows":
		return lang.X("window.keychain.windows", "Windows Credential Manager"),
			lang.X("window.keychain.windowsHelp", "it works only in a Windows session you logged on to with your password, not from a service or a scheduled task set to \"Do not store password\"; check that Control Panel > Credential Manager > Windows Credentials opens for your account, then try again")
	}
	return lang.X("window.keychain.linux", "Secret Service"),
		lang.X("window.keychain.linuxHelp", "install and unlock GNOME Keyring, or enable KeePassXC's Secret Service integration, then try again")
}
