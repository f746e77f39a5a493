package almtest

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/calmkey/calmkey/internal/fakealm"
	"github.com/calmkey/calmkey/internal/testkeys"
	"github.com/calmkey/calmkey/vault"
)

func parse(t testing.TB, data []byte) *vault.Key {
	t.Helper()
	k, err := vault.Parse(data)
	if err != nil {
		t.Fatalf("test key does not parse: %v", err)
	}
	return k
}

// run logs on against srv's CA with a generous limit.
func run(t testing.TB, srv *fakealm.Server, data []byte) *Report {
	t.Helper()
	return Run(context.Background(), parse(t, data), Options{RootCAs: srv.RootCAs(), Timeout: 20 * time.Second})
}

func step(t testing.TB, r *Report, id string) Step {
	t.Helper()
	if len(r.Steps) != 2 || r.Steps[0].ID != StepToken || r.Steps[1].ID != StepAPI {
		t.Fatalf("steps are not token then api: %+v", r.Steps)
	}
	// Each step carries its detail and hint as codes, whose English is
	// the step's text.
	for _, s := range r.Steps {
		if !s.DetailMsg.Valid(msgDepth) || s.DetailMsg.English() != s.Detail || s.HintMsg.English() != s.Hint ||
			s.Hint != "" && !s.HintMsg.Valid(msgDepth) {
			t.Fatalf("%s step's codes do not give its text: %+v", s.ID, s)
		}
	}
	if id == StepToken {
		return r.Steps[0]
	}
	return r.Steps[1]
}

// want checks a step's status and that detail and hint carry the given
// phrases (case-insensitive); it prints the report on failure.
func want(t testing.TB, r *Report, id string, status Status, detail []string, hint []string) Step {
	t.Helper()
	s := step(t, r, id)
	bad := s.Status != status
	for _, p := range detail {
		bad = bad || !strings.Contains(strings.ToLower(s.Detail), strings.ToLower(p))
	}
	for _, p := range hint {
		bad = bad || !strings.Contains(strings.ToLower(s.Hint), strings.ToLower(p))
	}
	if status == StatusFail && s.Hint == "" {
		bad = true
	}
	if bad {
		t.Fatalf("%s step: want %s with detail %q and hint %q; got\n%s", id, status, detail, hint, r)
	}
	return s
}

// startTLS runs h on loopback with a certificate from ca for hosts.
func startTLS(t testing.TB, ca *testkeys.CA, h http.Handler, cfg func(*tls.Config), hosts ...string) *httptest.Server {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "localhost"}
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ServerTLS(t, hosts...)}}
	if cfg != nil {
		cfg(srv.TLS)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// secretWindows are what no output may hold, by the name of the form each
// comes from: every run of 8 characters (in lower case; the scan ignores
// case) of the client secret in each encoding a client or server might use,
// of each line of the private key's body, and of each token given. The
// list is written here, apart from clean.go's, so that the two check each
// other.
func secretWindows(srv *fakealm.Server, tokens ...string) map[string]string {
	w := map[string]string{}
	add := func(name, s string) {
		s = lowerLetters(s)
		if len(s) < 8 {
			w[s] = name
			return
		}
		for i := 0; i+8 <= len(s); i++ {
			w[s[i:i+8]] = name
		}
	}
	secret, id := testkeys.Secret, testkeys.ClientID
	add("secret", secret)
	add("query-escaped secret", url.QueryEscape(secret))
	add("path-escaped secret", url.PathEscape(secret))
	add("hex secret", hex.EncodeToString([]byte(secret)))
	for _, enc := range []struct {
		name string
		enc  *base64.Encoding
	}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
		add(enc.name+" secret", enc.enc.EncodeToString([]byte(secret)))
		// A Basic header: only the characters that carry the secret's
		// bits; those of the client id are no secret.
		for _, pair := range [][2]string{{id, secret}, {url.QueryEscape(id), url.QueryEscape(secret)}} {
			e := enc.enc.EncodeToString([]byte(pair[0] + ":" + pair[1]))
			add(enc.name+" clientid:secret", e[(8*(len(pair[0])+1)+5)/6:])
		}
	}
	_, keyPEM := srv.ClientPEM()
	for _, line := range strings.Split(keyPEM, "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			add("private key", line)
		}
	}
	for _, tok := range tokens {
		add("token", tok)
		add("query-escaped token", url.QueryEscape(tok))
		add("base64 token", base64.StdEncoding.EncodeToString([]byte(tok)))
		add("base64url token", base64.RawURLEncoding.EncodeToString([]byte(tok)))
	}
	return w
}

