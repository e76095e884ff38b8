/* Replays inputs through one libFuzzer target's entry point without libFuzzer, so that every
 * build (gcc, ASan/UBSan) and every ctest run checks the regression inputs that once crashed a
 * target (tests/data/fuzz-regress/) and the real corpus it is seeded from. Linked with one
 * fuzz/fuzz_<name>.c; a target reports a broken invariant by aborting, so a failure here is a
 * crash, a sanitizer report or a non-zero exit.
 *
 * usage: replay_fuzz_NAME NAME REGRESS_DIR [SEED_DIR...]
 *   REGRESS_DIR: files "NAME-*" and files without a "fuzz_" prefix (for every target), as
 *   scripts/fuzz.sh seeds them; at least one must exist. SEED_DIR: every file; a folder that
 *   is missing or empty is a failure (a seed folder dropped silently is corpus not tested).
 * Each input is given in a heap buffer of exactly its size (ASan sees any read past it), as
 * libFuzzer gives it. Prints one line per folder and "N inputs replayed". */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eseal/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (64u * 1024 * 1024)

static int replay_file(const char *path)
{
    es_buf b;
    es_buf_init(&b, MAX_INPUT);
    es_err rv = es_file_read(path, &b);
    if (rv != ES_OK) {
        fprintf(stderr, "%s: %s\n", path, es_err_str(rv));
        es_buf_cleanup(&b);
        return 0;
    }
    /* As libFuzzer does: a heap copy of exactly the input's size, never NULL (an empty input
     * is a valid pointer and 0). */
    uint8_t *copy = malloc(b.len ? b.len : 1);
    if (!copy) abort();
    if (b.len) memcpy(copy, b.p, b.len);
    LLVMFuzzerTestOneInput(copy, b.len);
    free(copy);
    es_buf_cleanup(&b);
    return 1;
}

/* Replays the files of dir that pass the filter (target NULL: all); returns how many, -1 when
 * a file cannot be read. */
static int replay_dir(const char *dir, const char *target)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: cannot open the folder\n", dir);
        return -1;
    }
    /* Sorted, so that a failing run names the same input first every time. */
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, alphasort);
    closedir(d);
    if (n < 0) return -1;
    int done = 0;
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        char path[4096];
        struct stat st;
        int take = name[0] != '.';
        if (take && target) {
            size_t tl = strlen(target);
            int prefixed = strncmp(name, "fuzz_", 5) == 0 && strchr(name, '-') != NULL;
            take = !prefixed || (strncmp(name, target, tl) == 0 && name[tl] == '-');
        }
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (take && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (!replay_file(path)) done = -1;
            if (done >= 0) done++;
        }
        free(list[i]);
    }
    free(list);
    return done;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s NAME REGRESS_DIR [SEED_DIR...]\n", argv[0]);
        return 2;
    }
    int total = 0;
    int n = replay_dir(argv[2], argv[1]);
    printf("%s: %d regression inputs from %s\n", argv[1], n, argv[2]);
    if (n <= 0) {
        fprintf(stderr, "%s: no regression input replayed (none, or unreadable)\n", argv[1]);
        return 1;
    }
    total += n;
    for (int i = 3; i < argc; i++) {
        n = replay_dir(argv[i], NULL);
        printf("%s: %d seed inputs from %s\n", argv[1], n, argv[i]);
        if (n <= 0) {
            fprintf(stderr, "%s: no seed input replayed from %s (missing, empty or unreadable)\n",
                    argv[1], argv[i]);
            return 1;
        }
        total += n;
    }
    printf("%d inputs replayed\n", total);
    return 0;
}
