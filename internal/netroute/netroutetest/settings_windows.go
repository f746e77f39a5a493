// Package netroutetest writes Windows' proxy settings for tests, as Wine's
// winhttp.dll reads them. Use it only in a throwaway Wine prefix (the test
// session's): it changes the user's settings, and those of the machine.
package netroutetest

import (
	"encoding/binary"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// Flags of DefaultConnectionSettings.
const (
	Direct     = 1
	Proxy      = 2
	PAC        = 4
	AutoDetect = 8
)

const connectionsKey = `Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections`

// RequirePrefix stops the test unless it runs in the test session, whose
// Wine prefix is thrown away after.
func RequirePrefix(t testing.TB) {
	t.Helper()
	if os.Getenv("CALMKEY_TEST_SESSION") != "1" {
		t.Fatal("this test changes Windows' proxy settings: run it in scripts/test-session (a throwaway Wine prefix)")
	}
}

// Value is the DefaultConnectionSettings value: 0x46, a counter and the
// flags as little-endian 32-bit words; the proxy, the bypass list and the
// PAC URL, each as a 32-bit length and its bytes; then 32 zero bytes.
func Value(flags uint32, proxy, bypass, pac string) []byte {
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

// SetUser writes the user's settings (the binary DefaultConnectionSettings
// value, which Wine's winhttp.dll reads, not the plain ProxyServer values);
// the previous value comes back when the test ends.
func SetUser(t testing.TB, flags uint32, proxy, bypass, pac string) {
	t.Helper()
	RequirePrefix(t)
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
	if err := k.SetBinaryValue("DefaultConnectionSettings", Value(flags, proxy, bypass, pac)); err != nil {
		t.Fatal(err)
	}
}

var procSetDefault = windows.NewLazySystemDLL("winhttp.dll").NewProc("WinHttpSetDefaultProxyConfiguration")

// WINHTTP_PROXY_INFO
type proxyInfo struct {
	accessType  uint32
	proxy       *uint16
	proxyBypass *uint16
}

// SetMachine sets the machine-wide WinHTTP proxy, as 'netsh winhttp set
// proxy' does ("" for none); none is set again when the test ends.
func SetMachine(t testing.TB, proxy, bypass string) {
	t.Helper()
	RequirePrefix(t)
	set := func(proxy, bypass string) error {
		info := proxyInfo{accessType: 1} // WINHTTP_ACCESS_TYPE_NO_PROXY
		if proxy != "" {
			info.accessType = 3 // WINHTTP_ACCESS_TYPE_NAMED_PROXY
			info.proxy, _ = windows.UTF16PtrFromString(proxy)
			info.proxyBypass, _ = windows.UTF16PtrFromString(bypass)
		}
		if r, _, err := procSetDefault.Call(uintptr(unsafe.Pointer(&info))); r == 0 {
			return err
		}
		return nil
	}
	t.Cleanup(func() { set("", "") })
	if err := set(proxy, bypass); err != nil {
		t.Fatalf("WinHttpSetDefaultProxyConfiguration: %v", err)
	}
}
