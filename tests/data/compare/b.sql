-- Compare fixture (tests/cli/compare.sh): run 1 is the model of a.sql with an XQuant cache (xq-4): the same ops,
-- other times, plus remat and dequant nested in attend. Run 2 is another model (its sha256 differs); run 3 has
-- no sha256 and another model_config: both must be refused.
INSERT INTO run (id, started, ended, status, command, version, model_file, model_sha256, model_name, model_config,
                 cache_mode, cache_params, threads, n_ctx, device_id)
VALUES (1, '2025-01-02T00:00:00Z', '2025-01-02T00:00:01Z', 'done', 'xqprof generate -m tiny.gguf --cache xq-4',
        'fixture', 'tiny.gguf', '1111111111111111111111111111111111111111111111111111111111111111', 'tiny',
        '{"n_layer":2,"n_embd":64,"n_ff":128,"n_head":4,"n_head_kv":4,"head_dim":16,"n_vocab":256}', 'xq-4',
        '{"bits":4,"group":128,"window":0,"hi_layers":0,"tile_tokens":128}', 2, 64, 1),
       (2, '2025-01-03T00:00:00Z', NULL, 'done', 'xqprof generate -m other.gguf', 'fixture', 'other.gguf',
        '2222222222222222222222222222222222222222222222222222222222222222', 'other',
        '{"n_layer":2,"n_embd":64,"n_ff":128,"n_head":4,"n_head_kv":4,"head_dim":16,"n_vocab":256}', 'fp16', NULL,
        2, 64, 1),
       (3, '2025-01-04T00:00:00Z', NULL, 'done', 'xqprof generate -m wide.gguf', 'fixture', 'wide.gguf', NULL,
        'wide', '{"n_layer":2,"n_embd":96,"n_ff":128,"n_head":4,"n_head_kv":4,"head_dim":24,"n_vocab":256}',
        'fp16', NULL, 2, 64, 1);
INSERT INTO step (run, idx, phase, n_tokens, n_ctx, t_ns, ns, ops_ns, n_ops, flops, bytes_weights, bytes_cache_read,
                  bytes_cache_write, bytes_act, remat_ns, remat_flops, cache_persistent, cache_residual,
                  cache_transient)
VALUES (1, 0, 'prefill', 4, 4, 0, 50000000, 49000000, 12, 0, 0, 0, 0, 0, 0, 0, 1024000, 512000, 0),
       (1, 1, 'decode', 1, 5, 50000000, 16000000, 15000000, 12, 0, 0, 0, 0, 0, 0, 0, 1280000, 512000, 0),
       (1, 2, 'decode', 1, 6, 66000000, 18000000, 17000000, 12, 0, 0, 0, 0, 0, 0, 0, 1536000, 512000, 0),
       (1, 3, 'decode', 1, 7, 84000000, 20000000, 19000000, 12, 0, 0, 0, 0, 0, 0, 0, 1792000, 512000, 0),
       (2, 0, 'decode', 1, 1, 0, 1000000, 1000000, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
       (3, 0, 'decode', 1, 1, 0, 1000000, 1000000, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
WITH steps(idx) AS (VALUES (0), (1), (2), (3)), layers(l) AS (VALUES (0), (1)),
     kinds(op, depth, base, flops, w, cr, remat) AS (VALUES (2, 0, 200, 512, 0, 0, 0), (3, 0, 1000, 8192, 8192, 0, 0),
                                                   (8, 0, 900, 1024, 0, 0, 0), (17, 1, 2000, 16384, 4096, 0, 1),
                                                   (18, 1, 400, 640, 0, 320, 1))
INSERT INTO op (run, step, layer, op, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read,
                bytes_cache_write, bytes_act, remat)
SELECT 1, idx, l, op, depth, 0, ns, ns, flops, w, cr, 0, 256, remat
FROM (SELECT *, 1000 * (base + 150 * idx + 10 * l) AS ns FROM steps, layers, kinds);
WITH steps(idx) AS (VALUES (0), (1), (2), (3)), kinds(op, base, w) AS (VALUES (1, 50, 128), (15, 3000, 32768))
INSERT INTO op (run, step, layer, op, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read,
                bytes_cache_write, bytes_act, remat)
SELECT 1, idx, -1, op, 0, 0, ns, ns, 2 * w, w, 0, 0, 256, 0
FROM (SELECT *, 1000 * (base + 120 * idx) AS ns FROM steps, kinds);
INSERT INTO op (run, step, layer, op, depth, t_ns, ns, self_ns, flops, bytes_weights, bytes_cache_read,
                bytes_cache_write, bytes_act, remat)
VALUES (2, 0, -1, 1, 0, 0, 1000000, 1000000, 0, 128, 0, 0, 256, 0),
       (3, 0, -1, 1, 0, 0, 1000000, 1000000, 0, 128, 0, 0, 256, 0);
