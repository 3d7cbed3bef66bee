package resolvers

import (
	"context"
	"sync"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/graph"
)

// Which roles may call a field is stated once, in the schema, by @hasRole
// (server/graphql.go enforces it): the Playground documents the rule, and
// a resolver behind such a directive asks only for the principal
// (auth.Require(ctx) without roles), never for the roles again. Code keeps
// the decisions the schema cannot state: by relationship (the store's
// scopes), by the type an id names (node(id:)) and per subscription event.
//
// node(id:) and a few object fields reach objects without passing through
// the Query field whose directive guards them; asField applies that
// field's rule, read from the schema, rather than a copy of its list.

// queryRoles are the roles each guarded Query field's @hasRole admits.
var queryRoles = sync.OnceValue(func() map[string][]hg.Role {
	out := map[string][]hg.Role{}
	for _, f := range graph.NewExecutableSchema(graph.Config{}).Schema().Query.Fields {
		d := f.Directives.ForName("hasRole")
		if d == nil {
			continue
		}
		for _, v := range d.Arguments.ForName("roles").Value.Children {
			out[f.Name] = append(out[f.Name], hg.Role(v.Value.Raw))
		}
	}
	return out
})

// asField authorizes the caller as Query.field's @hasRole does, and
// returns the principal. A field without the directive is a programming
// error, refused as INTERNAL rather than allowed.
func asField(ctx context.Context, field string) (*hg.Principal, error) {
	roles, ok := queryRoles()[field]
	if !ok || len(roles) == 0 {
		return nil, hg.Errorf(hg.EINTERNAL, "Query.%s has no @hasRole to authorize by", field)
	}
	return auth.Require(ctx, roles...)
}
