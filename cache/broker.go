package cache

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	hg "github.com/healthgraph/healthgraph"
)

// Message is one delivery on a subscription.
type Message = hg.EventMessage

// Broker fans events out to subscribers on every replica through Redis
// pub/sub. Without Redis (disabled, or down when publishing) it delivers
// to this replica's subscribers only, and subscribers are told about any
// outage so they can refetch instead of silently missing events.
type Broker struct {
	c *Client

	mu    sync.Mutex
	local map[string]map[*subscriber]struct{}
}

type subscriber struct {
	local chan []byte
}

// NewBroker returns a broker on c; a disabled c gives an in-process broker.
func NewBroker(c *Client) *Broker {
	return &Broker{c: c, local: map[string]map[*subscriber]struct{}{}}
}

func (b *Broker) channel(topic string) string { return b.c.Key("hg:events:" + topic) }

// Publish sends payload to every subscriber of topic on every replica. It
// fails only when the event could not be delivered anywhere; with Redis
// unreachable it delivers locally, counts the fallback and returns nil,
// because the write that caused the event has already happened.
func (b *Broker) Publish(ctx context.Context, topic string, payload []byte) error {
	if b.c.Healthy() {
		err := b.c.rdb.Publish(ctx, b.channel(topic), payload).Err()
		if err == nil {
			return nil
		}
		b.c.Failed("pubsub", err)
	} else if b.c.Enabled() {
		b.c.metrics.CacheError("pubsub")
	}
	b.deliverLocal(topic, payload)
	return nil
}

func (b *Broker) deliverLocal(topic string, payload []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.local[topic] {
		select {
		case s.local <- payload:
		default:
			// A subscriber this far behind is already missing events; it
			// must not stall the publisher (a mutation).
			b.c.log.Warn("event dropped for a slow subscriber", "topic_kind", topicKind(topic))
		}
	}
}

// Subscribe returns the messages of topic until ctx ends, when the channel
// is closed. The subscription is live when Subscribe returns, so an event
// published afterwards on any replica is delivered. If Redis is down the
// first message is an Outage notice, and the subscription joins Redis by
// itself when it returns.
func (b *Broker) Subscribe(ctx context.Context, topic string) (<-chan Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &subscriber{local: make(chan []byte, 64)}
	b.mu.Lock()
	if b.local[topic] == nil {
		b.local[topic] = map[*subscriber]struct{}{}
	}
	b.local[topic][s] = struct{}{}
	b.mu.Unlock()

	out := make(chan Message, 16)
	var remote <-chan Message
	if b.c.Enabled() {
		remote = b.receive(ctx, b.channel(topic))
	}
	go func() {
		defer func() {
			b.mu.Lock()
			delete(b.local[topic], s)
			if len(b.local[topic]) == 0 {
				delete(b.local, topic)
			}
			b.mu.Unlock()
			close(out)
		}()
		for {
			var m Message
			select {
			case <-ctx.Done():
				return
			case p := <-s.local:
				m = Message{Payload: p}
			case rm, ok := <-remote:
				if !ok {
					return
				}
				m = rm
			}
			select {
			case out <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// receive runs one Redis subscription and turns its trouble into notices.
// It waits for the subscription to be confirmed (or to fail) before
// returning.
func (b *Broker) receive(ctx context.Context, channel string) <-chan Message {
	out := make(chan Message, 4)
	ps := b.c.rdb.Subscribe(ctx, channel)
	started := make(chan struct{})
	go func() {
		defer close(out)
		defer ps.Close()
		send := func(m Message) bool {
			select {
			case out <- m:
				return true
			case <-ctx.Done():
				return false
			}
		}
		outage := false
		first := true
		for {
			msg, err := ps.ReceiveTimeout(ctx, 5*time.Second)
			if first {
				first = false
				close(started)
			}
			if ctx.Err() != nil {
				return
			}
			var nerr net.Error
			if err != nil && errors.As(err, &nerr) && nerr.Timeout() && !outage {
				// A quiet channel; make sure the connection is alive.
				if perr := ps.Ping(ctx); perr == nil {
					continue
				}
			}
			if err != nil {
				if !outage {
					outage = true
					b.c.Failed("pubsub", err)
					if !send(Message{Outage: true}) {
						return
					}
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(250 * time.Millisecond):
				}
				continue
			}
			switch msg := msg.(type) {
			case *redis.Subscription:
				if outage {
					outage = false
					if !send(Message{Resumed: true}) {
						return
					}
				}
			case *redis.Message:
				if !send(Message{Payload: []byte(msg.Payload)}) {
					return
				}
			}
		}
	}()
	select {
	case <-started:
	case <-ctx.Done():
	}
	return out
}

// topicKind is the part of a topic before its first colon ("account" of
// "account:<id>"): safe to log, unlike the id.
func topicKind(topic string) string {
	for i := range len(topic) {
		if topic[i] == ':' {
			return topic[:i]
		}
	}
	return topic
}
