/* esealsd: the platform API under /api/v1 (docs/esealsd.md, docs/openapi.json): sessions,
 * users, roles, the audit trail. Maps requests to the accounts and audit services and their
 * results to JSON; the services enforce the rules and write the audit records.
 *
 * Authentication (the hook): a session token from the "eseal_session" cookie or
 * "Authorization: Bearer TOKEN". An account that must change its password may only change
 * it, read or end its session. Authorisation: one permission per endpoint family
 * (es_roles_allow); a refusal is 403 and an "access.denied" audit record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/accounts.h"
#include "eseal/audit.h"
#include "eseal/auth.h"
#include "esealsd.h"

#define SD_COOKIE     "eseal_session"
#define SD_PAGE_USERS 50
#define SD_PAGE_AUDIT 100
/* An export is built in memory before it is sent. */
#define SD_MAX_EXPORT (256u << 20)

/* The authenticated account of a request (es_http_req_user). */
typedef struct sd_user {
    es_user u;
    char token[ES_SESSION_TOKEN_HEX + 1];
} sd_user;

static void sd_user_free(void *p)
{
    if (!p) return;
    es_wipe(p, sizeof(sd_user));
    free(p);
}

/* Returns the error of a reply that could not be made, else code (the refusal replied). */
#define REFUSE(reply, code)                                                                        \
    do {                                                                                           \
        es_err r_ = (reply);                                                                       \
        return r_ != ES_OK ? r_ : (code);                                                          \
    } while (0)

static es_err accounts_of(sd_app *app, es_accounts *a)
{
    es_store *s = sd_store(app);
    if (!s) return ES_ERR_IO;
    a->store = s;
    a->audit = app->audit;
    a->session_minutes = app->cfg.session_minutes;
    a->lockout_failures = app->cfg.lockout_failures;
    a->lockout_minutes = app->cfg.lockout_minutes;
    return ES_OK;
}

/* The session token of a request: the cookie, else a bearer token. Borrowed. */
static const char *token_of(es_http_req *req, int *from_cookie)
{
    const char *c = es_http_req_cookie(req, SD_COOKIE);
    *from_cookie = 0;
    if (c && *c) {
        *from_cookie = 1;
        return c;
    }
    const char *h = es_http_req_header(req, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ') h++;
        return *h ? h : NULL;
    }
    return NULL;
}

/* What an account that must change its password may still do. */
static int allowed_before_change(es_http_req *req)
{
    static const char *const ok[][2] = {
        {"POST", "/api/v1/users/me/password"},
        {"GET", "/api/v1/sessions/current"},
        {"DELETE", "/api/v1/sessions/current"},
        {"POST", "/api/v1/sessions"},
    };
    const char *route = es_http_req_route(req), *method = es_http_req_method(req);
    if (!route) return 1; /* 404 / 405: nothing to protect */
    if (strcmp(method, "HEAD") == 0) method = "GET";
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(method, ok[i][0]) == 0 && strcmp(route, ok[i][1]) == 0) return 1;
    return 0;
}

static es_err authenticate(es_http_req *req, void *arg)
{
    sd_app *app = arg;
    int cookie = 0;
    const char *tok = token_of(req, &cookie);
    es_accounts a;
    es_user u;
    es_err rv;
    if (es_http_req_is_public(req)) return ES_OK;
    if (!tok) REFUSE(es_http_reply_error(req, 401, "unauthorized", "sign in first"), ES_ERR_AUTH);
    if ((rv = accounts_of(app, &a)) != ES_OK) return rv;
    rv = es_acct_session(&a, tok, &u);
    if (rv == ES_ERR_AUTH || rv == ES_ERR_NOT_FOUND) {
        if (cookie && (rv = es_http_set_cookie(req, SD_COOKIE, "", 0)) != ES_OK) return rv;
        REFUSE(es_http_reply_error(req, 401, "unauthorized",
                                   "the session is unknown or has ended: sign in again"),
               ES_ERR_AUTH);
    }
    if (rv != ES_OK) return rv;
    sd_user *su = calloc(1, sizeof *su);
    if (!su) return ES_ERR_NOMEM;
    su->u = u;
    snprintf(su->token, sizeof su->token, "%.64s", tok);
    es_http_req_set_user(req, su, sd_user_free);
    if (u.must_change_password && !allowed_before_change(req)) {
        REFUSE(es_http_reply_error(
                   req, 403, "password_change_required",
                   "change the one-time password first (POST /api/v1/users/me/password)"),
               ES_ERR_DENIED);
    }
    return ES_OK;
}

/* ---- JSON of the service objects. */

