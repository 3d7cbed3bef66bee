package loadgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	hg "github.com/healthgraph/healthgraph"
)

// The load accounts' roles; their logins are load-<role>@<domain>.
const (
	roleReception    = "reception"
	roleBilling      = "billing"
	roleAnalyst      = "analyst"
	roleAdmin        = "admin"
	rolePractitioner = "practitioner"
)

var roles = []string{roleReception, roleBilling, roleAnalyst, roleAdmin, rolePractitioner}

// opDef is one kind of request of a mix, modelled on a screen of the app.
type opDef struct {
	// role is whose token the request carries; empty for an anonymous one.
	role string
	// conflict marks an operation whose CONFLICT answers are an expected
	// outcome under load (a slot taken meanwhile), counted apart from errors.
	conflict bool
	// discovers marks an operation that draws on the patients,
	// practitioners or name prefixes found at startup.
	discovers bool
	// peer marks an operation for another server (PostGraphile), which
	// ours does not answer.
	peer  bool
	build func(d *dataset, rng *rand.Rand, now time.Time) (query string, vars map[string]any)
}

// operations are every operation a mix can weigh. The schedule runs as
// reception and the chart as admin because the load practitioner account
// is not linked to a practitioner: it could see no patient.
var operations = map[string]opDef{
	"schedule": {role: roleReception, discovers: true, build: buildSchedule},
	"chart":    {role: roleAdmin, discovers: true, build: buildChart},
	"search":   {role: roleReception, discovers: true, build: buildSearch},
	"claims":   {role: roleBilling, build: buildClaims},
	"summary":  {role: roleAnalyst, build: buildSummary},
	"login":    {build: buildLogin},
	"book":     {role: roleReception, conflict: true, discovers: true, build: buildBook},
	"headline": {role: roleReception, build: buildHeadline},
	// postgraphile is the headline's shape as PostGraphile serves it, for
	// scripts/bench-peer.sh: the same load tool against the peer server.
	"postgraphile": {peer: true, build: buildPeerHeadline},
}

// mixes are the named default weights; -weights adjusts them.
var mixes = map[string]map[string]int{
	"standard": {"schedule": 25, "chart": 20, "search": 20, "claims": 15, "summary": 5, "book": 10, "login": 5},
	"headline": {"headline": 1},
	// postgraphile runs against a PostGraphile server (-url), not ours.
	"postgraphile": {"postgraphile": 1},
}

const scheduleQuery = `query DaySchedule($filter: AppointmentFilter) {
  appointments(first: 50, filter: $filter) {
    totalCount
    edges { node { id startsAt endsAt status reason
      patient { id mrn firstName familyName birthDate gender
        coverages { id memberId policyNumber class active endsOn payer { license name } } } } }
  }
}`

const chartQuery = `query PatientChart($id: ID!) {
  patient(id: $id) {
    id mrn nationalId firstName familyName firstNameAr familyNameAr birthDate gender phone email
    latestRecords { id kind codes body version authorId createdAt }
    upcomingAppointments { id startsAt endsAt status reason
      practitioner { id firstName familyName specialty } }
    coverages { id memberId policyNumber class startsOn endsOn active payer { license name } }
  }
}`

// searchQuery is a type-ahead: the first 20 matches and whether more follow.
// It asks no totalCount, which would count every match (tens of thousands
// for a two-letter prefix over 200k patients) on each keystroke.
const searchQuery = `query PatientSearch($search: String) {
  patients(filter: {search: $search}, first: 20) {
    pageInfo { hasNextPage }
    edges { node { id mrn firstName familyName birthDate gender phone } }
  }
}`

const claimsQuery = `query ClaimsPage($filter: ClaimFilter) {
  claims(first: 20, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id use status patientId payer { license name }
      total { amount currency } approved { amount currency } disposition preAuthRef createdAt updatedAt
      items { sequence serviceCode description quantity
        net { amount } vat { amount } patientShare { amount } approved { amount } outcome reasons } } }
  }
}`

const summaryQuery = `query ClaimsSummary($from: Time!, $to: Time!, $groupBy: ClaimsGroupBy!) {
  claimsSummary(from: $from, to: $to, groupBy: $groupBy) {
    key suppressed claims total { amount } approved { amount }
  }
}`

const loginQuery = `mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken expiresAt user { id role } }
}`

const bookQuery = `mutation Book($input: BookAppointmentInput!) {
  bookAppointment(input: $input) { id startsAt endsAt status }
}`

// headlineQuery is the benchmark's one request: the newest booked
// appointments with their patients and practitioners.
const headlineQuery = `query Headline {
  appointments(first: 50, filter: {status: BOOKED, latestFirst: true}) {
    edges { node { id startsAt endsAt status
      patient { id mrn firstName familyName birthDate gender }
      practitioner { id license firstName familyName specialty } } }
  }
}`

// peerHeadlineQuery asks PostGraphile v4 for what headlineQuery asks us:
// the 50 newest booked appointments, each with the same patient and
// practitioner fields (its id fields are the uuid columns).
const peerHeadlineQuery = `query Headline {
  allAppointments(first: 50, condition: {status: "BOOKED"}, orderBy: [STARTS_AT_DESC, ID_DESC]) {
    nodes { id startsAt endsAt status
      patientByPatientId { id mrn firstName familyName birthDate gender }
      practitionerByPractitionerId { id license firstName familyName specialty } }
  }
}`

