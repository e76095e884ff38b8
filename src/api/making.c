/* The making system's resources (docs/making.md, docs/openapi.json): applications, their
 * materials and picture, the decisions on them, seals and status events. Maps requests to the
 * making service (src/svc/making/making.c), which checks the permissions and audits. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "eseal/decision.h"
#include "eseal/making.h"

enum { API_BODY_MATERIAL = ES_MK_MATERIAL_MAX, API_BODY_PICTURE = ES_MK_PICTURE_MAX };

static es_making making_of(es_api_ctx *app, es_accounts *a)
{
    es_making m;
    memset(&m, 0, sizeof m);
    m.a = a;
    m.ca = app->ca;
    m.maker = app->maker;
    m.maker_cert = es_slice_make(app->site.system_cert.p, app->site.system_cert.len);
    m.tables = app->making_tables;
    m.ca_lock = &app->ca_lock;
    m.decisions = app->decisions;
    m.protect = app->protect;
    m.upstream = app->upstream;
    return m;
}

/* 400 (or the code's status) naming the field, in English and Chinese. */
static es_err reply_field(es_http_req *req, es_err rv, const char *field, const es_reason *why)
{
    if (!why || !why->en) REFUSE(es_http_reply_err_field(req, rv, field, NULL), rv);
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(es_err_name(rv)));
    if (field) json_object_set_new(o, "field", json_string(field));
    json_object_set_new(o, "message", json_string(why->en));
    json_object_set_new(o, "message_zh", json_string(why->zh));
    REFUSE(es_http_reply_json_new(req, es_err_http_status(rv), o), rv);
}

/* The service's refusal with its sentence (why may be empty). */
static es_err fail(es_http_req *req, es_err rv, const char *why)
{
    if (rv == ES_ERR_BUSY) {
        es_err r2 = es_http_add_header(req, "Retry-After", "1");
        if (r2 != ES_OK) return r2;
        REFUSE(es_http_reply_err(req, rv, NULL), rv);
    }
    if (es_err_http_status(rv) >= 500) return rv;
    return api_fail(req, rv, why && why[0] ? why : NULL);
}

/* The permission check of a route: any of the permissions in mask (bits 1 << es_perm); a
 * refusal is audited and answered 403 (api_require, with the first permission named). */
#define P(x) (1u << (x))
static es_err need(es_http_req *req, es_api_ctx *app, es_accounts *a, unsigned mask,
                   const char *what)
{
    const api_user *su = api_user_of(req);
    es_perm first = ES_PERM_COUNT;
    for (int p = 0; p < ES_PERM_COUNT; p++)
        if (mask & P(p)) {
            if (first == ES_PERM_COUNT) first = (es_perm)p;
            if (su && es_roles_allow(su->u.roles, (es_perm)p)) return ES_OK;
        }
    return api_require(req, app, a, first, what);
}
#define READ_PERMS (P(ES_PERM_SEAL_APPLY) | P(ES_PERM_SEAL_REVIEW) | P(ES_PERM_SEAL_MAKE))

static int parse_id(const char *s, int64_t *id)
{
    char *end = NULL;
    if (!s || !*s || strlen(s) > 18) return 0;
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    long long v = strtoll(s, &end, 10);
    if (v <= 0) return 0;
    *id = v;
    return 1;
}

static json_t *opt_time(int64_t t)
{
    return t ? api_time_json(t) : json_null();
}

static json_t *app_json(const es_application *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(a->id));
    json_object_set_new(o, "kind", json_string(a->kind));
    json_object_set_new(o, "state", json_string(a->state));
    json_object_set_new(o, "scope", json_string(a->scope));
    json_object_set_new(o, "carrier", json_string(a->carrier));
    json_object_set_new(o, "seal_code", json_string(a->seal_code));
    json_object_set_new(o, "made_code", json_string(a->made_code));
    json_object_set_new(o, "uscc", json_string(a->uscc));
    json_object_set_new(o, "division", json_string(a->division));
    json_object_set_new(o, "unit_type", json_string(a->unit_type));
    json_object_set_new(o, "unit_name", json_string(a->unit_name));
    json_object_set_new(o, "agent_name", json_string(a->agent_name));
    json_object_set_new(o, "agent_idno", json_string(a->agent_idno));
    json_object_set_new(o, "agent_mobile", json_string(a->agent_mobile));
    json_object_set_new(o, "unit_address", json_string(a->unit_address));
    json_object_set_new(o, "approver_name", json_string(a->approver_name));
    json_object_set_new(o, "approver_division", json_string(a->approver_division));
    json_object_set_new(o, "seal_name", json_string(a->seal_name));
    json_object_set_new(o, "seal_type", json_integer(a->seal_type));
    json_object_set_new(o, "reason", json_string(a->reason));
    json_object_set_new(o, "has_csr", json_boolean(a->has_csr));
    json_object_set_new(o, "has_package_request", json_boolean(a->has_package_request));
    json_object_set_new(o, "has_picture", json_boolean(a->has_picture));
    json_object_set_new(o, "width_mm", json_integer(a->width_mm));
    json_object_set_new(o, "height_mm", json_integer(a->height_mm));
    json_object_set_new(o, "created_by", json_string(a->created_by));
    json_object_set_new(o, "created_at", api_time_json(a->created_at));
    json_object_set_new(o, "updated_at", api_time_json(a->updated_at));
    json_object_set_new(o, "version", json_integer(a->version));
    json_object_set_new(o, "submitted_by", json_string(a->submitted_by));
    json_object_set_new(o, "submitted_at", opt_time(a->submitted_at));
    json_object_set_new(o, "reviewed_by", json_string(a->reviewed_by));
    json_object_set_new(o, "reviewed_at", opt_time(a->reviewed_at));
    json_object_set_new(o, "verdict", json_string(a->verdict));
    json_object_set_new(o, "opinion", json_string(a->opinion));
    json_object_set_new(o, "executed_by", json_string(a->executed_by));
    json_object_set_new(o, "executed_at", opt_time(a->executed_at));
    json_t *d = json_object();
    json_object_set_new(d, "submit",
                        a->submit_decision ? json_integer(a->submit_decision) : json_null());
    json_object_set_new(d, "review",
                        a->review_decision ? json_integer(a->review_decision) : json_null());
    json_object_set_new(d, "execute",
                        a->execute_decision ? json_integer(a->execute_decision) : json_null());
    json_object_set_new(o, "decisions", d);
    return o;
}

