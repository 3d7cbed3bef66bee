package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.PatientStore = (*DB)(nil)

// patientColumns are read by scanPatient. National ID and phone come in
// both forms (see migration 0007): sealed, or plaintext on rows not yet
// sealed.
const patientColumns = `p.id, p.mrn, p.national_id, p.national_id_enc, p.first_name, p.family_name,
	p.first_name_ar, p.family_name_ar, p.birth_date, p.gender, p.phone, p.phone_enc, p.email, p.occupation,
	p.marital_status, p.user_id, p.created_at, p.updated_at`

func (db *DB) scanPatient(row pgx.CollectableRow) (*hg.Patient, error) {
	return db.scanPatientWith(row)
}

// scanPatientWith scans patientColumns, then extra columns into extra, and
// opens the sealed identifiers.
func (db *DB) scanPatientWith(row pgx.CollectableRow, extra ...any) (*hg.Patient, error) {
	var p hg.Patient
	var s storedPHI
	err := row.Scan(append([]any{&p.ID, &p.MRN, &s.nationalID, &s.nationalIDEnc, &p.FirstName, &p.FamilyName,
		&p.FirstNameAr, &p.FamilyNameAr, &p.BirthDate, text[hg.Gender]{&p.Gender}, &s.phone, &s.phoneEnc, &p.Email,
		text[hg.Occupation]{&p.Occupation}, text[hg.MaritalStatus]{&p.MaritalStatus}, &p.UserID, &p.CreatedAt, &p.UpdatedAt}, extra...)...)
	if err != nil {
		return nil, err
	}
	return &p, db.open(&p, &s)
}

// patientConflicts names the input field behind each unique or foreign key
// constraint of patients.
var patientConflicts = map[string]*hg.Error{
	"patients_mrn_key":              {Code: hg.ECONFLICT, Field: "mrn", Message: "a patient with this MRN already exists"},
	"patients_national_id_key":      {Code: hg.ECONFLICT, Field: "nationalId", Message: "a patient with this national ID already exists"},
	"patients_national_id_hash_key": {Code: hg.ECONFLICT, Field: "nationalId", Message: "a patient with this national ID already exists"},
	"patients_user_id_key":          {Code: hg.ECONFLICT, Field: "userId", Message: "this user is already linked to a patient record"},
	"patients_user_id_fkey":         {Code: hg.EINVALID, Field: "userId", Message: "no such user"},
}

func (db *DB) queryPatient(ctx context.Context, sql string, args namedArgs) (*hg.Patient, error) {
	return db.queryPatientOn(ctx, db.Pool, sql, args)
}

// queryPatientOn runs a statement returning one patient through q, the
// pool or a transaction.
func (db *DB) queryPatientOn(ctx context.Context, q querier, sql string, args namedArgs) (*hg.Patient, error) {
	rows, _ := q.Query(ctx, sql, args)
	p, err := pgx.CollectExactlyOneRow(rows, db.scanPatient)
	return p, byConstraint(err, "patient", patientConflicts)
}

// CreatePatient validates and inserts a patient, assigning an MRN from the
// clinic's sequence when none is given.
func (db *DB) CreatePatient(ctx context.Context, in hg.NewPatient) (*hg.Patient, error) {
	if err := in.Validate(time.Now()); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	sealed, err := db.SealPatientPHI(id, in.NationalID, in.Phone)
	if err != nil {
		return nil, err
	}
	return audited(ctx, db, func(q querier) (*hg.Patient, error) {
		return db.queryPatientOn(ctx, q, `INSERT INTO patients AS p (id, mrn, national_id_enc, national_id_hash,
				first_name, family_name, first_name_ar, family_name_ar, birth_date, gender, phone_enc, email,
				occupation, marital_status, user_id)
			VALUES (@id, CASE WHEN @mrn::text = '' THEN 'MRN' || nextval('patient_mrn_seq') ELSE @mrn END,
				@national_id_enc, @national_id_hash, @first_name, @family_name, @first_name_ar, @family_name_ar,
				@birth_date, @gender, @phone_enc, @email, @occupation, @marital_status, @user_id)
			RETURNING `+patientColumns, namedArgs{
			"id": id, "mrn": in.MRN, "national_id_enc": sealed.NationalIDEnc, "national_id_hash": sealed.NationalIDHash,
			"first_name": in.FirstName, "family_name": in.FamilyName, "first_name_ar": in.FirstNameAr,
			"family_name_ar": in.FamilyNameAr, "birth_date": in.BirthDate, "gender": in.Gender,
			"phone_enc": sealed.PhoneEnc, "email": in.Email, "occupation": in.Occupation,
			"marital_status": in.MaritalStatus, "user_id": in.UserID,
		})
	}, patientSubject)
}

