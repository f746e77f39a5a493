package almtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// Words is how a status reads in text.
func (s Status) Words() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusWarn:
		return "warning"
	case StatusFail:
		return "failed"
	case StatusSkipped:
		return "skipped"
	}
	return string(s)
}

// Name is how a step is called in text.
func (s Step) Name() string {
	switch s.ID {
	case StepToken:
		return "Token"
	case StepAPI:
		return "API"
	}
	return s.ID
}

// Summary is the step's name, status and facts, without the detail:
// "API: warning (HTTP 403, 80 ms)". The app shows it as a step's title.
func (s Step) Summary() string {
	var facts []string
	if s.HTTPStatus != 0 {
		facts = append(facts, fmt.Sprintf("HTTP %d", s.HTTPStatus))
	}
	if s.Status != StatusSkipped {
		facts = append(facts, fmt.Sprintf("%d ms", s.Duration.Milliseconds()))
	}
	line := s.Name() + ": " + s.Status.Words()
	if len(facts) > 0 {
		line += " (" + strings.Join(facts, ", ") + ")"
	}
	return line
}

// String gives one line: "API: warning (HTTP 403, 80 ms): detail".
func (s Step) String() string {
	if s.Detail != "" {
		return s.Summary() + ": " + s.Detail
	}
	return s.Summary()
}

type stepJSON struct {
	ID         string `json:"id"`
	Status     Status `json:"status"`
	Ms         int64  `json:"ms"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Detail     string `json:"detail"`
	Hint       string `json:"hint,omitempty"`
	// Codes and values of detail and hint: {"code", "values", "parts"}.
	DetailMsg *vault.Msg `json:"detail_msg,omitempty"`
	HintMsg   *vault.Msg `json:"hint_msg,omitempty"`
	// Route: {"kind": "direct"|"proxy", "proxy": "host:port", "source",
	// "note", "text", "note_msg": the note's code and values}.
	Route *netroute.Route `json:"route,omitempty"`
}

// MarshalJSON writes the duration as whole milliseconds, "ms".
func (s Step) MarshalJSON() ([]byte, error) {
	return json.Marshal(stepJSON{s.ID, s.Status, s.Duration.Milliseconds(), s.HTTPStatus, s.Detail, s.Hint, msgOrNil(s.DetailMsg), msgOrNil(s.HintMsg), s.Route})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Step) UnmarshalJSON(b []byte) error {
	var j stepJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Step{ID: j.ID, Status: j.Status, Duration: time.Duration(j.Ms) * time.Millisecond, HTTPStatus: j.HTTPStatus, Detail: j.Detail, Hint: j.Hint, Route: j.Route}
	if j.DetailMsg != nil {
		s.DetailMsg = *j.DetailMsg
	}
	if j.HintMsg != nil {
		s.HintMsg = *j.HintMsg
	}
	return nil
}

func msgOrNil(m vault.Msg) *vault.Msg {
	if m.IsZero() {
		return nil
	}
	return &m
}

type reportJSON struct {
	OK             bool      `json:"ok"`
	KeyRejected    bool      `json:"key_rejected"`
	Steps          []Step    `json:"steps"`
	Started        time.Time `json:"started"`
	Ms             int64     `json:"ms"`
	TokenLifetimeS int64     `json:"token_lifetime_s"`
	Scopes         []string  `json:"scopes"`
}

// MarshalJSON gives {"ok", "key_rejected", "steps", "started", "ms",
// "token_lifetime_s", "scopes"}; steps and scopes are arrays, never null.
func (r *Report) MarshalJSON() ([]byte, error) {
	j := reportJSON{
		OK:             r.OK,
		KeyRejected:    r.KeyRejected,
		Steps:          r.Steps,
		Started:        r.Started.Round(0),
		Ms:             r.Duration.Milliseconds(),
		TokenLifetimeS: int64(r.TokenLifetime / time.Second),
		Scopes:         r.Scopes,
	}
	if j.Steps == nil {
		j.Steps = []Step{}
	}
	if j.Scopes == nil {
		j.Scopes = []string{}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Report) UnmarshalJSON(b []byte) error {
	var j reportJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Report{
		OK:            j.OK,
		KeyRejected:   j.KeyRejected,
		Steps:         j.Steps,
		Started:       j.Started,
		Duration:      time.Duration(j.Ms) * time.Millisecond,
		TokenLifetime: time.Duration(j.TokenLifetimeS) * time.Second,
		Scopes:        j.Scopes,
	}
	return nil
}

// The outcomes of a test, and how each reads: as a code for scripts, in a
// few words for a line among many, in a sentence.
var outcomes = []struct{ code, short, verdict string }{
	{"works", "logon works", "Logon works: the key can log on to the SAP Cloud ALM API."},
	{"warning", "logon works, with a warning", "Logon works, with a warning: the key can log on to the SAP Cloud ALM API."},
	{"rejected", "logon fails: the key was rejected", "Logon fails: the key was rejected."},
	{"fails", "logon fails", "Logon fails."},
}

// outcome indexes outcomes.
func (r *Report) outcome() int {
	switch {
	case r.OK && r.warned():
		return 1
	case r.OK:
		return 0
	case r.KeyRejected:
		return 2
	}
	return 3
}

// Code is the outcome as a word for scripts: "works", "warning", "rejected"
// (the token endpoint refused the key) or "fails".
func (r *Report) Code() string { return outcomes[r.outcome()].code }

// Short is the outcome in a few words, for a line about one tenant among
// many: "logon works", "logon works, with a warning", "logon fails: the key
// was rejected" or "logon fails".
func (r *Report) Short() string { return outcomes[r.outcome()].short }

// Outcome is the verdict in a few words, for a status line or a headline:
// Short with a capital letter.
func (r *Report) Outcome() string {
	s := r.Short()
	return strings.ToUpper(s[:1]) + s[1:]
}

// Verdict is the report in one sentence.
func (r *Report) Verdict() string { return outcomes[r.outcome()].verdict }

// FirstTrouble is the first step that failed, or else the first that
// warned; nil when every step went well.
func (r *Report) FirstTrouble() *Step {
	for _, want := range []Status{StatusFail, StatusWarn} {
		for i := range r.Steps {
			if r.Steps[i].Status == want {
				return &r.Steps[i]
			}
		}
	}
	return nil
}

func (r *Report) warned() bool {
	for _, s := range r.Steps {
		if s.Status == StatusWarn {
			return true
		}
	}
	return false
}

// RouteText is a step's route as reports show it: "direct", "via
// proxy.corp:8080 (from HTTPS_PROXY)", then what went wrong on the way, if
// anything did ("; the proxy script ... could not be downloaded; used ...").
func RouteText(rt netroute.Route) string { return RouteMsg(rt).English() }

// String renders the report for a terminal, one line a step plus hints.
func (r *Report) String() string {
	var b strings.Builder
	b.WriteString(r.Verdict())
	b.WriteByte('\n')
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "  %s\n", s)
		if s.Route != nil {
			fmt.Fprintf(&b, "    Route: %s\n", RouteText(*s.Route))
		}
		if s.Hint != "" {
			fmt.Fprintf(&b, "    What to do: %s\n", s.Hint)
		}
	}
	if r.TokenLifetime > 0 {
		fmt.Fprintf(&b, "  Token lifetime: %s\n", humanDuration(r.TokenLifetime))
	}
	if len(r.Scopes) > 0 {
		fmt.Fprintf(&b, "  Scopes: %s\n", strings.Join(r.Scopes, ", "))
	}
	return b.String()
}
