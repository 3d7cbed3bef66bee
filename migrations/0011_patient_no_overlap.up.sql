-- A patient is never in two live appointments at once, whichever
-- practitioners they are with. This migration checks that no patient is
-- already; 0022 (patient_busy) then enforces it.
--
-- This file first added the rule as an exclusion constraint on
-- appointments. PostgreSQL builds such a constraint's index under an
-- ACCESS EXCLUSIVE lock, which stopped every booking for 77 s on two
-- million appointments; 0022 keeps the same rule on a table of live slots
-- created empty and filled in batches, and drops that constraint from the
-- databases that took it here. The runner keys applied migrations by
-- version alone, so rewriting this file changes nothing for them.
--
-- A database that already holds such overlaps cannot take the rule.
-- Cancelling someone's appointment behind the clinic's back is not this
-- migration's call, so it stops before changing anything, saying how many
-- pairs there are and how to list them: cancel or reschedule one
-- appointment of each pair, then migrate again. The seeds never generate
-- overlaps. The check only reads: writes go on meanwhile.
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
