/* Audited writes per second at the audit layer, without HTTP: THREADS connections each run
 * transactions of one business row (INSERT INTO settings) and its audit record, for SECONDS
 * per mode, while a checkpoint thread runs as the daemon's does (every 1000 records or 1 s).
 * The audit key is an in-memory SM2 key, opened SIGNERS times, each handle behind a mutex of
 * its own, as the daemon uses its key device ([audit] signers).
 *
 *   inside:   es_audit_append signs inside the transaction (on SQLite: under the database's
 *             write lock; on PostgreSQL: before the chain's row lock);
 *   prepared: es_audit_prepare signs before es_store_begin, the transaction only chains.
 *
 * usage: bench_audit URL [THREADS] [SECONDS] [SIGNERS]   (sqlite:/tmp/a.db, postgresql://...)
 *   defaults: 8 threads, 5 s per mode, 1 signer.
 * The URL's database must hold no audit record yet (a new one); it is migrated and written
 * to, and the trail is verified at the end.
 * A benchmark, not a test. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/audit.h"
#include "eseal/signer.h"
#include "eseal/store.h"

#define MAX_SIGNERS 16

/* Handles of one key, one mutex each: a signature takes a free handle, or waits for one. */
typedef struct pool {
    int n;
    es_signer *inner[MAX_SIGNERS];
    pthread_mutex_t mu[MAX_SIGNERS];
    atomic_uint next;
} pool;

static es_err pool_sign(es_signer *self, const uint8_t e[ES_SM3_LEN], uint8_t r[32], uint8_t s[32])
{
    pool *p = self->ctx;
    unsigned start = atomic_fetch_add(&p->next, 1u) % (unsigned)p->n;
    int got = -1;
    for (int i = 0; i < p->n && got < 0; i++) {
        int k = (int)((start + (unsigned)i) % (unsigned)p->n);
        if (pthread_mutex_trylock(&p->mu[k]) == 0) got = k;
    }
    if (got < 0) {
        got = (int)start;
        pthread_mutex_lock(&p->mu[got]);
    }
    es_err rv = es_signer_sign_digest(p->inner[got], e, r, s);
    pthread_mutex_unlock(&p->mu[got]);
    return rv;
}

static es_signer key;
static pool key_pool;
static const char *url;
static atomic_int stop;
static atomic_long serial;

typedef struct worker {
    pthread_t th;
    int prepared;
    long done, failed;
    char why[200];
} worker;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *work(void *p)
{
    worker *w = p;
    es_store *s = NULL;
    if (es_store_open(url, &s) != ES_OK) {
        w->failed = 1;
        snprintf(w->why, sizeof w->why, "open: %s", es_store_last_error(NULL));
        return NULL;
    }
    while (!atomic_load(&stop)) {
        char k[64];
        snprintf(k, sizeof k, "bench-%d-%ld", w->prepared, atomic_fetch_add(&serial, 1));
        es_value kv[2] = {es_v_text(k), es_v_text("v")};
        es_audit_record r = {0};
        r.actor = "bench";
        r.role = "business_admin";
        r.action = "settings.set";
        r.object = k;
        r.detail = "{\"value\":\"v\"}";
        es_err rv = w->prepared ? es_audit_prepare(&key, &r) : ES_OK;
        if (rv == ES_OK) rv = es_store_begin(s);
        if (rv == ES_OK)
            rv = es_store_exec(s, "INSERT INTO settings (key, value) VALUES (?, ?)", kv, 2, NULL);
        if (rv == ES_OK) rv = es_audit_append(s, &key, &r);
        if (rv == ES_OK) rv = es_store_commit(s);
        if (rv == ES_OK) {
            w->done++;
        } else {
            w->failed++;
            snprintf(w->why, sizeof w->why, "%s: %s", es_err_name(rv), es_store_last_error(s));
            es_store_rollback(s);
        }
    }
    es_store_close(s);
    return NULL;
}

