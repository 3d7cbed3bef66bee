package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
)

var _ hg.CoverageStore = (*DB)(nil)

const coverageColumns = `c.id, c.patient_id, c.payer_license, c.payer_name, c.member_id, c.member_id_system,
	c.policy_number, c.class, c.plan_name, c.relationship, c.subscriber_id, c.policy_holder_id, c.policy_holder_name,
	c.starts_on, c.ends_on, c.created_at`

func scanCoverage(row pgx.CollectableRow) (*hg.Coverage, error) {
	var c hg.Coverage
	var holderID, holderName *string
	err := row.Scan(&c.ID, &c.PatientID, &c.PayerLicense, &c.PayerName, &c.MemberID, &c.MemberIDSystem,
		&c.PolicyNumber, &c.Class, &c.PlanName, &c.Relationship, &c.SubscriberID, &holderID, &holderName,
		&c.StartsOn, &c.EndsOn, &c.CreatedAt)
	if holderID != nil && holderName != nil {
		c.PolicyHolder = &hg.PolicyHolder{ID: *holderID, Name: *holderName}
	}
	return &c, err
}

var coverageConflicts = map[string]*hg.Error{
	"coverages_patient_id_payer_license_member_id_key": {Code: hg.ECONFLICT, Field: "memberId",
		Message: "the patient already holds this member ID with this payer"},
}

// AddCoverage inserts a coverage for a patient in scope. The insert selects
// the patient through the scope, so a patient outside it is NOT_FOUND.
func (db *DB) AddCoverage(ctx context.Context, scope hg.PatientScope, in hg.NewCoverage) (*hg.Coverage, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	return audited(ctx, db, func(q querier) (*hg.Coverage, error) {
		return addCoverage(ctx, q, scope, id, in)
	}, func(c *hg.Coverage) (uuid.UUID, *uuid.UUID) { return c.ID, &c.PatientID })
}

// addCoverage inserts the coverage through q. A subscriber must be a
// patient in scope too: the caller learns no more of a record outside it
// than that there is none.
func addCoverage(ctx context.Context, q querier, scope hg.PatientScope, id uuid.UUID, in hg.NewCoverage) (*hg.Coverage, error) {
	if in.SubscriberID != nil {
		var found bool
		err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM patients p WHERE p.id = @id AND `+inScope("p.id")+`)`,
			scopeArgs(scope, namedArgs{"id": *in.SubscriberID})).Scan(&found)
		if err != nil {
			return nil, translate(err, "subscriber")
		}
		if !found {
			return nil, hg.Invalid("subscriberId", "no such patient: register the subscriber as a patient first")
		}
	}
	var holderID, holderName *string
	if h := in.PolicyHolder; h != nil {
		holderID, holderName = &h.ID, &h.Name
	}
	rows, _ := q.Query(ctx, `INSERT INTO coverages AS c (id, patient_id, payer_license, payer_name,
			member_id, member_id_system, policy_number, class, plan_name, relationship, subscriber_id,
			policy_holder_id, policy_holder_name, starts_on, ends_on)
		SELECT @id, p.id, @payer_license, @payer_name, @member_id, @member_id_system, @policy_number, @class,
			@plan_name, @relationship, @subscriber_id, @policy_holder_id, @policy_holder_name, @starts_on, @ends_on
		FROM patients p WHERE p.id = @patient_id AND `+inScope("p.id")+`
		RETURNING `+coverageColumns, scopeArgs(scope, namedArgs{
		"id": id, "patient_id": in.PatientID, "payer_license": in.PayerLicense, "payer_name": in.PayerName,
		"member_id": in.MemberID, "member_id_system": in.MemberIDSystem, "policy_number": in.PolicyNumber,
		"class": in.Class, "plan_name": in.PlanName, "relationship": in.Relationship, "subscriber_id": in.SubscriberID,
		"policy_holder_id": holderID, "policy_holder_name": holderName, "starts_on": in.StartsOn, "ends_on": in.EndsOn,
	}))
	c, err := pgx.CollectExactlyOneRow(rows, scanCoverage)
	return c, byConstraint(err, "patient", coverageConflicts)
}

// CoveragesByPatientIDs returns the coverages of the patients among ids in
// scope, latest validity first within each patient.
func (db *DB) CoveragesByPatientIDs(ctx context.Context, scope hg.PatientScope, patientIDs []uuid.UUID) ([]*hg.Coverage, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+coverageColumns+` FROM coverages c
		WHERE c.patient_id = ANY(@ids) AND `+inScope("c.patient_id")+`
		ORDER BY c.patient_id, c.ends_on DESC, c.id`, scopeArgs(scope, namedArgs{"ids": patientIDs}))
	cs, err := pgx.CollectRows(rows, scanCoverage)
	return cs, translate(err, "coverages")
}

// CoverageByID returns a coverage of a patient in scope.
func (db *DB) CoverageByID(ctx context.Context, scope hg.PatientScope, id uuid.UUID) (*hg.Coverage, error) {
	rows, _ := db.Pool.Query(ctx, `SELECT `+coverageColumns+` FROM coverages c
		WHERE c.id = @id AND `+inScope("c.patient_id"), scopeArgs(scope, namedArgs{"id": id}))
	c, err := pgx.CollectExactlyOneRow(rows, scanCoverage)
	return c, translate(err, "coverage")
}
