/* The node's link to the parent tier (node/internal.h, include/eseal/upstream.h,
 * docs/upstream.md): the job that sends the outbox's due requests, signed with the site's system
 * key as the registered business system [upstream] client of the parent. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/crypto.h"
#include "eseal/keydev.h"
#include "eseal/making.h"
#include "eseal/upstream.h"
#include "node/internal.h"

struct node_upstream {
    es_api_ctx *x;
    es_upstream *u;
    es_sched *sched;
    es_signer *key;     /* signs the requests; used by one run at a time (mu) */
    es_signer *answers; /* the simulator: signs its answers (es_upstream_sign serialises) */
    int parent_pub_set;
    uint8_t parent_pub[ES_SM2_PUB_LEN]; /* [upstream] parent_cert's key: answers verified */
    pthread_mutex_t mu; /* one run at a time: the scheduler's and a test's run now */
    es_signer *fkey;    /* signs forwarded requests (a tier with children), under fmu */
    pthread_mutex_t fmu;
};

/* A child's request passed on to this tier's parent (upstream.h es_upstream_forward_fn), signed
 * as this site; the parent's 2xx answer taken only signed by it when parent_cert is set. One
 * exchange at a time per daemon (the key is one device session). */
static es_err node_forward(void *ctx, const char *path, es_slice body, unsigned *status,
                           es_buf *answer, char *why, size_t whylen)
{
    node_upstream *nu = ctx;
    es_api_ctx *x = nu->x;
    char sig[512] = "";
    size_t mark = answer->len;
    pthread_mutex_lock(&nu->fmu);
    es_err rv = node_http_exchange(x->cfg.upstream_url, path, NULL, x->cfg.upstream_client,
                                   nu->fkey, "POST", body, status, answer, ES_UPSTREAM_SIG_HEADER,
                                   sig, sizeof sig, why, whylen);
    pthread_mutex_unlock(&nu->fmu);
    if (rv != ES_OK) {
        *status = 0;
        answer->len = mark;
        return ES_OK;
    }
    if (*status >= 200 && *status < 300 && nu->parent_pub_set &&
        es_upstream_answer_verify(nu->parent_pub, *status, body,
                                  es_slice_make(answer->p + mark, answer->len - mark),
                                  sig) != ES_OK) {
        snprintf(why, whylen,
                 "HTTP %u, but the answer is not signed by the parent's system key "
                 "([upstream] parent_cert): not taken",
                 *status);
        es_api_log(x, ES_LOG_ERROR, "forward %s: %s", path, why);
        *status = 0;
        answer->len = mark;
    }
    return ES_OK;
}

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
    pthread_mutex_init(&nu->fmu, NULL);
    es_err rv = ES_OK;
    /* The simulator signs its answers with the site's system key (its system certificate). */
    /* A tier that forwards signs its answers to its children too (docs/upstream.md). */
    if ((c->tier == ES_TIER_NATIONAL_SIMULATOR || c->upstream_url[0]) &&
        (rv = es_keydev_signer(c->key_system, &x->site.pin, &nu->answers)) != ES_OK) {
        snprintf(why, whylen, "[keys] system %s (signs the simulator's answers): %s", c->key_system,
                 es_err_str(rv));
        goto fail;
    }
    es_upstream_opts o = {x->audit, c->upstream_retry_min_ms, c->upstream_retry_max_ms,
                          nu->answers};
    if ((rv = es_upstream_new(&o, &nu->u)) != ES_OK) goto fail;
    if (c->upstream_parent_cert[0]) {
        es_buf pem, der;
        es_cert_info ci;
        memset(&ci, 0, sizeof ci);
        es_buf_init(&pem, 1u << 20);
        es_buf_init(&der, 1u << 20);
        rv = es_file_read(c->upstream_parent_cert, &pem);
        if (rv == ES_OK) rv = es_cert_to_der(pem.p, pem.len, &der);
        if (rv == ES_OK) rv = es_cert_parse(es_slice_make(der.p, der.len), &ci);
        if (rv == ES_OK && !ci.is_sm2) rv = ES_ERR_KEY;
        if (rv == ES_OK) {
            memcpy(nu->parent_pub, ci.pub, ES_SM2_PUB_LEN);
            nu->parent_pub_set = 1;
        }
        es_cert_info_cleanup(&ci);
        es_buf_cleanup(&pem);
        es_buf_cleanup(&der);
        if (rv != ES_OK) {
            snprintf(why, whylen, "[upstream] parent_cert %s: %s", c->upstream_parent_cert,
                     es_err_str(rv));
            rv = ES_ERR_CONFIG;
            goto fail;
        }
    }
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
        if ((rv = es_keydev_signer(ref, &x->site.pin, &nu->key)) != ES_OK ||
            (rv = es_keydev_signer(ref, &x->site.pin, &nu->fkey)) != ES_OK) {
            snprintf(why, whylen, "[upstream] key %s: %s", ref, es_err_str(rv));
            goto fail;
        }
        if (c->tier != ES_TIER_NATIONAL_SIMULATOR) es_upstream_set_forward(nu->u, node_forward, nu);
    }
    x->upstream = nu->u;
    *out = nu;
    return ES_OK;
