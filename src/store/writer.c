/* The writer thread of writer.h. It polls the queue every IDLE_NS: the engine signals it only when it finds the
 * queue half full (a wake-up per step would cost the engine a syscall each; a tiny model fills the queue in 40 ms),
 * and a few ms of latency cost nothing. After a batch short of BATCH it sleeps rather than chase the few records
 * that arrived meanwhile: fewer wake-ups (each one takes a core from the engine) and fuller multi-row inserts.
 * When the engine runs a thread on every core, every microsecond this thread spends is taken from the engine, and
 * an op row costs ~400 ns (7–10 % of a 2-core decode). Then it packs each step's ops into one op_pending row
 * (~35 ns a span, oppack.h) and builds the op rows when the engine pauses (QUIET_POLLS polls found nothing) and
 * at the end; with a core to spare it writes op rows at once, until it finds the queue half full (a tiny model
 * makes 1.5M spans a second on one core, more than rows keep up with), then it packs too. Steps, the run and its
 * facts are written at once either way. */
#include "store/writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/pool.h"
#include "store/model_hash.h"

enum { BATCH = 4096, HASH_SLICE = 4 << 20, WRITER_NICE = 10 };
enum { QUIET_POLLS = 1, EXPAND_BLOCKS = 32 }; /* a pause of 50 ms; ~15k rows (~6 ms) between two looks */
/* A record waits ≤ IDLE_NS in the queue, then ≤ COMMIT_NS + IDLE_NS in a transaction: inside the 250 ms promised
 * by the design. Each wake-up costs ~25 µs of a core in a VM. */
static const int64_t COMMIT_NS = 100 * 1000 * 1000;
static const int64_t IDLE_NS = 50 * 1000 * 1000; /* the default queue holds ~15 times that at 160k spans/s */
static const int64_t CALIB_WAIT_NS = 2500LL * 1000 * 1000;

struct store_writer {
    store *st;
    int64_t run;
    prof *prof;
    pthread_t thread;
    _Atomic int stop;
    _Atomic bool busy; /* store_writer_set_busy */
    model_hash *hash;
    bool hash_recorded, device_recorded, failed;
    _Atomic bool packed; /* ops go to op_pending, rows are built later: the engine's threads fill every core, or */
    bool pack_soon;      /* the queue was found half full: from the next step on */
    int quiet_polls; /* consecutive polls that found no record */
    bool pending;    /* op_pending holds blocks of this run */
    int64_t txn_t0;
    xq_err err;
};

static void record_failure(store_writer *w, const xq_err *e)
{
    if (!w->failed) w->err = *e;
    w->failed = true;
}

/* A run of op records: as rows, or packed (step: the step whose marker ends them, −1 if none yet). */
static int write_ops(store_writer *w, const prof_op_rec *recs, size_t n, int64_t step, xq_err *e)
{
    if (!w->packed) return store_insert_ops(w->st, w->run, recs, n, e);
    w->pending = true;
    return store_insert_pending(w->st, w->run, recs, n, step, e);
}

/* From now on ops are packed and WAL checkpoints (an fsync: up to 50 ms here, while the queue fills) wait for a
 * pause, as when the engine fills every core from the start. */
static void start_packing(store_writer *w)
{
    w->packed = true;
    store_defer_checkpoints(w->st, true);
}

/* Inserts the records at recs (ops, and step markers whose step records come in order from the queue). */
static void insert_records(store_writer *w, const prof_op_rec *recs, size_t n)
{
    xq_err e = {0};
    for (size_t i = 0, end; i < n; i = end + 1) {
        for (end = i; end < n && recs[end].op != OP_STEP; end++) {
        }
        /* Packed, a marker that opens the batch still gets its (empty) block: it closes the step whose ops came
         * in the previous batch's partial block. */
        bool ops = end > i || (w->packed && end < n);
        if (ops && !w->failed && write_ops(w, recs + i, end - i, end < n ? recs[end].step : -1, &e))
            record_failure(w, &e);
        if (end == n) break;
        const prof_step_rec *step = prof_peek_step(w->prof); /* never NULL: a marker follows its step record */
        if (step && !w->failed && store_insert_step(w->st, w->run, step, &e)) record_failure(w, &e);
        prof_release(w->prof, 0, 1);
        /* Between two steps: a step's op rows are one rowid range, so its ops are all rows or all packed. */
        if (w->pack_soon && !w->packed) start_packing(w);
    }
}

/* Writes one batch of up to BATCH records, read in place in the profiler's queue (in two pieces where the ring
 * wraps: a short piece there is not a drained queue); returns how many records were drained. */
static size_t write_batch(store_writer *w)
{
    xq_err e = {0};
    size_t done = 0;
    const prof_op_rec *recs = NULL;
    for (size_t n; done < BATCH && (n = prof_peek(w->prof, &recs)) > 0; done += n) {
        if (n > BATCH - done) n = BATCH - done;
        if (!w->failed && !store_in_transaction(w->st)) {
            if (store_begin(w->st, &e)) record_failure(w, &e);
            w->txn_t0 = xq_now_ns();
        }
        insert_records(w, recs, n);
        prof_release(w->prof, n, 0);
    }
    if (store_in_transaction(w->st) && xq_now_ns() - w->txn_t0 >= COMMIT_NS && store_commit(w->st, &e))
        record_failure(w, &e);
    return done;
}

