/* Rate limits: token buckets on virtual time (burst, refill, Retry-After, independent keys,
 * a bounded table under a flood of keys and what it evicts, many threads on one key) and the
 * gate for concurrent expensive operations. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "eseal/ratelimit.h"

/* How many of n attempts at now_ms are granted. */
static int takes(es_ratelimit *rl, const char *key, int64_t now_ms, int n)
{
    int granted = 0;
    for (int i = 0; i < n; i++) granted += es_ratelimit_take(rl, key, now_ms, NULL) == ES_OK;
    return granted;
}

static void test_args(void)
{
    es_ratelimit *rl = (es_ratelimit *)1;
    es_gate *g = (es_gate *)1;
    char long_key[ES_RATELIMIT_MAX_KEY + 2];
    unsigned retry = 99;

    ok(es_ratelimit_new(0, 5, 5, &rl) == ES_ERR_ARG && !rl, "no slots refused");
    ok(es_ratelimit_new(16, 0, 5, &rl) == ES_ERR_ARG, "burst 0 refused");
    ok(es_ratelimit_new(16, 5, 0, &rl) == ES_ERR_ARG, "per_minute 0 refused");
    ok(es_ratelimit_new(ES_RATELIMIT_MAX_SLOTS + 1, 5, 5, &rl) == ES_ERR_ARG,
       "a table over ES_RATELIMIT_MAX_SLOTS refused");
    ok(es_gate_new(0, &g) == ES_ERR_ARG && !g, "a gate for nobody refused");

    if (es_ratelimit_new(10, 5, 5, &rl) != ES_OK) {
        ok(0, "es_ratelimit_new");
        return;
    }
    es_ratelimit_stats st;
    es_ratelimit_stats_get(rl, &st);
    ok(st.capacity == 16 && st.used == 0, "capacity rounded up to whole sets: %zu", st.capacity);
    memset(long_key, 'x', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = 0;
    ok(es_ratelimit_take(rl, long_key, 0, &retry) == ES_ERR_ARG && retry == 0,
       "a key over ES_RATELIMIT_MAX_KEY refused");
    long_key[ES_RATELIMIT_MAX_KEY] = 0;
    ok(es_ratelimit_take(rl, long_key, 0, &retry) == ES_OK, "a key of ES_RATELIMIT_MAX_KEY taken");
    ok(es_ratelimit_take(rl, NULL, 0, &retry) == ES_ERR_ARG, "a NULL key refused");
    ok(es_ratelimit_take(NULL, "k", 0, &retry) == ES_ERR_ARG, "a NULL table refused");
    es_ratelimit_free(rl);
    es_ratelimit_free(NULL);
    es_gate_free(NULL);
}

static void test_buckets(void)
{
    es_ratelimit *rl;
    unsigned retry = 0;

    /* Burst 3, then one token every 10 s. */
    if (es_ratelimit_new(64, 3, 6, &rl) != ES_OK) {
        ok(0, "es_ratelimit_new");
        return;
    }
    ok(takes(rl, "ip:192.0.2.1", 1000, 3) == 3, "the burst is granted");
    ok(es_ratelimit_take(rl, "ip:192.0.2.1", 1000, &retry) == ES_ERR_LIMIT && retry == 10,
       "then refused, a token back in 10 s: %u", retry);
    ok(es_ratelimit_take(rl, "ip:192.0.2.1", 4500, &retry) == ES_ERR_LIMIT && retry == 7,
       "3.5 s later, 6.5 s to wait rounds up to 7: %u", retry);
    ok(es_ratelimit_take(rl, "ip:192.0.2.1", 10999, &retry) == ES_ERR_LIMIT && retry == 1,
       "1 ms before the token, 1 s to wait: %u", retry);
    ok(es_ratelimit_take(rl, "ip:192.0.2.1", 11000, &retry) == ES_OK && retry == 0,
       "the refilled token is granted on time");
    ok(es_ratelimit_take(rl, "ip:192.0.2.1", 11000, &retry) == ES_ERR_LIMIT && retry == 10,
       "and only one");
    ok(takes(rl, "ip:192.0.2.1", 31000, 5) == 2, "20 s later, two tokens");
    ok(takes(rl, "ip:192.0.2.1", 1000000, 10) == 3, "after long idle, no more than the burst");
    ok(takes(rl, "ip:192.0.2.1", 999000, 10) == 0, "a time going backwards refills nothing");

    ok(takes(rl, "ip:192.0.2.2", 1000000, 10) == 3, "another key has its own burst");
    ok(takes(rl, "user:alice", 1000000, 10) == 3 && takes(rl, "user:bob", 1000000, 1) == 1,
       "keys are independent");
    ok(takes(rl, "user:alice", 1010000, 10) == 1 && takes(rl, "user:bob", 1010000, 10) == 3,
       "and refill independently");

    es_ratelimit_reset(rl, "user:alice");
    ok(takes(rl, "user:alice", 1010000, 10) == 3, "a reset key has a full bucket again");
    es_ratelimit_reset(rl, "user:nobody");

    es_ratelimit_stats st;
    es_ratelimit_stats_get(rl, &st);
    ok(st.used == 4 && st.evicted == 0 && st.granted == 23 && st.refused > 0,
       "counters: %zu used, %llu granted, %llu refused", st.used, (unsigned long long)st.granted,
       (unsigned long long)st.refused);
    es_ratelimit_free(rl);

    /* A fast rate: 6000 a minute is one every 10 ms, and retry_after is still whole seconds. */
    if (es_ratelimit_new(8, 1, 6000, &rl) != ES_OK) return;
    ok(takes(rl, "k", 0, 2) == 1 && es_ratelimit_take(rl, "k", 0, &retry) == ES_ERR_LIMIT &&
           retry == 1,
       "a wait under a second reads 1 s: %u", retry);
    int n = 0;
    for (int64_t t = 1000; t < 1500; t += 5) n += takes(rl, "k", t, 3);
    ok(n == 50, "one token per 10 ms: %d in 500 ms", n);
    es_ratelimit_free(rl);
}

/* One set of ES_RATELIMIT_WAYS slots: every key lands there, whatever the hash key. */
static void test_eviction_one_set(void)
{
    es_ratelimit *rl;
    char key[32];
    es_ratelimit_stats st;

    /* Burst 5, a token a second. */
    if (es_ratelimit_new(ES_RATELIMIT_WAYS, 5, 60, &rl) != ES_OK) return;
    ok(takes(rl, "a", 0, 3) == 3, "a takes 3");
    for (unsigned i = 1; i < ES_RATELIMIT_WAYS; i++) {
        snprintf(key, sizeof key, "k%u", i);
        (void)takes(rl, key, 0, 1);
    }
    /* At 2 s: the k are full again, a has 4. */
    ok(takes(rl, "new", 2000, 1) == 1, "a new key in a full table is granted");
    es_ratelimit_stats_get(rl, &st);
    ok(st.evicted == 1 && st.used == ES_RATELIMIT_WAYS, "one entry evicted");
    ok(takes(rl, "a", 2000, 10) == 4, "the partly used key was kept, a full one went");
    es_ratelimit_free(rl);

    /* When every entry is being limited the new key still gets its bucket: the fullest and
     * then the oldest entry makes room. */
    if (es_ratelimit_new(ES_RATELIMIT_WAYS, 5, 60, &rl) != ES_OK) return;
    for (unsigned i = 0; i < ES_RATELIMIT_WAYS; i++) {
        snprintf(key, sizeof key, "k%u", i);
        (void)takes(rl, key, i, 5);
    }
    ok(takes(rl, "new", 100, 1) == 1, "a new key among limited ones is granted");
    ok(takes(rl, "k7", 100, 1) == 0, "the newest limited key is still limited");
    ok(takes(rl, "k0", 100, 10) == 5, "the oldest (and fullest) limited key was evicted");
    es_ratelimit_free(rl);
}

static void test_flood(void)
{
    es_ratelimit *rl;
    char key[32];
    es_ratelimit_stats st;
    unsigned retry = 0;
    int kept = 1;

    /* Burst 5, 5 a minute; 1024 slots against 100000 keys. */
    if (es_ratelimit_new(1024, 5, 5, &rl) != ES_OK) return;
    ok(takes(rl, "user:victim", 0, 10) == 5, "the victim's burst is spent");
    ok(takes(rl, "ip:198.51.100.0", 0, 1) == 1, "an early key");
    for (unsigned i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "ip:10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        int64_t t = i / 100; /* the flood lasts one second */
        if (es_ratelimit_take(rl, key, t, NULL) != ES_OK) kept = 0;
        /* Between flood keys the victim keeps trying, as an attacker guessing a password. */
        if (i % 1000 == 0 && es_ratelimit_take(rl, "user:victim", t, NULL) != ES_ERR_LIMIT)
            kept = 0;
    }
    ok(kept, "every fresh key granted, the victim refused throughout");
    es_ratelimit_stats_get(rl, &st);
    ok(st.capacity == 1024 && st.used <= st.capacity, "memory bounded: %zu of %zu slots", st.used,
       st.capacity);
    ok(st.evicted >= 100002 - 1024, "old keys evicted: %llu", (unsigned long long)st.evicted);
    ok(es_ratelimit_take(rl, "user:victim", 1000, &retry) == ES_ERR_LIMIT && retry >= 11,
       "the limited key was not evicted for fresh ones: retry after %u s", retry);
    ok(takes(rl, "ip:198.51.100.0", 1000, 10) == 5, "the early key was evicted (a fresh bucket)");
    es_ratelimit_free(rl);
}

/* ---- Threads. */

#define THREADS 8

struct hammer {
    es_ratelimit *rl;
    int granted;
};

/* Each thread walks the same virtual 10 s in its own order of attempts. */
static void *hammer_one_key(void *arg)
{
    struct hammer *h = arg;
    for (int64_t t = 0; t < 10000; t++)
        for (int i = 0; i < 3; i++) h->granted += es_ratelimit_take(h->rl, "user:x", t, NULL) == 0;
    return NULL;
}

struct hammer_many {
    es_ratelimit *rl;
    unsigned id;
    int bad;
};

static void *hammer_many_keys(void *arg)
{
    struct hammer_many *h = arg;
    char key[32];
    uint32_t r = 0x9e3779b9u ^ h->id;
    for (unsigned i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "ip:%u", t_rnd(&r) % 5000);
        es_err rv = es_ratelimit_take(h->rl, key, i, NULL);
        if (rv != ES_OK && rv != ES_ERR_LIMIT) h->bad++;
        if (i % 97 == 0) es_ratelimit_reset(h->rl, key);
    }
    return NULL;
}

