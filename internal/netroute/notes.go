package netroute

// A route's note and the error of an unusable proxy setting are codes with
// values (Words), like Explain's: almtest holds their English (route.note.*,
// route.pac.*, proxy.override.*), so that reports, calmkeyctl and the
// window word them from one table, the window in its language.

// english words w in English: almtest's table, set by SetEnglish when
// almtest is loaded (every front end loads it). Until then, the code.
var english = func(w Words) string { return w.Code }

// SetEnglish gives netroute the English of its codes, for Route.Note,
// PACError and OverrideError texts. Call it from package initialisation.
func SetEnglish(f func(Words) string) { english = f }

// English is w in English, as SetEnglish's table words it.
func (w Words) English() string { return english(w) }

// OverrideError is a proxy setting (Options.Proxy, calmkeyctl --proxy,
// Proxy… in the window) that cannot be used. It never quotes the value,
// which may hold a password.
type OverrideError struct{ Words Words }

func (e *OverrideError) Error() string { return e.Words.English() }

// noted is rt with its note.
func noted(rt Route, note Words) Route {
	rt.NoteWords = note
	rt.Note = note.English()
	return rt
}

// newPACError is a PAC script that failed for why (a route.pac.* code).
func newPACError(script string, why Words, err error) *PACError {
	return &PACError{Script: script, Reason: why.English(), Why: why, Err: err}
}

// pacNote is the note of a PAC script that failed: its reason as a code
// when netroute made it, else the Reason's text as it is.
func pacNote(pe *PACError) Words {
	if pe.Why.Code != "" {
		return words("route.note.script", "Script", pe.Script).with("Reason", pe.Why)
	}
	return words("route.note.script", "Script", pe.Script).with("Reason", words("route.pac.other", "Reason", pe.Reason))
}
