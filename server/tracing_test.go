package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/nphies"
	"github.com/healthgraph/healthgraph/nphies/mock"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/observability/observabilitytest"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// The caller's trace context every request of the test continues.
const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
)

// The seeded patient: what must never reach telemetry.
var tracedPatient = struct{ First, Family, NationalID, Phone, Email string }{
	"Zubaida", "Al-Mutawwa", "1098765432", "+966501234567", "zubaida.mutawwa@example.sa"}

const chartQuery = `query TraceChart { appointments(first: 5) { edges { node {
	patient { firstName familyName coverages { memberId } }
	practitioner { familyName } } } } }`

// TestOneRequestIsOneTraceFromHTTPToSQLAndOnToNPHIES runs the real server,
// fully instrumented and recording into memory, with the pgx tracer, traced
// Redis and the NPHIES worker wired as cmd/healthgraph wires them. A nested
// query continuing the caller's traceparent must be one trace that goes
// HTTP → operation → resolver → SQL, with Redis in it; a claim submitted
// the same way must leave as its own delivery trace, linked to the request,
// whose traceparent reaches NPHIES; and no patient's identity may appear in
// spans, logs or metrics.
func TestOneRequestIsOneTraceFromHTTPToSQLAndOnToNPHIES(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := observabilitytest.New(t)
	m := rec.Metrics
	db := pgtest.New(t, postgres.Options{Tracer: m.PgxTracer()})
	m.ObservePool(db.Pool.Stat)
	env := servertest.StartWith(t, db, servertest.Config(), servertest.Options{
		RedisURL: servertest.RedisURL, RedisPrefix: servertest.NewPrefix(t), Metrics: m, Logger: rec.Logger})
	_, admin := env.User(t, "admin@clinic.test", hg.RoleAdmin)

	// Seeded through the store, without a request: no spans.
	docUser, _ := env.User(t, "doctor@clinic.test", hg.RolePractitioner)
	doc, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: docUser.ID, FirstName: "Khalid", FamilyName: "Alsubaie",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-700"})
	if err != nil {
		t.Fatal(err)
	}
	p := tracedPatient
	patient, err := db.CreatePatient(ctx, hg.NewPatient{MRN: "MRN-TRACE", NationalID: p.NationalID, FirstName: p.First,
		FamilyName: p.Family, BirthDate: time.Date(1988, 3, 4, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale,
		Phone: p.Phone, Email: p.Email})
	if err != nil {
		t.Fatal(err)
	}
	today := hg.DateOf(time.Now())
	coverage, err := db.AddCoverage(ctx, hg.PatientScope{All: true}, hg.NewCoverage{PatientID: patient.ID,
		PayerLicense: "7001463160", PayerName: "Bupa Arabia", MemberIDSystem: "http://payer.example/memberid", Class: "A", MemberID: "M-1", PolicyNumber: "POL-77",
		StartsOn: today.AddDate(0, -1, 0), EndsOn: today.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	if _, err := db.BookAppointment(ctx, hg.PatientScope{All: true}, hg.NewAppointment{PatientID: patient.ID,
		PractitionerID: doc.ID, StartsAt: start, EndsAt: start.Add(30 * time.Minute), Reason: "follow-up"}); err != nil {
		t.Fatal(err)
	}

	t.Run("a nested query is one trace from HTTP to SQL and Redis", func(t *testing.T) {
		before := countNamed(rec.Spans(), "POST /graphql")
		var out struct {
			Appointments struct {
				Edges []struct {
					Node struct {
						Patient struct {
							FirstName string
							Coverages []struct{ MemberID string }
						}
						Practitioner struct{ FamilyName string }
					}
				}
			}
		}
		tracedDo(t, env, admin, chartQuery, nil).Decode(t, &out)
		if e := out.Appointments.Edges; len(e) != 1 || e[0].Node.Patient.FirstName != p.First ||
			len(e[0].Node.Patient.Coverages) != 1 || e[0].Node.Practitioner.FamilyName != "Alsubaie" {
			t.Fatalf("answer = %+v", out)
		}
		spans := waitForSpan(t, rec, func(s tracetest.SpanStub) bool {
			return s.Name == "POST /graphql" && s.SpanContext.TraceID().String() == callerTrace
		})
		if n := countNamed(spans, "POST /graphql") - before; n != 1 {
			t.Fatalf("the request made %d HTTP server spans, want 1:\n%s", n, rec.Tree())
		}
		tr := inTrace(spans, callerTrace)
		t.Logf("trace of the query:\n%s", treeOf(tr))

		httpSpan := only(t, tr, func(s tracetest.SpanStub) bool { return s.SpanKind == trace.SpanKindServer })
		if httpSpan.Name != "POST /graphql" || httpSpan.Parent.SpanID().String() != callerSpan || !httpSpan.Parent.IsRemote() {
			t.Errorf("HTTP span %q has parent %s (remote %v), want POST /graphql continuing the caller's span %s",
				httpSpan.Name, httpSpan.Parent.SpanID(), httpSpan.Parent.IsRemote(), callerSpan)
		}
		op := only(t, tr, func(s tracetest.SpanStub) bool { return has(s, "graphql.operation.type") })
		if op.Name != "query TraceChart" || op.Parent.SpanID() != httpSpan.SpanContext.SpanID() {
			t.Errorf("operation span %q under %s, want query TraceChart under the HTTP span", op.Name, op.Parent.SpanID())
		}
		byID := map[trace.SpanID]tracetest.SpanStub{}
		for _, s := range tr {
			byID[s.SpanContext.SpanID()] = s
		}
		// chain names the kinds of span from s up to the trace root.
		chain := func(s tracetest.SpanStub) []string {
			var kinds []string
			for ok := true; ok; s, ok = byID[s.Parent.SpanID()] {
				switch {
				case s.SpanContext.SpanID() == httpSpan.SpanContext.SpanID():
					kinds = append(kinds, "http")
				case s.SpanContext.SpanID() == op.SpanContext.SpanID():
					kinds = append(kinds, "operation")
				case has(s, "graphql.field.name"):
					kinds = append(kinds, "resolver")
				case strings.HasPrefix(s.Name, "dataloader "):
					kinds = append(kinds, "dataloader")
				case dbSystem(s) == "postgresql":
					kinds = append(kinds, "sql")
				case dbSystem(s) == "redis":
					kinds = append(kinds, "redis")
				}
			}
			return kinds
		}
		// Every span of the request hangs off the HTTP span.
		for _, s := range tr {
			if k := chain(s); k[len(k)-1] != "http" {
				t.Errorf("span %q does not descend from the HTTP span: %v", s.Name, k)
			}
		}
		fields := map[string]bool{}
		for _, s := range tr {
			if has(s, "graphql.field.name") {
				fields[s.Name] = true
			}
		}
		for _, f := range []string{"Query.appointments", "Appointment.patient", "Patient.coverages", "Appointment.practitioner"} {
			if !fields[f] {
				t.Errorf("no resolver span %s; resolver spans: %v", f, fields)
			}
		}
		// The chains the issue asks for, seen from the bottom: a statement
		// of a resolver, one of a dataloader batch the resolvers queued,
		// the practitioner cache's Redis lookup in a batch, and the rate
		// limiter's Redis script under the HTTP span.
		chains := map[string]int{}
		for _, s := range tr {
			chains[strings.Join(chain(s), " < ")]++
		}
		for _, want := range []string{
			"sql < resolver < operation < http",
			"sql < dataloader < resolver < operation < http",
			"redis < dataloader < resolver < operation < http",
			"redis < http",
		} {
			if chains[want] == 0 {
				t.Errorf("no span whose ancestry is %s; chains: %v\n%s", want, chains, treeOf(tr))
			}
		}
		for _, loader := range []string{"dataloader patient", "dataloader coverages", "dataloader practitioner"} {
			if countNamed(tr, loader) != 1 {
				t.Errorf("%d %q spans, want one batch", countNamed(tr, loader), loader)
			}
		}
		for _, s := range tr {
			if dbSystem(s) == "postgresql" {
				for _, a := range s.Attributes {
					if strings.HasPrefix(string(a.Key), "db.query.parameter") || strings.HasPrefix(string(a.Key), "db.operation.parameter") {
						t.Errorf("SQL span %q records parameter %s", s.Name, a.Key)
					}
				}
			}
		}
	})

	t.Run("a submitted claim is delivered in a linked trace that reaches NPHIES", func(t *testing.T) {
		var (
			mu          sync.Mutex
			traceparent []string
		)
		mockNPHIES := mock.New(mock.Options{})
		nph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			traceparent = append(traceparent, r.Header.Get("traceparent"))
			mu.Unlock()
			mockNPHIES.ServeHTTP(w, r)
		}))
		t.Cleanup(nph.Close)
		client, err := nphies.NewClient(nph.URL, nphies.WithTimeout(10*time.Second),
			nphies.WithTransportWrapper(func(rt http.RoundTripper) http.RoundTripper { return m.RoundTripper(rt, "nphies") }))
		if err != nil {
			t.Fatal(err)
		}

		inv := env.Do(t, admin, `mutation($in: CreateInvoiceInput!) { createInvoice(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"patientId": gid("Patient", patient.ID.String()),
				"coverageId": gid("Coverage", coverage.ID.String()),
				"lines": []map[string]any{{"itemId": env.CatalogueItem(t, hg.NewCatalogueItem{System: hg.SystemServices, Code: "83600-00-10",
					Display: "Consultation", UnitPrice: 30000}), "quantity": 1}}}})
		var created struct{ CreateInvoice struct{ ID string } }
		inv.Decode(t, &created)
		if r := env.Do(t, admin, `mutation($id: ID!) { issueInvoice(id: $id) { status } }`,
			map[string]any{"id": created.CreateInvoice.ID}); r.Code() != "" {
			t.Fatalf("issue: %+v", r.Errors)
		}
		visit, _, err := pgtest.Visit(ctx, db, patient.ID, doc, time.Now().Add(-2*time.Hour).Truncate(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var sub struct{ SubmitClaim struct{ ID string } }
		tracedDo(t, env, admin, `mutation SubmitClaim($in: SubmitClaimInput!) { submitClaim(input: $in) { id status } }`,
			map[string]any{"in": map[string]any{"invoiceId": created.CreateInvoice.ID, "practitionerId": gid("Practitioner", doc.ID.String()),
				"appointmentId": gid("Appointment", visit.ID.String()), "diagnoses": []string{"J06.9"}}}).Decode(t, &sub)

		wctx, cancel := context.WithCancel(ctx)
		worker := &nphies.Worker{Store: db, Client: client, Interval: 20 * time.Millisecond, BackoffBase: 50 * time.Millisecond,
			Logger: rec.Logger, Observer: recorderObserver{m}}
		done := make(chan struct{})
		go func() { defer close(done); _ = worker.Run(wctx) }()
		t.Cleanup(func() { cancel(); <-done })

		spans := waitForSpan(t, rec, func(s tracetest.SpanStub) bool { return s.Name == "nphies.outbox.deliver" })
		deliver := only(t, spans, func(s tracetest.SpanStub) bool { return s.Name == "nphies.outbox.deliver" })
		dtr := inTrace(spans, deliver.SpanContext.TraceID().String())
		t.Logf("trace of the delivery:\n%s", treeOf(dtr))
		if deliver.SpanContext.TraceID().String() == callerTrace || deliver.Parent.IsValid() {
			t.Errorf("delivery span is in trace %s under %s, want the root of a trace of its own",
				deliver.SpanContext.TraceID(), deliver.Parent.SpanID())
		}
		if deliver.Status.Code.String() == "Error" {
			t.Errorf("delivery failed: %+v", deliver.Status)
		}

		// The link leads back to the submitClaim resolver of the request.
		submit := only(t, inTrace(spans, callerTrace), func(s tracetest.SpanStub) bool { return s.Name == "Mutation.submitClaim" })
		if len(deliver.Links) != 1 || deliver.Links[0].SpanContext.TraceID().String() != callerTrace ||
			deliver.Links[0].SpanContext.SpanID() != submit.SpanContext.SpanID() {
			t.Errorf("delivery links %+v, want one link to the submitClaim span %s of trace %s",
				deliver.Links, submit.SpanContext.SpanID(), callerTrace)
		}

		// NPHIES got the delivery trace's context from the client span.
		out := only(t, dtr, func(s tracetest.SpanStub) bool {
			return s.SpanKind == trace.SpanKindClient && dbSystem(s) == ""
		})
		if out.Name != "POST nphies" || out.Parent.SpanID() != deliver.SpanContext.SpanID() {
			t.Errorf("outgoing span %q under %s, want POST nphies under the delivery span", out.Name, out.Parent.SpanID())
		}
		mu.Lock()
		got := append([]string(nil), traceparent...)
		mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("NPHIES received %d requests (traceparents %q), want 1", len(got), got)
		}
		sc := observability.SpanContextFromTraceParent(got[0])
		if sc.TraceID() != deliver.SpanContext.TraceID() || sc.SpanID() != out.SpanContext.SpanID() || !sc.IsSampled() {
			t.Errorf("NPHIES received traceparent %q, want trace %s parent %s sampled",
				got[0], deliver.SpanContext.TraceID(), out.SpanContext.SpanID())
		}
	})

	t.Run("no patient identity in spans, logs or metrics", func(t *testing.T) {
		needles := []string{p.First, p.Family, p.NationalID, p.Phone, p.Email}
		rec.AssertNoPHI(t, needles...)
		resp, err := env.Server.Client().Get(env.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("healthgraph_graphql_operations_total")) {
			t.Fatalf("GET /metrics answered %d:\n%.500s", resp.StatusCode, body)
		}
		for _, n := range needles {
			if bytes.Contains(body, []byte(n)) {
				t.Errorf("GET /metrics contains %q", n)
			}
		}
	})
}

// recorderObserver is cmd/healthgraph's nphiesObserver over a test's
// Metrics.
type recorderObserver struct{ m *observability.Metrics }

func (o recorderObserver) StartLinked(ctx context.Context, name, traceParent string) (context.Context, func(error)) {
	ctx, span := o.m.StartLinked(ctx, name, observability.SpanContextFromTraceParent(traceParent))
	return ctx, func(err error) { observability.End(span, err) }
}

func (o recorderObserver) NPHIESRequest(ctx context.Context, event, outcome string, took time.Duration) {
	o.m.NPHIESRequest(ctx, event, outcome, took)
}

func (o recorderObserver) SetOutboxBacklog(pending int, oldest time.Duration) {
	o.m.SetOutboxBacklog(pending, oldest)
}

// tracedDo posts a GraphQL operation as a caller already in trace
// callerTrace would, with its traceparent.
func tracedDo(t *testing.T, env *servertest.Env, token, query string, vars map[string]any) servertest.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, env.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := env.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage    `json:"data"`
		Errors []servertest.Error `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST /graphql answered %d: %v", resp.StatusCode, err)
	}
	return servertest.Response{Status: resp.StatusCode, Header: resp.Header, Data: out.Data, Errors: out.Errors}
}

// waitForSpan returns the recorded spans once one matches: the server span
// ends after the response is written, the delivery when the worker gets to
// it.
func waitForSpan(t *testing.T, rec *observabilitytest.Recorder, match func(tracetest.SpanStub) bool) tracetest.SpanStubs {
	t.Helper()
	var spans tracetest.SpanStubs
	if !eventually.Poll(func() bool {
		spans = rec.Spans()
		return slices.ContainsFunc(spans, match)
	}) {
		t.Fatalf("span never recorded; have:\n%s", rec.Tree())
	}
	return spans
}

func inTrace(spans tracetest.SpanStubs, traceID string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range spans {
		if s.SpanContext.TraceID().String() == traceID {
			out = append(out, s)
		}
	}
	return out
}

func only(t *testing.T, spans tracetest.SpanStubs, match func(tracetest.SpanStub) bool) tracetest.SpanStub {
	t.Helper()
	var found tracetest.SpanStubs
	for _, s := range spans {
		if match(s) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans match, want 1:\n%s", len(found), treeOf(spans))
	}
	return found[0]
}

func countNamed(spans tracetest.SpanStubs, name string) int {
	n := 0
	for _, s := range spans {
		if s.Name == name {
			n++
		}
	}
	return n
}

func has(s tracetest.SpanStub, key attribute.Key) bool {
	for _, a := range s.Attributes {
		if a.Key == key {
			return true
		}
	}
	return false
}

func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

// dbSystem names the database a client span talks to: otelpgx sets
// db.system.name, redisotel still db.system.
func dbSystem(s tracetest.SpanStub) string {
	if v := attr(s, "db.system.name"); v != "" {
		return v
	}
	return attr(s, "db.system")
}

// treeOf renders spans as an indented tree, children in start order.
func treeOf(spans tracetest.SpanStubs) string {
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext.SpanID()] = true
	}
	kids := map[trace.SpanID]tracetest.SpanStubs{}
	var roots tracetest.SpanStubs
	for _, s := range spans {
		if ids[s.Parent.SpanID()] {
			kids[s.Parent.SpanID()] = append(kids[s.Parent.SpanID()], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var walk func(tracetest.SpanStubs, int)
	walk = func(ss tracetest.SpanStubs, depth int) {
		sortByStart(ss)
		for _, s := range ss {
			b.WriteString(strings.Repeat("  ", depth) + s.Name + "\n")
			walk(kids[s.SpanContext.SpanID()], depth+1)
		}
	}
	walk(roots, 0)
	return b.String()
}

func sortByStart(ss tracetest.SpanStubs) {
	slices.SortFunc(ss, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
}
