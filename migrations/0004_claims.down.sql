DROP TABLE eligibility_checks;
DROP TABLE claim_status_history;
DROP TABLE nphies_messages;
DROP TABLE claim_items;
DROP TABLE claims;
DROP FUNCTION claim_total_matches();
