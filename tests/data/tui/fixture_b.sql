-- The run Compare sets against fixture.sql (load traces/schema.sql first, then this file, into an empty database):
-- the same model (fixture-4L, same model_config, no sha256) under another cache mode, fp16, with other timings.
-- Deterministic: no clock, no model.
--   steps: 0 prefill (16 tokens, 16 ms), 1..16 decode (1 token, 9 ms each) → 9 ms/token, 111.1 tok/s
--          (fixture.sql: 11.25 ms/token → 1.25× speedup, −20.0%); cache 2048 bytes per token, fp16
--          (64 KB at ctx 32 against fixture.sql's 16 KB: 0.25×, +300.0%)
--   ops of each decode step, per layer L (0..3); the prefill step doubles every time:
--     matmul_q  (0.5 + 0.25·L) ms, as in fixture.sql
--     attend    0.5 ms, 0.1 MFLOP, 0.8 MB of cache read (fp16 reads 4× the bytes)
--     no remat: nothing to rebuild (fixture.sql spends 0.25 ms per layer on it)
--   and lm_head (layer −1): 2 ms, as in fixture.sql.
--   Layer time per decode step 1.0 + 0.25·L ms against fixture.sql's 1.25 + 0.25·L: layer 0 is 1.25× faster
--   (−20.0%), layer 3 1.14× (−12.5%); lm_head 1.00×.
INSERT INTO device (id, name, kind, cores, threads, peak_flops, peak_flops_1t, read_bytes_per_s, memory_bytes,
                    source, measured_at)
VALUES (1, 'Fixture CPU', 'cpu', 8, 8, 1.0e11, 1.25e10, 2.0e10, 17179869184, 'measured', '2025-01-01T00:00:00Z');

INSERT INTO run (id, started, ended, status, command, version, model_file, model_sha256, model_name, model_config,
                 cache_mode, cache_params, threads, n_ctx, device_id, counters, spans, spans_dropped, steps_dropped,
                 spans_unmatched)
VALUES (1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z', 'done', 'xqprof generate (tests/data/tui/fixture_b.sql)',
        'fixture', 'fixture.gguf', NULL, 'fixture-4L',
        '{"n_layer":4,"n_embd":128,"n_head":4,"n_head_kv":2,"head_dim":64,"n_ff":256,"n_vocab":1000}',
        'fp16', '{}', 8, 512, 1, 'not available: fixture', 0, 0, 0, 0);

INSERT INTO op_kind (id, name) VALUES (3, 'matmul_q'), (8, 'attend'), (15, 'lm_head');

WITH RECURSIVE
  s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 16),
  l(j) AS (SELECT -1 UNION ALL SELECT j + 1 FROM l WHERE j < 3),
  t(op, layer_min, ns_base, ns_per_layer, flops_base, flops_per_layer, w, cr) AS (VALUES
    (3, 0, 500000, 250000, 2000000, 2000000, 1000000, 0),
    (8, 0, 500000, 0, 100000, 0, 0, 800000),
    (15, -1, 2000000, 0, 4000000, 0, 4000000, 0))
INSERT INTO op (run, step, layer, op, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read,
                bytes_cache_write, bytes_act, remat)
SELECT 1, s.i, l.j, t.op, 0, s.i * 40000000 + (l.j + 1) * 4000000 + t.op * 10000,
       (t.ns_base + t.ns_per_layer * l.j) * (CASE s.i WHEN 0 THEN 2 ELSE 1 END),
       (t.ns_base + t.ns_per_layer * l.j) * (CASE s.i WHEN 0 THEN 2 ELSE 1 END),
       t.flops_base + t.flops_per_layer * l.j, t.w, t.cr, 0, 0, 0
FROM s, l, t
WHERE (t.layer_min = -1 AND l.j = -1) OR (t.layer_min = 0 AND l.j >= 0)
ORDER BY s.i, l.j, t.op;

WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 16)
INSERT INTO step (run, idx, phase, n_tokens, n_ctx, t_ns, ns, ops_ns, n_ops, flops, bytes_weights, bytes_cache_read,
                  bytes_cache_write, bytes_act, remat_ns, remat_flops, op_first, op_last, cache_persistent,
                  cache_residual, cache_transient, rss, cycles, instructions, llc_misses)
SELECT 1, s.i, CASE s.i WHEN 0 THEN 'prefill' ELSE 'decode' END, CASE s.i WHEN 0 THEN 16 ELSE 1 END,
       CASE s.i WHEN 0 THEN 16 ELSE 16 + s.i END, s.i * 40000000,
       CASE s.i WHEN 0 THEN 16000000 ELSE 9000000 END,
       (SELECT sum(ns) FROM op WHERE op.step = s.i), (SELECT count(*) FROM op WHERE op.step = s.i),
       (SELECT sum(flops) FROM op WHERE op.step = s.i), (SELECT sum(bytes_weights) FROM op WHERE op.step = s.i),
       (SELECT sum(bytes_cache_read) FROM op WHERE op.step = s.i), 0, 0, 0, 0,
       (SELECT min(rowid) FROM op WHERE op.step = s.i), (SELECT max(rowid) FROM op WHERE op.step = s.i),
       2048 * (CASE s.i WHEN 0 THEN 16 ELSE 16 + s.i END), 0, 0, NULL, NULL, NULL, NULL
FROM s;

UPDATE run SET spans = (SELECT count(*) FROM op);
