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
#include "eseal/clients.h"
#include "esealsd.h"

#define SD_COOKIE     "eseal_session"
#define SD_PAGE_USERS 50
#define SD_PAGE_AUDIT 100
/* An export is built in memory before it is sent. */
#define SD_MAX_EXPORT (256u << 20)

/* The authenticated account of a request (es_http_req_user): a signed-in user, or a
 * business system whose request was signed (is_client; u holds its name and roles). */
typedef struct sd_user {
    es_user u;
    char token[ES_SESSION_TOKEN_HEX + 1];
    int is_client;
    es_client client;
    char actor[ES_CLIENT_NAME_MAX + 8]; /* the audit trail's name: "alice", "client:erp" */
} sd_user;

/* Who acts in a request, for the services. */
static es_actor actor_of(const sd_user *su)
{
    es_actor a = {su->actor, su->u.roles, su->u.id, 0};
    return a;
}

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

/* A business system's signed request (docs/api-clients.md). */
static es_err authenticate_client(es_http_req *req, sd_app *app, const char *header)
{
    es_accounts a;
    es_client c;
    const char *why = NULL;
    es_err rv = accounts_of(app, &a);
    if (rv != ES_OK) return rv;
    rv = es_client_authenticate(&a, header, es_http_req_method(req), es_http_req_target(req),
                                es_http_req_body(req), es_time_now(), app->cfg.clock_skew_seconds,
                                app->refusal_audit, &c, &why);
    if (rv == ES_ERR_AUTH) {
        sd_log(app, SD_LOG_WARN, "signed request refused (%s %s from %s): %s",
               es_http_req_method(req), es_http_req_path(req), es_http_req_client(req),
               why ? why : "?");
        REFUSE(es_http_reply_error(req, 401, "unauthorized", why ? why : "refused"), ES_ERR_AUTH);
    }
    if (rv != ES_OK) return rv;
    sd_user *su = calloc(1, sizeof *su);
    if (!su) return ES_ERR_NOMEM;
    su->is_client = 1;
    su->client = c;
    snprintf(su->u.name, sizeof su->u.name, "%s", c.name);
    su->u.roles = c.roles;
    snprintf(su->actor, sizeof su->actor, "client:%s", c.name);
    es_http_req_set_user(req, su, sd_user_free);
    return ES_OK;
}

