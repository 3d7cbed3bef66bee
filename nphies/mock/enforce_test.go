package mock_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/nphies/rules"
)

// cptUnderServices puts a CPT code under NPHIES's services system (which
// holds SBS codes, NNNNN-NN-NN, and is not a pharmacy billing system) on
// claimBundle's pharmacy claim. Our builder refuses to write that, so the
// built bundle is edited as a sender with another builder could send it.
func cptUnderServices(t *testing.T, msg *nphies.Message) {
	t.Helper()
	good := `"system":"` + nphies.SystemMedicationCodes + `","code":"06285096000842"`
	bad := `"system":"` + nphies.SystemServices + `","code":"99213"`
	if !bytes.Contains(msg.Body, []byte(good)) {
		t.Fatalf("the claim has no %s coding", good)
	}
	msg.Body = bytes.Replace(msg.Body, []byte(good), []byte(bad), 1)
}

func TestRefusesAClaimThatBreaksNPHIESRules(t *testing.T) {
	t.Parallel()
	m := mock.New(mock.Options{})
	msg := claimBundle(t, "cpt", "M-1", nil)
	cptUnderServices(t, msg)
	status, body := post(t, m, msg.Body, "")
	r, err := nphies.Parse(body)
	if status != http.StatusOK || err != nil || r.Claim == nil {
		t.Fatalf("HTTP %d %v %s", status, err, body)
	}
	if r.Claim.Status != nphies.ClaimError || !r.NPHIESGenerated || r.SenderLicense != nphies.NPHIESLicense {
		t.Errorf("answer %+v; want an NPHIES-generated error", r.Claim)
	}
	found := false
	for _, e := range r.Claim.Errors {
		if e.Code == "IB-00267" {
			found = true
			if e.Expression != "Bundle.entry[1].resource.item[0].productOrService" {
				t.Errorf("IB-00267 expression %q", e.Expression)
			}
		}
	}
	if !found {
		t.Errorf("errors %+v; want IB-00267 (pharmacy-billing)", r.Claim.Errors)
	}
	if c := m.Deliveries().Claims[msg.Focus.Key()]; c.Processed != 0 {
		t.Errorf("a refused claim was adjudicated: %+v", c)
	}
	// The same bundle with the rules off is adjudicated as before.
	status, body = post(t, mock.New(mock.Options{AcceptInvalid: true}), msg.Body, "")
	if r, err := nphies.Parse(body); status != http.StatusOK || err != nil || r.Claim.Status != nphies.ClaimApproved {
		t.Errorf("AcceptInvalid: HTTP %d %v %+v; want approved", status, err, r)
	}
}

func TestRefusesOtherMessagesWithTheirKindOfError(t *testing.T) {
	t.Parallel()
	breakRef := func(t *testing.T, file, rt, field string) []byte {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(examplesDir, file))
		if err != nil {
			t.Fatal(err)
		}
		var b map[string]any
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		for _, e := range b["entry"].([]any) {
			r := e.(map[string]any)["resource"].(map[string]any)
			if r["resourceType"] == rt {
				r[field] = map[string]any{"reference": "http://provider.com/Nothing/here"}
			}
		}
		out, _ := json.Marshal(b)
		return out
	}
	t.Run("eligibility gets an eligibility response with outcome error", func(t *testing.T) {
		t.Parallel()
		_, body := post(t, mock.New(mock.Options{}), breakRef(t, "14a-eligibilty-request-ben-val.json", "CoverageEligibilityRequest", "patient"), "")
		r, err := nphies.Parse(body)
		if err != nil || r.Eligibility == nil || len(r.Eligibility.Errors) == 0 {
			t.Fatalf("%v %s", err, body)
		}
		if !slices.ContainsFunc(r.Eligibility.Errors, func(e nphies.Issue) bool {
			return e.Code == "RE-00068" && strings.HasSuffix(e.Expression, ".patient.reference")
		}) {
			t.Errorf("errors %+v; want RE-00068 at the patient reference", r.Eligibility.Errors)
		}
	})
	t.Run("a cancel request gets a fatal-error acknowledgement", func(t *testing.T) {
		t.Parallel()
		_, body := post(t, mock.New(mock.Options{}), breakRef(t, "17a-cancel-request.json", "Task", "requester"), "")
		r, err := nphies.Parse(body)
		if err != nil || r.ResponseCode != "fatal-error" || len(r.Issues) == 0 {
			t.Fatalf("%v %+v", err, r)
		}
		if !slices.ContainsFunc(r.Issues, func(i nphies.Issue) bool {
			return i.Code == "RE-00143" && strings.HasSuffix(i.Expression, ".requester.reference")
		}) {
			t.Errorf("issues %+v; want RE-00143 at the requester reference", r.Issues)
		}
	})
}

