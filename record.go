package healthgraph

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// RecordKind says what a medical record holds.
type RecordKind string

// The kinds of medical record.
const (
	RecordNote         RecordKind = "NOTE"
	RecordDiagnosis    RecordKind = "DIAGNOSIS"
	RecordAllergy      RecordKind = "ALLERGY"
	RecordLabResult    RecordKind = "LAB_RESULT"
	RecordPrescription RecordKind = "PRESCRIPTION"
	RecordVitals       RecordKind = "VITALS"
)

// RecordKinds lists every kind, in a stable order.
var RecordKinds = []RecordKind{
	RecordNote, RecordDiagnosis, RecordAllergy, RecordLabResult, RecordPrescription, RecordVitals,
}

// Valid reports whether k is one of the known kinds.
func (k RecordKind) Valid() bool {
	for _, known := range RecordKinds {
		if k == known {
			return true
		}
	}
	return false
}

// MedicalRecord is one entry of a patient's chart. Records are append-only:
// a correction is a new version that supersedes the old one, which is kept.
type MedicalRecord struct {
	ID        uuid.UUID
	PatientID uuid.UUID
	// AuthorID is the user who wrote this version.
	AuthorID uuid.UUID
	Kind     RecordKind
	// Codes are ICD-10 codes, upper case with the dot (for example "E11.9").
	Codes []string
	Body  string
	// Version counts from 1; an amendment is its predecessor's version + 1.
	Version int
	// SupersedesID is the version this one corrects; SupersededByID the
	// version that corrected this one. A record with no SupersededByID is
	// current.
	SupersedesID   *uuid.UUID
	SupersededByID *uuid.UUID
	CreatedAt      time.Time
}

// Limits on medical record content.
const (
	MaxRecordBody  = 20000
	MaxRecordCodes = 20
)

// NewRecord is the input that adds a record to a patient's chart.
type NewRecord struct {
	PatientID uuid.UUID
	AuthorID  uuid.UUID
	Kind      RecordKind
	Codes     []string
	Body      string
}

// RecordAmendment is the input that corrects a record: the new version
// keeps the patient and kind of the one it supersedes.
type RecordAmendment struct {
	RecordID uuid.UUID
	AuthorID uuid.UUID
	Codes    []string
	Body     string
}

