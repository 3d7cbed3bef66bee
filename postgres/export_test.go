package postgres

// Unexported pieces of the migration runner, for its tests.
var (
	ApplyMigration = applyMigration
	Statements     = statements
)

// QueuedReads counts the read audit events waiting for db's writer, not
// yet taken into a statement.
func QueuedReads(db *DB) int {
	db.reads.mu.Lock()
	defer db.reads.mu.Unlock()
	return len(db.reads.queue)
}

// ReadsClosed reports whether Close has stopped db's writer taking events.
func ReadsClosed(db *DB) bool {
	db.reads.mu.Lock()
	defer db.reads.mu.Unlock()
	return db.reads.closed
}
