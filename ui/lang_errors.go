package ui

import (
	"errors"
	"runtime"

	"fyne.io/fyne/v2/lang"

	"github.com/calmkey/calmkey/vault"
)

// errText is a keychain error as the window words it. In English it is
// vault's text, which says the most (the wait, the keychain's own error).
// In German it is the German for its kind, found with errors.Is, never by
// its words; an error of no known kind stays as it is.
func errText(err error) string {
	if current != langGerman {
		return err.Error()
	}
	switch {
	case errors.Is(err, vault.ErrUnavailable):
		name, what := keychainHelp()
		return lang.X("window.error.unavailable", "the keychain ({{.Keychain}}) cannot be reached; {{.What}}", map[string]any{"Keychain": name, "What": what})
	case errors.Is(err, vault.ErrBusy):
		return lang.X("window.error.busy", "another calmkey is changing the key; try again")
	case errors.Is(err, vault.ErrTimeout):
		return lang.X("window.error.timeout", "the keychain did not answer in time; if it asks to be unlocked, unlock it and try again; calmkeyctl list shows what is stored")
	case errors.Is(err, vault.ErrCorrupt):
		return lang.X("window.error.corrupt", "the stored service key is damaged; delete it and upload the key file again")
	case errors.Is(err, vault.ErrAlreadyStored):
		return lang.X("window.error.alreadyStored", "the tenant already has a service key: delete it first")
	case errors.Is(err, vault.ErrNotFound):
		return lang.X("window.error.notFound", "no service key is stored; upload one first")
	case errors.Is(err, vault.ErrChanged):
		return lang.X("window.error.changed", "the service key was replaced meanwhile; nothing was changed: look at the key now stored and try again")
	}
	return err.Error()
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
