-- Documents a claim or prior authorization carries (issue 15): an
-- investigation report, a scanned page, sent as supportingInfo of category
-- attachment. Kept beside the claim, not in its row, so reading claims
-- never reads documents; a resubmission sends them again. A new table:
-- nothing existing is locked or rewritten.
CREATE TABLE IF NOT EXISTS claim_attachments (
    claim_id     uuid        NOT NULL REFERENCES claims (id),
    sequence     int         NOT NULL CHECK (sequence > 0),
    title        text        NOT NULL CHECK (title <> ''),
    content_type text        NOT NULL,
    data         bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (claim_id, sequence)
);
