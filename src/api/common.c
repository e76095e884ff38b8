/* What every handler of the API shares: the store of the calling thread, the log, the
 * permission check, error replies, paging, JSON of times, roles and PEM. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"

es_actor api_actor(const api_user *su)
{
    es_actor a = {su->actor, su->u.roles, su->u.id, 0};
    return a;
}

void api_user_free(void *p)
{
    if (!p) return;
    es_wipe(p, sizeof(api_user));
    free(p);
}

es_err api_accounts(es_api_ctx *app, es_accounts *a)
{
    es_store *s = es_api_store(app);
    if (!s) return ES_ERR_IO;
    a->store = s;
    a->audit = app->audit;
    a->session_minutes = app->cfg.session_minutes;
    a->lockout_failures = app->cfg.lockout_failures;
    a->lockout_minutes = app->cfg.lockout_minutes;
    a->factors = app->factors;
    a->guard = app->signin_guard;
    a->now = NULL;
    a->ca = app->ca;
    return ES_OK;
}

/* ---- JSON of the service objects. */

json_t *api_time_json(int64_t seconds)
{
    char t[32];
    es_time_format_iso((es_time)seconds, t);
    return json_string(t);
}

json_t *api_roles_json(es_roles roles)
{
    json_t *a = json_array();
    for (int i = 0; a && i < ES_ROLE_COUNT; i++)
        if (roles & ES_ROLE_BIT(i)) json_array_append_new(a, json_string(es_role_name((es_role)i)));
    return a;
}

json_t *api_perms_json(es_roles roles)
{
    json_t *a = json_array();
    for (int p = 0; a && p < ES_PERM_COUNT; p++)
        if (es_roles_allow(roles, (es_perm)p))
            json_array_append_new(a, json_string(es_perm_name((es_perm)p)));
    return a;
}

/* ---- Helpers of the handlers. */

const api_user *api_user_of(es_http_req *req)
{
    return es_http_req_user(req);
}

es_err api_require(es_http_req *req, es_api_ctx *ctx, es_accounts *a, es_perm p, const char *what)
{
    const api_user *su = api_user_of(req);
    if (su && es_roles_allow(su->u.roles, p)) return ES_OK;
    es_actor by = su ? api_actor(su) : (es_actor){"anonymous", 0, 0, 0};
    /* Refusals are audited up to ES_API_REFUSAL_AUDIT_RATE a minute per account (as for
     * business systems): beyond, they are refused and logged, so that a signed-in user cannot
     * flood the trail. */
    char key[ES_RATELIMIT_MAX_KEY + 1];
    unsigned retry = 0;
    snprintf(key, sizeof key, "user:%.50s", by.name);
    es_err rv = es_ratelimit_take_now(ctx->denied_audit, key, &retry);
    if (rv == ES_OK) {
        rv = es_acct_audit_denied(a, &by, what);
        if (rv != ES_OK) return rv; /* not audited: not answered either (503) */
    } else if (rv == ES_ERR_LIMIT) {
        es_api_log(ctx, ES_LOG_WARN, "%s refused %s (not audited: over %d refusals a minute)",
                   by.name, what, ES_API_REFUSAL_AUDIT_RATE);
    } else {
        return rv;
    }
    REFUSE(es_http_reply_errf(req, ES_ERR_DENIED, "your roles do not allow %s (needs %s)", what,
                              es_perm_name(p)),
           ES_ERR_DENIED);
}

/* Replies for a service error with its reason (400 invalid_argument: the sentence of the
 * service). */
int api_route_in(es_http_req *req, const api_route_name *names, size_t n)
{
    const char *route = es_http_req_route(req), *method = es_http_req_method(req);
    if (!route) return 1;
    if (strcmp(method, "HEAD") == 0) method = "GET";
    for (size_t i = 0; i < n; i++)
        if (strcmp(method, names[i].method) == 0 && strcmp(route, names[i].route) == 0) return 1;
    return 0;
}

es_err api_fail(es_http_req *req, es_err rv, const char *why)
{
    if (es_http_reply_err(req, rv, why) != ES_OK) return rv;
    return rv;
}

/* A POST without a body: nothing, or an empty JSON object. A content type other than JSON is
 * refused even without a body (hardening 13, item 7): an HTML form of another site can send
 * application/x-www-form-urlencoded, multipart/form-data or text/plain, never JSON. */
