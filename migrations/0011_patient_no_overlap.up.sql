-- A patient is never in two live appointments at once, whichever
-- practitioners they are with: the exclusion the practitioner has had since
-- 0002, over the patient. Bookings take the patient's advisory lock after
-- the practitioner's (postgres/appointments.go), so racing bookings meet
-- this constraint one at a time and the loser gets CONFLICT.
--
-- A database that already holds such overlaps cannot take the constraint.
-- Cancelling someone's appointment behind the clinic's back is not this
-- migration's call, so it stops before changing anything, saying how many
-- pairs there are and how to list them: cancel or reschedule one
-- appointment of each pair, then migrate again. The seeds never generate
-- overlaps.
DO $$
DECLARE
    pairs bigint;
BEGIN
    SELECT count(*) INTO pairs
    FROM appointments a
    JOIN appointments b ON b.patient_id = a.patient_id AND b.id > a.id
        AND tstzrange(b.starts_at, b.ends_at) && tstzrange(a.starts_at, a.ends_at)
    WHERE a.status IN ('BOOKED','CHECKED_IN') AND b.status IN ('BOOKED','CHECKED_IN');
    IF pairs > 0 THEN
        RAISE EXCEPTION 'migration 0011: % pairs of live appointments put one patient in two appointments at once', pairs
            USING ERRCODE = 'exclusion_violation',
                  HINT = 'List them with: SELECT a.id, b.id FROM appointments a JOIN appointments b ON b.patient_id = a.patient_id '
                      || 'AND b.id > a.id AND tstzrange(b.starts_at, b.ends_at) && tstzrange(a.starts_at, a.ends_at) '
                      || 'WHERE a.status IN (''BOOKED'',''CHECKED_IN'') AND b.status IN (''BOOKED'',''CHECKED_IN''); '
                      || 'cancel or reschedule one of each pair, then migrate again.';
    END IF;
END
$$;

ALTER TABLE appointments ADD CONSTRAINT appointments_patient_no_overlap EXCLUDE USING gist (
    patient_id WITH =, tstzrange(starts_at, ends_at) WITH &&
) WHERE (status IN ('BOOKED','CHECKED_IN'));
