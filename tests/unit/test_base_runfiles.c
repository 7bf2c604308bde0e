/* base/runfiles: an output is refused when it is a noted input (under any of its names) or an output already
 * claimed (existing or not); "-" and unrelated files pass; a forgotten input no longer counts. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/runfiles.h"
#include "testlib.h"

static char dir[] = "/tmp/xq-runfiles-XXXXXX";

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

static void test_inputs(void)
{
    char model[256], soft[256], hard[256], dotted[256], other[256];
    path_in(model, sizeof model, "m.gguf");
    path_in(soft, sizeof soft, "link.gguf");
    path_in(hard, sizeof hard, "hard.gguf");
    path_in(other, sizeof other, "out.bin");
    snprintf(dotted, sizeof dotted, "%s/./m.gguf", dir);
    touch(model);
    CHECK(symlink(model, soft) == 0 && link(model, hard) == 0);
    xq_err err = {0};
    CHECK(xq_files_check_output(model, &err) == XQ_OK); /* not noted yet */
    xq_files_note_input(soft, "-m");
    CHECK(xq_files_check_output(model, &err) == XQ_EINPUT && strstr(err.msg, "is also an input of this run (-m "));
    CHECK(xq_files_check_output(hard, &err) == XQ_EINPUT);
    CHECK(xq_files_check_output(dotted, &err) == XQ_EINPUT);
    CHECK(xq_files_claim_output(model, "-o", &err) == XQ_EINPUT);
    CHECK(xq_files_check_output(other, &err) == XQ_OK); /* does not exist: cannot be an input */
    CHECK(xq_files_check_output("-", &err) == XQ_OK);
    xq_files_forget_input(model);
    CHECK(xq_files_check_output(model, &err) == XQ_OK);
    xq_files_reset();
}

static void test_outputs(void)
{
    char csv[256], dotted[256], md[256];
    path_in(csv, sizeof csv, "t.csv");
    path_in(md, sizeof md, "t.md");
    snprintf(dotted, sizeof dotted, "%s/./t.csv", dir);
    xq_err err = {0};
    CHECK(xq_files_claim_output(csv, "--trace", &err) == XQ_OK); /* neither exists: known by folder and name */
    CHECK(xq_files_claim_output(dotted, "--csv", &err) == XQ_EINPUT &&
          strstr(err.msg, "is also an output of this run (--trace "));
    CHECK(xq_files_claim_output(md, "--md", &err) == XQ_OK);
    CHECK(xq_files_claim_output("-", "--csv", &err) == XQ_OK && xq_files_claim_output("-", "--md", &err) == XQ_OK);
    CHECK(xq_files_check_output(csv, &err) == XQ_OK); /* a claim is not an input: written again and again is fine */
    xq_files_reset();
}

static void test_guard_off(void)
{
    char model[256];
    path_in(model, sizeof model, "m.gguf");
    xq_err err = {0};
    xq_files_guard(false); /* a library user rewriting what it read */
    xq_files_note_input(model, "-m");
    xq_files_guard(true);
    CHECK(xq_files_check_output(model, &err) == XQ_OK);
}

int main(void)
{
    if (!mkdtemp(dir)) SKIP("no temporary folder");
    xq_files_guard(true);
    test_inputs();
    test_outputs();
    test_guard_off();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_report("test_base_runfiles");
}