static json_t *material_json(const es_material *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "media_type", json_string(t->media_type));
    json_object_set_new(o, "sm3", json_string(t->sm3));
    json_object_set_new(o, "size", json_integer(t->size));
    json_object_set_new(o, "uploaded_by", json_string(t->uploaded_by));
    json_object_set_new(o, "uploaded_at", api_time_json(t->uploaded_at));
    return o;
}

static json_t *seal_json(const es_seal_rec *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "code", json_string(s->code));
    json_object_set_new(o, "state", json_string(s->state));
    json_object_set_new(o, "cert_serial", json_string(s->cert_serial));
    json_object_set_new(o, "scope", json_string(s->scope));
    json_object_set_new(o, "carrier", json_string(s->carrier));
    json_object_set_new(o, "uscc", json_string(s->uscc));
    json_object_set_new(o, "division", json_string(s->division));
    json_object_set_new(o, "unit_name", json_string(s->unit_name));
    json_object_set_new(o, "seal_name", json_string(s->seal_name));
    json_object_set_new(o, "seal_type", json_integer(s->seal_type));
    json_object_set_new(o, "valid_start", api_time_json(s->valid_start));
    json_object_set_new(o, "valid_end", api_time_json(s->valid_end));
    json_object_set_new(o, "application_id", json_integer(s->application_id));
    json_object_set_new(o, "made_at", api_time_json(s->made_at));
    json_object_set_new(o, "made_by", json_string(s->made_by));
    json_object_set_new(o, "delivered_at", opt_time(s->delivered_at));
    json_object_set_new(o, "delivered_by", json_string(s->delivered_by));
    json_object_set_new(o, "delivered_to", json_string(s->delivered_to));
    json_object_set_new(o, "has_package", json_boolean(s->has_package));
    json_object_set_new(o, "source", json_string(s->source));
    if (!strcmp(s->source, "imported")) {
        json_object_set_new(o, "vendor", json_string(s->vendor));
        json_object_set_new(o, "verified", json_boolean(s->verified));
    }
    return o;
}

static json_t *event_json(const es_status_event *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer(e->seq));
    json_object_set_new(o, "code", json_string(e->code));
    json_object_set_new(o, "cert_serial", json_string(e->cert_serial));
    json_object_set_new(o, "state", json_string(e->state));
    json_object_set_new(o, "effective_at", api_time_json(e->effective_at));
    json_object_set_new(o, "reason", json_string(e->reason));
    json_object_set_new(o, "application_id", json_integer(e->application_id));
    return o;
}

/* ---- applications */

#define APP_FIELDS                                                                                 \
    {"scope", ES_JSON_STRING, 0, 16}, {"carrier", ES_JSON_STRING, 0, 16},                          \
        {"uscc", ES_JSON_STRING, 0, 64}, {"division", ES_JSON_STRING, 0, 16},                      \
        {"unit_type", ES_JSON_STRING, 0, 32}, {"unit_name", ES_JSON_STRING, 0, 1024},              \
        {"agent_name", ES_JSON_STRING, 0, 1024}, {"agent_idno", ES_JSON_STRING, 0, 64},            \
        {"agent_mobile", ES_JSON_STRING, 0, 64}, {"unit_address", ES_JSON_STRING, 0, 2048},        \
        {"approver_name", ES_JSON_STRING, 0, 1024}, {"approver_division", ES_JSON_STRING, 0, 16},  \
        {"seal_name", ES_JSON_STRING, 0, 1024}, {"seal_type", ES_JSON_INTEGER, 0, 0},              \
        {"reason", ES_JSON_STRING, 0, 4096}, {"csr", ES_JSON_STRING, 0, ES_MK_CSR_MAX},            \
    {                                                                                              \
        "package_request", ES_JSON_STRING, 0, 1u << 20                                             \
    }

static const es_json_field create_schema[] = {
    {"kind", ES_JSON_STRING, ES_JSON_REQUIRED, 16},
    {"seal_code", ES_JSON_STRING, 0, 64},
    APP_FIELDS,
    {NULL},
};

