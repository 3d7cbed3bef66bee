package resolvers

import (
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"

	hg "github.com/healthgraph/healthgraph"
)

// connectionPage is the page a connection field asks the store for: one
// item more than the client asked, which tells edges whether another page
// follows. It asks the store to count every match only when the query
// selects totalCount: over a large table the count costs more than the
// page itself.
func connectionPage(ctx context.Context, first *int, after *string) (hg.Page, error) {
	p, err := page(first, after)
	p.First++
	p.Count = slices.Contains(graphql.CollectAllFields(ctx), "totalCount")
	return p, err
}
