/* The status publishing system's online query (docs/status.md, docs/openapi.json; ST2, ST9,
 * ST11, ST12): GET /api/v1/status/{code} and GET /api/v1/status/certs/{serial}, public (no
 * sign-in), rate-limited per address. Answers without a nonce are signed once and cached here
 * until the seal's records change (the status event counter or the CA's revocations move),
 * the answer nears its nextUpdate, or the certificate's validity ends; answers with a nonce are
 * signed on demand. The rules are in src/svc/status/. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "eseal/status.h"

#define CACHE_SLOTS 4096
#define CT_DER      "application/vnd.eseal.status-answer"

typedef struct cache_slot {
    int used, by;
    char key[ES_STATUS_SERIAL_MAX];
    es_time at; /* ES_TIME_NONE: the answer about now */
    int64_t seq, revs;
    es_time refresh_at; /* re-signed from then on */
    es_time next_update;
    uint8_t *der;
    size_t len;
    char etag[40];
} cache_slot;

struct es_status_cache {
    pthread_mutex_t lock;
    cache_slot slot[CACHE_SLOTS];
};

es_err api_status_init(es_api_ctx *ctx)
{
    unsigned rate =
        ctx->cfg.status_rate_address ? ctx->cfg.status_rate_address : ES_API_STATUS_RATE;
    struct es_status_cache *c = calloc(1, sizeof *c);
    if (!c) return ES_ERR_NOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return ES_ERR_NOMEM;
    }
    es_err rv = es_ratelimit_new(1u << 14, rate / 10 ? rate / 10 : 1, rate, &ctx->status_rate);
    if (rv != ES_OK) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return rv;
    }
    ctx->status_cache = c;
    return ES_OK;
}

void api_status_cleanup(es_api_ctx *ctx)
{
    struct es_status_cache *c = ctx->status_cache;
    es_ratelimit_free(ctx->status_rate);
    ctx->status_rate = NULL;
    if (!c) return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) free(c->slot[i].der);
    pthread_mutex_destroy(&c->lock);
    free(c);
    ctx->status_cache = NULL;
}

static size_t slot_of(int by, const char *key, es_time at)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)by;
    for (const char *p = key; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ (uint64_t)at) * 1099511628211ull;
    return (size_t)(h % CACHE_SLOTS);
}

static es_err etag_of(const uint8_t *der, size_t len, char out[40])
{
    uint8_t d[ES_SM3_LEN];
    es_err rv = es_sm3(der, len, d);
    if (rv != ES_OK) return rv;
    out[0] = '"';
    es_hex_encode(d, 16, out + 1);
    out[33] = '"';
    out[34] = 0;
    return ES_OK;
}

/* A 400 naming the field, from the error table (English and Chinese). */
static es_err bad(es_http_req *req, es_err code, const char *field, const char *detail)
{
    REFUSE(es_http_reply_err_field(req, code, field, detail), code);
}

static int wants_der(es_http_req *req)
{
    const char *f = es_http_req_query(req, "format");
    if (f) return !strcmp(f, "der");
    const char *acc = es_http_req_header(req, "Accept");
    return acc && strstr(acc, CT_DER) != NULL;
}