static const es_json_field update_schema[] = {
    {"version", ES_JSON_INTEGER, ES_JSON_REQUIRED, 0},
    APP_FIELDS,
    {NULL},
};

static const char *str(const json_t *in, const char *k)
{
    return json_string_value(json_object_get(in, k));
}

/* The input of a create or update; pkg receives the decoded package request. On a bad field
 * it has replied. */
static es_err input_of(es_http_req *req, const json_t *in, es_application_input *x, es_buf *pkg)
{
    memset(x, 0, sizeof *x);
    x->kind = str(in, "kind");
    x->seal_code = str(in, "seal_code");
    x->scope = str(in, "scope");
    x->carrier = str(in, "carrier");
    x->uscc = str(in, "uscc");
    x->division = str(in, "division");
    x->unit_type = str(in, "unit_type");
    x->unit_name = str(in, "unit_name");
    x->agent_name = str(in, "agent_name");
    x->agent_idno = str(in, "agent_idno");
    x->agent_mobile = str(in, "agent_mobile");
    x->unit_address = str(in, "unit_address");
    x->approver_name = str(in, "approver_name");
    x->approver_division = str(in, "approver_division");
    x->seal_name = str(in, "seal_name");
    x->reason = str(in, "reason");
    json_t *t = json_object_get(in, "seal_type");
    if (t) {
        json_int_t v = json_integer_value(t);
        x->has_seal_type = 1;
        x->seal_type = v > 0 && v < 100000 ? (int)v : -1;
    }
    const char *csr = str(in, "csr");
    if (csr) x->csr = es_slice_make((const uint8_t *)csr, strlen(csr));
    const char *pr = str(in, "package_request");
    if (pr) {
        if (es_base64_decode(pr, strlen(pr), pkg) != ES_OK || !pkg->len) {
            es_reason r = {"package_request is the request package in base64",
                           "package_request 应为申请包的 base64 编码"};
            return reply_field(req, ES_ERR_ARG, "package_request", &r);
        }
        x->package_request = es_slice_make(pkg->p, pkg->len);
    }
    return ES_OK;
}

static es_err add_material(void *ctx, const es_material *t)
{
    return json_array_append_new(ctx, material_json(t)) == 0 ? ES_OK : ES_ERR_NOMEM;
}

static json_t *national_json(const es_national_progress *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "step", json_string(p->step));
    json_object_set_new(o, "tries", json_integer(p->tries));
    if (p->code[0]) json_object_set_new(o, "code", json_string(p->code));
    if (p->refusal[0]) json_object_set_new(o, "refusal", json_string(p->refusal));
    json_object_set_new(o, "updated_at", api_time_json(p->updated_at));
    if (p->waits[0] && p->request.state[0]) {
        json_t *r = json_object();
        json_object_set_new(r, "kind", json_string(p->waits));
        json_object_set_new(r, "state", json_string(p->request.state));
        json_object_set_new(r, "attempts", json_integer(p->request.attempts));
        if (!strcmp(p->request.state, "pending"))
            json_object_set_new(r, "next_at", api_time_json(p->request.next_at));
        if (p->request.last_error[0])
            json_object_set_new(r, "last_error", json_string(p->request.last_error));
        json_object_set_new(o, "request", r);
    }
    return o;
}

/* The application with its materials (whole: personal fields in full, audited); status 0:
 * 200 when it is made or delivered, else 202 (an execution under way). */
static es_err reply_app_full(es_http_req *req, es_making *m, const es_actor *by, int64_t id,
                             unsigned status, int whole)
{
    es_application a;
    es_national_progress np;
    es_err rv = es_making_get(m, by, id, whole, &a);
    if (rv != ES_OK) return fail(req, rv, NULL);
    json_t *o = json_object(), *mats = json_array();
    json_object_set_new(o, "application", app_json(&a));
    /* National scope: the progress through the upstream link (making.h). An execution answers
     * 202 until the seal is made. */
    rv = strcmp(a.scope, "national") == 0 ? es_making_national_progress(m, by, id, &np)
                                          : ES_ERR_NOT_FOUND;
    if (rv == ES_OK) json_object_set_new(o, "upstream", national_json(&np));
    if (status == 0)
        status = strcmp(a.state, "made") == 0 || strcmp(a.state, "delivered") == 0 ? 200 : 202;
    es_wipe(&a, sizeof a);
    if (rv != ES_OK && rv != ES_ERR_NOT_FOUND) {
        json_decref(o);
        return fail(req, rv, NULL);
    }
    rv = es_making_material_list(m, by, id, add_material, mats);
    json_object_set_new(o, "materials", mats);
    if (rv != ES_OK) {
        json_decref(o);
        return rv;
    }
    return es_http_reply_json_new(req, status, o);
}

