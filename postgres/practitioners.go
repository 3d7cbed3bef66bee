package postgres

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.PractitionerStore = (*DB)(nil)

const practitionerColumns = `pr.id, pr.user_id, pr.first_name, pr.family_name, pr.specialty_code,
	pr.specialty, pr.license, pr.created_at`

func scanPractitioner(row pgx.CollectableRow) (*hg.Practitioner, error) {
	var p hg.Practitioner
	err := row.Scan(&p.ID, &p.UserID, &p.FirstName, &p.FamilyName, &p.SpecialtyCode, &p.Specialty,
		&p.License, &p.CreatedAt)
	return &p, err
}

var practitionerConflicts = map[string]*hg.Error{
	"practitioners_user_id_key":  {Code: hg.ECONFLICT, Field: "userId", Message: "this user is already a practitioner"},
	"practitioners_license_key":  {Code: hg.ECONFLICT, Field: "license", Message: "a practitioner with this license already exists"},
	"practitioners_user_id_fkey": {Code: hg.EINVALID, Field: "userId", Message: "no such user"},
}

func (db *DB) queryPractitioner(ctx context.Context, sql string, args ...any) (*hg.Practitioner, error) {
	rows, _ := db.Pool.Query(ctx, sql, args...)
	p, err := pgx.CollectExactlyOneRow(rows, scanPractitioner)
	return p, byConstraint(err, "practitioner", practitionerConflicts)
}

// CreatePractitioner validates and inserts a practitioner.
func (db *DB) CreatePractitioner(ctx context.Context, in hg.NewPractitioner) (*hg.Practitioner, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	return db.queryPractitioner(ctx, `INSERT INTO practitioners AS pr
			(id, user_id, first_name, family_name, specialty_code, specialty, license)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+practitionerColumns,
		id, in.UserID, in.FirstName, in.FamilyName, in.SpecialtyCode, in.Specialty, in.License)
}

// PractitionerByID returns the practitioner with id.
func (db *DB) PractitionerByID(ctx context.Context, id uuid.UUID) (*hg.Practitioner, error) {
	return db.queryPractitioner(ctx, `SELECT `+practitionerColumns+` FROM practitioners pr WHERE pr.id = $1`, id)
}

// PractitionerByUserID returns the practitioner linked to a user.
func (db *DB) PractitionerByUserID(ctx context.Context, userID uuid.UUID) (*hg.Practitioner, error) {
	return db.queryPractitioner(ctx, `SELECT `+practitionerColumns+` FROM practitioners pr WHERE pr.user_id = $1`, userID)
}

// PractitionersByUserIDs returns the practitioners the logins among
// userIDs act as: the dataloader's batch for User.practitioner.
func (db *DB) PractitionersByUserIDs(ctx context.Context, userIDs []uuid.UUID) ([]*hg.Practitioner, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+practitionerColumns+` FROM practitioners pr WHERE pr.user_id = ANY($1)`, userIDs)
	ps, err := pgx.CollectRows(rows, scanPractitioner)
	return ps, translate(err, "practitioners")
}

// PractitionersByIDs returns the practitioners among ids that exist.
func (db *DB) PractitionersByIDs(ctx context.Context, ids []uuid.UUID) ([]*hg.Practitioner, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+practitionerColumns+` FROM practitioners pr WHERE pr.id = ANY($1)`, ids)
	ps, err := pgx.CollectRows(rows, scanPractitioner)
	return ps, translate(err, "practitioners")
}

// practitionerSorts: practitioners are listed by creation.
var practitionerSorts = newestFirst("pr.created_at", nil)

// ListPractitioners returns a page of practitioners in p.Sort (newest first by default), and how many
// match, from one statement.
func (db *DB) ListPractitioners(ctx context.Context, f hg.PractitionerFilter, p hg.Page) ([]*hg.Practitioner, int, error) {
	const match = `(@specialty::text IS NULL OR %[1]s.specialty_code = @specialty OR lower(%[1]s.specialty) = lower(@specialty))`
	args := pageArgs(p, namedArgs{"specialty": nullIfEmpty(strings.TrimSpace(f.Specialty))})
	keyset, order, err := practitionerSorts.keyset(p, "pr.id", args)
	if err != nil {
		return nil, 0, err
	}
	var total int
	rows, _ := db.Pool.Query(ctx, `SELECT `+practitionerColumns+`,
			`+countIf("practitioners t", sprintf(match, "t"))+`
		FROM practitioners pr
		WHERE `+sprintf(match, "pr")+` AND `+keyset+`
		ORDER BY `+order+` LIMIT @first`, args)
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*hg.Practitioner, error) {
		var p hg.Practitioner
		err := row.Scan(&p.ID, &p.UserID, &p.FirstName, &p.FamilyName, &p.SpecialtyCode, &p.Specialty,
			&p.License, &p.CreatedAt, &total)
		return &p, err
	})
	if err != nil {
		return nil, 0, translate(err, "practitioners")
	}
	if len(ps) == 0 && p.Count {
		err = db.Pool.QueryRow(ctx, `SELECT count(*) FROM practitioners t WHERE `+sprintf(match, "t"), args).Scan(&total)
	}
	return ps, total, translate(err, "practitioners")
}
