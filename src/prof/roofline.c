/* CPU roofline calibration of roofline.h. Each loop runs on `threads` threads released together; each thread's
 * rate is its work over its own CPU time (CLOCK_THREAD_CPUTIME_ID), and the machine's rate is their sum. CPU
 * time rather than wall time because a background calibration shares the machine with the engine: preemption
 * then lengthens wall time but not CPU time. Run in the background, the threads have SCHED_IDLE priority, so
 * the engine always preempts them. A measurement whose wall time exceeds its CPU time by > 25 % was contended
 * (bandwidth especially suffers from the engine's own traffic): it is reported as such and not cached.
 * The FMA loop keeps ACCS independent accumulators, enough to cover FMA latency × ports on current x86. */
#include "prof/roofline.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"

#if defined(__AVX512F__)
#define VEC_BYTES 64
#elif defined(__AVX__)
#define VEC_BYTES 32
#else
#define VEC_BYTES 16
#endif
typedef float vecf __attribute__((vector_size(VEC_BYTES)));
enum { LANES = VEC_BYTES / 4, ACCS = 12, FMA_CHUNK = 1 << 14, MAX_THREADS = 256, BW_PASSES = 3 };
static const int64_t FMA_CPU_NS = 100 * 1000 * 1000;  /* per thread count */
static const int64_t FMA_WALL_NS = 400 * 1000 * 1000; /* gives up on a saturated machine */
static const int64_t BUDGET_NS = 1800LL * 1000 * 1000;
static const double CONTENDED = 1.25;

typedef struct thread_slot {
    double work; /* FLOPs or bytes */
    int64_t cpu_ns;
} thread_slot;

typedef struct bench_ctx {
    _Atomic int go; /* threads spin until released together */
    int threads;
    const vecf *buf; /* bandwidth: the buffer, split in equal slices */
    size_t buf_vecs;
    thread_slot slot[MAX_THREADS];
    _Atomic uint64_t sink; /* defeats dead-code elimination */
} bench_ctx;

typedef struct thread_arg {
    bench_ctx *b;
    int index;
} thread_arg;

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void wait_go(bench_ctx *b)
{
    while (!atomic_load_explicit(&b->go, memory_order_acquire))
        sched_yield();
}

/* ACCS named accumulators (an array would be kept in memory at -O2 and measure loads, not FMAs). */
#define FMA_ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define FMA_DECL(i) vecf a##i = add * (float)(i + 1);
#define FMA_STEP(i) a##i = a##i * mul + add;
#define FMA_SUM(i) s += a##i[0];

static void *fma_thread(void *arg)
{
    const thread_arg *ta = arg;
    bench_ctx *b = ta->b;
    vecf mul, add;
    for (int l = 0; l < LANES; l++) {
        mul[l] = 0.999999f;
        add[l] = 1e-6f;
    }
    FMA_ALL(FMA_DECL)
    wait_go(b);
    int64_t wall0 = xq_now_ns(), cpu0 = thread_cpu_ns(), cpu = 0, iters = 0;
    while (cpu < FMA_CPU_NS && xq_now_ns() - wall0 < FMA_WALL_NS) {
        for (int r = 0; r < FMA_CHUNK; r++) {
            FMA_ALL(FMA_STEP) /* each contracted to one FMA */
        }
        iters += FMA_CHUNK;
        cpu = thread_cpu_ns() - cpu0;
    }
    float s = 0;
    FMA_ALL(FMA_SUM)
    b->slot[ta->index] = (thread_slot){2.0 * LANES * ACCS * (double)iters, cpu};
    atomic_fetch_add(&b->sink, (uint64_t)(s != 0));
    return NULL;
}

static void *read_thread(void *arg)
{
    const thread_arg *ta = arg;
    bench_ctx *b = ta->b;
    size_t per = b->buf_vecs / (size_t)b->threads, lo = per * (size_t)ta->index;
    vecf s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    wait_go(b);
    int64_t cpu0 = thread_cpu_ns();
    for (size_t i = lo; i + 4 <= lo + per; i += 4) {
        s0 += b->buf[i];
        s1 += b->buf[i + 1];
        s2 += b->buf[i + 2];
        s3 += b->buf[i + 3];
    }
    vecf s = s0 + s1 + s2 + s3;
    b->slot[ta->index] = (thread_slot){(double)(per / 4 * 4 * sizeof(vecf)), thread_cpu_ns() - cpu0};
    atomic_fetch_add(&b->sink, (uint64_t)(s[0] != 0));
    return NULL;
}

/* Runs fn on n threads released together. Returns Σ work/cpu (per second), 0 if a thread could not start;
 * *contended is set when the wall time exceeded the threads' CPU time by more than CONTENDED. */
