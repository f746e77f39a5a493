package almtest

import (
	"encoding/hex"
	"net"
	"slices"
	"strconv"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// historyTextMax is the most runes a string read from the history keeps: a
// step's detail is calmkey's own words around at most a few cleaned server
// strings (cleanMax each), which fit with room to spare.
const historyTextMax = 600

// cleaned is lts fit to show: records that are not of the shape calmkey
// writes are dropped whole, and every string of the others is cleaned as a
// run cleans server text. The history file is the user's, but any program
// of the user's can write it, and the window and calmkeyctl show what it
// says.
func (lts LastTests) cleaned() LastTests {
	// No secret to scrub: a history never holds one, and its reader has
	// none at hand. The cleaner still drops controls, escapes and bidi
	// characters and caps the length.
	c := newCleaner(nil)
	out := make(LastTests, len(lts))
	for tenant, lt := range lts {
		if lt, ok := lt.cleaned(c); ok && lt.Tenant == tenant {
			out[tenant] = lt
		}
	}
	return out
}

// cleaned is lt with its report cleaned, or false when lt is not a record
// calmkey writes. The names of the key are not cleaned but checked: they
// must match a stored key's exactly (vault.Identity.Same), so one that
// cleaning would change is refused rather than altered. A record of a
// tenant stored under a name from before names were checked is lost that
// way; its key then shows as not tested, which is true of what calmkey can
// vouch for.
func (lt LastTest) cleaned(c *cleaner) (LastTest, bool) {
	if lt.Report == nil || !alreadyClean(c, lt.Tenant) || !alreadyClean(c, lt.ClientID) || !hashOrNone(lt.SHA256) {
		return LastTest{}, false
	}
	rep, ok := lt.Report.cleaned(c)
	lt.Report = rep
	return lt, ok
}

// cleaned is a copy of r with its strings cleaned, or false when r is not
// a report Run makes: the token step, then the API step, each with a status
// Run gives, and OK and KeyRejected as Run sets them from those steps.
// Scopes that are not plain scope names are dropped, as Run drops them.
func (r *Report) cleaned(c *cleaner) (*Report, bool) {
	if len(r.Steps) != 2 || r.Steps[0].ID != StepToken || r.Steps[1].ID != StepAPI ||
		r.Started.IsZero() || r.Duration < 0 || r.TokenLifetime < 0 || r.TokenLifetime > maxLifetime {
		return nil, false
	}
	api := r.Steps[1].Status
	if r.OK != (api == StatusOK || api == StatusWarn) || (r.KeyRejected && r.OK) {
		return nil, false
	}
	out := *r
	out.Steps = make([]Step, len(r.Steps))
	for i, st := range r.Steps {
		if !slices.Contains(statuses, st.Status) || st.Duration < 0 || (st.HTTPStatus != 0 && (st.HTTPStatus < 100 || st.HTTPStatus > 599)) {
			return nil, false
		}
		st.Detail, st.Hint = c.cleanTo(st.Detail, historyTextMax), c.cleanTo(st.Hint, historyTextMax)
		st.DetailMsg, st.HintMsg = cleanMsg(c, st.DetailMsg), cleanMsg(c, st.HintMsg)
		st.Route = cleanRoute(c, st.Route)
		out.Steps[i] = st
	}
	out.Scopes = nil
	for _, sc := range r.Scopes {
		if len(out.Scopes) < maxScopes && plainScope(sc) {
			out.Scopes = append(out.Scopes, sc)
		}
	}
	return &out, true
}

// msgDepth is how deeply a message's parts nest at most: Run's go five
// deep (a note before a hint, its route hint, the route, its source, the
// setting whose bypass list it is).
const msgDepth = 6

// cleanMsg is m with its values cleaned, or the zero Msg (the step's
// stored English then stands) when m is not one Run makes: an unknown
// code, a placeholder without a value, parts nested too deep.
func cleanMsg(c *cleaner, m vault.Msg) vault.Msg {
	if m.IsZero() || !m.Valid(msgDepth) {
		return vault.Msg{}
	}
	return m.MapValues(func(v string) string { return c.cleanTo(v, historyTextMax) })
}

// routeSourceMax caps a route's source, which may name a PAC script's URL.
const routeSourceMax = 300

// cleanRoute is rt with its words cleaned, or nil when rt is not a route
// netroute makes: a known kind, a proxy (only for a proxied route) that
// is a host:port of host-name characters. Only a step's route is lost
// that way, not the record: the step's outcome stands without it.
func cleanRoute(c *cleaner, rt *netroute.Route) *netroute.Route {
	if rt == nil {
		return nil
	}
	switch rt.Kind {
	case netroute.Direct:
		if rt.Proxy != "" {
			return nil
		}
	case netroute.Proxy:
		if !hostPort(rt.Proxy) {
			return nil
		}
	default:
		return nil
	}
	// Built from the fields: a route read back carries no proxy URL, and
	// this says so where the route is made.
	return &netroute.Route{
		Kind:      rt.Kind,
		Proxy:     rt.Proxy,
		Source:    c.cleanTo(rt.Source, routeSourceMax),
		Note:      c.cleanTo(rt.Note, historyTextMax),
		NoteWords: cleanWords(c, rt.NoteWords),
	}
}

// cleanWords is a route note's words as cleanMsg cleans a message: zero
// when they are not a known code with its values.
func cleanWords(c *cleaner, w netroute.Words) netroute.Words {
	return toWords(cleanMsg(c, fromWords(w)))
}

func toWords(msg vault.Msg) netroute.Words {
	if msg.IsZero() {
		return netroute.Words{}
	}
	w := netroute.Words{Code: msg.Code, Values: msg.Values}
	for name, part := range msg.Parts {
		if w.Parts == nil {
			w.Parts = map[string]netroute.Words{}
		}
		w.Parts[name] = toWords(part)
	}
	return w
}

// hostPort reports whether s is host:port as a route names its proxy: a
// host name or IP address of [A-Za-z0-9.-_] (and ':' inside brackets),
// at most 253 characters, and a port from 1 to 65535.
func hostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || len(host) > 253 {
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return false
	}
	for _, r := range host {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' || r == ':'
		if !ok {
			return false
		}
	}
	return true
}

// statuses are the step statuses there are.
var statuses = []Status{StatusOK, StatusWarn, StatusFail, StatusSkipped}

// alreadyClean reports whether s is a non-empty string that cleaning leaves
// as it is.
func alreadyClean(c *cleaner, s string) bool {
	return s != "" && c.cleanTo(s, historyTextMax) == s
}

// hashOrNone reports whether s is a hex SHA-256 as vault writes it, lower
// case, or empty (a record from before the hash was kept).
func hashOrNone(s string) bool {
	if s == "" {
		return true
	}
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32 && hex.EncodeToString(b) == s
}
