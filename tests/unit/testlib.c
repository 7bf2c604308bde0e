#include "testlib.h"

#include <math.h>
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

double test_rel_diff(const float *a, const float *b, size_t n)
{
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - b[i]));
        mr = fmax(mr, fabs((double)a[i]));
    }
    return md / mr;
}

int test_report(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    char *data = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        data = malloc((size_t)size + 1);
    if (data && fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
    }
    if (f) fclose(f);
    if (data) {
        data[size] = '\0';
        if (len) *len = (size_t)size;
    }
    return data;
}

static uint64_t rand_state = 0x9E3779B97F4A7C15ull;

void test_rand_seed(uint64_t seed)
{
    rand_state = seed;
}

uint32_t test_rand_u32(void)
{
    rand_state ^= rand_state >> 12;
    rand_state ^= rand_state << 25;
    rand_state ^= rand_state >> 27;
    return (uint32_t)((rand_state * 0x2545F4914F6CDD1Dull) >> 32);
}
