/* Online self-service renewal (docs/making.md "Self-service renewal", docs/openapi.json):
 * POST /api/v1/renewals, public: the seal key's signature is the proof, checked by the service
 * (src/svc/making/renewal.c). Rate-limited per address like the sign-in. */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"
#include "eseal/renewal.h"

static const es_json_field renewal_schema[] = {
    {"request", ES_JSON_STRING, ES_JSON_REQUIRED, ES_RENEWAL_MAX / 3 * 4 + 8},
    {"signature", ES_JSON_STRING, ES_JSON_REQUIRED, 256},
    {NULL},
};

static es_err reply_field(es_http_req *req, es_err rv, const char *field, const es_reason *why)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(es_err_name(rv)));
    if (field) json_object_set_new(o, "field", json_string(field));
    json_object_set_new(o, "message", json_string(why->en));
    json_object_set_new(o, "message_zh", json_string(why->zh));
    REFUSE(es_http_reply_json_new(req, es_err_http_status(rv), o), rv);
}

static es_err renewals_create(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    char key[ES_RATELIMIT_MAX_KEY + 1], ra[16];
    unsigned retry = 0;
    const char *from = es_http_req_client(req);
    snprintf(key, sizeof key, "renewal:%s", from);
    rv = es_ratelimit_take_now(app->signin_address, key, &retry);
    if (rv == ES_ERR_LIMIT) {
        snprintf(ra, sizeof ra, "%u", retry);
        es_api_log(app, ES_LOG_WARN, "self-service renewals over the limit for %s", from);
        if ((rv = es_http_add_header(req, "Retry-After", ra)) != ES_OK) return rv;
        REFUSE(es_http_reply_errf(req, ES_ERR_RATE,
                                  "too many renewal requests from this address: try again in %u s",
                                  retry),
               ES_ERR_RATE);
    }
    if (rv != ES_OK) return rv;
    json_t *in = NULL;
    es_buf text, sig;
    es_buf_init(&text, ES_RENEWAL_MAX + 4);
    es_buf_init(&sig, 256);
    const char *field = NULL;
    es_reason why = {NULL, NULL};
    int64_t id = 0;
    if ((rv = es_http_req_json(req, renewal_schema, &in)) != ES_OK) goto out;
    const char *r = json_string_value(json_object_get(in, "request"));
    const char *s = json_string_value(json_object_get(in, "signature"));
    if (es_base64_decode(r, strlen(r), &text) != ES_OK) {
        es_reason w = {"request is the canonical text in base64", "request 应为规范文本的 base64"};
        rv = reply_field(req, ES_ERR_RENEWAL_FORMAT, "request", &w);
        goto out;
    }
    if (es_base64_decode(s, strlen(s), &sig) != ES_OK) {
        es_reason w = {"signature is the DER SM2 signature in base64",
                       "signature 应为 DER 编码 SM2 签名的 base64"};
        rv = reply_field(req, ES_ERR_RENEWAL_FORMAT, "signature", &w);
        goto out;
    }
    es_making m;
    memset(&m, 0, sizeof m);
    m.a = &a;
    m.tables = app->making_tables;
    m.decisions = app->decisions;
    m.protect = app->protect;
    es_renewal_opts o = {app->cfg.making_renewal_window_days, from, ES_TIME_NONE};
    rv = es_making_renewal_request(&m, es_slice_make(text.p, text.len),
                                   es_slice_make(sig.p, sig.len), &o, &id, &field, &why);
    if (rv == ES_ERR_RENEWAL_FORMAT && why.en) {
        rv = reply_field(req, rv, field, &why);
        goto out;
    }
    if (rv != ES_OK) {
        if (es_err_http_status(rv) < 500) rv = api_fail(req, rv, NULL);
        goto out;
    }
    json_t *o2 = json_object();
    json_object_set_new(o2, "application_id", json_integer(id));
    json_object_set_new(o2, "state", json_string("submitted"));
    rv = es_http_reply_json_new(req, 201, o2);
out:
    json_decref(in);
    es_buf_cleanup(&text);
    es_buf_cleanup(&sig);
    return rv;
}

es_err es_api_renewals_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"POST", "/api/v1/renewals", renewals_create, ES_HTTP_PUBLIC, API_BODY_PEM},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
