package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/phi"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
)

func randomKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, phi.KeySize)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func mustRing(t testing.TB, keys, index string) *phi.Keys {
	t.Helper()
	k, err := phi.Parse(keys, index)
	if err != nil {
		t.Fatalf("ring: %v", err)
	}
	return k
}

// openWith opens another store on the database at url with the ring k, as
// a replica configured with other keys would.
func openWith(t testing.TB, url string, k *phi.Keys) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, postgres.Options{PHI: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func newPatient(nid, phone string) hg.NewPatient {
	return hg.NewPatient{NationalID: nid, FirstName: "Huda", FamilyName: "Alzahrani", Phone: phone,
		BirthDate: time.Date(1979, 5, 6, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale}
}

// insertLegacy writes a patient as the store did before migration 0007:
// national ID and phone in clear.
func insertLegacy(t testing.TB, db *postgres.DB, nid, phone string) uuid.UUID {
	t.Helper()
	id, _ := uuid.NewV7()
	_, err := db.Pool.Exec(context.Background(), `INSERT INTO patients (id, national_id, first_name, family_name,
		birth_date, gender, phone) VALUES ($1, $2, 'Old', 'Record', '1970-01-01', 'MALE', $3)`, id, nid, phone)
	if err != nil {
		t.Fatalf("insert legacy row: %v", err)
	}
	return id
}

// plaintextLeft counts the places where any of values still appears in
// clear: a patients row or an audit event, as text.
func plaintextLeft(t testing.TB, db *postgres.DB, values ...string) int {
	t.Helper()
	var n int
	err := db.Pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM patients p WHERE p.national_id IS NOT NULL OR p.phone IS NOT NULL
			OR EXISTS (SELECT 1 FROM unnest($1::text[]) v WHERE strpos(p::text, v) > 0
				OR position(convert_to(v, 'UTF8') IN coalesce(p.national_id_enc, '') || coalesce(p.phone_enc, '')) > 0))
		+ (SELECT count(*) FROM audit_events a WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) v WHERE strpos(a::text, v) > 0))`,
		values).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPatientIdentifiersAreSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	nid, phone := nextNationalID(), "+966512340001"
	p, err := db.CreatePatient(ctx, newPatient(nid, phone))
	if err != nil {
		t.Fatal(err)
	}
	if p.NationalID != nid || p.Phone != phone {
		t.Fatalf("created patient reads back %q %q, want %q %q", p.NationalID, p.Phone, nid, phone)
	}
	newPhone, newNID := "+966512340002", nextNationalID()
	if _, err := db.UpdatePatient(ctx, all, p.ID, hg.PatientPatch{Phone: &newPhone}); err != nil {
		t.Fatal(err)
	}
	got, err := db.UpdatePatient(ctx, all, p.ID, hg.PatientPatch{NationalID: &newNID})
	if err != nil || got.NationalID != newNID || got.Phone != newPhone {
		t.Fatalf("after updates: %+v, %v; want national ID %s and phone %s", got, err, newNID, newPhone)
	}
	if n := plaintextLeft(t, db, nid, phone, newNID, newPhone); n != 0 {
		t.Errorf("%d rows hold a national ID or phone in clear", n)
	}
}

func TestNationalIDLookupsUseTheBlindIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	nid := nextNationalID()
	p, err := db.CreatePatient(ctx, newPatient(nid, ""))
	if err != nil {
		t.Fatal(err)
	}
	legacyNID := nextNationalID()
	legacy := insertLegacy(t, db, legacyNID, "+966500000009")
	if plaintextLeft(t, db, legacyNID) != 1 {
		t.Error("the plaintext check misses a row written in clear")
	}
	for _, tc := range []struct {
		search string
		want   uuid.UUID
	}{{nid, p.ID}, {legacyNID, legacy}} {
		ps, total, err := db.ListPatients(ctx, all, hg.PatientFilter{Search: tc.search}, hg.Page{First: 10, Count: true})
		if err != nil || total != 1 || len(ps) != 1 || ps[0].ID != tc.want || ps[0].NationalID != tc.search {
			t.Errorf("search by national ID: %d of %d, %v; want the one patient", len(ps), total, err)
		}
	}
	_, err = db.CreatePatient(ctx, newPatient(nid, ""))
	wantCode(t, err, hg.ECONFLICT, "nationalId")
	other, err := db.CreatePatient(ctx, newPatient(nextNationalID(), ""))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.UpdatePatient(ctx, all, other.ID, hg.PatientPatch{NationalID: &nid})
	wantCode(t, err, hg.ECONFLICT, "nationalId")
	u := mustUser(t, db, hg.RolePatient)
	claimed, err := db.ClaimPatientRecord(ctx, u.ID, hg.PatientClaim{NationalID: legacyNID, BirthDate: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)}, hg.ClaimAttemptLimit)
	if err != nil || claimed.ID != legacy {
		t.Errorf("claim of a row not yet sealed: %v, %v", claimed, err)
	}
}

// A value that fails to open is an internal error: never another row's
// value, never a wrong plaintext.
func TestTamperedOrSwappedCiphertextsDoNotOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	db := openWith(t, url, nil)
	a, err := db.CreatePatient(ctx, newPatient(nextNationalID(), "+966511111111"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, sql string }{
		{"national ID of row A copied into row B", `UPDATE patients SET national_id_enc = (SELECT national_id_enc FROM patients WHERE id = $1) WHERE id = $2`},
		{"phone of row A copied into row B", `UPDATE patients SET phone_enc = (SELECT phone_enc FROM patients WHERE id = $1) WHERE id = $2`},
		{"national ID moved into the phone column", `UPDATE patients SET phone_enc = national_id_enc WHERE id = $2 AND $1::uuid IS NOT NULL`},
		{"last byte flipped", `UPDATE patients SET national_id_enc = set_byte(national_id_enc, length(national_id_enc) - 1,
			get_byte(national_id_enc, length(national_id_enc) - 1) # 1) WHERE id = $2 AND $1::uuid IS NOT NULL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := db.CreatePatient(ctx, newPatient(nextNationalID(), "+966522222222"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Pool.Exec(ctx, tc.sql, a.ID, b.ID); err != nil {
				t.Fatal(err)
			}
			got, err := db.PatientByID(ctx, all, b.ID)
			if hg.ErrorCode(err) != hg.EINTERNAL {
				t.Fatalf("read back %+v, %v; want an internal error", got, err)
			}
			if strings.Contains(err.Error(), a.NationalID) || strings.Contains(err.Error(), a.Phone) {
				t.Errorf("the error shows PHI: %v", err)
			}
		})
	}
	other := openWith(t, url, mustRing(t, "other:"+randomKey(t), randomKey(t)))
	if got, err := other.PatientByID(ctx, all, a.ID); hg.ErrorCode(err) != hg.EINTERNAL {
		t.Errorf("read with a ring lacking the key: %+v, %v; want an internal error", got, err)
	}
}

