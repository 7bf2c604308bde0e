-- xqprof trace schema: the single source. Embedded in the binary at build time (src/store/schema.c) and
-- applied to every new trace file; `sqlite3 new.db < traces/schema.sql` makes an empty trace by hand.
-- Units are in the column names' comments: ns = nanoseconds, bytes, FLOPs (floating-point operations).
-- Times of ops and steps are ns since the run's profiler started (monotonic clock).
-- A file written by an older xqprof is upgraded in place by forward migrations (src/store/schema.c);
-- a file with a newer user_version is refused.
PRAGMA application_id = 1481723974; -- 0x58515046, "XQPF"
PRAGMA user_version = 3;

CREATE TABLE IF NOT EXISTS device (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,              -- CPU model name or GPU name
    kind TEXT NOT NULL,              -- 'cpu' or 'gpu'
    cores INTEGER,                   -- online CPUs (or SMs)
    threads INTEGER,                 -- threads the peak below was measured with
    peak_flops REAL,                 -- FLOP/s: measured FMA loop (cpu) or catalogue (gpu)
    peak_flops_1t REAL,              -- FLOP/s on one thread (cpu)
    read_bytes_per_s REAL,           -- streaming read bandwidth
    memory_bytes INTEGER,
    source TEXT NOT NULL,            -- 'measured' or 'measured, cached' (cpu); 'catalogue' (gpu)
    measured_at TEXT                 -- UTC, ISO 8601
);

CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,           -- UTC, ISO 8601
    ended TEXT,
    status TEXT NOT NULL DEFAULT 'running', -- running | done | interrupted | failed
    command TEXT NOT NULL,           -- the command line, shell-quoted
    version TEXT NOT NULL,           -- xqprof version and commit
    model_file TEXT,
    model_sha256 TEXT,               -- NULL until hashed (cached per file in ~/.cache/xqprof)
    model_name TEXT,
    model_config TEXT,               -- JSON: layers, widths, heads, vocabulary, weight bytes
    cache_mode TEXT,
    cache_params TEXT,               -- JSON
    threads INTEGER,
    n_ctx INTEGER,
    device_id INTEGER REFERENCES device(id),
    counters TEXT,                   -- 'available', or which counters are not available and why
    spans INTEGER,                   -- spans recorded
    spans_dropped INTEGER,           -- spans lost because the queue to the writer was full
    steps_dropped INTEGER,
    spans_unmatched INTEGER,         -- malformed or foreign-thread spans, ignored
    pid INTEGER,                     -- (version 2) the writing process and its machine: a 'running' run whose
    host TEXT                        -- process on this host is gone was killed (op_pending says what follows)
);

