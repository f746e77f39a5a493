package netroute

import "testing"

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