static es_err authenticate(es_http_req *req, void *arg)
{
    sd_app *app = arg;
    int cookie = 0;
    const char *tok = NULL;
    es_accounts a;
    es_user u;
    es_err rv;
    if (es_http_req_is_public(req)) return ES_OK;
    const char *h = es_http_req_header(req, "Authorization");
    if (h && es_client_auth_is_signed(h)) return authenticate_client(req, app, h);
    tok = token_of(req, &cookie);
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
    snprintf(su->actor, sizeof su->actor, "%s", u.name);
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
    es_actor by = su ? actor_of(su) : (es_actor){"anonymous", 0, 0, 0};
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

/* Sessions and passwords are for people: a business system signs each request instead. */
static es_err people_only(es_http_req *req)
{
    const sd_user *su = user_of(req);
    if (!su || !su->is_client) return ES_OK;
    REFUSE(es_http_reply_error(req, 403, "forbidden",
                               "API clients sign each request: they have no session or password"),
           ES_ERR_DENIED);
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

/* Waits (10 s at most) for one of the [accounts] signin_parallel places of a password hash;
 * when none frees up it has replied 503 with Retry-After. */
static es_err hash_enter(es_http_req *req, sd_app *app)
{
    if (es_gate_enter(app->hash_gate, 10000) == ES_OK) return ES_OK;
    es_err rv = es_http_add_header(req, "Retry-After", "1");
    if (rv == ES_OK)
        rv = es_http_reply_error(req, 503, "busy", "too many sign-ins at once: try again");
    return rv == ES_OK ? ES_ERR_LIMIT : rv;
}

/* Sign-in attempts a minute per client address and per account name ([accounts]
 * signin_rate_address, signin_rate_account) (an argon2id hash costs 64 MiB and a few hundred ms;
 * guessing is slowed further by the lockout). On a refusal it has replied 429 with Retry-After. */
static es_err signin_allowed(es_http_req *req, sd_app *app, const char *name)
{
    char key[ES_RATELIMIT_MAX_KEY + 1];
    unsigned retry = 0;
    snprintf(key, sizeof key, "ip:%s", es_http_req_client(req));
    es_err rv = es_ratelimit_take_now(app->signin_address, key, &retry);
    const char *who = "this address";
    if (rv == ES_OK) {
        snprintf(key, sizeof key, "user:%.50s", name);
        rv = es_ratelimit_take_now(app->signin_account, key, &retry);
        who = "this account";
    }
    if (rv != ES_ERR_LIMIT) return rv;
    char ra[16];
    snprintf(ra, sizeof ra, "%u", retry);
    sd_log(app, SD_LOG_WARN, "sign-in attempts over the limit for %s (%s, account \"%.50s\")", who,
           es_http_req_client(req), name);
    if ((rv = es_http_add_header(req, "Retry-After", ra)) != ES_OK) return rv;
    REFUSE(es_http_reply_errorf(req, 429, "too_many_requests",
                                "too many sign-in attempts for %s: try again in %u s", who, retry),
           ES_ERR_LIMIT);
}

static es_err sessions_create(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    char token[ES_SESSION_TOKEN_HEX + 1] = "";
    es_user u;
    if ((rv = es_http_req_json(req, session_schema, &in)) != ES_OK) return rv;
    const char *name = json_string_value(json_object_get(in, "username"));
    if ((rv = signin_allowed(req, app, name)) != ES_OK || (rv = hash_enter(req, app)) != ES_OK) {
        json_decref(in);
        return rv;
    }
    rv = es_acct_login(&a, name, json_string_value(json_object_get(in, "password")),
                       es_http_req_client(req), token, &u);
    es_gate_leave(app->hash_gate);
    if (rv == ES_OK) {
        char key[ES_RATELIMIT_MAX_KEY + 1];
        snprintf(key, sizeof key, "user:%.50s", name);
        es_ratelimit_reset(app->signin_account, key);
    }
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
    es_err rv = people_only(req);
    if (rv != ES_OK) return rv;
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
    if ((rv = people_only(req)) != ES_OK) return rv;
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
    if ((rv = people_only(req)) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, password_schema, &in)) != ES_OK) return rv;
    es_actor by = actor_of(su);
    if ((rv = hash_enter(req, app)) != ES_OK) {
        json_decref(in);
        return rv;
    }
    rv = es_acct_change_password(&a, &by, json_string_value(json_object_get(in, "old_password")),
                                 json_string_value(json_object_get(in, "new_password")), &why);
    es_gate_leave(app->hash_gate);
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

/* A page of a list in name order: the service is asked for limit + 1 items; the extra one
 * only says there is a next page, whose cursor is the last name kept. */
typedef struct page_ctx {
    json_t *items;
    unsigned limit, n;
    char last[ES_ACCOUNT_NAME_MAX + 1];
    int more;
} page_ctx;

/* Adds obj (taking the reference) unless the page is full. */
static es_err page_add(page_ctx *p, const char *name, json_t *obj)
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

static es_err page_user(void *ctx, const es_user *u)
{
    return page_add(ctx, u->name, user_json(u));
}

static es_err users_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_http_page page;
    if ((rv = require(req, &a, ES_PERM_ACCOUNTS, "user.list")) != ES_OK) return rv;
    if ((rv = es_http_req_page(req, SD_PAGE_USERS, app->cfg.page_max, &page)) != ES_OK) return rv;
    es_actor by = actor_of(user_of(req));
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
    es_actor by = actor_of(user_of(req));
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
    if ((su->is_client || strcmp(name, su->u.name) != 0) &&
        (rv = require(req, &a, ES_PERM_ACCOUNTS, "user.get")) != ES_OK)
        return rv;
    es_actor by = actor_of(su);
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
    es_actor by = actor_of(user_of(req));
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
    es_actor by = actor_of(user_of(req));
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
    es_actor by = actor_of(user_of(req));
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

/* ---- The site: what a business system or another tier needs to know of this one. */

static json_t *pem_json(const char *label, const uint8_t *der, size_t len)
{
    es_buf b;
    json_t *o = NULL;
    es_buf_init(&b, 64u << 10);
    if (es_pki_pem_encode(label, es_slice_make(der, len), &b) == ES_OK)
        o = json_stringn((const char *)b.p, b.len);
    es_buf_cleanup(&b);
    return o ? o : json_null();
}

static es_err not_ready(es_http_req *req)
{
    REFUSE(es_http_reply_error(req, 503, "unavailable", "starting: try again in a moment"),
           ES_ERR_IO);
}

static es_err system_get(es_http_req *req, void *arg)
{
    sd_app *app = arg;
    char systems[64];
    if (!atomic_load(&app->ready)) return not_ready(req);
    es_systems_format(app->cfg.systems, systems, sizeof systems);
    es_slice root = es_ca_cert(app->ca);
    json_t *o = json_object(), *sys = json_array(), *auth = json_object();
    for (char *save = NULL, *t = strtok_r(systems, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(sys, json_string(t));
    json_object_set_new(o, "name", json_string(app->cfg.site_name));
    json_object_set_new(o, "tier", json_string(es_tier_name(app->cfg.tier)));
    json_object_set_new(o, "division", json_string(app->cfg.division));
    json_object_set_new(o, "systems", sys);
    json_object_set_new(o, "public_url", json_string(app->public_url));
    json_object_set_new(
        o, "system_certificate",
        pem_json("CERTIFICATE", app->site.system_cert.p, app->site.system_cert.len));
    json_object_set_new(o, "root_certificate", pem_json("CERTIFICATE", root.p, root.len));
    es_buf spki;
    es_buf_init(&spki, 256);
    if (es_sm2_pub_spki(app->site.audit_pub, &spki) == ES_OK)
        json_object_set_new(o, "audit_public_key", pem_json("PUBLIC KEY", spki.p, spki.len));
    es_buf_cleanup(&spki);
    json_object_set_new(auth, "scheme", json_string(ES_CLIENT_SCHEME));
    json_object_set_new(auth, "sm2_id", json_string(ES_SM2_DEFAULT_ID));
    json_object_set_new(auth, "clock_skew_seconds", json_integer(app->cfg.clock_skew_seconds));
    json_object_set_new(o, "api_auth", auth);
    return es_http_reply_json_new(req, 200, o);
}

/* The seal root's certificate (DER). */
static es_err ca_root(es_http_req *req, void *arg)
{
    sd_app *app = arg;
    if (!atomic_load(&app->ready)) return not_ready(req);
    es_slice root = es_ca_cert(app->ca);
    if (es_http_add_header(req, "Content-Disposition", "attachment; filename=\"root.crt\"") !=
        ES_OK)
        return ES_ERR_NOMEM;
    return es_http_reply_bytes(req, 200, "application/pkix-cert", root.p, root.len);
}

/* The seal root's full CRL (DER, RFC 5280): every certificate it revoked (clients, superseded
 * system certificates). Signed again after SD_CRL_REFRESH seconds or a revocation; each
 * signing takes the next cRLNumber. */
static es_err ca_crl(es_http_req *req, void *arg)
{
    sd_app *app = arg;
    es_err rv = ES_OK;
    if (!atomic_load(&app->ready)) return not_ready(req);
    pthread_mutex_lock(&app->ca_lock);
    time_t now = time(NULL);
    if (app->crl.len == 0 || now - app->crl_at >= SD_CRL_REFRESH) {
        app->crl.len = 0;
        rv = es_ca_crl(app->ca, 0, NULL, &app->crl);
        if (rv == ES_OK)
            app->crl_at = now;
        else
            app->crl.len = 0;
    }
    if (rv == ES_OK)
        rv = es_http_reply_bytes(req, 200, "application/pkix-crl", app->crl.p, app->crl.len);
    pthread_mutex_unlock(&app->ca_lock);
    if (rv != ES_OK) sd_log(app, SD_LOG_ERROR, "cannot sign the CRL: %s", es_err_str(rv));
    return rv;
}

/* ---- API clients (business systems): registered by a business administrator. */

static json_t *client_json(const es_client *c)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "roles", roles_json(c->roles));
    json_object_set_new(o, "serial", json_string(c->serial));
    json_object_set_new(o, "subject", json_string(c->subject));
    json_object_set_new(o, "not_before", iso_time(c->not_before));
    json_object_set_new(o, "not_after", iso_time(c->not_after));
    json_object_set_new(o, "disabled", json_boolean(c->disabled));
    json_object_set_new(o, "revoked", json_boolean(c->revoked));
    json_object_set_new(o, "created_at", iso_time(c->created_at));
    json_object_set_new(o, "created_by", json_string(c->created_by));
    return o;
}

static es_err page_client(void *ctx, const es_client *c)
{
    return page_add(ctx, c->name, client_json(c));
}

static es_err clients_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_http_page page;
    if ((rv = require(req, &a, ES_PERM_CLIENTS, "client.list")) != ES_OK) return rv;
    if ((rv = es_http_req_page(req, SD_PAGE_USERS, app->cfg.page_max, &page)) != ES_OK) return rv;
    es_actor by = actor_of(user_of(req));
    page_ctx p = {json_array(), page.limit, 0, "", 0};
    if (!p.items) return ES_ERR_NOMEM;
    rv = es_client_list(&a, &by, page.cursor, (int64_t)page.limit + 1, page_client, &p);
    if (rv != ES_OK) {
        json_decref(p.items);
        return rv;
    }
    return es_http_reply_page(req, p.items, p.more ? p.last : NULL);
}

