/* Sessions, passwords, users and roles (docs/esealsd.md): maps requests to the accounts
 * service (src/svc/accounts/accounts.c), which enforces the rules and writes the audit records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

static json_t *user_json(const es_user *u)
{
    es_time now = es_time_now();
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "name", json_string(u->name));
    json_object_set_new(o, "display_name", json_string(u->display_name));
    json_object_set_new(o, "roles", api_roles_json(u->roles));
    json_object_set_new(o, "must_change_password", json_boolean(u->must_change_password));
    json_object_set_new(o, "disabled", json_boolean(u->disabled));
    json_object_set_new(o, "locked", json_boolean(u->locked_until > now));
    json_object_set_new(o, "created_at", api_time_json(u->created_at));
    return o;
}

/* ---- Sessions. */

static const es_json_field session_schema[] = {
    {"username", ES_JSON_STRING, ES_JSON_REQUIRED, 64},
    {"password", ES_JSON_STRING, ES_JSON_REQUIRED, ES_PASSWORD_MAX},
    /* The second factor (docs/accounts.md): a dynamic password, or a signed challenge. */
    {"otp", ES_JSON_STRING, 0, ES_OTP_DIGITS_MAX},
    {"challenge", ES_JSON_STRING, 0, 64},
    {"signature", ES_JSON_STRING, 0, 256},
    {NULL},
};

/* Waits (10 s at most) for one of the [accounts] signin_parallel places of a password hash;
 * when none frees up it has replied 503 with Retry-After. */
static es_err hash_enter(es_http_req *req, es_api_ctx *app)
{
    if (es_gate_enter(app->hash_gate, 10000) == ES_OK) return ES_OK;
    es_err rv = es_http_add_header(req, "Retry-After", "1");
    if (rv == ES_OK) rv = es_http_reply_err(req, ES_ERR_BUSY, NULL);
    return rv == ES_OK ? ES_ERR_BUSY : rv;
}

/* Sign-in attempts a minute per client address and per account name ([accounts]
 * signin_rate_address, signin_rate_account) (an argon2id hash costs 64 MiB and a few hundred ms;
 * guessing is slowed further by the lockout). On a refusal it has replied 429 with Retry-After. */
static es_err signin_allowed(es_http_req *req, es_api_ctx *app, const char *name)
{
    char key[ES_RATELIMIT_MAX_KEY + 1];
    unsigned retry = 0;
    const char *from = es_http_req_client(req);
    es_time now = es_time_now();
    snprintf(key, sizeof key, "ip:%s", from);
    es_err rv = es_ratelimit_take_now(app->signin_address, key, &retry);
    const char *who = "this address";
    /* The owner's address is not held up by what others do with the name (hardening 13,
     * item 6): the per-account limit applies to the other addresses. */
    if (rv == ES_OK && !es_signin_guard_trusted(app->signin_guard, from, name, now)) {
        snprintf(key, sizeof key, "user:%.50s", name);
        rv = es_ratelimit_take_now(app->signin_account, key, &retry);
        who = "this account";
    }
    /* An address that failed for this name backs off (es_signin_guard): 429 before any work. */
    if (rv == ES_OK && es_signin_guard_check(app->signin_guard, from, name, now, &retry) != ES_OK) {
        rv = ES_ERR_LIMIT;
        who = "this account from this address";
    }
    if (rv != ES_ERR_LIMIT) return rv;
    char ra[16];
    snprintf(ra, sizeof ra, "%u", retry);
    es_api_log(app, ES_LOG_WARN, "sign-in attempts over the limit for %s (%s, account \"%.50s\")",
               who, es_http_req_client(req), name);
    if ((rv = es_http_add_header(req, "Retry-After", ra)) != ES_OK) return rv;
    REFUSE(es_http_reply_errf(req, ES_ERR_RATE,
                              "too many sign-in attempts for %s: try again in %u s", who, retry),
           ES_ERR_RATE);
}

