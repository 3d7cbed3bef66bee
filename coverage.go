package healthgraph

import (
	"context"
	"net/url"
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
	// MemberIDSystem is the payer's own identifier system for member IDs
	// (for example http://sni.com.sa/memberid); empty when the payer's is
	// known to NPHIES messages by its licence.
	MemberIDSystem string
	PolicyNumber   string
	// Class is the plan class the payer assigns (for example "VIP", "A");
	// NPHIES carries it as the coverage's one class of type plan.
	Class string
	// PlanName names the plan; empty when the class says it all.
	PlanName string
	// Relationship is the patient's to the subscriber: SELF when the
	// patient holds the policy, otherwise SubscriberID names the patient
	// record of the subscriber (the employee whose policy covers a spouse
	// or child).
	Relationship Relationship
	SubscriberID *uuid.UUID
	// PolicyHolder is the organisation (an employer) that holds a group
	// policy; nil when the subscriber holds it.
	PolicyHolder *PolicyHolder
	// StartsOn and EndsOn bound the validity, as calendar dates at midnight
	// UTC; EndsOn is inclusive.
	StartsOn  time.Time
	EndsOn    time.Time
	CreatedAt time.Time
}

// PolicyHolder is the organisation holding a group policy.
type PolicyHolder struct {
	// ID is the organisation's identifier with the payer (for example its
	// establishment number).
	ID   string
	Name string
}

// Relationship is a beneficiary's relationship to the subscriber of a
// policy: NPHIES's subscriber-relationship code list.
type Relationship string

// The relationships a coverage may record.
const (
	RelationshipSelf            Relationship = "SELF"
	RelationshipSpouse          Relationship = "SPOUSE"
	RelationshipChild           Relationship = "CHILD"
	RelationshipParent          Relationship = "PARENT"
	RelationshipCommonLawSpouse Relationship = "COMMON_LAW_SPOUSE"
	RelationshipOther           Relationship = "OTHER"
	RelationshipInjuredParty    Relationship = "INJURED_PARTY"
)

// Valid reports whether r is one of the known relationships.
func (r Relationship) Valid() bool {
	switch r {
	case RelationshipSelf, RelationshipSpouse, RelationshipChild, RelationshipParent,
		RelationshipCommonLawSpouse, RelationshipOther, RelationshipInjuredParty:
		return true
	}
	return false
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
	// MemberIDSystem is optional: an absolute http(s) URL.
	MemberIDSystem string
	PolicyNumber   string
	Class          string
	PlanName       string
	// Relationship defaults to SELF; any other needs SubscriberID.
	Relationship Relationship
	SubscriberID *uuid.UUID
	PolicyHolder *PolicyHolder
	StartsOn     time.Time
	EndsOn       time.Time
}

// Limits NPHIES sets on coverage fields (validation rules BV-00322,
// BV-00323, BV-00261, BV-00275), beside MaxCoverageText for member IDs
// and policy numbers.
const (
	MaxCoverageText     = 64
	MaxPlanClassLength  = 30
	MaxPlanNameLength   = 100
	MaxMemberSystemURL  = 255
	MaxPolicyHolderName = 100
)

var coverageIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ./_-]*$`)

// Validate checks c and trims its text fields, returning BAD_USER_INPUT
// naming the first field at fault.
func (c *NewCoverage) Validate() error {
	if c.PatientID == uuid.Nil {
		return Invalid("patientId", "patientId is required")
	}
	if err := ValidatePayer(&c.PayerLicense, &c.PayerName); err != nil {
		return err
	}
	for _, f := range []struct {
		field    string
		v        *string
		required bool
	}{
		{"memberId", &c.MemberID, true},
		{"policyNumber", &c.PolicyNumber, false},
		// NPHIES requires the plan class on every coverage (BV-00729).
		{"class", &c.Class, true},
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
	if len(c.Class) > MaxPlanClassLength {
		return Invalid("class", "class must be at most %d characters (NPHIES BV-00322)", MaxPlanClassLength)
	}
	if err := validText("planName", &c.PlanName, MaxPlanNameLength); err != nil {
		return err
	}
	if c.PlanName != "" && c.Class == "" {
		return Invalid("planName", "planName names the plan class: give class too")
	}
	if err := validMemberSystem(&c.MemberIDSystem); err != nil {
		return err
	}
	if err := c.validateParties(); err != nil {
		return err
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

// ValidatePayer checks and trims a payer's licence and name, returning
// BAD_USER_INPUT naming "payerLicense" or "payerName".
func ValidatePayer(license, name *string) error {
	*license = strings.TrimSpace(*license)
	if !licensePattern.MatchString(*license) {
		return Invalid("payerLicense", "payer license must be 1 to %d letters, digits or dashes", MaxLicenseLength)
	}
	return validName("payerName", name, true)
}

// validateParties checks who the policy involves: a beneficiary other than
// the subscriber names the subscriber's patient record, and a policy
// holder has both an identifier and a name.
func (c *NewCoverage) validateParties() error {
	if c.Relationship == "" {
		c.Relationship = RelationshipSelf
	}
	if !c.Relationship.Valid() {
		return Invalid("relationship", "relationship %q is not one NPHIES knows", c.Relationship)
	}
	if c.SubscriberID != nil && (*c.SubscriberID == uuid.Nil || *c.SubscriberID == c.PatientID) {
		if c.Relationship != RelationshipSelf {
			return Invalid("subscriberId", "the subscriber of a %s relationship is another patient", c.Relationship)
		}
		c.SubscriberID = nil // the patient is her own subscriber
	}
	switch {
	case c.Relationship == RelationshipSelf && c.SubscriberID != nil:
		return Invalid("relationship", "a coverage with a subscriber other than the patient needs the patient's relationship to them")
	case c.Relationship != RelationshipSelf && c.SubscriberID == nil:
		return Invalid("subscriberId", "a %s is covered through a subscriber: give the subscriber's patient record", c.Relationship)
	}
	if h := c.PolicyHolder; h != nil {
		h.ID = strings.TrimSpace(h.ID)
		switch {
		case h.ID == "":
			return Invalid("policyHolder.id", "policyHolder.id is required")
		case len(h.ID) > MaxCoverageText || !coverageIDPattern.MatchString(h.ID):
			return Invalid("policyHolder.id", "policyHolder.id must be at most %d letters, digits, spaces and . / _ -", MaxCoverageText)
		}
		if err := validName("policyHolder.name", &h.Name, true); err != nil {
			return err
		}
	}
	return nil
}

// validMemberSystem trims an optional member-ID system and checks it is an
// absolute http(s) URL NPHIES accepts as an identifier system.
func validMemberSystem(v *string) error {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		return nil
	}
	u, err := url.Parse(*v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*v) > MaxMemberSystemURL ||
		strings.ContainsAny(*v, " \t\n") {
		return Invalid("memberIdSystem", "memberIdSystem must be the payer's absolute http(s) URL, at most %d characters, "+
			"for example http://payer.example.sa/memberid", MaxMemberSystemURL)
	}
	return nil
}

// CoverageStore keeps coverages.
type CoverageStore interface {
	// AddCoverage validates and inserts c for a patient in scope. NOT_FOUND
	// when the patient is absent or outside scope; BAD_USER_INPUT naming
	// the field (subscriberId when the subscriber is absent or outside
	// scope); CONFLICT when the patient already holds this member ID with
	// this payer.
	AddCoverage(ctx context.Context, scope PatientScope, c NewCoverage) (*Coverage, error)
	// CoveragesByPatientIDs returns the coverages of the patients among ids
	// that are in scope, newest validity first within a patient; loaders
	// use it.
	CoveragesByPatientIDs(ctx context.Context, scope PatientScope, patientIDs []uuid.UUID) ([]*Coverage, error)
	// CoverageByID returns NOT_FOUND when absent or its patient is outside
	// scope.
	CoverageByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*Coverage, error)
}
