package resolvers

import (
	"context"

	hg "github.com/healthgraph/healthgraph"
)

// feed subscribes p to topic and turns each message into what the client
// receives. A subscription outlives the checks made when it started, so
// before every event feed asks again whether p's session holds and whether
// allowed still says yes, and ends the feed when either does not. next
// maps a message to a value: ok false skips the message, an error ends
// the feed.
func feed[T any](ctx context.Context, r *Resolver, p *hg.Principal, topic string, allowed func() error,
	next func(hg.EventMessage) (v T, ok bool, err error)) (<-chan T, error) {
	if r.Events == nil {
		return nil, hg.Errorf(hg.EUNAVAILABLE, "live updates are not available")
	}
	msgs, err := r.Events.Subscribe(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan T, 1)
	go func() {
		defer close(out)
		for m := range msgs {
			if r.Accounts.SessionLive(ctx, p) != nil || allowed() != nil {
				return
			}
			v, ok, err := next(m)
			if err != nil {
				return
			} else if !ok {
				continue
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
