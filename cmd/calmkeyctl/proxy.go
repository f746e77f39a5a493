package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/calmkey/calmkey/almtest"
	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

var proxyCmd = &command{
	name:    "proxy",
	usage:   "proxy [--tenant NAME | URL...] [--proxy URL|direct|system] [--json] [--timeout D]",
	summary: "the route each of a key's hosts would take, and why",
	help: `Prints the route that each host of the tenant's key (--tenant as for status)
would take: its token URL (uaa.url), its certificate URL (uaa.certurl, for
x509 keys) and its API (endpoints.Api), each direct or via which proxy, and
why. It connects to nothing but what the route needs to be known: on
Windows a PAC script is fetched and run, as the test would. URL arguments
are looked up instead of a key's hosts. Exit status 0; 1 when no key can
be read.

The order is the test's: HTTPS_PROXY and NO_PROXY when any proxy variable
is set (final), then, on Windows, the user's proxy settings (auto-detect,
the PAC script, the proxy server and its bypass list), then the
machine-wide WinHTTP proxy (netsh winhttp set proxy), then direct. On Linux
and macOS only the environment counts. --proxy overrides the order as in
'calmkeyctl test'.

Then it prints the settings read: the proxy variables (passwords masked)
and, on Windows, the user's proxy settings and the WinHTTP proxy. With
--json: {"tenant", "hosts": [{"field", "host", "route": {"kind", "proxy",
"source", "note", "text"}, "why"}], "settings": {"override",
"environment": [{"name", "value"}], "windows": {"auto_detect", "pac_url",
"proxy", "bypass"}, "winhttp": {"proxy", "bypass"}}}.`,
	example: `  calmkeyctl proxy
  calmkeyctl proxy --tenant acme-prod --json | jq -r '.hosts[].route.text'
  calmkeyctl proxy https://acme.authentication.eu10.hana.ondemand.com`,
	run: runProxy,
}

// proxyFlag is test's and proxy's --proxy.
func proxyFlag(fs *flag.FlagSet) *string {
	return fs.String("proxy", "", "the route to use: a proxy URL (http://[user:password@]host:port), direct, or system (the system's settings, not the environment); default: the environment, then the system's settings")
}

// checkProxyFlag refuses a --proxy value netroute cannot use, without
// quoting it: it may hold a password.
func (a *app) checkProxyFlag(c *command, fs *flag.FlagSet, v string) (int, bool) {
	if _, err := netroute.ParseOverride(v); err != nil {
		return a.usageError(c, fs, "--proxy: %v", err), false
	}
	return exitOK, true
}

type proxyJSON struct {
	Tenant    string             `json:"tenant,omitempty"`
	Hosts     []proxyHostJSON    `json:"hosts"`
	Settings  *netroute.Settings `json:"settings,omitempty"`
	ErrorCode string             `json:"error_code,omitempty"`
	Error     string             `json:"error,omitempty"`
	Tenants   []string           `json:"tenants,omitempty"`
}

type proxyHostJSON struct {
	Field string         `json:"field,omitempty"`
	Host  string         `json:"host"`
	Route netroute.Route `json:"route"`
	Why   string         `json:"why"`
}

func runProxy(a *app, c *command, args []string) int {
	fl := c.flags()
	override := proxyFlag(fl)
	inv, pos, code := a.begin(c, fl, args, shared{json: true, tenant: true, maxArgs: 16})
	if inv == nil {
		return code
	}
	defer inv.end()
	if code, ok := a.checkProxyFlag(c, fl, *override); !ok {
		return code
	}
	inv.jsonErr = func(errCode, msg string, tenants []string) any {
		return proxyJSON{Hosts: []proxyHostJSON{}, ErrorCode: errCode, Error: msg, Tenants: tenants}
	}
	tenant, hosts, code := proxyHosts(inv, pos)
	if hosts == nil {
		return code
	}
	res, err := netroute.New(netroute.Options{Proxy: *override, Getenv: a.env.getenv})
	if err != nil {
		return inv.usageError("--proxy: %v", err)
	}
	out := proxyJSON{Tenant: tenant, Hosts: []proxyHostJSON{}}
	settings := res.Settings()
	out.Settings = &settings
	for _, h := range hosts {
		u, ok := hostURL(h.raw)
		if !ok {
			inv.warnf("%s is not an https URL or host name; left out", vault.Printable(h.raw))
			continue
		}
		rt := res.Route(inv.ctx, u)
		out.Hosts = append(out.Hosts, proxyHostJSON{Field: h.field, Host: u.Host, Route: rt, Why: rt.Why()})
	}
	if inv.asJSON {
		inv.writeJSON(out)
		return exitOK
	}
	printRoutes(inv.stdout, out)
	return exitOK
}