/* The reply: DER (CT_DER) or the JSON view carrying the DER in base64 ("answer"). */
static es_err reply_answer(es_http_req *req, const uint8_t *der, size_t len, const char *etag,
                           int cacheable, es_time next_update)
{
    es_err rv;
    int der_form = wants_der(req);
    char tag[48];
    snprintf(tag, sizeof tag, "%.*s%s\"", (int)strlen(etag) - 1, etag, der_form ? "" : "-j");
    if (cacheable) {
        es_time left = next_update - es_time_now();
        char cc[64];
        snprintf(cc, sizeof cc, "public, max-age=%lld",
                 (long long)(left < 0                       ? 0
                             : left < ES_API_STATUS_MAX_AGE ? left
                                                            : ES_API_STATUS_MAX_AGE));
        if ((rv = es_http_set_cache(req, cc)) != ES_OK ||
            (rv = es_http_add_header(req, "ETag", tag)) != ES_OK)
            return rv;
    }
    if ((rv = es_http_add_header(req, "Vary", "Accept")) != ES_OK) return rv;
    const char *inm = es_http_req_header(req, "If-None-Match");
    if (cacheable && inm && strstr(inm, tag)) return es_http_reply_empty(req, 304);
    if (der_form) return es_http_reply_bytes(req, 200, CT_DER, der, len);
    es_status_answer a;
    es_buf js, b64;
    es_buf_init(&js, 1u << 20);
    es_buf_init(&b64, 1u << 20);
    rv = es_status_answer_parse(es_slice_make(der, len), &a);
    if (rv == ES_OK) rv = es_status_answer_json(&a, &js);
    if (rv == ES_OK) rv = es_base64_encode(der, len, &b64);
    json_t *o = NULL;
    if (rv == ES_OK) {
        o = json_loadb((const char *)js.p, js.len, 0, NULL);
        if (!o) rv = ES_ERR_INTERNAL;
    }
    if (rv == ES_OK) {
        json_object_set_new(o, "answer", json_stringn((const char *)b64.p, b64.len));
        rv = es_http_reply_json_new(req, 200, o);
    }
    es_buf_cleanup(&js);
    es_buf_cleanup(&b64);
    return rv;
}

