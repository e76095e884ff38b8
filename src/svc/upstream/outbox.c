/* The outbox of requests to the parent tier (include/eseal/upstream.h, docs/upstream.md): queued
 * in the caller's transaction, claimed under a lease by one sender at a time, completed in one
 * transaction with the caller's handler and its audit record. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/crypto.h"
#include "eseal/upstream.h"
#include "svc/internal.h"

#define N_KINDS 3
static const char *const kinds[N_KINDS] = {ES_UPSTREAM_CODE_ASSIGN, ES_UPSTREAM_SEAL_FILE,
                                           ES_UPSTREAM_SEAL_STATUS};
static const char *const paths[N_KINDS] = {ES_NATIONAL_CODES, ES_NATIONAL_FILINGS,
                                           ES_NATIONAL_STATUS};

struct es_upstream {
    pthread_mutex_t mu;      /* the handler table */
    pthread_mutex_t sign_mu; /* answer_key */
    es_signer *audit;
    es_signer *answer_key;
    unsigned retry_min_ms, retry_max_ms;
    struct {
        es_upstream_done_fn fn;
        void *ctx;
    } done[N_KINDS];
    es_upstream_forward_fn forward; /* a tier that forwards: the exchange with its parent */
    void *forward_ctx;
};

void es_upstream_set_forward(es_upstream *u, es_upstream_forward_fn fn, void *ctx)
{
    if (!u) return;
    u->forward = fn;
    u->forward_ctx = ctx;
}

es_err es_upstream_forward_send(es_upstream *u, const char *path, es_slice body, unsigned *status,
                                es_buf *answer, char *why, size_t whylen)
{
    if (!u || !u->forward) return ES_ERR_UNAVAILABLE;
    return u->forward(u->forward_ctx, path, body, status, answer, why, whylen);
}

static int kind_index(const char *kind)
{
    for (int i = 0; kind && i < N_KINDS; i++)
        if (strcmp(kind, kinds[i]) == 0) return i;
    return -1;
}

const char *es_upstream_path(const char *kind)
{
    int i = kind_index(kind);
    return i < 0 ? NULL : paths[i];
}

/* A key goes into the wire body between quotes as it is: printable ASCII without '"' and
 * '\\'. */
static int key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > ES_UPSTREAM_KEY_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e || key[i] == '"' || key[i] == '\\') return 0;
    return 1;
}

es_err es_upstream_new(const es_upstream_opts *o, es_upstream **out)
{
    if (!out) return ES_ERR_ARG;
    *out = NULL;
    es_upstream *u = calloc(1, sizeof *u);
    if (!u) return ES_ERR_NOMEM;
    if (pthread_mutex_init(&u->mu, NULL) != 0) {
        free(u);
        return ES_ERR_NOMEM;
    }
    if (pthread_mutex_init(&u->sign_mu, NULL) != 0) {
        pthread_mutex_destroy(&u->mu);
        free(u);
        return ES_ERR_NOMEM;
    }
    u->audit = o ? o->audit : NULL;
    u->answer_key = o ? o->answer_key : NULL;
    u->retry_min_ms = o && o->retry_min_ms ? o->retry_min_ms : 1000;
    u->retry_max_ms = o && o->retry_max_ms ? o->retry_max_ms : 3600000;
    if (u->retry_max_ms < u->retry_min_ms) u->retry_max_ms = u->retry_min_ms;
    *out = u;
    return ES_OK;
}

es_err es_upstream_sign(es_upstream *u, unsigned status, es_slice request, es_slice answer,
                        es_buf *value)
{
    if (!u || !u->answer_key) return ES_ERR_UNAVAILABLE;
    /* A key device handle is used by one thread at a time. */
    pthread_mutex_lock(&u->sign_mu);
    es_err rv = es_upstream_answer_sign(u->answer_key, status, request, answer, value);
    pthread_mutex_unlock(&u->sign_mu);
    return rv;
}

void es_upstream_free(es_upstream *u)
{
    if (!u) return;
    pthread_mutex_destroy(&u->mu);
    pthread_mutex_destroy(&u->sign_mu);
    free(u);
}

es_err es_upstream_on_done(es_upstream *u, const char *kind, es_upstream_done_fn fn, void *ctx)
{
    int i = kind_index(kind);
    if (!u || i < 0) return ES_ERR_ARG;
    pthread_mutex_lock(&u->mu);
    u->done[i].fn = fn;
    u->done[i].ctx = ctx;
    pthread_mutex_unlock(&u->mu);
    return ES_OK;
}

static int64_t now_ms_wall(void)
{
    return (int64_t)es_time_now() * 1000;
}

