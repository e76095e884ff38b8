/* A tiny test harness: ok() checks, a closing "N passed, N failed" line, file helpers. */
#ifndef ESEAL_TEST_H
#define ESEAL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/util.h"

static int t_pass, t_fail;

#define ok(cond, ...)                                                                              \
    do {                                                                                           \
        if (cond) {                                                                                \
            t_pass++;                                                                              \
        } else {                                                                                   \
            t_fail++;                                                                              \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static inline int t_done(void)
{
    printf("%d passed, %d failed\n", t_pass, t_fail);
    return t_fail ? 1 : 0;
}

/* Path of a file under $ESEAL_TESTDATA (tests/data) or $ESEAL_CORPUS. */
static inline const char *t_path(const char *env, const char *name)
{
    static char buf[8][4096];
    static int k;
    const char *dir = getenv(env);
    if (!dir) {
        fprintf(stderr, "%s is not set (run through ctest)\n", env);
        exit(2);
    }
    char *b = buf[k++ % 8];
    snprintf(b, 4096, "%s/%s", dir, name);
    return b;
}

/* Reads a whole file or aborts the test program: a missing fixture is a broken test. */
static inline es_buf t_read(const char *path)
{
    es_buf b;
    es_buf_init(&b, 64u * 1024 * 1024);
    if (es_file_read(path, &b) != ES_OK) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    return b;
}

#endif