es_err api_no_body(es_http_req *req)
{
    static const es_json_field none[] = {{NULL}};
    json_t *o = NULL;
    const char *ct = es_http_req_header(req, "Content-Type");
    if (ct && *ct && strncasecmp(ct, "application/json", 16) != 0)
        REFUSE(es_http_reply_err(req, ES_ERR_MEDIA_TYPE,
                                 "a request without a body takes no content type but "
                                 "application/json"),
               ES_ERR_MEDIA_TYPE);
    if (es_http_req_body(req).len == 0) return ES_OK;
    es_err rv = es_http_req_json(req, none, &o);
    json_decref(o);
    return rv;
}

/* The roles of a JSON array of names. On a bad element it has replied 400. */
es_err api_roles_of(es_http_req *req, const json_t *arr, es_roles *out)
{
    size_t i;
    json_t *v;
    *out = 0;
    json_array_foreach(arr, i, v)
    {
        es_role r;
        if (!json_is_string(v)) {
            REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "roles",
                                           "each element of roles is a string (a role name)"),
                   ES_ERR_ARG);
        }
        if (es_role_parse(json_string_value(v), &r) != ES_OK) {
            char d[128];
            snprintf(d, sizeof d, "unknown role \"%.64s\" (GET /api/v1/roles lists them)",
                     json_string_value(v));
            REFUSE(es_http_reply_err_field(req, ES_ERR_ARG, "roles", d), ES_ERR_ARG);
        }
        *out |= ES_ROLE_BIT(r);
    }
    return ES_OK;
}

/* Sessions and passwords are for people: a business system signs each request instead. */
es_err api_people_only(es_http_req *req)
{
    const api_user *su = api_user_of(req);
    if (!su || !su->is_client) return ES_OK;
    REFUSE(es_http_reply_err(req, ES_ERR_DENIED,
                             "API clients sign each request: they have no session or password"),
           ES_ERR_DENIED);
}

/* ---- Users. */

/* Adds obj (taking the reference) unless the page is full. */
es_err api_page_add(api_page *p, const char *name, json_t *obj)
{
    if (p->n == p->limit) {
        json_decref(obj);
        p->more = 1;
        return ES_OK;
    }
    p->n++;
    snprintf(p->last, sizeof p->last, "%s", name);
    return json_array_append_new(p->items, obj) == 0 ? ES_OK : ES_ERR_NOMEM;
}

/* ---- The site: what a business system or another tier needs to know of this one. */

json_t *api_pem_json(const char *label, const uint8_t *der, size_t len)
{
    es_buf b;
    json_t *o = NULL;
    es_buf_init(&b, 64u << 10);
    if (es_pki_pem_encode(label, es_slice_make(der, len), &b) == ES_OK)
        o = json_stringn((const char *)b.p, b.len);
    es_buf_cleanup(&b);
    return o ? o : json_null();
}

es_err api_not_ready(es_http_req *req)
{
    REFUSE(es_http_reply_err(req, ES_ERR_UNAVAILABLE, NULL), ES_ERR_UNAVAILABLE);
}

/* ---- The context, the log, the store connections. */

void es_api_log(es_api_ctx *ctx, es_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > ctx->log_level || level < ES_LOG_ERROR) return;
    char line[2048], safe[4 * sizeof line];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One event, one line: a control character in a logged value (a user name with a newline)
     * is written as \xNN, so that no value can forge a line of its own. */
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)line; *c && o + 5 < sizeof safe; c++) {
        if (*c < 0x20 || *c == 0x7f)
            o += (size_t)snprintf(safe + o, sizeof safe - o, "\\x%02x", *c);
        else
            safe[o++] = (char)*c;
    }
    safe[o] = 0;
    char when[32];
    es_time_format_iso(es_time_now(), when);
    fprintf(stderr, "%s esealsd %s: %s\n", when, names[level], safe);
}

static void store_close(void *p)
{
    es_store_close(p);
}

es_store *es_api_store(es_api_ctx *ctx)
{
    es_store *s = pthread_getspecific(ctx->store_key);
    if (s) return s;
    if (es_store_open(ctx->cfg.store_url, &s) != ES_OK) {
        es_api_log(ctx, ES_LOG_ERROR, "cannot open the store: %s", es_store_last_error(NULL));
        return NULL;
    }
    if (pthread_setspecific(ctx->store_key, s) != 0) {
        es_store_close(s);
        return NULL;
    }
    return s;
}

