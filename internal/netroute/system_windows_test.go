package netroute

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// These tests write the user's Internet Settings, so they run only in the
// test session's throwaway Wine prefix, never on a real user's Windows.
func inTestPrefix(t *testing.T) {
	t.Helper()
	if os.Getenv("CALMKEY_TEST_SESSION") != "1" {
		t.Skip("writes the user's proxy settings: run in scripts/test-session (a throwaway Wine prefix)")
	}
}

const connectionsKey = `Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections`

// Flags of DefaultConnectionSettings.
const (
	connDirect     = 1
	connProxy      = 2
	connPAC        = 4
	connAutoDetect = 8
)

// SetConnectionSettings writes the binary DefaultConnectionSettings value,
// the one Wine's winhttp.dll reads (not the plain ProxyServer values):
// 0x46, a counter and the flags as little-endian 32-bit words; the proxy,
// the bypass list and the PAC URL, each as a 32-bit length and its bytes;
// then 32 zero bytes. The previous value comes back at the test's end.
func setConnectionSettings(t *testing.T, flags uint32, proxy, bypass, pac string) {
	t.Helper()
	k, _, err := registry.CreateKey(registry.CURRENT_USER, connectionsKey, registry.ALL_ACCESS)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	old, _, oldErr := k.GetBinaryValue("DefaultConnectionSettings")
	t.Cleanup(func() {
		k, err := registry.OpenKey(registry.CURRENT_USER, connectionsKey, registry.ALL_ACCESS)
		if err != nil {
			return
		}
		defer k.Close()
		if oldErr == nil {
			k.SetBinaryValue("DefaultConnectionSettings", old)
		} else {
			k.DeleteValue("DefaultConnectionSettings")
		}
	})
	if err := k.SetBinaryValue("DefaultConnectionSettings", ConnectionSettings(flags, proxy, bypass, pac)); err != nil {
		t.Fatal(err)
	}
}

// ConnectionSettings is the DefaultConnectionSettings value's bytes.
func ConnectionSettings(flags uint32, proxy, bypass, pac string) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0x46)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, flags)
	for _, s := range []string{proxy, bypass, pac} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return append(b, make([]byte, 32)...)
}

func TestWindowsUserSettings(t *testing.T) {
	inTestPrefix(t)
	setConnectionSettings(t, connDirect|connProxy, "proxy.corp:8080", "<local>;*.intra.corp", "")
	us, err := winSystem{}.User()
	if err != nil {
		t.Fatal(err)
	}
	if us.Proxy != "proxy.corp:8080" || us.Bypass != "<local>;*.intra.corp" || us.PACURL != "" {
		t.Fatalf("settings %+v", us)
	}
	r, _ := New(Options{Getenv: env()})
	check(t, r.Route(context.Background(), target("alm.example.com")), Proxy, "proxy.corp:8080", SourceWindows)
	check(t, r.Route(context.Background(), target("wiki.intra.corp")), Direct, "", SourceWindows+" bypass list")
	check(t, r.Route(context.Background(), target("intranet")), Direct, "", SourceWindows+" bypass list")

	// The environment still wins.
	r, _ = New(Options{Getenv: env("HTTPS_PROXY", "http://env-proxy:3128")})
	check(t, r.Route(context.Background(), target("alm.example.com")), Proxy, "env-proxy:3128", SourceHTTPSProxy)
}

// pacServer serves a PAC script on loopback.
func pacServer(t *testing.T, script string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		fmt.Fprint(w, script)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/proxy.pac"
}

