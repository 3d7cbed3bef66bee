package dataloader

import (
	"context"
	"runtime"
	"sync"
	"time"

	hg "github.com/healthgraph/healthgraph"
)

// Idle is how long a batch must go without a new key before it is fetched,
// and MaxWait how long a batch that keeps growing may wait in all. Every
// nesting level of a query pays the idle time once, so it is kept short:
// gqlgen asks for the keys of a list from goroutines it starts in a tight
// loop, microseconds apart, and a list the resolvers prefetch (LoadAll)
// joins its batch in one step, so neither is split by a short idle time.
const (
	Idle    = time.Millisecond
	MaxWait = 10 * time.Millisecond
)

// Option tunes the loaders New builds.
type Option func(*config)

type config struct{ idle, maxWait time.Duration }

// WithWait sets the idle time after which a batch is fetched and the most
// a batch may wait in all.
func WithWait(idle, maxWait time.Duration) Option {
	return func(c *config) { c.idle, c.maxWait = idle, max(maxWait, idle) }
}

// Loader collects the keys one request asks for and fetches them in one
// batch once no resolver has asked for another for the idle time. Results
// are kept for the rest of the request, so a key is fetched once.
type Loader[K comparable, V any] struct {
	fetch   func(context.Context, []K) (map[K]V, error)
	missing error // for a key the fetch did not return; nil gives the zero V
	config

	mu      sync.Mutex
	results map[K]*batch[K, V]
	pending *batch[K, V]
}

type batch[K comparable, V any] struct {
	ctx         context.Context // the first load's: the fetch runs in its trace
	keys        []K
	first, last time.Time
	done        chan struct{}
	values      map[K]V
	err         error
}

func newLoader[K comparable, V any](c config, missing error, fetch func(context.Context, []K) (map[K]V, error)) *Loader[K, V] {
	return &Loader[K, V]{fetch: fetch, missing: missing, config: c, results: map[K]*batch[K, V]{}}
}

// Load returns the value of key, batched with the request's other loads.
func (l *Loader[K, V]) Load(ctx context.Context, key K) (V, error) {
	return l.LoadThunk(ctx, key)()
}

// LoadThunk queues key and returns a function that waits for its value.
func (l *Loader[K, V]) LoadThunk(ctx context.Context, key K) func() (V, error) {
	l.mu.Lock()
	b := l.queue(ctx, key)
	l.mu.Unlock()
	return func() (V, error) { return l.wait(b, key) }
}

// LoadAllThunk queues every key in one step, so a prefetched page is never
// split across batches, and returns a function that waits for the values.
func (l *Loader[K, V]) LoadAllThunk(ctx context.Context, keys []K) func() ([]V, error) {
	bs := make([]*batch[K, V], len(keys))
	l.mu.Lock()
	for i, k := range keys {
		bs[i] = l.queue(ctx, k)
	}
	l.mu.Unlock()
	return func() ([]V, error) {
		out := make([]V, len(keys))
		for i, k := range keys {
			v, err := l.wait(bs[i], k)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
}

// Forget drops every result kept so far, so later loads fetch again. Loads
// already waiting keep the batch they joined.
func (l *Loader[K, V]) Forget() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.results = map[K]*batch[K, V]{}
	l.pending = nil
}

// queue adds key to the pending batch, starting one if there is none, and
// returns the batch that will hold its value. l.mu must be held.
func (l *Loader[K, V]) queue(ctx context.Context, key K) *batch[K, V] {
	if b, ok := l.results[key]; ok {
		return b
	}
	now := time.Now()
	b := l.pending
	if b == nil {
		b = &batch[K, V]{ctx: ctx, first: now, done: make(chan struct{})}
		l.pending = b
		go l.dispatch(b)
	}
	b.keys = append(b.keys, key)
	b.last = now
	l.results[key] = b
	return b
}

// dispatch fetches b once it has been idle for l.idle, or has waited
// l.maxWait. Before each check it yields, so goroutines that are runnable
// (typically resolvers about to ask) get to queue their keys first.
func (l *Loader[K, V]) dispatch(b *batch[K, V]) {
	for {
		time.Sleep(l.idle)
		runtime.Gosched()
		l.mu.Lock()
		now := time.Now()
		if now.Sub(b.last) >= l.idle || now.Sub(b.first) >= l.maxWait {
			l.pending = nil
			l.mu.Unlock()
			break
		}
		l.mu.Unlock()
	}
	defer close(b.done)
	defer func() {
		if p := recover(); p != nil {
			b.err = hg.Errorf(hg.EINTERNAL, "dataloader fetch panicked: %v", p)
		}
	}()
	b.values, b.err = l.fetch(b.ctx, b.keys)
}

func (l *Loader[K, V]) wait(b *batch[K, V], key K) (V, error) {
	<-b.done
	v, ok := b.values[key]
	switch {
	case b.err != nil:
		return v, b.err
	case !ok && l.missing != nil:
		return v, l.missing
	}
	return v, nil
}
