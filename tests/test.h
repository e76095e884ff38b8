/* A tiny test harness: ok() checks, a closing "N passed, N failed" line, file helpers, the
 * fixtures of tests/data (keys, signers, certificates, a fixed PIN), and report lookups. */
#ifndef ESEAL_TEST_H
#define ESEAL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/keydev.h"
#include "eseal/report.h"
#include "eseal/util.h"

static int t_pass, t_fail;
/* Parts not run (PostgreSQL absent outside CI: tests/store_test.h); t_done then exits
 * T_SKIP_CODE, which CTest reports as skipped (SKIP_RETURN_CODE), never as passed. */
static int t_skipped;
#define T_SKIP_CODE 77

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
    printf("%d passed, %d failed%s\n", t_pass, t_fail, t_skipped ? ", some parts skipped" : "");
    if (t_fail) return 1;
    return t_skipped ? T_SKIP_CODE : 0;
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

/* A fixture of tests/data, whole. */
static inline es_buf t_data(const char *name)
{
    return t_read(t_path("ESEAL_TESTDATA", name));
}

/* An unencrypted PEM private key of tests/data, or the test program stops. */
static inline es_sm2_key *t_key(const char *name)
{
    es_buf b = t_data(name);
    es_sm2_key *k = NULL;
    es_err rv = es_sm2_key_from_pem(b.p, b.len, NULL, &k);
    es_buf_cleanup_secret(&b);
    if (rv != ES_OK) {
        fprintf(stderr, "cannot load the key %s: %s\n", name, es_err_str(rv));
        exit(2);
    }
    return k;
}

/* An in-memory signer of a key of tests/data, or the test program stops. */
static inline es_signer *t_signer(const char *name)
{
    es_signer *s = NULL;
    if (es_signer_from_key(t_key(name), &s) != ES_OK) {
        fprintf(stderr, "cannot make a signer of %s\n", name);
        exit(2);
    }
    return s;
}

/* A certificate of tests/data (PEM or DER) as DER, or the test program stops. */
static inline es_buf t_cert(const char *name)
{
    es_buf pem = t_data(name), der;
    es_buf_init(&der, ES_MAX_CERT_DER);
    if (es_cert_to_der(pem.p, pem.len, &der) != ES_OK) {
        fprintf(stderr, "cannot read the certificate %s\n", name);
        exit(2);
    }
    es_buf_cleanup(&pem);
    return der;
}

/* A secret source that gives the string in ctx (ES_ERR_PIN for NULL: no PIN given). */
static inline es_err t_pin_get(void *ctx, const char *what, char *buf, size_t cap)
{
    (void)what;
    if (!ctx) return ES_ERR_PIN;
    size_t n = strlen(ctx);
    if (n >= cap) return ES_ERR_LIMIT;
    memcpy(buf, ctx, n + 1);
    return ES_OK;
}

/* The PIN or passphrase p as a secret source (NULL: none). */
static inline es_secret_src t_pin(const char *p)
{
    es_secret_src s = {t_pin_get, (void *)p};
    return s;
}

/* A deterministic generator (xorshift32) over the caller's state, so that a failure can be
 * reproduced. */
static inline uint32_t t_rnd(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* 1 when the report entry names the quirk. */
static inline int t_has_quirk(const es_entry *e, const char *name)
{
    for (int b = 0; b < ES_QUIRK_COUNT; b++)
        if ((e->quirks & ES_QUIRK(b)) && strcmp(es_quirk_name(b), name) == 0) return 1;
    return 0;
}

/* 1 when the entry has the check with result r. */
static inline int t_result_is(const es_entry *e, const char *check, es_result r)
{
    const es_check *c = es_entry_get(e, check);
    return c && c->result == r;
}

/* The report as text on stderr, to explain a failure. */
static inline void t_dump(const es_report *rep)
{
    es_buf out;
    es_buf_init(&out, 1 << 20);
    if (es_report_text(rep, &out) == ES_OK) fprintf(stderr, "%.*s", (int)out.len, (char *)out.p);
    es_buf_cleanup(&out);
}

#endif
