package resolvers_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
)

// TestClaimLifecycleThroughTheAPI submits claims over GraphQL, lets the real
// outbox worker deliver them to the mock NPHIES, and reads the payer's
// decision back over GraphQL. The member ID scripts the mock's answer.
func TestClaimLifecycleThroughTheAPI(t *testing.T) {
	t.Parallel()
	nph := httptest.NewServer(mock.New(mock.Options{}))
	t.Cleanup(nph.Close)
	client, err := nphies.NewClient(nph.URL, nphies.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		member       string
		wantStatus   string
		wantOutcomes []string
	}{
		{"M-100", "APPROVED", []string{"approved", "approved"}},
		{"PARTIAL-7", "PARTIAL", []string{"partial", "approved"}},
		{"REJECT-9", "REJECTED", []string{"rejected", "rejected"}},
	}
	for _, tt := range tests {
		t.Run(tt.member, func(t *testing.T) {
			t.Parallel()
			b := newBillingEnv(t)
			ctx, cancel := context.WithCancel(context.Background())
			worker := &nphies.Worker{Store: b.DB, Client: client, Interval: 20 * time.Millisecond, BackoffBase: 50 * time.Millisecond}
			done := make(chan struct{})
			go func() { defer close(done); worker.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })

			if _, err := b.DB.Pool.Exec(ctx, `UPDATE coverages SET member_id = $1 WHERE id = $2`, tt.member, b.coverage.ID); err != nil {
				t.Fatal(err)
			}
			inv := b.createInvoice(t, b.patient, b.coverage)
			b.issue(t, inv.ID)
			var sub struct{ SubmitClaim struct{ ID string } }
			b.Do(t, b.billing, submitClaimMut, map[string]any{"in": b.seenVisit(t, b.patient).claimInput(inv.ID, "J06.9")}).Decode(t, &sub)

			q := `query($id: ID!) { claim(id: $id) { status approved { amount } disposition
				items { outcome reasons approved { amount } }
				messages { direction event deliveryStatus }
				history { status } } }`
			var out struct {
				Claim struct {
					Status   string
					Approved *money
					Items    []struct {
						Outcome string
						Reasons []string
					}
					Messages []struct{ Direction, Event string }
					History  []struct{ Status string }
				}
			}
			eventually.Poll(func() bool {
				b.Do(t, b.billing, q, map[string]any{"id": sub.SubmitClaim.ID}).Decode(t, &out)
				return hg.ClaimStatus(out.Claim.Status).Final() || out.Claim.Status == "ERROR"
			})
			c := out.Claim
			if c.Status != tt.wantStatus || len(c.Items) != len(tt.wantOutcomes) {
				t.Fatalf("claim = %+v, want %s", c, tt.wantStatus)
			}
			for i, want := range tt.wantOutcomes {
				if c.Items[i].Outcome != want {
					t.Errorf("item %d outcome %q, want %q", i+1, c.Items[i].Outcome, want)
				}
				if want != "approved" && len(c.Items[i].Reasons) == 0 {
					t.Errorf("item %d is %s without a reason code", i+1, want)
				}
			}
			if len(c.Messages) < 2 || c.Messages[0].Direction != "OUT" || c.Messages[len(c.Messages)-1].Direction != "IN" {
				t.Fatalf("messages = %+v, want the request out and the response in", c.Messages)
			}
			if c.History[0].Status != "QUEUED" || c.History[len(c.History)-1].Status != tt.wantStatus {
				t.Fatalf("history = %+v", c.History)
			}
		})
	}
}
