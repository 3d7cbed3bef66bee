package resolvers_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/fhirshape"
	"github.com/healthgraph/healthgraph/nphies/rules"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/server"
)

// Documents on claims and prior authorizations (issue 15): an
// investigation report or a scan goes as supportingInfo of category
// attachment with its valueAttachment, as official example 2c sends an
// X-ray; the communication's limits and types apply; a resubmission sends
// the documents again.

// attachmentInfo is a bundle's Claim.supportingInfo of category
// attachment: each entry's valueAttachment as sent.
func attachmentInfo(t *testing.T, body string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range supportingInfoOf(t, body) {
		if s.Category.Coding[0].Code == "attachment" {
			out = append(out, s.ValueAttachment)
		}
	}
	return out
}

// keys lists a map's keys, sorted.
func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// assertDocumentsSent fails unless body carries exactly the documents, in
// order, each with the elements example 2c's X-ray has, and breaks no rule.
func assertDocumentsSent(t *testing.T, body string, docs ...map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(officialExamples, "2c-second-preauth-dental-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	example := attachmentInfo(t, string(raw))
	sent := attachmentInfo(t, body)
	if len(sent) != len(docs) {
		t.Fatalf("%d documents sent, want %d", len(sent), len(docs))
	}
	for i, a := range sent {
		if got, want := keys(a), keys(example[0]); !reflect.DeepEqual(got, want) {
			t.Errorf("document %d has %v, example 2c's %v", i+1, got, want)
		}
		for _, k := range []string{"title", "contentType", "data"} {
			if a[k] != docs[i][k] {
				t.Errorf("document %d %s = %.40v, want %.40v", i+1, k, a[k], docs[i][k])
			}
		}
	}
	vs, err := rules.Check([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rules.Blocking(vs) {
		t.Errorf("%s at %s: %s", v.Rule, v.Expression, v.Message)
	}
}

// rejectedAndResubmitted submits the claim in, which the mock rejects (the
// coverage's member starts with REJECT), then, with the member set to
// member, resubmits it for practitioner with diagnoses, which the mock
// approves. It returns the two claims' ids and the resubmission.
func (f flowEnv) rejectedAndResubmitted(t *testing.T, in map[string]any, member, practitioner string,
	diagnoses ...string) (rejected, resubmitted string, c flowClaim) {
	t.Helper()
	var sub struct{ SubmitClaim struct{ ID string } }
	f.Do(t, f.billing, submitClaimMut, map[string]any{"in": in}).Decode(t, &sub)
	f.deliver(t)
	if c := f.claim(t, sub.SubmitClaim.ID); c.Status != "REJECTED" {
		t.Fatalf("claim %s, want REJECTED (history %+v)", c.Status, c.History)
	}

	f.setMember(t, member)
	var re struct{ ResubmitClaim struct{ ID string } }
	f.Do(t, f.billing, `mutation($id: ID!, $in: ResubmitClaimInput!) { resubmitClaim(id: $id, input: $in) { id } }`,
		map[string]any{"id": sub.SubmitClaim.ID, "in": map[string]any{"practitionerId": practitioner, "diagnoses": diagnoses}}).
		Decode(t, &re)
	f.deliver(t)
	c = f.claim(t, re.ResubmitClaim.ID)
	if c.Status != "APPROVED" {
		t.Fatalf("resubmission %s, want APPROVED (history %+v)", c.Status, c.History)
	}
	return sub.SubmitClaim.ID, re.ResubmitClaim.ID, c
}

// TestClaimDocumentsThroughTheAPI: a dental prior authorization with an
// X-ray and a professional claim with a lab report go out with them and the
// mock decides them; the rejected claim's resubmission sends its report
// again.
func TestClaimDocumentsThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "M-DOCS")
	visit := f.seenVisit(t, f.patient)
	xray, report := attachment("X-ray of tooth 13", "image/jpeg", scan), attachment("Lab report", "application/pdf", labReport)

	inv := f.typedInvoice(t, oralExam, restoration)
	in := visit.claimInput(inv, "K02.1")
	in["type"], in["items"] = "DENTAL", []map[string]any{{"sequence": 1, "tooth": "00"}, {"sequence": 2, "tooth": "13"}}
	in["attachments"] = []map[string]any{xray}
	var pa struct{ RequestPriorAuthorization struct{ ID string } }
	f.Do(t, f.billing, `mutation($in: SubmitClaimInput!) { requestPriorAuthorization(input: $in) { id } }`,
		map[string]any{"in": in}).Decode(t, &pa)
	f.deliver(t)
	c := f.claim(t, pa.RequestPriorAuthorization.ID)
	if c.Status != "APPROVED" {
		t.Fatalf("prior authorization %s, want APPROVED (history %+v)", c.Status, c.History)
	}
	assertDocumentsSent(t, c.sent("priorauth-request")[0], xray)

	f.setMember(t, "REJECT-DOCS")
	inv = f.typedInvoice(t, consultation)
	f.issue(t, inv)
	in = visit.claimInput(inv, "R07.1")
	in["attachments"] = []map[string]any{report}
	_, _, c = f.rejectedAndResubmitted(t, in, "M-DOCS", visit.practitioner, "R07.1")
	assertDocumentsSent(t, c.sent("claim-request")[0], report)
}

// iraShape is the shape of a bundle's investigation-result entries, each
// alone in a Claim, so that the entry can be set beside the official
// example's whatever else the bundles carry.
func iraShape(t *testing.T, body string) (fhirshape.Shape, int) {
	t.Helper()
	var b struct {
		Entry []struct {
			Resource struct{ SupportingInfo []json.RawMessage }
		}
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	var entries []json.RawMessage
	for _, e := range b.Entry {
		for _, raw := range e.Resource.SupportingInfo {
			if strings.Contains(string(raw), `"investigation-result"`) {
				entries = append(entries, raw)
			}
		}
	}
	alone, err := json.Marshal(map[string]any{"type": "message", "entry": []any{
		map[string]any{"resource": map[string]any{"resourceType": "Claim", "supportingInfo": entries}}}})
	if err != nil {
		t.Fatal(err)
	}
	shape, err := fhirshape.Of(alone)
	if err != nil {
		t.Fatal(err)
	}
	return shape, len(entries)
}

// TestInvestigationReportThroughTheAPI: a document of kind
// INVESTIGATION_RESULT goes as the December 2023 official example sends its
// report (investigation-result, code IRA, valueAttachment) instead of the
// visit's recorded "not performed", beside a plain document; the bundle
// breaks no rule, and a resubmission sends the report the same way.
func TestInvestigationReportThroughTheAPI(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "REJECT-IRA")
	visit := f.seenVisit(t, f.patient)
	inv := f.typedInvoice(t, consultation)
	f.issue(t, inv)
	report, scanned := attachment("Investigation report", "application/pdf", labReport), attachment("Referral letter", "image/jpeg", scan)
	report["kind"] = "INVESTIGATION_RESULT"
	in := visit.claimInput(inv, "R07.1")
	in["attachments"] = []map[string]any{report, scanned}
	rejected, _, c := f.rejectedAndResubmitted(t, in, "M-IRA", visit.practitioner, "R07.1")
	for i, body := range []string{f.claim(t, rejected).sent("claim-request")[0], c.sent("claim-request")[0]} {
		got, n := iraShape(t, body)
		if n != 1 {
			t.Fatalf("bundle %d: %d investigation results, want the report alone", i+1, n)
		}
		raw, err := os.ReadFile(filepath.Join(officialExamples, "preauth-professional-outpatient-request.json"))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := iraShape(t, string(raw))
		for _, d := range fhirshape.Compare(got, want) {
			t.Errorf("bundle %d beyond the official example: %s", i+1, d)
		}
		// The example's report carries the date it was made; ours the
		// date it was sent (Attachment.creation).
		for _, d := range fhirshape.Missing(got, want) {
			t.Errorf("bundle %d lacks the official example's %s", i+1, d)
		}
		var sentReport map[string]any
		for _, s := range supportingInfoOf(t, body) {
			if s.Category.Coding[0].Code == "investigation-result" {
				sentReport = s.ValueAttachment
			}
		}
		for _, k := range []string{"title", "contentType", "data"} {
			if sentReport[k] != report[k] {
				t.Errorf("bundle %d: report %s = %.40v, want %.40v", i+1, k, sentReport[k], report[k])
			}
		}
		assertDocumentsSent(t, body, scanned)
	}
}

// TestBadClaimDocumentsWriteNothing: a document of a refused type, one not
// what it claims to be, too large, too many together or not base64 is
// BAD_USER_INPUT on input.attachments from the scrubber and the
// mutations, and nothing is queued.
func TestBadClaimDocumentsWriteNothing(t *testing.T) {
	t.Parallel()
	f := newFlowEnv(t, "M-BADDOCS", func(c *server.Config, _ *postgres.Options) { c.MaxBodyBytes = 16 << 20 })
	visit := f.seenVisit(t, f.patient)
	inv := f.typedInvoice(t, consultation)
	f.issue(t, inv)
	large := append(scan, make([]byte, hg.MaxAttachmentBytes)...)
	for _, tc := range []struct {
		name string
		docs []map[string]any
		want string
	}{
		{"a refused type", []map[string]any{attachment("notes", "text/plain", []byte("plain notes"))}, "not accepted"},
		{"not what it claims", []map[string]any{attachment("report", "application/pdf", scan)}, "not a application/pdf file"},
		{"too large", []map[string]any{attachment("scan", "image/jpeg", large)}, "bytes"},
		{"too much together", []map[string]any{attachment("a", "image/jpeg", append(scan, make([]byte, 3_600_000)...)),
			attachment("b", "image/jpeg", append(scan, make([]byte, 3_600_000)...))}, "add up to"},
		{"not base64", []map[string]any{{"title": "scan", "contentType": "image/jpeg", "data": "not base64!"}}, "not base64"},
		{"without a title", []map[string]any{attachment("", "image/jpeg", scan)}, "title"},
		{"an investigation report without its document", []map[string]any{
			{"title": "Investigation report", "contentType": "application/pdf", "data": "", "kind": "INVESTIGATION_RESULT"}}, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := visit.claimInput(inv, "R07.1")
			in["attachments"] = tc.docs
			for _, r := range []struct {
				query string
				vars  map[string]any
			}{
				{submitClaimMut, map[string]any{"in": in}},
				{`mutation($in: SubmitClaimInput!) { requestPriorAuthorization(input: $in) { id } }`, map[string]any{"in": in}},
				{readinessQuery, map[string]any{"in": in, "use": "CLAIM"}},
			} {
				res := f.Do(t, f.billing, r.query, r.vars)
				if res.Code() != hg.EINVALID || res.Field() != "input.attachments" || !strings.Contains(res.Errors[0].Message, tc.want) {
					t.Fatalf("code %q field %q (%+v), want BAD_USER_INPUT on input.attachments saying %q", res.Code(), res.Field(), res.Errors, tc.want)
				}
			}
		})
	}
	if n := f.Count(t, `SELECT (SELECT count(*) FROM claims) + (SELECT count(*) FROM nphies_messages) + (SELECT count(*) FROM claim_attachments)`); n != 0 {
		t.Fatalf("%d claim rows, messages or documents written for refused claims", n)
	}
}