// scripted posts claims through every scripted outcome and returns the answers.
func scripted(t *testing.T) map[string][]byte {
	t.Helper()
	m := mock.New(mock.Options{OfflinePayers: []string{"INS-OFF"}})
	out := map[string][]byte{}
	var approved *nphies.Message
	for _, o := range []string{"approved", "partial", "rejected", "not-eligible", "error", "eligibility-error", "queued", "communication"} {
		msg := claimBundle(t, "scripted-"+o, "M-1", func(in *nphies.ClaimInput) {
			in.Items = append(in.Items, in.Items[0], in.Items[0])
			for i := range in.Items {
				in.Items[i].Sequence = int64(i + 1)
			}
			in.TotalHalalas = 3 * in.Items[0].NetHalalas
		})
		_, out[o] = post(t, m, msg.Body, o)
		if o == "approved" {
			approved = msg
		}
	}
	// A payment reconciliation for the approved claim, delivered by the polls below.
	if _, err := m.EnqueuePaymentReconciliation("PR-FHIR", approved.Focus); err != nil {
		t.Fatal(err)
	}
	off := claimBundle(t, "scripted-offline", "M-1", func(in *nphies.ClaimInput) { in.Payer.License = "INS-OFF" })
	_, out["offline"] = post(t, m, off.Body, "")
	for i := 0; i < 4; i++ {
		_, out["poll"+string(rune('0'+i))] = post(t, m, pollBundle(t, i), "")
	}
	return out
}

func TestAnswersPassTheRuleEngine(t *testing.T) {
	t.Parallel()
	answers := scripted(t)
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, answers[filepath.Base(f)] = post(t, mock.New(mock.Options{AcceptInvalid: true}), raw, "")
	}
	// Answers copy the request's Patient, Coverage and Organizations so
	// their references resolve; a rule those copies already broke in the
	// request (an official example without a plan class) is not the mock's.
	inherited := map[string]bool{}
	for _, f := range files {
		vs, _ := rules.Check(readExample(t, f))
		for _, v := range vs {
			inherited[v.Rule] = true
		}
	}
	for name, body := range answers {
		vs, err := rules.Check(body)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, v := range rules.Blocking(vs) {
			if !inherited[v.Rule] {
				t.Errorf("%s: answer breaks %s at %s: %s", name, v.Rule, v.Expression, v.Message)
			}
		}
		checkFullURLs(t, name, body)
	}
}

// checkFullURLs asserts every entry's fullUrl ends with its resource's id.
func checkFullURLs(t *testing.T, name string, body []byte) {
	t.Helper()
	var b nphies.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	for i, e := range b.Entry {
		var r struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(e.Resource, &r)
		if r.ID == "" || !strings.HasSuffix(e.FullURL, "/"+r.ID) && !strings.HasSuffix(e.FullURL, ":"+r.ID) {
			t.Errorf("%s: entry %d fullUrl %s does not end with its id %q", name, i, e.FullURL, r.ID)
		}
		if e.ResourceType() == "Bundle" {
			checkFullURLs(t, name+" (nested)", e.Resource)
		}
	}
}

func TestItemAnswersEchoTheInvoiceAndRejectedItemsCarryNoTax(t *testing.T) {
	t.Parallel()
	body := scripted(t)["partial"]
	var b nphies.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	var cr nphies.ClaimResponse
	if e := b.FindType("ClaimResponse"); e == nil || e.Decode(&cr) != nil {
		t.Fatalf("no ClaimResponse in %s", body)
	}
	rejected := 0
	for _, it := range cr.Item {
		var invoice, outcome string
		for _, x := range it.Extension {
			switch {
			case strings.HasSuffix(x.URL, "extension-patientInvoice") && x.ValueIdentifier != nil:
				invoice = x.ValueIdentifier.Value
			case strings.HasSuffix(x.URL, "extension-adjudication-outcome"):
				outcome = x.ValueCodeableConcept.Code("")
			}
		}
		if invoice != "I" {
			t.Errorf("item %d: patientInvoice %q, want the claim item's I (BV-00537)", it.ItemSequence, invoice)
		}
		for _, a := range it.Adjudication {
			if outcome == nphies.DecisionRejected && a.Category.Code("") == "tax" && a.Amount.Halalas() != 0 {
				rejected++
				t.Errorf("rejected item %d reports tax %d", it.ItemSequence, a.Amount.Halalas())
			}
		}
	}
	if rejected != 0 {
		t.Errorf("%d rejected items with tax", rejected)
	}
}

