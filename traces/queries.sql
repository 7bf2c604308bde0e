-- Documented queries over an xqprof trace, for the sqlite3 shell:
--     sqlite3 run.db < traces/queries.sql          (all of them, on the latest run)
--     sqlite3 -column -header run.db "<one query>"
-- Each query reads the latest run; replace (SELECT max(id) FROM run) by a run id to look at another.
-- Tables and views are described in traces/schema.sql; traces/README.md explains how to read them.
.headers on
.mode column

-- 1. Where the time goes: top ops of the latest run by self time (nested rebuild work counted apart),
--    with their achieved GFLOP/s and GB/s (weights + cache bytes over self time).
SELECT name AS op, n AS calls, round(self_ns / 1e6, 2) AS ms,
       round(100.0 * self_ns / (SELECT sum(self_ns) FROM op WHERE run = t.run), 1) AS pct,
       round(flops / 1e9, 3) AS gflop, round(gflops_per_s, 2) AS gflop_per_s, round(gbytes_per_s, 2) AS gb_per_s
FROM op_totals t WHERE run = (SELECT max(id) FROM run) ORDER BY self_ns DESC LIMIT 12;

-- 2. Memory vs compute per layer: bytes moved against FLOPs. A layer whose FLOP/byte is far below the device's
--    ridge point (device.peak_flops / device.read_bytes_per_s) is memory-bound.
SELECT CASE WHEN layer < 0 THEN 'other' ELSE layer END AS layer, round(self_ns / 1e6, 2) AS ms,
       round(flops / 1e6, 1) AS mflop, round(bytes_weights / 1e6, 2) AS mb_weights,
       round(bytes_cache_read / 1e6, 3) AS mb_cache_read, round(bytes_cache_write / 1e6, 3) AS mb_cache_write,
       round(flops_per_byte, 2) AS flop_per_byte,
       round((SELECT peak_flops / read_bytes_per_s FROM device d JOIN run r ON r.device_id = d.id
              WHERE r.id = l.run), 1) AS ridge
FROM layer_totals l WHERE run = (SELECT max(id) FROM run) ORDER BY layer;

-- 3. Rebuild share per step: how much of each step rematerializes or dequantizes the cache (0 for fp16).
SELECT idx AS step, phase, n_ctx, round(ns / 1e6, 3) AS step_ms, round(remat_ns / 1e6, 3) AS rebuild_ms,
       round(100.0 * remat_ns / max(ns, 1), 1) AS rebuild_pct, round(remat_flops / 1e6, 2) AS rebuild_mflop
FROM step_totals WHERE run = (SELECT max(id) FROM run) ORDER BY idx DESC LIMIT 16;

-- 4. Cache growth over the steps: persistent history, the policy's fp16 ring and working memory, process RSS.
SELECT idx AS step, n_ctx, cache_persistent AS persistent_bytes, cache_residual AS residual_bytes,
       cache_transient AS transient_bytes, round(rss / 1048576.0, 1) AS rss_mib
FROM step WHERE run = (SELECT max(id) FROM run)
  AND (idx % max(1, (SELECT count(*) FROM step s2 WHERE s2.run = step.run) / 16) = 0
       OR idx = (SELECT max(idx) FROM step s3 WHERE s3.run = step.run))
ORDER BY idx;

-- 5. Modes compared across the runs of this file: decode speed, bytes moved and FLOPs per decode token,
--    utilization against the CPU's measured roofline.
SELECT run, cache_mode, status, decode_tokens, round(decode_tokens_per_s, 1) AS decode_tok_per_s,
       round(flops / 1e9 / max(prefill_tokens + decode_tokens, 1), 3) AS gflop_per_token,
       round(bytes_moved / 1e6 / max(prefill_tokens + decode_tokens, 1), 2) AS mb_per_token,
       round(100 * flops_util_of_measured_peak, 1) AS pct_of_fma_peak,
       round(100 * bandwidth_util_of_measured_peak, 1) AS pct_of_read_bw, spans_dropped
FROM run_summary ORDER BY run;

-- 6. Span coverage: the share of each step's wall time inside its top-level ops (never above 100 %).
SELECT phase, count(*) AS steps, round(100 * min(coverage), 2) AS min_pct, round(100 * avg(coverage), 2) AS avg_pct,
       sum(ops_ns > ns) AS steps_over_100_pct
FROM step_totals WHERE run = (SELECT max(id) FROM run) GROUP BY phase;