static double run_threads(bench_ctx *b, int n, void *(*fn)(void *), bool *contended)
{
    pthread_t tid[MAX_THREADS];
    thread_arg args[MAX_THREADS];
    b->threads = n;
    atomic_store(&b->go, 0);
    int started = 0;
    for (; started < n; started++) {
        args[started] = (thread_arg){b, started};
        b->slot[started] = (thread_slot){0};
        if (pthread_create(&tid[started], NULL, fn, &args[started])) break; /* inherits the caller's policy */
    }
    int64_t wall0 = xq_now_ns();
    atomic_store_explicit(&b->go, 1, memory_order_release);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    int64_t wall = xq_now_ns() - wall0, cpu_max = 0;
    double rate = 0;
    for (int i = 0; i < started; i++) {
        if (b->slot[i].cpu_ns > cpu_max) cpu_max = b->slot[i].cpu_ns;
        rate += b->slot[i].cpu_ns > 0 ? b->slot[i].work / ((double)b->slot[i].cpu_ns / 1e9) : 0;
    }
    if ((double)wall > CONTENDED * (double)cpu_max) *contended = true;
    return started == n ? rate : 0;
}

/* The streaming buffer: twice the reported LLC, within [128, 512] MiB and at most 1/8 of memory. */
static size_t stream_bytes(int64_t memory_bytes)
{
    long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
    size_t want = llc > 0 ? 2 * (size_t)llc : 0, lo = (size_t)128 << 20, hi = (size_t)512 << 20;
    want = want < lo ? lo : want > hi ? hi : want;
    if (memory_bytes > 0 && want > (size_t)memory_bytes / 8) want = (size_t)memory_bytes / 8;
    return want & ~(size_t)((1 << 20) - 1);
}

static double read_bandwidth(bench_ctx *b, int threads, int64_t memory_bytes, int64_t deadline, bool *contended)
{
    size_t bytes = stream_bytes(memory_bytes);
    void *buf = NULL;
    if (bytes == 0 || posix_memalign(&buf, 1 << 21, bytes)) return 0;
    madvise(buf, bytes, MADV_HUGEPAGE); /* fewer page faults when the buffer is first touched */
    memset(buf, 1, bytes);
    b->buf = buf;
    b->buf_vecs = bytes / sizeof(vecf);
    double best = 0;
    bool best_contended = false;
    for (int pass = 0; pass < BW_PASSES && xq_now_ns() < deadline; pass++) {
        bool pass_contended = false;
        double bps = run_threads(b, threads, read_thread, &pass_contended);
        if (bps > best) {
            best = bps;
            best_contended = pass_contended;
        }
    }
    if (best_contended) *contended = true;
    free(buf);
    return best;
}

static void machine_info(prof_roofline *r)
{
    snprintf(r->cpu_name, sizeof r->cpu_name, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n\t")] = 0;
        snprintf(r->cpu_name, sizeof r->cpu_name, "%s", colon);
        break;
    }
    if (f) fclose(f);
    r->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    r->memory_bytes = (int64_t)sysconf(_SC_PHYS_PAGES) * (int64_t)sysconf(_SC_PAGESIZE);
}

static void utc_now(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int measure(int threads, prof_roofline *out)
{
    memset(out, 0, sizeof *out);
    machine_info(out);
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    out->threads = threads;
    utc_now(out->measured_at, sizeof out->measured_at);
    int64_t t0 = xq_now_ns();
    bench_ctx *b = calloc(1, sizeof *b);
    if (!b) return -1;
    out->peak_flops_1t = run_threads(b, 1, fma_thread, &out->contended);
    out->peak_flops = threads > 1 ? run_threads(b, threads, fma_thread, &out->contended) : out->peak_flops_1t;
    out->read_bytes_per_s = read_bandwidth(b, threads, out->memory_bytes, t0 + BUDGET_NS, &out->contended);
    out->seconds = (double)(xq_now_ns() - t0) / 1e9;
    free(b);
    return out->peak_flops > 0 && out->read_bytes_per_s > 0 ? 0 : -1;
}

int prof_roofline_measure(int threads, prof_roofline *out)
{
    return measure(threads, out);
}

const char *prof_cache_dir(char *buf, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && *xdg)
        n = snprintf(buf, size, "%s/xqprof", xdg);
    else if (home && *home)
        n = snprintf(buf, size, "%s/.cache/xqprof", home);
    else
        return NULL;
    if (n < 0 || (size_t)n >= size) return NULL;
    char parent[4096];
    snprintf(parent, sizeof parent, "%.*s", (int)(strrchr(buf, '/') - buf), buf);
    mkdir(parent, 0755);
    return mkdir(buf, 0755) == 0 || access(buf, W_OK) == 0 ? buf : NULL;
}

static FILE *open_cache_file(const char *mode)
{
    char dir[4096], path[4200];
    if (!prof_cache_dir(dir, sizeof dir)) return NULL;
    snprintf(path, sizeof path, "%s/roofline.tsv", dir);
    return fopen(path, mode);
}

