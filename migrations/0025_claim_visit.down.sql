-- healthgraph:no-transaction
ALTER TABLE claims DROP COLUMN IF EXISTS appointment_id;
