/* Incremental, cached model hashing of model_hash.h. */
#include "store/model_hash.h"

#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/outfile.h"
#include "prof/roofline.h"
#include "store/sha256.h"

enum { READ_BYTES = 1 << 20 };

struct model_hash {
    int fd;
    char real[PATH_MAX];
    long long size, mtime_ns;
    sha256_ctx ctx;
    bool done, failed, from_cache;
    char hex[65];
    unsigned char *buf;
};

/* One line of the cache: real path, size, mtime (ns), hex digest, tab-separated. */
typedef struct cache_line {
    char path[PATH_MAX];
    long long size, mtime_ns;
    char hex[65];
} cache_line;

static bool cache_path(char *path, size_t size)
{
    char dir[4096];
    return prof_cache_dir(dir, sizeof dir) && snprintf(path, size, "%s/sha256.tsv", dir) < (int)size;
}

static bool parse_line(const char *line, cache_line *c)
{
    const char *tab = strchr(line, '\t');
    if (!tab || tab - line >= (ptrdiff_t)sizeof c->path ||
        sscanf(tab + 1, "%lld\t%lld\t%64s", &c->size, &c->mtime_ns, c->hex) != 3 || strlen(c->hex) != 64)
        return false;
    memcpy(c->path, line, (size_t)(tab - line));
    c->path[tab - line] = 0;
    return true;
}

static long long mtime_ns(const struct stat *sb)
{
    return (long long)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
}

static bool lookup(model_hash *h)
{
    char path[4200], line[PATH_MAX + 160];
    FILE *f = cache_path(path, sizeof path) ? fopen(path, "r") : NULL;
    bool found = false;
    cache_line c;
    while (f && fgets(line, sizeof line, f))
        if (parse_line(line, &c) && !strcmp(c.path, h->real) && c.size == h->size && c.mtime_ns == h->mtime_ns) {
            memcpy(h->hex, c.hex, sizeof c.hex);
            found = true;
        }
    if (f) fclose(f);
    return found;
}

model_hash *model_hash_start(const char *path)
{
    model_hash *h = calloc(1, sizeof *h);
    struct stat sb;
    if (!h) return NULL;
    h->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (h->fd < 0 || fstat(h->fd, &sb) || !realpath(path, h->real)) {
        model_hash_free(h);
        return NULL;
    }
    h->size = (long long)sb.st_size;
    h->mtime_ns = mtime_ns(&sb);
    if (lookup(h)) {
        h->done = h->from_cache = true;
        return h;
    }
    sha256_init(&h->ctx);
    if (!(h->buf = malloc(READ_BYTES))) {
        model_hash_free(h);
        return NULL;
    }
    return h;
}

/* Whether a cache line still describes a file as it is (same path, size and modification time). */
static bool line_current(const char *line)
{
    cache_line c;
    struct stat sb;
    return parse_line(line, &c) && stat(c.path, &sb) == 0 && (long long)sb.st_size == c.size &&
           mtime_ns(&sb) == c.mtime_ns;
}

/* Rewrites the cache with h's hash added and the lines of files since deleted or changed dropped (a cache that
 * only grew kept every temporary model ever traced). Best effort: a cache that cannot be written is no error. */
static void remember(const model_hash *h)
{
    char path[4200];
    if (!cache_path(path, sizeof path)) return;
    xq_outfile out;
    xq_err ignored = {0};
    if (xq_out_open(&out, path, &ignored)) return;
    FILE *f = fopen(path, "r");
    char line[PATH_MAX + 160];
    while (f && fgets(line, sizeof line, f))
        if (strchr(line, '\n') && line_current(line)) fputs(line, out.f);
    if (f) fclose(f);
    fprintf(out.f, "%s\t%lld\t%lld\t%s\n", h->real, h->size, h->mtime_ns, h->hex);
    xq_out_commit(&out, &ignored);
}

static void finish(model_hash *h)
{
    sha256_hex(&h->ctx, h->hex);
    h->done = true;
    remember(h);
}

bool model_hash_step(model_hash *h, size_t max_bytes)
{
    for (size_t done = 0; !h->done && done < max_bytes;) {
        ssize_t n = read(h->fd, h->buf, READ_BYTES);
        if (n < 0) {
            h->done = h->failed = true;
            break;
        }
        if (n == 0) {
            finish(h);
            break;
        }
        sha256_update(&h->ctx, h->buf, (size_t)n);
        done += (size_t)n;
    }
    return h->done;
}

const char *model_hash_hex(const model_hash *h)
{
    return h && h->done && !h->failed ? h->hex : NULL;
}

void model_hash_free(model_hash *h)
{
    if (!h) return;
    if (h->fd >= 0) close(h->fd);
    free(h->buf);
    free(h);
}