es_err es_upstream_enqueue_in(es_store *st, const char *kind, const char *key, es_slice body)
{
    if (!st || kind_index(kind) < 0 || !key_ok(key) || (!body.p && body.len)) return ES_ERR_ARG;
    if (body.len > ES_UPSTREAM_MAX_BODY) return ES_ERR_LIMIT;
    if (!body.len || memchr(body.p, 0, body.len)) return ES_ERR_ARG;
    json_error_t jerr;
    json_t *o = json_loadb((const char *)body.p, body.len, JSON_REJECT_DUPLICATES, &jerr);
    int is_obj = json_is_object(o);
    json_decref(o);
    if (!is_obj) return ES_ERR_ARG;
    es_value p[5] = {es_v_text(kind),
                     es_v_text(key),
                     {ES_V_TEXT, 0, body.p, body.len},
                     es_v_int(now_ms_wall()),
                     es_v_int(es_time_now())};
    /* A second enqueue of the same kind and key is the first one's: nothing changes. */
    return es_store_exec(st,
                         "INSERT INTO upstream_outbox (kind, req_key, body, state, attempts, "
                         "next_at_ms, created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?) "
                         "ON CONFLICT (kind, req_key) DO NOTHING",
                         p, 5, NULL);
}

static es_err state_row(void *ctx, const es_row *r)
{
    es_upstream_state *s = ctx;
    snprintf(s->state, sizeof s->state, "%s", es_row_text(r, 0, NULL));
    s->attempts = (int)es_row_int(r, 1);
    s->next_at = es_row_int(r, 2) / 1000;
    snprintf(s->last_error, sizeof s->last_error, "%s", es_row_text(r, 3, NULL));
    return ES_ERR_EXISTS; /* found: stop */
}

es_err es_upstream_state_get(es_store *st, const char *kind, const char *key,
                             es_upstream_state *out)
{
    if (!out) return ES_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!st || !kind || !key) return ES_ERR_ARG;
    es_value p[2] = {es_v_text(kind), es_v_text(key)};
    es_err rv = es_store_query(st,
                               "SELECT state, attempts, next_at_ms, last_error FROM "
                               "upstream_outbox WHERE kind = ? AND req_key = ?",
                               p, 2, state_row, out);
    if (rv == ES_ERR_EXISTS) return ES_OK;
    return rv == ES_OK ? ES_ERR_NOT_FOUND : rv;
}

void es_upstream_job_cleanup(es_upstream_job *j)
{
    if (!j) return;
    es_buf_cleanup(&j->body);
}

typedef struct ids {
    int64_t id[ES_UPSTREAM_BATCH];
    size_t n;
} ids;

static es_err id_row(void *ctx, const es_row *r)
{
    ids *l = ctx;
    if (l->n < ES_UPSTREAM_BATCH) l->id[l->n++] = es_row_int(r, 0);
    return ES_OK;
}

static es_err job_row(void *ctx, const es_row *r)
{
    es_upstream_job *j = ctx;
    size_t blen = 0;
    const char *body = es_row_text(r, 2, &blen);
    snprintf(j->kind, sizeof j->kind, "%s", es_row_text(r, 0, NULL));
    snprintf(j->key, sizeof j->key, "%s", es_row_text(r, 1, NULL));
    j->attempts = (int)es_row_int(r, 3);
    /* The wire body: the key (checked at enqueue: nothing to escape) and the body as queued. */
    es_err rv = es_buf_printf(&j->body, "{\"key\":\"%s\",\"body\":", j->key);
    if (rv == ES_OK) rv = es_buf_append(&j->body, body, blen);
    if (rv == ES_OK) rv = es_buf_append_byte(&j->body, '}');
    return rv;
}

