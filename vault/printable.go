package vault

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s safe to print on a terminal or show in a window: every
// character that is not shown as itself (see Invisible), and every byte that
// is not UTF-8, is written as an escape instead (\x1b, \u202e, \n).
// Backslashes stay as they are, so Windows paths read as usual and
// Printable(Printable(s)) is Printable(s). Fields the format check accepts never hold them;
// Printable is for text that was not checked (file names, an older stored
// key) and costs nothing on clean text.
func Printable(s string) string {
	clean := true
	for i, r := range s {
		if Invisible(r) || (r == utf8.RuneError && isBadByte(s, i)) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && isBadByte(s, i):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && Invisible(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case Invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isBadByte(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 1
}

// Invisible reports a character that makes what is displayed differ from
// what is there: control characters (C0, DEL, C1: terminal escapes, line
// breaks, backspace), format characters (bidi overrides and isolates such
// as U+202E, which reorder the text around them; zero-width spaces and
// joiners; the soft hyphen and the BOM), the line and paragraph separators,
// and unassigned or private-use code points, which fonts draw as nothing or
// as a box. The format check refuses them in every field that is shown.
func Invisible(r rune) bool {
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) ||
		(r > unicode.MaxASCII && !unicode.IsPrint(r) && !unicode.IsSpace(r)) || r == utf8.RuneError
}
