package postgres

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	hg "github.com/healthgraph/healthgraph"
)

// Group commit of read audit events. Every read that discloses several
// entities appends one audit event, and its data must not be returned
// before that event is committed. One INSERT and one commit (one WAL flush)
// per request is a large share of Postgres's work under concurrent reads,
// so the events of concurrent requests are written together: one writer
// per DB takes every event queued while its previous INSERT was in flight
// (up to maxAuditBatch) and writes them in one statement. There is no timer:
// a request arriving at an idle writer is written at once, alone.
//
// A caller blocks until the statement holding its event committed and gets
// that statement's error, so a failed batch fails every request in it.
// A caller whose context ends first returns the context's error at once:
// its event is not written if the writer had not taken it yet, and written
// whole (with the rest of its batch) if it had. Close writes what is queued
// before closing the pool; an event offered after Close is refused with an
// error, never dropped.

// maxAuditBatch bounds the events of one statement (and so its parameters'
// size): a page names at most a few hundred entities.
const maxAuditBatch = 128

// errAuditClosed refuses events offered after Close.
var errAuditClosed = errors.New("audit writer closed")

// queuedRead is one read audit event waiting for the writer.
type queuedRead struct {
	ctx      context.Context // the caller's, for the statement's trace when it leads a batch
	id       uuid.UUID
	e        hg.AuditEvent
	entities []uuid.UUID
	patients []uuid.UUID
	patient  *uuid.UUID
	taken    bool       // guarded by auditWriter.mu
	done     chan error // buffered: the writer never waits for a caller
}

// auditWriter is the DB's writer of read audit events, started by the
// first event.
type auditWriter struct {
	pool    *pgxpool.Pool
	mu      sync.Mutex
	wake    sync.Cond // signalled when queue grows or closed is set
	queue   []*queuedRead
	running bool
	closed  bool
	stopped chan struct{} // closed when the running writer has drained and returned
}

func newAuditWriter(pool *pgxpool.Pool) *auditWriter {
	w := &auditWriter{pool: pool, stopped: make(chan struct{})}
	w.wake.L = &w.mu
	return w
}

// write queues q and waits until the statement holding it committed or
// ctx ended.
func (w *auditWriter) write(ctx context.Context, q *queuedRead) error {
	if err := ctx.Err(); err != nil {
		return translate(err, "audit event")
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return translate(errAuditClosed, "audit event")
	}
	w.queue = append(w.queue, q)
	if !w.running {
		w.running = true
		go w.run()
	}
	w.wake.Signal()
	w.mu.Unlock()

	select {
	case err := <-q.done:
		return err
	case <-ctx.Done():
		w.mu.Lock()
		if !q.taken {
			w.queue = slices.DeleteFunc(w.queue, func(o *queuedRead) bool { return o == q })
		}
		w.mu.Unlock()
		return translate(ctx.Err(), "audit event")
	}
}

// run writes batches until Close, then writes what is left and returns.
func (w *auditWriter) run() {
	defer close(w.stopped)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closed {
			w.wake.Wait()
		}
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return
		}
		n := min(len(w.queue), maxAuditBatch)
		batch := w.queue[:n:n]
		w.queue = append([]*queuedRead(nil), w.queue[n:]...) // copied (nil when all were taken): the queue keeps no hold on the batch
		for _, q := range batch {
			q.taken = true
		}
		w.mu.Unlock()

		err := w.insert(batch)
		for _, q := range batch {
			q.done <- err
		}
	}
}

// insert writes batch in one statement. Each event's subjects are a slice
// of two flat arrays, so the statement's text is the same whatever the
// batch (one prepared statement). It runs in the context of the batch's
// first caller without its cancellation: its trace shows the statement,
// and one caller leaving does not fail the others.
func (w *auditWriter) insert(batch []*queuedRead) error {
	n := len(batch)
	ids, actors, patient := make([]uuid.UUID, n), make([]*uuid.UUID, n), make([]*uuid.UUID, n)
	roles, actions, types, ips, traces, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	from, to := make([]int32, n), make([]int32, n)
	var entities, patients []uuid.UUID
	for i, q := range batch {
		ids[i], actors[i], patient[i] = q.id, q.e.ActorID, q.patient
		roles[i], actions[i], types[i] = string(q.e.ActorRole), q.e.Action, q.e.EntityType
		ips[i], traces[i], details[i] = q.e.IP, q.e.TraceID, q.e.Detail
		from[i] = int32(len(entities)) + 1
		entities, patients = append(entities, q.entities...), append(patients, q.patients...)
		to[i] = int32(len(entities))
	}
	_, err := w.pool.Exec(context.WithoutCancel(batch[0].ctx), `INSERT INTO audit_events
		(id, actor_id, actor_role, action, entity_type, patient_id, entity_ids, patient_ids, ip, trace_id, detail)
		SELECT e.id, e.actor_id, e.actor_role, e.action, e.entity_type, e.patient_id,
			($12::uuid[])[e.first:e.last], ($13::uuid[])[e.first:e.last], e.ip, e.trace_id, e.detail
		FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[],
			$7::text[], $8::text[], $9::text[], $10::int[], $11::int[])
			AS e (id, actor_id, actor_role, action, entity_type, patient_id, ip, trace_id, detail, first, last)`,
		ids, actors, roles, actions, types, patient, ips, traces, details, from, to, entities, patients)
	return translate(err, "audit event")
}

// close stops taking events, writes the queued ones and waits for the
// writer to return.
func (w *auditWriter) close() {
	w.mu.Lock()
	w.closed = true
	running := w.running
	w.wake.Signal()
	w.mu.Unlock()
	if running {
		<-w.stopped
	}
}