static json_t *iso_time(int64_t seconds)
{
    char t[32];
    es_time_format_iso((es_time)seconds, t);
    return json_string(t);
}

static json_t *roles_json(es_roles roles)
{
    json_t *a = json_array();
    for (int i = 0; a && i < ES_ROLE_COUNT; i++)
        if (roles & ES_ROLE_BIT(i)) json_array_append_new(a, json_string(es_role_name((es_role)i)));
    return a;
}

static json_t *perms_json(es_roles roles)
{
    json_t *a = json_array();
    for (int p = 0; a && p < ES_PERM_COUNT; p++)
        if (es_roles_allow(roles, (es_perm)p))
            json_array_append_new(a, json_string(es_perm_name((es_perm)p)));
    return a;
}

static json_t *user_json(const es_user *u)
{
    es_time now = es_time_now();
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "name", json_string(u->name));
    json_object_set_new(o, "display_name", json_string(u->display_name));
    json_object_set_new(o, "roles", roles_json(u->roles));
    json_object_set_new(o, "must_change_password", json_boolean(u->must_change_password));
    json_object_set_new(o, "disabled", json_boolean(u->disabled));
    json_object_set_new(o, "locked", json_boolean(u->locked_until > now));
    json_object_set_new(o, "created_at", iso_time(u->created_at));
    return o;
}

/* ---- Helpers of the handlers. */

static const sd_user *user_of(es_http_req *req)
{
    return es_http_req_user(req);
}

/* The permission check of an endpoint family: ES_OK when the roles allow p; otherwise records
 * the refusal in the audit trail, replies 403 and returns ES_ERR_DENIED. */
static es_err require(es_http_req *req, es_accounts *a, es_perm p, const char *what)
{
    const sd_user *su = user_of(req);
    if (su && es_roles_allow(su->u.roles, p)) return ES_OK;
    es_actor by = su ? es_actor_of(&su->u) : (es_actor){"anonymous", 0, 0, 0};
    es_err rv = es_acct_audit_denied(a, &by, what);
    if (rv != ES_OK) return rv; /* not audited: not answered either (503) */
    REFUSE(es_http_reply_errorf(req, 403, "forbidden", "your roles do not allow %s (needs %s)",
                                what, es_perm_name(p)),
           ES_ERR_DENIED);
}

/* Replies for a service error with its reason (400 invalid_argument: the sentence of the
 * service). */
static es_err fail(es_http_req *req, es_err rv, const char *why)
{
    if (es_http_reply_err(req, rv, why) != ES_OK) return rv;
    return rv;
}

/* A POST without a body: nothing, or an empty JSON object. */
static es_err no_body(es_http_req *req)
{
    static const es_json_field none[] = {{NULL}};
    json_t *o = NULL;
    if (es_http_req_body(req).len == 0) return ES_OK;
    es_err rv = es_http_req_json(req, none, &o);
    json_decref(o);
    return rv;
}

/* The roles of a JSON array of names. On a bad element it has replied 400. */
static es_err roles_of(es_http_req *req, const json_t *arr, es_roles *out)
{
    size_t i;
    json_t *v;
    *out = 0;
    json_array_foreach(arr, i, v)
    {
        es_role r;
        if (!json_is_string(v)) {
            REFUSE(es_http_reply_errorf(req, 400, "wrong_type",
                                        "roles[%zu] must be a string (a role name)", i),
                   ES_ERR_ARG);
        }
        if (es_role_parse(json_string_value(v), &r) != ES_OK) {
            REFUSE(es_http_reply_errorf(req, 400, "invalid_argument",
                                        "unknown role \"%.64s\" (GET /api/v1/roles lists them)",
                                        json_string_value(v)),
                   ES_ERR_ARG);
        }
        *out |= ES_ROLE_BIT(r);
    }
    return ES_OK;
}

#define BEGIN(app_, a_)                                                                            \
    sd_app *app_ = arg;                                                                            \
    es_accounts a_;                                                                                \
    es_err rv = accounts_of(app_, &a_);                                                            \
    if (rv != ES_OK) return rv

/* ---- Sessions. */

static const es_json_field session_schema[] = {
    {"username", ES_JSON_STRING, ES_JSON_REQUIRED, 64},
    {"password", ES_JSON_STRING, ES_JSON_REQUIRED, ES_PASSWORD_MAX},
    {NULL},
};

