package resolvers_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/server/servertest"
)

const (
	signupMut  = `mutation($in: SignupInput!) { signup(input: $in) { id email role } }`
	loginMut   = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken expiresAt user { email role } } }`
	refreshMut = `mutation($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`
	meQuery    = `{ me { id email fullName role } }`
)

type session struct {
	AccessToken  string
	RefreshToken string
}

func login(t *testing.T, env *servertest.Env, email, password string) session {
	t.Helper()
	var out struct{ Login session }
	env.Do(t, "", loginMut, map[string]any{"e": email, "p": password}).Decode(t, &out)
	return out.Login
}

func TestSignupLoginMe(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)

	var su struct {
		Signup struct{ ID, Email, Role string }
	}
	env.Do(t, "", signupMut, map[string]any{"in": map[string]any{
		"email": "Layla@Example.com", "password": "a-good-passw0rd", "fullName": "Layla Al-Harbi"}}).Decode(t, &su)
	if su.Signup.Role != "PATIENT" {
		t.Fatalf("signup role = %q, want PATIENT", su.Signup.Role)
	}

	s := login(t, env, "layla@example.com", "a-good-passw0rd")
	if s.AccessToken == "" || s.RefreshToken == "" {
		t.Fatalf("login returned an empty token: %+v", s)
	}
	var me struct {
		Me struct{ ID, Email, FullName, Role string }
	}
	env.Do(t, s.AccessToken, meQuery, nil).Decode(t, &me)
	if me.Me.ID != su.Signup.ID || me.Me.FullName != "Layla Al-Harbi" {
		t.Fatalf("me = %+v, want the signed-up user %s", me.Me, su.Signup.ID)
	}
	if n := env.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'login.succeeded'`); n != 1 {
		t.Fatalf("login.succeeded audit rows = %d, want 1", n)
	}
}

func TestBadAccountInput(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	env.User(t, "taken@example.com", hg.RolePatient)
	users := func() int { return env.Count(t, `SELECT count(*) FROM users`) }
	before := users()

	signup := func(email, password, name string) map[string]any {
		return map[string]any{"in": map[string]any{"email": email, "password": password, "fullName": name}}
	}
	tests := []struct {
		name      string
		query     string
		vars      map[string]any
		wantCode  string
		wantField string
	}{
		{"wrong password", loginMut, map[string]any{"e": "taken@example.com", "p": "wrong-password-1"}, hg.EUNAUTHENTICATED, ""},
		{"unknown email", loginMut, map[string]any{"e": "nobody@example.com", "p": "whatever-pass-1"}, hg.EUNAUTHENTICATED, ""},
		{"empty password at login", loginMut, map[string]any{"e": "taken@example.com", "p": ""}, hg.EINVALID, "password"},
		{"weak password", signupMut, signup("new@example.com", "short1", "New"), hg.EINVALID, "input.password"},
		{"password without digits", signupMut, signup("new@example.com", "onlyletterslong", "New"), hg.EINVALID, "input.password"},
		{"common password", signupMut, signup("new@example.com", "password123", "New"), hg.EINVALID, "input.password"},
		{"password over 72 bytes", signupMut, signup("new@example.com", strings.Repeat("a1", 40), "New"), hg.EINVALID, "input.password"},
		{"duplicate email in another case", signupMut, signup("TAKEN@Example.COM", "a-good-passw0rd", "Dup"), hg.ECONFLICT, ""},
		{"malformed email", signupMut, signup("not-an-email", "a-good-passw0rd", "X"), hg.EINVALID, "input.email"},
		{"email with display name", signupMut, signup("X <x@example.com>", "a-good-passw0rd", "X"), hg.EINVALID, "input.email"},
		{"blank name", signupMut, signup("new@example.com", "a-good-passw0rd", "   "), hg.EINVALID, "input.fullName"},
		{"over-long name", signupMut, signup("new@example.com", "a-good-passw0rd", strings.Repeat("n", 201)), hg.EINVALID, "input.fullName"},
		{"missing field", signupMut, map[string]any{"in": map[string]any{"email": "new@example.com"}}, hg.EINVALID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Do(t, "", tt.query, tt.vars)
			if r.Code() != tt.wantCode || r.Field() != tt.wantField {
				t.Fatalf("code, field = %q, %q; want %q, %q (errors %+v)", r.Code(), r.Field(), tt.wantCode, tt.wantField, r.Errors)
			}
			if len(r.Errors[0].Message) == 0 || strings.Contains(r.Errors[0].Message, "SQL") {
				t.Fatalf("message %q is not a clear user message", r.Errors[0].Message)
			}
		})
	}
	if after := users(); after != before {
		t.Fatalf("users = %d after bad input, want %d: something was written", after, before)
	}
}

