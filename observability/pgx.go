package observability

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/metric/noop"
)

// PgxTracer returns the tracer to set as pgx's ConnConfig.Tracer (for a pool:
// cfg.ConnConfig.Tracer = m.PgxTracer()). It creates a client span per
// statement, batch, copy, prepare and connect (through otelpgx,
// with the statement text but never its parameters, and only under a sampled
// parent so background pool chatter makes no root spans), and observes
// statement latency and errors by SQL verb.
func (m *Metrics) PgxTracer() pgx.QueryTracer {
	return &pgxTracer{
		m: m,
		spans: otelpgx.NewTracer(
			otelpgx.WithTracerProvider(m.tracerProvider()),
			otelpgx.WithMeterProvider(noop.NewMeterProvider()),
			// "query SELECT" next to "prepare SELECT" reads better in a trace
			// than two spans both called SELECT.
			otelpgx.WithQuerySpanNamePrefix(),
			// An acquire span per statement would be a fifth of a typical
			// request's spans; pool waits show in the acquire-wait metrics
			// and as the gap before a statement's span.
			otelpgx.WithDisableAcquireTracer(),
			// Parameters stay off (the default), spelled out here because
			// they are where PHI would leak: SELECT ... WHERE national_id = $1.
		),
	}
}

// pgxTracer adds Prometheus timing to otelpgx; it implements every pgx
// tracer interface so pgx finds them by type assertion.
type pgxTracer struct {
	m     *Metrics
	spans *otelpgx.Tracer
}

var (
	_ pgx.QueryTracer       = (*pgxTracer)(nil)
	_ pgx.BatchTracer       = (*pgxTracer)(nil)
	_ pgx.CopyFromTracer    = (*pgxTracer)(nil)
	_ pgx.PrepareTracer     = (*pgxTracer)(nil)
	_ pgx.ConnectTracer     = (*pgxTracer)(nil)
	_ pgxpool.AcquireTracer = (*pgxTracer)(nil)
)

type queryStartKey struct{}

type queryStart struct {
	at time.Time
	op string
}

// TraceQueryStart notes the start time and verb, then starts the span.
func (t *pgxTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	ctx = context.WithValue(ctx, queryStartKey{}, queryStart{at: time.Now(), op: sqlVerb(data.SQL)})
	return t.spans.TraceQueryStart(ctx, conn, data)
}

// TraceQueryEnd observes the latency (with the trace id as exemplar) and ends
// the span, which records only a scrubbed form of any error.
func (t *pgxTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	t.finish(ctx, data.Err)
	data.Err = scrubError(data.Err)
	t.spans.TraceQueryEnd(ctx, conn, data)
}

// TraceBatchStart notes the start of a batch, observed as verb BATCH.
func (t *pgxTracer) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	ctx = context.WithValue(ctx, queryStartKey{}, queryStart{at: time.Now(), op: "BATCH"})
	return t.spans.TraceBatchStart(ctx, conn, data)
}

// TraceBatchQuery delegates to otelpgx.
func (t *pgxTracer) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	data.Err = scrubError(data.Err)
	t.spans.TraceBatchQuery(ctx, conn, data)
}

// TraceBatchEnd observes the batch and ends its span.
func (t *pgxTracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	t.finish(ctx, data.Err)
	data.Err = scrubError(data.Err)
	t.spans.TraceBatchEnd(ctx, conn, data)
}

// TraceCopyFromStart notes the start of a COPY.
func (t *pgxTracer) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	ctx = context.WithValue(ctx, queryStartKey{}, queryStart{at: time.Now(), op: "COPY"})
	return t.spans.TraceCopyFromStart(ctx, conn, data)
}

// TraceCopyFromEnd observes the COPY and ends its span.
func (t *pgxTracer) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	t.finish(ctx, data.Err)
	data.Err = scrubError(data.Err)
	t.spans.TraceCopyFromEnd(ctx, conn, data)
}

// TracePrepareStart delegates to otelpgx.
func (t *pgxTracer) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	return t.spans.TracePrepareStart(ctx, conn, data)
}

// TracePrepareEnd delegates to otelpgx.
func (t *pgxTracer) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	data.Err = scrubError(data.Err)
	t.spans.TracePrepareEnd(ctx, conn, data)
}

// TraceConnectStart delegates to otelpgx.
func (t *pgxTracer) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	return t.spans.TraceConnectStart(ctx, data)
}

// TraceConnectEnd delegates to otelpgx.
func (t *pgxTracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	t.spans.TraceConnectEnd(ctx, data)
}

// TraceAcquireStart delegates to otelpgx.
func (t *pgxTracer) TraceAcquireStart(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireStartData) context.Context {
	return t.spans.TraceAcquireStart(ctx, pool, data)
}

// TraceAcquireEnd delegates to otelpgx.
func (t *pgxTracer) TraceAcquireEnd(ctx context.Context, pool *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	t.spans.TraceAcquireEnd(ctx, pool, data)
}

func (t *pgxTracer) finish(ctx context.Context, err error) {
	s, ok := ctx.Value(queryStartKey{}).(queryStart)
	if !ok {
		return
	}
	t.m.dbDuration.observe(ctx, time.Since(s.at).Seconds(), s.op)
	if err != nil {
		t.m.dbErrors.WithLabelValues(s.op).Inc()
	}
}

