-- Communications about a claim: a payer's request for information,
-- received through poll (CommunicationRequest), and our communications to
-- the payer (Communication), answering such a request or of our own
-- accord. The documents we send stay in the outgoing bundle
-- (nphies_messages.body); here they are described (title, type, size,
-- SHA-256) so the claim can list them without reading bundles.
CREATE TABLE claim_communications (
    id            uuid PRIMARY KEY,
    claim_id      uuid NOT NULL REFERENCES claims (id),
    direction     text NOT NULL CHECK (direction IN ('FROM_PAYER', 'TO_PAYER')),
    -- The payer's CommunicationRequest.identifier, for FROM_PAYER.
    payer_system  text NOT NULL DEFAULT '' CHECK (length(payer_system) <= 500),
    payer_value   text NOT NULL DEFAULT '' CHECK (length(payer_value) <= 200),
    -- The payer request a TO_PAYER communication answers; NULL when unsolicited.
    in_reply_to   uuid REFERENCES claim_communications (id),
    reasons       text[] NOT NULL DEFAULT '{}',
    texts         text[] NOT NULL DEFAULT '{}',
    attachments   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attachments) = 'array'),
    -- Our outgoing message (TO_PAYER) or the received one (FROM_PAYER).
    message_id    uuid REFERENCES nphies_messages (id),
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT claim_communications_payer_request CHECK ((direction = 'FROM_PAYER') = (payer_value <> '')),
    CONSTRAINT claim_communications_reply_ours CHECK (direction = 'TO_PAYER' OR in_reply_to IS NULL)
);
-- A payer request delivered twice is stored once per claim it is about.
CREATE UNIQUE INDEX claim_communications_payer_idx ON claim_communications (claim_id, payer_system, payer_value)
    WHERE direction = 'FROM_PAYER';
CREATE INDEX claim_communications_claim_idx ON claim_communications (claim_id, created_at);
CREATE INDEX claim_communications_reply_idx ON claim_communications (in_reply_to) WHERE in_reply_to IS NOT NULL;
