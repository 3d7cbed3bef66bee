// Package migrations holds the versioned SQL that defines the database. Each
// version is a pair NNNN_name.up.sql / NNNN_name.down.sql; they are the only
// way the schema changes.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
