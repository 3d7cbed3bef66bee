package resolvers

import (
	"context"
	"testing"

	hg "github.com/healthgraph/healthgraph"
)

// TestAsFieldAppliesTheSchemasRule: the fields asField stands in for are
// read from their @hasRole, and a field without one refuses everybody
// rather than admitting them.
func TestAsFieldAppliesTheSchemasRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field string
		role  hg.Role
		want  string
	}{
		{"invoice", hg.RolePatient, ""},
		{"invoice", hg.RoleReception, hg.EFORBIDDEN},
		{"claim", hg.RoleBilling, ""},
		{"claim", hg.RolePatient, hg.EFORBIDDEN},
		{"appointments", hg.RoleReception, ""},
		{"appointments", hg.RoleBilling, hg.EFORBIDDEN},
		{"medicalRecords", hg.RolePractitioner, ""},
		{"medicalRecords", hg.RoleReception, hg.EFORBIDDEN},
		{"patient", hg.RoleBilling, ""},
		{"patient", hg.RoleAnalyst, hg.EFORBIDDEN},
		{"node", hg.RoleAdmin, hg.EINTERNAL}, // no @hasRole: decided per type in code
		{"noSuchField", hg.RoleAdmin, hg.EINTERNAL},
	} {
		ctx := hg.WithPrincipal(context.Background(), &hg.Principal{Role: tc.role})
		if _, err := asField(ctx, tc.field); hg.ErrorCode(err) != tc.want {
			t.Errorf("asField(%s) as %s: got %v, want code %q", tc.field, tc.role, err, tc.want)
		}
	}
}
