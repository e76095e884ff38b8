/* The audit trail's API: list, verify, export (docs/audit.md). Audit administrators only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "eseal/witness.h"

static es_err time_param(es_http_req *req, const char *name, int64_t *out)
{
    const char *v = es_http_req_query(req, name);
    *out = 0;
    if (!v || !*v) return ES_OK;
    if (strspn(v, "0123456789") == strlen(v) && strlen(v) <= 15) {
        *out = strtoll(v, NULL, 10);
        return ES_OK;
    }
    es_time t;
    if (es_time_parse_iso(v, &t) == ES_OK) {
        *out = (int64_t)t * 1000;
        return ES_OK;
    }
    REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, name,
                                   "milliseconds since 1970 or an ISO 8601 time"),
           ES_ERR_ARG);
}

static es_err audit_filter(es_http_req *req, es_audit_filter *f)
{
    es_err rv;
    memset(f, 0, sizeof *f);
    if ((rv = time_param(req, "from", &f->from)) != ES_OK) return rv;
    if ((rv = time_param(req, "to", &f->to)) != ES_OK) return rv;
    const char *actor = es_http_req_query(req, "actor"), *action = es_http_req_query(req, "action");
    f->actor = actor && *actor ? actor : NULL;
    f->action = action && *action ? action : NULL;
    return ES_OK;
}

typedef struct audit_page {
    json_t *items;
    int64_t limit, n, last;
    int more;
} audit_page;

static es_err page_record(void *ctx, const es_audit_record *r)
{
    audit_page *p = ctx;
    if (p->n == p->limit) {
        p->more = 1;
        return ES_OK;
    }
    char hash[2 * ES_SM3_LEN + 1];
    es_hex_encode(r->hash.p, r->hash.len, hash);
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer(r->seq));
    json_object_set_new(o, "at", json_integer(r->at));
    json_object_set_new(o, "time", api_time_json(r->at / 1000));
    json_object_set_new(o, "actor", json_string(r->actor));
    json_object_set_new(o, "role", json_string(r->role));
    json_object_set_new(o, "action", json_string(r->action));
    json_object_set_new(o, "object", json_string(r->object));
    json_object_set_new(o, "detail", json_string(r->detail));
    json_object_set_new(o, "hash", json_string(hash));
    p->n++;
    p->last = r->seq;
    return json_array_append_new(p->items, o) == 0 ? ES_OK : ES_ERR_NOMEM;
}

static es_err audit_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_http_page page;
    es_audit_filter f;
    if ((rv = api_require(req, app, &a, ES_PERM_AUDIT, "audit.list")) != ES_OK) return rv;
    if ((rv = es_http_req_page(req, API_PAGE_AUDIT, app->cfg.page_max, &page)) != ES_OK) return rv;
    if ((rv = audit_filter(req, &f)) != ES_OK) return rv;
    if (page.cursor) {
        if (strspn(page.cursor, "0123456789") != strlen(page.cursor) || strlen(page.cursor) > 18)
            REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "cursor", "not a cursor of this list"),
                   ES_ERR_ARG);
        f.after = strtoll(page.cursor, NULL, 10);
    }
    f.limit = (int64_t)page.limit + 1;
    audit_page p = {json_array(), page.limit, 0, 0, 0};
    if (!p.items) return ES_ERR_NOMEM;
    if ((rv = es_audit_list(a.store, &f, page_record, &p)) != ES_OK) {
        json_decref(p.items);
        return rv;
    }
    char next[24];
    snprintf(next, sizeof next, "%lld", (long long)p.last);
    return es_http_reply_page(req, p.items, p.more ? next : NULL);
}

static es_err audit_verify(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_audit_report rep;
    es_buf b;
    if ((rv = api_require(req, app, &a, ES_PERM_AUDIT, "audit.verify")) != ES_OK) return rv;
    if ((rv = es_audit_verify_store(a.store, app->site.audit_pub, &rep)) != ES_OK) return rv;
    es_buf_init(&b, 64u << 20);
    rv = es_audit_report_print(&rep, 1, &b);
    es_audit_report_cleanup(&rep);
    if (rv == ES_OK) {
        json_error_t jerr;
        json_t *o = json_loadb((const char *)b.p, b.len, 0, &jerr);
        rv = o ? es_http_reply_json_new(req, 200, o) : ES_ERR_FORMAT;
    }
    es_buf_cleanup(&b);
    return rv;
}

static es_err export_write(void *ctx, const void *p, size_t len)
{
    return es_buf_append(ctx, p, len);
}

static es_err audit_export(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_audit_filter f;
    es_buf b;
    if ((rv = api_require(req, app, &a, ES_PERM_AUDIT, "audit.export")) != ES_OK) return rv;
    if ((rv = audit_filter(req, &f)) != ES_OK) return rv;
    es_buf_init(&b, API_MAX_EXPORT);
    rv = es_audit_export(a.store, &f, export_write, &b, NULL);
    if (rv == ES_OK)
        rv = es_http_add_header(req, "Content-Disposition",
                                "attachment; filename=\"eseal-audit.jsonl\"");
    if (rv == ES_OK)
        rv = es_http_reply_bytes(req, 200, "application/jsonl; charset=utf-8",
                                 b.p ? b.p : (void *)"", b.len);
    es_buf_cleanup(&b);
    return rv;
}

/* The witness (include/eseal/witness.h): a site below sends its signed checkpoints, as a
 * registered business system whose requests are signed; only such a client, for itself. */
