/* What the benchmark programs share: a clock, measurements run interleaved for a wall time,
 * the raw OpenSSL SM2 baseline, result tables, the fixtures of tests/data, a seal made from
 * them, and temporary directories. Each bench/<name>.c is its own program and defines
 * BENCH_NAME (its name, for messages) before it includes this.
 *
 * Benchmarks, not tests: the baseline calls OpenSSL directly. */
#ifndef ESEAL_BENCH_H
#define ESEAL_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "eseal/seal.h"

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench.h"
#endif

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void bench_die(const char *what, es_err rv)
{
    fprintf(stderr, BENCH_NAME ": %s: %s\n", what, es_err_str(rv));
    exit(1);
}

/* --- measurements --- */

#define BENCH_SLICES 10

/* How long each measurement runs: seconds of wall time (default 2), or fixed_n operations
 * (-n, for callgrind); only: the one measurement to run (--only NAME, for profiling). */
typedef struct bench_opts {
    double seconds;
    const char *only;
    long fixed_n;
} bench_opts;

/* Takes argv[*i] when it is an option every measuring program has (-t SECONDS, -n N,
 * --only NAME, a bare number of seconds); returns 1 when it did. */
static inline int bench_opt(bench_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "-t") == 0 && *i + 1 < argc)
        o->seconds = atof(argv[++*i]);
    else if (strcmp(a, "-n") == 0 && *i + 1 < argc)
        o->fixed_n = atol(argv[++*i]);
    else if (strcmp(a, "--only") == 0 && *i + 1 < argc)
        o->only = argv[++*i];
    else if (a[0] >= '0' && a[0] <= '9')
        o->seconds = atof(a);
    else
        return 0;
    return 1;
}

/* The first line of a measuring program's output. */
static inline void bench_banner(const bench_opts *o)
{
    printf(BENCH_NAME ": %.1f s per measurement (%d interleaved slices), one thread; %s\n",
           o->seconds, o->fixed_n ? 1 : BENCH_SLICES, OpenSSL_version(OPENSSL_VERSION));
}

/* One measurement: op(arg) returns 1 when the operation succeeded. A NULL op is skipped. */
typedef struct bench_meas {
    const char *name;
    int (*op)(void *);
    void *arg;
    long n;
    double t;
    int state; /* 0 to run, 1 skipped (--only, no op), -1 failed */
} bench_meas;

/* Runs every measurement for its wall time (or fixed_n operations). They run interleaved, a
 * slice of each in turn, so that a change of machine load or clock speed during the run
 * shifts every figure alike and the ratios stay meaningful. */
static inline void bench_measure(const bench_opts *o, bench_meas *m, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        m[i].n = 0;
        m[i].t = 0;
        m[i].state = (o->only && strcmp(o->only, m[i].name) != 0) || !m[i].op ? 1 : 0;
        if (m[i].state == 0 && !m[i].op(m[i].arg)) m[i].state = -1; /* warm-up and check */
    }
    int slices = o->fixed_n ? 1 : BENCH_SLICES;
    for (int sl = 0; sl < slices; sl++) {
        for (size_t i = 0; i < k; i++) {
            if (m[i].state != 0) continue;
            long n = 0;
            double start = bench_now(), end = start + o->seconds / slices;
            while (o->fixed_n ? n < o->fixed_n : n == 0 || bench_now() < end) {
                if (!m[i].op(m[i].arg)) {
                    m[i].state = -1;
                    break;
                }
                n++;
            }
            m[i].n += n;
            m[i].t += bench_now() - start;
        }
    }
}

/* Operations per second; -1 when the operation failed, 0 when skipped. */
static inline double bench_rate(const bench_meas *m)
{
    return m->state < 0 ? -1 : m->state > 0 || m->t <= 0 ? 0 : (double)m->n / m->t;
}

/* --- the raw OpenSSL baseline: SM2 on a 32-byte digest, contexts set up once, as
 * `openssl speed sm2` does --- */

typedef struct bench_raw {
    EVP_PKEY *pk;
    EVP_PKEY_CTX *vctx, *sctx;
    unsigned char dgst[32];
    unsigned char sig[80];
    size_t siglen;
} bench_raw;

static inline int bench_raw_sign(void *arg)
{
    bench_raw *r = arg;
    unsigned char sig[80];
    size_t len = sizeof sig;
    return EVP_PKEY_sign(r->sctx, sig, &len, r->dgst, sizeof r->dgst) == 1;
}

static inline int bench_raw_verify(void *arg)
{
    bench_raw *r = arg;
    return EVP_PKEY_verify(r->vctx, r->sig, r->siglen, r->dgst, sizeof r->dgst) == 1;
}

static inline void bench_raw_setup(bench_raw *r)
{
    memset(r, 0, sizeof *r);
    r->pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    for (size_t i = 0; i < sizeof r->dgst; i++) r->dgst[i] = (unsigned char)(i * 7 + 1);
    r->siglen = sizeof r->sig;
    if (!r->pk || !(r->sctx = EVP_PKEY_CTX_new_from_pkey(NULL, r->pk, NULL)) ||
        !(r->vctx = EVP_PKEY_CTX_new_from_pkey(NULL, r->pk, NULL)) ||
        EVP_PKEY_sign_init(r->sctx) <= 0 || EVP_PKEY_verify_init(r->vctx) <= 0 ||
        EVP_PKEY_sign(r->sctx, r->sig, &r->siglen, r->dgst, sizeof r->dgst) != 1) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, BENCH_NAME ": OpenSSL SM2 setup failed\n");
        exit(1);
    }
}

