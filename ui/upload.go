package ui

import (
	"context"
	"errors"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/calmkey/calmkey/vault"
)

// advice is the product page's guidance on which key belongs here.
const advice = "Before you store it:\n" +
	"• Only one service key is kept for this SAP Cloud ALM tenant.\n" +
	"• Store the key you use regularly to connect managed services and systems (for example for monitoring or transport management); the same key can serve all of them.\n" +
	"• Don't store a \"one-use\" key made for a single managed service.\n" +
	"• Don't store keys for API calls, such as the SAP Cloud ALM Analytics API."

// onUpload lets the user pick a key file.
func (s *keyScreen) onUpload() {
	if !s.mayUpload() {
		return
	}
	s.openFile(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			s.warn("The file could not be opened", err.Error()+". Choose the key file (.txt or .json) you downloaded from the SAP BTP cockpit.")
			return
		}
		if r == nil {
			return // the user cancelled
		}
		s.readAndCheck(r.URI().Name(), func() (io.ReadCloser, error) { return r, nil })
	})
}

// onDropped takes a key file dropped on the window.
func (s *keyScreen) onDropped(_ fyne.Position, uris []fyne.URI) {
	if len(uris) == 0 || !s.mayUpload() {
		return
	}
	if len(uris) > 1 {
		s.warn("Drop one file", "Several files were dropped. Drop only the service key file (.txt or .json) from the SAP BTP cockpit.")
		return
	}
	u := uris[0]
	s.readAndCheck(u.Name(), func() (io.ReadCloser, error) { return storage.Reader(u) })
}

// onPaste takes a key's JSON from the clipboard, as the BTP cockpit's Copy
// JSON leaves it.
func (s *keyScreen) onPaste() {
	if !s.mayUpload() {
		return
	}
	text := s.app.Clipboard().Content()
	if strings.TrimSpace(text) == "" {
		s.warn("The clipboard is empty", "Nothing was stored. In the SAP BTP cockpit, open the key under Credentials and choose Copy JSON, then paste again.")
		return
	}
	s.pasted = text
	s.readAndCheck("", func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil })
}

// mayUpload reports whether a key can be added now, and says why not when a
// drop or paste arrives at the wrong time.
func (s *keyScreen) mayUpload() bool {
	switch {
	case s.busy != 0 || s.state == stLoading:
		s.warn("Please wait", "calmkey is still talking to the keychain. Try again once it has answered.")
	case s.state == stStored:
		s.warn("A key is already stored", "Only one service key is kept for a tenant. To replace the stored key, delete it first, then upload the new one.")
	case s.state == stFailed:
		s.warn("The key cannot be stored now", "The keychain is not working, so a key could not be stored. Fix the problem shown in the window, choose Try again, then upload the key.")
	default:
		return true
	}
	return false
}

// readAndCheck reads the key away from the UI goroutine (a file may sit on a
// slow network share) and runs the format check; it shows the problems or
// asks the user to confirm the key.
func (s *keyScreen) readAndCheck(name string, open func() (io.ReadCloser, error)) {
	go func() {
		var key *vault.Key
		var readErr, parseErr error
		err := safely("checking the key", func() error {
			rc, err := open()
			if err != nil {
				readErr = err
				return nil
			}
			// Under the size cap: one byte over is enough for Parse to say
			// "too large".
			data, err := vault.ReadKeyFile(context.Background(), func() (io.ReadCloser, error) { return rc, nil })
			if err != nil {
				readErr = err
				return nil
			}
			key, parseErr = vault.Parse(data)
			return nil
		})
		s.do(func() {
			switch {
			case err != nil:
				s.warn("The key was not checked", err.Error()+". Nothing was stored.")
			case readErr != nil:
				s.warn("The file could not be read", "Nothing was stored: "+readErr.Error()+". Choose the key file (.txt or .json) you downloaded from the SAP BTP cockpit.")
			case parseErr != nil:
				s.showProblems(name, parseErr)
			case s.state != stEmpty || s.busy != 0:
				// Things changed while the file was read (another upload
				// finished, the keychain is being read): say why not now.
				s.mayUpload()
			default:
				s.confirmUpload(key, name)
			}
		})
	}()
}

// problemsScreen lists why an upload is not a valid key.
type problemsScreen struct {
	list   *widget.Label
	dialog *dialog.CustomDialog
}

