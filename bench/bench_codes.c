/* bench_codes: industry seal codes (es_code_next_in, docs/national.md) a second.
 *
 *   bench_codes STORE_URL [THREADS [SECONDS [DIVISIONS]]]
 *
 * THREADS threads (default 4), each with its own connection, take codes for SECONDS (default
 * 3) in transactions of one code each (begin, es_code_next_in, commit), spread over DIVISIONS
 * divisions (default 1: every thread on the same row, the worst case; more: the per-division
 * rows no longer meet on PostgreSQL). The store is migrated first; the divisions used are
 * 9900xx (no real division). Prints the committed codes a second and checks at the end that
 * the stored serials add up to the codes committed (exit 1 otherwise).
 *
 * A benchmark, not a test (timing goes in bench/); test_national is where the allocator is
 * checked. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/national.h"
#include "eseal/store.h"

typedef struct shared {
    const char *url;
    int divisions;
    double until;
    atomic_long codes, errors;
} shared;

typedef struct arg {
    shared *sh;
    int id;
} arg;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *p)
{
    arg *a = p;
    shared *sh = a->sh;
    es_store *s = NULL;
    if (es_store_open(sh->url, &s) != ES_OK) {
        atomic_fetch_add(&sh->errors, 1);
        return NULL;
    }
    char code[ES_SEAL_CODE_MAX], div[16];
    for (long i = 0; now_s() < sh->until; i++) {
        snprintf(div, sizeof div, "9900%02u", (unsigned)((a->id + i) % sh->divisions) % 100u);
        es_err rv = es_store_begin(s);
        if (rv == ES_ERR_BUSY) continue;
        if (rv == ES_OK) rv = es_code_next_in(s, div, code);
        if (rv == ES_OK) rv = es_store_commit(s);
        if (rv != ES_OK) {
            es_store_rollback(s);
            atomic_fetch_add(&sh->errors, 1);
            continue;
        }
        atomic_fetch_add(&sh->codes, 1);
    }
    es_store_close(s);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: bench_codes STORE_URL [THREADS [SECONDS [DIVISIONS]]]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 4;
    double secs = argc > 3 ? atof(argv[3]) : 3;
    int divisions = argc > 4 ? atoi(argv[4]) : 1;
    if (threads < 1 || threads > 256 || secs <= 0 || divisions < 1 || divisions > 100) {
        fprintf(stderr, "bench_codes: 1-256 threads, SECONDS > 0, 1-100 divisions\n");
        return 2;
    }
    es_store *s = NULL;
    int64_t before = 0, after = 0;
    if (es_store_open(argv[1], &s) != ES_OK || es_store_migrate(s, NULL) != ES_OK ||
        es_store_query_int(s,
                           "SELECT coalesce(sum(last_serial), 0) FROM seal_code_serials WHERE "
                           "division LIKE '9900%'",
                           NULL, 0, &before) != ES_OK) {
        fprintf(stderr, "bench_codes: %s: %s\n", argv[1], es_store_last_error(s));
        es_store_close(s);
        return 2;
    }
    shared sh = {argv[1], divisions, 0, 0, 0};
    pthread_t th[256];
    arg args[256];
    double t0 = now_s();
    sh.until = t0 + secs;
    for (int i = 0; i < threads; i++) {
        args[i].sh = &sh;
        args[i].id = i;
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    double el = now_s() - t0;
    if (es_store_query_int(s,
                           "SELECT coalesce(sum(last_serial), 0) FROM seal_code_serials WHERE "
                           "division LIKE '9900%'",
                           NULL, 0, &after) != ES_OK)
        after = -1;
    es_store_close(s);
    long codes = atomic_load(&sh.codes), errors = atomic_load(&sh.errors);
    printf("bench_codes: %s, %d threads, %d division(s): %ld codes in %.2f s = %.0f codes/s, "
           "%ld errors; stored serials moved by %lld\n",
           strncmp(argv[1], "sqlite:", 7) == 0 ? "sqlite" : "postgresql", threads, divisions, codes,
           el, (double)codes / el, errors, (long long)(after - before));
    return after - before == codes ? 0 : 1;
}