static es_err query(es_http_req *req, es_api_ctx *app, int by)
{
    char rkey[ES_RATELIMIT_MAX_KEY + 1], ra[16];
    unsigned retry = 0;
    const char *from = es_http_req_client(req);
    snprintf(rkey, sizeof rkey, "status:%s", from);
    es_err rv = es_ratelimit_take_now(app->status_rate, rkey, &retry);
    if (rv == ES_ERR_LIMIT) {
        snprintf(ra, sizeof ra, "%u", retry);
        if ((rv = es_http_add_header(req, "Retry-After", ra)) != ES_OK) return rv;
        REFUSE(es_http_reply_errf(req, ES_ERR_RATE,
                                  "too many status queries from this address: try again in %u s",
                                  retry),
               ES_ERR_RATE);
    }
    if (rv != ES_OK) return rv;
    /* The input first: a malformed question is the asker's, whatever the node's state. */
    char key[ES_STATUS_SERIAL_MAX];
    const char *p = es_http_req_param(req, by == ES_STATUS_BY_CODE ? "code" : "serial");
    if (by == ES_STATUS_BY_CODE) {
        if (!es_status_code_ok(p)) return bad(req, ES_ERR_STATUS_CODE, "code", NULL);
        snprintf(key, sizeof key, "%s", p);
    } else if (!es_status_serial_norm(p, key)) {
        return bad(req, ES_ERR_STATUS_SERIAL, "serial", NULL);
    }
    es_time now = es_time_now(), at = ES_TIME_NONE;
    const char *at_s = es_http_req_query(req, "at");
    if (at_s && (strlen(at_s) > 40 || es_time_parse_iso(at_s, &at) != ES_OK ||
                 at < -62135596800LL /* 0001-01-01 */ || at > 253402300799LL /* 9999-12-31 */))
        return bad(req, ES_ERR_STATUS_TIME, "at", NULL);
    const char *nonce_s = es_http_req_query(req, "nonce");
    es_buf nonce;
    es_buf_init(&nonce, ES_STATUS_NONCE_MAX);
    if (nonce_s) {
        size_t n = strlen(nonce_s);
        if (n < 2 * ES_STATUS_NONCE_MIN || n > 2 * ES_STATUS_NONCE_MAX || n % 2 ||
            es_hex_decode(nonce_s, n, &nonce) != ES_OK) {
            es_buf_cleanup(&nonce);
            return bad(req, ES_ERR_STATUS_NONCE, "nonce", NULL);
        }
    }
    const char *f = es_http_req_query(req, "format");
    if (f && strcmp(f, "der") != 0 && strcmp(f, "json") != 0) {
        es_buf_cleanup(&nonce);
        return bad(req, ES_ERR_ARG, "format", "format is der or json");
    }
    es_store *st = es_api_store(app);
    if (!st || !app->status_key || !app->site.status_cert.len || !app->status_cache) {
        es_buf_cleanup(&nonce);
        REFUSE(es_http_reply_err(req, ES_ERR_UNAVAILABLE, NULL), ES_ERR_UNAVAILABLE);
    }
    int64_t seq = 0, revs = 0;
    es_status_result *r = NULL;
    es_buf der;
    es_buf_init(&der, ES_STATUS_ANSWER_MAX);
    struct es_status_cache *c = app->status_cache;
    cache_slot *s = NULL;
    char etag[40] = "";
    es_time next_update = now + ES_STATUS_NEXT_UPDATE;
    if ((rv = es_status_version(st, &seq, &revs)) != ES_OK) goto out;
    if (!nonce.len) {
        s = &c->slot[slot_of(by, key, at)];
        pthread_mutex_lock(&c->lock);
        if (s->used && s->by == by && s->at == at && !strcmp(s->key, key) && s->seq == seq &&
            s->revs == revs && now < s->refresh_at &&
            (rv = es_buf_append(&der, s->der, s->len)) == ES_OK) {
            snprintf(etag, sizeof etag, "%s", s->etag);
            next_update = s->next_update;
        }
        pthread_mutex_unlock(&c->lock);
        if (rv != ES_OK) goto out;
        if (etag[0]) {
            rv = reply_answer(req, der.p, der.len, etag, 1, next_update);
            goto out;
        }
    }
    if (!(r = malloc(sizeof *r))) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    if ((rv = es_status_lookup(st, by, key, at == ES_TIME_NONE ? now : at, now, r)) != ES_OK)
        goto out;
    /* The counters read before the lookup: a change in between makes the entry stale at the
     * next query, never a stale entry that looks current. */
    r->seq = seq;
    es_status_responder resp = {app->status_key,
                                es_slice_make(app->site.status_cert.p, app->site.status_cert.len),
                                NULL, 0};
    if ((rv = es_status_answer_sign(r, &resp, now, next_update, es_slice_make(nonce.p, nonce.len),
                                    &der)) != ES_OK)
        goto out;
    if ((rv = etag_of(der.p, der.len, etag)) != ES_OK) goto out;
    if (s) {
        /* Re-signed a quarter before nextUpdate, or when the certificate's validity ends
         * (expired is a state no event records). */
        es_time refresh = next_update - ES_STATUS_NEXT_UPDATE / 4;
        if (r->has_validity && r->not_after >= now && r->not_after + 1 < refresh)
            refresh = r->not_after + 1;
        uint8_t *copy = malloc(der.len);
        if (copy) {
            memcpy(copy, der.p, der.len);
            pthread_mutex_lock(&c->lock);
            free(s->der);
            s->used = 1;
            s->by = by;
            snprintf(s->key, sizeof s->key, "%s", key);
            s->at = at;
            s->seq = seq;
            s->revs = revs;
            s->refresh_at = refresh;
            s->next_update = next_update;
            s->der = copy;
            s->len = der.len;
            snprintf(s->etag, sizeof s->etag, "%s", etag);
            pthread_mutex_unlock(&c->lock);
        }
    }
    rv = reply_answer(req, der.p, der.len, etag, s != NULL, next_update);
out:
    free(r);
    es_buf_cleanup(&der);
    es_buf_cleanup(&nonce);
    return rv;
}

static es_err status_by_code(es_http_req *req, void *arg)
{
    return query(req, arg, ES_STATUS_BY_CODE);
}

static es_err status_by_cert(es_http_req *req, void *arg)
{
    return query(req, arg, ES_STATUS_BY_CERT);
}

es_err es_api_status_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"GET", "/api/v1/status/certs/{serial}", status_by_cert, ES_HTTP_PUBLIC, API_BODY_SMALL},
        {"GET", "/api/v1/status/{code}", status_by_code, ES_HTTP_PUBLIC, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