static es_err apps_create(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, P(ES_PERM_SEAL_APPLY), "application.create")) != ES_OK) return rv;
    json_t *in = NULL;
    es_application_input x;
    es_buf pkg;
    const char *field = NULL;
    es_reason why = {NULL, NULL};
    int64_t id = 0;
    char loc[64];
    es_buf_init(&pkg, 1u << 20);
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    if ((rv = es_http_req_json(req, create_schema, &in)) != ES_OK) goto out;
    if ((rv = input_of(req, in, &x, &pkg)) != ES_OK) goto out;
    /* Idempotency-Key (docs/making.md): a retry with the same key and the same body bytes
     * answers the application the first made (200), another body 409. */
    const char *key = es_http_req_header(req, "Idempotency-Key");
    char sm3[65] = "";
    int replayed = 0;
    if (key) {
        uint8_t d[ES_SM3_LEN];
        es_slice body = es_http_req_body(req);
        if ((rv = es_sm3(body.p ? body.p : (const uint8_t *)"", body.len, d)) != ES_OK) goto out;
        es_hex_encode(d, sizeof d, sm3);
    }
    rv = es_making_create_idem(&m, &by, &x, key, key ? sm3 : NULL, &id, &replayed, &field, &why);
    if (rv != ES_OK) {
        rv = field || why.en ? reply_field(req, rv, field, &why) : fail(req, rv, NULL);
        goto out;
    }
    snprintf(loc, sizeof loc, "/api/v1/applications/%" PRId64, id);
    if ((rv = es_http_add_header(req, "Location", loc)) != ES_OK) goto out;
    if (replayed && (rv = es_http_add_header(req, "Idempotent-Replayed", "true")) != ES_OK)
        goto out;
    rv = reply_app_full(req, &m, &by, id, replayed ? 200 : 201, 0);
out:
    json_decref(in);
    es_buf_cleanup(&pkg);
    return rv;
}

static es_err apps_update(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, P(ES_PERM_SEAL_APPLY), "application.update")) != ES_OK) return rv;
    json_t *in = NULL;
    es_application_input x;
    es_buf pkg;
    const char *field = NULL;
    es_reason why = {NULL, NULL};
    int64_t id = 0;
    if (!parse_id(es_http_req_param(req, "id"), &id)) return ES_ERR_NOT_FOUND;
    es_buf_init(&pkg, 1u << 20);
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    if ((rv = es_http_req_json(req, update_schema, &in)) != ES_OK) goto out;
    if ((rv = input_of(req, in, &x, &pkg)) != ES_OK) goto out;
    rv = es_making_update(&m, &by, id, json_integer_value(json_object_get(in, "version")), &x,
                          &field, &why);
    if (rv != ES_OK) {
        rv = field || why.en ? reply_field(req, rv, field, &why) : fail(req, rv, NULL);
        goto out;
    }
    rv = reply_app_full(req, &m, &by, id, 200, 0);
out:
    json_decref(in);
    es_buf_cleanup(&pkg);
    return rv;
}

static es_err apps_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, READ_PERMS, "application.get")) != ES_OK) return rv;
    int64_t id = 0;
    if (!parse_id(es_http_req_param(req, "id"), &id)) return ES_ERR_NOT_FOUND;
    const char *w = es_http_req_query(req, "whole");
    int whole = w && (strcmp(w, "1") == 0 || strcmp(w, "true") == 0);
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    return reply_app_full(req, &m, &by, id, 200, whole);
}

typedef struct page_ctx {
    json_t *items;
    int64_t limit, n, last;
    int more;
} page_ctx;

static es_err page_app(void *ctx, const es_application *a)
{
    page_ctx *p = ctx;
    if (p->n == p->limit) {
        p->more = 1;
        return ES_OK;
    }
    p->n++;
    p->last = a->id;
    return json_array_append_new(p->items, app_json(a)) == 0 ? ES_OK : ES_ERR_NOMEM;
}

static es_err apps_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, READ_PERMS, "application.list")) != ES_OK) return rv;
    es_http_page page;
    char next[32];
    if ((rv = es_http_req_page(req, 50, ES_MK_PAGE_MAX - 1, &page)) != ES_OK) return rv;
    int64_t after = 0;
    if (page.cursor && !parse_id(page.cursor, &after))
        REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "cursor", "not a cursor of this list"),
               ES_ERR_ARG);
    es_application_filter f = {es_http_req_query(req, "state"),
                               es_http_req_query(req, "kind"),
                               es_http_req_query(req, "uscc"),
                               es_http_req_query(req, "seal_code"),
                               es_http_req_query(req, "agent_idno"),
                               after,
                               (int64_t)page.limit + 1};
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    page_ctx p = {json_array(), page.limit, 0, 0, 0};
    rv = es_making_list(&m, &by, &f, page_app, &p);
    if (rv != ES_OK) {
        json_decref(p.items);
        return fail(req, rv, NULL);
    }
    snprintf(next, sizeof next, "%" PRId64, p.last);
    return es_http_reply_page(req, p.items, p.more ? next : NULL);
}

static es_err material_put(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, P(ES_PERM_SEAL_APPLY), "application.material_put")) != ES_OK)
        return rv;
    int64_t id = 0;
    es_reason why = {NULL, NULL};
    es_material t;
    if (!parse_id(es_http_req_param(req, "id"), &id)) return ES_ERR_NOT_FOUND;
    const char *name = es_http_req_param(req, "name");
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    es_slice body = es_http_req_body(req);
    if (!body.len) {
        es_reason r = {"the body is the material's file", "请求体应为材料文件"};
        return reply_field(req, ES_ERR_ARG, "material", &r);
    }
    rv = es_making_material_put(&m, &by, id, name, body, &why);
    if (rv != ES_OK) return why.en ? reply_field(req, rv, "material", &why) : fail(req, rv, NULL);
    if ((rv = es_making_material_get(&m, &by, id, name, &t, NULL)) != ES_OK) return rv;
    json_t *o = json_object();
    json_object_set_new(o, "material", material_json(&t));
    return es_http_reply_json_new(req, 200, o);
}

