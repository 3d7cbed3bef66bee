package postgres

// Unexported pieces of the migration runner, for its tests.
var (
	ApplyMigration = applyMigration
	Statements     = statements
)
