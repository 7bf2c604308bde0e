#include "base/outfile.h"

#include <errno.h>
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
    int n = snprintf(o->tmp, sizeof o->tmp, "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof o->tmp) {
        o->tmp[0] = '\0';
        return xq_fail(err, XQ_EINPUT, "%s: path too long", path);
    }
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        o->tmp[0] = '\0';
        return xq_fail(err, XQ_ERUN, "%s: cannot write: %s", path, strerror(e));
    }
    mode_t mask = umask(0); /* mkstemp makes 0600; the finished file gets what a plain fopen would give it */
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        xq_out_abort(o);
        return xq_fail(err, XQ_ERUN, "%s: cannot write: %s", path, strerror(e));
    }
    return XQ_OK;
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
