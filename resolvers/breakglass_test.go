package resolvers_test

import (
	"encoding/json"
	"testing"
	"time"

	hg "github.com/healthgraph/healthgraph"
)

// TestBreakGlassNeedsAReasonAndAuditsIt: a break-glass reason must say
// something, a few different words, and the audit row of a grant keeps the
// reason and the grant's expiry. A refused reason grants and audits nothing.
func TestBreakGlassNeedsAReasonAndAuditsIt(t *testing.T) {
	t.Parallel()
	c := setupClinic(t)
	const grant = `mutation($id: ID!, $r: String!) { breakGlass(patientId: $id, reason: $r) { id expiresAt } }`
	B := gid("Patient", c.patientB.ID)
	for _, tc := range []struct{ name, reason string }{
		{"one repeated letter", "aaaaaaaaaa"},
		{"one repeated letter, longer", "aaaaaaaaaaaaaaaaaaaa"},
		{"one word repeated", "help help help help"},
		{"one character as words", "a a a a a a a a a a"},
		{"two words", "emergency admission"},
		{"three short words", "pt is ok"},
		{"blank", "                    "},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			res := c.env.Do(t, c.tokens["DOCTOR2"], grant, map[string]any{"id": B, "r": tc.reason})
			if res.Code() != hg.EINVALID || res.Field() != "reason" {
				t.Fatalf("code %q field %q (%+v), want BAD_USER_INPUT reason", res.Code(), res.Field(), res.Errors)
			}
		})
	}
	if n := c.env.Count(t, `SELECT (SELECT count(*) FROM break_glass_grants) + (SELECT count(*) FROM audit_events WHERE action = 'patient.break_glass')`); n != 0 {
		t.Fatalf("refused reasons left %d grants or audit rows", n)
	}

	const reason = "Unconscious in the emergency room, no relative reachable"
	var out struct{ BreakGlass struct{ ExpiresAt time.Time } }
	before := time.Now()
	c.env.Do(t, c.tokens["DOCTOR2"], grant, map[string]any{"id": B, "r": "  " + reason + " "}).Decode(t, &out)
	// The grant lasts hg.BreakGlassDuration, the one statement of it (the
	// answer's time may be cut to whole seconds).
	if exp := out.BreakGlass.ExpiresAt; exp.Before(before.Add(hg.BreakGlassDuration-time.Second)) || exp.After(time.Now().Add(hg.BreakGlassDuration)) {
		t.Fatalf("grant made at %v expires %v, want %v later", before, exp, hg.BreakGlassDuration)
	}
	var detail string
	if err := c.env.DB.Pool.QueryRow(t.Context(), `SELECT detail FROM audit_events WHERE action = 'patient.break_glass'
		AND patient_id = $1 AND actor_id = $2`, c.patientB.ID, c.doc2.UserID).Scan(&detail); err != nil {
		t.Fatalf("the grant's audit row: %v", err)
	}
	var got struct {
		Reason    string
		ExpiresAt time.Time
	}
	if err := json.Unmarshal([]byte(detail), &got); err != nil {
		t.Fatalf("detail %q is not JSON: %v", detail, err)
	}
	if got.Reason != reason || !got.ExpiresAt.Equal(out.BreakGlass.ExpiresAt) {
		t.Fatalf("audit detail = %+v, want reason %q and expiry %v", got, reason, out.BreakGlass.ExpiresAt)
	}
	for _, ok := range []string{"unconscious in the ER", "غيبوبة في قسم الطوارئ"} {
		if err := hg.ValidateBreakGlassReason(&ok); err != nil {
			t.Errorf("a real reason %q refused: %v", ok, err)
		}
	}
}