func TestRotationReSealsEveryRowUnderTheNewKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	oldKey, newKey, index := randomKey(t), randomKey(t), randomKey(t)
	before := openWith(t, url, mustRing(t, "2025a:"+oldKey, index))
	want := map[uuid.UUID][2]string{}
	for i := range 7 {
		p, err := before.CreatePatient(ctx, newPatient(nextNationalID(), fmt.Sprintf("+9665000000%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want[p.ID] = [2]string{p.NationalID, p.Phone}
	}
	legacyNID := nextNationalID()
	want[insertLegacy(t, before, legacyNID, "+966599999999")] = [2]string{legacyNID, "+966599999999"}

	readAll := func(db *postgres.DB) {
		t.Helper()
		for id, w := range want {
			p, err := db.PatientByID(ctx, all, id)
			if err != nil || p.NationalID != w[0] || p.Phone != w[1] {
				t.Fatalf("patient reads %+v, %v; want %v", p, err, w)
			}
		}
	}
	rotating := openWith(t, url, mustRing(t, "2026a:"+newKey+",2025a:"+oldKey, index))
	readAll(rotating) // the old key still opens what it sealed

	var calls []string
	n, err := rotating.RewritePHI(ctx, postgres.Rotate, 3, func(done, total int) { calls = append(calls, fmt.Sprintf("%d/%d", done, total)) })
	if err != nil || n != len(want) {
		t.Fatalf("rotate rewrote %d rows, %v; want %d", n, err, len(want))
	}
	if fmt.Sprint(calls) != "[3/8 6/8 8/8]" {
		t.Errorf("progress %v, want [3/8 6/8 8/8]", calls)
	}
	st, err := rotating.PHIStatus(ctx)
	if err != nil || st.Plaintext != 0 || len(st.ByKey) != 1 || st.ByKey["2026a"] != 2*len(want) {
		t.Fatalf("status after rotation %+v, %v; want every value under 2026a", st, err)
	}
	if n, err := rotating.RewritePHI(ctx, postgres.Rotate, 3, nil); n != 0 || err != nil {
		t.Errorf("second rotation rewrote %d rows, %v; want none (idempotent)", n, err)
	}
	readAll(openWith(t, url, mustRing(t, "2026a:"+newKey, index))) // the old key can go
	if n := plaintextLeft(t, rotating, legacyNID, "+966599999999"); n != 0 {
		t.Errorf("%d rows still hold plaintext after rotation", n)
	}

	// A new index key: national-ID lookups miss until a reindex.
	reindexed := openWith(t, url, mustRing(t, "2026a:"+newKey, randomKey(t)))
	search := func() int {
		_, total, err := reindexed.ListPatients(ctx, all, hg.PatientFilter{Search: legacyNID}, hg.Page{First: 1, Count: true})
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	if got := search(); got != 0 {
		t.Fatalf("found %d patients by national ID under a new index key before reindexing", got)
	}
	if n, err := reindexed.RewritePHI(ctx, postgres.Reindex, 5, nil); n != len(want) || err != nil {
		t.Fatalf("reindex rewrote %d, %v; want %d", n, err, len(want))
	}
	if got := search(); got != 1 {
		t.Errorf("found %d patients by national ID after reindexing, want 1", got)
	}
}

func TestUnsealAllowsRevertingTheMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Options{})
	p, err := db.CreatePatient(ctx, newPatient(nextNationalID(), "+966533333333"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := postgres.LoadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	steps := 0 // down to just before 0007, whatever came after it
	for _, m := range ms {
		if m.Version >= 7 {
			steps++
		}
	}
	if _, err := db.MigrateDown(ctx, steps); err == nil || !strings.Contains(err.Error(), "phi unseal") {
		t.Fatalf("reverting 0007 over sealed rows: %v, want a refusal naming phi unseal", err)
	}
	if n, err := db.RewritePHI(ctx, postgres.Unseal, 10, nil); n != 1 || err != nil {
		t.Fatalf("unseal rewrote %d, %v", n, err)
	}
	// The refused run reverted the migrations after 0007; 0007 is next.
	if done, err := db.MigrateDown(ctx, 1); err != nil || len(done) != 1 || done[0] != 7 {
		t.Fatalf("reverted %v, %v; want 0007", done, err)
	}
	var nid, phone string
	if err := db.Pool.QueryRow(ctx, `SELECT national_id, phone FROM patients WHERE id = $1`, p.ID).Scan(&nid, &phone); err != nil || nid != p.NationalID || phone != p.Phone {
		t.Errorf("after down: %q %q, %v; want the values in clear", nid, phone, err)
	}
}

// BenchmarkPatientsPage reads a 50-patient page, sealed and (for the cost
// of decryption) in clear as rows written before migration 0007 were.
func BenchmarkPatientsPage(b *testing.B) {
	ctx := context.Background()
	for _, form := range []string{"sealed", "plaintext"} {
		b.Run(form, func(b *testing.B) {
			db := pgtest.New(b, postgres.Options{})
			for range 50 {
				if form == "sealed" {
					if _, err := db.CreatePatient(ctx, newPatient(nextNationalID(), "+966544444444")); err != nil {
						b.Fatal(err)
					}
				} else {
					insertLegacy(b, db, nextNationalID(), "+966544444444")
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if ps, _, err := db.ListPatients(ctx, all, hg.PatientFilter{}, hg.Page{First: 50}); err != nil || len(ps) != 50 {
					b.Fatalf("%d patients, %v", len(ps), err)
				}
			}
		})
	}
}
