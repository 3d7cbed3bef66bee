package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// LoadAllowList reads the operations production may run from a JSON file:
// either an array of operation documents, or a persisted-query manifest
// ({"operations": [{"body": "…"}, …]}). Each operation is registered under
// the SHA-256 of its text, the hash APQ clients send.
func LoadAllowList(path string) (map[string]string, error) {
	b, err := os.ReadFile(path) //nolint:gosec // the operator's own configured file
	if err != nil {
		return nil, fmt.Errorf("read allow-list: %w", err)
	}
	var docs []string
	if err := json.Unmarshal(b, &docs); err != nil {
		var manifest struct {
			Operations []struct {
				Body string `json:"body"`
			} `json:"operations"`
		}
		if err := json.Unmarshal(b, &manifest); err != nil {
			return nil, fmt.Errorf("allow-list %s is neither a JSON array of operations nor a manifest: %w", path, err)
		}
		for _, op := range manifest.Operations {
			docs = append(docs, op.Body)
		}
	}
	ops := make(map[string]string, len(docs))
	for _, d := range docs {
		if d == "" {
			continue
		}
		ops[queryHash(d)] = d
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("allow-list %s holds no operations", path)
	}
	return ops, nil
}

func queryHash(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:])
}

// allowList replaces APQ in allow-list mode: a request runs only if it
// names a registered operation by hash (or sends the exact text of one).
// Nothing can be registered at run time.
type allowList map[string]string

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = allowList{}

func (allowList) ExtensionName() string                   { return "AllowList" }
func (allowList) Validate(graphql.ExecutableSchema) error { return nil }

func (a allowList) MutateOperationParameters(_ context.Context, raw *graphql.RawParams) *gqlerror.Error {
	var hash string
	if raw.Query != "" {
		hash = queryHash(raw.Query)
	} else if pq, ok := raw.Extensions["persistedQuery"].(map[string]any); ok {
		hash, _ = pq["sha256Hash"].(string)
	}
	q, ok := a[hash]
	if !ok {
		err := gqlerror.Errorf("this operation is not on the server's allow-list")
		errcode.Set(err, "PERSISTED_QUERY_NOT_ALLOWED")
		return err
	}
	raw.Query = q
	return nil
}