static void test_threads(void)
{
    es_ratelimit *rl;
    pthread_t th[THREADS];
    struct hammer h[THREADS];
    struct hammer_many hm[THREADS];
    int total = 0, started = 0, bad = 0;

    /* Burst 10, a token a second: over 0..9999 ms, 10 + 9 tokens exist. */
    if (es_ratelimit_new(64, 10, 60, &rl) != ES_OK) return;
    for (int i = 0; i < THREADS; i++) {
        h[i] = (struct hammer){rl, 0};
        if (pthread_create(&th[i], NULL, hammer_one_key, &h[i]) != 0) break;
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < started; i++) total += h[i].granted;
    ok(started == THREADS, "%d threads", started);
    ok(total <= 19, "%d threads never get more than the 19 tokens there are: %d", started, total);
    ok(total == 19, "and all 19 are granted: %d", total);
    es_ratelimit_free(rl);

    /* Many keys in a small table: eviction and reset under contention (for the sanitizers). */
    if (es_ratelimit_new(256, 3, 600, &rl) != ES_OK) return;
    started = 0;
    for (int i = 0; i < THREADS; i++) {
        hm[i] = (struct hammer_many){rl, (unsigned)i + 1, 0};
        if (pthread_create(&th[i], NULL, hammer_many_keys, &hm[i]) != 0) break;
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < started; i++) bad += hm[i].bad;
    es_ratelimit_stats st;
    es_ratelimit_stats_get(rl, &st);
    ok(bad == 0 && st.used <= st.capacity && st.granted + st.refused == (uint64_t)started * 20000,
       "many keys from %d threads: %zu of %zu slots, %llu evicted", started, st.used, st.capacity,
       (unsigned long long)st.evicted);
    es_ratelimit_free(rl);
}

