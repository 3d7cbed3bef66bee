package resolvers_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	hg "github.com/healthgraph/healthgraph"
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
	var sub struct{ SubmitClaim struct{ ID string } }
	f.Do(t, f.billing, submitClaimMut, map[string]any{"in": in}).Decode(t, &sub)
	f.deliver(t)
	if c := f.claim(t, sub.SubmitClaim.ID); c.Status != "REJECTED" {
		t.Fatalf("claim %s, want REJECTED (history %+v)", c.Status, c.History)
	}

	f.setMember(t, "M-DOCS")
	var re struct{ ResubmitClaim struct{ ID string } }
	f.Do(t, f.billing, `mutation($id: ID!, $in: ResubmitClaimInput!) { resubmitClaim(id: $id, input: $in) { id } }`,
		map[string]any{"id": sub.SubmitClaim.ID, "in": map[string]any{"practitionerId": visit.practitioner, "diagnoses": []string{"R07.1"}}}).
		Decode(t, &re)
	f.deliver(t)
	c = f.claim(t, re.ResubmitClaim.ID)
	if c.Status != "APPROVED" {
		t.Fatalf("resubmission %s, want APPROVED (history %+v)", c.Status, c.History)
	}
	assertDocumentsSent(t, c.sent("claim-request")[0], report)
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
