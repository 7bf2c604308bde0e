#include "testlib.h"

#include <string.h>
#include <unistd.h>

int test_failures;
int test_checks;

static const char *join(const char *env, const char *dflt, const char *rel)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    const char *base = getenv(env);
    snprintf(b, 4096, "%s/%s", base ? base : dflt, rel);
    return b;
}

const char *test_shared_path(const char *rel)
{
    const char *p = join("XQ_SHARED", "../shared", rel);
    return access(p, R_OK) == 0 ? p : NULL;
}

const char *test_build_path(const char *rel) { return join("XQ_BUILD", "build", rel); }
const char *test_src_path(const char *rel) { return join("XQ_SRC", ".", rel); }

int test_report(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}