static es_err material_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, READ_PERMS, "application.material_get")) != ES_OK) return rv;
    int64_t id = 0;
    es_material t;
    es_buf b;
    if (!parse_id(es_http_req_param(req, "id"), &id)) return ES_ERR_NOT_FOUND;
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    /* Room for the cipher's padding (up to one block) while the bytes are decrypted: a
     * material of exactly the limit reads back (issue 10). */
    es_buf_init(&b, ES_MK_MATERIAL_MAX + 16);
    rv = es_making_material_get(&m, &by, id, es_http_req_param(req, "name"), &t, &b);
    if (rv == ES_OK)
        rv = es_http_reply_bytes(req, 200, t.media_type, b.p, b.len);
    else
        rv = fail(req, rv, NULL);
    es_buf_cleanup_secret(&b);
    return rv;
}

static int query_int(es_http_req *req, const char *name, int *out)
{
    const char *v = es_http_req_query(req, name);
    int64_t x = 0;
    if (!v || !parse_id(v, &x) || x > 1000) return 0;
    *out = (int)x;
    return 1;
}

static es_err picture_put(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, P(ES_PERM_SEAL_APPLY), "application.picture_put")) != ES_OK)
        return rv;
    int64_t id = 0;
    int w = 0, h = 0;
    const char *field = NULL;
    es_reason why = {NULL, NULL};
    if (!parse_id(es_http_req_param(req, "id"), &id)) return ES_ERR_NOT_FOUND;
    if (!query_int(req, "width_mm", &w) || !query_int(req, "height_mm", &h)) {
        es_reason r = {"width_mm and height_mm give the printed size in millimetres",
                       "须以 width_mm 和 height_mm 给出以毫米为单位的打印尺寸"};
        return reply_field(req, ES_ERR_ARG,
                           !query_int(req, "width_mm", &w) ? "width_mm" : "height_mm", &r);
    }
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    rv = es_making_picture_put(&m, &by, id, es_http_req_body(req), w, h, &field, &why);
    if (rv != ES_OK)
        return field || why.en ? reply_field(req, rv, field, &why) : fail(req, rv, NULL);
    return reply_app_full(req, &m, &by, id, 200, 0);
}

/* ---- decisions */

static const es_json_field proof_schema[] = {
    {"pin", ES_JSON_STRING, 0, 64},
    {"signature", ES_JSON_STRING, 0, 512},
    {"at", ES_JSON_INTEGER, 0, 0},
    {NULL},
};
static const es_json_field review_schema[] = {
    {"verdict", ES_JSON_STRING, ES_JSON_REQUIRED, 16},
    {"opinion", ES_JSON_STRING, 0, 4096},
    {"pin", ES_JSON_STRING, 0, 64},
    {"signature", ES_JSON_STRING, 0, 512},
    {"at", ES_JSON_INTEGER, 0, 0},
    {NULL},
};
static const es_json_field deliver_schema[] = {
    {"to", ES_JSON_STRING, ES_JSON_REQUIRED, 1024},
    {"pin", ES_JSON_STRING, 0, 64},
    {"signature", ES_JSON_STRING, 0, 512},
    {"at", ES_JSON_INTEGER, 0, 0},
    {NULL},
};

/* The person's proof; sig receives a decoded signature. On a bad one it has replied. */
static es_err proof_of(es_http_req *req, const json_t *in, es_decision_proof *p, es_buf *sig)
{
    memset(p, 0, sizeof *p);
    p->pin = str(in, "pin");
    const char *s = str(in, "signature");
    if (s) {
        if (es_base64_decode(s, strlen(s), sig) != ES_OK || !sig->len) {
            es_reason r = {"signature is the DER SM2 signature in base64",
                           "signature 应为 DER 编码 SM2 签名的 base64"};
            return reply_field(req, ES_ERR_ARG, "signature", &r);
        }
        p->signature = es_slice_make(sig->p, sig->len);
        /* The time inside the bytes signed (GET .../decision-tbs gave both). */
        json_t *at = json_object_get(in, "at");
        if (at) p->at = (es_time)json_integer_value(at);
        if (at && p->at <= 0) {
            es_reason r = {"at is the time of the signed bytes, seconds since 1970",
                           "at 应为所签名内容中的时间（1970 年以来的秒数）"};
            return reply_field(req, ES_ERR_ARG, "at", &r);
        }
    }
    if (!p->pin == !s) {
        es_reason r = {"a decision is signed: give your signing PIN (pin) or a signature",
                       "决定须签名：请提供签名口令（pin）或签名值（signature）"};
        return reply_field(req, ES_ERR_ARG, "pin", &r);
    }
    return ES_OK;
}

typedef enum { D_SUBMIT, D_REVIEW, D_EXECUTE } dkind;

