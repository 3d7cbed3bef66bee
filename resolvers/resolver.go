// Package resolvers implements the GraphQL schema. Resolvers are thin: they
// authorize through auth, validate input, call the store or a loader, and
// return domain errors that the server's presenter maps to error codes.
package resolvers

import (
	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/graph"
	"github.com/healthgraph/healthgraph/graph/model"
)

//go:generate go tool gqlgen generate

// Resolver holds what every resolver needs; server wires it once.
type Resolver struct {
	Accounts *auth.Accounts
	Store    hg.Store
}

var _ graph.ResolverRoot = (*Resolver)(nil)

// authPayload maps a session, or the error that prevented it, to GraphQL.
func authPayload(s *auth.Session, err error) (*model.AuthPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.AuthPayload{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, ExpiresAt: s.ExpiresAt, User: s.User}, nil
}
