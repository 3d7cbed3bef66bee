package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
)

// newTestCheck stores a PENDING check for p on c with a stand-in bundle.
func newTestCheck(t *testing.T, db *postgres.DB, p *hg.Patient, c *hg.Coverage) *hg.EligibilityCheck {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	ch, err := db.CreateEligibilityCheck(context.Background(), hg.NewEligibilityCheck{
		Check: hg.EligibilityCheck{ID: id, PatientID: p.ID, CoverageID: &c.ID, PayerLicense: c.PayerLicense, PayerName: c.PayerName},
		Message: hg.NPHIESMessage{Direction: hg.Outbound, Event: "eligibility-request", BundleID: uuid.NewString(),
			MessageHeaderID: uuid.NewString(), Body: []byte(fmt.Sprintf(`{"resourceType":"Bundle","id":%q}`, id))},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestEligibilityCheckIsStoredPendingAndNeverTakenByTheOutbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	ch := newTestCheck(t, db, p, c)
	if ch.Status != hg.EligibilityPending || ch.CheckedAt != nil || ch.PayerLicense != c.PayerLicense || *ch.CoverageID != c.ID {
		t.Fatalf("new check %+v, want PENDING for the coverage's payer", ch)
	}
	ms, err := db.EligibilityMessages(ctx, ch.ID)
	if err != nil || len(ms) != 1 || ms[0].Direction != hg.Outbound || ms[0].Delivery != hg.DeliveryPending {
		t.Fatalf("messages %+v %v, want the one outgoing request", ms, err)
	}
	took, err := db.DeliverNext(ctx, func(context.Context, *hg.NPHIESMessage) hg.Attempt {
		t.Error("the outbox worker took a synchronous eligibility request")
		return hg.Attempt{Delivery: hg.DeliverySent}
	})
	if err != nil || took {
		t.Fatalf("DeliverNext = %v, %v; want nothing to deliver", took, err)
	}
}

func TestEligibilityAnswersAreRecordedOnceWithTheResponseRaw(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	yes := true
	no := false
	for _, tc := range []struct {
		name   string
		answer hg.EligibilityAnswer
		want   hg.EligibilityStatus
	}{
		{"eligible", hg.EligibilityAnswer{Status: hg.EligibilityEligible, Outcome: "complete", SiteEligibility: "eligible",
			InForce: &yes, Delivery: hg.DeliverySent, HTTPStatus: 200,
			Response: &hg.Received{Event: "eligibility-response", BundleID: "b-1", Body: []byte(`{"ok":1}`)}}, hg.EligibilityEligible},
		{"not eligible", hg.EligibilityAnswer{Status: hg.EligibilityNotEligible, Outcome: "complete", SiteEligibility: "not-active",
			InForce: &no, Delivery: hg.DeliverySent, HTTPStatus: 200,
			Response: &hg.Received{Event: "eligibility-response", BundleID: "b-2", Body: []byte(`{"ok":2}`)}}, hg.EligibilityNotEligible},
		{"payer error", hg.EligibilityAnswer{Status: hg.EligibilityError, Outcome: "error", LastError: "the payer answered with an error (1658)",
			Errors: []hg.EligibilityIssue{{Code: "1658", Display: "No member found"}}, Delivery: hg.DeliverySent, HTTPStatus: 200,
			Response: &hg.Received{Event: "eligibility-response", BundleID: "b-3", Body: []byte(`{"ok":3}`)}}, hg.EligibilityError},
		{"unreadable", hg.EligibilityAnswer{Status: hg.EligibilityError, LastError: "could not be read", Delivery: hg.DeliveryFailed,
			HTTPStatus: 200, Response: &hg.Received{Body: []byte(`{"trunc`), Problem: "could not be read"}}, hg.EligibilityError},
		{"no answer", hg.EligibilityAnswer{Status: hg.EligibilityError, LastError: "NPHIES could not be reached",
			Delivery: hg.DeliveryFailed}, hg.EligibilityError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := newTestCheck(t, db, p, c)
			got, err := db.RecordEligibilityAnswer(ctx, ch.ID, tc.answer)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.want || got.CheckedAt == nil || got.LastError != tc.answer.LastError ||
				len(got.Errors) != len(tc.answer.Errors) {
				t.Fatalf("recorded %+v, want %s", got, tc.want)
			}
			if len(tc.answer.Errors) > 0 && got.Errors[0] != tc.answer.Errors[0] {
				t.Fatalf("errors %+v, want %+v", got.Errors, tc.answer.Errors)
			}
			again, err := db.EligibilityCheckByID(ctx, everyone, ch.ID)
			if err != nil || again.Status != tc.want {
				t.Fatalf("read back %+v %v", again, err)
			}
			ms, err := db.EligibilityMessages(ctx, ch.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantMsgs := 1
			if tc.answer.Response != nil {
				wantMsgs = 2
			}
			if len(ms) != wantMsgs || ms[0].Delivery != tc.answer.Delivery || ms[0].Attempts != 1 {
				t.Fatalf("messages %+v, want %d with the request %s", ms, wantMsgs, tc.answer.Delivery)
			}
			if wantMsgs == 2 && (ms[1].Direction != hg.Inbound || string(ms[1].Body) != string(tc.answer.Response.Body)) {
				t.Fatalf("response stored as %q, want %q raw", ms[1].Body, tc.answer.Response.Body)
			}
			if _, err := db.RecordEligibilityAnswer(ctx, ch.ID, tc.answer); hg.ErrorCode(err) != hg.ECONFLICT {
				t.Fatalf("second answer: %v, want CONFLICT", err)
			}
		})
	}
}

func TestEligibilityAnswerRefusesAnErrorWithoutAReason(t *testing.T) {
	t.Parallel()
	db, p, c := billingSetup(t)
	ch := newTestCheck(t, db, p, c)
	_, err := db.RecordEligibilityAnswer(context.Background(), ch.ID, hg.EligibilityAnswer{Status: hg.EligibilityError,
		Delivery: hg.DeliveryFailed})
	if hg.ErrorCode(err) != hg.EINVALID {
		t.Fatalf("got %v, want BAD_USER_INPUT", err)
	}
	if got, _ := db.EligibilityCheckByID(context.Background(), everyone, ch.ID); got.Status != hg.EligibilityPending {
		t.Fatalf("a refused answer changed the check: %+v", got)
	}
}

func TestEligibilityChecksListNewestFirstInScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	var ids []uuid.UUID
	for range 3 {
		ids = append(ids, newTestCheck(t, db, p, c).ID)
		time.Sleep(time.Millisecond)
	}
	cs, err := db.EligibilityChecksByPatient(ctx, everyone, p.ID, 2)
	if err != nil || len(cs) != 2 || cs[0].ID != ids[2] || cs[1].ID != ids[1] {
		t.Fatalf("list %v %v, want the 2 newest of %v", cs, err, ids)
	}
	someone := uuid.New()
	stranger := hg.PatientScope{SelfUserID: &someone}
	if _, err := db.EligibilityChecksByPatient(ctx, stranger, p.ID, 10); hg.ErrorCode(err) != hg.ENOTFOUND {
		t.Fatalf("out-of-scope list: %v, want NOT_FOUND", err)
	}
	if _, err := db.EligibilityCheckByID(ctx, stranger, ids[0]); hg.ErrorCode(err) != hg.ENOTFOUND {
		t.Fatalf("out-of-scope check: %v, want NOT_FOUND", err)
	}
}

func TestEligibilityCheckNeedsThePatientsOwnCoverage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, p, c := billingSetup(t)
	other, err := db.CreatePatient(ctx, hg.NewPatient{MRN: "MRN-2", NationalID: "1012345679", FirstName: "Huda",
		FamilyName: "Al-Harbi", BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.CreateEligibilityCheck(ctx, hg.NewEligibilityCheck{
		Check: hg.EligibilityCheck{ID: uuid.Must(uuid.NewV7()), PatientID: other.ID, CoverageID: &c.ID},
		Message: hg.NPHIESMessage{Direction: hg.Outbound, Event: "eligibility-request", BundleID: "b", MessageHeaderID: "h",
			Body: []byte(`{}`)},
	})
	if hg.ErrorCode(err) != hg.ENOTFOUND {
		t.Fatalf("got %v, want NOT_FOUND", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM eligibility_checks`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d checks stored (%v), want none", n, err)
	}
	if cs, err := db.EligibilityChecksByPatient(ctx, everyone, p.ID, 10); err != nil || len(cs) != 0 {
		t.Fatalf("the coverage's own patient has checks %v %v", cs, err)
	}
}
