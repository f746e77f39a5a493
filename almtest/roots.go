package almtest

import (
	"crypto/x509"
	"os"
	"runtime"
)

// rootCAs picks the roots a run trusts. Go reads SSL_CERT_FILE itself on
// Linux and the BSDs; on macOS and Windows it asks the platform verifier,
// which ignores the variable, so there the file's certificates are added to
// the system pool (the platform verifier is still tried first).
func rootCAs(given *x509.CertPool) *x509.CertPool {
	if given != nil {
		return given
	}
	switch runtime.GOOS {
	case "darwin", "ios", "windows":
	default:
		return nil
	}
	file := os.Getenv("SSL_CERT_FILE")
	if file == "" {
		return nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(pem)
	return pool
}
