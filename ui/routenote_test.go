package ui

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/netroute"
)

// slowPAC is Windows' settings with a proxy script that never answers and
// a fixed proxy beside it.
type slowPAC struct{}

func (slowPAC) User() (netroute.UserSettings, error) {
	return netroute.UserSettings{PACURL: "http://wpad.corp/proxy.pac", Proxy: "fixed.corp:8080"}, nil
}

func (slowPAC) PAC(ctx context.Context, _ string, _ netroute.UserSettings) (netroute.PACAnswer, error) {
	<-ctx.Done()
	return netroute.PACAnswer{}, ctx.Err()
}

func (slowPAC) Machine() (netroute.Fixed, error) { return netroute.Fixed{}, nil }

// TestRouteNoteAndProxyErrorInGerman: a route's note (a proxy script that
// failed, the fixed proxy used instead) and an unusable proxy setting read
// in German; in English as calmkeyctl prints them. A route recorded before
// notes had codes keeps its stored English.
func TestRouteNoteAndProxyErrorInGerman(t *testing.T) {
	res, err := netroute.New(netroute.Options{System: slowPAC{}, PACTimeout: 50 * time.Millisecond, Proxy: "system"})
	if err != nil {
		t.Fatal(err)
	}
	rt := res.Route(context.Background(), &url.URL{Scheme: "https", Host: "alm.example.com"})
	_, proxyErr := netroute.ParseOverride("ftp://proxy.corp:21")
	if proxyErr == nil {
		t.Fatal("ftp:// was taken as a proxy")
	}
	old := netroute.Route{Kind: netroute.Direct, Note: "the proxy script x could not be run; went direct instead"}
	englishRoute := routeText(rt)
	if want := rt.String() + "; " + rt.Note; englishRoute != want || !strings.Contains(rt.Note, "took longer than 50ms") {
		t.Errorf("English route %q, want %q", englishRoute, want)
	}
	if got := proxyErrText(proxyErr); got != proxyErr.Error() {
		t.Errorf("English proxy error %q, want %q", got, proxyErr)
	}

	inLanguage(t, langGerman)
	mustContain(t, "German route", routeText(rt), "über fixed.corp:8080 (Windows-Einstellungen); das Proxy-Skript http://wpad.corp/proxy.pac brauchte länger als 50ms; stattdessen wurde der Proxy fixed.corp:8080 aus Windows-Einstellungen verwendet")
	mustContain(t, "German proxy error", proxyErrText(proxyErr), `Proxys mit dem Schema "ftp" werden nicht unterstützt`)
	mustContain(t, "old record's route", routeText(old), old.Note)
}
