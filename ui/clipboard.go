package ui

import (
	"time"

	"fyne.io/fyne/v2"
)

// clipboard keeps secrets from outliving their use on the system
// clipboard: a secret the app copied leaves it after clearAfter or when the
// window closes, and a key pasted for upload leaves it once the upload has
// an outcome. Either only if the clipboard still holds that text: what the
// user copied since stays.
type clipboard struct {
	app        fyne.App
	do         func(func())
	clearAfter time.Duration // until a copied secret leaves the clipboard

	// On the UI goroutine only.
	copied string // a secret on the clipboard that the app takes off again
	pasted string // pasted text on its way to the keychain
}

func (c *clipboard) content() string { return c.app.Clipboard().Content() }

// copy puts text on the clipboard; a secret is taken off it again after
// clearAfter, unless the user has copied something else meanwhile.
func (c *clipboard) copy(text string, secret bool) {
	clip := c.app.Clipboard()
	clip.SetContent(text)
	if !secret {
		return
	}
	c.copied = text
	time.AfterFunc(c.clearAfter, func() {
		c.do(func() {
			if clip.Content() == text {
				clip.SetContent("")
			}
			if c.copied == text {
				c.copied = ""
			}
		})
	})
}

// holdPaste notes text, pasted for an upload, to take it off the
// clipboard at the upload's outcome (forgetPaste): the key's JSON holds its
// secret.
func (c *clipboard) holdPaste(text string) { c.pasted = text }

// forgetPaste takes a pasted key off the clipboard once its upload has an
// outcome (stored, invalid, cancelled, failed), if the clipboard still
// holds that text.
func (c *clipboard) forgetPaste() {
	if c.pasted == "" {
		return
	}
	if clip := c.app.Clipboard(); clip.Content() == c.pasted {
		clip.SetContent("")
	}
	c.pasted = ""
}

// close takes a secret this app copied or a key it was pasted off the
// clipboard, so it does not outlive the app there.
func (c *clipboard) close() {
	if c.copied != "" && c.app.Clipboard().Content() == c.copied {
		c.app.Clipboard().SetContent("")
	}
	c.copied = ""
	c.forgetPaste()
}