fail:
    es_upstream_free(nu->u);
    es_signer_free(nu->answers);
    es_signer_free(nu->key);
    es_signer_free(nu->fkey);
    pthread_mutex_destroy(&nu->mu);
    pthread_mutex_destroy(&nu->fmu);
    free(nu);
    return rv;
}

/* The making system on store st (the job's connection, or the answer's transaction). */
static es_making making_on(es_api_ctx *x, es_store *st, es_accounts *a)
{
    es_making m;
    memset(a, 0, sizeof *a);
    a->store = st;
    a->audit = x->audit;
    a->ca = x->ca;
    memset(&m, 0, sizeof m);
    m.a = a;
    m.ca = x->ca;
    m.maker = x->maker;
    m.maker_cert = es_slice_make(x->site.system_cert.p, x->site.system_cert.len);
    m.tables = x->making_tables;
    m.ca_lock = &x->ca_lock;
    m.decisions = x->decisions;
    m.protect = x->protect;
    m.upstream = x->upstream;
    return m;
}

/* code.assign and seal.file answers of the making system's national flows (making.h), in the
 * transaction that records the answer. */
static es_err on_national_answer(void *ctx, es_store *st, const char *kind, const char *key,
                                 es_slice answer)
{
    node_upstream *nu = ctx;
    es_accounts a;
    es_making m = making_on(nu->x, st, &a);
    return es_making_national_answer(&m, kind, key, answer);
}

/* The national flows' steps that need the CA or the maker key (making.h). */
static void national_advance(node_upstream *nu, es_store *s)
{
    es_api_ctx *x = nu->x;
    if (!(x->cfg.systems & ES_SYS_MAKING) || !x->maker || !x->ca) return;
    es_accounts a;
    es_making m = making_on(x, s, &a);
    size_t moved = 0;
    es_err rv = es_making_national_advance(&m, &moved);
    if (rv != ES_OK)
        es_api_log(x, ES_LOG_WARN, "national flows: a step failed, tried again next pass: %s",
                   es_err_str(rv));
    if (moved) {
        pthread_mutex_lock(&x->ca_lock);
        x->crl.len = 0; /* an old certificate may have been revoked: the next CRL anew */
        pthread_mutex_unlock(&x->ca_lock);
        es_api_log(x, ES_LOG_DEBUG, "national flows: %zu steps", moved);
    }
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
    national_advance(nu, s);
    es_err rv = es_upstream_claim(nu->u, s, wall_ms(), jobs, ES_UPSTREAM_BATCH, &n);
    es_buf answer;
    es_buf_init(&answer, ES_UPSTREAM_MAX_ANSWER);
    for (size_t i = 0; rv == ES_OK && i < n; i++) {
        es_upstream_job *j = &jobs[i];
        char why[400] = "", sig[512] = "";
        unsigned status = 0;
        answer.len = 0;
        es_slice req = es_slice_make(j->body.p, j->body.len);
        es_err xrv =
            node_http_exchange(x->cfg.upstream_url, es_upstream_path(j->kind), NULL,
                               x->cfg.upstream_client, nu->key, "POST", req, &status, &answer,
                               ES_UPSTREAM_SIG_HEADER, sig, sizeof sig, why, sizeof why);
        if (xrv != ES_OK) status = 0;
        if (xrv != ES_OK && !why[0]) snprintf(why, sizeof why, "%s", es_err_str(xrv));
        /* A 2xx answer is taken only signed by the parent, for this request. */
        if (status >= 200 && status < 300 && nu->parent_pub_set &&
            es_upstream_answer_verify(nu->parent_pub, status, req,
                                      es_slice_make(answer.p, answer.len), sig) != ES_OK) {
            snprintf(why, sizeof why,
                     "HTTP %u, but the answer is not signed by the parent's system key "
                     "([upstream] parent_cert): not taken",
                     status);
            status = 0;
            es_api_log(x, ES_LOG_ERROR, "upstream: %s %s: %s", j->kind, j->key, why);
        }
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
    if (n) national_advance(nu, s);
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
    /* The making system's national flows (making.h): registered once the making system is
     * open (after node_upstream_new), before the job first runs. */
    if ((nu->x->cfg.systems & ES_SYS_MAKING) &&
        ((rv = es_upstream_on_done(nu->u, ES_UPSTREAM_CODE_ASSIGN, on_national_answer, nu)) !=
             ES_OK ||
         (rv = es_upstream_on_done(nu->u, ES_UPSTREAM_SEAL_FILE, on_national_answer, nu)) !=
             ES_OK)) {
        snprintf(why, whylen, "cannot register the national flows' answers: %s", es_err_str(rv));
        return rv;
    }
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
    es_signer_free(nu->fkey);
    es_signer_free(nu->answers);
    pthread_mutex_destroy(&nu->mu);
    pthread_mutex_destroy(&nu->fmu);
    free(nu);
}