static es_err decision(es_http_req *req, void *arg, dkind k)
{
    BEGIN(app, a);
    static const unsigned dperm[] = {P(ES_PERM_SEAL_APPLY), P(ES_PERM_SEAL_REVIEW),
                                     P(ES_PERM_SEAL_MAKE)};
    static const char *const dwhat[] = {"application.submit", "application.review",
                                        "application.execute"};
    if ((rv = need(req, app, &a, dperm[k], dwhat[k])) != ES_OK) return rv;
    json_t *in = NULL;
    es_buf sig;
    es_decision_proof proof;
    char why[512] = "", code[ES_SEAL_CODE_MAX] = "";
    int64_t id = 0;
    if (!parse_id(es_http_req_param(req, "id"), &id)) return ES_ERR_NOT_FOUND;
    es_buf_init(&sig, 512);
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    if ((rv = es_http_req_json(req, k == D_REVIEW ? review_schema : proof_schema, &in)) != ES_OK)
        goto out;
    if ((rv = proof_of(req, in, &proof, &sig)) != ES_OK) goto out;
    if (k == D_SUBMIT) {
        rv = es_making_submit(&m, &by, id, &proof, why, sizeof why);
    } else if (k == D_REVIEW) {
        const char *v = str(in, "verdict");
        if (strcmp(v, "approve") != 0 && strcmp(v, "reject") != 0) {
            es_reason r = {"verdict is approve or reject", "审核结论应为 approve 或 reject"};
            rv = reply_field(req, ES_ERR_ARG, "verdict", &r);
            goto out;
        }
        const char *op = str(in, "opinion");
        if (!strcmp(v, "reject") && (!op || !op[0])) {
            es_reason r = {"a rejection needs an opinion", "驳回须填写审核意见"};
            rv = reply_field(req, ES_ERR_ARG, "opinion", &r);
            goto out;
        }
        rv = es_making_review(&m, &by, id, !strcmp(v, "approve"), op, &proof, why, sizeof why);
    } else {
        if (!atomic_load(&app->ready)) {
            rv = api_not_ready(req);
            goto out;
        }
        /* The service holds the seal root's lock (ca_lock) around its transaction. */
        rv = es_making_execute(&m, &by, id, &proof, code, why, sizeof why);
        if (rv == ES_OK) {
            pthread_mutex_lock(&app->ca_lock);
            app->crl.len = 0; /* a revocation may have happened: the next CRL is signed anew */
            pthread_mutex_unlock(&app->ca_lock);
        }
    }
    if (rv != ES_OK) {
        rv = fail(req, rv, why);
        goto out;
    }
    /* An execution answers 202 while a national flow waits for the upstream link. */
    rv = reply_app_full(req, &m, &by, id, k == D_EXECUTE ? 0 : 200, 0);
out:
    json_decref(in);
    es_buf_cleanup(&sig);
    return rv;
}

/* The answer of a decision-tbs route: the bytes in base64, their time, the command. */
static es_err tbs_reply(es_http_req *req, const es_buf *tbs, es_time at)
{
    es_buf b64;
    es_err rv;
    es_buf_init(&b64, 4 * ES_DECISION_TBS_MAX);
    if ((rv = es_base64_encode(tbs->p, tbs->len, &b64)) == ES_OK &&
        (rv = es_buf_nul(&b64)) == ES_OK) {
        json_t *o = json_object();
        json_object_set_new(o, "tbs", json_string((const char *)b64.p));
        json_object_set_new(o, "at", json_integer(at));
        json_object_set_new(
            o, "command",
            json_string("eseal decision sign --key 'skf:LIB#DEVICE/APPLICATION/CONTAINER' "
                        "decision.tbs"));
        rv = es_http_reply_json_new(req, 200, o);
    }
    es_buf_cleanup(&b64);
    return rv;
}

/* GET /api/v1/seals/{code}/decision-tbs?to=: the canonical bytes of the delivery decision,
 * for a USBKey holder (as for an application's steps). */
static es_err seals_deliver_tbs(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, P(ES_PERM_SEAL_MAKE), "seal.deliver_tbs")) != ES_OK) return rv;
    const char *code = es_http_req_param(req, "code"), *to = es_http_req_query(req, "to");
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    es_buf tbs;
    es_time at = 0;
    es_buf_init(&tbs, ES_DECISION_TBS_MAX);
    rv = es_making_deliver_tbs(&m, &by, code, to, &at, &tbs);
    if (rv == ES_ERR_ARG) {
        es_reason r = {"to names who received the seal (1 to 200 bytes)",
                       "to 应为领取人（1至200字节）"};
        rv = reply_field(req, rv, "to", &r);
    } else if (rv != ES_OK)
        rv = fail(req, rv, NULL);
    else
        rv = tbs_reply(req, &tbs, at);
    es_buf_cleanup(&tbs);
    return rv;
}

/* GET /api/v1/applications/{id}/decision-tbs?step=&verdict=&opinion=: the canonical bytes of
 * the decision the caller is about to take, for a USBKey holder to sign offline and hand in
 * with "signature" and "at" (docs/making.md, "Signing with a USBKey"). */
