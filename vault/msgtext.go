package vault

// The format check's codes and their English (see Msg). A code is stable:
// the window's translations and scripts reading calmkeyctl's JSON key on
// it. Change a text freely; never reuse a code for another meaning.

const againFromCockpit = "download the key again from the SAP BTP cockpit"

var formatTexts = map[string]Text{
	"format.tooLarge":     {Other: tooLargeText},
	"format.trailingText": {Other: "unexpected text after the JSON object (line {{.Line}}); the file must hold the service key only"},
	"format.notObject":    {Other: "the file holds JSON, but not a JSON object; a service key starts with {"},
	"format.invalidJSON":  {Other: "the file is not valid JSON; " + againFromCockpit},
	"format.syntax":       {Other: "the file is not valid JSON (error at line {{.Line}}, column {{.Column}}); " + againFromCockpit},
	"format.truncated":    {Other: "the file ends in the middle of the JSON; it was probably cut off, so download or copy the whole key again"},
	"format.empty":        {Other: "the file is empty; choose the service key file downloaded from the SAP BTP cockpit"},
	"format.cfNoJSON":     {Other: "the cf service-key output holds no JSON object; copy the whole output of cf service-key"},
	"format.duplicate":    {Other: "appears more than once in its object (perhaps under another spelling, such as an escape); one copy would be shown and another used, so " + againFromCockpit},

	"format.field.missing":    {Other: "missing"},
	"format.field.notObject":  {Other: "must be a JSON object, not {{.Kind}}"},
	"format.field.notString":  {Other: "must be a string, not {{.Kind}}"},
	"format.field.unreadable": {Other: "cannot be read"},
	"format.field.blank":      {Other: "must not be empty"},
	"format.field.invisible":  {Other: "holds the invisible or control character {{.Char}}, which would make what is shown differ from what is there; " + againFromCockpit},

	"format.kind.nothing": {Other: "nothing"},
	"format.kind.object":  {Other: "an object"},
	"format.kind.list":    {Other: "a list"},
	"format.kind.string":  {Other: "a string"},
	"format.kind.bool":    {Other: "true or false"},
	"format.kind.null":    {Other: "null"},
	"format.kind.number":  {Other: "a number"},

	"format.url.spaces":      {Other: "must not contain spaces or backslashes"},
	"format.url.invalid":     {Other: "is not a URL"},
	"format.url.userInfo":    {Other: "must not contain a user name or password (an @ before the host)"},
	"format.url.query":       {Other: "must not contain a query (?) or a fragment (#): what follows them would be shown as part of the host, but not used as one"},
	"format.url.notAbsolute": {Other: "must be an absolute URL with a host, like https://host/..."},
	"format.url.notHTTPS":    {Other: "must be an https URL, not {{.Scheme}}"},

	"format.host.ip":    {Other: "names an IP address instead of a host name; SAP's hosts have names (expected only for a local test server)"},
	"format.host.port":  {Other: "names a port other than 443, the https port SAP's hosts use (expected only for a local test server)"},
	"format.host.mixed": {Other: "has a host name that mixes scripts (for example Latin and Cyrillic letters), which is how a look-alike of another host is made; SAP's hosts are plain ASCII"},
	"format.host.idn":   {Other: "has an internationalized host name (punycode xn-- or non-ASCII letters), which can imitate another host; SAP's hosts are plain ASCII"},

	"format.hosts.noUAADomain":    {Other: "missing, so uaa.url cannot be checked against it"},
	"format.hosts.notUnderUAA":    {Other: "is not a host under uaa.uaadomain; the token would be asked for somewhere else than the key's own XSUAA"},
	"format.hosts.certURL":        {Other: "is not uaa.url's host with \"authentication.cert.\" in place of \"authentication.\"; the client certificate would go to another host than the key's XSUAA"},
	"format.hosts.apiOtherRegion": {Other: "is not in the region of the token host (uaa.url); a token from one region does not log on to another"},

	"format.api.missing":         {Other: "missing; without it this is a generic XSUAA key, not an SAP Cloud ALM API key"},
	"format.clientid.notALM":     {Other: "does not look like an SAP Cloud ALM API client (no \"sapcloudalm\" in it); check that the key belongs to an SAP Cloud ALM API instance"},
	"format.credType.unknown":    {Other: "{{.Value}} is not one of binding-secret, instance-secret or x509"},
	"format.credType.x509":       {Other: "missing; treated as x509 because the key has a certificate"},
	"format.credType.secret":     {Other: "missing; treated as a client-secret key (instance-secret)"},
	"format.tenant.noSubdomain":  {Other: "missing, and uaa.url has no subdomain to name the tenant by; " + againFromCockpit},
	"format.tenant.storedName":   {Other: "{{.Name}} is not a valid tenant (subdomain) name ({{.Why}}): {{.Rule}}; upload a current key from the SAP BTP cockpit"},
	"format.tenant.badSubdomain": {Other: "missing, and the subdomain of uaa.url is not a valid tenant name ({{.Why}}): {{.Rule}}; " + againFromCockpit},
	"format.tenant.badName":      {Other: "is not a valid tenant (subdomain) name: {{.Why}}; {{.Rule}}. Download the key again from the SAP BTP cockpit"},
	"format.tenant.rule":         {Other: subdomainRule},
	"format.tenant.empty":        {Other: "it is empty"},
	"format.tenant.long":         {Other: "it is {{.Bytes}} bytes long"},
	"format.tenant.char":         {Other: "it holds {{.Char}} ({{.Glyph}})"},
	"format.tenant.invisible":    {Other: "it holds {{.Char}}"},
	"format.tenant.dash":         {Other: "it starts or ends with '-'"},

	"format.cert.notCert":       {Other: "block {{.N}} is not a certificate; the field must hold the client certificate and its chain"},
	"format.cert.unreadable":    {Other: "certificate {{.N}} cannot be read"},
	"format.cert.noPEM":         {Other: "holds no PEM certificate"},
	"format.cert.expired":       {Other: "the client certificate expired on {{.Date}}; create a new service key in the SAP BTP cockpit"},
	"format.cert.expiredStored": {Other: "the client certificate expired on {{.Date}}; delete this key and upload a new one from the SAP BTP cockpit"},
	"format.cert.soon":          {Other: "the client certificate expires on {{.Date}} ({{.When}}); plan to replace the key"},
	"format.key.noPEM":          {Other: "holds no PEM private key"},
	"format.key.unusable":       {Other: "holds a private key of a kind TLS cannot use"},
	"format.key.wrongBlock":     {Other: "is not a PKCS#1, PKCS#8 or EC private key (found a {{.Block}} block)"},
	"format.key.unreadable":     {Other: "the {{.Kind}} cannot be read"},
	"format.key.mismatch":       {Other: "does not match the first certificate in uaa.certificate; the key and certificate must come from the same service key"},

	// How far off a certificate's end is (Expiry.When).
	"expiry.expired":  {Other: "expired"},
	"expiry.today":    {Other: "today"},
	"expiry.tomorrow": {Other: "tomorrow"},
	"expiry.inDays":   {One: "in {{.Days}} day", Other: "in {{.Days}} days", Count: "Days"},
}
