package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/observability"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/postgres/pgtest"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

func TestNestedListsAreRefusedByTheirRowCount(t *testing.T) {
	t.Parallel()
	env := servertest.New(t) // the default budget of 5000
	_, admin := env.User(t, "admin@example.com", hg.RoleAdmin)
	tests := []struct {
		name, query string
		refused     bool
	}{
		{"100 patients × 20 appointments × 20 records (40,000 rows)", `{ patients(first: 100) { edges { node {
			upcomingAppointments { patient { latestRecords { id } } } } } } }`, true},
		{"100 invoices with their lines and payments", `{ invoices(first: 100) { edges { node {
			lines { serviceCode description quantity } payments { id amount { amount } } } } } }`, true},
		{"a page of 100 patients", `{ patients(first: 100) { edges { node { id firstName familyName } } } }`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := env.Do(t, admin, tt.query, nil)
			refused := r.Code() == hg.EINVALID && r.Errors[0].Extensions["reason"] == "COMPLEXITY_LIMIT_EXCEEDED"
			if refused != tt.refused {
				t.Fatalf("refused = %v, want %v (%+v)", refused, tt.refused, r.Errors)
			}
		})
	}
}

// syncBuffer collects log lines written from the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// revealingSecret is what a store fault says: the kind of detail (a table,
// a row) no client may read.
const revealingSecret = "relation coverages_secret row 42 at pgx/conn.go"

// panickingCoverages is the real store whose coverage loader panics.
type panickingCoverages struct{ hg.Store }

func (panickingCoverages) CoveragesByPatientIDs(context.Context, hg.PatientScope, []uuid.UUID) ([]*hg.Coverage, error) {
	panic(revealingSecret)
}

func TestInternalErrorsShowTheClientNoDetail(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	db := pgtest.New(t, postgres.Options{})
	env := servertest.StartWith(t, db, servertest.Config(), servertest.Options{
		RedisURL: servertest.RedisURL, RedisPrefix: servertest.NewPrefix(t),
		Logger:    observability.NewLogger(logs, slog.LevelInfo),
		WrapStore: func(s hg.Store) hg.Store { return panickingCoverages{s} },
	})
	_, admin := env.User(t, "admin@example.com", hg.RoleAdmin)
	p, err := env.DB.CreatePatient(context.Background(), hg.NewPatient{NationalID: "1000000077", FirstName: "Salma",
		FamilyName: "Alotaibi", BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}

	r := env.Do(t, admin, `query($id: ID!) { patient(id: $id) { id coverages { id } } }`,
		map[string]any{"id": gid("Patient", p.ID.String())})
	if len(r.Errors) == 0 {
		t.Fatalf("a panicking loader answered without an error: %s", r.Data)
	}
	e := r.Errors[0]
	requestID, _ := e.Extensions["requestId"].(string)
	if e.Extensions["code"] != hg.EINTERNAL || e.Message != "internal error" || requestID == "" {
		t.Fatalf("error %+v, want code INTERNAL, message %q and a requestId", e, "internal error")
	}
	body, _ := json.Marshal(r.Errors)
	if strings.Contains(string(body), "coverages_secret") || strings.Contains(string(body), "panicked") {
		t.Fatalf("the client read the fault's text: %s", body)
	}
	found := false
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, revealingSecret) && strings.Contains(line, `"request_id":"`+requestID+`"`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no log line carries the fault's text with request id %s:\n%s", requestID, logs.String())
	}
}

func TestProductionSuggestsNoNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, query, misspelt, suggestion string
	}{
		{"field", `{ mee { id } }`, `"mee"`, `"me"`},
		{"argument", `{ users(frist: 5) { totalCount } }`, `"frist"`, `"first"`},
		{"enum value", `{ users(role: ADMN) { totalCount } }`, `ADMN`, `"ADMIN"`},
		{"input field", `{ patients(filter: {serch: "x"}) { totalCount } }`, `"serch"`, `"search"`},
		{"type", `{ me { ...F } } fragment F on Usr { id }`, `"Usr"`, `"User"`},
	}
	for _, production := range []bool{true, false} {
		env := servertest.New(t, func(c *server.Config, _ *postgres.Options) { c.Production = production })
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s, production %v", tt.name, production), func(t *testing.T) {
				r := env.Do(t, "", tt.query, nil)
				if r.Code() != hg.EINVALID || !strings.Contains(r.Errors[0].Message, tt.misspelt) {
					t.Fatalf("production=%v: %+v, want BAD_USER_INPUT naming %s", production, r.Errors, tt.misspelt)
				}
				suggests := false
				for _, e := range r.Errors {
					suggests = suggests || strings.Contains(e.Message, "Did you mean") || strings.Contains(e.Message, tt.suggestion)
				}
				if suggests == production {
					t.Fatalf("production=%v: errors %+v, want a suggestion only in development", production, r.Errors)
				}
			})
		}
	}
}