static es_err sessions_create(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    char token[ES_SESSION_TOKEN_HEX + 1] = "";
    es_user u;
    if ((rv = es_http_req_json(req, session_schema, &in)) != ES_OK) return rv;
    rv = es_acct_login(&a, json_string_value(json_object_get(in, "username")),
                       json_string_value(json_object_get(in, "password")), es_http_req_client(req),
                       token, &u);
    json_decref(in);
    if (rv == ES_ERR_AUTH) return fail(req, rv, "wrong user name or password");
    if (rv == ES_ERR_LOCKED)
        return fail(req, rv,
                    "the account is locked or disabled; try later or ask an administrator");
    if (rv != ES_OK) return rv;
    json_t *out = json_object();
    json_t *user = user_json(&u);
    json_object_set_new(user, "permissions", perms_json(u.roles));
    json_object_set_new(out, "token", json_string(token));
    json_object_set_new(out, "user", user);
    rv = es_http_set_cookie(req, SD_COOKIE, token, -1);
    es_wipe(token, sizeof token);
    if (rv != ES_OK) {
        json_decref(out);
        return rv;
    }
    return es_http_reply_json_new(req, 201, out);
}

static es_err sessions_current(es_http_req *req, void *arg)
{
    (void)arg;
    const sd_user *su = user_of(req);
    json_t *user = user_json(&su->u);
    json_object_set_new(user, "permissions", perms_json(su->u.roles));
    json_t *out = json_object();
    json_object_set_new(out, "user", user);
    return es_http_reply_json_new(req, 200, out);
}

static es_err sessions_delete(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const sd_user *su = user_of(req);
    if ((rv = es_acct_logout(&a, su->token)) != ES_OK) return rv;
    if ((rv = es_http_set_cookie(req, SD_COOKIE, "", 0)) != ES_OK) return rv;
    return es_http_reply_empty(req, 204);
}

static const es_json_field password_schema[] = {
    {"old_password", ES_JSON_STRING, ES_JSON_REQUIRED, ES_PASSWORD_MAX},
    {"new_password", ES_JSON_STRING, ES_JSON_REQUIRED, ES_PASSWORD_MAX},
    {NULL},
};

static es_err password_change(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const sd_user *su = user_of(req);
    json_t *in = NULL;
    const char *why = NULL;
    if ((rv = es_http_req_json(req, password_schema, &in)) != ES_OK) return rv;
    es_actor by = es_actor_of(&su->u);
    rv = es_acct_change_password(&a, &by, json_string_value(json_object_get(in, "old_password")),
                                 json_string_value(json_object_get(in, "new_password")), &why);
    json_decref(in);
    /* A wrong current password is not a failed authentication of the session: 400. */
    if (rv == ES_ERR_AUTH)
        return es_http_reply_error(req, 400, "wrong_password", "the current password is wrong");
    if (rv != ES_OK) return fail(req, rv, why);
    es_user u;
    if ((rv = es_acct_get(&a, &by, su->u.name, &u)) != ES_OK) return rv;
    json_t *out = json_object();
    json_object_set_new(out, "user", user_json(&u));
    return es_http_reply_json_new(req, 200, out);
}

/* ---- Users. */

typedef struct page_ctx {
    json_t *items;
    unsigned limit, n;
    char last[ES_ACCOUNT_NAME_MAX + 1];
    int more;
} page_ctx;

static es_err page_user(void *ctx, const es_user *u)
{
    page_ctx *p = ctx;
    if (p->n == p->limit) {
        p->more = 1;
        return ES_OK;
    }
    p->n++;
    snprintf(p->last, sizeof p->last, "%s", u->name);
    return json_array_append_new(p->items, user_json(u)) == 0 ? ES_OK : ES_ERR_NOMEM;
}

static es_err users_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_http_page page;
    if ((rv = require(req, &a, ES_PERM_ACCOUNTS, "user.list")) != ES_OK) return rv;
    if ((rv = es_http_req_page(req, SD_PAGE_USERS, app->cfg.page_max, &page)) != ES_OK) return rv;
    es_actor by = es_actor_of(&user_of(req)->u);
    page_ctx p = {json_array(), page.limit, 0, "", 0};
    if (!p.items) return ES_ERR_NOMEM;
    rv = es_acct_list(&a, &by, page.cursor, (int64_t)page.limit + 1, page_user, &p);
    if (rv != ES_OK) {
        json_decref(p.items);
        return rv;
    }
    return es_http_reply_page(req, p.items, p.more ? p.last : NULL);
}

static const es_json_field user_create_schema[] = {
    {"name", ES_JSON_STRING, ES_JSON_REQUIRED, 64},
    {"display_name", ES_JSON_STRING, 0, ES_ACCOUNT_DISPLAY_MAX},
    {"roles", ES_JSON_ARRAY, ES_JSON_REQUIRED, ES_ROLE_COUNT},
    {NULL},
};

