package faultproxy

import (
	"bufio"
	"bytes"
	"net"
	"testing"
	"time"
)

// echoServer answers each line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, timeout time.Duration) error {
	c.SetDeadline(time.Now().Add(timeout)) //nolint:errcheck // a test connection
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err := bufio.NewReader(c).ReadString('\n')
	return err
}

func TestProxyCutsStallsAndRestores(t *testing.T) {
	p := Start(t, echoServer(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(c, time.Second); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}

	p.Cut()
	if err := roundTrip(c, time.Second); err == nil {
		t.Fatal("an open connection still works after the cut")
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("a new connection was accepted during the cut")
	}

	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("after the restore: %v", err)
	}
	defer c2.Close()
	if err := roundTrip(c2, time.Second); err != nil {
		t.Fatalf("after the restore: %v", err)
	}

	p.Stall()
	err = roundTrip(c2, 300*time.Millisecond)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("a stalled connection answered: %v", err)
	}
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("a stalled proxy refused a connection: %v", err)
	}
	defer c3.Close()
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	// The echo of the stalled line arrives, then the connection works.
	if err := roundTrip(c3, 2*time.Second); err != nil {
		t.Fatalf("a connection made during the stall, after the restore: %v", err)
	}
}

// TestThrottleBoundsTheRate: 64 kB through a proxy throttled to 128 kB/s
// take at least half a second each way, and arrive whole.
func TestThrottleBoundsTheRate(t *testing.T) {
	p := Start(t, echoServer(t))
	p.Throttle(128 << 10)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line := append(bytes.Repeat([]byte("x"), 64<<10-1), '\n')
	start := time.Now()
	c.SetDeadline(start.Add(30 * time.Second)) //nolint:errcheck // a test connection
	go c.Write(line)                           //nolint:errcheck // the read below fails if it does
	got, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, line) {
		t.Fatalf("%d bytes came back for %d sent", len(got), len(line))
	}
	// Half a second to the server, half a second back.
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("64 kB each way at 128 kB/s took %v", took)
	}
}
