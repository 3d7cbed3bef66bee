package observability_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisCommandsAreTracedWithoutArguments(t *testing.T) {
	t.Parallel()
	f := setup(t)
	url := os.Getenv("HG_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := f.m.InstrumentRedis(rdb); err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("hgtest:observability:%d:patient", time.Now().UnixNano())
	ctx, parent := f.tp.Tracer("test").Start(context.Background(), "resolver")
	if err := rdb.Set(ctx, key, phi[0]+" "+phi[1], time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := rdb.Get(ctx, key).Result(); err != nil || got == "" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	if err := rdb.Get(ctx, key+":missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET missing = %v, want redis.Nil", err)
	}
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.Get(ctx, key)
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("pipeline: %v", err)
	}
	parent.End()

	spans := f.exporter.GetSpans()
	for _, name := range []string{"set", "get"} {
		s := spanByName(t, spans, name)
		if s.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("redis span %q parent %s, want %s", name, s.Parent.SpanID(), parent.SpanContext().SpanID())
		}
	}
	for _, s := range spans {
		assertNoPHI(t, "span "+s.Name, s.Attributes)
		for _, a := range s.Attributes {
			if v := a.Value.String(); v == key || a.Key == "db.statement" {
				t.Errorf("span %q attribute %s=%q records the command's arguments", s.Name, a.Key, v)
			}
		}
	}
	reg := f.m.Registry()
	if got := value(t, reg, "healthgraph_redis_command_duration_seconds", map[string]string{"command": "get"}); got != 2 {
		t.Errorf("get observations = %v, want 2", got)
	}
	if got := value(t, reg, "healthgraph_redis_command_duration_seconds", map[string]string{"command": "pipeline"}); got != 1 {
		t.Errorf("pipeline observations = %v, want 1", got)
	}
	if fams, _ := reg.Gather(); hasSeries(fams, "healthgraph_redis_command_errors_total") {
		t.Error("a cache miss counted as a Redis error")
	}
}