/* {"client": ..., "certificate": PEM}. */
static es_err reply_client(es_http_req *req, unsigned status, const es_client *c, es_slice cert)
{
    json_t *o = json_object();
    json_object_set_new(o, "client", client_json(c));
    json_object_set_new(o, "certificate", pem_json("CERTIFICATE", cert.p, cert.len));
    return es_http_reply_json_new(req, status, o);
}

static const es_json_field client_create_schema[] = {
    {"name", ES_JSON_STRING, ES_JSON_REQUIRED, 64},
    {"roles", ES_JSON_ARRAY, ES_JSON_REQUIRED, ES_ROLE_COUNT},
    {"csr", ES_JSON_STRING, 0, 16384},
    {"certificate", ES_JSON_STRING, 0, 16384},
    {"subject", ES_JSON_STRING, 0, 1024},
    {"days", ES_JSON_INTEGER, 0, 0},
    {NULL},
};

/* Issues a client certificate from the site's CA for a PKCS#10 request: profile "user".
 * On a refusal it has replied 400 with the CA's reasons. */
static es_err issue_client_cert(es_http_req *req, sd_app *app, const json_t *in, es_buf *der,
                                char serial[2 * ES_PKI_SERIAL_MAX + 1])
{
    const char *csr = json_string_value(json_object_get(in, "csr"));
    const char *subj = json_string_value(json_object_get(in, "subject"));
    json_t *days = json_object_get(in, "days");
    es_name name;
    es_pki_lint lint;
    char why[256] = "";
    memset(&lint, 0, sizeof lint);
    if (subj && es_pki_name_parse(subj, &name, why, sizeof why) != ES_OK)
        REFUSE(es_http_reply_errorf(req, 400, "invalid_argument", "subject: %s", why), ES_ERR_ARG);
    if (days && (json_integer_value(days) < 1 || json_integer_value(days) > 3650))
        REFUSE(es_http_reply_error(req, 400, "invalid_argument", "days is 1 to 3650"), ES_ERR_ARG);
    es_ca_request r = {.profile = "user",
                       .subject = subj ? &name : NULL,
                       .csr = (const uint8_t *)csr,
                       .csr_len = strlen(csr),
                       .days = days ? (long)json_integer_value(days) : 0,
                       .not_before = ES_TIME_NONE};
    pthread_mutex_lock(&app->ca_lock);
    es_err rv = es_ca_issue(app->ca, &r, &lint, der, serial);
    pthread_mutex_unlock(&app->ca_lock);
    if (rv == ES_ERR_LINT) {
        json_t *o = json_object(), *list = json_array();
        for (size_t i = 0; i < lint.n; i++) json_array_append_new(list, json_string(lint.msg[i]));
        json_object_set_new(o, "error", json_string("invalid_argument"));
        json_object_set_new(o, "message",
                            json_string("the certificate request fails the CA's checks"));
        json_object_set_new(o, "problems", list);
        REFUSE(es_http_reply_json_new(req, 400, o), ES_ERR_ARG);
    }
    if (rv == ES_ERR_VERIFY)
        REFUSE(es_http_reply_error(req, 400, "invalid_argument",
                                   "the certificate request's signature does not verify"),
               ES_ERR_ARG);
    if (rv != ES_OK && rv != ES_ERR_IO && rv != ES_ERR_NOMEM && rv != ES_ERR_LIMIT)
        REFUSE(es_http_reply_error(req, 400, "invalid_argument",
                                   "csr is not a PKCS#10 certificate request (PEM or DER)"),
               ES_ERR_ARG);
    return rv;
}