// patientSubject is what a write of a patient is audited as.
func patientSubject(p *hg.Patient) (uuid.UUID, *uuid.UUID) { return p.ID, &p.ID }

// UpdatePatient applies a partial update in one statement: each column
// keeps its value where the patch leaves the field nil. A national ID or
// phone the patch sets is sealed, replacing a legacy plaintext value.
func (db *DB) UpdatePatient(ctx context.Context, scope hg.PatientScope, id uuid.UUID, patch hg.PatientPatch) (*hg.Patient, error) {
	if err := patch.Validate(time.Now()); err != nil {
		return nil, err
	}
	var nidEnc, nidHash, phoneEnc []byte
	var err error
	if patch.NationalID != nil {
		if nidEnc, err = db.phi.Seal(fieldNationalID, id, *patch.NationalID); err != nil {
			return nil, err
		}
		nidHash = db.nationalIDIndex(*patch.NationalID)
	}
	if patch.Phone != nil {
		if phoneEnc, err = db.phi.Seal(fieldPhone, id, *patch.Phone); err != nil {
			return nil, err
		}
	}
	return audited(ctx, db, func(q querier) (*hg.Patient, error) {
		return db.queryPatientOn(ctx, q, `UPDATE patients AS p SET
			national_id      = CASE WHEN @national_id_enc::bytea IS NULL THEN p.national_id END,
			national_id_enc  = COALESCE(@national_id_enc, p.national_id_enc),
			national_id_hash = COALESCE(@national_id_hash, p.national_id_hash),
			first_name     = COALESCE(@first_name, p.first_name),
			family_name    = COALESCE(@family_name, p.family_name),
			first_name_ar  = COALESCE(@first_name_ar, p.first_name_ar),
			family_name_ar = COALESCE(@family_name_ar, p.family_name_ar),
			birth_date     = COALESCE(@birth_date, p.birth_date),
			gender         = COALESCE(@gender, p.gender),
			phone          = CASE WHEN @phone_enc::bytea IS NULL THEN p.phone END,
			phone_enc      = COALESCE(@phone_enc, p.phone_enc),
			email          = COALESCE(@email, p.email),
			occupation     = COALESCE(@occupation, p.occupation),
			marital_status = COALESCE(@marital_status, p.marital_status),
			updated_at     = now()
		WHERE p.id = @id AND `+inScope("p.id")+`
		RETURNING `+patientColumns, scopeArgs(scope, namedArgs{
			"id": id, "national_id_enc": nidEnc, "national_id_hash": nidHash, "first_name": patch.FirstName,
			"family_name": patch.FamilyName, "first_name_ar": patch.FirstNameAr,
			"family_name_ar": patch.FamilyNameAr, "birth_date": patch.BirthDate, "gender": patch.Gender,
			"phone_enc": phoneEnc, "email": patch.Email, "occupation": patch.Occupation,
			"marital_status": patch.MaritalStatus,
		}))
	}, patientSubject)
}

// PatientByID returns a patient in scope.
func (db *DB) PatientByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Patient, error) {
	return db.queryPatient(ctx, `SELECT `+patientColumns+` FROM patients p
		WHERE p.id = @id AND `+inScope("p.id"), scopeArgs(scope, namedArgs{"id": id}))
}

// PatientsByIDs returns the patients among ids that exist and are in scope,
// in one statement whatever the number of ids.
func (db *DB) PatientsByIDs(ctx context.Context, scope hg.PatientScope, ids []uuid.UUID) ([]*hg.Patient, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+patientColumns+` FROM patients p
		WHERE p.id = ANY(@ids) AND `+inScope("p.id"), scopeArgs(scope, namedArgs{"ids": ids}))
	ps, err := pgx.CollectRows(rows, db.scanPatient)
	return ps, translate(err, "patients")
}

// patientMatches is the filter of ListPatients over the patients aliased a.
// A national ID matches through its blind index, or in clear on a row not
// yet sealed.
func patientMatches(a string) string {
	return `(@search::text IS NULL
			OR ` + a + `.search_names LIKE '% ' || lower(@search_like::text) || '%'
			OR ` + a + `.mrn = @search OR ` + a + `.national_id_hash = @search_hash OR ` + a + `.national_id = @search)
		AND (@birth_date::date IS NULL OR ` + a + `.birth_date = @birth_date)
		AND (@payer::text IS NULL OR ` + a + `.id IN (SELECT c.patient_id FROM coverages c WHERE c.payer_license = @payer))
		AND ` + inScope(a+".id")
}

