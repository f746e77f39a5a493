package netroute

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// WinHTTP, called directly (no cgo). mattn/go-ieproxy gets several cases
// wrong (a PAC DIRECT, <local>, PAC schemes, settings cached for the
// process's life), so this is our own.
var (
	modWinHTTP             = windows.NewLazySystemDLL("winhttp.dll")
	procGetIEProxyConfig   = modWinHTTP.NewProc("WinHttpGetIEProxyConfigForCurrentUser")
	procGetDefaultProxy    = modWinHTTP.NewProc("WinHttpGetDefaultProxyConfiguration")
	procWinHTTPOpen        = modWinHTTP.NewProc("WinHttpOpen")
	procWinHTTPClose       = modWinHTTP.NewProc("WinHttpCloseHandle")
	procWinHTTPSetTimeouts = modWinHTTP.NewProc("WinHttpSetTimeouts")
	procGetProxyForURL     = modWinHTTP.NewProc("WinHttpGetProxyForUrl")
	modKernel32            = windows.NewLazySystemDLL("kernel32.dll")
	procGlobalFree         = modKernel32.NewProc("GlobalFree")
)

// WINHTTP_CURRENT_USER_IE_PROXY_CONFIG
type ieProxyConfig struct {
	autoDetect    int32
	autoConfigURL *uint16
	proxy         *uint16
	proxyBypass   *uint16
}

// WINHTTP_PROXY_INFO
type proxyInfo struct {
	accessType  uint32
	proxy       *uint16
	proxyBypass *uint16
}

// WINHTTP_AUTOPROXY_OPTIONS
type autoProxyOptions struct {
	flags                 uint32
	autoDetectFlags       uint32
	autoConfigURL         *uint16
	reserved              uintptr
	reserved2             uint32
	autoLogonIfChallenged int32
}

const (
	accessTypeNoProxy    = 1
	accessTypeNamedProxy = 3

	autoProxyAutoDetect = 0x1
	autoProxyConfigURL  = 0x2
	autoDetectDHCP      = 0x1
	autoDetectDNSA      = 0x2

	errWinHTTPTimeout           = windows.Errno(12002)
	errWinHTTPInvalidURL        = windows.Errno(12005)
	errWinHTTPUnrecognized      = windows.Errno(12006)
	errWinHTTPLoginFailure      = windows.Errno(12015)
	errWinHTTPBadScript         = windows.Errno(12166)
	errWinHTTPUnableToDownload  = windows.Errno(12167)
	errWinHTTPAutoProxyService  = windows.Errno(12178)
	errWinHTTPAutodetectFailed  = windows.Errno(12180)
	errWinHTTPOperationCanceled = windows.Errno(12017)
)

type winSystem struct{}

func platformSystem() System { return winSystem{} }

// takeString copies and frees a string WinHTTP allocated.
func takeString(p *uint16) string {
	if p == nil {
		return ""
	}
	s := windows.UTF16PtrToString(p)
	procGlobalFree.Call(uintptr(unsafe.Pointer(p)))
	return s
}

func (winSystem) User() (UserSettings, error) {
	if err := procGetIEProxyConfig.Find(); err != nil {
		return UserSettings{}, err
	}
	var c ieProxyConfig
	r, _, err := procGetIEProxyConfig.Call(uintptr(unsafe.Pointer(&c)))
	us := UserSettings{
		AutoDetect: c.autoDetect != 0,
		PACURL:     takeString(c.autoConfigURL),
		Proxy:      takeString(c.proxy),
		Bypass:     takeString(c.proxyBypass),
	}
	if r == 0 {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
			return UserSettings{}, nil // no settings: none configured
		}
		return UserSettings{}, err
	}
	return us, nil
}

func (winSystem) Machine() (Fixed, error) {
	if err := procGetDefaultProxy.Find(); err != nil {
		return Fixed{}, err
	}
	var info proxyInfo
	r, _, err := procGetDefaultProxy.Call(uintptr(unsafe.Pointer(&info)))
	proxy, bypass := takeString(info.proxy), takeString(info.proxyBypass)
	if r == 0 {
		return Fixed{}, err
	}
	if info.accessType != accessTypeNamedProxy {
		return Fixed{}, nil
	}
	return Fixed{Proxy: proxy, Bypass: bypass}, nil
}

