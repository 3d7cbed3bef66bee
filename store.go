package healthgraph

// Store is everything the GraphQL layer needs from persistence. Each domain
// adds its store interface here, so wiring a new domain never touches the
// server or the binary: postgres.DB implements the whole of it.
type Store interface {
	UserStore
	RefreshTokenStore
	AuditStore
	RefusalStore
	BillingStore
	CatalogueStore
	ClaimStore
	ResubmissionStore
	DenialStore
	CommunicationStore
	EligibilityStore
	Outbox
	AnalyticsStore
	PatientStore
	CoverageStore
	PractitionerStore
	AppointmentStore
	RecordStore
	VisitFindingsStore
	BreakGlassStore
}