func TestWindowsPAC(t *testing.T) {
	inTestPrefix(t)
	pac := pacServer(t, `function FindProxyForURL(url, host) {
  if (host == "alm.example.com") return "PROXY pac-proxy.corp:3128; DIRECT";
  return "DIRECT";
}`)
	setConnectionSettings(t, connDirect|connPAC|connProxy, "fixed.corp:8080", "", pac)
	r, _ := New(Options{Getenv: env()})
	start := time.Now()
	rt := r.Route(context.Background(), target("alm.example.com"))
	took := time.Since(start)
	check(t, rt, Proxy, "pac-proxy.corp:3128", "PAC "+pac)
	start = time.Now()
	r.Route(context.Background(), target("alm.example.com"))
	again := time.Since(start)
	check(t, r.Route(context.Background(), target("other.example.com")), Direct, "", "PAC "+pac)
	t.Logf("PAC look-up under this Windows: %s the first time, %s from the run's memory", took, again)
}

func TestWindowsPACFails(t *testing.T) {
	inTestPrefix(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pac := "http://" + ln.Addr().String() + "/proxy.pac"
	ln.Close()
	setConnectionSettings(t, connDirect|connPAC|connProxy, "fixed.corp:8080", "", pac)
	r, _ := New(Options{Getenv: env()})
	rt := r.Route(context.Background(), target("alm.example.com"))
	check(t, rt, Proxy, "fixed.corp:8080", SourceWindows)
	if rt.Note == "" {
		t.Error("no note of the failed script")
	}
	t.Logf("note: %s", rt.Note)
}

func TestWindowsAutoDetectWithoutWPAD(t *testing.T) {
	inTestPrefix(t)
	setConnectionSettings(t, connDirect|connAutoDetect, "", "", "")
	start := time.Now()
	r, _ := New(Options{Getenv: env()})
	rt := r.Route(context.Background(), target("alm.example.com"))
	took := time.Since(start)
	check(t, rt, Direct, "", SourceNone)
	if took > 5*time.Second {
		t.Errorf("auto-detect without WPAD took %s", took)
	}
	t.Logf("auto-detect without WPAD: %s (%s)", took, rt.Note)
}

func TestWindowsMachineDefault(t *testing.T) {
	inTestPrefix(t)
	setConnectionSettings(t, connDirect, "", "", "")
	// What 'netsh winhttp set proxy' sets, put back at the end.
	set := modWinHTTP.NewProc("WinHttpSetDefaultProxyConfiguration")
	setDefault := func(access uint32, proxy, bypass string) {
		t.Helper()
		info := proxyInfo{accessType: access}
		if proxy != "" {
			info.proxy, _ = windows.UTF16PtrFromString(proxy)
			info.proxyBypass, _ = windows.UTF16PtrFromString(bypass)
		}
		if r, _, err := set.Call(uintptr(unsafe.Pointer(&info))); r == 0 {
			t.Fatalf("WinHttpSetDefaultProxyConfiguration: %v", err)
		}
	}
	before, err := winSystem{}.Machine()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if before.Proxy == "" {
			setDefault(accessTypeNoProxy, "", "")
		} else {
			setDefault(accessTypeNamedProxy, before.Proxy, before.Bypass)
		}
	})
	setDefault(accessTypeNamedProxy, "machine-proxy.corp:3128", "*.intra.corp")
	r, _ := New(Options{Getenv: env()})
	check(t, r.Route(context.Background(), target("alm.example.com")), Proxy, "machine-proxy.corp:3128", SourceWinHTTP)
	check(t, r.Route(context.Background(), target("a.intra.corp")), Direct, "", SourceWinHTTP+" bypass list")
}

func TestWindowsNegotiateStarts(t *testing.T) {
	// SSPI's Negotiate loads without killing the program (sspi/ntlm and
	// sspi/kerberos would, under Wine); whether it can make a token here
	// depends on the Windows.
	ts, err := platformNegotiate("HTTP/proxy.corp")
	if err != nil {
		t.Logf("no Negotiate credentials here: %v", err)
		return
	}
	defer ts.Close()
	tok, err := ts.Token(nil)
	if err != nil {
		t.Logf("no first token here: %v", err)
		return
	}
	t.Logf("a first token of %d bytes", len(tok))
}
