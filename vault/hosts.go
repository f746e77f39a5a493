package vault

import (
	"bytes"
	"encoding/json"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// uniqueMembers scans the JSON document for member names an object holds
// twice, compared after unescaping, so "u\u0072l" is "url", and records a
// problem for each. encoding/json would keep the last silently, while a
// reader of the file (and calmkey's own views) may see the first: the key
// would be shown with one value and used with another. doc must be valid
// JSON (locate decoded it), so a plain scan finds the names: a string that
// opens an object or follows a comma inside one. It reports whether the
// document had none.
func (p *parser) uniqueMembers(doc []byte) bool {
	var stack []*memberFrame
	found, wantKey := false, false
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '{', '[':
			stack = append(stack, &memberFrame{object: doc[i] == '{'})
			wantKey = doc[i] == '{'
		case '}', ']':
			stack = stack[:len(stack)-1]
			wantKey = false
		case ',':
			if top := stack[len(stack)-1]; top.object {
				wantKey = true
			} else {
				top.index++
			}
		case '"':
			end := i + 1
			for doc[end] != '"' {
				if doc[end] == '\\' {
					end++
				}
				end++
			}
			if wantKey {
				name, ok := memberName(doc[i : end+1])
				top := stack[len(stack)-1]
				if top.names == nil {
					top.names = map[string]bool{}
				}
				if ok && top.names[name] {
					found = true
					p.problem(memberPath(stack, name), M("format.duplicate"))
				}
				top.names[name] = true
				top.key, wantKey = name, false
			}
			i = end
		}
	}
	return !found
}

// A memberFrame is an open object or list. It keeps where it stands in its
// parent (the member name, or the index in a list), so that opening one
// costs the same at any depth and a path is made only for a finding.
type memberFrame struct {
	object bool
	names  map[string]bool
	key    string // the member being read, in an object
	index  int    // the element being read, in a list
}

// memberPath is the path of member name of the innermost open object, as a
// finding shows it: "uaa.url", "list[2].name".
func memberPath(stack []*memberFrame, name string) string {
	var b strings.Builder
	for _, f := range stack[:len(stack)-1] {
		if f.object {
			b.WriteString("." + displayName(f.key))
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	b.WriteString("." + displayName(name))
	return strings.TrimPrefix(b.String(), ".")
}

// memberName unquotes a JSON string literal, cheaply when it has no escapes.
func memberName(lit []byte) (string, bool) {
	body := lit[1 : len(lit)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), true
	}
	var s string
	err := json.Unmarshal(lit, &s)
	return s, err == nil
}

// displayName is a member name as a finding's path shows it: escaped where
// it would not print, and cut when long.
func displayName(name string) string {
	const most = 40
	if utf8.RuneCountInString(name) > most {
		name = string([]rune(name)[:most]) + "..."
	}
	return Printable(name)
}

// hostWarnings warns about a URL's host that SAP's never look like: an IP
// address, a port other than 443, an internationalized name (punycode or
// non-ASCII letters, mixed scripts above all) that can imitate another.
// The loopback test servers use IP addresses and ports, so these warn.
func (p *parser) hostWarnings(path string, u *url.URL) {
	host := u.Hostname()
	if p.hosts == nil {
		p.hosts = map[string]string{}
	}
	p.hosts[path] = strings.ToLower(host)
	if net.ParseIP(host) != nil {
		p.warn(path, M("format.host.ip"))
	}
	if port := u.Port(); port != "" && port != "443" {
		p.warn(path, M("format.host.port"))
	}
	if idn, mixed := internationalHost(host); mixed {
		p.warn(path, M("format.host.mixed"))
	} else if idn {
		p.warn(path, M("format.host.idn"))
	}
}

// internationalHost reports whether host is not plain ASCII, in Unicode or
// as punycode (xn-- labels), and whether the letters of one of its labels
// come from more than one script.
func internationalHost(host string) (idn, mixed bool) {
	lower := strings.ToLower(host)
	idn = strings.HasPrefix(lower, "xn--") || strings.Contains(lower, ".xn--")
	for i := 0; i < len(host) && !idn; i++ {
		idn = host[i] >= utf8.RuneSelf
	}
	if !idn {
		return false, false
	}
	text := lower
	if u, err := idna.ToUnicode(lower); err == nil {
		text = u
	}
	// Scripts are compared within each label: "пример.alm.cloud.sap" is
	// one Cyrillic name under Latin ones, "аcme" (Cyrillic а) a look-alike.
	for _, label := range strings.Split(text, ".") {
		var first *unicode.RangeTable
		for _, r := range label {
			if !unicode.IsLetter(r) {
				continue
			}
			t := scriptOf(r)
			if first == nil {
				first = t
			} else if t != first {
				return true, true
			}
		}
	}
	return true, false
}

// scripts a host's letters are told apart by: the ones look-alike hosts
// draw on, and every other script as one more.
var scripts = []*unicode.RangeTable{unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Armenian, unicode.Cherokee, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Arabic, unicode.Hebrew}

var otherScript = &unicode.RangeTable{}

func scriptOf(r rune) *unicode.RangeTable {
	for _, t := range scripts {
		if unicode.Is(t, r) {
			return t
		}
	}
	return otherScript
}

// hostsAgree warns when the key's hosts do not belong together, each rule
// derived from the key itself (no list of SAP domains): uaa.url must lie
// under uaa.uaadomain; an x509 key's certurl must be the url's host with
// "authentication.cert." in place of "authentication."; the API host must
// be in the token host's region.
func (p *parser) hostsAgree(uaa fields, k *Key) {
	urlHost := p.hosts[uaa.join("url")]
	if urlHost != "" {
		if domain, ok := p.str(uaa, "uaadomain"); !ok {
			p.warn(uaa.join("uaadomain"), M("format.hosts.noUAADomain"))
		} else if d := strings.ToLower(strings.TrimSuffix(domain, ".")); d == "" || !strings.HasSuffix(urlHost, "."+d) {
			p.warn(uaa.join("url"), M("format.hosts.notUnderUAA"))
		}
	}
	if k.CredentialType == X509 && urlHost != "" {
		if certHost := p.hosts[uaa.join("certurl")]; certHost != "" {
			want := strings.Replace(urlHost, "authentication.", "authentication.cert.", 1)
			if want == urlHost || certHost != want {
				p.warn(uaa.join("certurl"), M("format.hosts.certURL"))
			}
		}
	}
	tokenHost, apiHost := urlHost, p.hosts["endpoints.Api"]
	if k.CredentialType == X509 {
		tokenHost = p.hosts[uaa.join("certurl")]
	}
	if r := tokenRegion(tokenHost); r != "" && apiHost != "" {
		inRegion := false
		for _, l := range strings.Split(apiHost, ".") {
			if l == r {
				inRegion = true
			}
		}
		if !inRegion {
			p.warn("endpoints.Api", M("format.hosts.apiOtherRegion"))
		}
	}
}

// hostOf is a URL's host name in lower case; "" when there is none.
func hostOf(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// tokenRegion is the label after "authentication" (or "authentication.cert")
// in an XSUAA host: <subdomain>.authentication[.cert].<region>.<domain>.
func tokenRegion(host string) string {
	labels := strings.Split(host, ".")
	for i, l := range labels {
		if l != "authentication" {
			continue
		}
		j := i + 1
		if j < len(labels) && labels[j] == "cert" {
			j++
		}
		if j < len(labels)-1 {
			return labels[j]
		}
	}
	return ""
}
