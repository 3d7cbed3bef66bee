package healthgraph

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// MaxLicenseLength bounds licence numbers (SCFHS practitioner licences,
// NPHIES payer licences).
const MaxLicenseLength = 32

// Practitioner is a clinician who sees patients. Each is linked to the user
// account they log in with.
type Practitioner struct {
	ID         uuid.UUID
	UserID     uuid.UUID
	FirstName  string
	FamilyName string
	// SpecialtyCode is the NPHIES practice code (for example "08.00");
	// Specialty is its display name ("Internal Medicine").
	SpecialtyCode string
	Specialty     string
	// License is the practitioner's SCFHS registration number.
	License   string
	CreatedAt time.Time
}

// NewPractitioner is the input that creates a practitioner.
type NewPractitioner struct {
	UserID        uuid.UUID
	FirstName     string
	FamilyName    string
	SpecialtyCode string
	Specialty     string
	License       string
}

// PractitionerFilter narrows a list of practitioners. Zero fields do not
// filter.
type PractitionerFilter struct {
	// Specialty matches the practice code or, in any letter case, the
	// display name.
	Specialty string
}

// PractitionerStore keeps practitioners. Practitioners are not patient data,
// so reads take no PatientScope.
type PractitionerStore interface {
	// CreatePractitioner validates and inserts p. BAD_USER_INPUT names the
	// field at fault (an unknown user is "userId"); CONFLICT when the user
	// or the licence already belongs to a practitioner.
	CreatePractitioner(ctx context.Context, p NewPractitioner) (*Practitioner, error)
	// PractitionerByID returns NOT_FOUND when there is no such practitioner.
	PractitionerByID(ctx context.Context, id uuid.UUID) (*Practitioner, error)
	// PractitionerByUserID returns the practitioner linked to a user, or
	// NOT_FOUND.
	PractitionerByUserID(ctx context.Context, userID uuid.UUID) (*Practitioner, error)
	// PractitionersByIDs returns those among ids that exist, in no set
	// order; loaders use it.
	PractitionersByIDs(ctx context.Context, ids []uuid.UUID) ([]*Practitioner, error)
	// PractitionersByUserIDs returns the practitioners the logins among
	// userIDs act as, in no set order.
	PractitionersByUserIDs(ctx context.Context, userIDs []uuid.UUID) ([]*Practitioner, error)
	// ListPractitioners returns one page, newest first, and how many match.
	ListPractitioners(ctx context.Context, f PractitionerFilter, p Page) ([]*Practitioner, int, error)
}

var (
	licensePattern   = regexp.MustCompile(`^[A-Za-z0-9-]{1,32}$`)
	specialtyPattern = regexp.MustCompile(`^[0-9]{2}\.[0-9]{2}$`)
)

// Validate checks p and trims its text fields, returning BAD_USER_INPUT
// naming the first field at fault.
func (p *NewPractitioner) Validate() error {
	if p.UserID == uuid.Nil {
		return Invalid("userId", "userId is required")
	}
	if err := validName("firstName", &p.FirstName, true); err != nil {
		return err
	}
	if err := validName("familyName", &p.FamilyName, true); err != nil {
		return err
	}
	p.SpecialtyCode = strings.TrimSpace(p.SpecialtyCode)
	if !specialtyPattern.MatchString(p.SpecialtyCode) {
		return Invalid("specialtyCode", "specialty code must be an NPHIES practice code such as 08.00")
	}
	if err := validName("specialty", &p.Specialty, true); err != nil {
		return err
	}
	p.License = strings.TrimSpace(p.License)
	if !licensePattern.MatchString(p.License) {
		return Invalid("license", "license must be 1 to %d letters, digits or dashes", MaxLicenseLength)
	}
	return nil
}
