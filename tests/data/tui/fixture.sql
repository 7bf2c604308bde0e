-- A recorded run with round, hand-picked numbers for the TUI tests (tests/tui/): load traces/schema.sql first,
-- then this file, into an empty database. Deterministic: no clock, no model.
--   model fixture-4L: 4 layers, 2 K/V heads of 64 → fp16 K/V holds 2·2·4·2·64 = 2048 bytes per token
--   device: 100 GFLOP/s and 20 GB/s measured → ridge 5 FLOP/B
--   steps: 0 prefill (16 tokens, 20 ms), 1..16 decode (1 token, 10 ms; step 9 takes 30 ms) → 16 tokens in
--          180 ms = 88.9 tok/s decode; cache 512 bytes per token (4× less than fp16), and a 2048-byte fp16
--          ring beside it (shown, not counted in the cache held; compare counts it)
--   ops of each step, per layer L (0..3), decode; the prefill step doubles every time:
--     matmul_q  (0.5 + 0.25·L) ms, 2·(L+1) MFLOP, 1 MB of weights     → layer 3 is the slowest
--     attend    0.5 ms, 0.1 MFLOP, 0.2 MB of cache read
--     remat     0.25 ms, 1 MFLOP, 0.05 MB of activations (rebuild work)
--   and lm_head (layer −1): 2 ms, 4 MFLOP, 4 MB of weights.
--   Layer FLOP/B: 2.48, 4.08 (memory-bound), 5.68, 7.28 (compute-bound).
INSERT INTO device (id, name, kind, cores, threads, peak_flops, peak_flops_1t, read_bytes_per_s, memory_bytes,
                    source, measured_at)
VALUES (1, 'Fixture CPU', 'cpu', 8, 8, 1.0e11, 1.25e10, 2.0e10, 17179869184, 'measured', '2025-01-01T00:00:00Z');

INSERT INTO run (id, started, ended, status, command, version, model_file, model_sha256, model_name, model_config,
                 cache_mode, cache_params, threads, n_ctx, device_id, counters, spans, spans_dropped, steps_dropped,
                 spans_unmatched)
VALUES (1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z', 'done', 'xqprof generate (tests/data/tui/fixture.sql)',
        'fixture', 'fixture.gguf', NULL, 'fixture-4L',
        '{"n_layer":4,"n_embd":128,"n_head":4,"n_head_kv":2,"head_dim":64,"n_ff":256,"n_vocab":1000}',
        'xq-fixture', '{}', 8, 512, 1, 'not available: fixture', 0, 0, 0, 0);

INSERT INTO op_kind (id, name) VALUES (3, 'matmul_q'), (8, 'attend'), (15, 'lm_head'), (17, 'remat');

-- One row per (step, layer, op): the table t lists each op's decode figures.
WITH RECURSIVE
  s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 16),
  l(j) AS (SELECT -1 UNION ALL SELECT j + 1 FROM l WHERE j < 3),
  t(op, layer_min, ns_base, ns_per_layer, flops_base, flops_per_layer, w, cr, act, remat) AS (VALUES
    (3, 0, 500000, 250000, 2000000, 2000000, 1000000, 0, 0, 0),
    (8, 0, 500000, 0, 100000, 0, 0, 200000, 0, 0),
    (17, 0, 250000, 0, 1000000, 0, 0, 0, 50000, 1),
    (15, -1, 2000000, 0, 4000000, 0, 4000000, 0, 0, 0))
INSERT INTO op (run, step, layer, op, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read,
                bytes_cache_write, bytes_act, remat)
SELECT 1, s.i, l.j, t.op, 0, s.i * 40000000 + (l.j + 1) * 4000000 + t.op * 10000,
       (t.ns_base + t.ns_per_layer * l.j) * (CASE s.i WHEN 0 THEN 2 ELSE 1 END),
       (t.ns_base + t.ns_per_layer * l.j) * (CASE s.i WHEN 0 THEN 2 ELSE 1 END),
       t.flops_base + t.flops_per_layer * l.j, t.w, t.cr, 0, t.act, t.remat
FROM s, l, t
WHERE (t.layer_min = -1 AND l.j = -1) OR (t.layer_min = 0 AND l.j >= 0)
ORDER BY s.i, l.j, t.op;

WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 16)
INSERT INTO step (run, idx, phase, n_tokens, n_ctx, t_ns, ns, ops_ns, n_ops, flops, bytes_weights, bytes_cache_read,
                  bytes_cache_write, bytes_act, remat_ns, remat_flops, op_first, op_last, cache_persistent,
                  cache_residual, cache_transient, rss, cycles, instructions, llc_misses)
SELECT 1, s.i, CASE s.i WHEN 0 THEN 'prefill' ELSE 'decode' END, CASE s.i WHEN 0 THEN 16 ELSE 1 END,
       CASE s.i WHEN 0 THEN 16 ELSE 16 + s.i END, s.i * 40000000,
       CASE s.i WHEN 0 THEN 20000000 WHEN 9 THEN 30000000 ELSE 10000000 END,
       (SELECT sum(ns) FROM op WHERE op.step = s.i), (SELECT count(*) FROM op WHERE op.step = s.i),
       (SELECT sum(flops) FROM op WHERE op.step = s.i), (SELECT sum(bytes_weights) FROM op WHERE op.step = s.i),
       (SELECT sum(bytes_cache_read) FROM op WHERE op.step = s.i), 0,
       (SELECT sum(bytes_act) FROM op WHERE op.step = s.i),
       (SELECT sum(self_ns) FROM op WHERE op.step = s.i AND remat = 1),
       (SELECT sum(flops) FROM op WHERE op.step = s.i AND remat = 1),
       (SELECT min(rowid) FROM op WHERE op.step = s.i), (SELECT max(rowid) FROM op WHERE op.step = s.i),
       512 * (CASE s.i WHEN 0 THEN 16 ELSE 16 + s.i END), 2048, 0, NULL, NULL, NULL, NULL
FROM s;

UPDATE run SET spans = (SELECT count(*) FROM op);
