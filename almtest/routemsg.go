package almtest

import (
	"errors"
	"maps"
	"strings"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// RouteMsg is RouteText as a message, for the window to word in its
// language. A note on what went wrong on the way is a code too, except in
// a route recorded before notes had codes, whose English stands.
func RouteMsg(rt netroute.Route) vault.Msg {
	msg := routeWords(rt)
	switch {
	case rt.NoteWords.Code != "":
		msg = m("route.withNote").With("Route", msg).With("Note", noteMsg(rt.NoteWords))
	case rt.Note != "":
		msg = m("route.withNote", "Note", rt.Note).With("Route", msg)
	}
	return msg
}

// noteMsg is a route's note (or a proxy setting's error) as a message. The
// source of a fixed proxy used instead is named as routes name it, in the
// window's language.
func noteMsg(w netroute.Words) vault.Msg {
	if src, ok := w.Values["Source"]; ok && w.Code == "route.note.usedProxy" {
		values := maps.Clone(w.Values)
		delete(values, "Source")
		w.Values = values
		return noteMsg(w).With("Source", sourceWords(src))
	}
	return fromWords(w)
}

// noteSentence is a note that begins a sentence: its first words in their
// .start form.
func noteSentence(msg vault.Msg) vault.Msg {
	if inner, ok := msg.Parts["Note"]; ok && (msg.Code == "route.note.usedProxy" || msg.Code == "route.note.wentDirect") {
		return msg.With("Note", noteSentence(inner))
	}
	if _, ok := vault.TextOf(msg.Code + ".start"); ok {
		msg.Code += ".start"
	}
	return msg
}

// routeWords is the route as netroute's Route.String says it: "direct",
// "via proxy.corp:8080 (from HTTPS_PROXY)".
func routeWords(rt netroute.Route) vault.Msg {
	src := sourceWords(rt.Source)
	switch {
	case rt.Kind != netroute.Proxy && rt.Source == netroute.SourceNone:
		return m("route.direct")
	case rt.Kind != netroute.Proxy:
		return m("route.directFrom").With("Source", src)
	case rt.Source == netroute.SourceHTTPSProxy || rt.Source == netroute.SourceFlag || rt.Source == netroute.SourceEnvironment:
		return m("route.viaFrom", "Proxy", rt.Proxy).With("Source", src)
	case rt.Source == netroute.SourceNone:
		return m("route.via", "Proxy", rt.Proxy)
	}
	return m("route.viaSource", "Proxy", rt.Proxy).With("Source", src)
}

// sourceWords names where a route came from. Names of settings
// (HTTPS_PROXY, NO_PROXY, WinHTTP) are the same in every language.
func sourceWords(src string) vault.Msg {
	if base, ok := strings.CutSuffix(src, " "+netroute.SourceBypass); ok {
		return m("route.source.bypass").With("Of", sourceWords(base))
	}
	if script, ok := strings.CutPrefix(src, "PAC "); ok {
		return m("route.source.pac", "Script", script)
	}
	switch src {
	case netroute.SourceWindows:
		return m("route.source.windows")
	case netroute.SourceAutoDetect:
		return m("route.source.autoDetect")
	case netroute.SourceFlag:
		return m("route.source.choice")
	case netroute.SourceLoopback:
		return m("route.source.loopback")
	case netroute.SourceEnvironment:
		return m("route.source.environment")
	}
	return m("route.source.name", "Name", src)
}

// OverrideMsg is a proxy setting's error from netroute (ParseOverride,
// New) as a message, for the window to word in its language; false for
// any other error.
func OverrideMsg(err error) (vault.Msg, bool) {
	var oe *netroute.OverrideError
	if !errors.As(err, &oe) {
		return vault.Msg{}, false
	}
	return fromWords(oe.Words), true
}
