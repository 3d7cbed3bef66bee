package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/internal/eventually"
	"github.com/healthgraph/healthgraph/postgres"
)

// TestTwoServerProcessesNeverDoubleBook starts two serve processes on one
// database and fires overlapping bookings for one practitioner at both at
// once: exactly one wins, the rest get CONFLICT, and a cancelled slot can
// be booked again. The exclusion constraint decides, not either process.
func TestTwoServerProcessesNeverDoubleBook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx := context.Background()
	bin := buildBinary(t)
	dbURL := freshDatabaseURL(t)
	env := append(os.Environ(), "HG_DATABASE_URL="+dbURL, "HG_JWT_KEY=binary-test-signing-key-0123456789abcdef",
		"HG_LOG_LEVEL=warn", "HG_REDIS_URL=none", "HG_NPHIES_WORKER=false", "HG_RATE_LIMIT_USER=0", "HG_RATE_LIMIT_COMPLEXITY=0")
	migrate := exec.Command(bin, "migrate", "up")
	migrate.Env = env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	db, err := postgres.Open(ctx, dbURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	accounts := &auth.Accounts{Users: db, Tokens: db, Audit: db, Params: auth.TestParams}
	reception, err := accounts.Create(ctx, "reception@clinic.test", "reception-pass-1", "Reception", hg.RoleReception)
	if err != nil {
		t.Fatal(err)
	}
	docUser, err := accounts.Create(ctx, "doctor@clinic.test", "doctor-pass-12", "Doctor", hg.RolePractitioner)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := db.CreatePractitioner(ctx, hg.NewPractitioner{UserID: docUser.ID, FirstName: "Nasser", FamilyName: "Alshamrani",
		SpecialtyCode: "08.00", Specialty: "Internal Medicine", License: "L-900"})
	if err != nil {
		t.Fatal(err)
	}
	patient, err := db.CreatePatient(ctx, hg.NewPatient{NationalID: "1000000123", FirstName: "Mona", FamilyName: "Alghamdi",
		BirthDate: time.Date(1988, 3, 4, 0, 0, 0, 0, time.UTC), Gender: hg.GenderFemale})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.NewTokens([]byte("binary-test-signing-key-0123456789abcdef"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := signer.Issue(reception)
	if err != nil {
		t.Fatal(err)
	}

	var bases []string
	for range 2 {
		addr := freePort(t)
		srv := exec.Command(bin, "serve")
		srv.Env = append(env, "HG_HTTP_ADDR="+addr)
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
		base := "http://" + addr
		eventually.True(t, "a replica to become healthy", func() bool {
			return exec.Command(bin, "healthcheck", "--url", base+"/health").Run() == nil
		})
		bases = append(bases, base)
	}

	id := func(typ, s string) string { return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + s)) }
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	book := func(base string, s time.Time) (string, string) {
		body, _ := json.Marshal(map[string]any{
			"query": `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { id } }`,
			"variables": map[string]any{"in": map[string]any{"patientId": id("Patient", patient.ID.String()),
				"practitionerId": id("Practitioner", doc.ID.String()), "startsAt": s.Format(time.RFC3339),
				"endsAt": s.Add(30 * time.Minute).Format(time.RFC3339)}},
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("book: %v", err)
			return "", ""
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				BookAppointment *struct{ ID string }
			}
			Errors []struct{ Extensions map[string]any }
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Errorf("decode: %v", err)
			return "", ""
		}
		if len(out.Errors) > 0 {
			code, _ := out.Errors[0].Extensions["code"].(string)
			return "", code
		}
		return out.Data.BookAppointment.ID, ""
	}

	// 40 bookings, alternating replicas, each overlapping the others by at
	// least 15 minutes.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	codes := map[string]int{}
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, code := book(bases[i%2], start.Add(time.Duration(i%2)*15*time.Minute))
			mu.Lock()
			defer mu.Unlock()
			if got != "" {
				won = append(won, got)
			} else {
				codes[code]++
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 || codes[hg.ECONFLICT] != 39 {
		t.Fatalf("%d bookings won, refusals %v; want 1 winner and 39 CONFLICT", len(won), codes)
	}

	// A cancelled slot is free again, through the other replica.
	body, _ := json.Marshal(map[string]any{"query": `mutation($id: ID!) { cancelAppointment(id: $id, reason: "patient called") { status } }`,
		"variables": map[string]any{"id": won[0]}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, bases[0]+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(buf.String(), "CANCELLED") {
		t.Fatalf("cancel: %s", buf.String())
	}
	if got, code := book(bases[1], start); got == "" {
		t.Fatalf("rebooking the cancelled slot: %s", code)
	}
}
