package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/fakeproxy"
	"github.com/calmkey/calmkey/internal/testkeys"
)

// routeReport is test --json with each step's route.
type routeReport struct {
	OK    bool `json:"ok"`
	Steps []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Detail string `json:"detail"`
		Hint   string `json:"hint"`
		Route  *struct {
			Kind   string `json:"kind"`
			Proxy  string `json:"proxy"`
			Source string `json:"source"`
			Note   string `json:"note"`
			Text   string `json:"text"`
		} `json:"route"`
	} `json:"steps"`
}

func routeJSON(t *testing.T, r result) routeReport {
	t.Helper()
	var rep routeReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if len(rep.Steps) != 2 {
		t.Fatalf("steps: %s", r.stdout)
	}
	return rep
}

// TestE2EProxy: the test goes through the proxy HTTPS_PROXY or --proxy
// names, with Basic, and says so per step; --proxy direct goes direct;
// calmkeyctl proxy tells each host's route.
func TestE2EProxy(t *testing.T) {
	// A name no DNS knows: only the proxy gets the test there.
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	c := logonCLI(t, srv)
	key := srv.SecretKey()
	c.addSecrets(key)
	c.secrets = append(c.secrets, "pr0xy-pass")
	expect(t, c.run(string(key), "upload", "-"), exitOK, "upload")
	p := fakeproxy.Start(t, fakeproxy.Options{Basic: "alice:pr0xy-pass"})
	withCreds := "http://alice:pr0xy-pass@" + p.Addr

	r := c.runEnv([]string{"HTTPS_PROXY=" + withCreds, "NO_PROXY="}, "", "test", "--json")
	expect(t, r, exitOK, "test through HTTPS_PROXY")
	for _, s := range routeJSON(t, r).Steps {
		if s.Route == nil || s.Route.Kind != "proxy" || s.Route.Proxy != p.Addr || s.Route.Source != "HTTPS_PROXY" || s.Route.Text != "via "+p.Addr+" (from HTTPS_PROXY)" {
			t.Errorf("step %s: route %+v", s.ID, s.Route)
		}
	}
	if got := p.Targets(); len(got) != 2 || got[0] != fakealm.Host(srv.UAAURL()) || got[1] != fakealm.Host(srv.APIURL()) {
		t.Errorf("the proxy tunnelled to %q", got)
	}

	// Text: a route line per step.
	r = c.runEnv([]string{"HTTPS_PROXY=" + withCreds, "NO_PROXY="}, "", "test")
	expect(t, r, exitOK, "test through HTTPS_PROXY")
	if strings.Count(r.stdout, "Route: via "+p.Addr+" (from HTTPS_PROXY)") != 2 {
		t.Errorf("no route lines:\n%s", r.stdout)
	}

	// --proxy wins over the environment; a wrong password is named as such.
	r = c.runEnv([]string{"HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY="}, "", "test", "--json", "--proxy", "http://alice:wr0ng-pass@"+p.Addr)
	c.secrets = append(c.secrets, "wr0ng-pass")
	c.scan(nil, r)
	expect(t, r, exitNo, "test with a wrong proxy password")
	s := routeJSON(t, r).Steps[0]
	if !strings.Contains(s.Detail, "did not accept Basic") || s.Route == nil || s.Route.Source != "calmkey's proxy choice" {
		t.Errorf("token step: %+v", s)
	}

	// --proxy direct: no proxy, so the name cannot be found.
	before := len(p.Connects())
	r = c.runEnv([]string{"HTTPS_PROXY=" + withCreds}, "", "test", "--json", "--proxy", "direct")
	expect(t, r, exitNo, "test --proxy direct")
	if s := routeJSON(t, r).Steps[0]; s.Route == nil || s.Route.Text != "direct (calmkey's proxy choice)" {
		t.Errorf("token step: %+v", s)
	}
	if len(p.Connects()) != before {
		t.Error("--proxy direct went through the proxy")
	}

	// A --proxy that cannot be read is a usage error that does not repeat it.
	r = c.run("", "test", "--proxy", "http://alice:pr0xy-pass@[::1")
	expect(t, r, exitUsage, "test --proxy garbage")

	// calmkeyctl proxy: each host, its route, why.
	r = c.runEnv([]string{"HTTPS_PROXY=" + withCreds, "NO_PROXY=" + fakealm.Host(srv.APIURL())}, "", "proxy", "--json")
	expect(t, r, exitOK, "proxy --json")
	var pj struct {
		Tenant string `json:"tenant"`
		Hosts  []struct {
			Field string `json:"field"`
			Host  string `json:"host"`
			Route struct {
				Kind string `json:"kind"`
				Text string `json:"text"`
			} `json:"route"`
			Why string `json:"why"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &pj); err != nil {
		t.Fatalf("proxy --json: %v\n%s", err, r.stdout)
	}
	if len(pj.Hosts) != 2 || pj.Hosts[0].Field != "uaa.url" || pj.Hosts[0].Route.Kind != "proxy" ||
		pj.Hosts[1].Field != "endpoints.Api" || pj.Hosts[1].Route.Text != "direct (NO_PROXY)" || pj.Hosts[1].Why != "NO_PROXY names this host" {
		t.Errorf("proxy --json:\n%s", r.stdout)
	}
	r = c.runEnv([]string{"HTTPS_PROXY=" + withCreds, "NO_PROXY="}, "", "proxy")
	expect(t, r, exitOK, "proxy")
	if !strings.Contains(r.stdout, "uaa.url alm.calmkey.test:") || !strings.Contains(r.stdout, "why: HTTPS_PROXY is set") {
		t.Errorf("proxy:\n%s", r.stdout)
	}
}

// TestE2EProxyTime compares calmkeyctl test through a loopback proxy with
// a direct one, for the note. It logs, and asserts nothing about time: the
// machines that run it are shared.
func TestE2EProxyTime(t *testing.T) {
	// One server, two tenants: one by a name only the proxy resolves, one
	// by the loopback address, which is never proxied.
	srv := fakealm.Start(t, fakealm.Options{Host: "alm.calmkey.test"})
	c := logonCLI(t, srv)
	named := srv.SecretKeyWith(testkeys.Fields{Tenant: "via-proxy"})
	loop := srv.SecretKeyWith(testkeys.Fields{Tenant: "direct", UAAURL: srv.UAA.URL, APIURL: srv.API.URL + "/api"})
	for _, k := range [][]byte{named, loop} {
		c.addSecrets(k)
		expect(t, c.run(string(k), "upload", "-"), exitOK, "upload")
	}
	p := fakeproxy.Start(t, fakeproxy.Options{})
	env := []string{"HTTPS_PROXY=" + p.URL, "NO_PROXY="}
	const n = 5
	var viaProxy, direct time.Duration
	for range n {
		start := time.Now()
		expect(t, c.runEnv(env, "", "test", "--json", "--tenant", "via-proxy"), exitOK, "test through the proxy")
		viaProxy += time.Since(start)
		start = time.Now()
		expect(t, c.runEnv(env, "", "test", "--json", "--tenant", "direct"), exitOK, "test direct")
		direct += time.Since(start)
	}
	if len(p.Targets()) != 2*n {
		t.Errorf("the proxy tunnelled %d connections, want %d", len(p.Targets()), 2*n)
	}
	t.Logf("calmkeyctl test, mean of %d runs: through a loopback proxy %s, direct %s, ratio %.2f",
		n, viaProxy/n, direct/n, float64(viaProxy)/float64(direct))
}
