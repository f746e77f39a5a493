package almtest

import (
	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// The test's codes and their English (see vault.Msg): a step's detail
// (test.*) and what to do (hint.*), and the phrases that fill them. A code
// is stable: the window's translations and the history key on it. Change a
// text freely; never reuse a code for another meaning.
func init() {
	vault.AddTexts(testTexts)
	netroute.SetEnglish(func(w netroute.Words) string { return noteMsg(w).English() })
}

const (
	fromCockpitAsIs = "upload the key exactly as the SAP BTP cockpit gives it"
	seeRoutes       = "run calmkeyctl proxy to see the route each host takes and why"
	tryAgainLater   = "Try again in a few minutes"
)

var testTexts = map[string]vault.Text{
	// Before any request.
	"test.noKey":            {Other: "there is no service key to test"},
	"test.proxySetting":     {Other: "the proxy setting cannot be used: {{.Error}}"},
	"test.token.badURL":     {Other: "the token URL from {{.Field}} is not an https URL with a host name, so the credentials were not sent"},
	"test.noSecret":         {Other: "the key has no client secret (uaa.clientsecret)"},
	"test.x509.unusable":    {Other: "the key's certificate and private key cannot be used for mutual TLS"},
	"test.x509.expired":     {Other: "the key's client certificate expired on {{.Date}}, so the token server would refuse it"},
	"test.credType.unknown": {Other: "the key's credential type {{.Type}} is not one this test knows"},
	"test.notRun":           {Other: "not run: there is no token"},
	"test.api.badURL":       {Other: "endpoints.Api is not an https URL with a host name, so the token was not sent"},
	"test.api.badRequest":   {Other: "endpoints.Api does not make a valid request URL"},

	// The token.
	"test.token.ok":               {Other: "got an access token{{.Lifetime}}{{.Scopes}}{{.Hidden}}"},
	"test.token.lifetime":         {Other: ", valid for {{.Duration}}"},
	"test.token.scopes":           {One: ", with {{.N}} scope", Other: ", with {{.N}} scopes", Count: "N"},
	"test.token.hidden":           {Other: " ({{.N}} not shown: too many, too long, or not plain scope names)"},
	"test.token.redirect":         {Other: "the token endpoint at {{.Host}} redirected to {{.Target}} (HTTP {{.Status}}); the redirect was not followed, so the credentials went to no other host"},
	"test.token.rejected":         {Other: "the token server at {{.Host}} rejected the key's credentials ({{.Says}})"},
	"test.token.notFound":         {Other: "the token endpoint {{.Path}} was not found at {{.Host}} ({{.Says}})"},
	"test.token.methodNotAllowed": {Other: "the server at {{.Host}} does not take token requests at {{.Path}} ({{.Says}})"},
	"test.token.limited":          {Other: "the token server at {{.Host}} is limiting requests ({{.Says}})"},
	"test.token.serverError":      {Other: "the token server at {{.Host}} has a problem ({{.Says}})"},
	"test.token.noToken":          {Other: "the token endpoint at {{.Host}} answered HTTP {{.Status}}, but with {{.Reply}}, not a token"},
	"test.token.refused":          {Other: "the token server at {{.Host}} refused the request ({{.Says}})"},

	// The API.
	"test.api.ok":           {Other: "the API at {{.Host}} accepted the token (HTTP {{.Status}})"},
	"test.api.forbidden":    {Other: "the API at {{.Host}} accepted the token, but the key lacks the scope {{.Scope}} to read projects (HTTP 403)"},
	"test.api.unauthorized": {Other: "the API at {{.Host}} rejected the token from {{.TokenHost}} (HTTP 401)"},
	"test.api.redirect":     {Other: "the API at {{.Host}} redirected to {{.Target}} (HTTP {{.Status}}); the redirect was not followed, so the token went to no other host"},
	"test.api.notFound":     {Other: "the API path {{.Path}} was not found at {{.Host}} (HTTP 404)"},
	"test.api.limited":      {Other: "the API at {{.Host}} is limiting requests (HTTP 429)"},
	"test.api.serverError":  {Other: "the API at {{.Host}} has a problem (HTTP {{.Status}})"},
	"test.api.other":        {Other: "the API at {{.Host}} answered HTTP {{.Status}}"},

	// Time, and the connection.
	"test.cancelled":           {Other: "cancelled while waiting for {{.Host}}"},
	"test.timeLimit":           {Other: "no answer from {{.Host}} before the time limit of {{.Limit}} ran out"},
	"test.dns.notFound":        {Other: "the host {{.Host}} cannot be found (DNS: no such host)"},
	"test.dns.noAnswer":        {Other: "the host {{.Host}} cannot be looked up (the DNS server did not answer)"},
	"test.refused":             {Other: "{{.Host}} refused the connection{{.Via}}"},
	"test.cert.untrusted":      {Other: "the certificate of {{.Host}} is not trusted: it was issued by {{.Issuer}}, which is not a known certificate authority"},
	"test.cert.untrustedProxy": {Other: "the certificate of {{.Host}} is not trusted: it was issued by {{.Issuer}}, which is not a known certificate authority{{.Via}}, which probably inspects TLS with its own certificate authority"},
	"test.cert.wrongHost":      {Other: "the certificate of {{.Host}} is for {{.Names}}, not for this host"},
	"test.cert.expired":        {Other: "the certificate of {{.Host}} has expired or is not valid yet"},
	"test.cert.unverified":     {Other: "the certificate of {{.Host}} cannot be verified"},
	"test.tls.plainHTTP":       {Other: "{{.Host}} does not answer in TLS on this port (it looks like plain HTTP)"},
	"test.tls.old":             {Other: "{{.Host}} offers only TLS versions older than 1.2, which are refused as insecure"},
	"test.tls.certRefused":     {Other: "the token server at {{.Host}} refused the key's client certificate (TLS alert: {{.Alert}})"},
	"test.tls.alert":           {Other: "the TLS handshake with {{.Host}} failed (TLS alert: {{.Alert}})"},
	"test.net.connectTimeout":  {Other: "connecting to {{.Host}}{{.Via}} timed out"},
	"test.net.tlsTimeout":      {Other: "the TLS handshake with {{.Host}}{{.Via}} timed out"},
	"test.net.unreachable":     {Other: "the network cannot reach {{.Host}}"},
	"test.net.closed":          {Other: "{{.Host}} closed the connection before answering{{.Via}}"},
	"test.net.failed":          {Other: "the request to {{.Host}} failed{{.Via}}: {{.Error}}"},

	// Phrases inside a detail.
	"phrase.via":             {Other: " through the proxy {{.Proxy}}"},
	"phrase.target.none":     {Other: "no named location"},
	"phrase.target.bad":      {Other: "an unreadable location"},
	"phrase.target.host":     {Other: "host {{.Host}}"},
	"phrase.reply.html":      {Other: "an HTML page"},
	"phrase.reply.untyped":   {Other: "a reply without a content type"},
	"phrase.reply.noToken":   {Other: "a reply that holds no access_token"},
	"phrase.reply.badJSON":   {Other: "JSON that cannot be read"},
	"phrase.reply.other":     {Other: "a {{.Type}} reply"},
	"phrase.issuer.unknown":  {Other: "an unknown issuer"},
	"phrase.issuer.named":    {Other: "{{.Name}}"},
	"phrase.names.otherHost": {Other: "other hosts"},
	"phrase.names.list":      {Other: "{{.Names}}"},

	// What to do.
	"hint.uploadFirst":        {Other: "Upload the service key first."},
	"hint.proxySetting":       {Other: "Give the proxy as http://host:port, or direct, or system."},
	"hint.uploadAsIs":         {Other: "U" + fromCockpitAsIs[1:] + "."},
	"hint.token.badURL":       {Other: "U" + fromCockpitAsIs[1:] + "; its URLs start with https://."},
	"hint.api.badURL":         {Other: "U" + fromCockpitAsIs[1:] + "; endpoints.Api looks like https://eu10.alm.cloud.sap/api."},
	"hint.noSecret":           {Other: "Upload the key again as the SAP BTP cockpit gives it."},
	"hint.x509.unusable":      {Other: "Upload the x509 key again as the SAP BTP cockpit gives it."},
	"hint.x509.expired":       {Other: "Create a new service key in the SAP BTP cockpit, delete this one here and upload the new one."},
	"hint.credType":           {Other: "Upload a key of type binding-secret, instance-secret or x509 from the SAP BTP cockpit."},
	"hint.slow":               {Other: "The network or the server is slow, or a firewall silently drops the traffic. Try again; if it keeps happening, allow more time, or " + seeRoutes + "."},
	"hint.trust":              {Other: "A TLS-inspecting proxy or firewall probably replaces the server's certificate: add its root certificate to the system's trust store, or set SSL_CERT_FILE to a PEM file that holds it. Certificate checks cannot be turned off."},
	"hint.token.redirect":     {Other: "SAP's token endpoints do not redirect: a proxy or captive portal may be intercepting, or {{.Field}} in the key is out of date. Check both."},
	"hint.token.rejected":     {Other: "The key or its service instance was probably deleted or regenerated in the SAP BTP cockpit. Delete the key here too, then upload a current key from the cockpit."},
	"hint.token.notFound":     {Other: "Check uaa.url in the key: it is the subaccount's XSUAA address, https://<subdomain>.authentication.<region>.hana.ondemand.com, with nothing after the host."},
	"hint.token.x509NotFound": {Other: "x509 keys get their token from uaa.certurl, the host with .authentication.cert. in its name, not from uaa.url.{{.SameHost}} U" + fromCockpitAsIs[1:] + "."},
	"hint.token.sameHost":     {Other: " In this key certurl names the same host as url."},
	"hint.token.notXSUAA":     {Other: "{{.Field}} in the key seems to point at something other than the XSUAA token service; " + fromCockpitAsIs + "."},
	"hint.waitMinute":         {Other: "Wait a minute, then try again."},
	"hint.token.serverError":  {Other: "The trouble is on the server's side, not the key's. " + tryAgainLater + "; if it persists, check SAP's cloud status for the region."},
	"hint.token.noToken":      {Other: "A proxy or login page may be answering in place of XSUAA, or {{.Field}} points at another service. Check {{.Field}}, and " + seeRoutes + "."},
	"hint.token.refused":      {Other: "Check that this is an SAP Cloud ALM API service key, unchanged from the SAP BTP cockpit; if it is, create a new key there and upload it."},
	"hint.api.forbidden":      {Other: "Logon works. Keys made for monitoring usually lack this scope; if this key must read projects, grant it in the SAP BTP cockpit."},
	"hint.api.unauthorized":   {Other: "The token comes from another tenant or region than the API: check that endpoints.Api and uaa.url in the key belong to the same SAP Cloud ALM tenant, and upload the key that tenant's cockpit gives."},
	"hint.api.redirect":       {Other: "The SAP Cloud ALM API does not redirect: a proxy or login page may be intercepting, or endpoints.Api in the key is out of date."},
	"hint.api.notFound":       {Other: "Check endpoints.Api in the key: it looks like https://<region>.alm.cloud.sap/api or https://<tenant>.<region>.alm.cloud.sap/api."},
	"hint.api.serverError":    {Other: "The key got a token, so its credentials are good; the trouble is on the server's side. " + tryAgainLater + "."},
	"hint.api.other":          {Other: "Check endpoints.Api in the key; " + fromCockpitAsIs + "."},
	"hint.withNote":           {Other: "{{.Note}} {{.Hint}}"},
	"hint.dns":                {Other: "Check {{.Field}} in the key and the network connection. {{.Route}}"},
	"hint.refused":            {Other: "Nothing accepts connections there: check the host and port in {{.Field}}. A firewall may also block it. {{.Route}}"},
	"hint.cert.wrongHost":     {Other: "A proxy may be intercepting the connection, or {{.Field}} names the wrong host. {{.Trust}}"},
	"hint.cert.expired":       {Other: "Check the computer's date and time. If they are right, a proxy may be serving an outdated certificate: {{.Trust}}"},
	"hint.tls.plainHTTP":      {Other: "Check the host and port in {{.Field}}; the key's URLs all use https on the standard port."},
	"hint.tls.old":            {Other: "SAP's servers use TLS 1.2 or newer, so something else is answering: check {{.Field}} and whether a proxy or old firewall is in the way."},
	"hint.tls.certRefused":    {Other: "The certificate may be revoked, or belong to a key that was deleted or regenerated in the SAP BTP cockpit. Delete the key here, then create a new x509 key in the cockpit and upload it."},
	"hint.tls.alert":          {Other: "Something other than SAP's server may be answering: check {{.Field}} and the proxy settings."},
	"hint.net.timeout":        {Other: "A firewall may be dropping the traffic. {{.Route}}"},
	"hint.net.unreachable":    {Other: "Check the network connection. {{.Route}}"},
	"hint.net.closed":         {Other: "A firewall or proxy may be cutting the connection. {{.Route}}"},
	"hint.net.failed":         {Other: "Check the network connection, then try again. {{.Route}}"},

	// The proxy's own failures (netroute.Explain), and where a proxy is set.
	"proxy.untrusted":                  {Other: "the certificate of the proxy {{.Proxy}} cannot be verified"},
	"proxy.dns":                        {Other: "the proxy {{.Proxy}} cannot be found (DNS)"},
	"proxy.refused":                    {Other: "the proxy {{.Proxy}} refused the connection"},
	"proxy.timeout":                    {Other: "connecting to the proxy {{.Proxy}} timed out"},
	"proxy.unreachable":                {Other: "the proxy {{.Proxy}} cannot be reached"},
	"proxy.negotiateRejected":          {Other: "the proxy {{.Proxy}} did not accept the Windows logon (Negotiate, SPN {{.SPN}})"},
	"proxy.negotiateFailed":            {Other: "Windows could not log on to the proxy {{.Proxy}} (Negotiate, SPN {{.SPN}}): {{.Error}}"},
	"proxy.authNone":                   {Other: "the proxy {{.Proxy}} requires authentication (HTTP 407; {{.Offered}}), and calmkey has none of that to give"},
	"proxy.authRejected":               {Other: "the proxy {{.Proxy}} did not accept {{.Tried}} authentication (HTTP 407; {{.Offered}})"},
	"proxy.offers":                     {Other: "it offers {{.Schemes}}"},
	"proxy.offers.none":                {Other: "it names no scheme"},
	"proxy.refusedTarget":              {Other: "the proxy {{.Proxy}} refused to connect to {{.Host}} (HTTP {{.Status}})"},
	"proxy.cannotReach":                {Other: "the proxy {{.Proxy}} could not reach {{.Host}} (HTTP {{.Status}})"},
	"proxy.closed":                     {Other: "the proxy {{.Proxy}} closed the connection instead of opening a tunnel to {{.Host}}"},
	"proxy.setting.env":                {Other: "HTTPS_PROXY"},
	"proxy.setting.choice":             {Other: "calmkey's proxy choice: calmkeyctl test --proxy, or Proxy… in the window"},
	"proxy.setting.winhttp":            {Other: "the WinHTTP proxy (netsh winhttp show proxy)"},
	"proxy.setting.script":             {Other: "the proxy script ({{.Source}})"},
	"proxy.setting.windows":            {Other: "Windows' proxy settings"},
	"hint.proxy.check":                 {Other: "Check {{.Setting}}, or ask your network administrators which proxy to use."},
	"hint.proxy.untrusted":             {Other: "The proxy is an https proxy whose certificate is not trusted here: add its root certificate to the system's trust store, or set SSL_CERT_FILE to a PEM file that holds it. Certificate checks cannot be turned off."},
	"hint.proxy.timeout":               {Other: "A firewall may drop the traffic to the proxy, or the proxy is down. {{.Check}}"},
	"hint.proxy.spn":                   {Other: "Kerberos needs the SPN {{.SPN}} registered for the proxy's name as it is set in {{.Setting}}: set the proxy by its DNS name, not an IP address or alias, or ask your network administrators to register the SPN. Signing out and in again renews the Windows logon."},
	"hint.proxy.kerberos":              {Other: "Check that this computer can reach its domain (Kerberos), and that {{.SPN}} is the proxy's name its SPN is registered for; ask your network administrators if it keeps happening."},
	"hint.proxy.auth.password":         {Other: "Check the user name and password in the proxy URL ({{.Setting}}); characters such as @ : / % in them must be percent-encoded, @ as %40."},
	"hint.proxy.auth.negotiateOrBasic": {Other: "The proxy wants a Windows logon (Negotiate), which only works on Windows, or a user name and password: give them in the proxy URL, http://user:password@host:port (HTTPS_PROXY or --proxy)."},
	"hint.proxy.auth.negotiateOnly":    {Other: "The proxy wants a Windows logon (Negotiate), which only works on Windows: run the test on Windows, or ask your network administrators for a proxy or rule that lets this computer through."},
	"hint.proxy.auth.basic":            {Other: "The proxy wants a user name and password: give them in the proxy URL, http://user:password@host:port (HTTPS_PROXY or --proxy)."},
	"hint.proxy.auth.none":             {Other: "The proxy names no way to authenticate; if it takes a user name and password, give them in the proxy URL, http://user:password@host:port (HTTPS_PROXY or --proxy)."},
	"hint.proxy.auth.ntlm":             {Other: "The proxy offers only NTLM, which calmkey does not speak (it speaks Negotiate and Basic): ask your network administrators to enable Negotiate for the proxy, or to let this computer through."},
	"hint.proxy.auth.other":            {Other: "calmkey speaks Negotiate (Windows logon) and Basic: ask your network administrators to enable one of them for the proxy, or to let this computer through."},
	"hint.proxy.forbidden":             {Other: "The proxy does not allow {{.Host}}: ask your network administrators to allow it, or, where the host is reachable directly, add it to the proxy's exceptions (NO_PROXY, or the bypass list in {{.Setting}})."},
	"hint.proxy.badGateway":            {Other: "The proxy itself cannot get through to the host: check the host name in the key; if it is right, the trouble is on the proxy's side or beyond it. Try again later."},
	"hint.proxy.refused":               {Other: "Check {{.Setting}}, or ask your network administrators whether the proxy lets {{.Host}} through."},
	"hint.proxy.closed":                {Other: "The proxy may not allow connections to {{.Host}} from this computer, or want a logon it does not announce. {{.Check}}"},

	// A step's route (RouteMsg), as netroute's Route.String says it.
	"route.direct":             {Other: "direct"},
	"route.directFrom":         {Other: "direct ({{.Source}})"},
	"route.via":                {Other: "via {{.Proxy}}"},
	"route.viaFrom":            {Other: "via {{.Proxy}} (from {{.Source}})"},
	"route.viaSource":          {Other: "via {{.Proxy}} ({{.Source}})"},
	"route.withNote":           {Other: "{{.Route}}; {{.Note}}"},
	"route.source.windows":     {Other: netroute.SourceWindows},
	"route.source.autoDetect":  {Other: netroute.SourceAutoDetect},
	"route.source.choice":      {Other: netroute.SourceFlag},
	"route.source.loopback":    {Other: netroute.SourceLoopback},
	"route.source.environment": {Other: netroute.SourceEnvironment},
	"route.source.bypass":      {Other: "{{.Of}} " + netroute.SourceBypass},
	"route.source.pac":         {Other: "PAC {{.Script}}"},
	"route.source.name":        {Other: "{{.Name}}"},

	// A route's note (netroute's NoteWords): what went wrong on the way to
	// it. The .start forms begin a sentence (hint.withNoteMsg).
	"route.note.httpOnly":            {Other: "HTTP_PROXY applies to http:// URLs only; set HTTPS_PROXY for a proxy to https hosts"},
	"route.note.badHTTPSProxy":       {Other: "HTTPS_PROXY is set but is not a valid URL, so no proxy was used: set it to http://host:port"},
	"route.note.windowsUnreadable":   {Other: "Windows' proxy settings for the user could not be read"},
	"route.note.scriptNoProxy":       {Other: "the proxy script {{.Script}} named no proxy that can be used"},
	"route.note.scriptNoProxy.start": {Other: "The proxy script {{.Script}} named no proxy that can be used"},
	"route.note.scriptFailed":        {Other: "the proxy script {{.Script}} could not be run"},
	"route.note.scriptFailed.start":  {Other: "The proxy script {{.Script}} could not be run"},
	"route.note.script":              {Other: "the proxy script {{.Script}} {{.Reason}}"},
	"route.note.script.start":        {Other: "The proxy script {{.Script}} {{.Reason}}"},
	"route.note.usedProxy":           {Other: "{{.Note}}; used the proxy {{.Proxy}} from {{.Source}} instead"},
	"route.note.wentDirect":          {Other: "{{.Note}}; went direct instead"},
	"route.pac.tookLonger":           {Other: "took longer than {{.Within}}"},
	"route.pac.noSupport":            {Other: "could not be run: WinHTTP has no PAC support here"},
	"route.pac.notOpened":            {Other: "could not be run: WinHTTP did not open"},
	"route.pac.notDownloaded":        {Other: "could not be downloaded"},
	"route.pac.badScript":            {Other: "has an error or could not be run"},
	"route.pac.tooLong":              {Other: "took too long to download or run"},
	"route.pac.badURL":               {Other: "is not at a valid URL"},
	"route.pac.logonRefused":         {Other: "could not be downloaded: its server refused the Windows logon"},
	"route.pac.serviceFailed":        {Other: "could not be run: the WinHTTP auto-proxy service failed"},
	"route.pac.windowsError":         {Other: "could not be fetched or run (Windows error {{.Errno}})"},
	"route.pac.failed":               {Other: "could not be fetched or run"},
	"route.pac.other":                {Other: "{{.Reason}}"},
	"hint.withNoteMsg":               {Other: "{{.Note}}. {{.Hint}}"},
	// A proxy setting that cannot be used (netroute.OverrideError).
	"proxy.override.invalid": {Other: "the proxy is not direct, system or a URL such as http://proxy.example:8080"},
	"proxy.override.scheme":  {Other: "proxies with the scheme {{.Scheme}} are not supported: give an http:// or https:// proxy"},

	// The way out (proxyHint). Route is netroute's words for the route.
	"hint.route.unknown": {Other: "If your network requires a proxy, " + seeRoutes + ", and set HTTPS_PROXY (and NO_PROXY for hosts reached directly) or choose one with calmkeyctl test --proxy or Proxy… in the window."},
	"hint.route.proxy":   {Other: "This step went {{.Route}}. If that is not the way out of your network, " + seeRoutes + ", and set HTTPS_PROXY (and NO_PROXY for hosts reached directly) or choose another with calmkeyctl test --proxy or Proxy… in the window."},
	"hint.route.direct":  {Other: "This step went {{.Route}}. If your network requires a proxy, " + seeRoutes + ", and set HTTPS_PROXY (and NO_PROXY for hosts reached directly) or choose one with calmkeyctl test --proxy or Proxy… in the window."},
}
