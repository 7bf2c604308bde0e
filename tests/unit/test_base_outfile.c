/* base/outfile: a finished file appears whole or not at all; an aborted one leaves the old content; a path that
 * is not a regular file (here a FIFO, standing in for /dev/null) is written in place and stays what it was. */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/outfile.h"
#include "testlib.h"

static char dir[] = "/tmp/xq-outfile-XXXXXX";

static void slurp(const char *path, char *buf, size_t size)
{
    memset(buf, 0, size);
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static int count_temporaries(void)
{
    char cmd[256], out[64];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '\\.tmp\\.'", dir);
    FILE *p = popen(cmd, "r");
    int n = p && fgets(out, sizeof out, p) ? atoi(out) : -1;
    if (p) pclose(p);
    return n;
}

static void test_regular(void)
{
    char path[256], buf[64];
    snprintf(path, sizeof path, "%s/a.csv", dir);
    xq_outfile o;
    xq_err err = {0};
    CHECK(xq_out_open(&o, path, &err) == XQ_OK);
    fputs("first\n", o.f);
    struct stat st;
    CHECK(stat(path, &st) != 0); /* nothing at the target until the commit */
    CHECK(xq_out_commit(&o, &err) == XQ_OK);
    slurp(path, buf, sizeof buf);
    CHECK(!strcmp(buf, "first\n"));
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0444) == 0444); /* not mkstemp's 0600 (umask permitting) */
    /* An aborted rewrite keeps the old content and leaves no temporary. */
    CHECK(xq_out_open(&o, path, &err) == XQ_OK);
    fputs("second, half-writ", o.f);
    xq_out_abort(&o);
    xq_out_abort(&o); /* twice is harmless */
    slurp(path, buf, sizeof buf);
    CHECK(!strcmp(buf, "first\n"));
    CHECK(count_temporaries() == 0);
}

static void *read_fifo(void *arg)
{
    static char got[64];
    int fd = open(arg, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, got, sizeof got - 1) : -1;
    got[n > 0 ? n : 0] = '\0';
    if (fd >= 0) close(fd);
    return got;
}

static void test_not_regular(void)
{
    char fifo[256], sub[256];
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    pthread_t reader;
    pthread_create(&reader, NULL, read_fifo, fifo);
    xq_outfile o;
    xq_err err = {0};
    CHECK(xq_out_open(&o, fifo, &err) == XQ_OK);
    if (o.f) fputs("through the pipe", o.f);
    CHECK(xq_out_commit(&o, &err) == XQ_OK);
    void *got;
    pthread_join(reader, &got);
    CHECK(!strcmp(got, "through the pipe"));
    struct stat st;
    CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode)); /* still a FIFO: not renamed over */
    CHECK(xq_out_open(&o, dir, &err) == XQ_EINPUT && strstr(err.msg, "folder"));
    snprintf(sub, sizeof sub, "%s/no/such/file", dir);
    CHECK(xq_out_open(&o, sub, &err) == XQ_ERUN && strstr(err.msg, "cannot write"));
    xq_out_abort(&o);
    CHECK(count_temporaries() == 0);
}

int main(void)
{
    if (!mkdtemp(dir)) SKIP("no temporary folder");
    test_regular();
    test_not_regular();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_report("test_base_outfile");
}
