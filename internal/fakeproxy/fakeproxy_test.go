package fakeproxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/netroute"
)

func TestTunnelAndBasic(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") }))
	defer srv.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "https://"), ":")
	p := Start(t, Options{Basic: "alice:pw"})
	get := func(proxy string) error {
		r, err := netroute.New(netroute.Options{Proxy: proxy, Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		d := &netroute.Dialer{Resolver: r, Timeout: 5 * time.Second}
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.Proxy, tr.DialContext = nil, d.DialContext
		req, _ := http.NewRequestWithContext(context.Background(), "GET", "https://alm.example.com:"+port+"/", nil)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get("http://alice:wrong@" + p.Addr); err == nil {
		t.Fatal("a wrong password got through")
	}
	if err := get("http://alice:pw@" + (&url.URL{Host: p.Addr}).Host); err != nil {
		t.Fatal(err)
	}
	if got := p.Targets(); len(got) != 1 || got[0] != "alm.example.com:"+port {
		t.Errorf("targets %q; connects %+v", got, p.Connects())
	}
}
