package observability

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
)

// InstrumentRedis adds tracing (a client span per command or pipeline, via
// redisotel, without the command's arguments: keys and cached values may hold
// personal data) and command latency and error metrics to a go-redis client.
// Call it once, right after redis.NewClient, before first use.
func (m *Metrics) InstrumentRedis(rdb redis.UniversalClient) error {
	if err := redisotel.InstrumentTracing(rdb,
		redisotel.WithTracerProvider(m.tracerProvider()),
		redisotel.WithDBStatement(false),
		// Caller lookup walks the stack on every command; the trace already
		// shows which resolver issued it.
		redisotel.WithCallerEnabled(false),
	); err != nil {
		return err
	}
	rdb.AddHook(redisMetricsHook{m})
	return nil
}

// redisMetricsHook observes command latency by command name.
type redisMetricsHook struct{ m *Metrics }

// DialHook leaves dialling alone; connection failures surface as command
// errors.
func (redisMetricsHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

// ProcessHook times one command.
func (h redisMetricsHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if handshake[cmd.Name()] {
			return next(ctx, cmd)
		}
		start := time.Now()
		err := next(ctx, cmd)
		h.record(ctx, cmd.Name(), start, err != nil && !errors.Is(err, redis.Nil))
		return err
	}
}

// ProcessPipelineHook times a pipeline (or MULTI/EXEC) as one "pipeline".
func (h redisMetricsHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && handshake[cmds[0].Name()] {
			return next(ctx, cmds)
		}
		start := time.Now()
		err := next(ctx, cmds)
		failed := false
		for _, c := range cmds {
			if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
				failed = true
			}
		}
		h.record(ctx, "pipeline", start, failed)
		return err
	}
}

// handshake commands run when a connection opens (HELLO, CLIENT SETINFO,
// AUTH, SELECT); servers may reject optional ones, which go-redis ignores, so
// counting them would report errors nobody can act on.
var handshake = map[string]bool{"hello": true, "client": true, "auth": true, "select": true}

// record observes one command or pipeline; failed excludes misses
// (redis.Nil), which are answers, not failures.
func (h redisMetricsHook) record(ctx context.Context, name string, start time.Time, failed bool) {
	cmd := h.m.redisCommands.value(name)
	h.m.redisDuration.observe(ctx, time.Since(start).Seconds(), cmd)
	if failed {
		h.m.redisErrors.WithLabelValues(cmd).Inc()
	}
}
