//go:build !windows && !darwin

package ui

import (
	"os"
	"strings"
)

// systemLanguage is the language of messages as the locale variables set
// it: LC_ALL, LC_MESSAGES, LANG, then LANGUAGE's first entry.
func systemLanguage() string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := os.Getenv(v); s != "" {
			return s
		}
	}
	first, _, _ := strings.Cut(os.Getenv("LANGUAGE"), ":")
	return first
}