func (s *keyScreen) showProblems(name string, err error) {
	what := "The pasted text"
	if name != "" {
		what = name
	}
	var lines []string
	var fe *vault.FormatError
	switch {
	case errors.Is(err, vault.ErrTooLarge):
		lines = append(lines, err.Error())
	case errors.As(err, &fe):
		for _, p := range fe.Problems {
			lines = append(lines, "• "+p.String())
		}
		if len(fe.Warnings) > 0 {
			lines = append(lines, "Also noted:")
			for _, w := range fe.Warnings {
				lines = append(lines, "• "+w.String())
			}
		}
	default:
		lines = append(lines, err.Error())
	}
	v := &problemsScreen{list: wrapped(strings.Join(lines, "\n"))}
	body := container.NewVBox(
		wrapped(what+" is not a valid SAP Cloud ALM service key. Nothing was stored. The format check found:"),
		v.list,
		wrapped("Download the key again in the SAP BTP cockpit (Services > Instances and Subscriptions > your SAP Cloud ALM API instance > Credentials > Download) and upload that file."),
	)
	v.dialog = dialog.NewCustom("This is not a valid service key", "OK", container.NewVScroll(body), s.win)
	v.dialog.SetIcon(theme.ErrorIcon())
	s.problems = v
	v.dialog.Show()
	v.dialog.Resize(fyne.NewSize(560, 400))
}

// uploadScreen shows a valid key for the user to confirm before it is
// stored, with the product page's advice.
type uploadScreen struct {
	key                                                 *vault.Key
	fileName                                            string
	tenant, region, clientID, credType, api, certExpiry *widget.Label
	warnings                                            *widget.Label
	advice                                              *widget.Label
	dialog                                              *dialog.ConfirmDialog
}

func (s *keyScreen) confirmUpload(key *vault.Key, name string) {
	v := &uploadScreen{
		key:      key,
		fileName: name,
		tenant:   &widget.Label{Text: key.Tenant, TextStyle: fyne.TextStyle{Bold: true}},
		region:   widget.NewLabel(orUnknown(key.Region)),
		clientID: &widget.Label{Text: key.ClientID, Truncation: fyne.TextTruncateEllipsis},
		credType: widget.NewLabel(key.CredentialTypeText()),
		api:      &widget.Label{Text: key.APIEndpoint, Truncation: fyne.TextTruncateEllipsis},
		warnings: &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance},
		advice:   wrapped(advice),
	}
	text, imp := expiryText(key, s.now())
	v.certExpiry = &widget.Label{Text: text, Wrapping: fyne.TextWrapWord, Importance: imp}
	var warns []string
	for _, w := range key.Warnings {
		warns = append(warns, "• "+w.String())
	}
	if len(warns) > 0 {
		v.warnings.SetText("Warnings:\n" + strings.Join(warns, "\n"))
	} else {
		v.warnings.Hide()
	}
	form := widget.NewForm(
		widget.NewFormItem("Tenant", v.tenant),
		widget.NewFormItem("Region", v.region),
		widget.NewFormItem("Client ID", v.clientID),
		widget.NewFormItem("Credential type", v.credType),
		widget.NewFormItem("API endpoint", v.api),
		widget.NewFormItem("Certificate expiry", v.certExpiry),
	)
	intro := "This is a valid service key. Check that it is the one you mean to store."
	if name != "" {
		intro = name + " holds a valid service key. Check that it is the one you mean to store."
	}
	// The advice comes before the facts, so it is read without scrolling.
	body := container.NewVBox(wrapped(intro), v.advice, widget.NewSeparator(), form, v.warnings)
	v.dialog = dialog.NewCustomConfirm("Store this service key?", "Store in keychain", "Cancel", container.NewVScroll(body), func(ok bool) {
		if ok {
			s.saveKey(key, name)
		}
	}, s.win)
	s.uploadView = v
	v.dialog.Show()
	v.dialog.Resize(fyne.NewSize(620, 520))
}

// saveKey stores the confirmed key, then reads it back, so the window shows
// what the keychain holds.
func (s *keyScreen) saveKey(key *vault.Key, name string) {
	if s.state != stEmpty || s.busy != 0 {
		s.mayUpload()
		return
	}
	var st *vault.Stored
	saved := false
	s.keychain("Storing the service key in the keychain…", func(ctx context.Context) error {
		if err := s.store.Save(ctx, key, name); err != nil {
			return err
		}
		saved = true
		var err error
		st, err = s.store.Load(ctx, key.Tenant)
		return err
	}, func(err error) {
		switch {
		case err == nil:
			s.loaded(st, nil)
			if name == "" && s.pasted != "" {
				// The pasted JSON holds the secret; once it is in the
				// keychain it need not linger on the clipboard.
				s.clearClipboardLater(s.pasted)
			}
			s.pasted = ""
		case saved:
			// Stored, but reading it back failed: show the keychain's
			// problem like any failed read, with its Try again.
			s.loaded(nil, err)
		case errors.Is(err, vault.ErrAlreadyStored):
			s.warn("A key is already stored", "Another service key was stored meanwhile (perhaps with calmkeyctl), and only one is kept for a tenant. Nothing was changed; the window now shows the stored key. To replace it, delete it first.")
			s.load()
		default:
			s.warn("The key was not stored", keychainFailureText("stored", err))
		}
	})
}
