#include "base/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int xq_out_open(xq_outfile *o, const char *path, xq_err *err)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    if (!strcmp(path, "-")) {
        o->f = stdout;
        return XQ_OK;
    }
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
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        int rc = xq_fail(err, XQ_ERUN, "%s: cannot write (cannot create %s): %s", path, o->tmp, strerror(e));
        o->tmp[0] = '\0';
        return rc;
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
}