/* ---- The gate. */

#define GATE_MAX 3

struct gate_run {
    es_gate *g;
    atomic_int inside, max_seen, entered, failed;
};

static void *gate_worker(void *arg)
{
    struct gate_run *r = arg;
    for (int i = 0; i < 50; i++) {
        if (es_gate_enter(r->g, 60000) != ES_OK) {
            atomic_fetch_add(&r->failed, 1);
            continue;
        }
        int n = atomic_fetch_add(&r->inside, 1) + 1;
        int m = atomic_load(&r->max_seen);
        while (n > m && !atomic_compare_exchange_weak(&r->max_seen, &m, n)) {
        }
        /* Stay inside a little, so that others pile up at the gate. */
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        atomic_fetch_sub(&r->inside, 1);
        atomic_fetch_add(&r->entered, 1);
        es_gate_leave(r->g);
    }
    return NULL;
}

struct waiter {
    es_gate *g;
    es_err rv;
};

static void *gate_waiter(void *arg)
{
    struct waiter *w = arg;
    w->rv = es_gate_enter(w->g, 60000);
    if (w->rv == ES_OK) es_gate_leave(w->g);
    return NULL;
}

static void test_gate(void)
{
    es_gate *g;
    pthread_t th[THREADS];
    struct gate_run r;
    int started = 0;

    if (es_gate_new(GATE_MAX, &g) != ES_OK) {
        ok(0, "es_gate_new");
        return;
    }
    ok(es_gate_enter(g, 0) == ES_OK && es_gate_enter(g, 0) == ES_OK &&
           es_gate_enter(g, 0) == ES_OK && es_gate_inside(g) == 3,
       "three enter a gate of three");
    ok(es_gate_enter(g, 0) == ES_ERR_LIMIT && es_gate_inside(g) == 3,
       "a fourth is refused at once with timeout 0");
    int64_t t0 = es_ratelimit_clock_ms();
    ok(es_gate_enter(g, 50) == ES_ERR_LIMIT, "and after a 50 ms timeout");
    ok(es_ratelimit_clock_ms() - t0 >= 49, "having waited for it");
    es_gate_leave(g);
    ok(es_gate_enter(g, 0) == ES_OK, "a place freed is taken");

    /* A waiter blocked on the full gate gets in when a place is freed. */
    struct waiter w = {g, ES_ERR_ARG};
    pthread_t wt;
    if (pthread_create(&wt, NULL, gate_waiter, &w) == 0) {
        /* The barrier: the waiter is blocked in es_gate_enter (not merely started), within
         * 10 s or the check fails; then the place is freed. */
        int64_t until = es_ratelimit_clock_ms() + 10000;
        while (es_gate_waiting(g) == 0 && es_ratelimit_clock_ms() < until) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        ok(es_gate_waiting(g) == 1 && es_gate_inside(g) == 3, "a waiter blocks on a full gate");
        es_gate_leave(g);
        pthread_join(wt, NULL);
        ok(w.rv == ES_OK, "a waiter enters when a place is freed");
    } else {
        ok(0, "pthread_create");
        es_gate_leave(g);
    }
    es_gate_leave(g);
    es_gate_leave(g);
    ok(es_gate_inside(g) == 0, "everyone left");

    atomic_init(&r.inside, 0);
    atomic_init(&r.max_seen, 0);
    atomic_init(&r.entered, 0);
    atomic_init(&r.failed, 0);
    r.g = g;
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&th[i], NULL, gate_worker, &r) != 0) break;
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    ok(started == THREADS && atomic_load(&r.entered) == THREADS * 50 && atomic_load(&r.failed) == 0,
       "%d threads entered %d times", started, atomic_load(&r.entered));
    ok(atomic_load(&r.max_seen) <= GATE_MAX, "never more than %d inside: at most %d seen", GATE_MAX,
       atomic_load(&r.max_seen));
    ok(es_gate_inside(g) == 0, "the gate is empty afterwards");
    es_gate_free(g);
}

int main(void)
{
    test_args();
    test_buckets();
    test_eviction_one_set();
    test_flood();
    test_threads();
    test_gate();
    return t_done();
}