es_err es_upstream_claim(es_upstream *u, es_store *st, int64_t now_ms, es_upstream_job *jobs,
                         size_t max, size_t *n)
{
    if (!n) return ES_ERR_ARG;
    *n = 0;
    if (!u || !st || (!jobs && max)) return ES_ERR_ARG;
    if (max > ES_UPSTREAM_BATCH) max = ES_UPSTREAM_BATCH;
    uint8_t rnd[16];
    char lease[33];
    es_err rv = es_random(rnd, sizeof rnd);
    if (rv != ES_OK) return rv;
    es_hex_encode(rnd, sizeof rnd, lease);
    ids due = {0};
    if ((rv = es_store_begin(st)) != ES_OK) return rv;
    es_value q[3] = {es_v_int(now_ms), es_v_int(now_ms), es_v_int((int64_t)max)};
    rv = es_store_query(st,
                        "SELECT id FROM upstream_outbox WHERE state = 'pending' AND "
                        "next_at_ms <= ? AND lease_until_ms <= ? ORDER BY next_at_ms, id LIMIT ?",
                        q, 3, id_row, &due);
    for (size_t i = 0; rv == ES_OK && i < due.n; i++) {
        int64_t changed = 0;
        /* The condition is read again under the row's lock (PostgreSQL READ COMMITTED; SQLite
         * has one writer): of two claimers only one changes the row. */
        es_value p[6] = {es_v_text(lease), es_v_int(now_ms + ES_UPSTREAM_LEASE_MS),
                         es_v_int(due.id[i]), es_v_int(now_ms), es_v_int(now_ms)};
        rv = es_store_exec(st,
                           "UPDATE upstream_outbox SET lease = ?, lease_until_ms = ?, "
                           "attempts = attempts + 1 WHERE id = ? AND state = 'pending' AND "
                           "next_at_ms <= ? AND lease_until_ms <= ?",
                           p, 5, &changed);
        if (rv != ES_OK || changed != 1) continue;
        es_upstream_job *j = &jobs[*n];
        memset(j, 0, sizeof *j);
        es_buf_init(&j->body, ES_UPSTREAM_MAX_BODY + ES_UPSTREAM_KEY_MAX + 64);
        j->id = due.id[i];
        snprintf(j->lease, sizeof j->lease, "%s", lease);
        es_value k = es_v_int(j->id);
        rv = es_store_query(
            st, "SELECT kind, req_key, body, attempts FROM upstream_outbox WHERE id = ?", &k, 1,
            job_row, j);
        (*n)++;
    }
    if (rv == ES_OK) rv = es_store_commit(st);
    if (rv != ES_OK) {
        es_store_rollback(st);
        for (size_t i = 0; i < *n; i++) es_upstream_job_cleanup(&jobs[i]);
        *n = 0;
    }
    return rv;
}

/* The reason of an error answer {"error", "message", "detail"}: "HTTP 409 name: detail". */
static void refusal_reason(const es_upstream_result *res, char *out, size_t n)
{
    json_error_t jerr;
    json_t *o =
        res->answer.len ? json_loadb((const char *)res->answer.p, res->answer.len, 0, &jerr) : NULL;
    const char *name = json_string_value(json_object_get(o, "error"));
    const char *msg = json_string_value(json_object_get(o, "detail"));
    if (!msg) msg = json_string_value(json_object_get(o, "message"));
    snprintf(out, n, "HTTP %u%s%.60s%s%.180s", res->status, name ? " " : "", name ? name : "",
             msg ? ": " : "", msg ? msg : "");
    json_decref(o);
}

/* 1 for a refusal that is final: a 4xx but those that say "not now" or "not yet you". */
static int refused(unsigned status)
{
    return status >= 400 && status < 500 && status != 401 && status != 408 && status != 429;
}

/* The wait before attempt attempts + 1: min * 2^(attempts-1), at most max, times 0.5..1. */
static int64_t backoff_ms(const es_upstream *u, int attempts)
{
    uint64_t d = u->retry_min_ms;
    for (int i = 1; i < attempts && d < u->retry_max_ms; i++) d *= 2;
    if (d > u->retry_max_ms) d = u->retry_max_ms;
    uint32_t r = 0;
    if (es_random(&r, sizeof r) != ES_OK) r = 0;
    return (int64_t)(d / 2 + (d / 2 + 1) * (uint64_t)r / ((uint64_t)UINT32_MAX + 1));
}

static void json_text(char *out, size_t n, const char *s)
{
    /* Text for an audit detail: quotes, backslashes and control characters left out. */
    size_t k = 0;
    for (; s && *s && k + 1 < n; s++)
        if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20) out[k++] = *s;
    out[k] = 0;
}

static es_err retry_later(es_upstream *u, es_store *st, const es_upstream_job *job, int64_t now_ms,
                          const char *why)
{
    es_value p[5] = {es_v_int(now_ms + backoff_ms(u, job->attempts)), es_v_text(why),
                     es_v_int(job->id), es_v_text(job->lease)};
    int64_t changed = 0;
    es_err rv = es_store_begin(st);
    if (rv != ES_OK) return rv;
    rv = es_store_exec(st,
                       "UPDATE upstream_outbox SET next_at_ms = ?, last_error = ?, lease = '', "
                       "lease_until_ms = 0 WHERE id = ? AND lease = ? AND state = 'pending'",
                       p, 4, &changed);
    if (rv == ES_OK) rv = es_store_commit(st);
    if (rv != ES_OK) es_store_rollback(st);
    return rv == ES_OK && changed != 1 ? ES_ERR_BUSY : rv;
}

