/* Token buckets in a fixed set-associative table, and a counting gate (ratelimit.h). */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "eseal/ratelimit.h"

/* Bucket levels are integers in units of 1/60000 token: a token a minute is one unit a
 * millisecond, so per_minute tokens a minute are per_minute units a millisecond and refill
 * is exact integer arithmetic. */
#define UNIT 60000u

struct slot {
    uint64_t hash;
    int64_t last_ms; /* the time level was computed at */
    uint64_t level;  /* units */
    unsigned char used, len;
    char key[ES_RATELIMIT_MAX_KEY + 1];
};

struct es_ratelimit {
    pthread_mutex_t mu;
    struct slot *slots;
    size_t nsets;
    uint64_t sipkey[2];
    uint64_t full;       /* burst * UNIT */
    uint64_t per_minute; /* units a millisecond */
    size_t used;
    uint64_t granted, refused, evicted;
};

/* SipHash-2-4 (Aumasson and Bernstein), so that the set a key falls in cannot be predicted
 * without the table's random key. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

static uint64_t siphash(const uint64_t k[2], const uint8_t *p, size_t len)
{
    uint64_t v0 = k[0] ^ 0x736f6d6570736575ull, v1 = k[1] ^ 0x646f72616e646f6dull;
    uint64_t v2 = k[0] ^ 0x6c7967656e657261ull, v3 = k[1] ^ 0x7465646279746573ull;
    uint64_t m, b = (uint64_t)len << 56;
    size_t i, n = len & ~(size_t)7;
    for (i = 0; i < n; i += 8) {
        m = 0;
        for (int j = 7; j >= 0; j--) m = m << 8 | p[i + (size_t)j];
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t j = 0; i + j < len; j++) b |= (uint64_t)p[i + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

int64_t es_ratelimit_clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void seed(uint64_t k[2], const void *salt)
{
    if (getrandom(k, 2 * sizeof k[0], GRND_NONBLOCK) == (ssize_t)(2 * sizeof k[0])) return;
    /* No entropy yet (early boot): the clocks and an address are still unknown outside. */
    struct timespec a, b;
    clock_gettime(CLOCK_REALTIME, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    k[0] = (uint64_t)a.tv_sec * 1000000007u ^ (uint64_t)a.tv_nsec ^ (uint64_t)(uintptr_t)salt;
    k[1] = (uint64_t)b.tv_sec * 2654435761u ^ (uint64_t)b.tv_nsec << 20 ^ (uint64_t)(uintptr_t)k;
}

es_err es_ratelimit_new(size_t slots, unsigned burst, unsigned per_minute, es_ratelimit **out)
{
    es_ratelimit *rl = NULL;
    es_err rv = ES_ERR_ARG;
    if (!out) return ES_ERR_ARG;
    *out = NULL;
    if (slots == 0 || slots > ES_RATELIMIT_MAX_SLOTS || burst == 0 || per_minute == 0) goto out;
    rv = ES_ERR_NOMEM;
    if (!(rl = calloc(1, sizeof *rl))) goto out;
    rl->nsets = (slots + ES_RATELIMIT_WAYS - 1) / ES_RATELIMIT_WAYS;
    if (!(rl->slots = calloc(rl->nsets * ES_RATELIMIT_WAYS, sizeof *rl->slots))) goto out;
    if (pthread_mutex_init(&rl->mu, NULL) != 0) goto out;
    rl->full = (uint64_t)burst * UNIT;
    rl->per_minute = per_minute;
    seed(rl->sipkey, rl);
    *out = rl;
    rl = NULL;
    rv = ES_OK;
out:
    if (rl) {
        free(rl->slots);
        free(rl);
    }
    return rv;
}

