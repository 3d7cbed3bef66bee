package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/phi"
)

// The columns whose values are sealed, named as the associated data and
// blind index bind them: a ciphertext only opens in the column it was
// sealed for.
const (
	fieldNationalID = "patients.national_id"
	fieldPhone      = "patients.phone"
)

// PatientPHI is a patient's sealed identifiers as the patients table holds
// them.
type PatientPHI struct {
	NationalIDEnc, NationalIDHash, PhoneEnc []byte
}

// SealPatientPHI seals a patient's national ID and phone for the row id,
// for writers that bypass the store's INSERT (the seed's COPY). Values must
// already be validated.
func (db *DB) SealPatientPHI(id uuid.UUID, nationalID, phone string) (PatientPHI, error) {
	nid, err := db.phi.Seal(fieldNationalID, id, nationalID)
	if err != nil {
		return PatientPHI{}, err
	}
	ph, err := db.phi.Seal(fieldPhone, id, phone)
	if err != nil {
		return PatientPHI{}, err
	}
	return PatientPHI{NationalIDEnc: nid, NationalIDHash: db.nationalIDIndex(nationalID), PhoneEnc: ph}, nil
}

func (db *DB) nationalIDIndex(nationalID string) []byte {
	return db.phi.Index(fieldNationalID, nationalID)
}

// storedPHI is one patient's identifiers as scanned: each column is either
// sealed (legacy nil) or, for rows written before migration 0007 and not
// yet sealed, plaintext.
type storedPHI struct {
	nationalID, phone       *string
	nationalIDEnc, phoneEnc []byte
}

// open fills p's national ID and phone from s. A value that does not open
// is an internal error that names neither the patient nor the value.
func (db *DB) open(p *hg.Patient, s *storedPHI) error {
	var err error
	if p.NationalID, err = db.openField(fieldNationalID, p.ID, s.nationalID, s.nationalIDEnc); err != nil {
		return err
	}
	p.Phone, err = db.openField(fieldPhone, p.ID, s.phone, s.phoneEnc)
	return err
}

func (db *DB) openField(field string, row uuid.UUID, plain *string, sealed []byte) (string, error) {
	if sealed == nil {
		if plain == nil {
			return "", fmt.Errorf("%s holds neither form", field)
		}
		return *plain, nil
	}
	v, err := db.phi.Open(field, row, sealed)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", field, err)
	}
	return v, nil
}

// PHIStatus counts the sealed and plaintext identifiers of the patients.
type PHIStatus struct {
	// ByKey counts sealed values (national IDs and phones) by key id.
	ByKey map[string]int
	// Plaintext counts values still in clear, written before migration 0007.
	Plaintext int
}

// PHIStatus reports which keys seal the patients' identifiers: an old key
// may leave the ring once it counts nothing here.
func (db *DB) PHIStatus(ctx context.Context) (PHIStatus, error) {
	st := PHIStatus{ByKey: map[string]int{}}
	rows, _ := db.Pool.Query(ctx, `SELECT convert_from(substring(c FROM 3 FOR get_byte(c, 1)), 'UTF8'), count(*)
		FROM (SELECT national_id_enc FROM patients UNION ALL SELECT phone_enc FROM patients) s (c)
		WHERE c IS NOT NULL GROUP BY 1`)
	var key string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&key, &n}, func() error { st.ByKey[key] = n; return nil })
	if err != nil {
		return st, translate(err, "patients")
	}
	err = db.Pool.QueryRow(ctx, `SELECT count(national_id) + count(phone) FROM patients`).Scan(&st.Plaintext)
	return st, translate(err, "patients")
}

// RewriteMode says what RewritePHI makes of each row.
type RewriteMode int

// The rewrites RewritePHI performs.
const (
	// Rotate seals plaintext rows and re-seals rows under older keys with
	// the current key, recomputing their blind index.
	Rotate RewriteMode = iota
	// Reindex does what Rotate does and also recomputes the blind index of
	// every row, after the index key changed.
	Reindex
	// Unseal writes every row back in plaintext, so migration 0007 can be
	// reverted.
	Unseal
)

