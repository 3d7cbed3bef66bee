package healthgraph

import "github.com/google/uuid"

// Event topics. Events carry an entity's id only: a subscriber loads the
// entity through the store under its own scope, so an event never reveals
// what the subscriber may not see.

// AccountTopic is the event topic of one account: its role, status,
// password or sessions changed.
func AccountTopic(id uuid.UUID) string { return "account:" + id.String() }

// AppointmentTopic is the event topic of one practitioner's appointments,
// the feed an appointmentChanged(practitionerId) subscription listens on.
func AppointmentTopic(practitionerID uuid.UUID) string {
	return "appointments:practitioner:" + practitionerID.String()
}

// ClaimTopic is the event topic of every claim's status changes, the feed
// claimUpdated listens on. One topic for all claims: the roles that may
// watch (billing and administrators) see every claim, a clinic's claim
// volume is a few events a minute, and a subscription that follows one
// claim filters by the id the event carries.
func ClaimTopic() string { return "claims" }

// EventMessage is one delivery on a subscription: an event's payload, or a
// notice about the feed itself.
type EventMessage struct {
	// Payload is the published bytes; nil on a notice.
	Payload []byte
	// Outage reports that this replica lost the event bus: events
	// published on other replicas are missed until a Resumed notice.
	Outage bool
	// Resumed reports that the feed is live again after an Outage. Events
	// from the gap are not replayed: refetch current state.
	Resumed bool
}