static es_err clients_create(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    es_roles roles = 0;
    const char *why = NULL;
    char serial[2 * ES_PKI_SERIAL_MAX + 1] = "", loc[96];
    es_buf der;
    es_client c;
    es_buf_init(&der, 64u << 10);
    if (!atomic_load(&app->ready)) return not_ready(req);
    if ((rv = require(req, &a, ES_PERM_CLIENTS, "client.register")) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, client_create_schema, &in)) != ES_OK) return rv;
    if ((rv = roles_of(req, json_object_get(in, "roles"), &roles)) != ES_OK) goto out;
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *csr = json_string_value(json_object_get(in, "csr"));
    const char *pem = json_string_value(json_object_get(in, "certificate"));
    es_actor by = actor_of(user_of(req));
    if (!csr == !pem) {
        rv = es_http_reply_error(req, 400, "invalid_argument",
                                 "give either csr (the CA issues the certificate) or certificate "
                                 "(one the site's CA issued)");
        if (rv == ES_OK) rv = ES_ERR_ARG;
        goto out;
    }
    if (pem && (json_object_get(in, "subject") || json_object_get(in, "days"))) {
        rv = es_http_reply_error(req, 400, "invalid_argument",
                                 "subject and days go with csr, not with certificate");
        if (rv == ES_OK) rv = ES_ERR_ARG;
        goto out;
    }
    /* Refuse what registration would refuse before the CA issues anything. */
    if (!es_account_name_valid(name) || es_client_roles_check(roles, &why) != ES_OK) {
        rv = fail(req, ES_ERR_ARG,
                  why ? why : "client names are 2 to 32 of a-z 0-9 . _ - starting with a letter");
        goto out;
    }
    if (strcmp(name, "me") == 0) {
        rv = fail(req, ES_ERR_ARG, "\"me\" is reserved (GET /api/v1/clients/me)");
        goto out;
    }
    if (csr) {
        es_client old;
        if ((rv = es_client_get(&a, &by, name, &old, NULL)) == ES_OK) {
            rv = es_http_reply_errorf(req, 409, "conflict", "a client named \"%s\" exists", name);
            if (rv == ES_OK) rv = ES_ERR_EXISTS;
            goto out;
        }
        if (rv != ES_ERR_NOT_FOUND) goto out;
        if ((rv = issue_client_cert(req, app, in, &der, serial)) != ES_OK) goto out;
    } else if (es_cert_to_der((const uint8_t *)pem, strlen(pem), &der) != ES_OK) {
        rv = fail(req, ES_ERR_ARG, "certificate is not a PEM or base64 X.509 certificate");
        goto out;
    }
    rv = es_client_register(&a, &by, name, roles, es_slice_make(der.p, der.len),
                            es_ca_cert(app->ca), &c, &why);
    if (rv != ES_OK && serial[0]) {
        /* Issued for a registration that did not happen: never usable. */
        pthread_mutex_lock(&app->ca_lock);
        es_err r2 = es_ca_revoke(app->ca, serial, ES_REASON_CESSATION, ES_TIME_NONE);
        app->crl.len = 0;
        pthread_mutex_unlock(&app->ca_lock);
        if (r2 != ES_OK)
            sd_log(app, SD_LOG_ERROR, "cannot revoke the unused client certificate %s: %s", serial,
                   es_err_str(r2));
    }
    if (rv == ES_ERR_EXISTS) {
        rv = es_http_reply_error(req, 409, "conflict", why);
        if (rv == ES_OK) rv = ES_ERR_EXISTS;
        goto out;
    }
    if (rv != ES_OK) {
        rv = fail(req, rv, why);
        goto out;
    }
    snprintf(loc, sizeof loc, "/api/v1/clients/%s", c.name);
    if ((rv = es_http_add_header(req, "Location", loc)) != ES_OK) goto out;
    rv = reply_client(req, 201, &c, es_slice_make(der.p, der.len));
