package server

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/healthgraph/healthgraph/graph"
)

// pricedSchema is the executable schema with the server's prices.
func pricedSchema() graphql.ExecutableSchema {
	cfg := graph.Config{}
	setComplexity(&cfg.Complexity)
	return graph.NewExecutableSchema(cfg)
}

// sampleArgs gives every required argument of f a value its type accepts,
// so the generated Complexity can decode them. Times span a year.
func sampleArgs(s *ast.Schema, f *ast.FieldDefinition) map[string]any {
	args := map[string]any{}
	for _, a := range f.Arguments {
		if !a.Type.NonNull {
			continue
		}
		switch def := s.Types[a.Type.Name()]; {
		case def.Kind == ast.Enum:
			args[a.Name] = def.EnumValues[0].Name
		case def.Name == "Time" && a.Name == "to":
			args[a.Name] = "2026-01-01T00:00:00Z"
		case def.Name == "Time":
			args[a.Name] = "2025-01-01T00:00:00Z"
		case def.Name == "Date":
			args[a.Name] = "2025-01-01"
		case def.Name == "Int":
			args[a.Name] = 1
		default:
			args[a.Name] = "x"
		}
	}
	return args
}

// TestEveryListFieldHasACost walks every object type of the schema. A field
// returning a list of objects, or a connection, must have a cost function
// that multiplies its children by at least two (its page size or cap); the
// edges of a connection are priced by the field that returns the
// connection. Lists of scalars and enums are exempt: they are one column of
// their parent's row, not rows of their own.
func TestEveryListFieldHasACost(t *testing.T) {
	t.Parallel()
	es := pricedSchema()
	s := es.Schema()
	checked := 0
	for _, def := range s.Types {
		if def.Kind != ast.Object || strings.HasPrefix(def.Name, "__") {
			continue
		}
		connection := strings.HasSuffix(def.Name, "Connection")
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			target := s.Types[f.Type.Name()]
			isList := f.Type.Elem != nil && target.Kind != ast.Scalar && target.Kind != ast.Enum
			returnsConnection := strings.HasSuffix(target.Name, "Connection")
			if !isList && !returnsConnection || connection && f.Name == "edges" {
				continue
			}
			checked++
			name := def.Name + "." + f.Name
			low, ok := es.Complexity(context.Background(), def.Name, f.Name, 0, sampleArgs(s, f))
			if !ok {
				t.Errorf("%s returns a list but has no cost function: add one in setComplexity", name)
				continue
			}
			high, _ := es.Complexity(context.Background(), def.Name, f.Name, 1000, sampleArgs(s, f))
			if high-low < 2*1000 {
				t.Errorf("%s costs %d with children of 0 and %d with children of 1000: it does not multiply by its size", name, low, high)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d list fields; the walk is missing the schema", checked)
	}
	t.Logf("%d list fields priced", checked)
}

func cost(t *testing.T, es graphql.ExecutableSchema, query string) int {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(es.Schema(), query, nil) // nil: the default rules
	if errs != nil {
		t.Fatalf("%s: %v", query, errs)
	}
	return complexity.Calculate(context.Background(), es, doc.Operations[0], nil)
}

// nestedRowsQuery asks for up to 100 patients × 20 upcoming appointments ×
// 20 records of each appointment's patient: 40,000 rows.
const nestedRowsQuery = `{ patients(first: 100) { edges { node {
	upcomingAppointments { patient { latestRecords { id } } } } } } }`

func TestListCostsMultiplyByPageSize(t *testing.T) {
	t.Parallel()
	es := pricedSchema()
	const budget = 5000 // the default HG_QUERY_COMPLEXITY_LIMIT
	tests := []struct {
		name     string
		query    string
		min, max int
	}{
		// id 1, node 1+1, edges 1+2, patients 1+100×3.
		{"a page of 100 patients costs 100 times a patient", `{ patients(first: 100) { edges { node { id } } } }`, 301, 301},
		{"the default page is 20", `{ claims { edges { node { id } } } }`, 61, 61},
		{"a backward page costs its last", `{ paymentReconciliations(last: 50) { edges { node { identifier } } } }`, 151, 151},
		{"an oversized page costs the cap, leaving the refusal to the resolver", `{ invoices(first: 5000) { edges { node { id } } } }`, 301, 301},
		{"nested lists multiply", nestedRowsQuery, 40_000, maxCost},
		{"a year of daily revenue is one group per day", `{ revenueSummary(from: "2025-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z", groupBy: DAY) { key } }`, 366, 400},
		{"the claims screen fits the default budget", `{ claims(first: 20) { totalCount pageInfo { hasNextPage endCursor }
			edges { node { id use status patientId payer { license name } total { amount currency } approved { amount currency }
			disposition preAuthRef createdAt updatedAt items { sequence serviceCode description quantity net { amount }
			vat { amount } patientShare { amount } approved { amount } outcome reasons } } } } }`, 1000, budget},
		{"the day schedule fits the default budget", `query($f: AppointmentFilter) { appointments(first: 50, filter: $f) { totalCount
			edges { node { id startsAt endsAt status reason patient { id mrn firstName familyName birthDate gender
			coverages { id memberId policyNumber class active endsOn payer { license name } } } } } } }`, 1000, budget},
		{"the chart screen fits the default budget", `{ patient(id: "x") { id mrn nationalId firstName familyName birthDate gender phone email
			latestRecords { id kind codes body version authorId createdAt }
			upcomingAppointments { id startsAt endsAt status reason practitioner { id firstName familyName specialty } }
			coverages { id memberId policyNumber class startsOn endsOn active payer { license name } } } }`, 400, budget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := cost(t, es, tt.query); got < tt.min || got > tt.max {
				t.Fatalf("cost %d, want %d to %d", got, tt.min, tt.max)
			}
		})
	}
}

func TestListCostSaturatesInsteadOfOverflowing(t *testing.T) {
	t.Parallel()
	if got := listCost(maxCost, 100); got != maxCost {
		t.Fatalf("listCost(maxCost, 100) = %d, want %d", got, maxCost)
	}
}