static es_err users_create(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    es_roles roles = 0;
    const char *why = NULL;
    char otp[32] = "", loc[96];
    es_user u;
    if ((rv = require(req, &a, ES_PERM_ACCOUNTS, "user.create")) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, user_create_schema, &in)) != ES_OK) return rv;
    if ((rv = roles_of(req, json_object_get(in, "roles"), &roles)) != ES_OK) goto out;
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *display = json_string_value(json_object_get(in, "display_name"));
    es_actor by = es_actor_of(&user_of(req)->u);
    rv = es_acct_create(&a, &by, name, display ? display : "", roles, NULL, otp, &u, &why);
    if (rv == ES_ERR_EXISTS) {
        rv = es_http_reply_errorf(req, 409, "conflict", "an account named \"%s\" exists", name);
        if (rv == ES_OK) rv = ES_ERR_EXISTS;
        goto out;
    }
    if (rv != ES_OK) {
        rv = fail(req, rv, why);
        goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "user", user_json(&u));
    /* The one place the password is ever shown. */
    json_object_set_new(o, "one_time_password", json_string(otp));
    snprintf(loc, sizeof loc, "/api/v1/users/%s", u.name);
    if ((rv = es_http_add_header(req, "Location", loc)) != ES_OK) {
        json_decref(o);
        goto out;
    }
    rv = es_http_reply_json_new(req, 201, o);
out:
    es_wipe(otp, sizeof otp);
    json_decref(in);
    return rv;
}

static es_err reply_user(es_http_req *req, es_accounts *a, const es_actor *by, const char *name,
                         const char *otp)
{
    es_user u;
    es_err rv = es_acct_get(a, by, name, &u);
    if (rv != ES_OK) return rv;
    json_t *o = json_object();
    json_object_set_new(o, "user", user_json(&u));
    if (otp) json_object_set_new(o, "one_time_password", json_string(otp));
    return es_http_reply_json_new(req, 200, o);
}

static es_err users_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const sd_user *su = user_of(req);
    const char *name = es_http_req_param(req, "name");
    /* One's own account, or any with the accounts permission. */
    if (strcmp(name, su->u.name) != 0 &&
        (rv = require(req, &a, ES_PERM_ACCOUNTS, "user.get")) != ES_OK)
        return rv;
    es_actor by = es_actor_of(&su->u);
    return reply_user(req, &a, &by, name, NULL);
}

static const es_json_field roles_schema[] = {
    {"roles", ES_JSON_ARRAY, ES_JSON_REQUIRED, ES_ROLE_COUNT},
    {NULL},
};

static es_err users_set_roles(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    es_roles roles = 0;
    const char *why = NULL, *name = es_http_req_param(req, "name");
    if ((rv = require(req, &a, ES_PERM_ACCOUNTS, "user.roles")) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, roles_schema, &in)) != ES_OK) return rv;
    rv = roles_of(req, json_object_get(in, "roles"), &roles);
    json_decref(in);
    if (rv != ES_OK) return rv;
    es_actor by = es_actor_of(&user_of(req)->u);
    rv = es_acct_set_roles(&a, &by, name, roles, &why);
    if (rv == ES_ERR_DENIED) return fail(req, rv, "nobody changes their own roles");
    if (rv != ES_OK) return fail(req, rv, why);
    return reply_user(req, &a, &by, name, NULL);
}

static es_err set_disabled(es_http_req *req, void *arg, int disabled)
{
    BEGIN(app, a);
    const char *name = es_http_req_param(req, "name");
    if ((rv = require(req, &a, ES_PERM_ACCOUNTS, disabled ? "user.disable" : "user.enable")) !=
        ES_OK)
        return rv;
    if ((rv = no_body(req)) != ES_OK) return rv;
    es_actor by = es_actor_of(&user_of(req)->u);
    rv = es_acct_set_disabled(&a, &by, name, disabled);
    if (rv == ES_ERR_DENIED) return fail(req, rv, "nobody disables or enables their own account");
    if (rv != ES_OK) return rv;
    return reply_user(req, &a, &by, name, NULL);
}

static es_err users_disable(es_http_req *req, void *arg)
{
    return set_disabled(req, arg, 1);
}

static es_err users_enable(es_http_req *req, void *arg)
{
    return set_disabled(req, arg, 0);
}

