// Package netroute decides how a connection to a host goes out: directly or
// through which proxy, and why (the environment, Windows' settings for the
// user, a PAC script, the machine-wide WinHTTP proxy), and makes such
// connections, running CONNECT with proxy authentication (Basic, Negotiate)
// on one connection. It has no cgo and no Fyne; almtest and calmkeyctl use
// it, so the app and the command line take the same route.
package netroute

import (
	"encoding/json"
	"net/url"
)

// Kind is how a connection goes out.
type Kind string

const (
	Direct Kind = "direct"
	Proxy  Kind = "proxy"
)

// Sources a Route names; PAC routes name their script ("PAC " + URL).
const (
	SourceNone        = ""                       // nothing is configured
	SourceEnvironment = "environment"            // HTTP_PROXY only: http:// URLs only
	SourceNoProxy     = "NO_PROXY"               // a NO_PROXY entry matched
	SourceHTTPSProxy  = "HTTPS_PROXY"            // or https_proxy
	SourceWindows     = "Windows settings"       // the user's fixed proxy
	SourceAutoDetect  = "auto-detect"            // WPAD, when it found a script
	SourceWinHTTP     = "WinHTTP"                // netsh winhttp set proxy
	SourceFlag        = "calmkey's proxy choice" // calmkeyctl test --proxy, or Proxy… in the window
	SourceLoopback    = "loopback"               // never proxied
	SourceBypass      = "bypass list"            // Windows' bypass rules
)

// Route is the way to one host: direct, or via Proxy (host:port), as
// Source decided. Note says what a reader must know besides, such as a PAC
// script that failed and the fixed proxy used instead. It never holds a
// password.
type Route struct {
	Kind   Kind   `json:"kind"`
	Proxy  string `json:"proxy,omitempty"`
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"`
	// NoteWords is Note as a code with values (zero without a note, and in
	// a route read from a record made before codes existed).
	NoteWords Words `json:"-"`

	// url is the proxy as configured, credentials included: the dialler
	// needs its scheme, host name (the Negotiate SPN) and user:password.
	url *url.URL
}

// String is the route as reports show it: "direct", "direct (NO_PROXY)",
// "via proxy:8080 (from HTTPS_PROXY)", "via proxy:8080 (PAC http://…)".
func (r Route) String() string {
	if r.Kind != Proxy {
		if r.Source == SourceNone {
			return "direct"
		}
		return "direct (" + r.Source + ")"
	}
	switch r.Source {
	case SourceHTTPSProxy, SourceFlag, SourceEnvironment:
		return "via " + r.Proxy + " (from " + r.Source + ")"
	case SourceNone:
		return "via " + r.Proxy
	}
	return "via " + r.Proxy + " (" + r.Source + ")"
}

// ProxyHost is the proxy's host name as configured (no port), "" when direct.
func (r Route) ProxyHost() string {
	if r.url == nil {
		return ""
	}
	return r.url.Hostname()
}

// HasCredentials: the proxy URL carries user:password for Basic.
func (r Route) HasCredentials() bool {
	return r.url != nil && r.url.User != nil
}

// TLS: the proxy itself is spoken to over TLS (an https:// proxy URL).
func (r Route) TLS() bool { return r.url != nil && r.url.Scheme == "https" }

// routeJSON adds the words reports show, so scripts need not rebuild them.
type routeJSON struct {
	Kind   Kind   `json:"kind"`
	Proxy  string `json:"proxy,omitempty"`
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"`
	Text   string `json:"text"`
	// NoteMsg is Note's code and values: {"code", "values", "parts"}.
	NoteMsg *Words `json:"note_msg,omitempty"`
}

func (r Route) MarshalJSON() ([]byte, error) {
	var nm *Words
	if r.NoteWords.Code != "" {
		nm = &r.NoteWords
	}
	return json.Marshal(routeJSON{r.Kind, r.Proxy, r.Source, r.Note, r.String(), nm})
}

func (r *Route) UnmarshalJSON(b []byte) error {
	var j routeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Route{Kind: j.Kind, Proxy: j.Proxy, Source: j.Source, Note: j.Note}
	if j.NoteMsg != nil {
		r.NoteWords = *j.NoteMsg
	}
	return nil
}

// direct is a direct route decided by source.
func direct(source string) Route {
	return Route{Kind: Direct, Source: source}
}

// via is a route through the proxy u (which has a host and port).
func via(u *url.URL, source string) Route {
	return Route{Kind: Proxy, Proxy: u.Host, Source: source, url: u}
}
