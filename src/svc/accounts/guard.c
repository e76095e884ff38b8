/* Per-address back-off of sign-in failures (include/eseal/accounts.h, docs/accounts.md): so
 * that an outsider who knows an account's name cannot keep it locked. In memory, per daemon. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/accounts.h"

#define GUARD_KEY      (64 + 1 + ES_ACCOUNT_NAME_MAX + 1 + 1) /* "address\nname" */
#define GUARD_BASE_S   60
#define GUARD_MAX_S    3600
#define GUARD_FORGET_S 86400

typedef struct slot {
    char key[GUARD_KEY];
    unsigned failures; /* in a row, attempts in flight included */
    int trusted;       /* the owner's address: a sign-in succeeded from it */
    es_time blocked_until, last;
} slot;

struct es_signin_guard {
    pthread_mutex_t lock;
    unsigned share; /* failures of one outside address that count towards the lock */
    slot s[ES_SIGNIN_GUARD_SLOTS];
};

es_err es_signin_guard_new(unsigned lockout_failures, es_signin_guard **out)
{
    es_signin_guard *g = calloc(1, sizeof *g);
    *out = NULL;
    if (!g) return ES_ERR_NOMEM;
    if (pthread_mutex_init(&g->lock, NULL) != 0) {
        free(g);
        return ES_ERR_NOMEM;
    }
    g->share = (lockout_failures + 1) / 2;
    if (g->share < 1) g->share = 1;
    *out = g;
    return ES_OK;
}

void es_signin_guard_free(es_signin_guard *g)
{
    if (!g) return;
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static void key_of(const char *from, const char *name, char key[GUARD_KEY])
{
    snprintf(key, GUARD_KEY, "%.64s\n%.*s", from ? from : "?", ES_ACCOUNT_NAME_MAX + 1,
             name ? name : "");
}

/* The slot of key (under the lock); create: take the least recently used one when absent.
 * A pair quiet for a day starts again from nothing. */
static slot *find(es_signin_guard *g, const char *key, es_time now, int create)
{
    slot *old = &g->s[0], *hit = NULL;
    for (size_t i = 0; i < ES_SIGNIN_GUARD_SLOTS && !hit; i++) {
        if (g->s[i].key[0] && strcmp(g->s[i].key, key) == 0) hit = &g->s[i];
        if (g->s[i].last < old->last) old = &g->s[i];
    }
    if (hit && now - hit->last > GUARD_FORGET_S && hit->blocked_until <= now) {
        hit->failures = 0;
        hit->trusted = 0;
    }
    if (hit || !create) return hit;
    memset(old, 0, sizeof *old);
    snprintf(old->key, sizeof old->key, "%s", key);
    return old;
}

static int backing_off(const slot *e, es_time now)
{
    return e && !e->trusted && e->blocked_until > now;
}

es_err es_signin_guard_check(es_signin_guard *g, const char *from, const char *name, es_time now,
                             unsigned *retry_s)
{
    char key[GUARD_KEY];
    es_err rv = ES_OK;
    key_of(from, name, key);
    pthread_mutex_lock(&g->lock);
    slot *e = find(g, key, now, 0);
    if (backing_off(e, now)) {
        rv = ES_ERR_RATE;
        if (retry_s) *retry_s = (unsigned)(e->blocked_until - now);
    }
    pthread_mutex_unlock(&g->lock);
    return rv;
}

int es_signin_guard_trusted(es_signin_guard *g, const char *from, const char *name, es_time now)
{
    char key[GUARD_KEY];
    key_of(from, name, key);
    pthread_mutex_lock(&g->lock);
    slot *e = find(g, key, now, 0);
    int t = e && e->trusted;
    pthread_mutex_unlock(&g->lock);
    return t;
}

es_err es_signin_guard_admit(es_signin_guard *g, const char *from, const char *name, es_time now,
                             int *counts)
{
    char key[GUARD_KEY];
    key_of(from, name, key);
    pthread_mutex_lock(&g->lock);
    slot *e = find(g, key, now, 1);
    if (backing_off(e, now)) {
        pthread_mutex_unlock(&g->lock);
        return ES_ERR_RATE;
    }
    /* Counted before the password is verified, as the account's count is: parallel attempts
     * from one address get no more than the sequential ones. */
    *counts = e->trusted || e->failures < g->share;
    e->failures++;
    e->last = now;
    if (!e->trusted && e->failures >= g->share) {
        unsigned k = e->failures - g->share;
        es_time wait = k >= 6 ? GUARD_MAX_S : (es_time)GUARD_BASE_S << k;
        e->blocked_until = now + (wait > GUARD_MAX_S ? GUARD_MAX_S : wait);
    }
    pthread_mutex_unlock(&g->lock);
    return ES_OK;
}

void es_signin_guard_success(es_signin_guard *g, const char *from, const char *name, es_time now)
{
    char key[GUARD_KEY];
    key_of(from, name, key);
    pthread_mutex_lock(&g->lock);
    slot *e = find(g, key, now, 1);
    e->failures = 0;
    e->trusted = 1;
    e->blocked_until = 0;
    e->last = now;
    pthread_mutex_unlock(&g->lock);
}