static void late_facts(store_writer *w, bool wait)
{
    xq_err e = {0};
    prof_roofline r;
    /* During the run only an uncontended result is taken; at the end the engine is idle and a contended one
     * has been measured again. */
    if (!w->device_recorded && !w->failed &&
        (wait ? prof_finish_roofline(w->prof, CALIB_WAIT_NS, &r) : prof_get_roofline(w->prof, &r) && !r.contended)) {
        w->device_recorded = true;
        if (store_run_set_device(w->st, w->run, &r, &e)) record_failure(w, &e);
    }
    if (w->hash && !w->hash_recorded && model_hash_step(w->hash, wait ? SIZE_MAX : HASH_SLICE)) {
        w->hash_recorded = true;
        const char *hex = model_hash_hex(w->hash);
        if (hex && !w->failed && store_run_set_sha256(w->st, w->run, hex, &e)) record_failure(w, &e);
    }
}

/* While the engine pauses: some of the packed ops become rows (a few ms of work, then a look at the queue), and
 * once none is left the WAL is folded back (deferred while the engine ran). */
static void use_pause(store_writer *w)
{
    xq_err e = {0};
    if (w->pending && store_expand_all(w->st, w->run, EXPAND_BLOCKS, &w->pending, &e)) record_failure(w, &e);
    if (!w->pending && !w->failed && store_checkpoint_due(w->st)) store_checkpoint(w->st);
}

static void *writer_main(void *arg)
{
    store_writer *w = arg;
    pthread_setname_np(pthread_self(), WRITER_THREAD_NAME); /* for top -H, perf and the overhead test */
    /* Below the engine's threads: on a machine whose cores the engine fills, the engine wins and the queue
     * absorbs the delay (Linux applies nice per thread). */
    setpriority(PRIO_PROCESS, (id_t)gettid(), WRITER_NICE);
    for (;;) {
        size_t n = write_batch(w);
        if (n == BATCH) {
            if (!w->packed && prof_queue_wait(w->prof, 0)) w->pack_soon = true; /* behind even without a sleep */
            continue;
        }
        bool stopping = atomic_load_explicit(&w->stop, memory_order_acquire);
        if (stopping && prof_queue_empty(w->prof)) break;
        late_facts(w, false);
        w->quiet_polls = n ? 0 : w->quiet_polls + 1;
        if (w->packed && !w->failed && w->quiet_polls >= QUIET_POLLS && !stopping &&
            !atomic_load_explicit(&w->busy, memory_order_relaxed)) {
            bool building = w->pending;
            use_pause(w);
            if (building) continue; /* then a look at the queue */
        }
        if (!stopping) {
            if (prof_queue_wait(w->prof, IDLE_NS) && !w->packed) w->pack_soon = true;
        }
    }
    return NULL;
}

int store_writer_start(store *st, int64_t run, prof *p, const char *model_file, store_writer **out, xq_err *err)
{
    *out = NULL;
    store_writer *w = calloc(1, sizeof *w);
    if (!w) return xq_fail(err, XQ_ERUN, "%s: out of memory for the trace writer", store_path(st));
    w->st = st;
    w->run = run;
    w->prof = p;
    w->hash = model_file ? model_hash_start(model_file) : NULL;
    w->packed = prof_engine_threads(p) >= xq_cpu_count();
    store_defer_checkpoints(st, w->packed); /* a checkpoint (~10 ms of writing and an fsync) waits for a pause */
    if (pthread_create(&w->thread, NULL, writer_main, w)) {
        model_hash_free(w->hash);
        free(w);
        return xq_fail(err, XQ_ERUN, "%s: cannot start the trace writer thread", store_path(st));
    }
    *out = w;
    return XQ_OK;
}

bool store_writer_packing(const store_writer *w)
{
    return w->packed;
}

void store_writer_set_busy(store_writer *w, bool busy)
{
    atomic_store_explicit(&w->busy, busy, memory_order_relaxed);
}

int store_writer_finish(store_writer *w, const char *status, xq_err *err)
{
    atomic_store_explicit(&w->stop, 1, memory_order_release);
    pthread_join(w->thread, NULL);
    store_defer_checkpoints(w->st, false);
    late_facts(w, true);
    xq_err e = {0};
    if (w->pending && !w->failed && store_expand_all(w->st, w->run, SIZE_MAX, NULL, &e)) record_failure(w, &e);
    prof_stats stats;
    prof_get_stats(w->prof, &stats);
    if (!w->failed && store_run_end(w->st, w->run, status, &stats, prof_counters_status(w->prof), &e))
        record_failure(w, &e);
    if (store_in_transaction(w->st) && store_commit(w->st, &e)) record_failure(w, &e);
    int rc = w->failed ? xq_fail(err, w->err.code, "%s", w->err.msg) : XQ_OK;
    model_hash_free(w->hash);
    free(w);
    return rc;
}
