ALTER TABLE patients
    DROP COLUMN marital_status,
    DROP COLUMN occupation;

ALTER TABLE coverages
    DROP COLUMN policy_holder_name,
    DROP COLUMN policy_holder_id,
    DROP COLUMN subscriber_id,
    DROP COLUMN relationship,
    DROP COLUMN member_id_system,
    DROP COLUMN plan_name;
