package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.RecordStore = (*DB)(nil)

const recordColumns = `r.id, r.patient_id, r.author_id, r.kind, r.codes, r.body, r.version,
	r.supersedes_id, r.superseded_by, r.created_at`

func scanRecord(row pgx.CollectableRow) (*hg.MedicalRecord, error) {
	var r hg.MedicalRecord
	err := row.Scan(&r.ID, &r.PatientID, &r.AuthorID, &r.Kind, &r.Codes, &r.Body, &r.Version,
		&r.SupersedesID, &r.SupersededByID, &r.CreatedAt)
	return &r, err
}

var recordConflicts = map[string]*hg.Error{
	"medical_records_author_id_fkey":    {Code: hg.EINVALID, Field: "authorId", Message: "no such author"},
	"medical_records_supersedes_id_key": {Code: hg.ECONFLICT, Field: "id", Message: "the record was amended meanwhile; reload and try again"},
	"medical_records_superseded_by_key": {Code: hg.ECONFLICT, Field: "id", Message: "the record was amended meanwhile; reload and try again"},
	"medical_records_codes_check":       {Code: hg.EINVALID, Field: "codes", Message: "codes must be ICD-10 codes"},
	"medical_records_body_check":        {Code: hg.EINVALID, Field: "body", Message: "body is empty or too long"},
}

// AddRecord appends version 1 of a record to the chart of a patient in
// scope; the insert selects the patient through the scope.
func (db *DB) AddRecord(ctx context.Context, scope hg.PatientScope, in hg.NewRecord) (*hg.MedicalRecord, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	return audited(ctx, db, func(q querier) (*hg.MedicalRecord, error) {
		return addRecord(ctx, q, scope, id, in)
	}, recordSubject)
}

// recordSubject is what a write of a record is audited as.
func recordSubject(r *hg.MedicalRecord) (uuid.UUID, *uuid.UUID) { return r.ID, &r.PatientID }

// addRecord inserts version 1 of a record through q.
func addRecord(ctx context.Context, q querier, scope hg.PatientScope, id uuid.UUID, in hg.NewRecord) (*hg.MedicalRecord, error) {
	rows, _ := q.Query(ctx, `INSERT INTO medical_records AS r (id, patient_id, author_id, kind, codes, body)
		SELECT @id, p.id, @author_id, @kind, @codes, @body
		FROM patients p WHERE p.id = @patient_id AND `+inScope("p.id")+`
		RETURNING `+recordColumns, scopeArgs(scope, namedArgs{
		"id": id, "patient_id": in.PatientID, "author_id": in.AuthorID, "kind": in.Kind,
		"codes": in.Codes, "body": in.Body,
	}))
	r, err := pgx.CollectExactlyOneRow(rows, scanRecord)
	return r, byConstraint(err, "patient", recordConflicts)
}

// AmendRecord appends a new version and links the old one to it in one
// transaction: either both happen or neither. The old row is locked first,
// and the unique supersedes_id settles any race that slips past the lock.
func (db *DB) AmendRecord(ctx context.Context, scope hg.PatientScope, in hg.RecordAmendment) (*hg.MedicalRecord, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	var r *hg.MedicalRecord
	err = db.inAuditedTx(ctx, func(tx pgx.Tx) error {
		old, err := recordForUpdate(ctx, tx, scope, in.RecordID)
		if err != nil {
			return err
		}
		if old.SupersededByID != nil {
			return &hg.Error{Code: hg.ECONFLICT, Field: "id", Message: "only the current version of a record can be amended"}
		}
		if old.Kind == hg.RecordDiagnosis && len(in.Codes) == 0 {
			return hg.Invalid("codes", "a diagnosis needs at least one ICD-10 code")
		}
		rows, _ := tx.Query(ctx, `INSERT INTO medical_records AS r
				(id, patient_id, author_id, kind, codes, body, version, supersedes_id)
			VALUES (@id, @patient_id, @author_id, @kind, @codes, @body, @version, @supersedes_id)
			RETURNING `+recordColumns, namedArgs{
			"id": id, "patient_id": old.PatientID, "author_id": in.AuthorID, "kind": old.Kind,
			"codes": in.Codes, "body": in.Body, "version": old.Version + 1, "supersedes_id": old.ID,
		})
		if r, err = pgx.CollectExactlyOneRow(rows, scanRecord); err != nil {
			return byConstraint(err, "medical record", recordConflicts)
		}
		_, err = tx.Exec(ctx, `UPDATE medical_records SET superseded_by = $2 WHERE id = $1`, old.ID, r.ID)
		return byConstraint(err, "medical record", recordConflicts)
	}, func() (uuid.UUID, *uuid.UUID) { return recordSubject(r) })
	return r, err
}

