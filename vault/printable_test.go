package vault

import (
	"strings"
	"testing"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"acme-cloudalm":              "acme-cloudalm",
		"mandant-münchen-東京":         "mandant-münchen-東京",
		"acme\x1b]0;owned\x07":       `acme\x1b]0;owned\x07`,
		"a\nb\rc\td":                 `a\nb\rc\td`,
		"abc\u202edef":               `abc\u202edef`,
		"zero\u200bwidth":            `zero\u200bwidth`,
		"c1\u009bcontrol":            `c1\u009bcontrol`,
		"bad \xff byte":              `bad \xff byte`,
		`back\slash\x1b`:             `back\\slash\\x1b`,
		"del\x7f":                    `del\x7f`,
		"private\ue000":              `private\ue000`,
		"line\u2028sep":              `line\u2028sep`,
		"non-breaking\u00a0space ok": "non-breaking\u00a0space ok",
	} {
		got := Printable(in)
		if got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
		for _, r := range got {
			if Invisible(r) {
				t.Errorf("Printable(%q) still holds %U", in, r)
			}
		}
	}
	// Escaped text cannot be confused with an escape that was in the text.
	if Printable("\x1b") == Printable(`\x1b`) {
		t.Error("an escape and its spelling print alike")
	}
	if s := "plain"; Printable(s) != s || !strings.EqualFold(Printable(s), s) {
		t.Error("plain text changed")
	}
}
