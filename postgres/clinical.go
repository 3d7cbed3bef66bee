package postgres

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	hg "github.com/healthgraph/healthgraph"
)

// inScope returns a predicate that holds when the patient whose id is the
// SQL expression patientID lies inside the PatientScope bound by
// scopeArgs. It is how every clinical read applies authorization in SQL:
// nested fields and loaders cannot reach past it. A scope admitting nobody
// binds false and two NULLs, so the predicate is never true.
//
// The IN subqueries let the planner hash the caller's few related patients
// once instead of probing per row.
func inScope(patientID string) string {
	return `(@scope_all::boolean
		OR ` + patientID + ` IN (SELECT sp.id FROM patients sp WHERE sp.user_id = @scope_self::uuid)
		OR ` + patientID + ` IN (SELECT sa.patient_id FROM appointments sa
			JOIN practitioners spr ON spr.id = sa.practitioner_id WHERE spr.user_id = @scope_care::uuid)
		OR ` + patientID + ` IN (SELECT sg.patient_id FROM break_glass_grants sg
			WHERE sg.user_id = @scope_care::uuid AND sg.expires_at > now()))`
}

// scopeArgs binds s for inScope into args and returns args.
func scopeArgs(s hg.PatientScope, args namedArgs) namedArgs {
	args["scope_all"] = s.All
	args["scope_self"] = s.SelfUserID
	args["scope_care"] = s.CareUserID
	return args
}

// countIf is a column that counts the rows of from matching where, or is 0
// when the page did not ask for a count (pageArgs' @count): Postgres runs
// the uncorrelated subquery only when the CASE reaches it.
func countIf(from, where string) string {
	return `CASE WHEN @count::boolean THEN (SELECT count(*) FROM ` + from + ` WHERE ` + where + `) ELSE 0 END`
}

// escapeLike makes s match itself literally inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// byConstraint translates err like translate, except that a violation of
// one of the named constraints becomes the domain error given for it, so a
// duplicate national ID says CONFLICT on "nationalId" rather than a
// generic conflict. Constraint names are the schema's stable identifiers,
// set in the migrations.
func byConstraint(err error, what string, known map[string]*hg.Error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if dom, ok := known[pgErr.ConstraintName]; ok {
			return &wrapped{dom, err}
		}
	}
	return translate(err, what)
}

// nullIfEmpty turns an empty string into SQL NULL, for optional filters.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newID returns a UUIDv7: ids sort by creation time, which keeps the
// primary key index append-mostly.
func newID() (uuid.UUID, error) { return uuid.NewV7() }

// sprintf fills a SQL template with table aliases; it never sees input.
func sprintf(format string, aliases ...any) string { return fmt.Sprintf(format, aliases...) }