// sqlVerbs bound the operation label of the query metrics.
var sqlVerbs = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "WITH": true,
	"BEGIN": true, "COMMIT": true, "ROLLBACK": true, "SAVEPOINT": true, "RELEASE": true,
	"SET": true, "COPY": true, "CALL": true, "LISTEN": true, "NOTIFY": true, "UNLISTEN": true,
}

// sqlVerb returns the statement's first keyword, skipping comments, if it is
// a known verb, else OTHER.
func sqlVerb(sql string) string {
	s := sql
	for {
		s = strings.TrimLeft(s, " \t\r\n(")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return "OTHER"
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return "OTHER"
			}
			s = s[i+2:]
		default:
			end := strings.IndexAny(s, " \t\r\n(;")
			if end < 0 {
				end = len(s)
			}
			if v := strings.ToUpper(s[:end]); sqlVerbs[v] {
				return v
			}
			return "OTHER"
		}
	}
}

// ObservePool exports the pool's statistics, read at scrape time from stat
// (pass pool.Stat). Calling it again replaces the source. Until it is called
// the pool metrics are absent.
func (m *Metrics) ObservePool(stat func() *pgxpool.Stat) {
	m.poolMu.Lock()
	m.poolStat = stat
	m.poolMu.Unlock()
}

// poolCollector reads pgxpool.Stat on each scrape: the pool already keeps the
// counts, so copying them at scrape time costs nothing on the query path.
type poolCollector struct{ m *Metrics }

var (
	poolAcquired     = poolDesc("db_pool_acquired_connections", "Connections currently checked out of the pool.")
	poolIdle         = poolDesc("db_pool_idle_connections", "Idle connections in the pool.")
	poolTotal        = poolDesc("db_pool_total_connections", "Connections in the pool (acquired, idle and constructing).")
	poolConstructing = poolDesc("db_pool_constructing_connections", "Connections being established.")
	poolMax          = poolDesc("db_pool_max_connections", "Maximum size of the pool.")
	poolAcquires     = poolDesc("db_pool_acquires_total", "Successful connection acquires from the pool.")
	poolEmpty        = poolDesc("db_pool_empty_acquires_total", "Acquires that had to wait because the pool had no idle connection.")
	poolCanceled     = poolDesc("db_pool_canceled_acquires_total", "Acquires canceled by their context while waiting.")
	poolAcquireTime  = poolDesc("db_pool_acquire_duration_seconds_total", "Total time spent acquiring connections, in seconds.")
	poolWaitTime     = poolDesc("db_pool_empty_acquire_wait_seconds_total", "Total time acquires waited for a connection because the pool was empty, in seconds.")
)

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, nil, nil)
}

// Describe sends the pool metric descriptors.
func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolConstructing, poolMax,
		poolAcquires, poolEmpty, poolCanceled, poolAcquireTime, poolWaitTime} {
		ch <- d
	}
}

// Collect reads the pool's statistics, if a pool is observed.
func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.poolMu.Lock()
	stat := c.m.poolStat
	c.m.poolMu.Unlock()
	if stat == nil {
		return
	}
	s := stat()
	if s == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolAcquired, float64(s.AcquiredConns()))
	gauge(poolIdle, float64(s.IdleConns()))
	gauge(poolTotal, float64(s.TotalConns()))
	gauge(poolConstructing, float64(s.ConstructingConns()))
	gauge(poolMax, float64(s.MaxConns()))
	counter(poolAcquires, float64(s.AcquireCount()))
	counter(poolEmpty, float64(s.EmptyAcquireCount()))
	counter(poolCanceled, float64(s.CanceledAcquireCount()))
	counter(poolAcquireTime, s.AcquireDuration().Seconds())
	counter(poolWaitTime, s.EmptyAcquireWaitTime().Seconds())
}

// scrubError returns what a span may record of a statement's error. Postgres
// and pgx messages can quote the values involved ("invalid input syntax for
// type uuid: \"<what the user typed>\"", "unable to encode \"...\" into
// binary format"), and otelpgx puts the message into the span status and an
// exception event. So a *pgconn.PgError keeps its SQLSTATE, severity and the
// schema objects it names (table, column, constraint: what an SRE needs)
// with a fixed message; context errors, whose messages are constant, pass
// through; anything else becomes its Go type.
func scrubError(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg := "statement failed"
		if pe.ConstraintName != "" {
			msg += " on constraint " + pe.ConstraintName
		} else if pe.TableName != "" {
			msg += " on table " + pe.TableName
		}
		return &pgconn.PgError{
			Severity: pe.Severity, SeverityUnlocalized: pe.SeverityUnlocalized, Code: pe.Code, Message: msg,
			SchemaName: pe.SchemaName, TableName: pe.TableName, ColumnName: pe.ColumnName,
			DataTypeName: pe.DataTypeName, ConstraintName: pe.ConstraintName,
		}
	}
	return scrubbedError{fmt.Sprintf("%T", err)}
}

// scrubbedError stands in for an error whose message may quote data.
type scrubbedError struct{ typ string }

func (e scrubbedError) Error() string { return "database error of type " + e.typ }
