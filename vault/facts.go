package vault

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode"
)

// Unknown is the one word every front end shows for a value that is not
// known (a key without a region, an upload time lost).
const Unknown = "unknown"

// CockpitPath is where a service key comes from and where it is deleted for
// good, in the one wording every front end uses.
const CockpitPath = "SAP BTP cockpit > Services > Instances and Subscriptions > your SAP Cloud ALM API instance > Credentials"

// TimeLayout is how FormatTime writes a time: local, to the minute, with
// the zone named.
const TimeLayout = "2006-01-02 15:04 MST"

// FormatTime is the one way a time is shown to a user, in the window and by
// calmkeyctl alike: local time with its zone named, "2026-12-01 15:04 CET";
// Unknown for the zero time. (JSON output keeps RFC 3339.)
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return Unknown
	}
	return t.Local().Format(TimeLayout)
}

// Identity is what tells one stored key from another of the same tenant:
// the client id, the upload time and the SHA-256 of the key file's bytes.
// Same is the one "same key" decision: the window's watcher, DeleteIf and
// almtest's last tests all use it.
type Identity struct {
	Tenant     string
	ClientID   string
	UploadedAt time.Time
	SHA256     string // hex, of the bytes as uploaded (the manifest's)
}

// Same reports whether a and b are the same stored key: all four fields
// equal, the times by time.Equal (a time read back from JSON has another
// location than the one written).
func (a Identity) Same(b Identity) bool {
	return a.Tenant == b.Tenant && a.ClientID == b.ClientID && a.SHA256 == b.SHA256 && a.UploadedAt.Equal(b.UploadedAt)
}

// Identity is the stored key's identity; the zero Identity for a Stored
// without a key.
func (st *Stored) Identity() Identity {
	if st == nil || st.Key == nil {
		return Identity{}
	}
	return Identity{Tenant: st.Key.Tenant, ClientID: st.Key.ClientID, UploadedAt: st.UploadedAt, SHA256: bytesSHA256(st.Key.Bytes())}
}

// Identity is the listed key's identity, from its manifest.
func (s Summary) Identity() Identity {
	return Identity{Tenant: s.Tenant, ClientID: s.ClientID, UploadedAt: s.UploadedAt, SHA256: s.SHA256}
}

// Fact is one line of the key-facts form: ID is stable (for tests and
// JSON), Label and Value are what a user reads. Values are safe to print
// (see Printable).
type Fact struct {
	ID, Label, Value string
}

// The IDs of the facts Facts gives, in its order.
const (
	FactTenant         = "tenant"
	FactRegion         = "region"
	FactClientID       = "clientId"
	FactCredentialType = "credentialType"
	FactAPIEndpoint    = "apiEndpoint"
	FactTokenURL       = "tokenUrl"
	FactUploaded       = "uploaded"
	FactCertExpiry     = "certExpiry"
)

// Facts is the key-facts form that the window and calmkeyctl status and
// show all display as they are: tenant, region, client id, credential type,
// API endpoint, token URL, when (and from which file) the key was uploaded
// and the certificate's expiry with its days, counted at now in now's zone
// (see CertExpiry). Times are written by FormatTime; missing values are
// Unknown.
func Facts(s Summary, now time.Time) []Fact {
	uploaded := FormatTime(s.UploadedAt)
	if s.FileName != "" {
		uploaded += " from " + s.FileName
	}
	return []Fact{
		{FactTenant, "Tenant", Printable(orUnknown(s.Tenant))},
		{FactRegion, "Region", Printable(orUnknown(s.Region))},
		{FactClientID, "Client ID", Printable(orUnknown(s.ClientID))},
		{FactCredentialType, "Credential type", Printable(s.CredentialTypeText())},
		{FactAPIEndpoint, "API endpoint", Printable(orUnknown(s.APIEndpoint))},
		{FactTokenURL, "Token URL", Printable(orUnknown(s.TokenURL))},
		{FactUploaded, "Uploaded", Printable(uploaded)},
		{FactCertExpiry, "Certificate expiry", CertExpiry(s.CertExpiry, now).Words(TimeLayout)},
	}
}

func orUnknown(s string) string {
	if s == "" {
		return Unknown
	}
	return s
}

// LoadsAtOnce is how many keys a front end (and LoadAll) loads at once: the
// keychain's answers overlap, and more would only queue in its daemon.
const LoadsAtOnce = 4

// errTenantName is what TenantNameError wraps.
var errTenantName = errors.New("not a valid tenant (subdomain) name")

// subdomainRule is the rule a tenant name must follow, as messages word it.
const subdomainRule = "a tenant is an XSUAA subdomain: 1 to 63 characters a-z, 0-9 and '-', not starting or ending with '-'"

// TenantNameError is nil when name is a valid tenant name, an XSUAA
// subdomain (`[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`). Otherwise it says so,
// naming what breaks the rule, with the name escaped. The format check
// refuses keys whose uaa.identityzone fails it (a look-alike such as
// "аcme-prod" with a Cyrillic а, or a name with a space, would sit beside
// the real tenant in every list); the window and calmkeyctl list flag keys
// stored under such a name by an earlier calmkey.
func TenantNameError(name string) error {
	if why := subdomainProblem(name); !why.IsZero() {
		return &nameError{name: name, why: why.English()}
	}
	return nil
}

type nameError struct{ name, why string }

func (e *nameError) Error() string {
	return quoteShort(Printable(e.name)) + " is " + errTenantName.Error() + ": " + e.why + "; " + subdomainRule
}

func (e *nameError) Unwrap() error { return errTenantName }

// subdomainProblem says what keeps s from being an XSUAA subdomain, "" when
// nothing does.
func subdomainProblem(s string) Msg {
	switch {
	case s == "":
		return M("format.tenant.empty")
	case len(s) > 63:
		return M("format.tenant.long", "Bytes", strconv.Itoa(len(s)))
	}
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			continue
		}
		if r > ' ' && !Invisible(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Mn, r) {
			return M("format.tenant.char", "Char", fmt.Sprintf("U+%04X", r), "Glyph", string(r))
		}
		return M("format.tenant.invisible", "Char", fmt.Sprintf("U+%04X", r))
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return M("format.tenant.dash")
	}
	return Msg{}
}
