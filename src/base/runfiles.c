/* The run's inputs and claimed outputs (runfiles.h): one list under a mutex; entries are few (a model, a text,
 * a few outputs), so every lookup is a plain scan. */
#include "base/runfiles.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct file_id {
    bool exists; /* dev/ino name the file itself */
    dev_t dev;
    ino_t ino;
    bool dir_ok; /* dir_dev/dir_ino and name name it by its folder, whether it exists or not */
    dev_t dir_dev;
    ino_t dir_ino;
    char name[NAME_MAX + 1];
} file_id;

typedef struct entry {
    file_id id;
    bool output;
    char *path, *label; /* as given; label: the input's kind or the output's flag */
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool guard_on;
static entry *entries;
static int n_entries, cap_entries;

static void identify(const char *path, file_id *id)
{
    memset(id, 0, sizeof *id);
    struct stat st;
    if (stat(path, &st) == 0) id->exists = true, id->dev = st.st_dev, id->ino = st.st_ino;
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    snprintf(id->name, sizeof id->name, "%s", slash ? slash + 1 : path);
    if (stat(dir, &st) == 0) id->dir_ok = true, id->dir_dev = st.st_dev, id->dir_ino = st.st_ino;
}

static bool same_file(const file_id *a, const file_id *b)
{
    if (a->exists && b->exists) return a->dev == b->dev && a->ino == b->ino;
    return a->dir_ok && b->dir_ok && a->dir_dev == b->dir_dev && a->dir_ino == b->dir_ino && !strcmp(a->name, b->name);
}

/* The first entry of that kind (input or output) naming the same file, or NULL. Called under the lock. */
static const entry *find(const file_id *id, bool output)
{
    for (int i = 0; i < n_entries; i++)
        if (entries[i].output == output && same_file(&entries[i].id, id)) return &entries[i];
    return NULL;
}

static void add(const file_id *id, bool output, const char *path, const char *label)
{
    if (n_entries == cap_entries) {
        int cap = cap_entries ? 2 * cap_entries : 8;
        entry *more = realloc(entries, (size_t)cap * sizeof *more);
        if (!more) return; /* the guard is lost for this file, the run is not */
        entries = more, cap_entries = cap;
    }
    entry *e = &entries[n_entries];
    *e = (entry){.id = *id, .output = output, .path = strdup(path), .label = strdup(label ? label : "")};
    if (!e->path || !e->label) {
        free(e->path);
        free(e->label);
        return;
    }
    n_entries++;
}

void xq_files_guard(bool on)
{
    pthread_mutex_lock(&lock);
    guard_on = on;
    pthread_mutex_unlock(&lock);
}

void xq_files_note_input(const char *path, const char *kind)
{
    file_id id;
    if (!__atomic_load_n(&guard_on, __ATOMIC_ACQUIRE) || !path || !strcmp(path, "-")) return;
    identify(path, &id);
    if (!id.exists) return;
    pthread_mutex_lock(&lock);
    if (!find(&id, false)) add(&id, false, path, kind);
    pthread_mutex_unlock(&lock);
}

static void drop(int i)
{
    free(entries[i].path);
    free(entries[i].label);
    entries[i] = entries[--n_entries];
}

void xq_files_forget_input(const char *path)
{
    file_id id;
    identify(path, &id);
    pthread_mutex_lock(&lock);
    for (int i = n_entries - 1; i >= 0; i--)
        if (!entries[i].output && same_file(&entries[i].id, &id)) drop(i);
    pthread_mutex_unlock(&lock);
}

/* Under the lock. */
static int conflict(const file_id *id, const char *path, bool with_outputs, xq_err *err)
{
    const entry *e = find(id, false);
    if (e) return xq_fail(err, XQ_EINPUT, "%s: is also an input of this run (%s %s)", path, e->label, e->path);
    if (with_outputs && (e = find(id, true)))
        return xq_fail(err, XQ_EINPUT, "%s: is also an output of this run (%s %s)", path, e->label, e->path);
    return XQ_OK;
}

int xq_files_check_output(const char *path, xq_err *err)
{
    if (!strcmp(path, "-")) return XQ_OK;
    file_id id;
    identify(path, &id);
    pthread_mutex_lock(&lock);
    int rc = conflict(&id, path, false, err);
    pthread_mutex_unlock(&lock);
    return rc;
}

int xq_files_claim_output(const char *path, const char *flag, xq_err *err)
{
    if (!strcmp(path, "-")) return XQ_OK;
    file_id id;
    identify(path, &id);
    pthread_mutex_lock(&lock);
    int rc = conflict(&id, path, true, err);
    if (!rc && guard_on) add(&id, true, path, flag);
    pthread_mutex_unlock(&lock);
    return rc;
}

void xq_files_reset(void)
{
    pthread_mutex_lock(&lock);
    while (n_entries)
        drop(n_entries - 1);
    pthread_mutex_unlock(&lock);
}
