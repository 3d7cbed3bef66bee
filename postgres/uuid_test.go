package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

// TestUUIDsTravelAsSixteenBytes round-trips ids through the store's pool,
// alone, in arrays, as NULL and through pointers.
func TestUUIDsTravelAsSixteenBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	id := uuid.Must(uuid.NewV7())
	var got uuid.UUID
	var text string
	if err := db.Pool.QueryRow(ctx, `SELECT $1::uuid, $1::uuid::text`, id).Scan(&got, &text); err != nil || got != id || text != id.String() {
		t.Fatalf("round trip: %s %s %v, want %s", got, text, err, id)
	}
	ids := []uuid.UUID{uuid.New(), id, uuid.New()}
	var back []uuid.UUID
	if err := db.Pool.QueryRow(ctx, `SELECT array_agg(x ORDER BY o) FROM unnest($1::uuid[]) WITH ORDINALITY AS u(x, o)`, ids).Scan(&back); err != nil || !slices.Equal(back, ids) {
		t.Fatalf("array: %v %v, want %v", back, err, ids)
	}
	var ptr *uuid.UUID
	if err := db.Pool.QueryRow(ctx, `SELECT NULL::uuid`).Scan(&ptr); err != nil || ptr != nil {
		t.Fatalf("NULL: %v %v, want a nil pointer", ptr, err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT $1::uuid`, &id).Scan(&ptr); err != nil || ptr == nil || *ptr != id {
		t.Fatalf("pointer: %v %v", ptr, err)
	}
}

// TestBindingAUUIDIsCheap: the database/sql route the type map replaces
// formatted an error for every id bound. Not parallel: AllocsPerRun.
func TestBindingAUUIDIsCheap(t *testing.T) {
	m, id := typeMap(t), uuid.New()
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := m.Encode(2950, 1, id, buf); err != nil { // 2950 is uuid, 1 binary
			t.Fatal(err)
		}
	})
	if allocs > 4 {
		t.Fatalf("binding a uuid.UUID costs %.0f allocations, want at most 4 (the database/sql route took 20)", allocs)
	}
}

// TestReadingAUUIDIsCheap: the database/sql route the codec replaces
// formatted every id read as text for uuid.UUID's Scan to parse. Not
// parallel: AllocsPerRun.
func TestReadingAUUIDIsCheap(t *testing.T) {
	m, id := typeMap(t), uuid.New()
	var got uuid.UUID
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.Scan(2950, 1, id[:], &got); err != nil { // 2950 is uuid, 1 binary
			t.Fatal(err)
		}
	})
	if got != id || allocs > 0 {
		t.Fatalf("reading a uuid.UUID gave %s in %.0f allocations, want %s in none (the database/sql route took 4)", got, allocs, id)
	}
}

// TestBindingUUIDArraysWritesPgxsBytes: the store's type map writes a
// []uuid.UUID as pgx's own array codec does, without an allocation an id.
// Not parallel: AllocsPerRun.
func TestBindingUUIDArraysWritesPgxsBytes(t *testing.T) {
	m, ref := typeMap(t), pgtype.NewMap()
	for _, ids := range [][]uuid.UUID{nil, {}, {uuid.New()}, {uuid.New(), {}, uuid.Must(uuid.NewV7())}} {
		want, err := ref.Encode(pgtype.UUIDArrayOID, pgtype.BinaryFormatCode, ids, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Encode(pgtype.UUIDArrayOID, pgtype.BinaryFormatCode, ids, nil)
		if err != nil || !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("%d ids: %x %v, want pgx's %x", len(ids), got, err, want)
		}
	}
	ids, buf := make([]uuid.UUID, 50), make([]byte, 0, 2048)
	for i := range ids {
		ids[i] = uuid.New()
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := m.Encode(pgtype.UUIDArrayOID, pgtype.BinaryFormatCode, ids, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Fatalf("binding 50 ids costs %.0f allocations, want at most 2 (pgx's reflection took 150)", allocs)
	}
}

// typeMap is the type map of a connection of the store's pool, as the
// store sets it up.
func typeMap(t *testing.T) *pgtype.Map {
	t.Helper()
	db := pgtest.New(t, postgres.Options{})
	conn, err := db.Pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Release)
	return conn.Conn().TypeMap()
}
