package healthgraph

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Coverage is a patient's insurance policy with a payer registered in
// NPHIES. A patient may hold several.
type Coverage struct {
	ID        uuid.UUID
	PatientID uuid.UUID
	// PayerLicense is the payer's NPHIES licence (for example 7001463160);
	// PayerName is its display name.
	PayerLicense string
	PayerName    string
	MemberID     string
	PolicyNumber string
	// Class is the plan class the payer assigns (for example "VIP", "A").
	Class string
	// StartsOn and EndsOn bound the validity, as calendar dates at midnight
	// UTC; EndsOn is inclusive.
	StartsOn  time.Time
	EndsOn    time.Time
	CreatedAt time.Time
}

// ActiveOn reports whether the coverage is valid on the calendar date of d.
func (c *Coverage) ActiveOn(d time.Time) bool {
	d = DateOf(d)
	return !d.Before(c.StartsOn) && !d.After(c.EndsOn)
}

// NewCoverage is the input that adds a coverage to a patient.
type NewCoverage struct {
	PatientID    uuid.UUID
	PayerLicense string
	PayerName    string
	MemberID     string
	PolicyNumber string
	Class        string
	StartsOn     time.Time
	EndsOn       time.Time
}

// MaxCoverageText bounds member IDs, policy numbers and classes.
const MaxCoverageText = 64

var coverageIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ./_-]*$`)

// Validate checks c and trims its text fields, returning BAD_USER_INPUT
// naming the first field at fault.
func (c *NewCoverage) Validate() error {
	if c.PatientID == uuid.Nil {
		return Invalid("patientId", "patientId is required")
	}
	c.PayerLicense = strings.TrimSpace(c.PayerLicense)
	if !licensePattern.MatchString(c.PayerLicense) {
		return Invalid("payerLicense", "payer license must be 1 to %d letters, digits or dashes", MaxLicenseLength)
	}
	if err := validName("payerName", &c.PayerName, true); err != nil {
		return err
	}
	for _, f := range []struct {
		field    string
		v        *string
		required bool
	}{
		{"memberId", &c.MemberID, true},
		{"policyNumber", &c.PolicyNumber, false},
		{"class", &c.Class, false},
	} {
		*f.v = strings.TrimSpace(*f.v)
		switch {
		case *f.v == "" && f.required:
			return Invalid(f.field, "%s is required", f.field)
		case len(*f.v) > MaxCoverageText:
			return Invalid(f.field, "%s must be at most %d characters", f.field, MaxCoverageText)
		case *f.v != "" && !coverageIDPattern.MatchString(*f.v):
			return Invalid(f.field, "%s may hold only letters, digits, spaces and . / _ -", f.field)
		}
	}
	if c.StartsOn.IsZero() {
		return Invalid("startsOn", "startsOn is required")
	}
	if c.EndsOn.IsZero() {
		return Invalid("endsOn", "endsOn is required")
	}
	c.StartsOn, c.EndsOn = DateOf(c.StartsOn), DateOf(c.EndsOn)
	if c.EndsOn.Before(c.StartsOn) {
		return Invalid("endsOn", "endsOn must not be before startsOn")
	}
	return nil
}

// CoverageStore keeps coverages.
type CoverageStore interface {
	// AddCoverage validates and inserts c for a patient in scope. NOT_FOUND
	// when the patient is absent or outside scope; BAD_USER_INPUT naming
	// the field; CONFLICT when the patient already holds this member ID
	// with this payer.
	AddCoverage(ctx context.Context, scope PatientScope, c NewCoverage) (*Coverage, error)
	// CoveragesByPatientIDs returns the coverages of the patients among ids
	// that are in scope, newest validity first within a patient; loaders
	// use it.
	CoveragesByPatientIDs(ctx context.Context, scope PatientScope, patientIDs []uuid.UUID) ([]*Coverage, error)
	// CoverageByID returns NOT_FOUND when absent or its patient is outside
	// scope.
	CoverageByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*Coverage, error)
}
