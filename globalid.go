package healthgraph

import (
	"encoding/base64"
	"encoding/hex"

	"github.com/google/uuid"
)

// Global IDs are the API's opaque object IDs: base64url of "Type:uuid",
// where Type is the object's GraphQL type name, so node(id:) knows what to
// load and an ID of one type cannot be passed as another.
//
// Each type the API shows as a Node spells its own ID with a GlobalID
// method, bound to its id field in gqlgen.yml. gqlgen calls a model's
// method that takes no context inline; a resolver field, or a method with
// a context, it runs on a goroutine of its own. A page of 50 appointments
// with their patients and practitioners shows 150 IDs.

// GlobalID returns the opaque ID of the object of type typ with id. IDs
// are minted by the hundred per page, so "Type:uuid" and its base64 are
// spelt into buffers on the stack (for type names up to 64 bytes), and the
// string is the one allocation.
func GlobalID(typ string, id uuid.UUID) string {
	var buf [64 + 1 + 36]byte
	raw := append(buf[:0], typ...)
	raw = append(raw, ':')
	raw = appendUUID(raw, id)
	var enc [(len(buf) + 2) / 3 * 4]byte
	n := base64.RawURLEncoding.EncodedLen(len(raw))
	out := enc[:0]
	if n > len(enc) {
		out = make([]byte, 0, n)
	}
	return string(base64.RawURLEncoding.AppendEncode(out, raw))
}

// appendUUID appends id in its canonical form, as id.String spells it.
func appendUUID(b []byte, id uuid.UUID) []byte {
	for i, part := range [][]byte{id[0:4], id[4:6], id[6:8], id[8:10], id[10:16]} {
		if i > 0 {
			b = append(b, '-')
		}
		b = hex.AppendEncode(b, part)
	}
	return b
}

// GlobalID is the appointment's ID in the API.
func (a *Appointment) GlobalID() string { return GlobalID("Appointment", a.ID) }

// GlobalID is the patient's ID in the API.
func (p *Patient) GlobalID() string { return GlobalID("Patient", p.ID) }

// GlobalID is the practitioner's ID in the API.
func (p *Practitioner) GlobalID() string { return GlobalID("Practitioner", p.ID) }

// GlobalID is the user's ID in the API.
func (u *User) GlobalID() string { return GlobalID("User", u.ID) }

// GlobalID is the coverage's ID in the API.
func (c *Coverage) GlobalID() string { return GlobalID("Coverage", c.ID) }

// GlobalID is the record version's ID in the API.
func (r *MedicalRecord) GlobalID() string { return GlobalID("MedicalRecord", r.ID) }

// GlobalID is the grant's ID in the API.
func (g *BreakGlass) GlobalID() string { return GlobalID("BreakGlassGrant", g.ID) }

// GlobalID is the invoice's ID in the API.
func (i *Invoice) GlobalID() string { return GlobalID("Invoice", i.ID) }

// GlobalID is the payment's ID in the API.
func (p *Payment) GlobalID() string { return GlobalID("Payment", p.ID) }

// GlobalID is the catalogue item's ID in the API.
func (c *CatalogueItem) GlobalID() string { return GlobalID("CatalogueItem", c.ID) }

// GlobalID is the claim's ID in the API.
func (c *Claim) GlobalID() string { return GlobalID("Claim", c.ID) }

// GlobalID is the communication's ID in the API.
func (c *ClaimCommunication) GlobalID() string { return GlobalID("ClaimCommunication", c.ID) }

// GlobalID is the message's ID in the API.
func (m *NPHIESMessage) GlobalID() string { return GlobalID("NphiesMessage", m.ID) }

// GlobalID is the check's ID in the API.
func (c *EligibilityCheck) GlobalID() string { return GlobalID("EligibilityCheck", c.ID) }
