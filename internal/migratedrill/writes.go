package migratedrill

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// marker tags the rows the drill writes, so it can delete them after.
const marker = "hg-drill migrate"

// write is one statement a client ran, and how long it waited.
type write struct {
	op    string
	start time.Time
	took  time.Duration
	err   error
}

// claimant is an existing claim's patient, coverage and payer: a new claim
// for them satisfies every foreign key.
type claimant struct {
	patient, coverage uuid.UUID
	payer             string
}

// writers are the clients and the ids their writes use.
type writers struct {
	pool          *pgxpool.Pool
	clients, rate int
	patients      []uuid.UUID
	practitioners []uuid.UUID
	claimants     []claimant
	// slot numbers the bookings: each gets its own half hour, far in the
	// future, so no two overlap and none meets a seeded appointment.
	slot atomic.Int64
}

func newWriters(ctx context.Context, pool *pgxpool.Pool, clients, rate int) (*writers, error) {
	w := &writers{pool: pool, clients: clients, rate: rate}
	if err := w.sample(ctx, `SELECT id FROM patients ORDER BY id LIMIT 2000`, func(s scanner) error {
		var id uuid.UUID
		err := s.Scan(&id)
		w.patients = append(w.patients, id)
		return err
	}); err != nil {
		return nil, err
	}
	if err := w.sample(ctx, `SELECT id FROM practitioners ORDER BY id LIMIT 500`, func(s scanner) error {
		var id uuid.UUID
		err := s.Scan(&id)
		w.practitioners = append(w.practitioners, id)
		return err
	}); err != nil {
		return nil, err
	}
	if err := w.sample(ctx, `SELECT patient_id, coverage_id, payer_license FROM claims ORDER BY id LIMIT 2000`, func(s scanner) error {
		var c claimant
		err := s.Scan(&c.patient, &c.coverage, &c.payer)
		w.claimants = append(w.claimants, c)
		return err
	}); err != nil {
		return nil, err
	}
	if len(w.patients) == 0 || len(w.practitioners) == 0 || len(w.claimants) == 0 {
		return nil, errNoRows
	}
	return w, nil
}

type scanner interface{ Scan(dest ...any) error }

func (w *writers) sample(ctx context.Context, sql string, scan func(scanner) error) error {
	rows, err := w.pool.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (w *writers) describe() string {
	return fmt.Sprintf("writes: bookings (appointments), claims, patient updates over %d patients, %d practitioners, %d coverages",
		len(w.patients), len(w.practitioners), len(w.claimants))
}

// ops are the writes, taken in turn by each client.
var ops = []struct {
	name string
	run  func(ctx context.Context, w *writers, r *rand.Rand) error
}{
	{"book appointment", func(ctx context.Context, w *writers, r *rand.Rand) error {
		start := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(w.slot.Add(1)) * 30 * time.Minute)
		_, err := w.pool.Exec(ctx, `INSERT INTO appointments (id, patient_id, practitioner_id, starts_at, ends_at, status, reason)
			VALUES ($1, $2, $3, $4, $5, 'BOOKED', $6)`,
			uuid.New(), pick(r, w.patients), pick(r, w.practitioners), start, start.Add(20*time.Minute), marker)
		return err
	}},
	{"insert claim", func(ctx context.Context, w *writers, r *rand.Rand) error {
		// A claim and its item in one transaction: the total must equal
		// the items' sum when it commits.
		c := pick(r, w.claimants)
		id := uuid.New()
		return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO claims (id, use, patient_id, coverage_id, payer_license, payer_name, status, total)
				VALUES ($1, 'preauthorization', $2, $3, $4, $5, 'DRAFT', 10000)`,
				id, c.patient, c.coverage, c.payer, marker); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO claim_items (claim_id, sequence, service_code, description, quantity, unit_price, vat, net, patient_share)
				VALUES ($1, 1, 'DRILL', $2, 1, 10000, 0, 10000, 0)`, id, marker)
			return err
		})
	}},
	{"update patient", func(ctx context.Context, w *writers, r *rand.Rand) error {
		_, err := w.pool.Exec(ctx, `UPDATE patients SET updated_at = now() WHERE id = $1`, pick(r, w.patients))
		return err
	}},
}

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

// during writes from every client for lead, then while migrate runs, then
// for lead again, and returns the writes that were in flight at some
// moment while migrate ran.
func (w *writers) during(ctx context.Context, lead time.Duration, migrate func() error) []write {
	stop := make(chan struct{})
	var mu sync.Mutex
	var all []write
	var wg sync.WaitGroup
	for c := range w.clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(c))) //nolint:gosec // choosing rows, not secrets
			tick := time.NewTicker(time.Second / time.Duration(w.rate))
			defer tick.Stop()
			for i := c; ; i++ {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				op := ops[i%len(ops)]
				// A write blocked behind a migration waits as long as
				// the migration holds its lock: no deadline of ours cuts
				// the wait short, so the figure is the real one.
				wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
				t0 := time.Now()
				err := op.run(wctx, w, r)
				took := time.Since(t0)
				cancel()
				mu.Lock()
				all = append(all, write{op: op.name, start: t0, took: took, err: err})
				mu.Unlock()
			}
		})
	}
	select {
	case <-time.After(lead):
	case <-ctx.Done():
	}
	from := time.Now()
	_ = migrate() // its error is the caller's; the writes are still reported
	to := time.Now()
	select {
	case <-time.After(lead):
	case <-ctx.Done():
	}
	close(stop)
	wg.Wait()
	var in []write
	for _, x := range all {
		if x.start.Before(to) && x.start.Add(x.took).After(from) {
			in = append(in, x)
		}
	}
	return in
}

// cleanUp deletes the rows the drill wrote.
func (w *writers) cleanUp(ctx context.Context) error {
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`DELETE FROM appointments WHERE reason = $1`,
			`DELETE FROM claim_items WHERE claim_id IN (SELECT id FROM claims WHERE payer_name = $1)`,
			`DELETE FROM claims WHERE payer_name = $1`,
		} {
			if _, err := tx.Exec(ctx, sql, marker); err != nil {
				return err
			}
		}
		return nil
	})
}
