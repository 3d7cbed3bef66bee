// Package faultproxy is a loopback TCP proxy whose connections can be cut
// and restored: to a client pool that is what an outage of Postgres or
// Redis looks like. Tests and drills use it rather than stopping servers
// that other tests share.
package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
)

// Proxy forwards connections from Addr to a target while up.
type Proxy struct {
	addr, target string
	l            net.Listener
	mu           sync.Mutex
	down         bool
	conns        []net.Conn
}

// Start listens on a free loopback port and forwards to target.
func Start(target string) (*Proxy, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{addr: l.Addr().String(), target: target, l: l}
	go func() {
		for {
			c, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			} else if err != nil {
				continue
			}
			go p.serve(c)
		}
	}()
	return p, nil
}

// Addr is the proxy's host:port; point clients at it.
func (p *Proxy) Addr() string { return p.addr }

func (p *Proxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	var d net.Dialer
	up, err := d.DialContext(context.Background(), "tcp", p.target)
	if err != nil {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	p.conns = append(p.conns, c, up)
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
	_, _ = io.Copy(c, up)
	_ = c.Close()
}

// Cut drops every open connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// Restore lets connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// Close stops listening and drops every connection.
func (p *Proxy) Close() error {
	err := p.l.Close()
	p.Cut()
	return err
}
