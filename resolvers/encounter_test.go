package resolvers_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
)

// TestClaimAfterPriorAuthorizationQuotesItAndCarriesTheVisit is issue 15's
// findings 5 and 7: the prior authorization's encounter is the booked visit
// (planned, not finished), the payer's approval reference is quoted by the
// claim that follows (preAuthRef, BV-00449), whose encounter is the same
// visit once completed; a claim for a visit not yet completed is refused.
func TestClaimAfterPriorAuthorizationQuotesItAndCarriesTheVisit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	nph := httptest.NewServer(mock.New(mock.Options{}))
	t.Cleanup(nph.Close)
	client, err := nphies.NewClient(nph.URL, nphies.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b := newBillingEnv(t)
	wctx, cancel := context.WithCancel(ctx)
	worker := &nphies.Worker{Store: b.DB, Client: client, Interval: 20 * time.Millisecond, BackoffBase: 50 * time.Millisecond}
	done := make(chan struct{})
	go func() { defer close(done); _ = worker.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })

	v := b.bookVisit(t, b.patient)
	b.recordFindings(t, v, fullVitals())
	appt := v.appointment
	inv := b.createInvoice(t, b.patient, b.coverage)
	in := v.claimInput(inv.ID, "R51")

	const mut = `mutation($in: SubmitClaimInput!) { %s(input: $in) { id messages { body } } }`
	var pa struct {
		RequestPriorAuthorization struct {
			ID       string
			Messages []struct{ Body string }
		}
	}
	b.Do(t, b.billing, strings.Replace(mut, "%s", "requestPriorAuthorization", 1), map[string]any{"in": in}).Decode(t, &pa)
	if enc := encounterIn(t, pa.RequestPriorAuthorization.Messages[0].Body); enc.ID != appt.ID.String() || enc.Status != "planned" {
		t.Fatalf("prior authorization encounter = %+v, want the booked visit %s, planned", enc, appt.ID)
	}
	var ref string
	eventually.Poll(func() bool {
		var out struct {
			Claim struct{ Status, PreAuthRef string }
		}
		b.Do(t, b.billing, `query($id: ID!) { claim(id: $id) { status preAuthRef } }`,
			map[string]any{"id": pa.RequestPriorAuthorization.ID}).Decode(t, &out)
		ref = out.Claim.PreAuthRef
		return out.Claim.Status == "APPROVED" && ref != ""
	})

	b.issue(t, inv.ID)
	r := b.Do(t, b.billing, strings.Replace(mut, "%s", "submitClaim", 1), map[string]any{"in": in})
	if r.Code() != hg.EINVALID || r.Field() != "input.appointmentId" {
		t.Fatalf("claim for a booked visit: %+v", r.Errors)
	}
	start := b.complete(t, v).StartsAt
	var claim struct {
		SubmitClaim struct {
			ID       string
			Messages []struct{ Body string }
		}
	}
	b.Do(t, b.billing, strings.Replace(mut, "%s", "submitClaim", 1), map[string]any{"in": in}).Decode(t, &claim)
	body := claim.SubmitClaim.Messages[0].Body
	if enc := encounterIn(t, body); enc.ID != appt.ID.String() || enc.Status != "finished" ||
		!strings.HasPrefix(enc.Period.Start, start.In(time.FixedZone("", 3*3600)).Format("2006-01-02T15:04")) {
		t.Fatalf("claim encounter = %+v, want the completed visit %s starting %s", enc, appt.ID, start)
	}
	if got := preAuthRefs(t, body); len(got) != 1 || got[0] != ref {
		t.Fatalf("claim preAuthRef = %v, want [%s]", got, ref)
	}

	// Diagnoses are ICD-10-AM: an ICD-10-CM code with a seventh character is refused.
	in["diagnoses"] = []string{"S72.001A"}
	if r := b.Do(t, b.billing, strings.Replace(mut, "%s", "submitClaim", 1), map[string]any{"in": in}); r.Code() != hg.EINVALID || r.Field() != "input.diagnoses" {
		t.Fatalf("ICD-10-CM diagnosis: %+v", r.Errors)
	}
	// The visit must be the invoice's patient's, with the treating practitioner.
	in["diagnoses"], in["practitionerId"] = []string{"R51"}, b.bookVisit(t, b.patient).practitioner
	if r := b.Do(t, b.billing, strings.Replace(mut, "%s", "submitClaim", 1), map[string]any{"in": in}); r.Code() != hg.EINVALID || r.Field() != "input.appointmentId" {
		t.Fatalf("another practitioner's visit: %+v", r.Errors)
	}
}

type encounterOut struct {
	ID, Status string
	Period     struct{ Start, End string }
}

// encounterIn returns the Encounter of a bundle.
func encounterIn(t *testing.T, body string) encounterOut {
	t.Helper()
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string
				encounterOut
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &bundle); err != nil {
		t.Fatal(err)
	}
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType == "Encounter" {
			return e.Resource.encounterOut
		}
	}
	t.Fatal("the bundle has no Encounter")
	return encounterOut{}
}

// preAuthRefs returns the Claim's insurance preAuthRefs.
func preAuthRefs(t *testing.T, body string) []string {
	t.Helper()
	var bundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string
				Insurance    []struct{ PreAuthRef []string }
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &bundle); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType == "Claim" {
			for _, ins := range e.Resource.Insurance {
				out = append(out, ins.PreAuthRef...)
			}
		}
	}
	return out
}
