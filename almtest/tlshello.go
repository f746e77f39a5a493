package almtest

import (
	"context"
	"net"
)

// dialFunc is http.Transport's DialContext.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// watchHello wraps dial so that ex notes the TLS version the server picks in
// its ServerHello. A server that picks TLS 1.0 or 1.1 fails the handshake
// with an error crypto/tls gives neither a type nor a code, only English
// text; the diagnosis reads the version from the handshake bytes instead.
func (ex *exchange) watchHello(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &helloConn{Conn: c, ex: ex}, nil
	}
}

// The first bytes of a server's TLS stream (RFC 8446 5.1, 4, 4.1.3): the
// record header (type 22, version, length), the handshake header (type 2,
// length) and the ServerHello's legacy_version, which is the version chosen
// up to TLS 1.2 and 0x0303 from TLS 1.3 on.
const (
	recordHandshake = 22
	typeServerHello = 2
	helloHead       = 5 + 4 + 2
)

// helloConn watches what a connection reads until it has seen the start of
// the server's TLS stream.
type helloConn struct {
	net.Conn
	ex   *exchange
	head []byte
	done bool
}

func (c *helloConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.done && n > 0 {
		c.see(p[:n])
	}
	return n, err
}

func (c *helloConn) see(b []byte) {
	// Through a proxy the connection first reads the proxy's answer to
	// CONNECT, in full before the handshake starts: ASCII, never byte 22.
	if len(c.head) == 0 && b[0] != recordHandshake {
		return
	}
	c.head = append(c.head, b[:min(len(b), helloHead-len(c.head))]...)
	if len(c.head) < helloHead {
		return
	}
	c.done = true
	if c.head[5] == typeServerHello {
		c.ex.mu.Lock()
		c.ex.serverVersion = uint16(c.head[9])<<8 | uint16(c.head[10])
		c.ex.mu.Unlock()
	}
}