#define SIGNIN_FAILED                                                                              \
    "wrong user name or password, or the account is locked or disabled: try again later or ask "   \
    "an administrator"

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
    es_factor_answer ans = {json_string_value(json_object_get(in, "otp")),
                            json_string_value(json_object_get(in, "challenge")),
                            json_string_value(json_object_get(in, "signature"))};
    rv = es_acct_login_factor(&a, name, json_string_value(json_object_get(in, "password")), &ans,
                              es_http_req_client(req), token, &u);
    es_gate_leave(app->hash_gate);
    if (rv == ES_OK) {
        char key[ES_RATELIMIT_MAX_KEY + 1];
        snprintf(key, sizeof key, "user:%.50s", name);
        es_ratelimit_reset(app->signin_account, key);
    }
    if (rv == ES_ERR_RATE) { /* the address began to back off while this one waited */
        rv = signin_allowed(req, app, name);
        json_decref(in);
        if (rv == ES_OK) rv = api_fail(req, ES_ERR_RATE, "try again later");
        return rv;
    }
    json_decref(in);
    /* One answer for every failure (hardening 13, item 8): unknown name, wrong password, locked
     * or disabled account (even with the right password: a lock that answered otherwise for
     * the right password would let guessing go on through it). */
    if (rv == ES_ERR_AUTH) return api_fail(req, rv, SIGNIN_FAILED);
    if (rv != ES_OK) return rv;
    json_t *out = json_object();
    json_t *user = user_json(&u);
    json_object_set_new(user, "permissions", api_perms_json(u.roles));
    json_object_set_new(user, "factor_enrolment_required", json_boolean(u.factor_needed));
    json_object_set_new(out, "token", json_string(token));
    json_object_set_new(out, "user", user);
    rv = es_http_set_cookie(req, API_COOKIE, token, -1);
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
    const api_user *su = api_user_of(req);
    es_err rv = api_people_only(req);
    if (rv != ES_OK) return rv;
    json_t *user = user_json(&su->u);
    json_object_set_new(user, "permissions", api_perms_json(su->u.roles));
    json_object_set_new(user, "factor_enrolment_required", json_boolean(su->u.factor_needed));
    json_t *out = json_object();
    json_object_set_new(out, "user", user);
    return es_http_reply_json_new(req, 200, out);
}

static es_err sessions_delete(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const api_user *su = api_user_of(req);
    if ((rv = api_people_only(req)) != ES_OK) return rv;
    if ((rv = es_acct_logout(&a, su->token)) != ES_OK) return rv;
    if ((rv = es_http_set_cookie(req, API_COOKIE, "", 0)) != ES_OK) return rv;
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
    const api_user *su = api_user_of(req);
    json_t *in = NULL;
    const char *why = NULL;
    if ((rv = api_people_only(req)) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, password_schema, &in)) != ES_OK) return rv;
    es_actor by = api_actor(su);
    if ((rv = hash_enter(req, app)) != ES_OK) {
        json_decref(in);
        return rv;
    }
    rv = es_acct_change_password(&a, &by, su->token,
                                 json_string_value(json_object_get(in, "old_password")),
                                 json_string_value(json_object_get(in, "new_password")), &why);
    es_gate_leave(app->hash_gate);
    json_decref(in);
    /* A wrong current password is not a failed authentication of the session: 400. */
    if (rv == ES_ERR_PASSWORD) return api_fail(req, rv, "the current password is wrong");
    if (rv != ES_OK) return api_fail(req, rv, why);
    es_user u;
    if ((rv = es_acct_get(&a, &by, su->u.name, &u)) != ES_OK) return rv;
    json_t *out = json_object();
    json_object_set_new(out, "user", user_json(&u));
    return es_http_reply_json_new(req, 200, out);
}

/* The users family: the system administrator (accounts) or an audit administrator
 * (audit_accounts, for audit administrators' accounts: the service decides which account). */
static es_err require_manage(es_http_req *req, es_api_ctx *app, es_accounts *a, const char *what)
{
    const api_user *su = api_user_of(req);
    if (su && !su->is_client && es_roles_allow(su->u.roles, ES_PERM_AUDIT_ACCOUNTS)) return ES_OK;
    return api_require(req, app, a, ES_PERM_ACCOUNTS, what);
}

/* Why the service refused to manage name: one's own account, or another duty's. */
static const char *manage_refusal(es_http_req *req, const char *name, const char *own)
{
    const api_user *su = api_user_of(req);
    if (su && name && strcmp(su->u.name, name) == 0) return own;
    return "an audit administrator's account is managed by audit administrators only, every "
           "other account by the system administrator only";
}

static es_err page_user(void *ctx, const es_user *u)
{
    return api_page_add(ctx, u->name, user_json(u));
}

static es_err users_list(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    es_http_page page;
    if ((rv = require_manage(req, app, &a, "user.list")) != ES_OK) return rv;
    if ((rv = es_http_req_page(req, API_PAGE_USERS, app->cfg.page_max, &page)) != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    api_page p = {json_array(), page.limit, 0, "", 0};
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
    if ((rv = require_manage(req, app, &a, "user.create")) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, user_create_schema, &in)) != ES_OK) return rv;
    if ((rv = api_roles_of(req, json_object_get(in, "roles"), &roles)) != ES_OK) goto out;
    const char *name = json_string_value(json_object_get(in, "name"));
    const char *display = json_string_value(json_object_get(in, "display_name"));
    es_actor by = api_actor(api_user_of(req));
    rv = es_acct_create(&a, &by, name, display ? display : "", roles, NULL, otp, &u, &why);
    if (rv == ES_ERR_EXISTS) {
        rv = es_http_reply_errf(req, ES_ERR_EXISTS, "an account named \"%s\" exists", name);
        if (rv == ES_OK) rv = ES_ERR_EXISTS;
        goto out;
    }
    if (rv != ES_OK) {
        rv = api_fail(req, rv, why);
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
    (void)app;
    /* The service decides (one's own account, or any with the accounts permission) and
     * audits a refusal; ES_ERR_DENIED is answered 403. */
    es_actor by = api_actor(api_user_of(req));
    return reply_user(req, &a, &by, es_http_req_param(req, "name"), NULL);
}

