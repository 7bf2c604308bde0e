#include "base/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/runfiles.h"

/* ---- Temporaries removed on a fatal signal. The handler may only read a fixed table and call unlink: a slot is
 * taken (FILLING), its name written, then published (LIVE); it is freed after the rename or unlink. A run with
 * more temporaries open at once than slots leaves the extra ones untracked (their cleanup is then best effort).
 */

enum { MAX_TEMPS = 32, SLOT_FREE = 0, SLOT_FILLING = 1, SLOT_LIVE = 2 };
static int temp_state[MAX_TEMPS];
static char temp_name[MAX_TEMPS][sizeof((xq_outfile *)0)->tmp];
static const int cleaned_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void remove_temps_and_die(int sig)
{
    for (int i = 0; i < MAX_TEMPS; i++)
        if (__atomic_load_n(&temp_state[i], __ATOMIC_ACQUIRE) == SLOT_LIVE) unlink(temp_name[i]);
    signal(sig, SIG_DFL);
    raise(sig); /* delivered once the handler returns: the process dies of the signal, as it would have */
}

/* Only where the signal still has its default action: a program's own handler (a clean stop) or an ignored
 * signal (nohup) stays as it is. */
static void catch_fatal_signals(void)
{
    for (size_t i = 0; i < sizeof cleaned_signals / sizeof *cleaned_signals; i++) {
        struct sigaction old, sa;
        if (sigaction(cleaned_signals[i], NULL, &old) != 0) continue;
        if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = remove_temps_and_die;
        sigaction(cleaned_signals[i], &sa, NULL);
    }
}

static void track_temp(xq_outfile *o)
{
    catch_fatal_signals();
    for (int i = 0; i < MAX_TEMPS; i++) {
        int expected = SLOT_FREE;
        if (!__atomic_compare_exchange_n(&temp_state[i], &expected, SLOT_FILLING, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_RELAXED))
            continue;
        memcpy(temp_name[i], o->tmp, sizeof o->tmp);
        __atomic_store_n(&temp_state[i], SLOT_LIVE, __ATOMIC_RELEASE);
        o->slot = i + 1;
        return;
    }
}

static void untrack_temp(xq_outfile *o)
{
    if (o->slot) __atomic_store_n(&temp_state[o->slot - 1], SLOT_FREE, __ATOMIC_RELEASE);
    o->slot = 0;
}

/* ---- Output files */

/* A target that cannot be written at all, whatever the run produces: refused before the temporary exists. */
static int check_target(const char *path, xq_err *err)
{
    if (!*path) return xq_fail(err, XQ_EINPUT, "empty output file name");
    return xq_files_check_output(path, err);
}

int xq_out_open(xq_outfile *o, const char *path, xq_err *err)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    if (!strcmp(path, "-")) {
        o->f = stdout;
        return XQ_OK;
    }
    int rc = check_target(path, err);
    if (rc) return rc;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) { /* /dev/null, a FIFO: written in place, never replaced */
        if (S_ISDIR(st.st_mode)) return xq_fail(err, XQ_EINPUT, "%s: is a folder", path);
        if (!(o->f = fopen(path, "w"))) return xq_fail(err, XQ_ERUN, "%s: cannot write: %s", path, strerror(errno));
        return XQ_OK;
    }
    /* A name of our own with O_EXCL rather than mkstemp: the file gets 0666 less the umask, as a plain fopen
     * would give it, without touching the process-wide umask. */
    static unsigned counter;
    unsigned serial = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    int n = snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld.%u", path, (long)getpid(), serial);
    if (n < 0 || (size_t)n >= sizeof o->tmp) {
        o->tmp[0] = '\0';
        return xq_fail(err, XQ_EINPUT, "%s: path too long", path);
    }
    track_temp(o); /* before it exists: a signal between the two finds nothing to remove, which is harmless */
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        xq_fail(err, XQ_ERUN, "%s: cannot write (cannot create %s): %s", path, o->tmp, strerror(e));
        o->tmp[0] = '\0';
        untrack_temp(o);
        return XQ_ERUN;
    }
    if (!(o->f = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        xq_out_abort(o);
        return xq_fail(err, XQ_ERUN, "%s: cannot write: %s", path, strerror(e));
    }
    return XQ_OK;
}

/* Best effort: the rename is durable once the folder holding it is. */
static void fsync_parent_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (slash == path ? 1 : (int)(slash - path)) : 1, slash ? path : ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int xq_out_commit(xq_outfile *o, xq_err *err)
{
    if (o->f == stdout) {
        o->f = NULL;
        return fflush(stdout) ? xq_fail(err, XQ_ERUN, "stdout: write failed") : XQ_OK;
    }
    if (!o->f) return xq_fail(err, XQ_ERUN, "%s: not open for writing", o->path);
    bool in_place = !o->tmp[0]; /* a device or FIFO: fsync means nothing there */
    bool ok = !ferror(o->f) && fflush(o->f) == 0 && (in_place || fsync(fileno(o->f)) == 0);
    int e = ok ? 0 : errno ? errno : EIO;
    if (fclose(o->f) != 0 && ok) ok = false, e = errno;
    o->f = NULL;
    if (ok && o->tmp[0] && rename(o->tmp, o->path) != 0) ok = false, e = errno;
    if (ok) {
        untrack_temp(o);
        if (!in_place) fsync_parent_dir(o->path);
        o->tmp[0] = '\0';
        return XQ_OK;
    }
    xq_out_abort(o);
    return xq_fail(err, XQ_ERUN, "%s: write failed: %s", o->path, strerror(e));
}

void xq_out_abort(xq_outfile *o)
{
    if (o->f && o->f != stdout) fclose(o->f);
    o->f = NULL;
    if (o->tmp[0]) unlink(o->tmp);
    o->tmp[0] = '\0';
    untrack_temp(o);
}
