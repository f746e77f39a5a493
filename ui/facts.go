package ui

import (
	"time"

	"fyne.io/fyne/v2/lang"

	"github.com/calmkey/calmkey/vault"
)

// factLabel is the label of vault's fact id in the window's language.
func factLabel(id string) string {
	switch id {
	case vault.FactTenant:
		return lang.X("window.fact.tenant", "Tenant")
	case vault.FactRegion:
		return lang.X("window.fact.region", "Region")
	case vault.FactClientID:
		return lang.X("window.fact.clientId", "Client ID")
	case vault.FactCredentialType:
		return lang.X("window.fact.credentialType", "Credential type")
	case vault.FactAPIEndpoint:
		return lang.X("window.fact.apiEndpoint", "API endpoint")
	case vault.FactTokenURL:
		return lang.X("window.fact.tokenUrl", "Token URL")
	case vault.FactUploaded:
		return lang.X("window.fact.uploaded", "Uploaded")
	case vault.FactCertExpiry:
		return lang.X("window.fact.certExpiry", "Certificate expiry")
	}
	return id
}

// factValue is vault's fact as the window shows it: vault's facts (the
// one home of what is shown) with the words and times in the window's
// language. Values stay printable as vault makes them.
func factValue(f vault.Fact, s vault.Summary, now time.Time) string {
	switch f.ID {
	case vault.FactUploaded:
		when := formatTime(s.UploadedAt)
		if s.FileName == "" {
			return when
		}
		return lang.X("window.fact.uploadedFrom", "{{.Time}} from {{.File}}", map[string]any{"Time": when, "File": vault.Printable(s.FileName)})
	case vault.FactCertExpiry:
		e := vault.CertExpiry(s.CertExpiry, now)
		if e.IsZero() {
			return lang.X("window.fact.noCertificate", "none (the key logs on with a client secret, which does not expire)")
		}
		return e.NotAfter.Format(timeLayout()) + " (" + expiryWhen(e) + ")" // in now's zone, as vault counts the days
	case vault.FactCredentialType:
		if s.CredentialType == "" {
			return lang.X("window.fact.unknownType", "unknown type")
		}
		if !s.Declared {
			return lang.X("window.fact.inferredType", "{{.Type}} (inferred: the key does not declare uaa.credential-type)",
				map[string]any{"Type": vault.Printable(string(s.CredentialType))})
		}
	}
	if f.Value == vault.Unknown {
		return lang.X("window.time.unknown", "unknown")
	}
	return f.Value
}

// expiryWhen says how far off a certificate's end is, as vault's
// Expiry.When does: expired, today, tomorrow or in N days.
func expiryWhen(e vault.Expiry) string {
	switch {
	case e.Expired:
		return lang.X("window.expiry.expired", "expired")
	case e.Days <= 0:
		return lang.X("window.expiry.today", "today")
	case e.Days == 1:
		return lang.X("window.expiry.tomorrow", "tomorrow")
	}
	return lang.XN("window.expiry.inDays", "in {{.Days}} days", e.Days, map[string]any{"Days": e.Days})
}

// cockpitPath is where a key is made and downloaded, vault.CockpitPath in
// the window's language. The cockpit's own menu names stay as the cockpit
// shows them.
func cockpitPath() string {
	return lang.X("window.cockpitPath", "SAP BTP cockpit > Services > Instances and Subscriptions > your SAP Cloud ALM API instance > Credentials")
}
