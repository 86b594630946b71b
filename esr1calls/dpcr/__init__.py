"""Digital PCR: exports, assays, partition statistics and calls (DESIGN.md section 8)."""