func TestLoginMessagesDoNotRevealAccounts(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	env.User(t, "known@example.com", hg.RolePatient)
	wrong := env.Do(t, "", loginMut, map[string]any{"e": "known@example.com", "p": "wrong-password-1"})
	unknown := env.Do(t, "", loginMut, map[string]any{"e": "unknown@example.com", "p": "wrong-password-1"})
	if wrong.Errors[0].Message != unknown.Errors[0].Message {
		t.Fatalf("wrong password says %q but unknown email says %q", wrong.Errors[0].Message, unknown.Errors[0].Message)
	}
}

func TestRepeatedFailuresLockTheAccount(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u, _ := env.User(t, "target@example.com", hg.RolePatient)
	for range 5 {
		if r := env.Do(t, "", loginMut, map[string]any{"e": "target@example.com", "p": "guess-guess-1"}); r.Code() != hg.EUNAUTHENTICATED {
			t.Fatalf("wrong password code = %q", r.Code())
		}
	}
	r := env.Do(t, "", loginMut, map[string]any{"e": "target@example.com", "p": servertest.Password})
	if r.Code() != hg.EUNAUTHENTICATED {
		t.Fatalf("correct password on a locked account: code %q, want UNAUTHENTICATED", r.Code())
	}
	if n := env.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'account.locked' AND entity_id = $1`, u.ID); n != 1 {
		t.Fatalf("account.locked audit rows = %d, want 1", n)
	}
	if n := env.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'login.refused' AND entity_id = $1`, u.ID); n != 1 {
		t.Fatalf("login.refused audit rows = %d, want 1", n)
	}
}

func TestBadTokensAreRejected(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	u, good := env.User(t, "p@example.com", hg.RolePatient)

	expiredSigner, _ := auth.NewTokens(servertest.Key, -time.Minute)
	expired, _, _ := expiredSigner.Issue(u)
	otherSigner, _ := auth.NewTokens([]byte("another-key-entirely-0123456789abcdef"), time.Minute)
	otherKey, _, _ := otherSigner.Issue(u)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "PATIENT", "ADMIN", 1))) + "." + parts[2]
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"sub": u.ID.String(), "role": "ADMIN", "iss": "healthgraph", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	// Signed with the right key but in no session: what tokens issued
	// before sessions existed look like.
	sessionless, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": u.ID.String(), "role": "PATIENT", "iss": "healthgraph", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString(servertest.Key)

	for name, token := range map[string]string{
		"expired": expired, "other key": otherKey, "tampered": tampered, "alg none": none, "garbage": "not.a.token", "no session": sessionless,
	} {
		t.Run(name, func(t *testing.T) {
			r := env.Do(t, token, meQuery, nil)
			if r.Code() != hg.EUNAUTHENTICATED || r.Status != 401 {
				t.Fatalf("status %d code %q, want 401 UNAUTHENTICATED", r.Status, r.Code())
			}
		})
	}
	if r := env.Do(t, good, meQuery, nil); r.Code() != "" {
		t.Fatalf("the good token was refused: %+v", r.Errors)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	env.User(t, "r@example.com", hg.RolePatient)
	first := login(t, env, "r@example.com", servertest.Password)

	var rotated struct{ RefreshToken session }
	env.Do(t, "", refreshMut, map[string]any{"t": first.RefreshToken}).Decode(t, &rotated)
	second := rotated.RefreshToken
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatalf("refresh did not rotate: %+v", second)
	}

	// Replaying the spent token is theft: refused, and the family dies.
	if r := env.Do(t, "", refreshMut, map[string]any{"t": first.RefreshToken}); r.Code() != hg.EUNAUTHENTICATED {
		t.Fatalf("reuse: code %q, want UNAUTHENTICATED", r.Code())
	}
	if r := env.Do(t, "", refreshMut, map[string]any{"t": second.RefreshToken}); r.Code() != hg.EUNAUTHENTICATED {
		t.Fatalf("the rotated token still works after reuse was detected: code %q", r.Code())
	}
	if n := env.Count(t, `SELECT count(*) FROM audit_events WHERE action = 'refresh.reused'`); n != 1 {
		t.Fatalf("refresh.reused audit rows = %d, want 1", n)
	}
	if r := env.Do(t, "", refreshMut, map[string]any{"t": "made-up"}); r.Code() != hg.EUNAUTHENTICATED {
		t.Fatalf("unknown refresh token: code %q", r.Code())
	}
}

