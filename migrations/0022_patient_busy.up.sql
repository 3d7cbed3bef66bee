-- healthgraph:no-transaction
-- A patient is never in two live appointments at once: the exclusion the
-- practitioner has had since 0002, over the patient. Bookings take the
-- patient's advisory lock after the practitioner's and look for an overlap
-- first (postgres/appointments.go), so racing bookings get CONFLICT naming
-- the appointment; this constraint is what holds whatever writes.
--
-- The constraint is on patient_busy, one row per live appointment, and
-- not on appointments: PostgreSQL builds an exclusion constraint's index
-- under ACCESS EXCLUSIVE, with no CONCURRENTLY and no NOT VALID, which on
-- two million appointments stopped every booking for 77 s. patient_busy is
-- created empty, a trigger keeps it in step with every write from then on,
-- and the live appointments already there are copied in batches, each its
-- own transaction; bookings wait for no more than a batch.
--
-- Statement by statement, outside a transaction, each safe to run again.
-- While the copy runs, only the bookings' own check guards the
-- appointments not yet copied; a double booking written past it meanwhile
-- makes the copy fail with the exclusion violation naming the patient, to
-- be resolved as 0011 says before migrating again.

CREATE TABLE IF NOT EXISTS patient_busy (
    appointment_id uuid PRIMARY KEY REFERENCES appointments (id) ON DELETE CASCADE,
    patient_id     uuid NOT NULL,
    during         tstzrange NOT NULL,
    CONSTRAINT patient_busy_no_overlap EXCLUDE USING gist (patient_id WITH =, during WITH &&)
);

-- A live appointment (BOOKED, CHECKED_IN) has its row, at its current
-- times; any other has none. Deleting an appointment cascades.
CREATE OR REPLACE FUNCTION patient_busy_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('BOOKED', 'CHECKED_IN') THEN
        INSERT INTO patient_busy (appointment_id, patient_id, during)
        VALUES (NEW.id, NEW.patient_id, tstzrange(NEW.starts_at, NEW.ends_at))
        ON CONFLICT (appointment_id) DO UPDATE SET patient_id = EXCLUDED.patient_id, during = EXCLUDED.during;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM patient_busy WHERE appointment_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

-- Creating the trigger waits for the writes in flight (lock_timeout, then
-- the runner retries); every write after it keeps patient_busy in step.
CREATE OR REPLACE TRIGGER appointments_patient_busy
    AFTER INSERT OR UPDATE OF patient_id, starts_at, ends_at, status ON appointments
    FOR EACH ROW EXECUTE FUNCTION patient_busy_sync();

-- The copy, 2,000 appointments at a time in id order. FOR SHARE makes a
-- batch wait for a write in flight on one of its appointments and read
-- the appointment as that write left it, so an appointment cancelled
-- meanwhile is never copied as live; the trigger has already written the
-- rows of appointments changed since it was created (ON CONFLICT).
DO $$
DECLARE
    done_to uuid := '00000000-0000-0000-0000-000000000000';
    upto    uuid;
BEGIN
    LOOP
        SELECT id INTO upto FROM (
            SELECT id FROM appointments WHERE id > done_to ORDER BY id LIMIT 2000) batch
        ORDER BY id DESC LIMIT 1;
        EXIT WHEN upto IS NULL;
        WITH live AS (
            SELECT id, patient_id, starts_at, ends_at FROM appointments
            WHERE id > done_to AND id <= upto AND status IN ('BOOKED', 'CHECKED_IN')
            FOR SHARE)
        INSERT INTO patient_busy (appointment_id, patient_id, during)
        SELECT id, patient_id, tstzrange(starts_at, ends_at) FROM live
        ON CONFLICT (appointment_id) DO NOTHING;
        COMMIT;
        done_to := upto;
    END LOOP;
END
$$;

ANALYZE patient_busy;

-- Databases that applied the first version of 0011 hold the rule as a
-- constraint on appointments; patient_busy holds it now.
ALTER TABLE appointments DROP CONSTRAINT IF EXISTS appointments_patient_no_overlap;