// pollBundle builds poll-request number i for PR-FHIR taking up to 5 messages.
func pollBundle(t *testing.T, i int) []byte {
	t.Helper()
	next := func(k int) uuid.UUID {
		return uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprintf("poll/%d/%d", i, k)))
	}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	msg, err := (&nphies.Builder{ProviderLicense: "PR-FHIR", BaseURL: "https://clinic.example.sa"}).BuildPoll(nphies.PollInput{
		Envelope: nphies.Envelope{BundleID: next(1), MessageHeaderID: next(2), Timestamp: now},
		TaskID:   next(3), Created: now, Count: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	return msg.Body
}

func readExample(t *testing.T, f string) []byte {
	t.Helper()
	raw, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRefusesAClaimMissingAVitalSign: the minimum data set is enforced
// like every other rule (nothing is waived any more). A professional claim
// whose visit's systolic pressure was not sent is answered as NPHIES
// answers: an NPHIES-generated ClaimResponse outcome=error naming BV-00773
// with its official display and the element's expression, and nothing is
// adjudicated; the same claim with the whole data set is approved.
func TestRefusesAClaimMissingAVitalSign(t *testing.T) {
	t.Parallel()
	m := mock.New(mock.Options{})
	professional := func(drop string) func(*nphies.ClaimInput) {
		return func(in *nphies.ClaimInput) {
			in.Type = nphies.ClaimTypeProfessional
			in.Items[0].DaysSupply, in.Items[0].PharmacistSelectionReason = 0, ""
			in.Encounter = &nphies.EncounterInput{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("vitals/encounter")),
				Start: in.Items[0].ServicedDate, End: in.Items[0].ServicedDate.Add(30 * time.Minute)}
			kept := in.SupportingInfo[:0]
			for _, s := range in.SupportingInfo {
				if s.Category != drop {
					kept = append(kept, s)
				}
			}
			in.SupportingInfo = kept
		}
	}
	msg := claimBundle(t, "vitals", "M-1", professional("vital-sign-systolic"))
	status, body := post(t, m, msg.Body, "")
	r, err := nphies.Parse(body)
	if status != http.StatusOK || err != nil || r.Claim == nil {
		t.Fatalf("HTTP %d %v %s", status, err, body)
	}
	if r.Claim.Status != nphies.ClaimError || !r.NPHIESGenerated || r.SenderLicense != nphies.NPHIESLicense {
		t.Errorf("answer %+v; want an NPHIES-generated error", r.Claim)
	}
	var codes []string
	for _, e := range r.Claim.Errors {
		codes = append(codes, e.Code)
		if e.Code == "BV-00773" && (e.Expression != "Bundle.entry[1].resource.supportingInfo" || e.Display == "") {
			t.Errorf("BV-00773 expression %q display %q", e.Expression, e.Display)
		}
	}
	if len(codes) != 1 || codes[0] != "BV-00773" {
		t.Errorf("errors %v; want only BV-00773 (systolic blood pressure)", codes)
	}
	if c := m.Deliveries().Claims[msg.Focus.Key()]; c.Processed != 0 {
		t.Errorf("a refused claim was adjudicated: %+v", c)
	}
	whole := claimBundle(t, "vitals-whole", "M-1", professional(""))
	if status, body := post(t, m, whole.Body, ""); status != http.StatusOK {
		t.Fatalf("HTTP %d %s", status, body)
	} else if r, err := nphies.Parse(body); err != nil || r.Claim == nil || r.Claim.Status != nphies.ClaimApproved {
		t.Errorf("the claim with its whole data set: %v %+v, want approved", err, r)
	}
}
