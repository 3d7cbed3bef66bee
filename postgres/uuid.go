package postgres

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID teaches a connection's type map that uuid.UUID is the 16
// bytes Postgres sends, both ways. Without it pgx takes the database/sql
// route for every id of every statement: encoding calls Value for a string,
// fails to write that string as binary (formatting an error with %#v),
// parses it back and tries again; decoding formats the 16 bytes as text for
// Scan to parse. The headline page binds and reads a few hundred ids, so
// that route was a seventh of its allocations.
func registerUUID(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{wrapUUIDEncode}, m.TryWrapEncodePlanFuncs...)
	m.RegisterType(&pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}})
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

// uuidCodec is pgx's uuid codec, except that it scans a binary uuid
// straight into a uuid.UUID. The scan cannot be a wrapper plan like the
// encode: pgx offers a target to its sql.Scanner before any wrapper, and
// uuid.UUID's Scan takes text. Arrays of uuid find this codec by OID too.
type uuidCodec struct{ pgtype.UUIDCodec }

// PlanScan scans binary values into *uuid.UUID itself and leaves every
// other case to pgx.
func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok && format == pgtype.BinaryFormatCode {
		return uuidScanPlan{}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

type uuidScanPlan struct{}

// Scan leaves the target alone for NULL, as uuid.UUID's own Scan did;
// nullable ids are scanned into pointers.
func (uuidScanPlan) Scan(src []byte, target any) error {
	if src == nil {
		return nil
	}
	if len(src) != len(uuid.UUID{}) {
		return fmt.Errorf("invalid length for uuid: %d", len(src))
	}
	copy(target.(*uuid.UUID)[:], src)
	return nil
}
