// Package fakeproxy runs a forward proxy for https on loopback, for tests:
// it answers CONNECT by tunnelling to the loopback port named, whatever the
// host, so that names no DNS knows (a fakealm.Options.Host) work through it
// as through a company proxy that resolves them. It records each CONNECT,
// and can ask for Basic authentication or refuse.
package fakeproxy

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options shape the proxy; the zero value lets every CONNECT through.
type Options struct {
	// Basic, "user:password", makes the proxy answer 407 (Basic) to a
	// CONNECT without these credentials.
	Basic string
	// Refuse is the status every CONNECT gets (403, 502, ...); 0 tunnels.
	Refuse int
}

// Proxy is a running proxy; it stops when the test ends.
type Proxy struct {
	URL  string // http://127.0.0.1:port
	Addr string // 127.0.0.1:port

	opts Options
	ln   net.Listener
	mu   sync.Mutex
	seen []Connect
}

// Connect is one CONNECT the proxy answered.
type Connect struct {
	Target string // host:port as the client named it
	Auth   string // the Proxy-Authorization scheme sent, "" for none
	Status int
}

// Start starts a proxy on loopback.
func Start(t testing.TB, opts Options) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fakeproxy: %v", err)
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), opts: opts, ln: ln}
	go p.serve()
	t.Cleanup(func() { ln.Close() })
	return p
}

// Connects are the CONNECTs so far, in order.
func (p *Proxy) Connects() []Connect {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Connect(nil), p.seen...)
}

// Targets are the hosts tunnelled to (status 200), in order.
func (p *Proxy) Targets() []string {
	var out []string
	for _, c := range p.Connects() {
		if c.Status == http.StatusOK {
			out = append(out, c.Target)
		}
	}
	return out
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *Proxy) handle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		auth := req.Header.Get("Proxy-Authorization")
		scheme, _, _ := strings.Cut(auth, " ")
		status := http.StatusOK
		switch {
		case req.Method != http.MethodConnect:
			status = http.StatusMethodNotAllowed
		case p.opts.Refuse != 0:
			status = p.opts.Refuse
		case p.opts.Basic != "" && auth != "Basic "+base64.StdEncoding.EncodeToString([]byte(p.opts.Basic)):
			status = http.StatusProxyAuthRequired
		}
		var up net.Conn
		if status == http.StatusOK {
			_, port, err := net.SplitHostPort(req.Host)
			if err == nil {
				up, err = net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
			}
			if err != nil {
				status = http.StatusBadGateway
			}
		}
		p.mu.Lock()
		p.seen = append(p.seen, Connect{Target: req.Host, Auth: scheme, Status: status})
		p.mu.Unlock()
		if status != http.StatusOK {
			fmt.Fprintf(c, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
			if status == http.StatusProxyAuthRequired {
				fmt.Fprintf(c, "Proxy-Authenticate: Basic realm=\"fakeproxy\"\r\n")
			}
			fmt.Fprintf(c, "Content-Length: 0\r\n\r\n")
			continue
		}
		fmt.Fprintf(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		c.SetDeadline(time.Time{})
		done := make(chan struct{})
		go func() {
			io.Copy(up, br)
			up.(*net.TCPConn).CloseWrite()
			close(done)
		}()
		io.Copy(c, up)
		up.Close()
		<-done
		return
	}
}
