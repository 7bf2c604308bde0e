-- Fixture of tests/cli/compare.sh, applied after traces/schema.sql: the device and the op kinds that both
-- fixture traces share. Hand-written, deterministic values (no timing).
INSERT INTO device VALUES (1, 'Fixture CPU', 'cpu', 2, 2, 1.0e11, 5.0e10, 2.0e10, 8000000000, 'measured',
                           '2025-01-01T00:00:00Z');
INSERT INTO op_kind VALUES (1, 'embed'), (2, 'rmsnorm'), (3, 'matmul_q'), (8, 'attend'), (15, 'lm_head'),
                           (17, 'remat'), (18, 'dequant');
