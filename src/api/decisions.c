/* People's signing keys and their signed decisions (docs/decisions.md, LD/T 01.1 §9.4): the
 * signed-in person enrols a key (a PIN, or a USBKey's CSR), changes the PIN and reads the key;
 * the system administrator unlocks a key locked by wrong PINs; a stored decision is read with
 * its canonical DER, signature and certificates for offline verification. Maps requests to
 * src/svc/decisions/, which enforces the rules and writes the audit records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "eseal/decision.h"

/* The Chinese of a field's problem (the English detail comes from the service). */
static const char *field_zh(const char *field, es_err rv)
{
    if (rv == ES_ERR_PIN) return "签名口令错误；连续错误 5 次后密钥锁定，须由系统管理员解锁";
    if (rv == ES_ERR_PIN_LOCKED) return "签名密钥已锁定，须由系统管理员解锁";
    if (strcmp(field, "pin") == 0)
        return "签名口令须为 6 至 64 个字符，不能是同一字符重复，不能包含账户名";
    if (strcmp(field, "old_pin") == 0) return "更换已有密钥须输入当前签名口令";
    if (strcmp(field, "csr") == 0) return "证书请求（CSR）无法读取、签名不正确或其公钥已被认证";
    if (strcmp(field, "id") == 0) return "决定编号须为正整数";
    if (strcmp(field, "application") == 0)
        return "印章经办人与审核人须指定申请编号（或只列出本人的决定）";
    if (strcmp(field, "after") == 0) return "after 须为决定编号";
    if (strcmp(field, "limit") == 0) return "每页 1 至 200 条";
    if (strcmp(field, "actor") == 0) return "actor 须为账户名";
    return "字段无效";
}

/* A field error: {"error", "message", "message_zh", "field", "detail", "detail_zh"}. */
static es_err reply_field(es_http_req *req, es_err rv, const char *field, const char *detail)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(es_err_name(rv)));
    json_object_set_new(o, "message", json_string(es_err_str(rv)));
    json_object_set_new(o, "message_zh", json_string(es_err_str_zh(rv)));
    json_object_set_new(o, "field", json_string(field));
    json_object_set_new(o, "detail", json_string(detail ? detail : ""));
    json_object_set_new(o, "detail_zh", json_string(field_zh(field, rv)));
    REFUSE(es_http_reply_json_new(req, es_err_http_status(rv), o), rv);
}

/* The service's refusal: a detail "FIELD: ..." names the field. */
static es_err reply_refusal(es_http_req *req, es_err rv, const char *why)
{
    static const char *const fields[] = {"pin", "old_pin", "csr", "signature"};
    if (rv == ES_ERR_BUSY) {
        es_err r2 = es_http_add_header(req, "Retry-After", "1");
        if (r2 != ES_OK) return r2;
    }
    for (size_t i = 0; why && i < sizeof fields / sizeof fields[0]; i++) {
        size_t n = strlen(fields[i]);
        if (strncmp(why, fields[i], n) == 0 && why[n] == ':')
            return reply_field(req, rv, fields[i], why);
    }
    return api_fail(req, rv, why && *why ? why : NULL);
}

static json_t *key_json(const es_signing_key *k, es_slice cert)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "kind", json_string(k->kind));
    json_object_set_new(o, "state", json_string(k->state));
    json_object_set_new(o, "serial", json_string(k->serial));
    json_object_set_new(o, "subject", json_string(k->subject));
    json_object_set_new(o, "not_before", api_time_json(k->not_before));
    json_object_set_new(o, "not_after", api_time_json(k->not_after));
    json_object_set_new(o, "failures", json_integer(k->failures));
    json_object_set_new(o, "pin_limit", json_integer(ES_DECISION_PIN_LIMIT));
    json_object_set_new(o, "locked", json_boolean(k->locked));
    json_object_set_new(o, "created_at", api_time_json(k->created_at));
    json_object_set_new(o, "certificate", api_pem_json("CERTIFICATE", cert.p, cert.len));
    return o;
}

/* Common checks: a person signed in, the node ready. */
static es_err person(es_http_req *req, es_api_ctx *app)
{
    if (!atomic_load(&app->ready) || !app->decisions) return api_not_ready(req);
    return api_people_only(req);
}

static const es_json_field enrol_schema[] = {
    {"pin", ES_JSON_STRING, 0, 256},
    {"csr", ES_JSON_STRING, 0, 16384},
    {"old_pin", ES_JSON_STRING, 0, 256},
    {NULL},
};

