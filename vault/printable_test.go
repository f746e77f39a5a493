package vault

import (
	"encoding/json"
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
		`C:\Users\me\key.txt`:        `C:\Users\me\key.txt`,
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
	// Escaping twice changes nothing: text that passed through once (a
	// finding's path) can be printed through it again.
	for _, s := range []string{"a\x1bb\u202e\xff", `C:\x`} {
		if once := Printable(s); Printable(once) != once {
			t.Errorf("Printable is not idempotent on %q", s)
		}
	}
	if s := "plain"; Printable(s) != s || !strings.EqualFold(Printable(s), s) {
		t.Error("plain text changed")
	}
}

// TestKeyJSONEscapesInvisible: show and the app's Display print the key's
// JSON; a character that would act on a terminal or reorder the text is
// escaped there, with the same meaning to a JSON reader.
func TestKeyJSONEscapesInvisible(t *testing.T) {
	file := edit(t, secretKey(t), func(root, _ map[string]any) {
		root["notes"] = "a\u202eb\u0085c\x1b[2J\U000F0000"
	})
	k := mustParse(t, file)
	for _, reveal := range []bool{false, true} {
		js := k.JSON(reveal)
		for _, r := range string(js) {
			if Invisible(r) && r != '\n' {
				t.Errorf("JSON(%t) holds %U", reveal, r)
			}
		}
		var doc map[string]any
		if err := json.Unmarshal(js, &doc); err != nil || doc["notes"] != "a\u202eb\u0085c\x1b[2J\U000F0000" {
			t.Errorf("JSON(%t) changed the meaning: %v %q", reveal, err, doc["notes"])
		}
	}
}
