-- Baseline fixture (tests/cli/compare.sh): run 1, a 2-layer model "tiny" with fp16 cache; one prefill step of 4
-- tokens, then decode steps 1..3 at contexts 5..7. Per layer: rmsnorm, matmul_q, attend; outside layers: embed,
-- lm_head. Self times (ns) vary with the step and the layer so that averages are exact.
INSERT INTO run (id, started, ended, status, command, version, model_file, model_sha256, model_name, model_config,
                 cache_mode, cache_params, threads, n_ctx, device_id)
VALUES (1, '2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z', 'done', 'xqprof generate -m tiny.gguf', 'fixture',
        'tiny.gguf', '1111111111111111111111111111111111111111111111111111111111111111', 'tiny',
        '{"n_layer":2,"n_embd":64,"n_ff":128,"n_head":4,"n_head_kv":4,"head_dim":16,"n_vocab":256}', 'fp16',
        '{"bits":16,"group":128,"window":0,"hi_layers":0,"tile_tokens":128}', 2, 64, 1);
INSERT INTO step (run, idx, phase, n_tokens, n_ctx, t_ns, ns, ops_ns, n_ops, flops, bytes_weights, bytes_cache_read,
                  bytes_cache_write, bytes_act, remat_ns, remat_flops, cache_persistent, cache_residual,
                  cache_transient)
VALUES (1, 0, 'prefill', 4, 4, 0, 40000000, 39000000, 8, 0, 0, 0, 0, 0, 0, 0, 2048000, 0, 0),
       (1, 1, 'decode', 1, 5, 40000000, 10000000, 9000000, 8, 0, 0, 0, 0, 0, 0, 0, 2560000, 0, 0),
       (1, 2, 'decode', 1, 6, 50000000, 12000000, 11000000, 8, 0, 0, 0, 0, 0, 0, 0, 3072000, 0, 0),
       (1, 3, 'decode', 1, 7, 62000000, 14000000, 13000000, 8, 0, 0, 0, 0, 0, 0, 0, 3584000, 0, 0);
WITH steps(idx) AS (VALUES (0), (1), (2), (3)), layers(l) AS (VALUES (0), (1)),
     kinds(op, base, flops, w, cr) AS (VALUES (2, 200, 512, 0, 0), (3, 1000, 8192, 8192, 0),
                                          (8, 600, 1024, 0, 2048))
INSERT INTO op (run, step, layer, op, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read,
                bytes_cache_write, bytes_act, remat)
SELECT 1, idx, l, op, 0, 0, ns, ns, flops, w, cr, 0, 256, 0
FROM (SELECT *, 1000 * (base + 100 * idx + 10 * l) AS ns FROM steps, layers, kinds);
WITH steps(idx) AS (VALUES (0), (1), (2), (3)), kinds(op, base, w) AS (VALUES (1, 50, 128), (15, 3000, 32768))
INSERT INTO op (run, step, layer, op, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read,
                bytes_cache_write, bytes_act, remat)
SELECT 1, idx, -1, op, 0, 0, ns, ns, 2 * w, w, 0, 0, 256, 0
FROM (SELECT *, 1000 * (base + 100 * idx) AS ns FROM steps, kinds);
