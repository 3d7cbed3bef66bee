// Package nphies speaks NPHIES, the Saudi Council of Health Insurance's
// exchange, for HealthGraph: hand-written minimal FHIR R4 structs for the
// resources we send and read, builders for every request message bundle
// (eligibility, prior authorization, claim, cancel, status check, poll,
// communication, payment notice), a lenient parser that classifies every
// answer into a typed result, and a Client that posts bundles to
// $process-message and classifies failures (ClassifyFailure, one decision
// for every exchange) so the outbox worker can decide to retry or to fail.
// A Desk runs the exchanges a person starts (eligibility, claim, prior
// authorization, cancel) so that resolvers only authorize and map.
//
// Emit strictly, parse leniently: every built bundle validates against the
// FHIR R4 schema and carries the MessageHeader fields NPHIES requires, while
// the parser accepts the quirks of NPHIES's own examples and traffic (decimals
// as strings, an array paymentIdentifier, valueCode or valueCodeableConcept
// task outputs, tags with or without a system).
//
// Money is integer halalas in our domain and a two-decimal Decimal on the
// wire. Message identity (Bundle.id, MessageHeader.id, Claim.identifier) is
// supplied by the caller so that a retry resends the same message and NPHIES
// can de-duplicate it.
package nphies
