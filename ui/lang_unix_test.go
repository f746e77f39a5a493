//go:build !windows && !darwin

package ui

import "testing"

// The language of messages: LC_ALL, LC_MESSAGES, LANG, then LANGUAGE.
func TestSystemLanguageFromLocaleVariables(t *testing.T) {
	for _, tc := range []struct {
		all, messages, lang, language, want string
	}{
		{"de_DE.UTF-8", "en_US.UTF-8", "fr_FR.UTF-8", "en", "de_DE.UTF-8"},
		{"", "de_AT.UTF-8", "en_US.UTF-8", "en", "de_AT.UTF-8"},
		{"", "", "de_CH.UTF-8", "en", "de_CH.UTF-8"},
		{"", "", "", "de:en", "de"},
		{"", "", "", "", ""},
	} {
		t.Setenv("LC_ALL", tc.all)
		t.Setenv("LC_MESSAGES", tc.messages)
		t.Setenv("LANG", tc.lang)
		t.Setenv("LANGUAGE", tc.language)
		if got := systemLanguage(); got != tc.want {
			t.Errorf("LC_ALL=%q LC_MESSAGES=%q LANG=%q LANGUAGE=%q: %q, want %q", tc.all, tc.messages, tc.lang, tc.language, got, tc.want)
		}
	}
}