// PAC runs WinHttpGetProxyForUrl in a session of its own, which ctx's end
// closes (that cancels a look-up under way); the call runs on a goroutine
// so that the caller is free at once.
func (winSystem) PAC(ctx context.Context, target string, us UserSettings) (PACAnswer, error) {
	script := scriptName(us)
	if err := procGetProxyForURL.Find(); err != nil {
		return PACAnswer{}, newPACError(script, words("route.pac.noSupport"), err)
	}
	u16, err := windows.UTF16PtrFromString(target)
	if err != nil {
		return PACAnswer{}, err
	}
	h, closeH, err := openPACSession(ctx, script)
	if err != nil {
		return PACAnswer{}, err
	}
	opts := pacOptions(us)
	done := make(chan pacResult, 1)
	go func() {
		defer closeH()
		done <- askPAC(h, u16, opts)
	}()
	select {
	case res := <-done:
		if res.err != nil {
			return PACAnswer{}, pacError(script, us, res.err)
		}
		return res.ans, nil
	case <-ctx.Done():
		closeH()
		return PACAnswer{}, ctx.Err()
	}
}

// openPACSession opens the WinHTTP session of one look-up, its time
// limits set from ctx's deadline; closeH may be called more than once.
func openPACSession(ctx context.Context, script string) (h uintptr, closeH func(), err error) {
	agent, _ := windows.UTF16PtrFromString("calmkey")
	h, _, err = procWinHTTPOpen.Call(uintptr(unsafe.Pointer(agent)), accessTypeNoProxy, 0, 0, 0)
	if h == 0 {
		return 0, nil, newPACError(script, words("route.pac.notOpened"), err)
	}
	var once sync.Once
	closeH = func() { once.Do(func() { procWinHTTPClose.Call(h) }) }
	if dl, ok := ctx.Deadline(); ok {
		ms := max(time.Until(dl).Milliseconds(), 1)
		procWinHTTPSetTimeouts.Call(h, uintptr(ms), uintptr(ms), uintptr(ms), uintptr(ms))
	}
	return h, closeH, nil
}

// pacOptions asks for the user's script, auto-detect, or both.
func pacOptions(us UserSettings) *autoProxyOptions {
	opts := &autoProxyOptions{}
	if us.AutoDetect {
		opts.flags |= autoProxyAutoDetect
		opts.autoDetectFlags = autoDetectDHCP | autoDetectDNSA
	}
	if us.PACURL != "" {
		opts.flags |= autoProxyConfigURL
		opts.autoConfigURL, _ = windows.UTF16PtrFromString(us.PACURL)
	}
	return opts
}

// askPAC is the look-up itself, blocking until WinHTTP answers or its
// session is closed.
func askPAC(h uintptr, u16 *uint16, opts *autoProxyOptions) pacResult {
	call := func() (proxyInfo, error) {
		var info proxyInfo
		r, _, err := procGetProxyForURL.Call(h, uintptr(unsafe.Pointer(u16)), uintptr(unsafe.Pointer(opts)), uintptr(unsafe.Pointer(&info)))
		runtime.KeepAlive(u16)
		if r == 0 {
			return proxyInfo{}, err
		}
		return info, nil
	}
	info, err := call()
	if errors.Is(err, errWinHTTPLoginFailure) {
		// The script's server wants the Windows logon: ask again with
		// it, as Windows itself does.
		opts.autoLogonIfChallenged = 1
		info, err = call()
	}
	runtime.KeepAlive(opts)
	if err != nil {
		return pacResult{err: err}
	}
	proxy := takeString(info.proxy)
	takeString(info.proxyBypass)
	if info.accessType == accessTypeNoProxy || proxy == "" {
		return pacResult{ans: PACAnswer{Direct: true}}
	}
	return pacResult{ans: PACAnswer{Proxy: proxy}}
}

func pacError(script string, us UserSettings, err error) error {
	var why Words
	switch {
	case errors.Is(err, errWinHTTPAutodetectFailed):
		if us.PACURL == "" {
			return ErrNoScript
		}
		why = words("route.pac.notDownloaded")
	case errors.Is(err, errWinHTTPUnableToDownload):
		why = words("route.pac.notDownloaded")
	case errors.Is(err, errWinHTTPBadScript):
		why = words("route.pac.badScript")
	case errors.Is(err, errWinHTTPTimeout), errors.Is(err, errWinHTTPOperationCanceled):
		why = words("route.pac.tooLong")
	case errors.Is(err, errWinHTTPInvalidURL), errors.Is(err, errWinHTTPUnrecognized):
		why = words("route.pac.badURL")
	case errors.Is(err, errWinHTTPLoginFailure):
		why = words("route.pac.logonRefused")
	case errors.Is(err, errWinHTTPAutoProxyService):
		why = words("route.pac.serviceFailed")
	default:
		var en windows.Errno
		if errors.As(err, &en) {
			why = words("route.pac.windowsError", "Errno", strconv.FormatUint(uint64(uint32(en)), 10))
		} else {
			why = words("route.pac.failed")
		}
	}
	return newPACError(script, why, err)
}