void es_ratelimit_free(es_ratelimit *rl)
{
    if (!rl) return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

/* The level of s at now: refilled since s->last_ms, capped at full. */
static uint64_t level_at(const es_ratelimit *rl, const struct slot *s, int64_t now)
{
    if (now <= s->last_ms) return s->level;
    uint64_t dt = (uint64_t)now - (uint64_t)s->last_ms;
    uint64_t missing = rl->full - s->level;
    /* Checked before multiplying: dt * per_minute then stays below missing + per_minute. */
    if (dt >= (missing + rl->per_minute - 1) / rl->per_minute) return rl->full;
    return s->level + dt * rl->per_minute;
}

/* The set of ES_RATELIMIT_WAYS slots key belongs to, or NULL for an invalid key. */
static struct slot *set_of(es_ratelimit *rl, const char *key, uint64_t *hash, size_t *len)
{
    if (!rl || !key) return NULL;
    *len = strnlen(key, ES_RATELIMIT_MAX_KEY + 1);
    if (*len > ES_RATELIMIT_MAX_KEY) return NULL;
    *hash = siphash(rl->sipkey, (const uint8_t *)key, *len);
    return &rl->slots[(size_t)(*hash % rl->nsets) * ES_RATELIMIT_WAYS];
}

static int holds(const struct slot *s, uint64_t hash, const char *key, size_t len)
{
    return s->used && s->hash == hash && s->len == len && memcmp(s->key, key, len) == 0;
}

es_err es_ratelimit_take(es_ratelimit *rl, const char *key, int64_t now_ms, unsigned *retry_after)
{
    uint64_t hash, level, victim_level = 0;
    size_t len;
    struct slot *set, *s = NULL, *empty = NULL, *victim = NULL;
    es_err rv = ES_OK;

    if (retry_after) *retry_after = 0;
    if (!(set = set_of(rl, key, &hash, &len))) return ES_ERR_ARG;
    pthread_mutex_lock(&rl->mu);
    for (unsigned i = 0; i < ES_RATELIMIT_WAYS; i++) {
        struct slot *c = &set[i];
        if (holds(c, hash, key, len)) {
            s = c;
            break;
        }
        if (!c->used) {
            if (!empty) empty = c;
            continue;
        }
        /* The fullest bucket, the oldest among equals: what a fresh entry would say anyway. */
        level = level_at(rl, c, now_ms);
        if (!victim || level > victim_level ||
            (level == victim_level && c->last_ms < victim->last_ms)) {
            victim = c;
            victim_level = level;
        }
    }
    if (!s) {
        if (empty) {
            s = empty;
            rl->used++;
        } else {
            s = victim;
            rl->evicted++;
        }
        s->used = 1;
        s->hash = hash;
        s->len = (unsigned char)len;
        memcpy(s->key, key, len);
        s->key[len] = 0;
        s->level = rl->full;
        s->last_ms = now_ms;
    }
    s->level = level_at(rl, s, now_ms);
    if (now_ms > s->last_ms) s->last_ms = now_ms;
    if (s->level >= UNIT) {
        s->level -= UNIT;
        rl->granted++;
    } else {
        uint64_t ms = (UNIT - s->level + rl->per_minute - 1) / rl->per_minute;
        if (retry_after) *retry_after = (unsigned)((ms + 999) / 1000);
        rl->refused++;
        rv = ES_ERR_LIMIT;
    }
    pthread_mutex_unlock(&rl->mu);
    return rv;
}

es_err es_ratelimit_take_now(es_ratelimit *rl, const char *key, unsigned *retry_after)
{
    return es_ratelimit_take(rl, key, es_ratelimit_clock_ms(), retry_after);
}

void es_ratelimit_reset(es_ratelimit *rl, const char *key)
{
    uint64_t hash;
    size_t len;
    struct slot *set = set_of(rl, key, &hash, &len);
    if (!set) return;
    pthread_mutex_lock(&rl->mu);
    for (unsigned i = 0; i < ES_RATELIMIT_WAYS; i++) {
        if (holds(&set[i], hash, key, len)) {
            memset(&set[i], 0, sizeof set[i]);
            rl->used--;
            break;
        }
    }
    pthread_mutex_unlock(&rl->mu);
}

void es_ratelimit_stats_get(es_ratelimit *rl, es_ratelimit_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!rl) return;
    pthread_mutex_lock(&rl->mu);
    out->capacity = rl->nsets * ES_RATELIMIT_WAYS;
    out->used = rl->used;
    out->granted = rl->granted;
    out->refused = rl->refused;
    out->evicted = rl->evicted;
    pthread_mutex_unlock(&rl->mu);
}

/* ---- The gate. */

struct es_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: a change of the wall clock moves no deadline */
    unsigned max, inside;
    unsigned waiting; /* blocked in es_gate_enter (es_gate_waiting) */
};

es_err es_gate_new(unsigned max, es_gate **out)
{
    es_gate *g = NULL;
    pthread_condattr_t ca;
    int have_ca = 0, have_mu = 0;
    es_err rv = ES_ERR_ARG;
    if (!out) return ES_ERR_ARG;
    *out = NULL;
    if (max == 0) goto out;
    rv = ES_ERR_NOMEM;
    if (!(g = calloc(1, sizeof *g))) goto out;
    if (pthread_mutex_init(&g->mu, NULL) != 0) goto out;
    have_mu = 1;
    if (pthread_condattr_init(&ca) != 0) goto out;
    have_ca = 1;
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 || pthread_cond_init(&g->cv, &ca) != 0)
        goto out;
    g->max = max;
    *out = g;
    g = NULL;
    rv = ES_OK;
out:
    if (have_ca) pthread_condattr_destroy(&ca);
    if (g) {
        if (have_mu) pthread_mutex_destroy(&g->mu);
        free(g);
    }
    return rv;
}

void es_gate_free(es_gate *g)
{
    if (!g) return;
    assert(g->inside == 0);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

es_err es_gate_enter(es_gate *g, unsigned timeout_ms)
{
    struct timespec deadline;
    es_err rv = ES_OK;
    if (!g) return ES_ERR_ARG;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(timeout_ms / 1000);
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&g->mu);
    while (g->inside >= g->max) {
        /* After a timeout a place may have been freed meanwhile: the check above decides. */
        int timed_out = timeout_ms == 0;
        if (!timed_out) {
            g->waiting++;
            timed_out = pthread_cond_timedwait(&g->cv, &g->mu, &deadline) != 0;
            g->waiting--;
        }
        if (timed_out) {
            if (g->inside >= g->max) rv = ES_ERR_LIMIT;
            break;
        }
    }
    if (rv == ES_OK) g->inside++;
    pthread_mutex_unlock(&g->mu);
    return rv;
}

void es_gate_leave(es_gate *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    assert(g->inside > 0);
    if (g->inside > 0) g->inside--;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

unsigned es_gate_inside(es_gate *g)
{
    unsigned n;
    if (!g) return 0;
    pthread_mutex_lock(&g->mu);
    n = g->inside;
    pthread_mutex_unlock(&g->mu);
    return n;
}

unsigned es_gate_waiting(es_gate *g)
{
    unsigned n;
    if (!g) return 0;
    pthread_mutex_lock(&g->mu);
    n = g->waiting;
    pthread_mutex_unlock(&g->mu);
    return n;
}
