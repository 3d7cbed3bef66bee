package seed_test

import (
	"context"
	"os"
	"testing"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/seed"
)

// tiny keeps the scale tests quick; `small` itself is run by
// TestScaleSmall when asked.
var tiny = seed.Size{Patients: 800, Practitioners: 6, Appointments: 3_000}

const loadPassword = "Load-test-passw0rd"

// scale loads size into a fresh database with the given seed and the test
// clock.
func scale(t *testing.T, size seed.Size, seedValue uint64) (*postgres.DB, *seed.ScaleResult) {
	t.Helper()
	db := pgtest.New(t, postgres.Options{})
	hash, err := auth.HashPassword(context.Background(), loadPassword, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	var last, total int
	res, err := seed.Scale(context.Background(), db, seed.ScaleOptions{
		Options: seed.Options{Seed: seedValue, Now: clock}, Size: size, LoginHash: hash,
		Progress: func(done, all int) { last, total = done, all },
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := size.Patients + size.Appointments; last != want || total != want {
		t.Errorf("last progress %d/%d, want %d/%d", last, total, want, want)
	}
	return db, res
}

func TestScale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, res := scale(t, tiny, 5)
	t.Logf("tiny: %+v", res.Summary)

	t.Run("writes the size asked and counts what is in the database", func(t *testing.T) {
		s := res.Summary
		if s.Patients != tiny.Patients || s.Practitioners != tiny.Practitioners || s.Appointments != tiny.Appointments {
			t.Errorf("summary %+v, want %+v", s, tiny)
		}
		for _, tc := range s.Tables() {
			var n int
			if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM `+tc.Table).Scan(&n); err != nil || n != tc.Rows {
				t.Errorf("%s has %d rows (%v), summary says %d", tc.Table, n, err, tc.Rows)
			}
			if tc.Rows == 0 {
				t.Errorf("%s is empty", tc.Table)
			}
		}
	})
	t.Run("invoice and claim totals equal their lines", func(t *testing.T) {
		var badInvoices, badClaims, badApproved int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM invoices i WHERE (i.net, i.vat, i.total, i.patient_share, i.insurer_share) IS DISTINCT FROM
			(SELECT sum(net), sum(vat), sum(total), sum(patient_share), sum(insurer_share) FROM invoice_lines WHERE invoice_id = i.id)`).Scan(&badInvoices)
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM claims c WHERE c.total IS DISTINCT FROM (SELECT sum(net) FROM claim_items WHERE claim_id = c.id)`).Scan(&badClaims)
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM claims c WHERE c.approved IS DISTINCT FROM
			(SELECT sum(approved) FROM claim_items WHERE claim_id = c.id)`).Scan(&badApproved)
		if badInvoices+badClaims+badApproved != 0 {
			t.Errorf("%d invoices, %d claim totals and %d claim approvals differ from their lines", badInvoices, badClaims, badApproved)
		}
	})
	t.Run("claims are mostly decided, with adjudicated items", func(t *testing.T) {
		var decided, all, adjudicated int
		db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status IN ('APPROVED','PARTIAL','REJECTED','PENDING')), count(*) FROM claims`).Scan(&decided, &all)
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM claim_items WHERE outcome <> '' AND approved IS NOT NULL`).Scan(&adjudicated)
		if decided*10 < all*8 || adjudicated == 0 {
			t.Errorf("%d of %d claims approved, partial, rejected or pending and %d items adjudicated; want most claims and some items", decided, all, adjudicated)
		}
	})
	t.Run("practitioners' days hold 20 to 40 appointments and a good share is booked", func(t *testing.T) {
		var median float64
		var over40 int
		db.Pool.QueryRow(ctx, `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY n), count(*) FILTER (WHERE n > 40) FROM (
			SELECT count(*) AS n FROM appointments WHERE starts_at < $1
			GROUP BY practitioner_id, (starts_at AT TIME ZONE 'Asia/Riyadh')::date) d`, clock).Scan(&median, &over40)
		if median < 20 || median > 40 || over40 > 0 {
			t.Errorf("median %.1f appointments a past day, %d days over 40; want 20 to 40", median, over40)
		}
		var booked int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM appointments WHERE status = 'BOOKED'`).Scan(&booked)
		if booked*100 < tiny.Appointments*15 {
			t.Errorf("%d of %d appointments booked, want at least 15%%", booked, tiny.Appointments)
		}
	})
	t.Run("no patient or practitioner is booked twice at once", func(t *testing.T) {
		var patients, practitioners int
		db.Pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM appointments a JOIN appointments b ON a.patient_id = b.patient_id AND a.id < b.id
				AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)),
			(SELECT count(*) FROM appointments a JOIN appointments b ON a.practitioner_id = b.practitioner_id AND a.id < b.id
				AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at))`).Scan(&patients, &practitioners)
		if patients+practitioners != 0 {
			t.Errorf("%d overlapping pairs of a patient's appointments, %d of a practitioner's; want none", patients, practitioners)
		}
	})
	t.Run("a load-test login per role, the practitioner busy today", func(t *testing.T) {
		if len(res.Logins) != len(seed.LoadRoles) {
			t.Fatalf("%d logins, want %d", len(res.Logins), len(seed.LoadRoles))
		}
		for _, l := range res.Logins {
			u, err := db.UserByEmail(ctx, l.Email)
			var ok bool
			if err == nil {
				ok, err = auth.CheckPassword(ctx, u.PasswordHash, loadPassword)
			}
			if err != nil || u.Role != l.Role || l.Email != seed.LoadEmail(l.Role) || !ok {
				t.Errorf("login %s: %+v, %v; want role %s and the password", l.Email, u, err, l.Role)
			}
			if l.Role != hg.RolePractitioner {
				continue
			}
			var today int
			db.Pool.QueryRow(ctx, `SELECT count(*) FROM appointments a JOIN practitioners p ON p.id = a.practitioner_id
				WHERE p.user_id = $1 AND (a.starts_at AT TIME ZONE 'Asia/Riyadh')::date = ($2::timestamptz AT TIME ZONE 'Asia/Riyadh')::date`,
				u.ID, clock).Scan(&today)
			if today == 0 {
				t.Errorf("the load-test practitioner has no appointments today")
			}
		}
	})
	t.Run("refuses a database with patients unless allowed, then adds without collisions", func(t *testing.T) {
		so := seed.ScaleOptions{Options: seed.Options{Seed: 5, Now: clock}, Size: seed.Size{Patients: 50, Practitioners: 1, Appointments: 100}, LoginHash: "x"}
		if _, err := seed.Scale(ctx, db, so); hg.ErrorCode(err) != hg.ECONFLICT {
			t.Fatalf("scale on a seeded database: %v, want CONFLICT", err)
		}
		so.AllowExisting = true
		more, err := seed.Scale(ctx, db, so)
		if err != nil || more.Patients != 50 || len(more.Logins) != 0 {
			t.Fatalf("second run: %+v, %v; want 50 more patients and no new logins", more, err)
		}
	})
}

func TestScaleIsDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Checksums of columns across every kind of row the generator draws.
	checks := map[string]string{
		"patients":     `SELECT md5(string_agg(id::text || encode(national_id_hash, 'hex') || first_name || family_name_ar || birth_date, ',' ORDER BY id)) FROM patients`,
		"appointments": `SELECT md5(string_agg(id::text || patient_id::text || starts_at::text || status, ',' ORDER BY id)) FROM appointments`,
		"records":      `SELECT md5(string_agg(id::text || kind || body, ',' ORDER BY id)) FROM medical_records`,
		"invoices":     `SELECT md5(string_agg(number || status || total::text || paid::text, ',' ORDER BY number)) FROM invoices`,
		"claims":       `SELECT md5(string_agg(id::text || status || coalesce(approved, -1)::text, ',' ORDER BY id)) FROM claims`,
	}
	sums := func(db *postgres.DB) map[string]string {
		out := map[string]string{}
		for name, q := range checks {
			var s string
			if err := db.Pool.QueryRow(ctx, q).Scan(&s); err != nil {
				t.Fatalf("%s checksum: %v", name, err)
			}
			out[name] = s
		}
		return out
	}
	small := seed.Size{Patients: 300, Practitioners: 3, Appointments: 1_200}
	a, _ := scale(t, small, 9)
	b, _ := scale(t, small, 9)
	other, _ := scale(t, small, 10)
	sa, sb, so := sums(a), sums(b), sums(other)
	for name := range checks {
		if sa[name] != sb[name] {
			t.Errorf("%s: same seed and clock, different data (%s vs %s)", name, sa[name], sb[name])
		}
		if sa[name] == so[name] {
			t.Errorf("%s: seeds 9 and 10 gave the same data", name)
		}
	}
}

// TestScaleSmall loads the real small size: about 20 s alone, over a
// minute under -race on a busy machine, so it runs only when asked.
func TestScaleSmall(t *testing.T) {
	if os.Getenv("HG_TEST_SCALE_SMALL") == "" {
		t.Skip("set HG_TEST_SCALE_SMALL=1 to load the small size (10k patients, 100k appointments)")
	}
	t.Parallel()
	_, res := scale(t, seed.Sizes["small"], 1)
	s := res.Summary
	t.Logf("small: %+v", s)
	if s.Patients != 10_000 || s.Practitioners != 50 || s.Appointments != 100_000 {
		t.Errorf("summary %+v, want 10k patients, 50 practitioners, 100k appointments", s)
	}
	if s.Records < 80_000 || s.Records > 120_000 || s.Claims < 8_000 || s.Claims > 12_000 {
		t.Errorf("%d records and %d claims, want about 100k and 10k", s.Records, s.Claims)
	}
}
