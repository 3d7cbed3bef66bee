package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/healthgraph/healthgraph/postgres"
)

// Migration 0011 meets a database where a patient is already in two live
// appointments at once: it stops before changing anything and says how
// many pairs there are; once they are resolved it applies.
func TestPatientOverlapMigrationStopsOnExistingOverlaps(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	ms, err := postgres.LoadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var after int // 0011 and any later migration
	for _, m := range ms {
		if m.Version >= 11 {
			after++
		}
	}
	if _, err := c.db.MigrateDown(ctx, after); err != nil {
		t.Fatal(err)
	}
	// Patient A, already with doctor 1, booked over the same window with
	// doctor 2 while nothing forbade it.
	if _, err := c.db.Pool.Exec(ctx, `INSERT INTO appointments (id, patient_id, practitioner_id, starts_at, ends_at)
		SELECT gen_random_uuid(), patient_id, $2, starts_at, ends_at FROM appointments WHERE id = $1`, c.apptA.ID, c.doc2.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.db.MigrateUp(ctx)
	if err == nil || !strings.Contains(err.Error(), "1 pairs of live appointments") {
		t.Fatalf("migrate up over an overlap: %v, want it stopped naming 1 pair", err)
	}
	if n, _ := c.db.Pending(ctx); n != after {
		t.Fatalf("pending after the stopped migration = %d, want %d", n, after)
	}
	if _, err := c.db.Pool.Exec(ctx, `UPDATE appointments SET status = 'CANCELLED', cancel_reason = 'Booked twice'
		WHERE id = $1`, c.apptA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.MigrateUp(ctx); err != nil {
		t.Fatalf("migrate up once resolved: %v", err)
	}
}
