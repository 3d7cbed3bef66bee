package cache_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/healthgraph/healthgraph/cache"
)

const redisAddr = "127.0.0.1:6379"

// setup opens a client on the shared test Redis (through addr when given)
// under a prefix of the test's own.
func setup(t *testing.T, addr, prefix string) *cache.Client {
	t.Helper()
	return open(t, addr, prefix, cache.Options{})
}

// setupCounting is setup on the shared Redis, counting the cache reads
// (MGET commands) the client sends.
func setupCounting(t *testing.T) (*cache.Client, *atomic.Int64) {
	t.Helper()
	h := &mgetCounter{}
	c := open(t, "", "", cache.Options{Instrument: func(r redis.UniversalClient) error { r.AddHook(h); return nil }})
	return c, &h.n
}

// mgetCounter is a go-redis hook counting MGET commands: each is one read
// of the cache in Redis.
type mgetCounter struct{ n atomic.Int64 }

func (h *mgetCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *mgetCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "mget" {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *mgetCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func open(t *testing.T, addr, prefix string, o cache.Options) *cache.Client {
	t.Helper()
	if addr == "" {
		addr = redisAddr
	}
	if prefix == "" {
		prefix = newPrefix()
	}
	c, err := cache.Open(cache.Config{URL: "redis://" + addr + "/0", Prefix: prefix, PingInterval: 100 * time.Millisecond,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newPrefix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "cachetest:" + hex.EncodeToString(b) + ":"
}

type row struct{ Name string }

func TestReadThrough(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := setup(t, "", "")
	users := cache.NewTyped[row](c, "user", 1, time.Minute)
	loads := 0
	load := func(name string) func(context.Context) (row, error) {
		return func(context.Context) (row, error) { loads++; return row{name}, nil }
	}

	t.Run("a miss loads and a hit does not", func(t *testing.T) {
		for range 3 {
			if v, err := users.Get(ctx, "1", load("v1")); err != nil || v.Name != "v1" {
				t.Fatalf("Get = %v, %v", v, err)
			}
		}
		if loads != 1 {
			t.Fatalf("loaded %d times for three reads, want 1", loads)
		}
	})
	t.Run("invalidate makes the next read load", func(t *testing.T) {
		users.Invalidate(ctx, "1")
		if v, _ := users.Get(ctx, "1", load("v2")); v.Name != "v2" || loads != 2 {
			t.Fatalf("after Invalidate got %v with %d loads, want v2 freshly loaded", v, loads)
		}
	})
	t.Run("a write racing a read never leaves the old value cached", func(t *testing.T) {
		users.Invalidate(ctx, "1")
		// The writer commits and invalidates while the reader is loading
		// the row as it was before the write.
		_, _ = users.Get(ctx, "1", func(ctx context.Context) (row, error) {
			users.Invalidate(ctx, "1")
			return row{"before the write"}, nil
		})
		if v, _ := users.Get(ctx, "1", load("after the write")); v.Name != "after the write" {
			t.Fatalf("read after the race got %q: the racing reader cached a stale row", v.Name)
		}
	})
	t.Run("errors are returned and not cached", func(t *testing.T) {
		boom := errors.New("boom")
		if _, err := users.Get(ctx, "2", func(context.Context) (row, error) { return row{}, boom }); !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if v, _ := users.Get(ctx, "2", load("ok")); v.Name != "ok" {
			t.Fatalf("got %v after an error, want a fresh load", v)
		}
	})
	t.Run("a new version never reads the old shape", func(t *testing.T) {
		v2 := cache.NewTyped[row](c, "user", 2, time.Minute)
		if v, _ := v2.Get(ctx, "1", load("v2 shape")); v.Name != "v2 shape" {
			t.Fatalf("version 2 read %q from version 1's entry", v.Name)
		}
	})
}

func TestWithoutRedisEveryReadLoads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	disabled, err := cache.Open(cache.Config{}, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	down := setup(t, "127.0.0.1:1", "") // nothing listens on port 1
	for name, c := range map[string]*cache.Client{"disabled": disabled, "unreachable": down} {
		users := cache.NewTyped[row](c, "user", 1, time.Minute)
		loads := 0
		for range 3 {
			v, err := users.Get(ctx, "1", func(context.Context) (row, error) { loads++; return row{"db"}, nil })
			if err != nil || v.Name != "db" {
				t.Fatalf("%s: Get = %v, %v", name, v, err)
			}
		}
		users.Invalidate(ctx, "1")
		if loads != 3 {
			t.Fatalf("%s: %d loads for 3 reads, want every read from the source", name, loads)
		}
	}
	if disabled.Status() != cache.StatusDisabled || down.Status() != cache.StatusDegraded {
		t.Fatalf("status %q and %q, want disabled and degraded", disabled.Status(), down.Status())
	}
}

func TestBrokerFansOutAcrossClientsAndReportsOutages(t *testing.T) {
	t.Parallel()
	prefix := newPrefix()
	proxy := newProxy(t)
	pub := cache.NewBroker(setup(t, "", prefix))
	sub := cache.NewBroker(setup(t, proxy.addr, prefix))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, err := sub.Subscribe(ctx, "account:1")
	if err != nil {
		t.Fatal(err)
	}
	next := func() cache.Message {
		t.Helper()
		select {
		case m := <-msgs:
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no message within 5s")
		}
		return cache.Message{}
	}
	if err := pub.Publish(ctx, "account:1", []byte("e1")); err != nil {
		t.Fatal(err)
	}
	if m := next(); string(m.Payload) != "e1" {
		t.Fatalf("got %+v, want e1 from the other client", m)
	}
	proxy.cut()
	if m := next(); !m.Outage {
		t.Fatalf("got %+v after the subscriber lost Redis, want an Outage notice", m)
	}
	proxy.restore()
	if m := next(); !m.Resumed {
		t.Fatalf("got %+v after Redis returned, want a Resumed notice", m)
	}
	if err := pub.Publish(ctx, "account:1", []byte("e2")); err != nil {
		t.Fatal(err)
	}
	if m := next(); string(m.Payload) != "e2" {
		t.Fatalf("got %+v after resubscribing, want e2", m)
	}
	cancel()
	for range msgs { // closed when the context ends
	}
}

func TestBrokerWithoutRedisDeliversInProcess(t *testing.T) {
	t.Parallel()
	c, _ := cache.Open(cache.Config{}, cache.Options{})
	b := cache.NewBroker(c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs, _ := b.Subscribe(ctx, "t")
	_ = b.Publish(ctx, "t", []byte("local"))
	select {
	case m := <-msgs:
		if string(m.Payload) != "local" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no local delivery")
	}
}

func TestAPQSharedThroughRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prefix := newPrefix()
	a, b := cache.NewAPQ(setup(t, "", prefix), 10), cache.NewAPQ(setup(t, "", prefix), 10)
	if _, ok := b.Get(ctx, "h"); ok {
		t.Fatal("unknown hash found")
	}
	a.Add(ctx, "h", "{ __typename }")
	if q, ok := b.Get(ctx, "h"); !ok || q != "{ __typename }" {
		t.Fatalf("replica b got %q, %v", q, ok)
	}
}

// proxy is a TCP proxy to Redis that can cut every connection.
type proxy struct {
	addr  string
	mu    sync.Mutex
	down  atomic.Bool
	conns []net.Conn
}

func newProxy(t *testing.T) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String()}
	t.Cleanup(func() { l.Close(); p.cut() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if p.down.Load() {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", redisAddr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.down.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() { p.down.Store(false) }

func TestGetManyLoadsOnlyTheMisses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rows := cache.NewTyped[row](setup(t, "", ""), "practitioner", 1, time.Minute)
	var asked [][]string
	load := func(_ context.Context, ids []string) (map[string]row, error) {
		asked = append(asked, ids)
		out := map[string]row{}
		for _, id := range ids {
			if id != "gone" {
				out[id] = row{"p" + id}
			}
		}
		return out, nil
	}
	if _, err := rows.GetMany(ctx, []string{"1", "2"}, load); err != nil {
		t.Fatal(err)
	}
	got, err := rows.GetMany(ctx, []string{"1", "2", "3", "gone"}, load)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["3"].Name != "p3" || got["1"].Name != "p1" {
		t.Fatalf("GetMany = %v", got)
	}
	if len(asked) != 2 || len(asked[1]) != 2 || asked[1][0] != "3" || asked[1][1] != "gone" {
		t.Fatalf("loads %v, want the second batch to load only 3 and gone", asked)
	}
}