static es_err apps_decision_tbs(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, READ_PERMS, "application.decision_tbs")) != ES_OK) return rv;
    int64_t id = 0;
    if (!parse_id(es_http_req_param(req, "id"), &id)) return ES_ERR_NOT_FOUND;
    const char *step = es_http_req_query(req, "step"), *field = NULL;
    const char *verdict = es_http_req_query(req, "verdict");
    const char *opinion = es_http_req_query(req, "opinion");
    if (opinion && strlen(opinion) > ES_MK_OPINION_MAX) {
        es_reason r = {"opinion: at most 1000 bytes", "审核意见过长"};
        return reply_field(req, ES_ERR_ARG, "opinion", &r);
    }
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    es_buf tbs;
    es_time at = 0;
    es_buf_init(&tbs, ES_DECISION_TBS_MAX);
    rv = es_making_decision_tbs(&m, &by, id, step, verdict, opinion, &at, &tbs, &field);
    if (rv == ES_ERR_ARG && field) {
        es_reason r = {!strcmp(field, "step") ? "step is submit, review or execute"
                                              : "verdict is approve or reject",
                       !strcmp(field, "step") ? "step 应为 submit、review 或 execute"
                                              : "审核结论应为 approve 或 reject"};
        rv = reply_field(req, rv, field, &r);
        goto out;
    }
    if (rv != ES_OK) {
        rv = fail(req, rv, NULL);
        goto out;
    }
    rv = tbs_reply(req, &tbs, at);
out:
    es_buf_cleanup(&tbs);
    return rv;
}

static es_err apps_submit(es_http_req *req, void *arg)
{
    return decision(req, arg, D_SUBMIT);
}

static es_err apps_review(es_http_req *req, void *arg)
{
    return decision(req, arg, D_REVIEW);
}

static es_err apps_execute(es_http_req *req, void *arg)
{
    return decision(req, arg, D_EXECUTE);
}

/* ---- seals and events */

typedef struct seal_page {
    json_t *items;
    int64_t limit, n;
    char last[ES_SEAL_CODE_MAX];
    int more;
} seal_page;

static es_err page_seal(void *ctx, const es_seal_rec *s)
{
    seal_page *p = ctx;
    if (p->n == p->limit) {
        p->more = 1;
        return ES_OK;
    }
    p->n++;
    snprintf(p->last, sizeof p->last, "%s", s->code);
    return json_array_append_new(p->items, seal_json(s)) == 0 ? ES_OK : ES_ERR_NOMEM;
}

static es_err seals_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, READ_PERMS, "seal.list")) != ES_OK) return rv;
    es_http_page page;
    if ((rv = es_http_req_page(req, 50, ES_MK_PAGE_MAX - 1, &page)) != ES_OK) return rv;
    es_seal_filter f = {es_http_req_query(req, "code"),
                        es_http_req_query(req, "name"),
                        es_http_req_query(req, "uscc"),
                        es_http_req_query(req, "state"),
                        page.cursor,
                        (int64_t)page.limit + 1};
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    seal_page p = {json_array(), page.limit, 0, "", 0};
    rv = es_making_seal_list(&m, &by, &f, page_seal, &p);
    if (rv != ES_OK) {
        json_decref(p.items);
        return fail(req, rv, NULL);
    }
    return es_http_reply_page(req, p.items, p.more ? p.last : NULL);
}

static es_err add_event(void *ctx, const es_status_event *e)
{
    return json_array_append_new(ctx, event_json(e)) == 0 ? ES_OK : ES_ERR_NOMEM;
}

static es_err seals_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, READ_PERMS, "seal.get")) != ES_OK) return rv;
    es_seal_rec s;
    es_buf cert;
    const char *code = es_http_req_param(req, "code");
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    es_buf_init(&cert, ES_MAX_CERT_DER);
    rv = es_making_seal_get(&m, &by, code, &s, &cert, NULL);
    if (rv != ES_OK) {
        es_buf_cleanup(&cert);
        return fail(req, rv, NULL);
    }
    json_t *o = json_object(), *hist = json_array();
    json_object_set_new(o, "seal", seal_json(&s));
    json_object_set_new(o, "certificate", api_pem_json("CERTIFICATE", cert.p, cert.len));
    es_buf_cleanup(&cert);
    rv = es_making_events(&m, &by, 0, code, 1000, add_event, hist);
    json_object_set_new(o, "history", hist);
    if (rv != ES_OK) {
        json_decref(o);
        return rv;
    }
    return es_http_reply_json_new(req, 200, o);
}

static es_err seals_esl(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, READ_PERMS, "seal.esl")) != ES_OK) return rv;
    es_seal_rec s;
    es_buf esl;
    char disp[ES_SEAL_CODE_MAX + 48];
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    es_buf_init(&esl, ES_MAX_SEAL_DER);
    rv = es_making_seal_get(&m, &by, es_http_req_param(req, "code"), &s, NULL, &esl);
    if (rv == ES_OK) {
        snprintf(disp, sizeof disp, "attachment; filename=\"%s.esl\"", s.code);
        rv = es_http_add_header(req, "Content-Disposition", disp);
        if (rv == ES_OK)
            rv = es_http_reply_bytes(req, 200, "application/octet-stream", esl.p, esl.len);
    } else {
        rv = fail(req, rv, NULL);
    }
    es_buf_cleanup(&esl);
    return rv;
}

