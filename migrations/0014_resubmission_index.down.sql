-- healthgraph:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS claims_resubmission_of_idx;
DROP INDEX CONCURRENTLY IF EXISTS claims_live_per_invoice;
CREATE UNIQUE INDEX CONCURRENTLY claims_live_per_invoice ON claims (invoice_id)
    WHERE use = 'claim' AND status NOT IN ('CANCELLED', 'REJECTED') AND NOT refused;
DROP INDEX CONCURRENTLY IF EXISTS claims_live_claim_per_invoice;
