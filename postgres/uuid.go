package postgres

import (
	"encoding/binary"
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
	if t, ok := m.TypeForOID(pgtype.UUIDArrayOID); ok {
		if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok {
			m.RegisterType(&pgtype.Type{Name: t.Name, OID: t.OID, Codec: uuidArrayCodec{ac}})
		}
	}
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

// uuidArrayCodec is pgx's uuid[] codec, except that it writes a
// []uuid.UUID as binary itself. pgx reaches such a slice by reflection and
// boxes every element on the way (twice, with the wrapper plan above):
// three allocations an id, and the headline binds some 150 ids (the
// patients' batch and the audit rows' entities and patients).
type uuidArrayCodec struct{ *pgtype.ArrayCodec }

// PlanEncode plans []uuid.UUID in binary and leaves every other case to
// pgx.
func (c uuidArrayCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.([]uuid.UUID); ok && format == pgtype.BinaryFormatCode {
		return uuidArrayEncodePlan{}
	}
	return c.ArrayCodec.PlanEncode(m, oid, format, value)
}

type uuidArrayEncodePlan struct{}

// Encode writes what pgx's array codec writes for the slice: NULL for nil,
// else a one-dimensional array from index 1 without NULLs, each element its
// length and 16 bytes.
func (uuidArrayEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	ids := value.([]uuid.UUID)
	if ids == nil {
		return nil, nil
	}
	buf = binary.BigEndian.AppendUint32(buf, 1) // dimensions
	buf = binary.BigEndian.AppendUint32(buf, 0) // contains no NULL
	buf = binary.BigEndian.AppendUint32(buf, pgtype.UUIDOID)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(ids)))
	buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
	for i := range ids {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(ids[i])))
		buf = append(buf, ids[i][:]...)
	}
	return buf, nil
}
