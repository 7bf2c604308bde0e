/* base/outfile: a finished file appears whole or not at all; an aborted one leaves the old content; a path that
 * is not a regular file (here a FIFO, standing in for /dev/null) is written in place and stays what it was; an
 * input of the run is refused; SIGINT/SIGTERM/SIGHUP remove the temporaries unless the program handles them. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/outfile.h"
#include "base/runfiles.h"
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

static void test_input_refused(void)
{
    char path[256], buf[64];
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    FILE *f = fopen(path, "w");
    if (f) fputs("weights", f), fclose(f);
    xq_files_note_input(path, "-m");
    xq_outfile o;
    xq_err err = {0};
    CHECK(xq_out_open(&o, path, &err) == XQ_EINPUT && strstr(err.msg, "is also an input of this run"));
    CHECK(xq_out_open(&o, "", &err) == XQ_EINPUT && strstr(err.msg, "empty"));
    xq_out_abort(&o);
    slurp(path, buf, sizeof buf);
    CHECK(!strcmp(buf, "weights"));
    CHECK(count_temporaries() == 0);
    xq_files_reset();
}

static volatile sig_atomic_t stop_asked;
static void on_stop(int sig) { stop_asked = sig; }

/* A child writes half a file, tells the parent, waits for sig; returns how it ended (waitpid status). With
 * own_handler, it stops cleanly on the signal as a command with Ctrl-C handling does, and exits 7. */
static int interrupted_child(const char *path, int sig, bool own_handler)
{
    int ready[2];
    if (pipe(ready) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (own_handler) signal(sig, on_stop);
        /* Blocked until sigsuspend: a signal between the test of stop_asked and a pause() would be lost, and the
         * child would wait forever (it did, once in a few hundred runs under ASan). */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, sig);
        sigprocmask(SIG_BLOCK, &block, &old);
        xq_outfile o;
        if (xq_out_open(&o, path, NULL)) _exit(3);
        fputs("half-writ", o.f);
        fflush(o.f);
        if (write(ready[1], "r", 1) != 1) _exit(4);
        while (!stop_asked) sigsuspend(&old);
        xq_out_abort(&o);
        _exit(7);
    }
    char c;
    if (read(ready[0], &c, 1) == 1) kill(pid, sig);
    close(ready[0]);
    close(ready[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static void test_signals(void)
{
    char path[256], buf[64];
    snprintf(path, sizeof path, "%s/kept.bin", dir);
    FILE *f = fopen(path, "w");
    if (f) fputs("before", f), fclose(f);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        int status = interrupted_child(path, sigs[i], false);
        CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i], "signal %d: status %#x", sigs[i], status);
        CHECKF(count_temporaries() == 0, "signal %d left a temporary", sigs[i]);
    }
    int status = interrupted_child(path, SIGINT, true); /* the program's own handler still runs */
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    CHECK(count_temporaries() == 0);
    slurp(path, buf, sizeof buf);
    CHECK(!strcmp(buf, "before"));
}

int main(void)
{
    if (!mkdtemp(dir)) SKIP("no temporary folder");
    xq_files_guard(true);
    test_regular();
    test_not_regular();
    test_input_refused();
    test_signals();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_report("test_base_outfile");
}
