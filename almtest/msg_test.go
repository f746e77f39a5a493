package almtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/calmkey/calmkey/internal/netroute"
	"github.com/calmkey/calmkey/vault"
)

// TestStepMsgJSON: a step's codes go to JSON beside its English and come
// back; a step written before codes existed reads with its English only.
func TestStepMsgJSON(t *testing.T) {
	var st Step
	st.set(failed(hostMsg("test.refused", "h:443").With("Via", m("phrase.via", "Proxy", "p:8080")),
		m("hint.refused", "Field", "uaa.url").With("Route", proxyHint(nil))))
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"detail":"h:443 refused the connection through the proxy p:8080"`) ||
		!strings.Contains(string(b), `"detail_msg":{"code":"test.refused","values":{"Host":"h:443"},"parts":{"Via":{"code":"phrase.via","values":{"Proxy":"p:8080"}}}}`) {
		t.Errorf("JSON: %s", b)
	}
	var back Step
	if err := json.Unmarshal(b, &back); err != nil || back.DetailMsg.English() != st.Detail || back.HintMsg.English() != st.Hint {
		t.Errorf("back: %+v, %v", back, err)
	}
	var old Step
	if err := json.Unmarshal([]byte(`{"id":"api","status":"fail","ms":7,"detail":"the API at h answered HTTP 418","hint":"Check endpoints.Api"}`), &old); err != nil {
		t.Fatal(err)
	}
	if !old.DetailMsg.IsZero() || !old.HintMsg.IsZero() || old.Detail != "the API at h answered HTTP 418" {
		t.Errorf("old step: %+v", old)
	}
	var ok Step
	ok.set(diagnosis{status: StatusOK, detail: hostMsg("test.api.ok", "h", "Status", "200")})
	if b, _ := json.Marshal(ok); strings.Contains(string(b), "hint_msg") {
		t.Errorf("a step without a hint writes one: %s", b)
	}
}

// TestHistoryMsgCleaned: codes read from the history are shown only when
// Run could have made them, and their values are cleaned as the English is.
func TestHistoryMsgCleaned(t *testing.T) {
	deep := m("hint.withNote", "Note", "n")
	for range 7 {
		deep = m("hint.withNote", "Note", "n").With("Hint", deep)
	}
	for _, tt := range []struct {
		name string
		msg  vault.Msg
		keep bool
	}{
		{"known", hostMsg("test.api.other", "h", "Status", "418"), true},
		{"unknown code", m("test.nonesuch", "Host", "h"), false},
		{"missing value", m("test.api.other", "Host", "h"), false},
		{"bad part", hostMsg("test.refused", "h").With("Via", m("phrase.via")), false},
		{"too deep", deep, false},
	} {
		r := &Report{OK: true, Started: testStart, Steps: []Step{{ID: StepToken, Status: StatusOK, DetailMsg: tt.msg}, {ID: StepAPI, Status: StatusOK}}}
		got, ok := r.cleaned(newCleaner(nil))
		if !ok || got.Steps[0].DetailMsg.IsZero() == tt.keep {
			t.Errorf("%s: kept %v (%v), want %v", tt.name, !got.Steps[0].DetailMsg.IsZero(), ok, tt.keep)
		}
	}
	r := &Report{OK: true, Started: testStart, Steps: []Step{
		{ID: StepToken, Status: StatusOK, DetailMsg: hostMsg("test.api.other", "h\u001b[2J", "Status", "418")}, {ID: StepAPI, Status: StatusOK}}}
	got, _ := r.cleaned(newCleaner(nil))
	if v := got.Steps[0].DetailMsg.Values["Host"]; strings.ContainsRune(v, 0x1b) {
		t.Errorf("value not cleaned: %q", v)
	}
}

var testStart = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// TestRouteMsg: a route reads in English as netroute's Route.String says
// it, with its note after a semicolon, from every source.
func TestRouteMsg(t *testing.T) {
	for _, rt := range []netroute.Route{
		{Kind: netroute.Direct},
		{Kind: netroute.Direct, Source: netroute.SourceNoProxy},
		{Kind: netroute.Direct, Source: netroute.SourceWindows + " " + netroute.SourceBypass},
		{Kind: netroute.Direct, Source: netroute.SourceLoopback},
		{Kind: netroute.Direct, Source: netroute.SourceAutoDetect, Note: "the proxy script could not be run; went direct instead"},
		{Kind: netroute.Direct, Source: netroute.SourceFlag},
		{Kind: netroute.Proxy, Proxy: "p:8080"},
		{Kind: netroute.Proxy, Proxy: "p:8080", Source: netroute.SourceHTTPSProxy},
		{Kind: netroute.Proxy, Proxy: "p:8080", Source: netroute.SourceFlag},
		{Kind: netroute.Proxy, Proxy: "p:8080", Source: netroute.SourceEnvironment},
		{Kind: netroute.Proxy, Proxy: "p:8080", Source: netroute.SourceWindows},
		{Kind: netroute.Proxy, Proxy: "p:8080", Source: netroute.SourceWinHTTP},
		{Kind: netroute.Proxy, Proxy: "p:8080", Source: "PAC http://wpad/p.pac"},
	} {
		want := rt.String()
		if rt.Note != "" {
			want += "; " + rt.Note
		}
		if msg := RouteMsg(rt); !msg.Valid(msgDepth) || msg.English() != want || RouteText(rt) != want {
			t.Errorf("%+v: %q, want %q", rt, msg.English(), want)
		}
	}
}