// leak names a rendering that holds one of windows, and the form it came
// from, without quoting it; "" when none does.
func leak(forms map[string]string, windows map[string]string) string {
	for name, text := range forms {
		low := lowerLetters(text)
		for i := 0; i+8 <= len(low); i++ {
			if form, ok := windows[low[i:i+8]]; ok {
				return fmt.Sprintf("%s holds 8 characters of the %s at byte %d", name, form, i)
			}
		}
	}
	return ""
}

// lowerLetters lowers A to Z only: "any letter case" is ASCII's, and other
// lowering changes lengths (İ) or makes look-alikes equal (the Kelvin sign).
func lowerLetters(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// controlIn names a rendering that holds a character a terminal acts on
// (ESC, BEL, DEL, a C1 control, any C0 control but a line feed) or invalid
// UTF-8, also once a JSON rendering is decoded; "" when none does.
func controlIn(forms map[string]string) string {
	for name, text := range forms {
		if c := controlChar(text); c != "" {
			return name + c
		}
		if !strings.Contains(name, "JSON") {
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(text), &v); err != nil {
			return name + " does not decode: " + err.Error()
		}
		var walk func(any) string
		walk = func(v any) string {
			switch v := v.(type) {
			case string:
				return controlChar(v)
			case []any:
				for _, e := range v {
					if c := walk(e); c != "" {
						return c
					}
				}
			case map[string]any:
				for _, e := range v {
					if c := walk(e); c != "" {
						return c
					}
				}
			}
			return ""
		}
		if c := walk(v); c != "" {
			return name + ", decoded," + c
		}
	}
	return ""
}

func controlChar(s string) string {
	if !utf8.ValidString(s) {
		return " is not valid UTF-8"
	}
	for i, r := range s {
		if (r < 0x20 && r != '\n') || (0x7f <= r && r <= 0x9f) {
			return fmt.Sprintf(" holds the control U+%04X at byte %d", r, i)
		}
	}
	return ""
}

// renderings are every form a report takes on its way to a user.
func renderings(t testing.TB, r *Report) map[string]string {
	t.Helper()
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	indented, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{
		"String":    r.String(),
		"Verdict":   r.Verdict(),
		"JSON":      string(js),
		"JSON ind.": string(indented),
		"%v":        fmt.Sprintf("%v", r),
		"%+v":       fmt.Sprintf("%+v", r),
		"%#v":       fmt.Sprintf("%#v", r),
		"%v value":  fmt.Sprintf("%v", *r),
		"%+v value": fmt.Sprintf("%+v", *r),
		"%#v value": fmt.Sprintf("%#v", *r),
		"%s":        fmt.Sprintf("[%s]", r),
		"%q":        fmt.Sprintf("%q", r),
	}
	for _, verb := range []string{"%d", "%x", "%X", "%T"} {
		out[verb] = fmt.Sprintf(verb, r)
		out[verb+" value"] = fmt.Sprintf(verb, *r)
	}
	for i, s := range r.Steps {
		sj, _ := json.Marshal(s)
		out[fmt.Sprintf("step %d String", i)] = s.String()
		out[fmt.Sprintf("step %d JSON", i)] = string(sj)
		out[fmt.Sprintf("step %d %%+v", i)] = fmt.Sprintf("%+v", s)
	}
	return out
}

// httptestPlain runs a plain-HTTP server and returns its address.
func httptestPlain(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// heldDeadline is a caller's context with a deadline that passes only when
// the test calls pass: a run sees its time run out at the moment the test
// chooses, however slow the machine, and no timer of its own can fire
// first when its Timeout is longer (context.WithTimeout then only follows
// the parent).
type heldDeadline struct {
	context.Context
	at   time.Time
	done chan struct{}
	once sync.Once
}

func newHeldDeadline(at time.Time) *heldDeadline {
	return &heldDeadline{Context: context.Background(), at: at, done: make(chan struct{})}
}

func (c *heldDeadline) Deadline() (time.Time, bool) { return c.at, true }
func (c *heldDeadline) Done() <-chan struct{}       { return c.done }
func (c *heldDeadline) pass()                       { c.once.Do(func() { close(c.done) }) }

func (c *heldDeadline) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