static inline void bench_raw_cleanup(bench_raw *r)
{
    EVP_PKEY_CTX_free(r->vctx);
    EVP_PKEY_CTX_free(r->sctx);
    EVP_PKEY_free(r->pk);
}

/* --- result tables: operations per second, the ratio to a baseline and what it is --- */

typedef struct bench_table {
    int name_w; /* width of the name column */
    int ops_w;  /* width of the operations-per-second column */
} bench_table;

static inline void bench_header(const bench_table *t, const char *what, const char *unit)
{
    printf("%-*s %*s %8s  %s\n", t->name_w, what, t->ops_w, unit, "ratio", "baseline");
}

/* ops < 0: FAILED; 0: skipped. base > 0: the ratio ops/base; base 0 with a baseline named
 * (vs): "?" (the baseline failed or was skipped); otherwise "-". */
static inline void bench_row(const bench_table *t, const char *name, double ops, double base,
                             const char *vs)
{
    if (ops < 0)
        printf("%-*s %*s\n", t->name_w, name, t->ops_w, "FAILED");
    else if (ops == 0)
        printf("%-*s %*s\n", t->name_w, name, t->ops_w, "skipped");
    else if (base > 0)
        printf("%-*s %*.0f %8.3f  %s\n", t->name_w, name, t->ops_w, ops, ops / base, vs);
    else
        printf("%-*s %*.0f %8s  %s\n", t->name_w, name, t->ops_w, ops,
               base == 0 && vs[0] ? "?" : "-", vs);
}

/* --- fixtures: files of dir (tests/data), or name itself when dir is NULL --- */

static inline void bench_read(const char *dir, const char *name, es_buf *b)
{
    char path[4096];
    if (dir)
        snprintf(path, sizeof path, "%s/%s", dir, name);
    else
        snprintf(path, sizeof path, "%s", name);
    es_buf_init(b, ES_MAX_SEAL_DER);
    es_err rv = es_file_read(path, b);
    if (rv != ES_OK) bench_die(path, rv);
}

/* An in-memory signer of an unencrypted PEM key file. */
static inline es_signer *bench_signer(const char *dir, const char *name)
{
    es_buf b;
    es_sm2_key *k;
    es_signer *s;
    bench_read(dir, name, &b);
    es_err rv = es_sm2_key_from_pem(b.p, b.len, NULL, &k);
    es_buf_cleanup_secret(&b);
    if (rv != ES_OK) bench_die(name, rv);
    if ((rv = es_signer_from_key(k, &s)) != ES_OK) bench_die(name, rv);
    return s;
}

/* A certificate file (PEM or DER) as DER. */
static inline void bench_cert(const char *dir, const char *name, es_buf *der)
{
    es_buf b;
    bench_read(dir, name, &b);
    es_buf_init(der, ES_MAX_CERT_DER);
    es_err rv = es_cert_to_der(b.p, b.len, der);
    es_buf_cleanup(&b);
    if (rv != ES_OK) bench_die(name, rv);
}

/* A v4 seal made by maker.key/maker.crt of dir for signer.crt (returned in signer_crt, DER)
 * with seal.png, valid from yesterday for a year. */
static inline void bench_make_seal(const char *dir, es_buf *signer_crt, es_buf *seal)
{
    es_buf maker_crt, png;
    es_signer *maker = bench_signer(dir, "maker.key");
    bench_cert(dir, "maker.crt", &maker_crt);
    bench_cert(dir, "signer.crt", signer_crt);
    bench_read(dir, "seal.png", &png);
    es_slice certs[1] = {es_slice_make(signer_crt->p, signer_crt->len)};
    es_seal_params p = {0};
    p.es_id = "3701000000001";
    p.type = 1;
    p.name = "eseal bench seal";
    p.signer_certs = certs;
    p.n_signer_certs = 1;
    p.create_date = ES_TIME_NONE;
    p.valid_start = es_time_now() - 86400;
    p.valid_end = es_time_now() + 365 * 86400;
    p.picture = es_slice_make(png.p, png.len);
    p.width_mm = 40;
    p.height_mm = 40;
    p.maker_cert = es_slice_make(maker_crt.p, maker_crt.len);
    es_buf_init(seal, ES_MAX_SEAL_DER);
    es_err rv = es_seal_make(&p, maker, seal);
    if (rv != ES_OK) bench_die("es_seal_make", rv);
    es_signer_free(maker);
    es_buf_cleanup(&maker_crt);
    es_buf_cleanup(&png);
}

/* A secret source that always gives the string in ctx. */
static inline es_err bench_fixed_pin(void *ctx, const char *what, char *buf, size_t cap)
{
    (void)what;
    snprintf(buf, cap, "%s", (const char *)ctx);
    return ES_OK;
}

/* --- temporary directories --- */

/* Makes base/eseal-bench-NAME.XXXXXX (base: $TMPDIR or /tmp when NULL) into dir, or exits. */
static inline void bench_tmpdir(const char *base, char *dir, size_t cap)
{
    if (!base) base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, cap, "%s/eseal-" BENCH_NAME ".XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror(BENCH_NAME ": mkdtemp");
        exit(1);
    }
}

/* Removes a directory tree; says so when it could not. */
static inline int bench_rmdir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) == 0) return 0;
    fprintf(stderr, BENCH_NAME ": could not remove %s\n", dir);
    return 1;
}

#endif