static es_err key_enrol(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    char why[256] = "";
    es_signing_key k;
    es_buf cert;
    es_pki_lint lint;
    memset(&lint, 0, sizeof lint);
    if ((rv = person(req, app)) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, enrol_schema, &in)) != ES_OK) return rv;
    es_buf_init(&cert, 16384);
    const char *pin = json_string_value(json_object_get(in, "pin"));
    const char *csr = json_string_value(json_object_get(in, "csr"));
    const char *old = json_string_value(json_object_get(in, "old_pin"));
    es_actor by = api_actor(api_user_of(req));
    es_store *st = a.store;
    if (!pin == !csr) {
        rv = reply_field(req, ES_ERR_ARG, pin ? "csr" : "pin",
                         "give either pin (a key held here) or csr (a USBKey's key)");
        goto out;
    }
    if (pin)
        rv =
            es_signing_key_enrol_pin(app->decisions, st, &by, pin, old, &k, &cert, why, sizeof why);
    else
        rv = es_signing_key_enrol_csr(app->decisions, st, &by, es_slice_make(csr, strlen(csr)), old,
                                      &k, &cert, &lint, why, sizeof why);
    if (rv == ES_ERR_LINT) {
        char line[300];
        snprintf(line, sizeof line, "csr: %s", lint.n ? lint.msg[0] : "refused by the CA");
        rv = reply_field(req, ES_ERR_LINT, "csr", line);
        goto out;
    }
    if (rv == ES_ERR_VERIFY || rv == ES_ERR_DER || rv == ES_ERR_DER_TAG || rv == ES_ERR_PEM ||
        rv == ES_ERR_FORMAT || rv == ES_ERR_BASE64 || rv == ES_ERR_KEY ||
        rv == ES_ERR_DER_TRAILING) {
        rv = reply_field(req, ES_ERR_ARG, "csr", why[0] ? why : "csr: not a usable request");
        goto out;
    }
    if (rv != ES_OK) {
        rv = reply_refusal(req, rv, why);
        goto out;
    }
    if (app) {
        pthread_mutex_lock(&app->ca_lock);
        app->crl.len = 0; /* a certificate superseded: the next CRL is signed anew */
        pthread_mutex_unlock(&app->ca_lock);
    }
    rv = es_http_reply_json_new(req, 201, key_json(&k, es_slice_make(cert.p, cert.len)));
out:
    json_decref(in);
    es_buf_cleanup(&cert);
    return rv;
}

static const es_json_field pin_schema[] = {
    {"old_pin", ES_JSON_STRING, ES_JSON_REQUIRED, 256},
    {"pin", ES_JSON_STRING, ES_JSON_REQUIRED, 256},
    {NULL},
};

static es_err key_pin_change(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    char why[256] = "";
    if ((rv = person(req, app)) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, pin_schema, &in)) != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    rv = es_signing_key_pin_change(app->decisions, a.store, &by,
                                   json_string_value(json_object_get(in, "old_pin")),
                                   json_string_value(json_object_get(in, "pin")), why, sizeof why);
    json_decref(in);
    if (rv == ES_ERR_PIN) return reply_field(req, rv, "old_pin", why);
    if (rv != ES_OK) return reply_refusal(req, rv, why);
    return es_http_reply_empty(req, 204);
}

static es_err key_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_signing_key k;
    es_buf cert;
    if ((rv = person(req, app)) != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    es_buf_init(&cert, 16384);
    rv = es_signing_key_get(app->decisions, a.store, &by, by.name, &k, &cert);
    if (rv == ES_OK)
        rv = es_http_reply_json_new(req, 200, key_json(&k, es_slice_make(cert.p, cert.len)));
    else if (rv == ES_ERR_NO_KEY)
        rv = api_fail(req, rv, "no signing key is enrolled");
    es_buf_cleanup(&cert);
    return rv;
}

static es_err key_unlock(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = person(req, app)) != ES_OK) return rv;
    if ((rv = api_no_body(req)) != ES_OK) return rv;
    if ((rv = api_require(req, app, &a, ES_PERM_ACCOUNTS, "decision.key_unlock")) != ES_OK)
        return rv;
    es_actor by = api_actor(api_user_of(req));
    rv = es_signing_key_unlock(app->decisions, a.store, &by, es_http_req_param(req, "name"));
    if (rv == ES_ERR_DENIED) return api_fail(req, rv, "nobody unlocks their own signing key");
    if (rv == ES_ERR_NO_KEY) return api_fail(req, rv, "the account has no active signing key");
    if (rv != ES_OK) return rv;
    return es_http_reply_empty(req, 204);
}

/* A stored decision as JSON with its canonical DER, signature, certificate and the chain up to
 * (not including) the root a verifier trusts: what `eseal decision verify` reads. NULL when
 * out of memory or the record cannot be read. */
