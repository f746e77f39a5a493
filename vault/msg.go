package vault

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// Msg is a message as a code and its values, so that each front end words
// it in its own language: calmkeyctl and the history in English (English),
// the window through Fyne's lang package with the English as fallback.
// Values are text (a field path, a host, an HTTP status, a number of days);
// Parts are messages of their own that fill a placeholder, such as what kind
// of JSON value was found, or a hint shared by several messages. The zero
// Msg (no code) reads as "".
type Msg struct {
	Code   string            `json:"code,omitempty"`
	Values map[string]string `json:"values,omitempty"`
	Parts  map[string]Msg    `json:"parts,omitempty"`
}

// Text is a code's English: a text/template with the message's values and
// parts as {{.Name}}. When the code has a count (Count names the value
// that holds it), One is the text for a count of 1 and Other for any other.
type Text struct {
	Other string
	One   string
	Count string
}

// texts are the English texts of every code, vault's and those added by
// AddTexts: the one home of the words calmkeyctl prints and the window
// falls back to.
var texts = maps.Clone(formatTexts)

// AddTexts adds codes and their English. It is called from package
// initialisation (vault's and almtest's) and panics on a code added twice:
// two texts for one code is a programming error.
func AddTexts(add map[string]Text) {
	for code, t := range add {
		if _, dup := texts[code]; dup {
			panic("vault: message code added twice: " + code)
		}
		texts[code] = t
	}
}

// TextOf is code's English, false for an unknown code.
func TextOf(code string) (Text, bool) {
	t, ok := texts[code]
	return t, ok
}

// Codes lists every message code, sorted.
func Codes() []string { return slices.Sorted(maps.Keys(texts)) }

// M makes a Msg of code and values given as name, value pairs.
func M(code string, nameValues ...string) Msg {
	m := Msg{Code: code}
	for i := 0; i+1 < len(nameValues); i += 2 {
		if m.Values == nil {
			m.Values = make(map[string]string, len(nameValues)/2)
		}
		m.Values[nameValues[i]] = nameValues[i+1]
	}
	return m
}

// With is a copy of m whose placeholder name is filled by part.
func (m Msg) With(name string, part Msg) Msg {
	parts := make(map[string]Msg, len(m.Parts)+1)
	maps.Copy(parts, m.Parts)
	parts[name] = part
	m.Parts = parts
	return m
}

// IsZero reports a Msg without a code: an old record, or nothing to say.
func (m Msg) IsZero() bool { return m.Code == "" }

// Count is the value that picks the plural form of t, 0 when t has none
// or the value is not a number.
func (m Msg) Count(t Text) int {
	n, _ := strconv.Atoi(m.Values[t.Count])
	return n
}

// Pick is the English template for count: One for 1 when the code has one.
func (t Text) Pick(count int) string {
	if count == 1 && t.One != "" {
		return t.One
	}
	return t.Other
}

// A Renderer words one message whose parts are already worded: data holds
// its values and its parts' words by name.
type Renderer func(code string, t Text, count int, data map[string]any) string

// Render words m with r, parts first. An unknown code, or a part without a
// code, reads as "".
func (m Msg) Render(r Renderer) string {
	t, ok := texts[m.Code]
	if !ok {
		return ""
	}
	data := make(map[string]any, len(m.Values)+len(m.Parts))
	for k, v := range m.Values {
		data[k] = v
	}
	for k, p := range m.Parts {
		data[k] = p.Render(r)
	}
	return r(m.Code, t, m.Count(t), data)
}

// English is m in English, as calmkeyctl and the history have it.
func (m Msg) English() string { return m.Render(english) }

func english(code string, t Text, count int, data map[string]any) string {
	return Fill(code, t.Pick(count), data)
}

// Fill executes the template text with data. A template that does not
// parse or run is a programming error the message tests catch; it reads
// as its code rather than as half a sentence.
func Fill(code, text string, data map[string]any) string {
	if !strings.Contains(text, "{{") {
		return text
	}
	tpl, err := template.New(code).Option("missingkey=error").Parse(text)
	if err != nil {
		return code
	}
	var b strings.Builder
	if err := tpl.Execute(&b, data); err != nil {
		return code
	}
	return b.String()
}

// Placeholders lists the names a template uses, sorted and once each: what
// every language's text of a code must use alike.
func Placeholders(text string) []string {
	var names []string
	for rest := text; ; {
		i := strings.Index(rest, "{{.")
		if i < 0 {
			break
		}
		rest = rest[i+3:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			break
		}
		if name := strings.TrimSpace(rest[:j]); !slices.Contains(names, name) {
			names = append(names, name)
		}
		rest = rest[j+2:]
	}
	slices.Sort(names)
	return names
}

// Valid reports whether m can be worded: a known code whose text's every
// placeholder has a value or a valid part, and parts nested at most depth
// deep. A message read from a file (the test history) is shown from its
// code only when it is valid; else its stored English stands.
func (m Msg) Valid(depth int) bool {
	t, ok := texts[m.Code]
	if !ok || depth < 0 {
		return false
	}
	for _, p := range m.Parts {
		if !p.IsZero() && !p.Valid(depth-1) {
			return false
		}
	}
	for _, name := range Placeholders(t.Other + t.One) {
		_, isValue := m.Values[name]
		_, isPart := m.Parts[name]
		if !isValue && !isPart {
			return false
		}
	}
	return true
}

// MapValues is a copy of m with f applied to every value, parts included.
func (m Msg) MapValues(f func(string) string) Msg {
	out := Msg{Code: m.Code}
	if m.Values != nil {
		out.Values = make(map[string]string, len(m.Values))
		for k, v := range m.Values {
			out.Values[k] = f(v)
		}
	}
	if m.Parts != nil {
		out.Parts = make(map[string]Msg, len(m.Parts))
		for k, p := range m.Parts {
			out.Parts[k] = p.MapValues(f)
		}
	}
	return out
}
