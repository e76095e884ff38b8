/* The node's link to the parent tier (node/internal.h, include/eseal/upstream.h,
 * docs/upstream.md): the job that sends the outbox's due requests, signed with the site's system
 * key as the registered business system [upstream] client of the parent. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/keydev.h"
#include "eseal/upstream.h"
#include "node/internal.h"

struct node_upstream {
    es_api_ctx *x;
    es_upstream *u;
    es_sched *sched;
    es_signer *key;     /* signs the requests; used by one run at a time (mu) */
    pthread_mutex_t mu; /* one run at a time: the scheduler's and a test's run now */
};

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

es_err node_upstream_new(es_api_ctx *x, node_upstream **out, char *why, size_t whylen)
{
    *out = NULL;
    const es_config *c = &x->cfg;
    node_upstream *nu = calloc(1, sizeof *nu);
    if (!nu) return ES_ERR_NOMEM;
    nu->x = x;
    pthread_mutex_init(&nu->mu, NULL);
    es_upstream_opts o = {x->audit, c->upstream_retry_min_ms, c->upstream_retry_max_ms};
    es_err rv = es_upstream_new(&o, &nu->u);
    if (rv != ES_OK) goto fail;
    if (c->upstream_url[0]) {
        const char *ref = c->upstream_key[0] ? c->upstream_key : c->key_system;
        if (!c->upstream_client[0]) {
            snprintf(why, whylen,
                     "[upstream] url %s needs client (the name this site is registered under "
                     "at the parent tier)",
                     c->upstream_url);
            rv = ES_ERR_CONFIG;
            goto fail;
        }
        if ((rv = es_keydev_signer(ref, &x->site.pin, &nu->key)) != ES_OK) {
            snprintf(why, whylen, "[upstream] key %s: %s", ref, es_err_str(rv));
            goto fail;
        }
    }
    x->upstream = nu->u;
    *out = nu;
    return ES_OK;
fail:
    es_upstream_free(nu->u);
    pthread_mutex_destroy(&nu->mu);
    free(nu);
    return rv;
}

es_err node_upstream_run(node_upstream *nu, size_t *sent)
{
    if (sent) *sent = 0;
    if (!nu || !nu->key) return ES_ERR_UNAVAILABLE;
    es_api_ctx *x = nu->x;
    es_store *s = es_api_store(x);
    if (!s) return ES_ERR_UNAVAILABLE;
    es_upstream_job jobs[ES_UPSTREAM_BATCH];
    size_t n = 0;
    pthread_mutex_lock(&nu->mu);
    es_err rv = es_upstream_claim(nu->u, s, wall_ms(), jobs, ES_UPSTREAM_BATCH, &n);
    es_buf answer;
    es_buf_init(&answer, ES_UPSTREAM_MAX_ANSWER);
    for (size_t i = 0; rv == ES_OK && i < n; i++) {
        es_upstream_job *j = &jobs[i];
        char why[400] = "";
        unsigned status = 0;
        answer.len = 0;
        es_err xrv = node_http_exchange(
            x->cfg.upstream_url, es_upstream_path(j->kind), NULL, x->cfg.upstream_client, nu->key,
            "POST", es_slice_make(j->body.p, j->body.len), &status, &answer, why, sizeof why);
        if (xrv != ES_OK) status = 0;
        if (xrv != ES_OK && !why[0]) snprintf(why, sizeof why, "%s", es_err_str(xrv));
        es_upstream_result res = {status, es_slice_make(answer.p, answer.len), why};
        const char *state = "pending";
        es_err crv = es_upstream_complete(nu->u, s, j, &res, wall_ms(), &state);
        if (crv != ES_OK) {
            es_api_log(x, ES_LOG_WARN, "upstream: %s %s: the result cannot be recorded: %s",
                       j->kind, j->key, es_err_str(crv));
        } else if (strcmp(state, "done") == 0) {
            if (sent) (*sent)++;
            es_api_log(x, ES_LOG_DEBUG, "upstream: %s %s done (attempt %d)", j->kind, j->key,
                       j->attempts);
        } else if (strcmp(state, "failed") == 0) {
            if (sent) (*sent)++;
            es_api_log(x, ES_LOG_ERROR, "upstream: %s %s refused by the parent tier: HTTP %u",
                       j->kind, j->key, status);
        } else {
            es_api_log(x, ES_LOG_WARN, "upstream: %s %s not through (attempt %d), retried: %s",
                       j->kind, j->key, j->attempts, status ? "server error" : why);
        }
    }
    for (size_t i = 0; i < n; i++) es_upstream_job_cleanup(&jobs[i]);
    pthread_mutex_unlock(&nu->mu);
    es_buf_cleanup(&answer);
    return rv;
}

static es_err job_upstream(void *arg)
{
    return node_upstream_run(arg, NULL);
}

es_err node_upstream_start(node_upstream *nu, char *why, size_t whylen)
{
    if (!nu || !nu->key) return ES_OK;
    es_err rv;
    if ((rv = es_sched_new(&nu->sched)) != ES_OK ||
        (rv = es_sched_add(nu->sched, "upstream", nu->x->cfg.upstream_poll_ms, job_upstream, nu)) !=
            ES_OK ||
        (rv = es_sched_start(nu->sched, NULL, NULL)) != ES_OK) {
        snprintf(why, whylen, "cannot start the upstream job: %s", es_err_str(rv));
        es_sched_free(nu->sched);
        nu->sched = NULL;
        return rv;
    }
    es_api_log(nu->x, ES_LOG_INFO, "upstream: %s as %s, every %u ms", nu->x->cfg.upstream_url,
               nu->x->cfg.upstream_client, nu->x->cfg.upstream_poll_ms);
    return ES_OK;
}

es_err node_upstream_run_now(node_upstream *nu)
{
    if (!nu || !nu->sched) return ES_ERR_UNAVAILABLE;
    return es_sched_run_now(nu->sched, "upstream");
}

void node_upstream_free(node_upstream *nu)
{
    if (!nu) return;
    es_sched_free(nu->sched); /* a running pass finishes first */
    if (nu->x->upstream == nu->u) nu->x->upstream = NULL;
    es_upstream_free(nu->u);
    es_signer_free(nu->key);
    pthread_mutex_destroy(&nu->mu);
    free(nu);
}