out:
    json_decref(in);
    es_buf_cleanup(&der);
    return rv;
}

static es_err clients_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_client c;
    es_buf der;
    if ((rv = require(req, &a, ES_PERM_CLIENTS, "client.get")) != ES_OK) return rv;
    es_actor by = actor_of(user_of(req));
    es_buf_init(&der, 64u << 10);
    rv = es_client_get(&a, &by, es_http_req_param(req, "name"), &c, &der);
    if (rv == ES_OK) rv = reply_client(req, 200, &c, es_slice_make(der.p, der.len));
    es_buf_cleanup(&der);
    return rv;
}

/* A business system's own record. */
static es_err clients_me(es_http_req *req, void *arg)
{
    (void)arg;
    const sd_user *su = user_of(req);
    if (!su->is_client)
        return es_http_reply_error(req, 400, "not_a_client",
                                   "only a signed request of an API client has a client record");
    json_t *o = json_object(), *c = client_json(&su->client);
    json_object_set_new(c, "permissions", perms_json(su->client.roles));
    json_object_set_new(o, "client", c);
    return es_http_reply_json_new(req, 200, o);
}

static es_err client_set_disabled(es_http_req *req, void *arg, int disabled)
{
    BEGIN(app, a);
    const char *name = es_http_req_param(req, "name");
    es_client c;
    if ((rv = require(req, &a, ES_PERM_CLIENTS, disabled ? "client.disable" : "client.enable")) !=
        ES_OK)
        return rv;
    if ((rv = no_body(req)) != ES_OK) return rv;
    es_actor by = actor_of(user_of(req));
    rv = es_client_set_disabled(&a, &by, name, disabled);
    if (rv == ES_ERR_ARG) return fail(req, rv, "a revoked client cannot be enabled");
    if (rv == ES_OK) rv = es_client_get(&a, &by, name, &c, NULL);
    if (rv != ES_OK) return rv;
    json_t *o = json_object();
    json_object_set_new(o, "client", client_json(&c));
    return es_http_reply_json_new(req, 200, o);
}