/* One line per measurement: cpu, cores, memory, threads, peak, peak_1t, read B/s, seconds, date, contended. */
static bool parse_line(char *line, prof_roofline *r)
{
    char *field[10];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(line, "\t\n", &save); tok && n < 10; tok = strtok_r(NULL, "\t\n", &save))
        field[n++] = tok;
    if (n < 9) return false; /* lines of older builds have no contended flag */
    memset(r, 0, sizeof *r);
    snprintf(r->cpu_name, sizeof r->cpu_name, "%s", field[0]);
    r->cores = atoi(field[1]);
    r->memory_bytes = atoll(field[2]);
    r->threads = atoi(field[3]);
    r->peak_flops = atof(field[4]);
    r->peak_flops_1t = atof(field[5]);
    r->read_bytes_per_s = atof(field[6]);
    r->seconds = atof(field[7]);
    snprintf(r->measured_at, sizeof r->measured_at, "%s", field[8]);
    r->contended = n == 10 && atoi(field[9]) != 0;
    return r->peak_flops > 0 && r->read_bytes_per_s > 0;
}

int prof_roofline_load(int threads, prof_roofline *out)
{
    prof_roofline here;
    machine_info(&here);
    FILE *f = open_cache_file("r");
    if (!f) return -1;
    char line[1024];
    int found = -1;
    prof_roofline r;
    while (fgets(line, sizeof line, f)) {
        if (!parse_line(line, &r)) continue;
        if (strcmp(r.cpu_name, here.cpu_name) || r.cores != here.cores || r.memory_bytes != here.memory_bytes ||
            r.threads != threads)
            continue;
        *out = r; /* the last matching line wins */
        out->from_cache = true;
        found = 0;
    }
    fclose(f);
    return found;
}

int prof_roofline_save(const prof_roofline *r)
{
    FILE *f = open_cache_file("a");
    if (!f) return -1;
    fprintf(f, "%s\t%d\t%lld\t%d\t%.6g\t%.6g\t%.6g\t%.3f\t%s\t%d\n", r->cpu_name, r->cores, (long long)r->memory_bytes,
            r->threads, r->peak_flops, r->peak_flops_1t, r->read_bytes_per_s, r->seconds, r->measured_at,
            r->contended ? 1 : 0);
    return fclose(f) == 0 ? 0 : -1;
}

struct prof_calib {
    pthread_t thread;
    bool started;
    int threads;
    _Atomic int done; /* 1: result valid, −1: failed */
    prof_roofline result;
};

static void *calib_main(void *arg)
{
    prof_calib *c = arg;
    /* glibc's attributes refuse SCHED_IDLE; the kernel takes it for the running thread, and the measuring
     * threads created below inherit it. */
    struct sched_param idle = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
    prof_roofline r;
    int rc = measure(c->threads, &r);
    if (rc == 0 && !r.contended) prof_roofline_save(&r);
    c->result = r;
    atomic_store_explicit(&c->done, rc == 0 ? 1 : -1, memory_order_release);
    return NULL;
}

prof_calib *prof_calib_start(int threads)
{
    prof_calib *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->threads = threads < 1 ? 1 : threads;
    if (prof_roofline_load(c->threads, &c->result) == 0) {
        atomic_store(&c->done, 1);
        return c;
    }
    c->started = pthread_create(&c->thread, NULL, calib_main, c) == 0;
    if (!c->started) atomic_store(&c->done, -1);
    return c;
}

bool prof_calib_poll(prof_calib *c, prof_roofline *out)
{
    if (!c || atomic_load_explicit(&c->done, memory_order_acquire) != 1) return false;
    *out = c->result;
    return true;
}

bool prof_calib_finish(prof_calib *c, int64_t timeout_ns, prof_roofline *out)
{
    if (!c) return false;
    bool ok = prof_calib_wait(c, timeout_ns, out);
    if (ok && !out->contended) return true;
    if (atomic_load_explicit(&c->done, memory_order_acquire) == 0) return ok; /* still running: leave it */
    prof_roofline now;
    if (measure(c->threads, &now) != 0) return ok;
    prof_roofline_save(&now); /* even if contended (flagged): on a machine that is never idle, measure once */
    c->result = now;
    *out = now;
    return true;
}

bool prof_calib_wait(prof_calib *c, int64_t timeout_ns, prof_roofline *out)
{
    int64_t until = xq_now_ns() + timeout_ns;
    while (c && atomic_load_explicit(&c->done, memory_order_acquire) == 0 && xq_now_ns() < until) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return prof_calib_poll(c, out);
}

void prof_calib_destroy(prof_calib *c)
{
    if (!c) return;
    if (c->started) pthread_join(c->thread, NULL);
    free(c);
}
