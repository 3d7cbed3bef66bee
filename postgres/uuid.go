package postgres

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID teaches a connection's type map that uuid.UUID is the 16
// bytes Postgres sends. Without it pgx takes the database/sql route for every
// id of every statement: encoding calls Value for a string, fails to write
// that string as binary (formatting an error with %#v), parses it back and
// tries again; decoding goes through Scan. The headline page binds and reads
// a few hundred ids, so that route was a seventh of its allocations.
func registerUUID(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{wrapUUIDEncode}, m.TryWrapEncodePlanFuncs...)
	m.TryWrapScanPlanFuncs = append([]pgtype.TryWrapScanPlanFunc{wrapUUIDScan}, m.TryWrapScanPlanFuncs...)
}

func wrapUUIDEncode(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if id, ok := value.(uuid.UUID); ok {
		return &uuidEncodePlan{}, [16]byte(id), true
	}
	return nil, nil, false
}

type uuidEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode([16]byte(value.(uuid.UUID)), buf)
}

func wrapUUIDScan(target any) (pgtype.WrappedScanPlanNextSetter, any, bool) {
	if id, ok := target.(*uuid.UUID); ok {
		return &uuidScanPlan{}, (*[16]byte)(id), true
	}
	return nil, nil, false
}

type uuidScanPlan struct{ next pgtype.ScanPlan }

func (p *uuidScanPlan) SetNext(next pgtype.ScanPlan) { p.next = next }

// Scan leaves the target alone for NULL, as uuid.UUID's own Scan did;
// nullable ids are scanned into pointers.
func (p *uuidScanPlan) Scan(src []byte, target any) error {
	if src == nil {
		return nil
	}
	return p.next.Scan(src, (*[16]byte)(target.(*uuid.UUID)))
}
