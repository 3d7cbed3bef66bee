package postgres

import (
	"context"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestNamedArgsRewriteAsPgxDoes: namedArgs gives the text and values
// pgx.NamedArgs gives, on the first call (learning the text) and on later
// ones (remembered), including names repeated, names inside literals and
// comments, and a name the call does not bind.
func TestNamedArgsRewriteAsPgxDoes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sql  string
		args map[string]any
	}{
		{`SELECT id FROM patients WHERE id = @id`, map[string]any{"id": 7}},
		{`SELECT @b::int, @a::text, @b::int + 1 -- @c in a comment
			FROM t WHERE x = '@a in a literal' AND y = @a`, map[string]any{"a": "x", "b": 2, "unused": true}},
		{`SELECT @missing::int, @here::int /* test 4 */`, map[string]any{"here": 1}},
		{`SELECT 1`, map[string]any{"extra": 1}},
	} {
		want, wantArgs, err := pgx.NamedArgs(tc.args).RewriteQuery(context.Background(), nil, tc.sql, nil)
		if err != nil {
			t.Fatal(err)
		}
		for call := range 3 {
			// A value that changes between calls must reach the arguments.
			args := namedArgs{}
			for k, v := range tc.args {
				args[k] = v
			}
			got, gotArgs, err := args.RewriteQuery(context.Background(), nil, tc.sql, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != want || !reflect.DeepEqual(gotArgs, wantArgs) {
				t.Errorf("call %d of %q: got %q %v, want pgx's %q %v", call, tc.sql, got, gotArgs, want, wantArgs)
			}
		}
	}
	// The same text with other values.
	sql := `SELECT @id::int`
	for _, id := range []int{1, 2, 3} {
		_, got, _ := namedArgs{"id": id}.RewriteQuery(context.Background(), nil, sql, nil)
		if len(got) != 1 || got[0] != id {
			t.Errorf("values %v, want [%d]", got, id)
		}
	}
}
