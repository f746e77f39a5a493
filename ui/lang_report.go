package ui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2/lang"

	"github.com/calmkey/calmkey/almtest"
)

// shortOutcome is almtest's verdict in a few words (Report.Short), in the
// window's language, found by the report's code.
func shortOutcome(r *almtest.Report) string {
	switch r.Code() {
	case "works":
		return lang.X("window.outcome.works", "logon works")
	case "warning":
		return lang.X("window.outcome.warning", "logon works, with a warning")
	case "rejected":
		return lang.X("window.outcome.rejected", "logon fails: the key was rejected")
	case "fails":
		return lang.X("window.outcome.fails", "logon fails")
	}
	return r.Short()
}

// outcomeWords is shortOutcome for a line or a headline (Report.Outcome).
func outcomeWords(r *almtest.Report) string { return capitalized(shortOutcome(r)) }

// stepLine is a step's name, status and facts (Step.Summary): "API:
// warning (HTTP 403, 80 ms)".
func stepLine(st almtest.Step) string {
	var facts []string
	if st.HTTPStatus != 0 {
		facts = append(facts, fmt.Sprintf("HTTP %d", st.HTTPStatus))
	}
	if st.Status != almtest.StatusSkipped {
		facts = append(facts, fmt.Sprintf("%d ms", st.Duration.Milliseconds()))
	}
	line := st.Name() + ": " + statusWords(st.Status)
	if len(facts) > 0 {
		line += " (" + strings.Join(facts, ", ") + ")"
	}
	return line
}

// statusWords is a step's status (Status.Words) in the window's language.
func statusWords(s almtest.Status) string {
	switch s {
	case almtest.StatusOK:
		return lang.X("window.step.ok", "ok")
	case almtest.StatusWarn:
		return lang.X("window.step.warning", "warning")
	case almtest.StatusFail:
		return lang.X("window.step.failed", "failed")
	case almtest.StatusSkipped:
		return lang.X("window.step.skipped", "skipped")
	}
	return s.Words()
}
