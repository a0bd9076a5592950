// The hub key set, Data Integrity proofs and status lists (being written).
