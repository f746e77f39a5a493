package netroute

import (
	"github.com/alexbrainman/sspi"
	// Only this subpackage: sspi/ntlm and sspi/kerberos panic in their
	// init under Wine, which would end the program at start.
	"github.com/alexbrainman/sspi/negotiate"
)

// platformNegotiate is Negotiate (Kerberos, or NTLM when Kerberos cannot
// be had) as the logged-in Windows user, through SSPI.
var platformNegotiate NegotiateFunc = newSSPI

type sspiSource struct {
	spn  string
	cred *sspi.Credentials
	ctx  *negotiate.ClientContext
}

func newSSPI(spn string) (TokenSource, error) {
	cred, err := negotiate.AcquireCurrentUserCredentials()
	if err != nil {
		return nil, err
	}
	return &sspiSource{spn: spn, cred: cred}, nil
}

func (s *sspiSource) Token(challenge []byte) ([]byte, error) {
	if s.ctx == nil {
		c, tok, err := negotiate.NewClientContext(s.cred, s.spn)
		if err != nil {
			return nil, err
		}
		s.ctx = c
		return tok, nil
	}
	_, tok, err := s.ctx.Update(challenge)
	return tok, err
}

func (s *sspiSource) Close() error {
	if s.ctx != nil {
		s.ctx.Release()
	}
	return s.cred.Release()
}