static void *checkpoints(void *p)
{
    long *written = p;
    es_store *s = NULL;
    if (es_store_open(url, &s) != ES_OK) return NULL;
    while (!atomic_load(&stop)) {
        int done = 0;
        if (es_audit_checkpoint_due(s, &key, 1000, 1000, &done) == ES_OK) *written += done;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    es_store_close(s);
    return NULL;
}

static double run(int threads, double seconds, int prepared)
{
    worker *w = calloc((size_t)threads, sizeof *w);
    pthread_t cp;
    long written = 0;
    if (!w) exit(1);
    atomic_store(&stop, 0);
    pthread_create(&cp, NULL, checkpoints, &written);
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        w[i].prepared = prepared;
        pthread_create(&w[i].th, NULL, work, &w[i]);
    }
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    long done = 0, failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].th, NULL);
        done += w[i].done;
        failed += w[i].failed;
        if (w[i].failed) fprintf(stderr, "bench_audit: thread %d: %s\n", i, w[i].why);
    }
    double t = now() - t0;
    pthread_join(cp, NULL);
    printf("%-9s %3d threads  %8.0f audited writes/s  (%ld in %.1f s, %ld failed, %ld "
           "checkpoints)\n",
           prepared ? "prepared" : "inside", threads, (double)done / t, done, t, failed, written);
    fflush(stdout);
    free(w);
    return (double)done / t;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_audit URL [THREADS] [SECONDS]\n");
        return 2;
    }
    url = argv[1];
    int threads = argc > 2 ? atoi(argv[2]) : 8;
    double seconds = argc > 3 ? atof(argv[3]) : 5;
    int signers = argc > 4 ? atoi(argv[4]) : 1;
    if (threads < 1 || threads > 256 || seconds <= 0 || signers < 1 || signers > MAX_SIGNERS)
        return 2;
    es_sm2_key *k = NULL;
    es_store *s = NULL;
    int v = 0;
    es_buf pem;
    es_buf_init(&pem, ES_MAX_KEY_FILE);
    if (es_sm2_key_generate(&k) != ES_OK || es_sm2_key_to_pem(k, NULL, &pem) != ES_OK) {
        fprintf(stderr, "bench_audit: no key\n");
        return 1;
    }
    es_sm2_key_free(k);
    for (int i = 0; i < signers; i++) {
        if (es_sm2_key_from_pem(pem.p, pem.len, NULL, &k) != ES_OK ||
            es_signer_from_key(k, &key_pool.inner[i]) != ES_OK) {
            fprintf(stderr, "bench_audit: no key\n");
            return 1;
        }
        pthread_mutex_init(&key_pool.mu[i], NULL);
    }
    es_buf_cleanup_secret(&pem);
    key_pool.n = signers;
    memcpy(key.pub, key_pool.inner[0]->pub, sizeof key.pub);
    key.sign_digest = pool_sign;
    key.ctx = &key_pool;
    int64_t records = -1;
    if (es_store_open(url, &s) != ES_OK || es_store_migrate(s, &v) != ES_OK ||
        es_store_query_int(s, "SELECT count(*) FROM audit", NULL, 0, &records) != ES_OK) {
        fprintf(stderr, "bench_audit: %s: %s\n", url, es_store_last_error(s));
        return 1;
    }
    if (records != 0) {
        fprintf(stderr, "bench_audit: %s holds audit records already: give a new database\n", url);
        return 1;
    }
    printf("bench_audit: %s, %.1f s per mode, %d signer handle%s\n", es_store_kind(s), seconds,
           signers, signers == 1 ? "" : "s");
    run(threads, seconds, 0);
    run(threads, seconds, 1);
    int64_t seq = 0;
    es_audit_report rep;
    if (es_audit_checkpoint(s, &key, &seq) != ES_OK ||
        es_audit_verify_store(s, key.pub, &rep) != ES_OK) {
        fprintf(stderr, "bench_audit: verify: %s\n", es_store_last_error(s));
        return 1;
    }
    printf("verify: %s, %lld records, %lld checkpoints\n",
           es_audit_report_ok(&rep) ? "INTACT" : "FAILED", (long long)rep.records,
           (long long)rep.checkpoints);
    int ok = es_audit_report_ok(&rep);
    es_audit_report_cleanup(&rep);
    es_store_close(s);
    for (int i = 0; i < signers; i++) es_signer_free(key_pool.inner[i]);
    return ok ? 0 : 1;
}