static es_err users_reset(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const char *name = es_http_req_param(req, "name");
    char otp[32] = "";
    if ((rv = require(req, &a, ES_PERM_ACCOUNTS, "user.password_reset")) != ES_OK) return rv;
    if ((rv = no_body(req)) != ES_OK) return rv;
    es_actor by = es_actor_of(&user_of(req)->u);
    rv = es_acct_reset_password(&a, &by, name, otp);
    if (rv == ES_ERR_DENIED) return fail(req, rv, "change your own password instead");
    if (rv == ES_OK) rv = reply_user(req, &a, &by, name, otp);
    es_wipe(otp, sizeof otp);
    return rv;
}

/* ---- Roles: the table of auth.h, for any signed-in account (the console builds its forms
 * from it). */

static const char *duty_of(es_role r)
{
    if (r == ES_ROLE_SYSTEM_ADMIN) return "system";
    if (r == ES_ROLE_AUDIT_ADMIN) return "audit";
    return "business";
}

static es_err roles_list(es_http_req *req, void *arg)
{
    (void)arg;
    json_t *roles = json_array(), *perms = json_array();
    for (int i = 0; i < ES_ROLE_COUNT; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(es_role_name((es_role)i)));
        json_object_set_new(o, "duty", json_string(duty_of((es_role)i)));
        json_object_set_new(o, "permissions", perms_json(ES_ROLE_BIT(i)));
        json_array_append_new(roles, o);
    }
    for (int p = 0; p < ES_PERM_COUNT; p++)
        json_array_append_new(perms, json_string(es_perm_name((es_perm)p)));
    json_t *out = json_object();
    json_object_set_new(out, "roles", roles);
    json_object_set_new(out, "permissions", perms);
    json_object_set_new(out, "rules",
                        json_string("an account holds roles of one duty only (system, business "
                                    "or audit); nobody changes their own roles"));
    return es_http_reply_json_new(req, 200, out);
}

/* ---- Audit. */

/* A time parameter: milliseconds since 1970, or an ISO 8601 time. 0 when absent. On a bad
 * value it has replied 400. */
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
    REFUSE(es_http_reply_errorf(req, 400, "invalid_parameter",
                                "%s is milliseconds since 1970 or an ISO 8601 time", name),
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
    json_object_set_new(o, "time", iso_time(r->at / 1000));
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
    if ((rv = require(req, &a, ES_PERM_AUDIT, "audit.list")) != ES_OK) return rv;
    if ((rv = es_http_req_page(req, SD_PAGE_AUDIT, app->cfg.page_max, &page)) != ES_OK) return rv;
    if ((rv = audit_filter(req, &f)) != ES_OK) return rv;
    if (page.cursor) {
        if (strspn(page.cursor, "0123456789") != strlen(page.cursor) || strlen(page.cursor) > 18)
            return es_http_reply_error(req, 400, "invalid_parameter", "bad cursor");
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
    if ((rv = require(req, &a, ES_PERM_AUDIT, "audit.verify")) != ES_OK) return rv;
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
    if ((rv = require(req, &a, ES_PERM_AUDIT, "audit.export")) != ES_OK) return rv;
    if ((rv = audit_filter(req, &f)) != ES_OK) return rv;
    es_buf_init(&b, SD_MAX_EXPORT);
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

/* ---- The table. */

es_err sd_api_register(es_http *h, sd_app *app)
{
    static const struct {
        const char *method, *pattern;
        es_http_handler fn;
        unsigned flags;
    } routes[] = {
        {"POST", "/api/v1/sessions", sessions_create, ES_HTTP_PUBLIC},
        {"GET", "/api/v1/sessions/current", sessions_current, 0},
        {"DELETE", "/api/v1/sessions/current", sessions_delete, 0},
        {"POST", "/api/v1/users/me/password", password_change, 0},
        {"GET", "/api/v1/users", users_list, 0},
        {"POST", "/api/v1/users", users_create, 0},
        {"GET", "/api/v1/users/{name}", users_get, 0},
        {"PUT", "/api/v1/users/{name}/roles", users_set_roles, 0},
        {"POST", "/api/v1/users/{name}/disable", users_disable, 0},
        {"POST", "/api/v1/users/{name}/enable", users_enable, 0},
        {"POST", "/api/v1/users/{name}/reset-password", users_reset, 0},
        {"GET", "/api/v1/roles", roles_list, 0},
        {"GET", "/api/v1/audit", audit_list, 0},
        {"GET", "/api/v1/audit/verify", audit_verify, 0},
        {"GET", "/api/v1/audit/export", audit_export, 0},
    };
    es_err rv;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if ((rv = es_http_route(h, routes[i].method, routes[i].pattern, routes[i].fn, app,
                                routes[i].flags)) != ES_OK)
            return rv;
    es_http_set_auth(h, authenticate, app);
    return ES_OK;
}