static const es_json_field roles_schema[] = {
    {"roles", ES_JSON_ARRAY, ES_JSON_REQUIRED, ES_ROLE_COUNT},
    {NULL},
};

/* A change of roles or a disabling may have revoked the account's signing certificate in the same
 * transaction (docs/decisions.md): the next GET /api/v1/ca/crl signs a CRL that lists it. */
static void crl_stale(es_api_ctx *app)
{
    pthread_mutex_lock(&app->ca_lock);
    app->crl.len = 0;
    pthread_mutex_unlock(&app->ca_lock);
}

static es_err users_set_roles(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    es_roles roles = 0;
    const char *why = NULL, *name = es_http_req_param(req, "name");
    if ((rv = require_manage(req, app, &a, "user.roles")) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, roles_schema, &in)) != ES_OK) return rv;
    rv = api_roles_of(req, json_object_get(in, "roles"), &roles);
    json_decref(in);
    if (rv != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    rv = es_acct_set_roles(&a, &by, name, roles, &why);
    if (rv == ES_ERR_DENIED)
        return api_fail(req, rv, manage_refusal(req, name, "nobody changes their own roles"));
    if (rv != ES_OK) return api_fail(req, rv, why);
    crl_stale(app);
    return reply_user(req, &a, &by, name, NULL);
}

static es_err set_disabled(es_http_req *req, void *arg, int disabled)
{
    BEGIN(app, a);
    const char *name = es_http_req_param(req, "name");
    if ((rv = require_manage(req, app, &a, disabled ? "user.disable" : "user.enable")) != ES_OK)
        return rv;
    if ((rv = api_no_body(req)) != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    rv = es_acct_set_disabled(&a, &by, name, disabled);
    if (rv == ES_ERR_DENIED)
        return api_fail(req, rv,
                        manage_refusal(req, name, "nobody disables or enables their own account"));
    if (rv != ES_OK) return rv;
    crl_stale(app);
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
    if ((rv = require_manage(req, app, &a, "user.password_reset")) != ES_OK) return rv;
    if ((rv = api_no_body(req)) != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    rv = es_acct_reset_password(&a, &by, name, otp);
    if (rv == ES_ERR_DENIED)
        return api_fail(req, rv, manage_refusal(req, name, "change your own password instead"));
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
        json_object_set_new(o, "permissions", api_perms_json(ES_ROLE_BIT(i)));
        json_array_append_new(roles, o);
    }
    for (int p = 0; p < ES_PERM_COUNT; p++)
        json_array_append_new(perms, json_string(es_perm_name((es_perm)p)));
    json_t *out = json_object();
    json_object_set_new(out, "roles", roles);
    json_object_set_new(out, "permissions", perms);
    json_object_set_new(out, "rules",
                        json_string("an account holds roles of one duty only (system, business "
                                    "or audit); nobody changes their own roles; audit "
                                    "administrators' accounts are managed by audit "
                                    "administrators only, every other account by the system "
                                    "administrator only"));
    return es_http_reply_json_new(req, 200, out);
}

es_err es_api_accounts_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"POST", "/api/v1/sessions", sessions_create, ES_HTTP_PUBLIC, API_BODY_FORM},
        {"GET", "/api/v1/sessions/current", sessions_current, 0, API_BODY_SMALL},
        {"DELETE", "/api/v1/sessions/current", sessions_delete, 0, API_BODY_SMALL},
        {"POST", "/api/v1/users/me/password", password_change, 0, API_BODY_FORM},
        {"GET", "/api/v1/users", users_list, 0, API_BODY_SMALL},
        {"POST", "/api/v1/users", users_create, 0, API_BODY_FORM},
        {"GET", "/api/v1/users/{name}", users_get, 0, API_BODY_SMALL},
        {"PUT", "/api/v1/users/{name}/roles", users_set_roles, 0, API_BODY_FORM},
        {"POST", "/api/v1/users/{name}/disable", users_disable, 0, API_BODY_SMALL},
        {"POST", "/api/v1/users/{name}/enable", users_enable, 0, API_BODY_SMALL},
        {"POST", "/api/v1/users/{name}/reset-password", users_reset, 0, API_BODY_SMALL},
        {"GET", "/api/v1/roles", roles_list, 0, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
