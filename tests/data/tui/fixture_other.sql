-- A run of another model (fixture-2L: 2 layers) for Compare's refusal against fixture.sql (load traces/schema.sql
-- first, then this file, into an empty database). Deterministic: no clock, no model.
--   steps: 0 prefill (8 tokens, 8 ms), 1..4 decode (1 token, 4 ms); per layer L (0..1) one matmul_q of 1 ms.
INSERT INTO device (id, name, kind, cores, threads, peak_flops, peak_flops_1t, read_bytes_per_s, memory_bytes,
                    source, measured_at)
VALUES (1, 'Fixture CPU', 'cpu', 8, 8, 1.0e11, 1.25e10, 2.0e10, 17179869184, 'measured', '2025-01-01T00:00:00Z');

INSERT INTO run (id, started, ended, status, command, version, model_file, model_sha256, model_name, model_config,
                 cache_mode, cache_params, threads, n_ctx, device_id, counters, spans, spans_dropped, steps_dropped,
                 spans_unmatched)
VALUES (1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z', 'done', 'xqprof generate (tests/data/tui/fixture_other.sql)',
        'fixture', 'other.gguf', NULL, 'fixture-2L',
        '{"n_layer":2,"n_embd":64,"n_head":2,"n_head_kv":1,"head_dim":32,"n_ff":128,"n_vocab":500}',
        'fp16', '{}', 8, 256, 1, 'not available: fixture', 0, 0, 0, 0);

INSERT INTO op_kind (id, name) VALUES (3, 'matmul_q');

WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 4),
               l(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM l WHERE j < 1)
INSERT INTO op (run, step, layer, op, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read,
                bytes_cache_write, bytes_act, remat)
SELECT 1, s.i, l.j, 3, 0, s.i * 10000000 + l.j * 1000000, 1000000, 1000000, 1000000, 500000, 0, 0, 0, 0
FROM s, l ORDER BY s.i, l.j;

WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 4)
INSERT INTO step (run, idx, phase, n_tokens, n_ctx, t_ns, ns, ops_ns, n_ops, flops, bytes_weights, bytes_cache_read,
                  bytes_cache_write, bytes_act, remat_ns, remat_flops, op_first, op_last, cache_persistent,
                  cache_residual, cache_transient, rss, cycles, instructions, llc_misses)
SELECT 1, s.i, CASE s.i WHEN 0 THEN 'prefill' ELSE 'decode' END, CASE s.i WHEN 0 THEN 8 ELSE 1 END,
       CASE s.i WHEN 0 THEN 8 ELSE 8 + s.i END, s.i * 10000000, CASE s.i WHEN 0 THEN 8000000 ELSE 4000000 END,
       2000000, 2, 2000000, 1000000, 0, 0, 0, 0, 0,
       (SELECT min(rowid) FROM op WHERE op.step = s.i), (SELECT max(rowid) FROM op WHERE op.step = s.i),
       256 * (CASE s.i WHEN 0 THEN 8 ELSE 8 + s.i END), 0, 0, NULL, NULL, NULL, NULL
FROM s;

UPDATE run SET spans = (SELECT count(*) FROM op);
