package resolvers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/server"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// refusalWrites counts the statements that write refusal counts.
type refusalWrites struct{ n atomic.Int64 }

func (w *refusalWrites) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "INSERT INTO audit_refusals") {
		w.n.Add(1)
	}
	return ctx
}

func (w *refusalWrites) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// refusalRow is one minute's count of one actor's refusals of one action.
type refusalRow struct {
	role     hg.Role
	attempts int
	subjects []uuid.UUID
}

// refusalRows returns actor's refusal rows of action and code, by minute.
func refusalRows(t *testing.T, env *servertest.Env, actor uuid.UUID, action, code string) []refusalRow {
	t.Helper()
	rows, err := env.DB.Pool.Query(context.Background(), `SELECT actor_role, attempts, subjects FROM audit_refusals
		WHERE actor_id = $1 AND action = $2 AND code = $3 ORDER BY minute`, actor, action, code)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (refusalRow, error) {
		var row refusalRow
		err := r.Scan(&row.role, &row.attempts, &row.subjects)
		return row, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// minutesSpanned is how many clock minutes [from, to] touches: the most
// rows one actor's refusals of one action may take meanwhile.
func minutesSpanned(from, to time.Time) int {
	return int(to.Truncate(time.Minute).Sub(from.Truncate(time.Minute))/time.Minute) + 1
}

// TestRefusedAttemptsAreCountedPerActorAndMinute has an insider try
// hundreds of patient ids and expects the attempts visible, counted in one
// row per actor, action, code and minute with the ids tried first, at the
// cost of one statement per operation however many fields it had refused,
// and nothing in audit_events.
func TestRefusedAttemptsAreCountedPerActorAndMinute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	writes := &refusalWrites{}
	env := servertest.New(t, func(_ *server.Config, o *postgres.Options) { o.Tracer = writes })
	db, all := env.DB, hg.PatientScope{All: true}
	prober, proberToken := env.User(t, "insider@clinic.example", hg.RolePractitioner)
	analyst, analystToken := env.User(t, "analyst@clinic.example", hg.RoleAnalyst)
	drUser, _ := env.User(t, "dr@clinic.example", hg.RolePractitioner)
	if _, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: prober.ID, FirstName: "Nasser", FamilyName: "Alqahtani",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-9"}); err != nil {
		t.Fatal(err)
	}
	colleague, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: drUser.ID, FirstName: "Huda", FamilyName: "Alqahtani",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-1"})
	if err != nil {
		t.Fatal(err)
	}
	var real []uuid.UUID
	for i := range 3 {
		p, err := db.CreatePatient(ctx, hg.NewPatient{NationalID: fmt.Sprintf("100000040%d", i), FirstName: "Amal", FamilyName: "Alghamdi",
			BirthDate: time.Date(1975, 3, 9, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
		if err != nil {
			t.Fatal(err)
		}
		real = append(real, p.ID)
	}
	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	theirs, err := db.BookAppointment(ctx, all, hg.NewAppointment{PatientID: real[0], PractitionerID: colleague.ID,
		StartsAt: start, EndsAt: start.Add(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	auditBefore := env.Count(t, `SELECT count(*) FROM audit_events`)

	// The insider tries the three real patients first, then a run of
	// guessed ids, one request each.
	const guesses = 120
	tried := slices.Clone(real)
	for range guesses {
		tried = append(tried, uuid.Must(uuid.NewV7()))
	}
	from := time.Now()
	for _, id := range tried {
		if got := env.Do(t, proberToken, qPatient, map[string]any{"id": gid("Patient", id)}).Code(); got != hg.ENOTFOUND {
			t.Fatalf("patient(id:) of another party: code %q, want %q", got, hg.ENOTFOUND)
		}
	}
	to := time.Now()

	t.Run("every attempt is counted, with the ids tried first", func(t *testing.T) {
		rows := refusalRows(t, env, prober.ID, "Query.patient", hg.ENOTFOUND)
		total := 0
		for _, r := range rows {
			total += r.attempts
			if r.role != hg.RolePractitioner {
				t.Errorf("role %q, want %q", r.role, hg.RolePractitioner)
			}
		}
		if total != len(tried) {
			t.Errorf("%d attempts counted, want %d", total, len(tried))
		}
		if limit := minutesSpanned(from, to); len(rows) == 0 || len(rows) > limit {
			t.Fatalf("%d rows for %d attempts over %d clock minutes, want 1 to %d", len(rows), len(tried), limit, limit)
		}
		if got := rows[0].subjects; len(got) != 20 || !slices.Equal(got[:3], real) {
			t.Errorf("first row keeps %d ids starting %v, want 20 starting with the real patients %v", len(got), got[:min(3, len(got))], real)
		}
	})

	t.Run("a refused attempt adds no audit event", func(t *testing.T) {
		if n := env.Count(t, `SELECT count(*) FROM audit_events`) - auditBefore; n != 0 {
			t.Errorf("%d audit events written by refused reads, want 0", n)
		}
	})

	t.Run("fifty refusals in one operation cost one statement", func(t *testing.T) {
		var q strings.Builder
		q.WriteString("query {")
		ids := make([]uuid.UUID, 50)
		for i := range ids {
			ids[i] = uuid.Must(uuid.NewV7())
			fmt.Fprintf(&q, " p%d: patient(id: %q) { id }", i, gid("Patient", ids[i]))
		}
		q.WriteString(" }")
		before := refusalRows(t, env, prober.ID, "Query.patient", hg.ENOTFOUND)
		w0 := writes.n.Load()
		from := time.Now()
		r := env.Do(t, proberToken, q.String(), nil)
		to := time.Now()
		if len(r.Errors) != len(ids) {
			t.Fatalf("%d errors, want %d", len(r.Errors), len(ids))
		}
		if n := writes.n.Load() - w0; n != 1 {
			t.Errorf("%d statements wrote the refusals of one operation, want 1", n)
		}
		after := refusalRows(t, env, prober.ID, "Query.patient", hg.ENOTFOUND)
		sum := func(rows []refusalRow) (n int) {
			for _, r := range rows {
				n += r.attempts
			}
			return n
		}
		if got := sum(after) - sum(before); got != len(ids) {
			t.Errorf("%d attempts counted for the operation, want %d", got, len(ids))
		}
		if grew := len(after) - len(before); grew > minutesSpanned(from, to)-1 {
			t.Errorf("the operation added %d rows, want at most one per new minute", grew)
		}
	})

	t.Run("forbidden reads and writes on other parties are counted with what they named", func(t *testing.T) {
		if got := env.Do(t, analystToken, qPatient, map[string]any{"id": gid("Patient", real[1])}).Code(); got != hg.EFORBIDDEN {
			t.Fatalf("analyst reading a patient: code %q, want %q", got, hg.EFORBIDDEN)
		}
		rows := refusalRows(t, env, analyst.ID, "Query.patient", hg.EFORBIDDEN)
		if len(rows) != 1 || rows[0].attempts != 1 || !slices.Equal(rows[0].subjects, real[1:2]) || rows[0].role != hg.RoleAnalyst {
			t.Errorf("analyst's refusal rows %+v, want one ANALYST attempt naming %v", rows, real[1])
		}
		code := env.Do(t, proberToken, mStatus, map[string]any{"id": gid("Appointment", theirs.ID), "s": "CHECKED_IN"}).Code()
		if code != hg.EFORBIDDEN && code != hg.ENOTFOUND {
			t.Fatalf("changing a colleague's appointment: code %q, want FORBIDDEN or NOT_FOUND", code)
		}
		rows = refusalRows(t, env, prober.ID, "Mutation.updateAppointmentStatus", code)
		if len(rows) != 1 || rows[0].attempts != 1 || !slices.Equal(rows[0].subjects, []uuid.UUID{theirs.ID}) {
			t.Errorf("refusal rows of the write %+v, want one attempt naming the appointment %v", rows, theirs.ID)
		}
	})

	t.Run("the counts can only grow", func(t *testing.T) {
		for _, sql := range []string{
			`UPDATE audit_refusals SET attempts = 1 WHERE actor_id = $1`,
			`UPDATE audit_refusals SET subjects = '{}' WHERE actor_id = $1`,
			`UPDATE audit_refusals SET action = 'Query.me' WHERE actor_id = $1`,
			`DELETE FROM audit_refusals WHERE actor_id = $1`,
		} {
			if _, err := db.Pool.Exec(ctx, sql, prober.ID); err == nil {
				t.Errorf("%s: succeeded, want the table to refuse it", sql)
			}
		}
		if _, err := db.Pool.Exec(ctx, `TRUNCATE audit_refusals`); err == nil {
			t.Error("TRUNCATE succeeded, want the table to refuse it")
		}
	})
}
