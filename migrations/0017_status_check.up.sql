-- healthgraph:no-transaction
-- Status checks: a claim or prior authorization PENDING at the payer for
-- longer than HG_NPHIES_STATUS_CHECK_AFTER gets a status-check through the
-- outbox. status_checked_at is when the last one was queued; setting it in
-- the transaction that queues the check is what makes a racing replica
-- skip the claim (its row lock, then the re-checked condition).
ALTER TABLE claims ADD COLUMN IF NOT EXISTS status_checked_at timestamptz;

-- The poller's question, "which PENDING claims are due a check", reads a
-- few rows of this index instead of every claim. Built concurrently so
-- claims keep being written meanwhile.
DROP INDEX CONCURRENTLY IF EXISTS claims_status_check_due_idx;
CREATE INDEX CONCURRENTLY claims_status_check_due_idx ON claims ((coalesce(status_checked_at, updated_at)))
    WHERE status = 'PENDING';