// patientSorts are the orders patients can be listed in: by creation, or
// by name as the database collates it.
var patientSorts = newestFirst("p.created_at", map[hg.SortField]sortKey{
	hg.SortName: {{"p.family_name", "text"}, {"p.first_name", "text"}},
})

// ListPatients returns a page of patients in scope in p.Sort, newest first
// by default. The page and
// its total come from one statement; the total is counted separately only
// when the page is empty.
func (db *DB) ListPatients(ctx context.Context, scope hg.PatientScope, f hg.PatientFilter, p hg.Page) ([]*hg.Patient, int, error) {
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	args := scopeArgs(scope, pageArgs(p, namedArgs{
		"search": nullIfEmpty(f.Search), "search_like": escapeLike(f.Search), "search_hash": db.searchIndex(f.Search),
		"birth_date": f.BirthDate, "payer": nullIfEmpty(f.PayerLicense),
	}))
	keyset, order, err := patientSorts.keyset(p, "p.id", args)
	if err != nil {
		return nil, 0, err
	}
	var total int
	rows, _ := db.Pool.Query(ctx, `SELECT `+patientColumns+`,
			`+countIf("patients t", patientMatches("t"))+`
		FROM patients p
		WHERE `+patientMatches("p")+` AND `+keyset+`
		ORDER BY `+order+` LIMIT @first`, args)
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hg.Patient, error) {
		return db.scanPatientWith(row, &total)
	})
	if err != nil {
		return nil, 0, translate(err, "patients")
	}
	if len(ps) == 0 && p.Count {
		err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM patients t WHERE `+patientMatches("t"), args).Scan(&total)
	}
	return ps, total, translate(err, "patients")
}

// LinkPatientUser links a login to a patient record that has none.
func (db *DB) LinkPatientUser(ctx context.Context, patientID, userID uuid.UUID) (*hg.Patient, error) {
	var p *hg.Patient
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		var linked *uuid.UUID
		err := tx.QueryRow(ctx, `SELECT user_id FROM patients WHERE id = $1 FOR UPDATE`, patientID).Scan(&linked)
		if err != nil {
			return translate(err, "patient")
		}
		if linked != nil {
			return hg.Errorf(hg.ECONFLICT, "this patient record is already linked to a user")
		}
		rows, _ := tx.Query(ctx, `UPDATE patients AS p SET user_id = @user_id, updated_at = now()
			WHERE p.id = @id RETURNING `+patientColumns, namedArgs{"id": patientID, "user_id": userID})
		p, err = pgx.CollectExactlyOneRow(rows, db.scanPatient)
		return byConstraint(err, "patient", patientConflicts)
	})
	return p, err
}

// The refusals of a claim that are not a failed match: they do not count
// towards the limit.
var (
	errClaimLimited = hg.Errorf(hg.ERATELIMITED,
		"too many failed attempts to claim a patient record; try again in an hour or ask reception")
	errAccountLinked = &hg.Error{Code: hg.ECONFLICT, Field: "userId", Message: "this account is already linked to a patient record"}
	errRecordLinked  = hg.Errorf(hg.ECONFLICT, "this patient record is already linked to another account; ask reception")
)

// ClaimPatientRecord links a PATIENT account to the record c matches, in
// one transaction that also appends the attempt's audit row. A refusal
// commits that row too: it is returned after the commit, not as the
// transaction's error.
func (db *DB) ClaimPatientRecord(ctx context.Context, userID uuid.UUID, c hg.PatientClaim, limit hg.AttemptLimit) (*hg.Patient, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var p *hg.Patient
	var refused error
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		e, err := lockClaimant(ctx, tx, userID, c)
		if err != nil {
			return err
		}
		p, refused, err = db.claim(ctx, tx, e, c, limit)
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return p, refused
}

// lockClaimant locks the account's row until the transaction ends, so its
// claims run one at a time and each counts the failures of those before
// it, and returns the audit event of the attempt, by the account.
func lockClaimant(ctx context.Context, tx pgx.Tx, userID uuid.UUID, c hg.PatientClaim) (*hg.AuditEvent, error) {
	e := &hg.AuditEvent{ActorID: &userID, EntityType: "User", EntityID: &userID, Detail: c.By()}
	err := tx.QueryRow(ctx, `SELECT role FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID).Scan(&e.ActorRole)
	if err != nil {
		return nil, translate(err, "user")
	}
	if e.ActorRole != hg.RolePatient {
		return nil, hg.Errorf(hg.EFORBIDDEN, "only a patient's own account can claim a patient record")
	}
	return e, nil
}