func buildSchedule(d *dataset, rng *rand.Rand, now time.Time) (string, map[string]any) {
	day := clinicDay(now, 0)
	return scheduleQuery, map[string]any{"filter": map[string]any{
		"practitionerId": pick(rng, d.practitioners),
		"from":           day.Format(time.RFC3339),
		"to":             day.AddDate(0, 0, 1).Format(time.RFC3339),
	}}
}

func buildChart(d *dataset, rng *rand.Rand, _ time.Time) (string, map[string]any) {
	return chartQuery, map[string]any{"id": pick(rng, d.patients)}
}

func buildSearch(d *dataset, rng *rand.Rand, _ time.Time) (string, map[string]any) {
	return searchQuery, map[string]any{"search": pick(rng, d.prefixes)}
}

// claimStatuses are the filters of the claims page's status tabs; "" is
// the unfiltered first tab.
var claimStatuses = []string{"", "", "SUBMITTED", "APPROVED", "REJECTED", "PENDING"}

func buildClaims(_ *dataset, rng *rand.Rand, _ time.Time) (string, map[string]any) {
	filter := map[string]any{}
	if s := pick(rng, claimStatuses); s != "" {
		filter["status"] = s
	}
	return claimsQuery, map[string]any{"filter": filter}
}

var claimsGroupings = []string{"PAYER", "STATUS", "MONTH"}

func buildSummary(_ *dataset, rng *rand.Rand, now time.Time) (string, map[string]any) {
	to := clinicDay(now, 1)
	return summaryQuery, map[string]any{"from": to.AddDate(-1, 0, 0).Format(time.RFC3339),
		"to": to.Format(time.RFC3339), "groupBy": pick(rng, claimsGroupings)}
}

func buildLogin(d *dataset, rng *rand.Rand, _ time.Time) (string, map[string]any) {
	return loginQuery, map[string]any{"email": d.email(pick(rng, roles)), "password": d.password}
}

// buildBook books a random slot of the clinic's schedule 2 to 360 days
// ahead, with a random practitioner and patient. A slot already taken is
// answered CONFLICT.
func buildBook(d *dataset, rng *rand.Rand, now time.Time) (string, map[string]any) {
	var slots []hg.Slot
	for len(slots) == 0 {
		slots = hg.DefaultSchedule.Slots(clinicDay(now, 2+rng.IntN(358)))
	}
	s := pick(rng, slots)
	return bookQuery, map[string]any{"input": map[string]any{
		"patientId": pick(rng, d.patients), "practitionerId": pick(rng, d.practitioners),
		"startsAt": s.StartsAt.Format(time.RFC3339), "endsAt": s.EndsAt.Format(time.RFC3339),
		"reason": "load test",
	}}
}

func buildHeadline(*dataset, *rand.Rand, time.Time) (string, map[string]any) {
	return headlineQuery, nil
}

func buildPeerHeadline(*dataset, *rand.Rand, time.Time) (string, map[string]any) {
	return peerHeadlineQuery, nil
}

// clinicDay is local midnight in the clinic's zone, days after now's date.
func clinicDay(now time.Time, days int) time.Time {
	t := now.In(hg.ClinicZone)
	return time.Date(t.Year(), t.Month(), t.Day()+days, 0, 0, 0, 0, hg.ClinicZone)
}

func pick[T any](rng *rand.Rand, xs []T) T {
	return xs[rng.IntN(len(xs))]
}

// weighted picks operation names in proportion to their weights.
type weighted struct {
	names []string
	cum   []int // cumulative weights, same order as names
}

// newWeighted builds a picker from the weights, ignoring zero weights.
func newWeighted(w map[string]int) (weighted, error) {
	var p weighted
	names := make([]string, 0, len(w))
	for n := range w {
		names = append(names, n)
	}
	slices.Sort(names) // deterministic for a given seed
	total := 0
	for _, n := range names {
		if w[n] < 0 {
			return p, fmt.Errorf("weight of %s is negative", n)
		}
		if w[n] == 0 {
			continue
		}
		total += w[n]
		p.names = append(p.names, n)
		p.cum = append(p.cum, total)
	}
	if total == 0 {
		return p, fmt.Errorf("the mix has no operation with a positive weight")
	}
	return p, nil
}

func (p weighted) pick(rng *rand.Rand) string {
	x := rng.IntN(p.cum[len(p.cum)-1])
	i, _ := slices.BinarySearch(p.cum, x+1)
	return p.names[i]
}

// mixWeights returns the named mix's weights with the overrides of spec
// ("name=weight,..."; a weight of 0 drops an operation) applied.
func mixWeights(mix, spec string) (map[string]int, error) {
	base, ok := mixes[mix]
	if !ok {
		return nil, fmt.Errorf("unknown mix %q (standard, headline or postgraphile)", mix)
	}
	w := make(map[string]int, len(base))
	for n, v := range base {
		w[n] = v
	}
	if strings.TrimSpace(spec) == "" {
		return w, nil
	}
	for _, kv := range strings.Split(spec, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("weight %q is not name=number", kv)
		}
		if _, known := operations[name]; !known {
			return nil, fmt.Errorf("unknown operation %q in -weights", name)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("weight of %s must be a whole number ≥ 0, got %q", name, val)
		}
		w[name] = n
	}
	return w, nil
}