static es_err clients_disable(es_http_req *req, void *arg)
{
    return client_set_disabled(req, arg, 1);
}

static es_err clients_enable(es_http_req *req, void *arg)
{
    return client_set_disabled(req, arg, 0);
}

static const es_json_field revoke_schema[] = {
    {"reason", ES_JSON_STRING, 0, 64},
    {NULL},
};

/* Revokes for good: the client is refused from now on and its certificate is revoked at the
 * CA (it appears on the next CRL). */
static es_err clients_revoke(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const char *name = es_http_req_param(req, "name");
    json_t *in = NULL;
    es_client c;
    int reason = ES_REASON_CESSATION;
    if (!atomic_load(&app->ready)) return not_ready(req);
    if ((rv = require(req, &a, ES_PERM_CLIENTS, "client.revoke")) != ES_OK) return rv;
    if (es_http_req_body(req).len && (rv = es_http_req_json(req, revoke_schema, &in)) != ES_OK)
        return rv;
    const char *rname = json_string_value(json_object_get(in, "reason"));
    if (rname && ((reason = es_pki_reason_from_name(rname)) < 0 ||
                  reason == ES_REASON_REMOVE_FROM_CRL || reason == ES_REASON_CERTIFICATE_HOLD)) {
        json_decref(in);
        return es_http_reply_error(req, 400, "invalid_argument",
                                   "reason is an RFC 5280 revocation reason such as "
                                   "keyCompromise, superseded or cessationOfOperation");
    }
    es_actor by = actor_of(user_of(req));
    rv = es_client_revoke(&a, &by, name, es_pki_reason_name(reason));
    json_decref(in);
    if (rv == ES_ERR_EXISTS) return fail(req, ES_ERR_EXISTS, "the client is revoked already");
    if (rv == ES_OK) rv = es_client_get(&a, &by, name, &c, NULL);
    if (rv != ES_OK) return rv;
    pthread_mutex_lock(&app->ca_lock);
    es_err crv = es_ca_revoke(app->ca, c.serial, reason, ES_TIME_NONE);
    app->crl.len = 0;
    pthread_mutex_unlock(&app->ca_lock);
    if (crv != ES_OK && crv != ES_ERR_EXISTS)
        sd_log(app, SD_LOG_WARN, "client %s revoked; its certificate %s not at the CA: %s", name,
               c.serial, es_err_str(crv));
    json_t *o = json_object();
    json_object_set_new(o, "client", client_json(&c));
    json_object_set_new(o, "certificate_revoked",
                        json_boolean(crv == ES_OK || crv == ES_ERR_EXISTS));
    return es_http_reply_json_new(req, 200, o);
}