static const api_user *witness_client(es_http_req *req)
{
    const api_user *su = api_user_of(req);
    return su && su->is_client ? su : NULL;
}

static es_err witness_post(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const api_user *su = witness_client(req);
    if (!su)
        REFUSE(es_http_reply_err(req, ES_ERR_DENIED,
                                 "checkpoints are sent by a site registered as an API client, "
                                 "in a signed request"),
               ES_ERR_DENIED);
    es_slice body = es_http_req_body(req);
    es_actor by = api_actor(su);
    char why[700] = "";
    int stored = 0;
    rv = es_witness_accept(&a, &by, su->client.name, body.p, body.len, &stored, why, sizeof why);
    if (rv == ES_ERR_WITNESS)
        es_api_log(app, ES_LOG_ERROR, "AUDIT WITNESS ALARM: client %s: %s", su->client.name, why);
    if (rv != ES_OK) return api_fail(req, rv, why);
    json_t *o = json_pack("{s:b}", "stored", stored);
    if (!o) return ES_ERR_NOMEM;
    return es_http_reply_json_new(req, stored ? 201 : 200, o);
}

static es_err witness_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const api_user *su = witness_client(req);
    if (!su)
        REFUSE(es_http_reply_err(req, ES_ERR_DENIED,
                                 "a site reads its checkpoints in a request signed as its API "
                                 "client"),
               ES_ERR_DENIED);
    es_buf b;
    es_buf_init(&b, API_MAX_EXPORT);
    const char *newest = es_http_req_query(req, "newest");
    rv = es_witness_list(a.store, su->client.name, newest && !strcmp(newest, "1"), &b);
    if (rv == ES_OK)
        rv = es_http_reply_bytes(req, 200, "application/jsonl; charset=utf-8",
                                 b.p ? b.p : (void *)"", b.len);
    es_buf_cleanup(&b);
    return rv;
}

es_err es_api_audit_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"GET", "/api/v1/audit", audit_list, 0, API_BODY_SMALL},
        {"GET", "/api/v1/audit/verify", audit_verify, 0, API_BODY_SMALL},
        {"GET", "/api/v1/audit/export", audit_export, 0, API_BODY_SMALL},
        {"POST", ES_WITNESS_PATH, witness_post, 0, API_BODY_FORM},
        {"GET", ES_WITNESS_PATH, witness_get, 0, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
