package observability

import "sync"

// Other is the label value that unknown, anonymous or overflowing values fold
// into, so that no client input can grow a metric's series without bound.
const Other = "other"

// boundedSet admits at most max distinct label values in first-seen order and
// maps every further value to Other. It trades exactness for a hard ceiling on
// series: a client sending random operation names costs one series, not one
// per name.
type boundedSet struct {
	mu   sync.RWMutex
	seen map[string]struct{}
	max  int
}

func newBoundedSet(max int, preset ...string) *boundedSet {
	b := &boundedSet{seen: make(map[string]struct{}, len(preset)), max: max}
	for _, v := range preset {
		b.seen[v] = struct{}{}
	}
	return b
}

// value returns v if it is (or can become) one of the admitted values, else
// Other; the empty string is always Other.
func (b *boundedSet) value(v string) string {
	if v == "" || len(v) > 100 {
		return Other
	}
	b.mu.RLock()
	_, ok := b.seen[v]
	n := len(b.seen)
	b.mu.RUnlock()
	if ok {
		return v
	}
	if n >= b.max {
		return Other
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[v]; ok {
		return v
	}
	if len(b.seen) >= b.max {
		return Other
	}
	b.seen[v] = struct{}{}
	return v
}
