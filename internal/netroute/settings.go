package netroute

import (
	"net/url"
	"strings"
)

// Settings are what a Resolver reads, for 'calmkeyctl proxy': the
// environment's proxy variables (passwords masked), and on Windows the
// user's proxy settings and the machine's WinHTTP proxy.
type Settings struct {
	Override    string          `json:"override,omitempty"` // --proxy, password masked
	Environment []EnvSetting    `json:"environment"`
	Windows     *WindowsSetting `json:"windows,omitempty"`
	WinHTTP     *Fixed          `json:"winhttp,omitempty"`
}

// EnvSetting is one proxy variable that is set.
type EnvSetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// WindowsSetting is the user's proxy settings as WinHTTP reads them.
type WindowsSetting struct {
	AutoDetect bool   `json:"auto_detect"`
	PACURL     string `json:"pac_url,omitempty"`
	Proxy      string `json:"proxy,omitempty"`
	Bypass     string `json:"bypass,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Settings reads (once per Resolver) what the routes are decided from.
func (r *Resolver) Settings() Settings {
	s := Settings{Environment: []EnvSetting{}}
	if r.override != nil {
		s.Override = MaskURL(r.opts.Proxy)
	} else if r.opts.Proxy != "" {
		s.Override = r.opts.Proxy
	}
	for _, n := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"} {
		if v := r.getenv(n); v != "" {
			if !strings.EqualFold(n, "NO_PROXY") {
				v = MaskURL(v)
			}
			s.Environment = append(s.Environment, EnvSetting{n, v})
		}
	}
	if r.sys == nil {
		return s
	}
	us, err := r.userSettings()
	w := &WindowsSetting{AutoDetect: us.AutoDetect, PACURL: MaskScript(us.PACURL), Proxy: us.Proxy, Bypass: us.Bypass}
	if err != nil {
		w.Error = "cannot be read"
	}
	s.Windows = w
	if m := r.machineSettings(); m.Proxy != "" {
		s.WinHTTP = &m
	}
	return s
}

// MaskURL is a proxy setting with its password, if any, as ***; a value
// that is not a URL is shown only as "(not a URL)", since it may be one
// that failed to parse around a password.
func MaskURL(v string) string {
	u, err := parseProxyURL(v)
	if err != nil {
		return "(not a URL)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
	}
	return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
}
