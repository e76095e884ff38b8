/* The scheduler of a node (include/eseal/node.h): one thread, jobs by period. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/node.h"

#define SCHED_MAX_JOBS 16

typedef struct job {
    const char *name;
    unsigned period; /* ms */
    es_sched_fn fn;
    void *arg;
    struct timespec next;
    unsigned long runs;
} job;

struct es_sched {
    job jobs[SCHED_MAX_JOBS];
    size_t n;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* wakes the thread: stop, or a job asked for now */
    pthread_cond_t done; /* wakes es_sched_run_now's caller */
    int started, stopping;
    /* A job asked to run now (es_sched_run_now): its index, result and a sequence number. */
    long now_job;
    es_err now_rv;
    unsigned long now_seq, now_done;
    void (*log)(void *, const char *);
    void *log_arg;
    pthread_t th;
};

static void mono_now(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

/* t moved on by ms milliseconds. */
static void add_ms(struct timespec *t, unsigned ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static int before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

es_err es_sched_new(es_sched **out)
{
    es_sched *s = calloc(1, sizeof *s);
    if (!s) return ES_ERR_NOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return ES_ERR_NOMEM;
    }
    if (pthread_cond_init(&s->cv, &ca) != 0 || pthread_cond_init(&s->done, NULL) != 0) {
        pthread_condattr_destroy(&ca);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return ES_ERR_NOMEM;
    }
    pthread_condattr_destroy(&ca);
    s->now_job = -1;
    *out = s;
    return ES_OK;
}

es_err es_sched_add(es_sched *s, const char *name, unsigned period, es_sched_fn fn, void *arg)
{
    if (!s || !name || !fn || period == 0 || s->started) return ES_ERR_ARG;
    if (s->n == SCHED_MAX_JOBS) return ES_ERR_LIMIT;
    job *j = &s->jobs[s->n++];
    memset(j, 0, sizeof *j);
    j->name = name;
    j->period = period;
    j->fn = fn;
    j->arg = arg;
    mono_now(&j->next);
    add_ms(&j->next, period);
    return ES_OK;
}

/* Runs job i outside the lock; called with the lock held, returns with it held. */
static es_err run_job(es_sched *s, size_t i)
{
    job *j = &s->jobs[i];
    pthread_mutex_unlock(&s->mu);
    es_err rv = j->fn(j->arg);
    if (rv != ES_OK && s->log) {
        char line[160];
        snprintf(line, sizeof line, "job %s failed: %s (runs again in %u ms)", j->name,
                 es_err_str(rv), j->period);
        s->log(s->log_arg, line);
    }
    pthread_mutex_lock(&s->mu);
    j->runs++;
    mono_now(&j->next);
    add_ms(&j->next, j->period);
    return rv;
}

static void *loop(void *arg)
{
    es_sched *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        if (s->now_job >= 0) {
            size_t i = (size_t)s->now_job;
            s->now_job = -1;
            s->now_rv = run_job(s, i);
            s->now_done = s->now_seq;
            pthread_cond_broadcast(&s->done);
            continue;
        }
        struct timespec now, wake;
        mono_now(&now);
        size_t due = s->n;
        wake = now;
        wake.tv_sec += 3600;
        for (size_t i = 0; i < s->n; i++) {
            if (!before(&now, &s->jobs[i].next)) {
                due = i;
                break;
            }
            if (before(&s->jobs[i].next, &wake)) wake = s->jobs[i].next;
        }
        if (due < s->n) {
            (void)run_job(s, due);
            continue;
        }
        int rc = pthread_cond_timedwait(&s->cv, &s->mu, &wake);
        (void)rc; /* ETIMEDOUT or a wake-up: the loop looks again */
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

es_err es_sched_start(es_sched *s, void (*log)(void *, const char *), void *log_arg)
{
    if (!s || s->started) return ES_ERR_ARG;
    s->log = log;
    s->log_arg = log_arg;
    if (pthread_create(&s->th, NULL, loop, s) != 0) return ES_ERR_NOMEM;
    s->started = 1;
    return ES_OK;
}

static long find(es_sched *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->jobs[i].name, name) == 0) return (long)i;
    return -1;
}

es_err es_sched_run_now(es_sched *s, const char *name)
{
    if (!s || !name) return ES_ERR_ARG;
    pthread_mutex_lock(&s->mu);
    long i = find(s, name);
    if (i < 0 || !s->started || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return i < 0 ? ES_ERR_NOT_FOUND : ES_ERR_UNAVAILABLE;
    }
    /* One request at a time: wait for an earlier one to be taken. */
    while (s->now_job >= 0 && !s->stopping) pthread_cond_wait(&s->done, &s->mu);
    unsigned long seq = ++s->now_seq;
    s->now_job = i;
    pthread_cond_signal(&s->cv);
    while (s->now_done < seq && !s->stopping) pthread_cond_wait(&s->done, &s->mu);
    es_err rv = s->now_done >= seq ? s->now_rv : ES_ERR_UNAVAILABLE;
    pthread_mutex_unlock(&s->mu);
    return rv;
}

unsigned long es_sched_runs(es_sched *s, const char *name)
{
    if (!s || !name) return 0;
    pthread_mutex_lock(&s->mu);
    long i = find(s, name);
    unsigned long n = i < 0 ? 0 : s->jobs[i].runs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void es_sched_free(es_sched *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
    if (s->started) pthread_join(s->th, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->done);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
