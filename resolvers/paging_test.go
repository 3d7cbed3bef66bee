package resolvers_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// pagingEnv is a clinic with a little of everything each connection lists:
// patients with repeated names, appointments sharing start times, claims
// sharing totals, invoices, records and users.
type pagingEnv struct {
	billingEnv
	admin    string
	patients []*hg.Patient
	appts    []*hg.Appointment
	claims   []claimKey
}

// claimKey is what claims are ordered by.
type claimKey struct {
	id    string
	total int64
}

func setupPaging(t *testing.T) *pagingEnv {
	t.Helper()
	ctx := context.Background()
	e := &pagingEnv{billingEnv: newBillingEnv(t)}
	_, e.admin = e.User(t, "paging-admin@example.com", hg.RoleAdmin)
	e.patients = []*hg.Patient{e.patient, e.other}
	for i, name := range [][2]string{{"Adams", "Zed"}, {"Adams", "Amy"}, {"Baker", "Omar"}, {"Adams", "Amy"}, {"Clark", "Huda"}} {
		p, err := e.DB.CreatePatient(ctx, hg.NewPatient{NationalID: fmt.Sprintf("10000001%02d", i), FirstName: name[1],
			FamilyName: name[0], BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderMale})
		if err != nil {
			t.Fatal(err)
		}
		e.patients = append(e.patients, p)
	}
	doctors := []*hg.Practitioner{}
	for i := range 3 {
		u, _ := e.User(t, fmt.Sprintf("paging-dr%d@example.com", i), hg.RolePractitioner)
		pr, err := e.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: u.ID, FirstName: "Faisal", FamilyName: "Alshehri",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: fmt.Sprintf("L-PAGE-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		doctors = append(doctors, pr)
	}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	for i, p := range e.patients {
		// Pairs of appointments start together, one with each doctor.
		at := start.Add(time.Duration(i/2) * time.Hour)
		a, err := e.DB.BookAppointment(ctx, all, hg.NewAppointment{PatientID: p.ID, PractitionerID: doctors[i%2].ID,
			StartsAt: at, EndsAt: at.Add(30 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		e.appts = append(e.appts, a)
		if _, err := e.DB.AddRecord(ctx, all, hg.NewRecord{PatientID: e.patient.ID, AuthorID: doctors[0].UserID,
			Kind: hg.RecordNote, Body: fmt.Sprintf("note %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// The claims are for one visit, which the appointments' walks meet too.
	visit := e.seenVisit(t, e.patient)
	e.appts = append(e.appts, visit.appointment)
	for _, quantity := range []int{3, 1, 3, 7, 1} {
		var out struct {
			CreateInvoice struct {
				ID           string
				InsurerShare money
			}
		}
		e.Do(t, e.billing, `mutation($in: CreateInvoiceInput!) { createInvoice(input: $in) { id insurerShare { amount } } }`,
			map[string]any{"in": map[string]any{"patientId": gid("Patient", e.patient.ID), "coverageId": gid("Coverage", e.coverage.ID),
				"lines": []map[string]any{{"itemId": e.consultation, "quantity": quantity}}}}).Decode(t, &out)
		e.issue(t, out.CreateInvoice.ID)
		id := e.submitClaim(t, out.CreateInvoice.ID, visit)
		var c struct{ Claim struct{ Total money } }
		e.Do(t, e.billing, `query($id: ID!) { claim(id: $id) { total { amount } } }`, map[string]any{"id": id}).Decode(t, &c)
		total, err := hg.ParseSAR("total", c.Claim.Total.Amount)
		if err != nil {
			t.Fatal(err)
		}
		e.claims = append(e.claims, claimKey{id, int64(total)})
	}
	return e
}

// pageOut is one page of any connection.
type pageOut struct {
	Edges []struct {
		Cursor string
		Node   struct{ ID string }
	}
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	TotalCount int
}

// connection names a connection field and the arguments it is read with.
type connection struct {
	field, args string // args: extra arguments, e.g. `orderBy: {field: NAME}`
	// key selects what tells nodes apart: "id" when empty; a node without
	// an ID aliases its key as id, e.g. "id: identifier".
	key string
	// pageCursorsOnly leaves the edges' cursors unselected: paging goes by
	// pageInfo's start and end cursors alone.
	pageCursorsOnly bool
}

func (c connection) query() string {
	edgeCursor := "cursor"
	if c.pageCursorsOnly {
		edgeCursor = ""
	}
	return fmt.Sprintf(`query($first: Int, $after: String, $last: Int, $before: String) {
		c: %s(first: $first, after: $after, last: $last, before: $before %s) {
			edges { %s node { %s } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }`,
		c.field, c.args, edgeCursor, cmp.Or(c.key, "id"))
}

func (c connection) page(t *testing.T, env *servertest.Env, token string, vars map[string]any) pageOut {
	t.Helper()
	var out struct{ C pageOut }
	env.Do(t, token, c.query(), vars).Decode(t, &out)
	p := out.C
	if n := len(p.Edges); n > 0 && !c.pageCursorsOnly && (p.PageInfo.StartCursor == nil || *p.PageInfo.StartCursor != p.Edges[0].Cursor ||
		p.PageInfo.EndCursor == nil || *p.PageInfo.EndCursor != p.Edges[n-1].Cursor) {
		t.Fatalf("%s: start/end cursors %v/%v do not match the edges", c.field, p.PageInfo.StartCursor, p.PageInfo.EndCursor)
	}
	return p
}

// walk reads the whole of c in pages of size, forward with first/after or
// backward with last/before, checking each page's pageInfo, and returns the
// ids in the list's order.
func (c connection) walk(t *testing.T, env *servertest.Env, token string, size int, backward bool) []string {
	t.Helper()
	var ids []string
	var cursor any
	for i := 0; ; i++ {
		vars := map[string]any{"first": size, "after": cursor}
		if backward {
			vars = map[string]any{"last": size, "before": cursor}
		}
		p := c.page(t, env, token, vars)
		info := p.PageInfo
		came, goes := info.HasPreviousPage, info.HasNextPage
		if backward {
			came, goes = goes, came
		}
		if came != (i > 0) {
			t.Fatalf("%s page %d (backward %v): the side it came from reads %v", c.field, i, backward, came)
		}
		var got []string
		for _, e := range p.Edges {
			got = append(got, e.Node.ID)
		}
		if backward {
			ids = append(got, ids...)
			cursor = info.StartCursor
		} else {
			ids = append(ids, got...)
			cursor = info.EndCursor
		}
		if len(got) > size || (goes && len(got) != size) {
			t.Fatalf("%s page %d: %d items of %d, more to come %v", c.field, i, len(got), size, goes)
		}
		if !goes {
			if p.TotalCount != len(ids) {
				t.Fatalf("%s: walked %d items, totalCount says %d", c.field, len(ids), p.TotalCount)
			}
			return ids
		}
	}
}

// TestEveryConnectionPagesBothWays walks every connection forward and
// backward, in each order it takes, in pages smaller than the list: both
// walks meet the one-page read item for item, pageInfo tells each page's
// sides, and the orders are the documented ones, ties broken by ID. The
// walks go by pageInfo's cursors whether or not the edges' cursors are
// selected (only selected ones are minted).
func TestEveryConnectionPagesBothWays(t *testing.T) {
	t.Parallel()
	e := setupPaging(t)
	ids := func(typ string, n int, id func(i int) uuid.UUID) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = gid(typ, id(i))
		}
		return out
	}
	byName := slices.Clone(e.patients)
	slices.SortFunc(byName, func(a, b *hg.Patient) int {
		return cmp.Or(strings.Compare(a.FamilyName, b.FamilyName), strings.Compare(a.FirstName, b.FirstName),
			strings.Compare(a.ID.String(), b.ID.String()))
	})
	newest := slices.Clone(e.patients)
	slices.Reverse(newest)
	appts := slices.Clone(e.appts)
	slices.SortFunc(appts, func(a, b *hg.Appointment) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), strings.Compare(a.ID.String(), b.ID.String()))
	})
	claims := slices.Clone(e.claims)
	slices.SortFunc(claims, func(a, b claimKey) int {
		// Global IDs encode the UUID, so compare those.
		return cmp.Or(cmp.Compare(a.total, b.total), strings.Compare(uuidOf(t, a.id), uuidOf(t, b.id)))
	})
	claimIDs := make([]string, len(claims))
	for i, c := range claims {
		claimIDs[i] = c.id
	}
	newestClaims := make([]string, len(e.claims))
	for i, c := range e.claims {
		newestClaims[len(e.claims)-1-i] = c.id
	}
	for _, tc := range []struct {
		name  string
		conn  connection
		token string
		want  []string // nil: only that both walks agree with the one-page read
	}{
		{"patients newest first", connection{field: "patients"}, e.admin, ids("Patient", len(newest), func(i int) uuid.UUID { return newest[i].ID })},
		{"patients by name", connection{field: "patients", args: `, orderBy: {field: NAME}`}, e.admin,
			ids("Patient", len(byName), func(i int) uuid.UUID { return byName[i].ID })},
		{"patients by name descending", connection{field: "patients", args: `, orderBy: {field: NAME, direction: DESC}`}, e.admin,
			reversed(ids("Patient", len(byName), func(i int) uuid.UUID { return byName[i].ID }))},
		{"patients oldest first", connection{field: "patients", args: `, orderBy: {field: CREATED_AT, direction: ASC}`}, e.admin,
			ids("Patient", len(e.patients), func(i int) uuid.UUID { return e.patients[i].ID })},
		{"appointments by start", connection{field: "appointments"}, e.admin, ids("Appointment", len(appts), func(i int) uuid.UUID { return appts[i].ID })},
		{"appointments latest first", connection{field: "appointments", args: `, orderBy: {field: STARTS_AT, direction: DESC}`}, e.admin,
			reversed(ids("Appointment", len(appts), func(i int) uuid.UUID { return appts[i].ID }))},
		{"appointments latestFirst", connection{field: "appointments", args: `, filter: {latestFirst: true}`}, e.admin,
			reversed(ids("Appointment", len(appts), func(i int) uuid.UUID { return appts[i].ID }))},
		{"claims newest first", connection{field: "claims"}, e.billing, newestClaims},
		{"claims by amount", connection{field: "claims", args: `, orderBy: {field: AMOUNT}`}, e.billing, claimIDs},
		{"claims by amount descending", connection{field: "claims", args: `, orderBy: {field: AMOUNT, direction: DESC}`}, e.billing, reversed(claimIDs)},
		{"invoices", connection{field: "invoices"}, e.billing, nil},
		{"users", connection{field: "users"}, e.admin, nil},
		{"practitioners", connection{field: "practitioners"}, e.admin, nil},
		{"medical records", connection{field: "medicalRecords", args: `, patientId: "` + gid("Patient", e.patient.ID) + `"`}, e.admin, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			one := tc.conn.page(t, e.Env, tc.token, map[string]any{"first": 100})
			var whole []string
			for _, edge := range one.Edges {
				whole = append(whole, edge.Node.ID)
			}
			if len(whole) < 3 || one.PageInfo.HasNextPage || one.PageInfo.HasPreviousPage {
				t.Fatalf("one page: %d items, pageInfo %+v", len(whole), one.PageInfo)
			}
			if tc.want != nil && !slices.Equal(whole, tc.want) {
				t.Fatalf("order:\n got %v\nwant %v", whole, tc.want)
			}
			for _, size := range []int{2, 3} {
				if got := tc.conn.walk(t, e.Env, tc.token, size, false); !slices.Equal(got, whole) {
					t.Fatalf("forward in pages of %d:\n got %v\nwant %v", size, got, whole)
				}
				if got := tc.conn.walk(t, e.Env, tc.token, size, true); !slices.Equal(got, whole) {
					t.Fatalf("backward in pages of %d:\n got %v\nwant %v", size, got, whole)
				}
			}
			// A client that reads no edge's cursor pages by pageInfo alone.
			bare := tc.conn
			bare.pageCursorsOnly = true
			for _, backward := range []bool{false, true} {
				if got := bare.walk(t, e.Env, tc.token, 2, backward); !slices.Equal(got, whole) {
					t.Fatalf("by pageInfo's cursors alone (backward %v):\n got %v\nwant %v", backward, got, whole)
				}
			}
		})
	}
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

// uuidOf decodes a global ID's UUID, for ordering as Postgres does.
func uuidOf(t *testing.T, id string) string {
	t.Helper()
	raw, _ := base64.RawURLEncoding.DecodeString(id)
	_, u, ok := strings.Cut(string(raw), ":")
	if !ok {
		t.Fatalf("%q is not a global ID", id)
	}
	return u
}

// TestPagingArgumentsRefusedWithTheirField: the paging arguments that
// contradict each other or a cursor minted for another list or order are
// BAD_USER_INPUT naming the argument, on every connection alike.
func TestPagingArgumentsRefusedWithTheirField(t *testing.T) {
	t.Parallel()
	e := setupPaging(t)
	var byName struct{ Patients pageOut }
	e.Do(t, e.admin, `{ patients(first: 1, orderBy: {field: NAME}) { edges { cursor } } }`, nil).Decode(t, &byName)
	nameCursor := byName.Patients.Edges[0].Cursor
	for _, tc := range []struct {
		name, query, field string
	}{
		{"first and last together", `{ patients(first: 2, last: 2) { totalCount } }`, "last"},
		{"first and last together on claims", `{ claims(first: 2, last: 2) { totalCount } }`, "last"},
		{"last of 0", `{ users(last: 0) { totalCount } }`, "last"},
		{"last over the cap", `{ invoices(last: 101) { totalCount } }`, "last"},
		{"first over the cap", `{ appointments(first: 101) { totalCount } }`, "first"},
		{"after and before together", `{ patients(after: "` + nameCursor + `", before: "` + nameCursor + `") { totalCount } }`, "before"},
		{"after with last", `{ patients(last: 2, after: "` + nameCursor + `", orderBy: {field: NAME}) { totalCount } }`, "after"},
		{"before with first", `{ patients(first: 2, before: "` + nameCursor + `", orderBy: {field: NAME}) { totalCount } }`, "before"},
		{"a name cursor in the default order", `{ patients(after: "` + nameCursor + `") { totalCount } }`, "after"},
		{"a name cursor read descending", `{ patients(before: "` + nameCursor + `", orderBy: {field: NAME, direction: DESC}) { totalCount } }`, "before"},
		{"a patient cursor on claims", `{ claims(after: "` + nameCursor + `") { totalCount } }`, "after"},
		{"a malformed cursor", `{ medicalRecords(patientId: "` + gid("Patient", e.patient.ID) + `", before: "zzz") { totalCount } }`, "before"},
		{"latestFirst with orderBy", `{ appointments(filter: {latestFirst: true}, orderBy: {field: STARTS_AT}) { totalCount } }`, "filter.latestFirst"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.Do(t, e.admin, tc.query, nil)
			if tc.name == "first and last together on claims" {
				r = e.Do(t, e.billing, tc.query, nil)
			}
			if r.Code() != hg.EINVALID || r.Field() != tc.field {
				t.Fatalf("got %s on %q (%+v), want %s on %q", r.Code(), r.Field(), r.Errors, hg.EINVALID, tc.field)
			}
		})
	}
	t.Run("the same cursor in its own order goes on", func(t *testing.T) {
		var out struct{ Patients pageOut }
		e.Do(t, e.admin, `query($c: String) { patients(after: $c, orderBy: {field: NAME}) { edges { node { id } } pageInfo { hasPreviousPage } } }`,
			map[string]any{"c": nameCursor}).Decode(t, &out)
		if len(out.Patients.Edges) != len(e.patients)-1 || !out.Patients.PageInfo.HasPreviousPage {
			t.Fatalf("after the first by name: %d patients, pageInfo %+v", len(out.Patients.Edges), out.Patients.PageInfo)
		}
	})
}

// TestUsersPageStatements: a page of users with their patient record and
// practitioner profile costs the same statements for 3 users as for 12,
// the profiles loaded in one batch each, and shows each user's own.
func TestUsersPageStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := setupClinic(t, batchPatiently)
	for i := range 6 {
		u, _ := c.env.User(t, fmt.Sprintf("page-patient-%d@clinic.example", i), hg.RolePatient)
		_, err := c.env.DB.CreatePatient(ctx, hg.NewPatient{NationalID: fmt.Sprintf("10000002%02d", i), FirstName: "Lama",
			FamilyName: "Alharbi", BirthDate: time.Date(1991, 1, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale, UserID: &u.ID})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := c.env.User(t, fmt.Sprintf("page-doctor-%d@clinic.example", i), hg.RolePractitioner)
		if _, err := c.env.DB.CreatePractitioner(ctx, hg.NewPractitioner{UserID: d.ID, FirstName: "Omar", FamilyName: "Alqahtani",
			SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: fmt.Sprintf("L-U-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	const q = `query($n: Int) { users(first: $n) { edges { node { email role patient { id firstName } practitioner { id firstName } } } } }`
	c.env.Do(t, c.tokens["ADMIN"], q, map[string]any{"n": 1}) // warms the session and user caches
	counts := map[int]int64{}
	for _, n := range []int{3, 12} {
		var out struct {
			Users struct {
				Edges []struct {
					Node struct {
						Email, Role  string
						Patient      *struct{ ID, FirstName string }
						Practitioner *struct{ ID, FirstName string }
					}
				}
			}
		}
		before := c.stmts.Count()
		c.env.Do(t, c.tokens["ADMIN"], q, map[string]any{"n": n}).Decode(t, &out)
		counts[n] = c.stmts.Count() - before
		patients, doctors := 0, 0
		for _, e := range out.Users.Edges {
			u := e.Node
			switch {
			case u.Patient != nil && (u.Role != "PATIENT" || u.Patient.FirstName != "Lama") && u.Email != "patient@clinic.example":
				t.Fatalf("%s (%s) shows patient %+v", u.Email, u.Role, u.Patient)
			case u.Practitioner != nil && u.Role != "PRACTITIONER":
				t.Fatalf("%s (%s) shows practitioner %+v", u.Email, u.Role, u.Practitioner)
			}
			if u.Patient != nil {
				patients++
			}
			if u.Practitioner != nil {
				doctors++
			}
		}
		if len(out.Users.Edges) != n || patients == 0 || doctors == 0 {
			t.Fatalf("%d users: %d with a patient record, %d with a practitioner profile", len(out.Users.Edges), patients, doctors)
		}
		t.Logf("%d users with patient and practitioner: %d statements", n, counts[n])
	}
	if counts[3] != counts[12] {
		t.Fatalf("%d statements for 3 users, %d for 12; want the same", counts[3], counts[12])
	}
}

// TestClaimAndInvoiceFilters: a billing clerk narrows claims by total and
// invoices and claims by window; an empty or reversed range is
// BAD_USER_INPUT naming the bound at fault.
func TestClaimAndInvoiceFilters(t *testing.T) {
	t.Parallel()
	e := setupPaging(t)
	var lo, hi int64 = 1 << 62, 0
	for _, c := range e.claims {
		lo, hi = min(lo, c.total), max(hi, c.total)
	}
	sar := func(h int64) string { return hg.Halalas(h).String() }
	t.Run("claims by total, bounds included", func(t *testing.T) {
		var out struct{ Claims pageOut }
		e.Do(t, e.billing, `query($min: String, $max: String) { claims(filter: {minAmount: $min, maxAmount: $max}, orderBy: {field: AMOUNT}) {
			totalCount edges { node { id } } } }`, map[string]any{"min": sar(lo + 1), "max": sar(hi)}).Decode(t, &out)
		want := 0
		for _, c := range e.claims {
			if c.total > lo && c.total <= hi {
				want++
			}
		}
		if want == 0 || want == len(e.claims) || out.Claims.TotalCount != want || len(out.Claims.Edges) != want {
			t.Fatalf("claims over %s up to %s: %d (%d edges), want %d", sar(lo), sar(hi), out.Claims.TotalCount, len(out.Claims.Edges), want)
		}
	})
	for _, tc := range []struct {
		name, query, field string
	}{
		{"a total range upside down", `{ claims(filter: {minAmount: "500", maxAmount: "100.00"}) { totalCount } }`, "filter.maxAmount"},
		{"a malformed total", `{ claims(filter: {minAmount: "1,000"}) { totalCount } }`, "filter.minAmount"},
		{"an empty claim window", `{ claims(filter: {from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z"}) { totalCount } }`, "filter.to"},
		{"an empty invoice window", `{ invoices(filter: {from: "2026-01-02T00:00:00Z", to: "2026-01-02T00:00:00Z"}) { totalCount } }`, "filter.to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.Do(t, e.billing, tc.query, nil); r.Code() != hg.EINVALID || r.Field() != tc.field {
				t.Fatalf("got %s on %q (%+v), want %s on %q", r.Code(), r.Field(), r.Errors, hg.EINVALID, tc.field)
			}
		})
	}
}
