-- healthgraph:no-transaction
-- A claim corrected and resubmitted (0013's claims.resubmitted) stops
-- holding its invoice, so its resubmission may: the one-live-claim-per-invoice
-- index is replaced by one with that condition. The new index is built
-- concurrently beside the old one, which keeps guarding the invoices
-- meanwhile (and claimableInvoice checks under the invoice's row lock too).
-- A build that failed half-way leaves an invalid index, dropped first on the
-- next try.
DROP INDEX CONCURRENTLY IF EXISTS claims_live_claim_per_invoice;
CREATE UNIQUE INDEX CONCURRENTLY claims_live_claim_per_invoice ON claims (invoice_id)
    WHERE use = 'claim' AND status NOT IN ('CANCELLED', 'REJECTED') AND NOT refused AND NOT resubmitted;
DROP INDEX CONCURRENTLY IF EXISTS claims_live_per_invoice;

-- A claim's resubmissions, for Claim.resubmissions and the denial analytics.
DROP INDEX CONCURRENTLY IF EXISTS claims_resubmission_of_idx;
CREATE INDEX CONCURRENTLY claims_resubmission_of_idx ON claims (resubmission_of) WHERE resubmission_of IS NOT NULL;