static json_t *decision_json(const es_api_ctx *app, const es_decision_rec *d)
{
    es_decision_view v;
    es_buf b64;
    char hex[65];
    if (es_decision_parse(es_slice_make(d->tbs.p, d->tbs.len), &v) != ES_OK) return NULL;
    es_buf_init(&b64, 64u << 10);
    json_t *o = json_object(), *dec = json_object(), *chain = json_array();
    json_object_set_new(o, "id", json_integer(d->id));
    json_object_set_new(o, "actor", json_string(d->actor));
    json_object_set_new(o, "action", json_string(d->action));
    json_object_set_new(o, "object", json_string(d->object));
    json_object_set_new(o, "at", api_time_json(d->at));
    json_object_set_new(o, "cert_serial", json_string(d->cert_serial));
    json_object_set_new(dec, "verdict", json_stringn((const char *)v.verdict.p, v.verdict.len));
    json_object_set_new(dec, "opinion", json_stringn((const char *)v.opinion.p, v.opinion.len));
    es_hex_encode(v.subject_sm3, 32, hex);
    json_object_set_new(dec, "subject_sm3", json_string(hex));
    json_object_set_new(o, "decision", dec);
    int good = es_base64_encode(d->tbs.p, d->tbs.len, &b64) == ES_OK && es_buf_nul(&b64) == ES_OK;
    if (good) json_object_set_new(o, "tbs", json_string((const char *)b64.p));
    b64.len = 0;
    good =
        good && es_base64_encode(d->sig.p, d->sig.len, &b64) == ES_OK && es_buf_nul(&b64) == ES_OK;
    if (good) json_object_set_new(o, "signature", json_string((const char *)b64.p));
    json_object_set_new(o, "certificate", api_pem_json("CERTIFICATE", d->cert.p, d->cert.len));
    /* The chain up to (not including) the root the verifier trusts: the site CA's certificate
     * (an intermediate under the ministry's root, or the root itself). */
    es_slice cacert = app->ca ? es_ca_cert(app->ca) : es_slice_make(NULL, 0);
    if (cacert.len) json_array_append_new(chain, api_pem_json("CERTIFICATE", cacert.p, cacert.len));
    json_object_set_new(o, "chain", chain);
    es_buf_cleanup(&b64);
    if (!good) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static es_err decision_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_decision_rec d;
    if (!atomic_load(&app->ready) || !app->decisions) return api_not_ready(req);
    es_actor by = api_actor(api_user_of(req));
    /* Business roles and the audit administrator (docs/accounts.md): checked before the id. */
    if (by.is_system || !(es_decision_roles(by.roles) || es_roles_allow(by.roles, ES_PERM_AUDIT))) {
        if ((rv = es_acct_audit_denied(&a, &by, "decision.get")) != ES_OK) return rv;
        return api_fail(req, ES_ERR_DENIED,
                        "decisions are read by business roles and the audit administrator");
    }
    const char *ids = es_http_req_param(req, "id");
    char *end = NULL;
    long long id = ids ? strtoll(ids, &end, 10) : 0;
    if (!ids || !*ids || *end || id <= 0)
        return reply_field(req, ES_ERR_ARG, "id", "id: a positive decimal number");
    es_decision_rec_init(&d);
    rv = es_decision_get(app->decisions, a.store, &by, (int64_t)id, &d);
    if (rv == ES_ERR_DENIED) {
        rv = api_fail(req, rv, "decisions are read by business roles and the audit administrator");
        goto out;
    }
    if (rv == ES_ERR_NOT_FOUND) {
        rv = api_fail(req, rv, "no decision with that id");
        goto out;
    }
    if (rv != ES_OK) goto out;
    json_t *o = decision_json(app, &d);
    rv = o ? es_http_reply_json_new(req, 200, o) : ES_ERR_FORMAT;
out:
    es_decision_rec_free(&d);
    return rv;
}

/* ---- Lists and an application's export. */

typedef struct list_out {
    const es_api_ctx *app;
    json_t *items;
    int64_t last;
    int full; /* whole bundles (the export) rather than summaries */
    es_err err;
} list_out;

static es_err list_item(void *ctx, const es_decision_rec *d)
{
    list_out *l = ctx;
    json_t *o = decision_json(l->app, d);
    if (!o) return ES_ERR_FORMAT;
    if (!l->full) {
        json_object_del(o, "tbs");
        json_object_del(o, "signature");
        json_object_del(o, "certificate");
        json_object_del(o, "chain");
    }
    l->last = d->id;
    return json_array_append_new(l->items, o) == 0 ? ES_OK : ES_ERR_NOMEM;
}

/* A decimal parameter: def when absent; -1 when not a number in [min, max]. */
static long long num_param(es_http_req *req, const char *name, long long def, long long min,
                           long long max)
{
    const char *s = es_http_req_query(req, name);
    char *end = NULL;
    if (!s) return def;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min || v > max) return -1;
    return v;
}

