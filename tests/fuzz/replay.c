/* Replays the fuzz corpus without libFuzzer: for each subdirectory NAME of the corpus root, every file in it is
 * fed to the target xq_fuzz_NAME. Run by ctest (fuzz_replay) in every build, sanitizer builds included.
 * Targets live in tests/fuzz/target_NAME.c; one that is not linked in (weak symbol left null) is skipped. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef int (*fuzz_target)(const uint8_t *data, size_t size);

int xq_fuzz_gguf(const uint8_t *data, size_t size);
/* Weak: written by another file that may not exist yet; the table entry is then null. */
int xq_fuzz_tok(const uint8_t *data, size_t size) __attribute__((weak));

static const struct {
    const char *name;
    fuzz_target run;
} TARGETS[] = {
    {"gguf", xq_fuzz_gguf},
    {"tok", xq_fuzz_tok},
};

static fuzz_target find_target(const char *name, int *known)
{
    for (size_t i = 0; i < sizeof TARGETS / sizeof TARGETS[0]; i++) {
        if (strcmp(TARGETS[i].name, name) == 0) {
            *known = 1;
            return TARGETS[i].run;
        }
    }
    *known = 0;
    return NULL;
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    struct stat st;
    uint8_t *p = NULL;
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) {
        *size = (size_t)st.st_size;
        /* exactly size bytes (at least 1 for malloc), so a sanitizer sees any read past the input */
        p = malloc(*size ? *size : 1);
        if (p && fread(p, 1, *size, fp) != *size) {
            free(p);
            p = NULL;
        }
    }
    fclose(fp);
    return p;
}

/* Feeds every regular file of dir to run; returns the count, or -1 on a read error. */
static long replay_dir(const char *dir, fuzz_target run)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    long n = 0;
    char path[4096 + 256 + 2]; /* dir is bounded by the caller's 4096-byte buffer, a name by 255 bytes */
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%.4096s/%.255s", dir, e->d_name);
        size_t size;
        uint8_t *data = read_file(path, &size);
        if (!data) continue; /* not a regular file */
        fprintf(stderr, "replay %s\n", path);
        run(data, size);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
        return 2;
    }
    DIR *root = opendir(argv[1]);
    if (!root) {
        perror(argv[1]);
        return 1;
    }
    long total = 0;
    char dir[4096];
    for (struct dirent *e; (e = readdir(root));) {
        if (e->d_name[0] == '.') continue;
        snprintf(dir, sizeof dir, "%s/%s", argv[1], e->d_name);
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        int known;
        fuzz_target run = find_target(e->d_name, &known);
        if (!run) {
            printf("skip %s: %s\n", e->d_name, known ? "its target is not linked in" : "no such target");
            continue;
        }
        long n = replay_dir(dir, run);
        printf("%s: replayed %ld inputs\n", e->d_name, n < 0 ? 0 : n);
        if (n > 0) total += n;
    }
    closedir(root);
    printf("replayed %ld inputs in all\n", total);
    return total > 0 ? 0 : 1;
}