es_err es_upstream_complete(es_upstream *u, es_store *st, const es_upstream_job *job,
                            const es_upstream_result *res, int64_t now_ms, const char **state)
{
    if (state) *state = "pending";
    if (!u || !st || !job || !res) return ES_ERR_ARG;
    int k = kind_index(job->kind);
    if (k < 0) return ES_ERR_ARG;
    char why[300] = "", object[ES_UPSTREAM_KEY_MAX + 32], detail[600];
    es_actor sys = {"system", 0, 0, 1};
    es_accounts a = {0};
    a.store = st;
    a.audit = u->audit;
    svc_rec rec;
    es_err rv;
    snprintf(object, sizeof object, "upstream:%s:%s", job->kind, job->key);

    if (res->status >= 200 && res->status < 300) {
        es_upstream_answer ans;
        es_upstream_answer_init(&ans);
        char inner[200] = "";
        rv = es_upstream_answer_parse(job->kind, res->answer, &ans, inner, sizeof inner);
        if (rv != ES_OK) {
            snprintf(why, sizeof why, "HTTP %u, but the answer is unusable: %s", res->status,
                     inner);
            es_upstream_answer_cleanup(&ans);
            return retry_later(u, st, job, now_ms, why);
        }
        snprintf(detail, sizeof detail, "{\"attempts\":%d,\"status\":%u%s%s%s%s}", job->attempts,
                 res->status, ans.code[0] ? ",\"code\":\"" : "", ans.code, ans.code[0] ? "\"" : "",
                 ans.simulator ? ",\"simulator\":true" : "");
        es_upstream_answer_cleanup(&ans);
        if ((rv = svc_audit_prepare(&a, &sys, "upstream.done", object, detail, &rec)) != ES_OK)
            return rv;
        pthread_mutex_lock(&u->mu);
        es_upstream_done_fn fn = u->done[k].fn;
        void *ctx = u->done[k].ctx;
        pthread_mutex_unlock(&u->mu);
        int64_t changed = 0;
        es_value p[4] = {{ES_V_TEXT, 0, res->answer.p, res->answer.len},
                         es_v_int(es_time_now()),
                         es_v_int(job->id),
                         es_v_text(job->lease)};
        if ((rv = es_store_begin(st)) != ES_OK) return rv;
        rv = es_store_exec(st,
                           "UPDATE upstream_outbox SET state = 'done', answer = ?, done_at = ?, "
                           "last_error = '', lease = '', lease_until_ms = 0 WHERE id = ? AND "
                           "lease = ? AND state = 'pending'",
                           p, 4, &changed);
        if (rv == ES_OK && changed != 1) rv = ES_ERR_BUSY; /* the lease was lost */
        es_err hrv = ES_OK;
        if (rv == ES_OK && fn) {
            hrv = fn(ctx, st, job->kind, job->key, res->answer);
            if (hrv != ES_OK) rv = hrv;
        }
        if (rv == ES_OK) rv = svc_audit_append(&a, &rec);
        if (rv == ES_OK) rv = es_store_commit(st);
        if (rv == ES_OK) {
            if (state) *state = "done";
            return ES_OK;
        }
        es_store_rollback(st);
        if (rv == ES_ERR_BUSY) return rv;
        /* The answer is not recorded: the request goes again (the parent answers the same). */
        snprintf(why, sizeof why, "%s: %s",
                 hrv != ES_OK ? "the answer's handler failed" : "the answer cannot be recorded",
                 es_err_str(rv));
        es_err r2 = retry_later(u, st, job, now_ms, why);
        return r2 != ES_OK ? r2 : rv;
    }

    if (res->status && refused(res->status)) {
        char reason[256], clean[256];
        refusal_reason(res, reason, sizeof reason);
        json_text(clean, sizeof clean, reason);
        snprintf(detail, sizeof detail, "{\"attempts\":%d,\"reason\":\"%s\"}", job->attempts,
                 clean);
        if ((rv = svc_audit_prepare(&a, &sys, "upstream.failed", object, detail, &rec)) != ES_OK)
            return rv;
        int64_t changed = 0;
        es_value p[4] = {es_v_text(reason), es_v_int(es_time_now()), es_v_int(job->id),
                         es_v_text(job->lease)};
        if ((rv = es_store_begin(st)) != ES_OK) return rv;
        rv = es_store_exec(st,
                           "UPDATE upstream_outbox SET state = 'failed', last_error = ?, "
                           "done_at = ?, lease = '', lease_until_ms = 0 WHERE id = ? AND "
                           "lease = ? AND state = 'pending'",
                           p, 4, &changed);
        if (rv == ES_OK && changed != 1) rv = ES_ERR_BUSY;
        if (rv == ES_OK) rv = svc_audit_append(&a, &rec);
        if (rv == ES_OK) rv = es_store_commit(st);
        if (rv != ES_OK) {
            es_store_rollback(st);
            return rv;
        }
        if (state) *state = "failed";
        return ES_OK;
    }

    if (res->status)
        refusal_reason(res, why, sizeof why);
    else
        snprintf(why, sizeof why, "%s", res->why && *res->why ? res->why : "no answer");
    return retry_later(u, st, job, now_ms, why);
}