CREATE TABLE IF NOT EXISTS step (
    run INTEGER NOT NULL REFERENCES run(id),
    idx INTEGER NOT NULL,            -- 0, 1, … within the run
    phase TEXT NOT NULL,             -- 'prefill' (a batch, or a sequence's first token) or 'decode'
    n_tokens INTEGER NOT NULL,       -- tokens of this forward call
    n_ctx INTEGER NOT NULL,          -- tokens in the cache after the call
    t_ns INTEGER NOT NULL,           -- start
    ns INTEGER NOT NULL,             -- wall time of the forward call
    ops_ns INTEGER NOT NULL,         -- time covered by its top-level ops (≤ ns)
    n_ops INTEGER NOT NULL,
    flops INTEGER NOT NULL,          -- totals of the step's ops (all depths: nested ops never double count)
    bytes_weights INTEGER NOT NULL,
    bytes_cache_read INTEGER NOT NULL,
    bytes_cache_write INTEGER NOT NULL,
    bytes_act INTEGER NOT NULL,
    remat_ns INTEGER NOT NULL,       -- self time of rebuild work (remat, dequant)
    remat_flops INTEGER NOT NULL,
    op_first INTEGER,                -- rowids of op inserted with this step: its ops lie in op_first .. op_last
    op_last INTEGER,                 -- (filter on op.step too: ops of a step lost from the queue fall in the next)
    cache_persistent INTEGER,        -- bytes of stored history (all layers, whole groups); NULL if unknown
    cache_residual INTEGER,          -- fp16 ring of the policy (window, unfilled groups), allocated
    cache_transient INTEGER,         -- working memory of the cache policy (rebuilt tiles, accumulators)
    rss INTEGER,                     -- process resident bytes when the step was written
    cycles INTEGER,                  -- hardware counters; NULL = not available (see run.counters)
    instructions INTEGER,
    llc_misses INTEGER,
    PRIMARY KEY (run, idx)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS op_kind (
    id INTEGER PRIMARY KEY,          -- span_op of src/base/span.h
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS op (
    run INTEGER NOT NULL,
    step INTEGER NOT NULL,           -- step.idx
    layer INTEGER NOT NULL,          -- -1 for non-layer ops (embed, final norm, lm_head)
    op INTEGER NOT NULL,             -- op_kind.id
    depth INTEGER NOT NULL,          -- 0 directly under the step, 1 nested in another op (remat in attend) …
    t_ns INTEGER NOT NULL,           -- start
    ns INTEGER NOT NULL,             -- wall time including nested ops
    self_ns INTEGER NOT NULL,        -- ns less nested ops: self times partition the covered step time
    flops INTEGER NOT NULL,
    bytes_weights INTEGER NOT NULL,  -- weights read at their stored type
    bytes_cache_read INTEGER NOT NULL,
    bytes_cache_write INTEGER NOT NULL,
    bytes_act INTEGER NOT NULL,      -- activations read and written (f32)
    remat INTEGER NOT NULL           -- 1: rebuild work (rematerialization, dequantization)
);
-- No index on op: one would halve the writer's throughput. A step's ops are found through their rowids
-- (step.op_first .. step.op_last); queries over a whole run scan op once.

-- Op spans not yet turned into op rows (version 2). When the engine runs a thread on every core, the writer
-- stores each step's ops packed in one BLOB (src/store/oppack.h: a row costs a core ~400 ns, a packed record
-- ~35 ns) and builds the op rows when a core is free: at once when the engine leaves one, else when the engine
-- pauses and when the run ends. After a crash, the next xqprof that opens the file builds them. A finished
-- trace has no row here; while one is here, its run's op rows (and step.op_first/op_last) are incomplete.
CREATE TABLE IF NOT EXISTS op_pending (
    run INTEGER NOT NULL,
    step INTEGER,                    -- step.idx whose row follows these ops, NULL if the batch ended mid-step
    n INTEGER NOT NULL,              -- records in data
    data BLOB NOT NULL,
    codec INTEGER NOT NULL DEFAULT 1 -- (version 3) how data is coded: 1 records alone, 2 chained to the run's
                                     -- previous block (src/store/oppack.h)
);

CREATE TABLE IF NOT EXISTS metric (
    run INTEGER NOT NULL REFERENCES run(id),
    name TEXT NOT NULL,              -- ppl, ppl_err, dppl, dppl_err, kl, top1, bytes_per_token, tokens_per_s …
    value REAL,
    PRIMARY KEY (run, name)
);

-- Ops with their names.
CREATE VIEW IF NOT EXISTS op_named AS
SELECT o.*, k.name AS name FROM op o JOIN op_kind k ON k.id = o.op;

-- Per run and op name: count, time (self), FLOPs, bytes, achieved rates.
CREATE VIEW IF NOT EXISTS op_totals AS
SELECT run, name, count(*) AS n, sum(self_ns) AS self_ns, sum(flops) AS flops,
       sum(bytes_weights) AS bytes_weights, sum(bytes_cache_read) AS bytes_cache_read,
       sum(bytes_cache_write) AS bytes_cache_write, sum(bytes_act) AS bytes_act,
       sum(flops) * 1.0 / max(sum(self_ns), 1) AS gflops_per_s,
       (sum(bytes_weights) + sum(bytes_cache_read) + sum(bytes_cache_write)) * 1.0 / max(sum(self_ns), 1)
           AS gbytes_per_s
FROM op_named GROUP BY run, op;

-- Per run and layer: time, FLOPs, bytes moved and arithmetic intensity (FLOPs per byte of weights + cache).
CREATE VIEW IF NOT EXISTS layer_totals AS
SELECT run, layer, sum(self_ns) AS self_ns, sum(flops) AS flops, sum(bytes_weights) AS bytes_weights,
       sum(bytes_cache_read) AS bytes_cache_read, sum(bytes_cache_write) AS bytes_cache_write,
       sum(bytes_act) AS bytes_act, sum(CASE WHEN remat THEN self_ns ELSE 0 END) AS remat_ns,
       sum(CASE WHEN remat THEN flops ELSE 0 END) AS remat_flops,
       sum(flops) * 1.0 / max(sum(bytes_weights) + sum(bytes_cache_read) + sum(bytes_cache_write), 1)
           AS flops_per_byte
FROM op GROUP BY run, layer;

-- Per step: coverage = share of the step's wall time inside its top-level ops; achieved rates.
CREATE VIEW IF NOT EXISTS step_totals AS
SELECT run, idx, phase, n_tokens, n_ctx, ns, ops_ns, ops_ns * 1.0 / max(ns, 1) AS coverage, cache_persistent,
       cache_residual, cache_transient, rss, flops, bytes_weights, bytes_cache_read, bytes_cache_write, bytes_act,
       remat_ns, remat_flops, flops * 1.0 / max(ns, 1) AS gflops_per_s,
       (bytes_weights + bytes_cache_read + bytes_cache_write) * 1.0 / max(ns, 1) AS gbytes_per_s
FROM step;

-- Per run: tokens, speed, and utilization measured against the CPU's own calibrated roofline (device table),
-- labelled as such: achieved ÷ measured peak, not ÷ a datasheet figure.
CREATE VIEW IF NOT EXISTS run_summary AS
SELECT r.id AS run, r.status, r.model_name, r.cache_mode, r.threads,
       sum(CASE WHEN s.phase = 'prefill' THEN s.n_tokens ELSE 0 END) AS prefill_tokens,
       sum(CASE WHEN s.phase = 'decode' THEN s.n_tokens ELSE 0 END) AS decode_tokens,
       sum(CASE WHEN s.phase = 'decode' THEN s.n_tokens ELSE 0 END) * 1e9 /
           max(sum(CASE WHEN s.phase = 'decode' THEN s.ns ELSE 0 END), 1) AS decode_tokens_per_s,
       sum(s.ns) AS ns, sum(s.flops) AS flops,
       sum(s.bytes_weights + s.bytes_cache_read + s.bytes_cache_write) AS bytes_moved,
       sum(s.flops) * 1e9 / max(sum(s.ns), 1) / d.peak_flops AS flops_util_of_measured_peak,
       sum(s.bytes_weights + s.bytes_cache_read + s.bytes_cache_write) * 1e9 / max(sum(s.ns), 1)
           / d.read_bytes_per_s AS bandwidth_util_of_measured_peak,
       r.spans, r.spans_dropped
FROM run r LEFT JOIN step_totals s ON s.run = r.id LEFT JOIN device d ON d.id = r.device_id
GROUP BY r.id;