// proxyHost is a host whose route is asked for: a URL given on the
// command line, or one of the key's (field names which).
type proxyHost struct{ field, raw string }

// proxyHosts are the URLs given, or else the stored key's token, cert
// and API URLs; hosts is nil (and code the exit code) when there are none.
func proxyHosts(inv *invocation, pos []string) (tenant string, hosts []proxyHost, code int) {
	if len(pos) > 0 {
		if inv.named != "" {
			return "", nil, inv.usageError("give --tenant or URLs, not both")
		}
		for _, p := range pos {
			hosts = append(hosts, proxyHost{"", p})
		}
		return "", hosts, exitOK
	}
	st, code := inv.loadStored()
	if st == nil {
		return "", nil, code
	}
	k := st.Key
	hosts = append(hosts, proxyHost{"uaa.url", k.UAAURL})
	if k.CertURL != "" {
		hosts = append(hosts, proxyHost{"uaa.certurl", k.CertURL})
	}
	hosts = append(hosts, proxyHost{"endpoints.Api", k.APIEndpoint})
	return k.Tenant, hosts, exitOK
}

// printRoutes is the text form: each host, its route and why, then the
// settings the routes came from.
func printRoutes(w io.Writer, out proxyJSON) {
	if out.Tenant != "" {
		fmt.Fprintf(w, "Routes of tenant %s's hosts:\n", vault.Printable(out.Tenant))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range out.Hosts {
		name := vault.Printable(h.Host)
		if h.Field != "" {
			name = h.Field + " " + name
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, almtest.RouteText(h.Route))
		fmt.Fprintf(tw, "  \t  why: %s\n", h.Why)
	}
	tw.Flush()
	writeSettings(w, *out.Settings)
}

// hostURL reads an https URL or a bare host[:port] as the https URL whose
// route is asked for; a key's URLs are used as given.
func hostURL(raw string) (*url.URL, bool) {
	raw = strings.TrimSpace(raw)
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, false
	}
	return &url.URL{Scheme: "https", Host: u.Host}, true
}

// writeSettings prints what the routes were decided from; passwords are
// masked (netroute.MaskURL).
func writeSettings(w io.Writer, s netroute.Settings) {
	fmt.Fprintln(w, "Proxy settings read:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if s.Override != "" {
		fmt.Fprintf(tw, "  --proxy\t%s\n", vault.Printable(s.Override))
	}
	if len(s.Environment) == 0 {
		fmt.Fprintf(tw, "  environment\tno proxy variable is set\n")
	}
	for _, e := range s.Environment {
		fmt.Fprintf(tw, "  %s\t%s\n", e.Name, vault.Printable(e.Value))
	}
	if ws := s.Windows; ws != nil {
		var parts []string
		switch {
		case ws.Error != "":
			parts = append(parts, ws.Error)
		default:
			parts = append(parts, "auto-detect "+map[bool]string{true: "on", false: "off"}[ws.AutoDetect])
			if ws.PACURL != "" {
				parts = append(parts, "setup script "+ws.PACURL)
			}
			if ws.Proxy != "" {
				parts = append(parts, "proxy server "+ws.Proxy)
			}
			if ws.Bypass != "" {
				parts = append(parts, "bypass "+ws.Bypass)
			}
		}
		fmt.Fprintf(tw, "  Windows (this user)\t%s\n", vault.Printable(strings.Join(parts, "; ")))
		machine := "none"
		if s.WinHTTP != nil {
			machine = s.WinHTTP.Proxy
			if s.WinHTTP.Bypass != "" {
				machine += "; bypass " + s.WinHTTP.Bypass
			}
		}
		fmt.Fprintf(tw, "  WinHTTP (machine)\t%s\n", vault.Printable(machine))
	}
	tw.Flush()
}