es_err es_api_ctx_init(es_api_ctx *ctx)
{
    es_err rv = ES_ERR_NOMEM;
    int key = 0, lock = 0;
    es_buf_init(&ctx->crl, 64u << 20);
    if (pthread_key_create(&ctx->store_key, store_close) != 0) goto fail;
    key = 1;
    if (pthread_mutex_init(&ctx->ca_lock, NULL) != 0) goto fail;
    lock = 1;
    /* Room for the addresses and names of a busy day; the tables never grow. */
    if ((rv = es_ratelimit_new(1u << 16, ctx->cfg.signin_rate_address, ctx->cfg.signin_rate_address,
                               &ctx->signin_address)) != ES_OK ||
        (rv = es_ratelimit_new(1u << 16, ctx->cfg.signin_rate_account, ctx->cfg.signin_rate_account,
                               &ctx->signin_account)) != ES_OK ||
        (rv = es_ratelimit_new(1u << 12, ES_API_REFUSAL_AUDIT_RATE, ES_API_REFUSAL_AUDIT_RATE,
                               &ctx->refusal_audit)) != ES_OK ||
        (rv = es_ratelimit_new(1u << 12, ES_API_REFUSAL_AUDIT_RATE, ES_API_REFUSAL_AUDIT_RATE,
                               &ctx->denied_audit)) != ES_OK ||
        (rv = es_gate_new(ctx->cfg.signin_parallel, &ctx->hash_gate)) != ES_OK ||
        (rv = es_signin_guard_new(ctx->cfg.lockout_failures, &ctx->signin_guard)) != ES_OK ||
        (rv = api_status_init(ctx)) != ES_OK)
        goto fail;
    return ES_OK;
fail:
    es_gate_free(ctx->hash_gate);
    ctx->hash_gate = NULL;
    es_ratelimit_free(ctx->signin_address);
    es_ratelimit_free(ctx->signin_account);
    es_ratelimit_free(ctx->refusal_audit);
    es_ratelimit_free(ctx->denied_audit);
    ctx->signin_address = ctx->signin_account = ctx->refusal_audit = ctx->denied_audit = NULL;
    if (lock) pthread_mutex_destroy(&ctx->ca_lock);
    if (key) pthread_key_delete(ctx->store_key);
    es_buf_cleanup(&ctx->crl);
    return rv;
}

void es_api_ctx_cleanup(es_api_ctx *ctx)
{
    es_ca_close(ctx->ca);
    ctx->ca = NULL;
    es_buf_cleanup(&ctx->crl);
    es_ratelimit_free(ctx->signin_address);
    es_ratelimit_free(ctx->signin_account);
    es_ratelimit_free(ctx->refusal_audit);
    es_ratelimit_free(ctx->denied_audit);
    es_gate_free(ctx->hash_gate);
    es_signin_guard_free(ctx->signin_guard);
    api_status_cleanup(ctx);
    ctx->signin_address = ctx->signin_account = ctx->refusal_audit = ctx->denied_audit = NULL;
    ctx->hash_gate = NULL;
    ctx->signin_guard = NULL;
    /* The calling thread's connection (the workers' close as their threads end). */
    es_store *s = pthread_getspecific(ctx->store_key);
    if (s) {
        pthread_setspecific(ctx->store_key, NULL);
        es_store_close(s);
    }
    pthread_mutex_destroy(&ctx->ca_lock);
    pthread_key_delete(ctx->store_key);
}

es_err api_routes(es_http *h, es_api_ctx *ctx, const api_route *r, size_t n)
{
    es_err rv;
    for (size_t i = 0; i < n; i++)
        if ((rv = es_http_route(h, r[i].method, r[i].pattern, r[i].fn, ctx, r[i].flags)) != ES_OK ||
            (rv = es_http_route_body_limit(h, r[i].method, r[i].pattern, r[i].max_body)) != ES_OK)
            return rv;
    return ES_OK;
}

es_err es_api_register(es_http *h, es_api_ctx *ctx)
{
    es_err rv;
    if ((rv = es_api_accounts_register(h, ctx)) != ES_OK ||
        (rv = es_api_audit_register(h, ctx)) != ES_OK ||
        (rv = es_api_system_register(h, ctx)) != ES_OK ||
        (rv = es_api_ca_register(h, ctx)) != ES_OK ||
        (rv = es_api_clients_register(h, ctx)) != ES_OK ||
        (rv = es_api_factors_register(h, ctx)) != ES_OK ||
        (rv = es_api_national_register(h, ctx)) != ES_OK ||
        (rv = es_api_decisions_register(h, ctx)) != ES_OK ||
        (rv = es_api_pictures_register(h, ctx)) != ES_OK ||
        (rv = es_api_making_register(h, ctx)) != ES_OK ||
        (rv = es_api_seal_imports_register(h, ctx)) != ES_OK ||
        (rv = es_api_renewals_register(h, ctx)) != ES_OK ||
        (rv = es_api_status_register(h, ctx)) != ES_OK ||
        (rv = es_api_upstream_register(h, ctx)) != ES_OK)
        return rv;
    es_http_set_auth(h, api_authenticate, ctx);
    return ES_OK;
}
