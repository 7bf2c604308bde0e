/* A minimal test harness: CHECK records a failure with file:line and continues; test_main returns non-zero if
 * any check failed. SKIP prints a reason and exits 0 (for data that may be absent, e.g. ../shared). */
#ifndef XQ_TESTLIB_H
#define XQ_TESTLIB_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern int test_failures;
extern int test_checks;

#define CHECK(cond) \
    do { \
        test_checks++; \
        if (!(cond)) { \
            test_failures++; \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        } \
    } while (0)

#define CHECKF(cond, ...) \
    do { \
        test_checks++; \
        if (!(cond)) { \
            test_failures++; \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr); \
        } \
    } while (0)

#define SKIP(...) \
    do { \
        printf("SKIP: "); \
        printf(__VA_ARGS__); \
        printf("\n"); \
        exit(0); \
    } while (0)

/* Path of a file under the shared data folder, or NULL if it does not exist. */
const char *test_shared_path(const char *rel);
/* Path under the build folder (XQ_BUILD) or source folder (XQ_SRC), in a static buffer rotated 8 deep. */
const char *test_build_path(const char *rel);
const char *test_src_path(const char *rel);
/* max|a − b| / max|a| over n values (a is the reference). */
double test_rel_diff(const float *a, const float *b, size_t n);
/* The whole file at path (NULL path allowed), NUL-terminated; *len its size when len is not NULL. NULL when it
 * cannot be read whole. Free with free(). */
char *test_read_file(const char *path, size_t *len);
/* Deterministic random numbers (xorshift64*), one sequence per process; test_rand_seed restarts it (the default
 * seed is 0x9E3779B97F4A7C15). */
void test_rand_seed(uint64_t seed);
uint32_t test_rand_u32(void);
/* Prints a summary and returns the process exit status. */
int test_report(const char *name);

#endif
