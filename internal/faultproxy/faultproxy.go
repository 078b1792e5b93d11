// Package faultproxy is a TCP proxy for tests that puts a real network
// fault between the product and its database: it forwards connections from
// a loopback port to a target and can cut them (every connection closed,
// new ones refused), stall them (connections stay open, no byte passes)
// and restore them, while the product keeps running.
package faultproxy

import (
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Proxy forwards connections from Addr to its target.
type Proxy struct {
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener // nil while cut
	conns   map[net.Conn]struct{}
	stalled bool
	resume  chan struct{} // closed when a stall ends
	slow    time.Duration // SlowConnect's delay
	closed  bool
	wg      sync.WaitGroup
}

// New starts a proxy on a free loopback port forwarding to target
// (host:port).
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}, resume: make(chan struct{})}
	close(p.resume)
	p.serve(ln)
	return p, nil
}

// Start starts a proxy for a test and closes it when the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatalf("faultproxy: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// ForDatabaseURL starts a proxy in front of the server a postgres:// URL
// names and returns the URL that goes through it.
func ForDatabaseURL(t testing.TB, databaseURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("faultproxy: parse database url: %v", err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := Start(t, host)
	u.Host = p.Addr()
	return p, u.String()
}

// Addr is the host:port clients connect to.
func (p *Proxy) Addr() string { return p.addr }

// Cut closes every connection and refuses new ones (the port is closed)
// until Restore. A stall in progress ends: its connections are closed.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.stalled = false
		close(p.resume)
	}
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// Stall keeps every connection open and accepts new ones, but passes no
// byte either way until Restore: a database that hangs rather than fails.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stalled {
		p.stalled = true
		p.resume = make(chan struct{})
	}
}

// SlowConnect delays every new connection by d before it reaches the
// target, as a database on a loaded host is slow to start a session;
// connections already made are not slowed. Zero ends it.
func (p *Proxy) SlowConnect(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slow = d
}

// Restore ends a cut or a stall: the port accepts connections again and
// stalled bytes flow.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.stalled = false
		close(p.resume)
	}
	if p.ln != nil || p.closed {
		return nil
	}
	// The port was closed by Cut; take it again (retrying while the
	// kernel still holds it).
	var err error
	for i := 0; i < 50; i++ {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Close cuts every connection for good and waits for the proxy's
// goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Cut()
	p.wg.Wait()
}

// serve accepts on ln until it is closed. Called with p.mu held or before
// the proxy is shared.
func (p *Proxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.forward(c) }()
		}
	}()
}

// track registers a connection so Cut can close it; false when the proxy
// was cut or closed meanwhile.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) gate() (<-chan struct{}, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resume, p.slow
}

func (p *Proxy) forward(client net.Conn) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	resume, slow := p.gate()
	<-resume // a stalled database does not even answer the connection
	time.Sleep(slow)
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done
	// One side ended: end the other, as a broken connection would.
	client.Close()
	server.Close()
	<-done
}

// pipe copies src to dst, holding each chunk while the proxy is stalled.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			resume, _ := p.gate()
			<-resume
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