// claim decides an attempt under the account's lock and completes its
// audit event e. A refusal comes back as refused, with a nil error.
func (db *DB) claim(ctx context.Context, tx pgx.Tx, e *hg.AuditEvent, c hg.PatientClaim, limit hg.AttemptLimit) (p *hg.Patient, refused error, err error) {
	// A statement of its own, after the lock: its snapshot sees every
	// attempt that held the lock before.
	var linked bool
	var failures int
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM patients WHERE user_id = $1),
			(SELECT count(*) FROM audit_events WHERE actor_id = $1 AND action = $2
				AND created_at > now() - make_interval(secs => $3))`,
		e.ActorID, hg.AuditClaimFailed, limit.Window.Seconds()).Scan(&linked, &failures)
	if err != nil {
		return nil, nil, translate(err, "patient claim")
	}
	switch {
	case linked:
		e.Action, e.Detail = hg.AuditClaimRefused, "account already linked; "+e.Detail
		return nil, errAccountLinked, nil
	case failures >= limit.Max:
		e.Action, e.Detail = hg.AuditClaimRefused, "limit reached; "+e.Detail
		return nil, errClaimLimited, nil
	}
	match, err := db.claimedRecord(ctx, tx, c)
	switch {
	case err != nil:
		return nil, nil, err
	case match == nil:
		e.Action = hg.AuditClaimFailed
		e.Detail = fmt.Sprintf("failure %d of %d; %s", failures+1, limit.Max, e.Detail)
		return nil, hg.ErrClaimNoMatch, nil
	case match.user != nil:
		e.Action, e.Detail, e.PatientID = hg.AuditClaimRefused, "record already linked; "+e.Detail, &match.id
		return nil, errRecordLinked, nil
	}
	p, err = db.queryPatientOn(ctx, tx, `UPDATE patients AS p SET user_id = @user_id, updated_at = now()
		WHERE p.id = @id RETURNING `+patientColumns, namedArgs{"id": match.id, "user_id": e.ActorID})
	if err != nil {
		return nil, nil, err
	}
	e.Action, e.EntityType, e.EntityID, e.PatientID = hg.AuditClaimSucceeded, "Patient", &p.ID, &p.ID
	return p, nil, nil
}

// claimMatch is the record a claim names and the login it has, if any.
type claimMatch struct {
	id   uuid.UUID
	user *uuid.UUID
}

// claimedRecord locks and returns the one patient whose birth date and
// every identifier c gives match, or nil when none (or, impossibly, more
// than one) does. A national ID matches through its blind index, or in
// clear on a row not yet sealed.
func (db *DB) claimedRecord(ctx context.Context, tx pgx.Tx, c hg.PatientClaim) (*claimMatch, error) {
	var nidHash []byte
	if c.NationalID != "" {
		nidHash = db.nationalIDIndex(c.NationalID)
	}
	rows, _ := tx.Query(ctx, `SELECT p.id, p.user_id FROM patients p
		WHERE p.birth_date = @birth_date
		  AND (@mrn::text IS NULL OR p.mrn = @mrn)
		  AND (@national_id::text IS NULL OR p.national_id_hash = @national_id_hash OR p.national_id = @national_id)
		ORDER BY p.id LIMIT 2 FOR UPDATE`, namedArgs{
		"birth_date": c.BirthDate, "mrn": nullIfEmpty(c.MRN), "national_id": nullIfEmpty(c.NationalID),
		"national_id_hash": nidHash,
	})
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (claimMatch, error) {
		var m claimMatch
		err := row.Scan(&m.id, &m.user)
		return m, err
	})
	if err != nil || len(ms) != 1 {
		return nil, translate(err, "patient")
	}
	return &ms[0], nil
}

// PatientsByUserIDs returns the in-scope patient records linked to the
// logins among userIDs: the dataloader's batch for User.patient.
func (db *DB) PatientsByUserIDs(ctx context.Context, scope hg.PatientScope, userIDs []uuid.UUID) ([]*hg.Patient, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+patientColumns+` FROM patients p
		WHERE p.user_id = ANY(@ids) AND `+inScope("p.id"), scopeArgs(scope, namedArgs{"ids": userIDs}))
	ps, err := pgx.CollectRows(rows, db.scanPatient)
	return ps, translate(err, "patients")
}

// searchIndex is the blind index a patient search compares, or nil when
// the search cannot be a national ID.
func (db *DB) searchIndex(search string) []byte {
	if !hg.ValidNationalID(search) {
		return nil
	}
	return db.nationalIDIndex(search)
}
