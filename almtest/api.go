// Package almtest proves that a service key can log on to the SAP Cloud ALM
// API (token, then an API probe) and, when it cannot, says why and what to do.
// It has no GUI and builds without cgo.
//
// A run sends the key's credentials only to the hosts the key names (uaa.url
// or uaa.certurl for the token, endpoints.Api for the bearer token), only over
// https with TLS 1.2 or newer and verified certificates, and follows no
// redirect. An x509 key's client certificate is offered to the token host
// only: not to the API host, nor to an https proxy. Connections take the
// route internal/netroute decides: HTTPS_PROXY/NO_PROXY first, then, on
// Windows, the user's proxy settings (PAC and auto-detect included) and the
// machine's WinHTTP proxy; the proxy may ask for Basic or Negotiate. It
// honours SSL_CERT_FILE.
//
// Text that comes from a server (error replies, scopes, redirect targets,
// certificate names, network errors) is cleaned before it reaches a Report:
// no control characters or terminal escape sequences, at most 120
// characters, and no fragment of the client secret, the private key or the
// access token in any common encoding (see clean.go).
package almtest

import (
	"crypto/x509"
	"time"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// DefaultTimeout bounds a whole run.
const DefaultTimeout = 30 * time.Second

// TestsAtOnce is how many keys are tested at the same time when several are
// (the app's Test all, calmkeyctl test --all): enough to finish ten tenants
// in about one run's time, few enough not to look like a flood to a token
// server or a proxy.
const TestsAtOnce = 8

// Status of a step.
type Status string

// The statuses, as they appear in JSON.
const (
	StatusOK      Status = "ok"
	StatusWarn    Status = "warn"
	StatusFail    Status = "fail"
	StatusSkipped Status = "skipped"
)

// Step IDs.
const (
	StepToken = "token"
	StepAPI   = "api"
)

// Step is one stage of a run. JSON: id, status, ms, http_status (omitted when
// 0), detail, hint (omitted when empty), route (omitted when the step
// connected nowhere).
type Step struct {
	ID         string        `json:"id"`
	Status     Status        `json:"status"`
	Duration   time.Duration `json:"-"`
	HTTPStatus int           `json:"http_status,omitempty"`
	Detail     string        `json:"detail"`
	Hint       string        `json:"hint,omitempty"`
	// DetailMsg and HintMsg are Detail and Hint as codes with values, for
	// the window to word in its language; zero in a step from a history
	// written before codes existed, whose English then stands.
	DetailMsg vault.Msg `json:"detail_msg,omitzero"`
	HintMsg   vault.Msg `json:"hint_msg,omitzero"`
	// Route is the way the step's connection went out: direct, or via
	// which proxy, and why. Nil when it connected nowhere.
	Route *netroute.Route `json:"route,omitempty"`
}

// Report is the result of Run. It never holds the token, the client secret or
// the private key, and its text from servers is cleaned (see the package
// comment). JSON: ok, steps, started, ms, token_lifetime_s, scopes,
// key_rejected.
type Report struct {
	OK            bool   // logon works (api step ok or warn)
	KeyRejected   bool   // the token endpoint rejected the credentials (401/invalid_client): suggest deleting the key
	Steps         []Step // always token then api, in that order
	Started       time.Time
	Duration      time.Duration
	TokenLifetime time.Duration // expires_in, when a token was issued (and under a year)
	Scopes        []string      // the token's scopes that are plain scope names, at most 64
}

// Options configure Run. Zero values: DefaultTimeout, system roots (honouring
// SSL_CERT_FILE), the proxy netroute finds, time.Now.
type Options struct {
	Timeout time.Duration
	RootCAs *x509.CertPool // tests pass their loopback CA here
	// Proxy overrides the route: "direct", "system" (the system's
	// settings, not the environment) or a proxy URL; "" follows
	// netroute's order. Check it with netroute.ParseOverride.
	Proxy string
	// system stands in for Windows' proxy settings in tests.
	system netroute.System
	// Now is the clock of what the report tells: when the run started,
	// how long each step took, and whether the client certificate has
	// expired. Deadlines, and a token's lifetime read from its expiry
	// time, keep the real clock: contexts, net/http and oauth2 set them by
	// it.
	Now func() time.Time
}

// now is the run's clock.
func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}
