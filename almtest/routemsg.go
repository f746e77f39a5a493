package almtest

import (
	"strings"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// RouteMsg is RouteText as a message, for the window to word in its
// language. A note on what went wrong on the way stays netroute's
// English.
func RouteMsg(rt netroute.Route) vault.Msg {
	msg := routeWords(rt)
	if rt.Note != "" {
		msg = m("route.withNote", "Note", rt.Note).With("Route", msg)
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