static es_err seals_package(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, P(ES_PERM_SEAL_MAKE), "seal.package")) != ES_OK) return rv;
    es_buf pkg;
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    es_buf_init(&pkg, 1u << 20);
    rv = es_making_seal_package(&m, &by, es_http_req_param(req, "code"), &pkg);
    if (rv == ES_OK)
        rv = es_http_reply_bytes(req, 200, "application/octet-stream", pkg.p, pkg.len);
    else
        rv = fail(req, rv, NULL);
    es_buf_cleanup(&pkg);
    return rv;
}

static es_err seals_deliver(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, P(ES_PERM_SEAL_MAKE), "seal.deliver")) != ES_OK) return rv;
    json_t *in = NULL;
    es_buf sig;
    es_decision_proof proof;
    es_seal_rec s;
    char why[256] = "";
    const char *code = es_http_req_param(req, "code");
    es_buf_init(&sig, 512);
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    if ((rv = es_http_req_json(req, deliver_schema, &in)) != ES_OK) goto out;
    if ((rv = proof_of(req, in, &proof, &sig)) != ES_OK) goto out;
    rv = es_making_deliver(&m, &by, code, str(in, "to"), &proof, why, sizeof why);
    if (rv == ES_ERR_ARG && !strncmp(why, "at:", 3)) {
        es_reason r = {"at: the signed bytes are older than 10 minutes (or in the future): "
                       "fetch them again and sign",
                       "at：所签名内容已超过 10 分钟（或时间在未来），请重新获取后签名"};
        rv = reply_field(req, rv, "at", &r);
        goto out;
    }
    if (rv == ES_ERR_ARG) {
        es_reason r = {"to names who received the seal (1 to 200 bytes)",
                       "to 应为领取人（1至200字节）"};
        rv = reply_field(req, rv, "to", &r);
        goto out;
    }
    if (rv == ES_OK) rv = es_making_seal_get(&m, &by, code, &s, NULL, NULL);
    if (rv != ES_OK) {
        rv = fail(req, rv, why);
        goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "seal", seal_json(&s));
    rv = es_http_reply_json_new(req, 200, o);
out:
    json_decref(in);
    es_buf_cleanup(&sig);
    return rv;
}

static es_err events_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = need(req, app, &a, READ_PERMS | P(ES_PERM_VERIFY), "status.events")) != ES_OK)
        return rv;
    int64_t after = 0, limit = 500;
    const char *s = es_http_req_query(req, "after");
    if (s && strcmp(s, "0") != 0 && !parse_id(s, &after))
        REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "after", "a status event number"),
               ES_ERR_ARG);
    const char *l = es_http_req_query(req, "limit");
    if (l && (!parse_id(l, &limit) || limit > 1000))
        REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "limit", "1 to 1000"), ES_ERR_ARG);
    es_making m = making_of(app, &a);
    es_actor by = api_actor(api_user_of(req));
    json_t *items = json_array();
    rv = es_making_events(&m, &by, after, NULL, limit, add_event, items);
    if (rv != ES_OK) {
        json_decref(items);
        return fail(req, rv, NULL);
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return es_http_reply_json_new(req, 200, o);
}

es_err es_api_making_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"POST", "/api/v1/applications", apps_create, 0, API_BODY_PEM + (2u << 20)},
        {"GET", "/api/v1/applications", apps_list, 0, API_BODY_SMALL},
        {"GET", "/api/v1/applications/{id}", apps_get, 0, API_BODY_SMALL},
        {"PUT", "/api/v1/applications/{id}", apps_update, 0, API_BODY_PEM + (2u << 20)},
        {"PUT", "/api/v1/applications/{id}/materials/{name}", material_put, 0, API_BODY_MATERIAL},
        {"GET", "/api/v1/applications/{id}/materials/{name}", material_get, 0, API_BODY_SMALL},
        {"PUT", "/api/v1/applications/{id}/picture", picture_put, 0, API_BODY_PICTURE},
        {"GET", "/api/v1/applications/{id}/decision-tbs", apps_decision_tbs, 0, API_BODY_SMALL},
        {"POST", "/api/v1/applications/{id}/submit", apps_submit, 0, API_BODY_SMALL},
        {"POST", "/api/v1/applications/{id}/review", apps_review, 0, API_BODY_FORM},
        {"POST", "/api/v1/applications/{id}/execute", apps_execute, 0, API_BODY_SMALL},
        {"GET", "/api/v1/seals", seals_list, 0, API_BODY_SMALL},
        {"GET", "/api/v1/seals/{code}", seals_get, 0, API_BODY_SMALL},
        {"GET", "/api/v1/seals/{code}/esl", seals_esl, 0, API_BODY_SMALL},
        {"GET", "/api/v1/seals/{code}/package", seals_package, 0, API_BODY_SMALL},
        {"POST", "/api/v1/seals/{code}/deliver", seals_deliver, 0, API_BODY_FORM},
        {"GET", "/api/v1/seals/{code}/decision-tbs", seals_deliver_tbs, 0, API_BODY_SMALL},
        {"GET", "/api/v1/status-events", events_list, 0, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
