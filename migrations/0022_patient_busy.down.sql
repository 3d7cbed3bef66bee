-- healthgraph:no-transaction
-- Back to 0011's state: the rule checked once and kept by the bookings'
-- own check. The constraint 0011 once added is not rebuilt: it would stop
-- every booking while its index builds.
DROP TRIGGER IF EXISTS appointments_patient_busy ON appointments;
DROP FUNCTION IF EXISTS patient_busy_sync();
DROP TABLE IF EXISTS patient_busy;
