package ui

import (
	"os"
	"strings"

	"fyne.io/fyne/v2"

	"github.com/calmkey/calmkey/internal/privfile"
	"github.com/calmkey/calmkey/vault"
)

// onDownload saves the key, byte for byte as uploaded, to a file the user
// picks.
func (s *keyScreen) onDownload() {
	if s.state != stStored {
		return
	}
	key := s.stored.Key
	s.saveFile(downloadName(key), func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			s.warn("The key was not saved", "The file could not be opened for writing ("+err.Error()+"). Choose another folder or file name.")
			return
		}
		if w == nil {
			return // the user cancelled
		}
		data := key.Bytes()
		go func() {
			var where string
			werr := safely("saving the key file", func() error {
				var err error
				where, err = writeKey(w, data)
				return err
			})
			s.do(func() {
				if werr != nil {
					s.warn("The key was not saved", "Writing the key file failed ("+werr.Error()+"). Choose another folder, or free some disk space, and download it again.")
					return
				}
				s.tell("Key saved", "The service key was saved to "+where+". The file holds the client secret or private key: only your user can read it. Delete it once you no longer need it.")
			})
		}()
	})
}

// downloadName proposes "<tenant>-service-key.txt", keeping the tenant to
// characters that are safe in a file name everywhere.
func downloadName(k *vault.Key) string {
	t := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, k.Tenant)
	t = strings.Trim(t, ".")
	if t == "" {
		t = "sap-cloud-alm"
	}
	return t + "-service-key.txt"
}

// writeKey writes data to w's file with mode 0600. Fyne's file writer
// creates files 0644 (os.Create), readable by every user of the machine, so
// for a local file the writer is only used for the path: the bytes go to a
// 0600 temporary file beside it, renamed over it once complete, so that a
// failed write never leaves half a key behind. Other URI schemes (none on
// desktop today) are written through the writer.
func writeKey(w fyne.URIWriteCloser, data []byte) (string, error) {
	u := w.URI()
	if u.Scheme() != "file" {
		_, err := w.Write(data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return u.String(), err
	}
	path := u.Path()
	_ = w.Close() // nothing was written through it
	// privfile makes it 0600 (on Windows, with an access list for the user
	// alone) through a temporary file renamed over path.
	if err := privfile.WriteFile(path, data, true); err != nil {
		// Fyne created (or emptied) the file when the dialog closed; an empty
		// file left there would look like a download that worked.
		if fi, serr := os.Stat(path); serr == nil && fi.Size() == 0 {
			_ = os.Remove(path)
		}
		return path, err
	}
	return path, nil
}