// RewritePHI rewrites the patients' identifiers in batches of batch rows,
// one transaction each, calling progress after each batch with the rows
// rewritten so far and the total that needed it. It is idempotent and
// resumable: rows already in the wanted form are skipped, so a run that
// stopped half-way is finished by running it again. It returns the number
// of rows rewritten.
func (db *DB) RewritePHI(ctx context.Context, mode RewriteMode, batch int, progress func(done, total int)) (int, error) {
	if batch < 1 {
		return 0, hg.Invalid("batch", "the batch size must be positive")
	}
	pending := `(national_id IS NOT NULL OR phone IS NOT NULL
		OR substring(national_id_enc FOR @plen) <> @prefix OR substring(phone_enc FOR @plen) <> @prefix)`
	switch mode {
	case Reindex:
		pending = "true"
	case Unseal:
		pending = "(national_id_enc IS NOT NULL OR phone_enc IS NOT NULL)"
	}
	prefix := db.phi.Prefix()
	args := namedArgs{"plen": len(prefix), "prefix": prefix, "after": uuid.Nil, "batch": batch}
	var total, done int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM patients WHERE `+pending, args).Scan(&total); err != nil {
		return 0, translate(err, "patients")
	}
	for {
		var n int
		var last uuid.UUID
		err := db.InTx(ctx, func(tx pgx.Tx) error {
			var err error
			n, last, err = db.rewriteBatch(ctx, tx, mode, pending, args)
			return err
		})
		if err != nil {
			return done, err
		}
		if last == uuid.Nil {
			return done, nil
		}
		done += n
		args["after"] = last
		if progress != nil {
			progress(done, max(total, done))
		}
	}
}

// phiRow is one patient's identifiers as a rewrite reads them.
type phiRow struct {
	id   uuid.UUID
	s    storedPHI
	hash []byte
}

// rewriteBatch locks the next batch of pending rows after args["after"],
// rewrites those not yet in the wanted form, and returns how many it
// rewrote and the last id it looked at (uuid.Nil when none was left).
func (db *DB) rewriteBatch(ctx context.Context, tx pgx.Tx, mode RewriteMode, pending string, args namedArgs) (int, uuid.UUID, error) {
	rows, _ := tx.Query(ctx, `SELECT id, national_id, national_id_enc, national_id_hash, phone, phone_enc
		FROM patients WHERE id > @after AND `+pending+` ORDER BY id LIMIT @batch FOR UPDATE`, args)
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (phiRow, error) {
		var x phiRow
		return x, r.Scan(&x.id, &x.s.nationalID, &x.s.nationalIDEnc, &x.hash, &x.s.phone, &x.s.phoneEnc)
	})
	if err != nil || len(rs) == 0 {
		return 0, uuid.Nil, translate(err, "patients")
	}
	n, err := db.writeBack(ctx, tx, mode, rs)
	return n, rs[len(rs)-1].id, err
}

// writeBack rewrites rs in the form mode wants, skipping rows already in
// it, in one statement: a thousand single-row UPDATEs cost several times
// more round trips and planning.
func (db *DB) writeBack(ctx context.Context, tx pgx.Tx, mode RewriteMode, rs []phiRow) (int, error) {
	var ids []uuid.UUID
	var nids, phones []string
	var nidEncs, hashes, phoneEncs [][]byte
	for _, r := range rs {
		p := hg.Patient{ID: r.id}
		if err := db.open(&p, &r.s); err != nil {
			return 0, hg.Errorf(hg.EINTERNAL, "patient %s: %v", r.id, err)
		}
		if mode != Unseal && db.current(r.s.nationalIDEnc) && db.current(r.s.phoneEnc) &&
			string(r.hash) == string(db.nationalIDIndex(p.NationalID)) {
			continue // a Reindex pass over a row already right
		}
		ids, nids, phones = append(ids, r.id), append(nids, p.NationalID), append(phones, p.Phone)
		if mode == Unseal {
			continue
		}
		sealed, err := db.SealPatientPHI(r.id, p.NationalID, p.Phone)
		if err != nil {
			return 0, err
		}
		nidEncs, hashes, phoneEncs = append(nidEncs, sealed.NationalIDEnc), append(hashes, sealed.NationalIDHash), append(phoneEncs, sealed.PhoneEnc)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	var err error
	if mode == Unseal {
		_, err = tx.Exec(ctx, `UPDATE patients p SET national_id = v.nid, phone = v.phone,
				national_id_enc = NULL, national_id_hash = NULL, phone_enc = NULL
			FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v (id, nid, phone) WHERE p.id = v.id`, ids, nids, phones)
	} else {
		_, err = tx.Exec(ctx, `UPDATE patients p SET national_id = NULL, phone = NULL,
				national_id_enc = v.nid, national_id_hash = v.hash, phone_enc = v.phone
			FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::bytea[]) AS v (id, nid, hash, phone)
			WHERE p.id = v.id`, ids, nidEncs, hashes, phoneEncs)
	}
	return len(ids), byConstraint(err, "patient", patientConflicts)
}

// current reports whether sealed was sealed by the current key.
func (db *DB) current(sealed []byte) bool {
	id, err := phi.KeyID(sealed)
	return err == nil && id == db.phi.CurrentID()
}
