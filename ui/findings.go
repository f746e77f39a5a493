package ui

import (
	"time"

	"fyne.io/fyne/v2/lang"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// What vault and almtest found, in the window's language. They report it
// as codes with values (vault.Msg); the key of a code is "findings." +
// code, for every code in vault.Codes(), with vault's or almtest's English
// as the fallback (the one home of those words; calmkeyctl prints the
// same). translations/findings/{en,de}.json hold the texts, and
// findings_test.go checks that every code has both, with the same
// placeholders.

// findingsPrefix makes a code a lang key.
const findingsPrefix = "findings."

// msgDepth bounds how deep a message's parts nest (almtest's history
// cleaning drops deeper ones).
const msgDepth = 6

// msgText is m in the window's language.
func msgText(m vault.Msg) string { return m.Render(renderMsg) }

// renderMsg words one message whose parts are already worded; a Date value
// (2006-01-02) is written as the window writes days.
func renderMsg(code string, t vault.Text, count int, data map[string]any) string {
	if d, ok := data["Date"].(string); ok {
		if day, err := time.Parse("2006-01-02", d); err == nil {
			data["Date"] = day.Format(dateLayout())
		}
	}
	if t.Count != "" {
		return lang.XN(findingsPrefix+code, t.Pick(count), count, data)
	}
	return lang.X(findingsPrefix+code, t.Other, data)
}

// shownText is m in the window's language when it can be worded, else
// english: a finding or step recorded before codes existed.
func shownText(m vault.Msg, english string) string {
	if m.IsZero() || !m.Valid(msgDepth) {
		return english
	}
	return msgText(m)
}

// findingLine is a format check's problem or warning: "uaa.url: …" (the
// path is the key's own, in no language), or the text alone.
func findingLine(f vault.Finding) string {
	text := shownText(f.Msg, f.Message)
	if f.Path == "" {
		return text
	}
	return f.Path + ": " + text
}

// tooLargeText is vault.ErrTooLarge in the window's language.
func tooLargeText() string { return msgText(vault.M("format.tooLarge")) }

// stepDetail is what a test step found, in the window's language.
func stepDetail(st almtest.Step) string { return shownText(st.DetailMsg, st.Detail) }

// stepHint is what to do about a step, in the window's language; "" when
// there is nothing to do.
func stepHint(st almtest.Step) string { return shownText(st.HintMsg, st.Hint) }

// routeText is the way a step's connection went out, as calmkeyctl says
// it ("direct", "via proxy:8080 (from HTTPS_PROXY)"), in the window's
// language.
func routeText(rt netroute.Route) string { return msgText(almtest.RouteMsg(rt)) }

// proxyErrText is a proxy setting's error in the window's language: netroute's
// code when it has one, else the error's own text (the window's own errors
// are worded already).
func proxyErrText(err error) string {
	if msg, ok := almtest.OverrideMsg(err); ok {
		return msgText(msg)
	}
	return err.Error()
}
