package auth

import (
	"context"
	"slices"

	hg "github.com/healthgraph/healthgraph"
)

// Require returns the caller when their role is one of roles. An anonymous
// caller is UNAUTHENTICATED; a caller with another role is FORBIDDEN. With no
// roles given, any authenticated caller passes.
func Require(ctx context.Context, roles ...hg.Role) (*hg.Principal, error) {
	p := hg.PrincipalFrom(ctx)
	if p == nil {
		return nil, hg.Errorf(hg.EUNAUTHENTICATED, "authentication required")
	}
	if len(roles) > 0 && !slices.Contains(roles, p.Role) {
		return nil, hg.Errorf(hg.EFORBIDDEN, "your role may not do this")
	}
	return p, nil
}

// PatientScope decides which patients' demographics p may read. The store
// applies it in SQL.
func PatientScope(p *hg.Principal) hg.PatientScope {
	if p == nil {
		return hg.PatientScope{}
	}
	switch p.Role {
	case hg.RoleAdmin, hg.RoleReception, hg.RoleBilling:
		return hg.PatientScope{All: true}
	case hg.RolePractitioner:
		return hg.PatientScope{CareUserID: &p.UserID}
	case hg.RolePatient:
		return hg.PatientScope{SelfUserID: &p.UserID}
	}
	return hg.PatientScope{} // ANALYST: aggregates only
}

// ClinicalScope decides whose clinical records (medical records) p may
// read: reception and billing see demographics but no clinical data.
func ClinicalScope(p *hg.Principal) hg.PatientScope {
	if p != nil && (p.Role == hg.RoleReception || p.Role == hg.RoleBilling) {
		return hg.PatientScope{}
	}
	return PatientScope(p)
}

// WriteScope narrows read, the scope p reads in, to what p may change.
// Reception and administrators change any appointment they can see and a
// patient their own (read already says so); a practitioner changes only
// what is theirs: appointments with themself, and record versions they
// authored. A practitioner may still add a record for any patient in
// their care (AddRecord takes the read scope): sharing a patient with a
// colleague lets them read the colleague's work, never change it.
func WriteScope(p *hg.Principal, read hg.PatientScope) hg.PatientScope {
	if p != nil && p.Role == hg.RolePractitioner {
		read.OwnerUserID = &p.UserID
	}
	return read
}
