package vault

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMsgTexts: every code's English runs as a template with its own
// placeholders, and its plural forms use the same ones.
func TestMsgTexts(t *testing.T) {
	for _, code := range Codes() {
		tx, _ := TextOf(code)
		data := map[string]any{}
		for _, name := range Placeholders(tx.Other) {
			data[name] = "X"
		}
		if tx.Count != "" {
			data[tx.Count] = "3"
			if !slices.Contains(Placeholders(tx.Other), tx.Count) {
				t.Errorf("%s: counts %s, which its text does not show", code, tx.Count)
			}
		}
		if got := Fill(code, tx.Other, data); got == code || strings.Contains(got, "{{") {
			t.Errorf("%s: %q does not run as a template", code, tx.Other)
		}
		if tx.One != "" && !slices.Equal(Placeholders(tx.One), Placeholders(tx.Other)) {
			t.Errorf("%s: one %q and other %q differ in placeholders", code, tx.One, tx.Other)
		}
	}
}

// TestMsgEnglish: values and parts fill the English; plural forms follow
// the count; an unknown code and a missing value read as something other
// than half a sentence.
func TestMsgEnglish(t *testing.T) {
	m := M("format.field.notString").With("Kind", M("format.kind.list"))
	if got := m.English(); got != "must be a string, not a list" {
		t.Errorf("got %q", got)
	}
	for days, want := range map[string]string{"1": "in 1 day", "3": "in 3 days"} {
		if got := M("expiry.inDays", "Days", days).English(); got != want {
			t.Errorf("Days %s: got %q, want %q", days, got, want)
		}
	}
	if got := M("no.such.code").English(); got != "" {
		t.Errorf("unknown code: got %q", got)
	}
	if got := M("format.url.notHTTPS").English(); got != "format.url.notHTTPS" {
		t.Errorf("missing value: got %q", got)
	}
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	if got := CertExpiry(now.AddDate(0, 0, 3), now).When(); got != "in 3 days" {
		t.Errorf("When: got %q", got)
	}
}

// TestFindingJSON: a finding's JSON keeps path and message and adds its
// code and values; one written before codes reads with none.
func TestFindingJSON(t *testing.T) {
	_, err := Parse([]byte(`{"endpoints": [], "uaa": {}}`))
	fe := formatError(t, err)
	if !hasFinding(fe.Problems, "endpoints", "must be a JSON object, not a list") {
		t.Fatalf("problems: %v", fe.Problems)
	}
	var f Finding
	for _, p := range fe.Problems {
		if p.Path == "endpoints" {
			f = p
		}
	}
	b, _ := json.Marshal(f)
	want := `{"path":"endpoints","message":"must be a JSON object, not a list","code":"format.field.notObject","parts":{"Kind":{"code":"format.kind.list"}}}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	var old Finding
	if err := json.Unmarshal([]byte(`{"path":"uaa.url","message":"is not a URL"}`), &old); err != nil || !old.IsZero() || old.Message != "is not a URL" {
		t.Errorf("old finding: %+v, %v", old, err)
	}
}