// recordForUpdate locks a record version the write scope may amend. One
// outside the read scope is NOT_FOUND, as for a read; one the caller can
// read but did not author, when the scope names an owner, is FORBIDDEN.
// A version's author never changes and the row stays locked until the
// amendment commits, so the check cannot go stale.
func recordForUpdate(ctx context.Context, tx pgx.Tx, scope hg.PatientScope, id uuid.UUID) (*hg.MedicalRecord, error) {
	var owned bool
	rows, _ := tx.Query(ctx, `SELECT `+recordColumns+`, (@scope_owner::uuid IS NULL OR r.author_id = @scope_owner::uuid)
		FROM medical_records r
		WHERE r.id = @id AND `+inScope("r.patient_id")+` FOR UPDATE OF r`,
		writeArgs(scope, namedArgs{"id": id}))
	rec, err := pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (*hg.MedicalRecord, error) {
		var r hg.MedicalRecord
		err := row.Scan(&r.ID, &r.PatientID, &r.AuthorID, &r.Kind, &r.Codes, &r.Body, &r.Version,
			&r.SupersedesID, &r.SupersededByID, &r.CreatedAt, &owned)
		return &r, err
	})
	if err == nil && !owned {
		return nil, &hg.Error{Code: hg.EFORBIDDEN, Field: "id", Message: "a practitioner may amend only records they wrote"}
	}
	return rec, translate(err, "medical record")
}

// RecordByID returns any version of a record of a patient in scope.
func (db *DB) RecordByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.MedicalRecord, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+recordColumns+` FROM medical_records r
		WHERE r.id = @id AND `+inScope("r.patient_id"), scopeArgs(scope, namedArgs{"id": id}))
	r, err := pgx.CollectExactlyOneRow(rows, scanRecord)
	return r, translate(err, "medical record")
}

// RecordsByIDs returns the records among ids in scope.
func (db *DB) RecordsByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.MedicalRecord, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+recordColumns+` FROM medical_records r
		WHERE r.id = ANY(@ids) AND `+inScope("r.patient_id"), scopeArgs(scope, namedArgs{"ids": ids}))
	rs, err := pgx.CollectRows(rows, scanRecord)
	return rs, translate(err, "medical records")
}

const recordMatch = `%[1]s.patient_id = @patient_id
	AND (@kind::text IS NULL OR %[1]s.kind = @kind)
	AND (@from::timestamptz IS NULL OR %[1]s.created_at >= @from)
	AND (@to::timestamptz IS NULL OR %[1]s.created_at < @to)
	AND (@include_superseded::boolean OR %[1]s.superseded_by IS NULL)`

// recordSorts: records are listed by when they were written.
var recordSorts = newestFirst("r.created_at", nil)

// ListRecords returns a page of a patient's records in p.Sort (newest first by default), and how many
// match. An empty page costs a second statement that also tells an
// empty chart from a patient outside scope.
func (db *DB) ListRecords(ctx context.Context, scope hg.PatientScope, patientID uuid.UUID, f hg.RecordFilter, p hg.Page) ([]*hg.MedicalRecord, int, error) {
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	args := scopeArgs(scope, pageArgs(p, namedArgs{
		"patient_id": patientID, "kind": f.Kind, "from": f.From, "to": f.To,
		"include_superseded": f.IncludeSuperseded,
	}))
	keyset, order, err := recordSorts.keyset(p, "r.id", args)
	if err != nil {
		return nil, 0, err
	}
	var total int
	rows, _ := db.Pool.Query(ctx, `SELECT `+recordColumns+`,
			`+countIf("medical_records t", sprintf(recordMatch, "t"))+`
		FROM medical_records r
		WHERE `+sprintf(recordMatch, "r")+` AND `+inScope("@patient_id::uuid")+` AND `+keyset+`
		ORDER BY `+order+` LIMIT @first`, args)
	rs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hg.MedicalRecord, error) {
		var r hg.MedicalRecord
		err := row.Scan(&r.ID, &r.PatientID, &r.AuthorID, &r.Kind, &r.Codes, &r.Body, &r.Version,
			&r.SupersedesID, &r.SupersededByID, &r.CreatedAt, &total)
		return &r, err
	})
	if err != nil {
		return nil, 0, translate(err, "medical records")
	}
	if len(rs) > 0 {
		return rs, total, nil
	}
	var visible bool
	err = db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM patients p WHERE p.id = @patient_id AND `+inScope("p.id")+`),
		`+countIf("medical_records t", sprintf(recordMatch, "t")), args).Scan(&visible, &total)
	if err != nil {
		return nil, 0, translate(err, "medical records")
	}
	if !visible {
		return nil, 0, hg.Errorf(hg.ENOTFOUND, "patient not found")
	}
	return rs, total, nil
}

// LatestRecordsByPatientIDs returns each in-scope patient's newest current
// records, up to limit per patient, in one statement.
func (db *DB) LatestRecordsByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID, limit int) ([]*hg.MedicalRecord, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+recordColumns+`
		FROM unnest(@ids::uuid[]) AS k(patient_id)
		CROSS JOIN LATERAL (
			SELECT * FROM medical_records x
			WHERE x.patient_id = k.patient_id AND x.superseded_by IS NULL
			ORDER BY x.created_at DESC, x.id DESC LIMIT @limit) r
		WHERE `+inScope("k.patient_id")+`
		ORDER BY r.patient_id, r.created_at DESC, r.id DESC`,
		scopeArgs(scope, namedArgs{"ids": patientIDs, "limit": max(limit, 0)}))
	rs, err := pgx.CollectRows(rows, scanRecord)
	return rs, translate(err, "medical records")
}