func TestRoleEnforcement(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	patient, patientToken := env.User(t, "pat@example.com", hg.RolePatient)
	_, adminToken := env.User(t, "admin@example.com", hg.RoleAdmin)
	patientID := globalUserID(t, env, patientToken)

	setRole := `mutation($id: ID!) { setUserRole(userId: $id, role: ADMIN) { role } }`
	tests := []struct {
		name, token, query string
		vars               map[string]any
		want               string
	}{
		{"anonymous me", "", meQuery, nil, hg.EUNAUTHENTICATED},
		{"patient lists users", patientToken, `{ users { totalCount } }`, nil, hg.EFORBIDDEN},
		{"patient promotes self", patientToken, setRole, map[string]any{"id": patientID}, hg.EFORBIDDEN},
		{"anonymous lists users", "", `{ users { totalCount } }`, nil, hg.EUNAUTHENTICATED},
		{"admin lists users", adminToken, `{ users(first: 1) { totalCount pageInfo { hasNextPage } edges { node { email } } } }`, nil, ""},
		{"admin with a malformed id", adminToken, setRole, map[string]any{"id": "@@"}, hg.EINVALID},
		{"admin with a first over the cap", adminToken, `{ users(first: 1000) { totalCount } }`, nil, hg.EINVALID},
		{"admin with a malformed cursor", adminToken, `{ users(after: "zzz") { totalCount } }`, nil, hg.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := env.Do(t, tt.token, tt.query, tt.vars).Code(); got != tt.want {
				t.Fatalf("code = %q, want %q", got, tt.want)
			}
		})
	}
	if u, _ := env.DB.UserByID(t.Context(), patient.ID); u.Role != hg.RolePatient {
		t.Fatalf("the patient's role changed to %s", u.Role)
	}
}

func TestUsersPaginate(t *testing.T) {
	t.Parallel()
	env := servertest.New(t)
	_, admin := env.User(t, "admin@example.com", hg.RoleAdmin)
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
		env.User(t, e, hg.RolePatient)
	}
	q := `query($after: String) { users(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { email } } } }`
	seen := map[string]bool{}
	var after any
	for pages := 0; ; pages++ {
		var out struct {
			Users struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   string
				}
				Edges []struct{ Node struct{ Email string } }
			}
		}
		env.Do(t, admin, q, map[string]any{"after": after}).Decode(t, &out)
		if out.Users.TotalCount != 5 {
			t.Fatalf("totalCount = %d, want 5", out.Users.TotalCount)
		}
		for _, e := range out.Users.Edges {
			if seen[e.Node.Email] {
				t.Fatalf("%s appeared on two pages", e.Node.Email)
			}
			seen[e.Node.Email] = true
		}
		if !out.Users.PageInfo.HasNextPage {
			break
		}
		after = out.Users.PageInfo.EndCursor
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d users, want 5", len(seen))
	}
}

func globalUserID(t *testing.T, env *servertest.Env, token string) string {
	t.Helper()
	var me struct{ Me struct{ ID string } }
	env.Do(t, token, meQuery, nil).Decode(t, &me)
	return me.Me.ID
}