static es_err list_refused(es_http_req *req, es_err rv)
{
    if (rv == ES_ERR_ARG)
        return reply_field(req, rv, "application",
                           "application: the seal issuer and the reviewer list the decisions of "
                           "an application, or their own (actor)");
    if (rv == ES_ERR_NOT_FOUND) return api_fail(req, rv, "no application with that id");
    if (rv == ES_ERR_DENIED)
        return api_fail(req, rv,
                        "decisions are listed by the audit administrator, and by the seal issuer "
                        "and the reviewer for an application or their own");
    return api_fail(req, rv, NULL);
}

static es_err decisions_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if (!atomic_load(&app->ready) || !app->decisions) return api_not_ready(req);
    es_actor by = api_actor(api_user_of(req));
    long long application = num_param(req, "application", 0, 1, INT64_MAX);
    long long after = num_param(req, "after", 0, 0, INT64_MAX);
    long long limit = num_param(req, "limit", 50, 1, ES_DECISION_PAGE_MAX);
    const char *actor = es_http_req_query(req, "actor");
    if (application < 0)
        return reply_field(req, ES_ERR_ARG, "application", "application: an application id");
    if (after < 0) return reply_field(req, ES_ERR_ARG, "after", "after: a decision id");
    if (limit < 0) return reply_field(req, ES_ERR_ARG, "limit", "limit: 1 to 200 decisions a page");
    if (actor && (!*actor || strlen(actor) > ES_ACCOUNT_NAME_MAX))
        return reply_field(req, ES_ERR_ARG, "actor", "actor: an account name");
    es_decision_filter f = {application, actor, after, (int)limit};
    list_out l = {app, json_array(), 0, 0, ES_OK};
    rv = es_decision_list(app->decisions, a.store, &by, &f, list_item, &l);
    if (rv != ES_OK) {
        json_decref(l.items);
        return list_refused(req, rv);
    }
    json_t *o = json_object();
    json_object_set_new(o, "next_after",
                        json_array_size(l.items) == (size_t)limit ? json_integer(l.last)
                                                                  : json_null());
    json_object_set_new(o, "items", l.items);
    return es_http_reply_json_new(req, 200, o);
}

/* GET /api/v1/applications/{id}/decisions: every decision about the application (and the
 * delivery of its seal), each with its canonical DER, signature and certificates: a bundle
 * `eseal decision verify FILE --trust ROOT` checks offline, one decision after the other. */
static es_err decisions_export(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if (!atomic_load(&app->ready) || !app->decisions) return api_not_ready(req);
    es_actor by = api_actor(api_user_of(req));
    /* The roles first (docs/accounts.md), then the id. */
    if (by.is_system ||
        !(es_roles_allow(by.roles, ES_PERM_AUDIT) || es_roles_allow(by.roles, ES_PERM_SEAL_APPLY) ||
          es_roles_allow(by.roles, ES_PERM_SEAL_REVIEW))) {
        if ((rv = es_acct_audit_denied(&a, &by, "decision.export")) != ES_OK) return rv;
        return list_refused(req, ES_ERR_DENIED);
    }
    const char *ids = es_http_req_param(req, "id");
    char *end = NULL;
    long long id = ids ? strtoll(ids, &end, 10) : 0;
    if (!ids || !*ids || *end || id <= 0) return api_fail(req, ES_ERR_NOT_FOUND, NULL);
    list_out l = {app, json_array(), 0, 1, ES_OK};
    es_decision_filter f = {(int64_t)id, NULL, 0, ES_DECISION_PAGE_MAX};
    rv = es_decision_list(app->decisions, a.store, &by, &f, list_item, &l);
    if (rv != ES_OK) {
        json_decref(l.items);
        return list_refused(req, rv);
    }
    json_t *o = json_object();
    json_object_set_new(o, "format", json_string(ES_DECISION_EXPORT_FORMAT));
    json_object_set_new(o, "application", json_integer(id));
    json_object_set_new(o, "decisions", l.items);
    char object[64];
    snprintf(object, sizeof object, "application:%lld", id);
    if ((rv = es_acct_audit_event(&a, &by, "decision.export", object, "")) != ES_OK) {
        json_decref(o);
        return rv;
    }
    return es_http_reply_json_new(req, 200, o);
}

es_err es_api_decisions_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"POST", "/api/v1/me/signing-key", key_enrol, 0, API_BODY_PEM},
        {"GET", "/api/v1/decisions", decisions_list, 0, API_BODY_SMALL},
        {"GET", "/api/v1/applications/{id}/decisions", decisions_export, 0, API_BODY_SMALL},
        {"GET", "/api/v1/me/signing-key", key_get, 0, API_BODY_SMALL},
        {"PUT", "/api/v1/me/signing-key/pin", key_pin_change, 0, API_BODY_SMALL},
        {"POST", "/api/v1/accounts/{name}/signing-key/unlock", key_unlock, 0, API_BODY_SMALL},
        {"GET", "/api/v1/decisions/{id}", decision_get, 0, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
