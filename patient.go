package healthgraph

import (
	"context"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Gender is a patient's administrative gender, as NPHIES exchanges it.
type Gender string

// The genders a patient record may carry.
const (
	GenderMale    Gender = "MALE"
	GenderFemale  Gender = "FEMALE"
	GenderUnknown Gender = "UNKNOWN"
)

// Valid reports whether g is one of the known genders.
func (g Gender) Valid() bool {
	return g == GenderMale || g == GenderFemale || g == GenderUnknown
}

// Occupation is a patient's occupation from NPHIES's occupation code list;
// empty when not recorded.
type Occupation string

// The occupations NPHIES knows.
const (
	OccupationAdministration Occupation = "ADMINISTRATION"
	OccupationAgriculture    Occupation = "AGRICULTURE"
	OccupationBusiness       Occupation = "BUSINESS"
	OccupationEducation      Occupation = "EDUCATION"
	OccupationHousewife      Occupation = "HOUSEWIFE"
	OccupationMarine         Occupation = "MARINE"
	OccupationMedicalField   Occupation = "MEDICAL_FIELD"
	OccupationMilitary       Occupation = "MILITARY"
	OccupationSkilledWorker  Occupation = "SKILLED_WORKER"
	OccupationStudent        Occupation = "STUDENT"
	OccupationOilIndustries  Occupation = "OIL_INDUSTRIES"
	OccupationUnemployed     Occupation = "UNEMPLOYED"
	OccupationOthers         Occupation = "OTHERS"
	OccupationUnknown        Occupation = "UNKNOWN"
)

// Occupations lists every occupation, in NPHIES's order.
var Occupations = []Occupation{OccupationAdministration, OccupationAgriculture, OccupationBusiness,
	OccupationEducation, OccupationHousewife, OccupationMarine, OccupationMedicalField, OccupationMilitary,
	OccupationSkilledWorker, OccupationStudent, OccupationOilIndustries, OccupationUnemployed, OccupationOthers,
	OccupationUnknown}

// Valid reports whether o is empty (not recorded) or a known occupation.
func (o Occupation) Valid() bool { return o == "" || slices.Contains(Occupations, o) }

// MaritalStatus is a patient's marital status from NPHIES's value set;
// empty when not recorded.
type MaritalStatus string

// The marital statuses NPHIES knows.
const (
	MaritalMarried          MaritalStatus = "MARRIED"
	MaritalUnmarried        MaritalStatus = "UNMARRIED"
	MaritalDivorced         MaritalStatus = "DIVORCED"
	MaritalWidowed          MaritalStatus = "WIDOWED"
	MaritalLegallySeparated MaritalStatus = "LEGALLY_SEPARATED"
)

// Valid reports whether m is empty (not recorded) or a known status.
func (m MaritalStatus) Valid() bool {
	switch m {
	case "", MaritalMarried, MaritalUnmarried, MaritalDivorced, MaritalWidowed, MaritalLegallySeparated:
		return true
	}
	return false
}

// Field length limits shared by validation and the database CHECKs, so a
// value the API accepts is never refused later by Postgres.
const (
	MaxNameLength   = 100
	MaxPhoneLength  = 20
	MaxEmailLength  = 254
	MaxMRNLength    = 20
	MaxReasonLength = 500
)

// Patient is a person the clinic treats. MRN and NationalID are each unique.
type Patient struct {
	ID uuid.UUID
	// MRN is the clinic's medical record number; the store assigns one
	// when the caller leaves it blank.
	MRN string
	// NationalID is a Saudi national ID (starts with 1) or an iqama
	// (residents, starts with 2): ten digits.
	NationalID string
	FirstName  string
	FamilyName string
	// FirstNameAr and FamilyNameAr are the Arabic spellings; empty when
	// not recorded.
	FirstNameAr  string
	FamilyNameAr string
	// BirthDate is a calendar date, held at midnight UTC.
	BirthDate time.Time
	Gender    Gender
	// Phone and Email are empty when not recorded.
	Phone string
	Email string
	// Occupation and MaritalStatus are empty when not recorded; NPHIES
	// messages carry them.
	Occupation    Occupation
	MaritalStatus MaritalStatus
	// UserID links the patient's own login, when they have one.
	UserID    *uuid.UUID
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewPatient is the input that creates a patient.
type NewPatient struct {
	MRN           string
	NationalID    string
	FirstName     string
	FamilyName    string
	FirstNameAr   string
	FamilyNameAr  string
	BirthDate     time.Time
	Gender        Gender
	Phone         string
	Email         string
	Occupation    Occupation
	MaritalStatus MaritalStatus
	UserID        *uuid.UUID
}

// PatientPatch changes some fields of a patient: nil fields stay as they
// are, and an empty string clears an optional field.
type PatientPatch struct {
	NationalID    *string
	FirstName     *string
	FamilyName    *string
	FirstNameAr   *string
	FamilyNameAr  *string
	BirthDate     *time.Time
	Gender        *Gender
	Phone         *string
	Email         *string
	Occupation    *Occupation
	MaritalStatus *MaritalStatus
}

// PatientFilter narrows a list of patients. Zero fields do not filter.
type PatientFilter struct {
	// Search matches a prefix of the first or family name (English or
	// Arabic, any letter case), or an exact MRN or national ID.
	Search string
	// BirthDate matches a calendar date.
	BirthDate *time.Time
	// PayerLicense keeps patients with a coverage from this payer.
	PayerLicense string
}

// PatientStore keeps patients. Every read takes the caller's PatientScope and
// applies it in SQL: a patient outside the scope is NOT_FOUND, never
// FORBIDDEN, so its existence does not leak.
type PatientStore interface {
	// CreatePatient validates and inserts p. BAD_USER_INPUT names the field
	// at fault; CONFLICT when the MRN or national ID is taken.
	CreatePatient(ctx context.Context, p NewPatient) (*Patient, error)
	// UpdatePatient applies patch to the patient in scope. NOT_FOUND when
	// the patient does not exist or is outside scope; BAD_USER_INPUT and
	// CONFLICT as for CreatePatient.
	UpdatePatient(ctx context.Context, scope PatientScope, id uuid.UUID, patch PatientPatch) (*Patient, error)
	// PatientByID returns NOT_FOUND when absent or outside scope.
	PatientByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*Patient, error)
	// PatientsByIDs returns the patients among ids that exist and are in
	// scope, in no set order; loaders use it.
	PatientsByIDs(ctx context.Context, scope PatientScope, ids []uuid.UUID) ([]*Patient, error)
	// PatientsByUserIDs returns the in-scope records linked to the logins
	// among userIDs, in no set order.
	PatientsByUserIDs(ctx context.Context, scope PatientScope, userIDs []uuid.UUID) ([]*Patient, error)
	// ListPatients returns one page, newest first, and how many match.
	ListPatients(ctx context.Context, scope PatientScope, f PatientFilter, p Page) ([]*Patient, int, error)
	// LinkPatientUser links a login to a patient record (signup). NOT_FOUND
	// when there is no such patient; CONFLICT when it already has a user
	// or the user already has a patient record.
	LinkPatientUser(ctx context.Context, patientID, userID uuid.UUID) (*Patient, error)
	// ClaimPatientRecord links the PATIENT account userID to the one
	// patient record c matches, once the account has fewer than
	// limit.Max failed claims in the last limit.Window. Every attempt that
	// gets past input validation is audited in the transaction that decides
	// it, the failures included (as AuditClaimFailed, which the limit
	// counts). NOT_FOUND with ErrClaimNoMatch whatever part did not match;
	// RATE_LIMITED once the limit is reached, without looking at c;
	// CONFLICT when the account already has a record or the record
	// already has an account; FORBIDDEN when the account is not a
	// PATIENT's; BAD_USER_INPUT naming the field when c is malformed.
	ClaimPatientRecord(ctx context.Context, userID uuid.UUID, c PatientClaim, limit AttemptLimit) (*Patient, error)
}

// PatientClaim is what a signed-up patient proves to claim their record:
// the MRN reception gave them or their national ID (or both: then both
// must name the same record), and their birth date.
type PatientClaim struct {
	MRN        string
	NationalID string
	BirthDate  time.Time
}

// Validate checks the form of c, never whether it matches: a malformed
// value names its field, which tells nothing about any record.
func (c *PatientClaim) Validate() error {
	c.MRN = strings.TrimSpace(c.MRN)
	c.NationalID = strings.TrimSpace(c.NationalID)
	switch {
	case c.MRN == "" && c.NationalID == "":
		return Invalid("mrn", "give your MRN or your national ID")
	case c.MRN != "" && !mrnPattern.MatchString(c.MRN):
		return Invalid("mrn", "MRN must be 1 to %d letters, digits or dashes", MaxMRNLength)
	case c.NationalID != "" && !ValidNationalID(c.NationalID):
		return Invalid("nationalId", "national ID or iqama must be 10 digits starting with 1 or 2")
	case c.BirthDate.IsZero():
		return Invalid("birthDate", "birthDate is required")
	}
	c.BirthDate = DateOf(c.BirthDate)
	return nil
}

// By names the identifiers c uses, for the audit trail: never their values.
func (c PatientClaim) By() string {
	switch {
	case c.MRN != "" && c.NationalID != "":
		return "mrn+nationalId+birthDate"
	case c.MRN != "":
		return "mrn+birthDate"
	}
	return "nationalId+birthDate"
}

// AttemptLimit bounds failed attempts: at most Max in any Window.
type AttemptLimit struct {
	Max    int
	Window time.Duration
}

// ClaimAttemptLimit is how many failed claims of a patient record an
// account gets: five an hour makes guessing a birth date for a known MRN
// (tens of thousands of candidates) hopeless, and leaves a patient who
// mistypes room to correct themselves.
var ClaimAttemptLimit = AttemptLimit{Max: 5, Window: time.Hour}

// The audit actions of claiming a patient record. AuditClaimFailed rows
// are what ClaimAttemptLimit counts.
const (
	AuditClaimSucceeded = "patient.claimed"
	AuditClaimFailed    = "patient.claim_failed"
	AuditClaimRefused   = "patient.claim_refused"
)

// ErrClaimNoMatch is the one answer to a claim that matches no record,
// whichever of the identifier and the birth date was wrong.
var ErrClaimNoMatch = Errorf(ENOTFOUND, "no patient record matches these details; check them or ask reception")

var (
	nationalIDPattern = regexp.MustCompile(`^[12][0-9]{9}$`)
	phonePattern      = regexp.MustCompile(`^\+?[0-9]{7,15}$`)
	mrnPattern        = regexp.MustCompile(`^[A-Za-z0-9-]{1,20}$`)
)

// ValidNationalID reports whether id has the format of a Saudi national ID
// (ten digits starting with 1) or an iqama (ten digits starting with 2).
func ValidNationalID(id string) bool { return nationalIDPattern.MatchString(id) }

// Validate checks p and trims its text fields, returning BAD_USER_INPUT
// naming the first field at fault. now bounds the birth date.
func (p *NewPatient) Validate(now time.Time) error {
	p.MRN = strings.TrimSpace(p.MRN)
	p.NationalID = strings.TrimSpace(p.NationalID)
	for _, f := range []struct {
		field    string
		v        *string
		required bool
	}{
		{"firstName", &p.FirstName, true},
		{"familyName", &p.FamilyName, true},
		{"firstNameAr", &p.FirstNameAr, false},
		{"familyNameAr", &p.FamilyNameAr, false},
	} {
		if err := validName(f.field, f.v, f.required); err != nil {
			return err
		}
	}
	if p.MRN != "" && !mrnPattern.MatchString(p.MRN) {
		return Invalid("mrn", "MRN must be 1 to %d letters, digits or dashes", MaxMRNLength)
	}
	if !ValidNationalID(p.NationalID) {
		return Invalid("nationalId", "national ID or iqama must be 10 digits starting with 1 or 2")
	}
	if err := validBirthDate("birthDate", &p.BirthDate, now); err != nil {
		return err
	}
	if !p.Gender.Valid() {
		return Invalid("gender", "gender must be MALE, FEMALE or UNKNOWN")
	}
	if err := validPhone("phone", &p.Phone); err != nil {
		return err
	}
	if err := validDemographics(&p.Occupation, &p.MaritalStatus); err != nil {
		return err
	}
	return validEmail("email", &p.Email)
}

// validDemographics checks an occupation and a marital status, either of
// which may be nil (left as it is) or empty (not recorded).
func validDemographics(o *Occupation, m *MaritalStatus) error {
	if o != nil && !o.Valid() {
		return Invalid("occupation", "occupation %q is not on NPHIES's occupation list", *o)
	}
	if m != nil && !m.Valid() {
		return Invalid("maritalStatus", "marital status %q is not on NPHIES's list", *m)
	}
	return nil
}

// Validate checks the fields patch sets, as NewPatient.Validate does, and
// normalises them in place.
func (patch *PatientPatch) Validate(now time.Time) error {
	if patch.NationalID != nil {
		*patch.NationalID = strings.TrimSpace(*patch.NationalID)
		if !ValidNationalID(*patch.NationalID) {
			return Invalid("nationalId", "national ID or iqama must be 10 digits starting with 1 or 2")
		}
	}
	for _, f := range []struct {
		field    string
		v        *string
		required bool
	}{
		{"firstName", patch.FirstName, true},
		{"familyName", patch.FamilyName, true},
		{"firstNameAr", patch.FirstNameAr, false},
		{"familyNameAr", patch.FamilyNameAr, false},
	} {
		if f.v == nil {
			continue
		}
		if err := validName(f.field, f.v, f.required); err != nil {
			return err
		}
	}
	if patch.BirthDate != nil {
		if err := validBirthDate("birthDate", patch.BirthDate, now); err != nil {
			return err
		}
	}
	if patch.Gender != nil && !patch.Gender.Valid() {
		return Invalid("gender", "gender must be MALE, FEMALE or UNKNOWN")
	}
	if patch.Phone != nil {
		if err := validPhone("phone", patch.Phone); err != nil {
			return err
		}
	}
	if err := validDemographics(patch.Occupation, patch.MaritalStatus); err != nil {
		return err
	}
	if patch.Email != nil {
		return validEmail("email", patch.Email)
	}
	return nil
}

// Validate checks a filter's search text.
func (f *PatientFilter) Validate() error {
	f.Search = strings.TrimSpace(f.Search)
	f.PayerLicense = strings.TrimSpace(f.PayerLicense)
	// One letter matches a large share of all patients and no trigram
	// narrows it: the page would cost a scan.
	if n := utf8.RuneCountInString(f.Search); n == 1 {
		return Invalid("filter.search", "search must be at least 2 characters")
	} else if n > MaxNameLength {
		return Invalid("filter.search", "search must be at most %d characters", MaxNameLength)
	}
	if len(f.PayerLicense) > MaxLicenseLength {
		return Invalid("filter.payerLicense", "payer license must be at most %d characters", MaxLicenseLength)
	}
	if f.BirthDate != nil {
		d := DateOf(*f.BirthDate)
		f.BirthDate = &d
	}
	return nil
}

func validName(field string, v *string, required bool) error {
	if required && strings.TrimSpace(*v) == "" {
		*v = ""
		return Invalid(field, "%s is required", field)
	}
	return validText(field, v, MaxNameLength)
}

// validText collapses the whitespace of an optional one-line text and
// checks it is valid UTF-8 of at most max characters without control
// characters.
func validText(field string, v *string, max int) error {
	*v = strings.Join(strings.Fields(*v), " ")
	switch {
	case !utf8.ValidString(*v):
		return Invalid(field, "%s is not valid text", field)
	case utf8.RuneCountInString(*v) > max:
		return Invalid(field, "%s must be at most %d characters", field, max)
	case strings.ContainsFunc(*v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return Invalid(field, "%s must not contain control characters", field)
	}
	return nil
}

func validBirthDate(field string, d *time.Time, now time.Time) error {
	*d = DateOf(*d)
	if d.After(DateOf(now)) {
		return Invalid(field, "birth date must not be in the future")
	}
	if d.Year() < 1900 {
		return Invalid(field, "birth date must be in 1900 or later")
	}
	return nil
}

func validPhone(field string, v *string) error {
	*v = strings.ReplaceAll(strings.TrimSpace(*v), " ", "")
	if *v != "" && !phonePattern.MatchString(*v) {
		return Invalid(field, "phone must be 7 to 15 digits, optionally starting with +")
	}
	return nil
}

func validEmail(field string, v *string) error {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		return nil
	}
	if len(*v) > MaxEmailLength {
		return Invalid(field, "email must be at most %d characters", MaxEmailLength)
	}
	if a, err := mail.ParseAddress(*v); err != nil || a.Address != *v {
		return Invalid(field, "email is not a valid address")
	}
	return nil
}

// DateOf returns the calendar date of t (in t's own location) as midnight
// UTC, the form every date field of the domain uses.
func DateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