/* ---- The table. */

es_err sd_api_register(es_http *h, sd_app *app)
{
    /* Body limits by route: what a valid request can need, with room (the server's
     * [limits] max_body applies to routes not listed). */
    enum { SMALL = 1024, FORM = 8192, PEM = 65536 };
    static const struct {
        const char *method, *pattern;
        es_http_handler fn;
        unsigned flags;
        size_t max_body;
    } routes[] = {
        {"POST", "/api/v1/sessions", sessions_create, ES_HTTP_PUBLIC, FORM},
        {"GET", "/api/v1/sessions/current", sessions_current, 0, SMALL},
        {"DELETE", "/api/v1/sessions/current", sessions_delete, 0, SMALL},
        {"POST", "/api/v1/users/me/password", password_change, 0, FORM},
        {"GET", "/api/v1/users", users_list, 0, SMALL},
        {"POST", "/api/v1/users", users_create, 0, FORM},
        {"GET", "/api/v1/users/{name}", users_get, 0, SMALL},
        {"PUT", "/api/v1/users/{name}/roles", users_set_roles, 0, FORM},
        {"POST", "/api/v1/users/{name}/disable", users_disable, 0, SMALL},
        {"POST", "/api/v1/users/{name}/enable", users_enable, 0, SMALL},
        {"POST", "/api/v1/users/{name}/reset-password", users_reset, 0, SMALL},
        {"GET", "/api/v1/roles", roles_list, 0, SMALL},
        {"GET", "/api/v1/audit", audit_list, 0, SMALL},
        {"GET", "/api/v1/audit/verify", audit_verify, 0, SMALL},
        {"GET", "/api/v1/audit/export", audit_export, 0, SMALL},
        {"GET", "/api/v1/system", system_get, ES_HTTP_PUBLIC, SMALL},
        {"GET", "/api/v1/ca/root", ca_root, ES_HTTP_PUBLIC, SMALL},
        {"GET", "/api/v1/ca/crl", ca_crl, ES_HTTP_PUBLIC, SMALL},
        {"GET", "/api/v1/clients", clients_list, 0, SMALL},
        {"POST", "/api/v1/clients", clients_create, 0, PEM},
        {"GET", "/api/v1/clients/me", clients_me, 0, SMALL},
        {"GET", "/api/v1/clients/{name}", clients_get, 0, SMALL},
        {"POST", "/api/v1/clients/{name}/disable", clients_disable, 0, SMALL},
        {"POST", "/api/v1/clients/{name}/enable", clients_enable, 0, SMALL},
        {"POST", "/api/v1/clients/{name}/revoke", clients_revoke, 0, SMALL},
    };
    es_err rv;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if ((rv = es_http_route(h, routes[i].method, routes[i].pattern, routes[i].fn, app,
                                routes[i].flags)) != ES_OK ||
            ((rv = es_http_route_body_limit(h, routes[i].method, routes[i].pattern,
                                            routes[i].max_body)) != ES_OK))
            return rv;
    es_http_set_auth(h, authenticate, app);
    return ES_OK;
}
