package main

import (
	"flag"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/calmkey/calmkey/vault"
)

// expiringSet reports whether list was given --expiring.
func expiringSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "expiring" })
	return set
}

// listExpiring is list --expiring DAYS: the tenants whose certificate has
// expired or ends within days (vault.Expiry.Within, the count every view
// uses), soonest first; exit status 1 if there is any. A damaged key has
// no date to tell and is left to test --all, which fails it.
func (inv *invocation) listExpiring(entries []vault.Entry, days int) int {
	now := time.Now()
	var hits []vault.Entry
	for _, e := range entries {
		if e.Err == nil && vault.CertExpiry(e.Stored.Key.CertExpiry, now).Within(days) {
			hits = append(hits, e)
		}
	}
	// Soonest first; entries come in name order, which breaks ties.
	slices.SortStableFunc(hits, func(a, b vault.Entry) int { return a.Stored.Key.CertExpiry.Compare(b.Stored.Key.CertExpiry) })
	if inv.asJSON {
		tests, replaced := inv.lastTests(), inv.lastReplacements()
		out := listJSON{Service: inv.service(), Expiring: &days, Tenants: []tenantJSON{}}
		for _, e := range hits {
			out.Tenants = append(out.Tenants, entryJSON(e, tests, replaced))
		}
		inv.writeJSON(out)
	} else {
		inv.writeExpiring(hits, days, now)
	}
	if len(hits) > 0 {
		return exitNo
	}
	return exitOK
}

func (inv *invocation) writeExpiring(hits []vault.Entry, days int, now time.Time) {
	within := fmt.Sprintf("within %d %s", days, plural(days, "day", "days"))
	if days == 0 {
		within = "today"
	}
	if len(hits) == 0 {
		fmt.Fprintf(inv.stdout, "No client certificate expires %s or has expired (keychain service %q).\n", within, inv.service())
		return
	}
	fmt.Fprintf(inv.stdout, "%d %s %s or %s expired (keychain service %q):\n\n",
		len(hits), plural(len(hits), "tenant's client certificate expires", "tenants' client certificates expire"), within,
		plural(len(hits), "has", "have"), inv.service())
	tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CERTIFICATE EXPIRY\tCLIENT ID\tTENANT")
	for _, e := range hits {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", expiryCell(e.Stored.Key.CertExpiry, now), vault.Printable(e.Stored.Key.ClientID), vault.Printable(e.Tenant))
	}
	tw.Flush()
	fmt.Fprintf(inv.stdout, "\nRotate each: create a new key in the %s, then 'calmkeyctl replace FILE'.\n", vault.CockpitPath)
}
