// Package model holds the GraphQL models gqlgen generates, and the scalars
// and interfaces we bind by hand.
package model

// Node is any object with a global ID. It is bound to the GraphQL Node
// interface without methods so that domain types from the root package, which
// know nothing of GraphQL, can be returned as nodes.
type Node interface{}
