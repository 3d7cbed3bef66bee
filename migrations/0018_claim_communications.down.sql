DROP TABLE claim_communications;
