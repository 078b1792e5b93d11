// Package faultproxy is a TCP proxy for tests that puts a real network
// fault between the product and its database: it forwards connections from
// a loopback port to a target and can cut them (every connection closed,
// new ones refused), stall them (connections stay open, no byte passes)
// and restore them, or slow them down, while the product keeps running.
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
	rate    int           // Throttle's bytes per second; 0: unthrottled
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

// Throttle passes at most bytesPerSecond bytes per second in each direction
// of each connection, as a database across a slow link; zero ends it.
// Tests use it to make long work (an import) last long enough to be caught
// in the middle, with a tenth of the rows.
func (p *Proxy) Throttle(bytesPerSecond int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = max(bytesPerSecond, 0)
}

func (p *Proxy) throttle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rate
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

// pipe copies src to dst, holding each chunk while the proxy is stalled
// and, when throttled, until the bytes passed so far are due.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	var due time.Time // when the bytes passed so far are due at the throttled rate
	for {
		if rate := p.throttle(); rate > 0 {
			// Small reads keep a throttled stream smooth.
			buf = buf[:min(cap(buf), max(rate/50, 512))]
		} else {
			buf = buf[:cap(buf)]
		}
		n, err := src.Read(buf)
		if n > 0 {
			resume, _ := p.gate()
			<-resume
			if rate := p.throttle(); rate > 0 {
				now := time.Now()
				if due.Before(now) {
					due = now
				}
				due = due.Add(time.Duration(n) * time.Second / time.Duration(rate))
				time.Sleep(due.Sub(now))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