// ICD-10 codes: a letter, two digits (the third may be a letter in ICD-10-CM,
// as in C7A), then optionally a dot and one to four more characters.
var icd10Pattern = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$`)

// ValidICD10 reports whether code has the format of an ICD-10 code.
func ValidICD10(code string) bool { return icd10Pattern.MatchString(code) }

// ICD-10-AM codes, the edition NPHIES takes (http://hl7.org/fhir/sid/icd-10-am):
// a letter, two digits, then optionally a dot and one or two digits. Unlike
// ICD-10-CM there is no letter in the third place (C7A) and no seventh
// character (S72.001A).
var icd10AMPattern = regexp.MustCompile(`^[A-Z][0-9]{2}(\.[0-9]{1,2})?$`)

// ValidICD10AM reports whether code has the format of an ICD-10-AM code.
func ValidICD10AM(code string) bool { return icd10AMPattern.MatchString(code) }

// Validate checks r, normalising its codes to upper case without
// duplicates. BAD_USER_INPUT names the field at fault.
func (r *NewRecord) Validate() error {
	if r.PatientID == uuid.Nil {
		return Invalid("patientId", "patientId is required")
	}
	if !r.Kind.Valid() {
		return Invalid("kind", "unknown record kind")
	}
	codes, err := validCodes("codes", r.Codes)
	if err != nil {
		return err
	}
	r.Codes = codes
	if r.Kind == RecordDiagnosis && len(r.Codes) == 0 {
		return Invalid("codes", "a diagnosis needs at least one ICD-10 code")
	}
	return validBody("body", &r.Body)
}

// Validate checks an amendment as NewRecord.Validate does.
func (a *RecordAmendment) Validate() error {
	if a.RecordID == uuid.Nil {
		return Invalid("id", "id is required")
	}
	codes, err := validCodes("codes", a.Codes)
	if err != nil {
		return err
	}
	a.Codes = codes
	return validBody("body", &a.Body)
}

func validCodes(field string, in []string) ([]string, error) {
	if len(in) > MaxRecordCodes {
		return nil, Invalid(field, "at most %d codes", MaxRecordCodes)
	}
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, c := range in {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !ValidICD10(c) {
			return nil, Invalid(field, "%q is not an ICD-10 code", truncate(c, 16))
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

func validBody(field string, v *string) error {
	*v = strings.TrimSpace(*v)
	n := utf8.RuneCountInString(*v)
	switch {
	case !utf8.ValidString(*v):
		return Invalid(field, "%s is not valid text", field)
	case n == 0:
		return Invalid(field, "%s is required", field)
	case n > MaxRecordBody:
		return Invalid(field, "%s must be at most %d characters", field, MaxRecordBody)
	case strings.ContainsRune(*v, 0):
		return Invalid(field, "%s must not contain NUL characters", field)
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// RecordFilter narrows a patient's records. Nil fields do not filter; From
// and To bound the creation time, From inclusive, To exclusive. Superseded
// versions are left out unless IncludeSuperseded is set.
type RecordFilter struct {
	Kind              *RecordKind
	From              *time.Time
	To                *time.Time
	IncludeSuperseded bool
}

// Validate checks the filter's kind and bounds.
func (f RecordFilter) Validate() error {
	if f.Kind != nil && !f.Kind.Valid() {
		return Invalid("filter.kind", "unknown record kind")
	}
	if f.From != nil && f.To != nil && !f.To.After(*f.From) {
		return Invalid("filter.to", "to must be after from")
	}
	return nil
}

// RecordStore keeps medical records. It never updates a record's content or
// deletes one; the database refuses both. Reads take the caller's clinical
// PatientScope and apply it in SQL.
type RecordStore interface {
	// AddRecord validates and appends r as version 1. NOT_FOUND when the
	// patient is absent or outside scope; BAD_USER_INPUT naming the field.
	AddRecord(ctx context.Context, scope PatientScope, r NewRecord) (*MedicalRecord, error)
	// AmendRecord appends a new version superseding a current record and
	// links the old one to it, in one transaction. NOT_FOUND when the
	// record is absent or outside scope; FORBIDDEN when scope has an
	// OwnerUserID who did not author that version; CONFLICT when it was
	// already superseded; BAD_USER_INPUT naming the field.
	AmendRecord(ctx context.Context, scope PatientScope, a RecordAmendment) (*MedicalRecord, error)
	// RecordByID returns any version; NOT_FOUND when absent or outside
	// scope.
	RecordByID(ctx context.Context, scope PatientScope, id uuid.UUID) (*MedicalRecord, error)
	// RecordsByIDs returns those among ids that exist and are in scope, in
	// no set order; loaders use it.
	RecordsByIDs(ctx context.Context, scope PatientScope, ids []uuid.UUID) ([]*MedicalRecord, error)
	// ListRecords returns one page of a patient's records, newest first,
	// and how many match. NOT_FOUND when the patient is outside scope.
	ListRecords(ctx context.Context, scope PatientScope, patientID uuid.UUID, f RecordFilter, p Page) ([]*MedicalRecord, int, error)
	// LatestRecordsByPatientIDs returns, for each patient among ids in
	// scope, up to limit current records, newest first; loaders use it.
	LatestRecordsByPatientIDs(ctx context.Context, scope PatientScope, patientIDs []uuid.UUID, limit int) ([]*MedicalRecord, error)
}

// BreakGlass is a time-limited emergency grant that lets a practitioner read
// a patient they have no appointment with. Every grant is kept and audited.
type BreakGlass struct {
	ID        uuid.UUID
	UserID    uuid.UUID
	PatientID uuid.UUID
	Reason    string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Break-glass limits: a reason long enough to mean something, and a grant
// that lapses on its own after BreakGlassDuration, long enough for one
// emergency visit (the schema and docs/security.md say 4 hours).
const (
	MinBreakGlassReason = 15
	MinBreakGlassWords  = 3
	BreakGlassDuration  = 4 * time.Hour
)

// ValidateBreakGlassReason checks and trims the reason for a break-glass
// grant, naming the field "reason". The reason is what a reviewer reads
// afterwards to judge the access, so it must say something: at least
// MinBreakGlassReason characters in at least MinBreakGlassWords words, not
// one word (or one character) over and over ("aaaaaaaaaa", "x x x x x").
func ValidateBreakGlassReason(reason *string) error {
	if err := validReason("reason", reason, true); err != nil {
		return err
	}
	words := strings.FieldsFunc(strings.ToLower(*reason), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	distinct := map[string]bool{}
	for _, w := range words {
		distinct[w] = true
	}
	switch {
	case utf8.RuneCountInString(*reason) < MinBreakGlassReason || len(words) < MinBreakGlassWords:
		return Invalid("reason", "reason must say why in at least %d words and %d characters", MinBreakGlassWords, MinBreakGlassReason)
	case len(distinct) < 2 || distinctRunes(strings.Join(words, "")) < 3:
		return Invalid("reason", "reason must say why, not repeat one word or character")
	}
	return nil
}

// distinctRunes counts the different characters of s.
func distinctRunes(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// BreakGlassStore keeps break-glass grants.
type BreakGlassStore interface {
	// GrantBreakGlass records a grant for userID to read patientID until
	// expiresAt. BAD_USER_INPUT naming "reason" for a missing or short
	// reason, or "expiresAt" for an expiry not in the future; NOT_FOUND
	// when the patient or user does not exist.
	GrantBreakGlass(ctx context.Context, userID, patientID uuid.UUID, reason string, expiresAt time.Time) (*BreakGlass, error)
	// ActiveBreakGlass returns the user's unexpired grants, newest first.
	ActiveBreakGlass(ctx context.Context, userID uuid.UUID) ([]*BreakGlass, error)
}
