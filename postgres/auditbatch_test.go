package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// auditBatchRig is a store whose read audit writer can be held: another
// session locks audit_events, so the writer's first INSERT waits and the
// events offered meanwhile queue behind it.
type auditBatchRig struct {
	t      *testing.T
	db     *postgres.DB
	stmts  *pgtest.Statements
	admin  *pgx.Conn // watches and reads the table
	locker *pgx.Conn
	lock   pgx.Tx // on a session of its own: a transaction would freeze admin's view of pg_stat_activity
}

func newAuditBatchRig(t *testing.T) *auditBatchRig {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	r := &auditBatchRig{t: t, stmts: &pgtest.Statements{}}
	var err error
	if r.db, err = postgres.Open(ctx, url, postgres.Options{Tracer: r.stmts}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.db.Close)
	if r.admin, err = pgx.Connect(ctx, url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.admin.Close(context.Background()) })
	locker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { locker.Close(context.Background()) })
	r.locker = locker
	return r
}

// hold locks audit_events until release.
func (r *auditBatchRig) hold() {
	r.t.Helper()
	var err error
	if r.lock, err = r.locker.Begin(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.lock.Exec(context.Background(), `LOCK TABLE audit_events IN EXCLUSIVE MODE`); err != nil {
		r.t.Fatal(err)
	}
}

func (r *auditBatchRig) release() {
	r.t.Helper()
	if err := r.lock.Commit(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// offer audits a read of two entities of one patient, detail naming the
// event and its request's ip and trace id, on its own goroutine; its result
// arrives on the channel.
func (r *auditBatchRig) offer(ctx context.Context, detail string) <-chan error {
	ctx = hg.WithRequestMeta(ctx, hg.RequestMeta{IP: "ip " + detail, TraceID: "trace " + detail})
	done := make(chan error, 1)
	patient := uuid.New()
	go func() {
		done <- r.db.AuditReads(ctx, hg.AuditEvent{Action: "read", EntityType: "appointment", Detail: detail},
			[]hg.AuditSubject{{Entity: uuid.New(), Patient: patient}, {Entity: uuid.New(), Patient: patient}})
	}()
	return done
}

// until polls cond (a query, so the wait is on a condition, not a clock)
// until it holds; the deadline only turns a hang into a failure.
func (r *auditBatchRig) until(what string, cond func() bool) {
	r.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// holdFirst locks the table, offers the event "first" and waits until the
// writer's INSERT of it waits for the lock.
func (r *auditBatchRig) holdFirst() <-chan error {
	r.t.Helper()
	r.hold()
	first := r.offer(context.Background(), "first")
	r.until("the writer's INSERT waits for the lock", func() bool {
		var n int
		err := r.admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO audit_events%'`).Scan(&n)
		if err != nil {
			r.t.Fatal(err)
		}
		return n == 1
	})
	return first
}

func (r *auditBatchRig) queued(n int) {
	r.t.Helper()
	r.until(fmt.Sprintf("%d events queue", n), func() bool { return postgres.QueuedReads(r.db) == n })
}

// stored returns how many times each detail was stored, checking each
// event's shape as AuditReads writes it.
func (r *auditBatchRig) stored() map[string]int {
	r.t.Helper()
	rows, err := r.admin.Query(context.Background(), `SELECT detail, entity_id IS NULL AND patient_id = ALL (patient_ids)
			AND cardinality(entity_ids) = 2 AND cardinality(patient_ids) = 2, ip, trace_id FROM audit_events`)
	if err != nil {
		r.t.Fatal(err)
	}
	got := map[string]int{}
	var detail, ip, trace string
	var shaped bool
	_, err = pgx.ForEachRow(rows, []any{&detail, &shaped, &ip, &trace}, func() error {
		got[detail]++
		if !shaped || ip != "ip "+detail || trace != "trace "+detail {
			r.t.Errorf("event %q stored with shape %v, ip %q, trace %q; want two entities of one patient and its request's ip and trace", detail, shaped, ip, trace)
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return got
}

// TestReadAuditsOfConcurrentRequestsShareOneStatement: the events offered
// while the writer's INSERT is in flight are written together, in one
// more statement, each once and whole, and each caller returns only then.
func TestReadAuditsOfConcurrentRequestsShareOneStatement(t *testing.T) {
	t.Parallel()
	r := newAuditBatchRig(t)
	first := r.holdFirst()
	const n = 8
	var waiting []<-chan error
	for i := range n {
		d := fmt.Sprint("queued ", i)
		waiting = append(waiting, r.offer(context.Background(), d))
	}
	r.queued(n)
	select {
	case err := <-first:
		t.Fatalf("the first read returned (%v) before its event was committed", err)
	default:
	}
	r.release()
	for i, done := range append(waiting, first) {
		if err := <-done; err != nil {
			t.Errorf("read %d: %v", i, err)
		}
	}
	if got := r.stmts.Count(); got != 2 {
		t.Errorf("the %d events took %d statements, want 2 (the first alone, then the %d queued behind it)", n+1, got, n)
	}
	got := r.stored()
	if len(got) != n+1 {
		t.Errorf("stored %d distinct events, want %d: %v", len(got), n+1, got)
	}
	for d, times := range got {
		if times != 1 {
			t.Errorf("event %q stored %d times, want once", d, times)
		}
	}
}

// TestAFailedAuditBatchFailsEveryReadInIt: one event the database refuses
// fails its whole statement; every caller in that batch gets the error and
// none of its events is stored, and the writer goes on.
func TestAFailedAuditBatchFailsEveryReadInIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newAuditBatchRig(t)
	if _, err := r.admin.Exec(ctx, `CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.detail = 'poison' THEN RAISE EXCEPTION 'poisoned audit event'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_poison BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_poison()`); err != nil {
		t.Fatal(err)
	}
	first := r.holdFirst()
	var batch []<-chan error
	for _, d := range []string{"before", "poison", "after"} {
		batch = append(batch, r.offer(ctx, d))
	}
	r.queued(3)
	r.release()
	if err := <-first; err != nil {
		t.Errorf("the first read, alone in its statement: %v", err)
	}
	for i, done := range batch {
		err := <-done
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Message != "poisoned audit event" {
			t.Errorf("read %d of the refused batch: err %v, want the statement's error", i, err)
		}
	}
	if err := <-r.offer(ctx, "later"); err != nil {
		t.Errorf("a read after the failed batch: %v", err)
	}
	if got, want := r.stored(), map[string]int{"first": 1, "later": 1}; !maps.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// TestAReadLeavingBeforeItsAuditIsTakenWritesNothingAndCloseWritesTheRest:
// a caller whose context ends while its event waits gets the context's
// error and its event is never written; Close writes what is still queued
// before it returns and refuses events offered afterwards.
func TestAReadLeavingBeforeItsAuditIsTakenWritesNothingAndCloseWritesTheRest(t *testing.T) {
	t.Parallel()
	r := newAuditBatchRig(t)
	first := r.holdFirst()
	leaving, leave := context.WithCancel(context.Background())
	left := r.offer(leaving, "left")
	pending := r.offer(context.Background(), "pending")
	r.queued(2)
	leave()
	if err := <-left; !errors.Is(err, context.Canceled) || hg.ErrorCode(err) != hg.EUNAVAILABLE {
		t.Errorf("the read that left: err %v (code %q), want UNAVAILABLE wrapping context.Canceled", err, hg.ErrorCode(err))
	}
	r.queued(1)
	closed := make(chan struct{})
	go func() {
		r.db.Close()
		close(closed)
	}()
	r.until("Close stops taking events", func() bool { return postgres.ReadsClosed(r.db) })
	if err := <-r.offer(context.Background(), "late"); err == nil {
		t.Error("an event offered after Close was accepted")
	}
	r.release()
	<-closed
	for name, done := range map[string]<-chan error{"first": first, "pending": pending} {
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got, want := r.stored(), map[string]int{"first": 1, "pending": 1}; !maps.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}
