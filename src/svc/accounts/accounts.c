/* Console accounts, sign-in and sessions over the store, every change audited in its own
 * transaction (include/eseal/accounts.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/accounts.h"
#include "eseal/audit.h"
#include "eseal/castore.h"
#include "eseal/crypto.h"
#include "eseal/decision.h"
#include "eseal/otp.h"
#include "svc/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

int es_account_name_valid(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len < 2 || len > ES_ACCOUNT_NAME_MAX || n[0] < 'a' || n[0] > 'z') return 0;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

es_actor es_actor_of(const es_user *u)
{
    es_actor a = {u->name, u->roles, u->id, 0};
    return a;
}

void svc_roles_text(es_roles r, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < ES_ROLE_COUNT; i++) {
        if (!(r & ES_ROLE_BIT(i))) continue;
        int w = snprintf(out + k, n - k, "%s%s", k ? "," : "", es_role_name((es_role)i));
        if (w < 0 || (size_t)w >= n - k) break;
        k += (size_t)w;
    }
}

es_err svc_audit(es_accounts *a, const es_actor *by, const char *action, const char *object,
                 const char *detail)
{
    char role[256];
    svc_roles_text(by ? by->roles : 0, role, sizeof role);
    es_audit_record rec;
    memset(&rec, 0, sizeof rec);
    rec.actor = by ? by->name : "anonymous";
    rec.role = by && by->is_system ? "system" : role;
    rec.action = action;
    rec.object = object ? object : "";
    rec.detail = detail ? detail : "";
    return es_audit_append(a->store, a->audit, &rec);
}

es_err svc_audit_prepare(es_accounts *a, const es_actor *by, const char *action, const char *object,
                         const char *detail, svc_rec *out)
{
    memset(out, 0, sizeof *out);
    svc_roles_text(by ? by->roles : 0, out->role, sizeof out->role);
    out->rec.actor = by ? by->name : "anonymous";
    out->rec.role = by && by->is_system ? "system" : out->role;
    out->rec.action = action;
    out->rec.object = object ? object : "";
    out->rec.detail = detail ? detail : "";
    return es_audit_prepare(a->audit, &out->rec);
}

es_err svc_audit_append(es_accounts *a, svc_rec *r)
{
    return es_audit_append(a->store, NULL, &r->rec);
}

es_err svc_audit_alone(es_accounts *a, const es_actor *by, const char *action, const char *object,
                       const char *detail)
{
    svc_rec r;
    es_err rv = svc_audit_prepare(a, by, action, object, detail, &r);
    if (rv == ES_OK)
        rv = es_store_begin(a->store);
    else
        return rv;
    if (rv == ES_OK) rv = svc_audit_append(a, &r);
    if (rv == ES_OK) return es_store_commit(a->store);
    es_store_rollback(a->store);
    return rv;
}

es_err es_acct_audit_event(es_accounts *a, const es_actor *by, const char *action,
                           const char *object, const char *detail)
{
    return svc_audit_alone(a, by, action, object, detail);
}

es_err es_acct_audit_denied(es_accounts *a, const es_actor *by, const char *what)
{
    return svc_audit_alone(a, by, "access.denied", what,
                           "refused: the account's roles do not allow it");
}

static es_err deny(es_accounts *a, const es_actor *by, const char *what)
{
    es_err rv = es_acct_audit_denied(a, by, what);
    return rv == ES_OK ? ES_ERR_DENIED : rv;
}

static es_time now_of(const es_accounts *a)
{
    return a->now ? a->now() : es_time_now();
}

/* Account management at all: the system administrator, or an audit administrator (for audit
 * administrators' accounts only: duty_ok). */
static int may_manage(const es_actor *by)
{
    return by && (by->is_system || es_roles_allow(by->roles, ES_PERM_ACCOUNTS) ||
                  es_roles_allow(by->roles, ES_PERM_AUDIT_ACCOUNTS));
}

/* Separation of duties (hardening 13, item 4; LD/T 01.1 9.4): may by manage an account that
 * holds (or is to hold) roles? */
static const char duty_why[] = "an audit administrator's account is managed by audit "
                               "administrators only, every other account by the system "
                               "administrator only";

static int duty_ok(const es_actor *by, es_roles roles)
{
    return by->is_system || es_roles_may_manage(by->roles, roles);
}

/* Signed decisions (docs/decisions.md): an account that stops taking decisions (disabled, or
 * its last decision-taking role taken) loses its signing key and certificate in the same
 * transaction as the change; with the CA, that transaction holds the CA's lock. Only an account
 * that holds an active signing key needs the lock: the others (most of them) change without
 * waiting for the CA, so that disabling accounts does not queue behind seal making. */
static es_err active_key(es_accounts *a, int64_t uid, int *has)
{
    es_value p[1] = {es_v_int(uid)};
    int64_t n = 0;
    es_err rv = es_store_query_int(
        a->store, "SELECT COUNT(*) FROM signing_keys WHERE user_id = ? AND state = 'active'", p, 1,
        &n);
    *has = rv == ES_OK && n > 0;
    return rv;
}

/* How long a change that needs the CA's lock waits for it before answering busy. */
#define CA_LOCK_WAIT_MS 2000

/* Opens the change's transaction: with the CA's lock when force (waiting up to
 * CA_LOCK_WAIT_MS for it), else a plain one. *locked says which. A change first runs without
 * the lock and asks, holding the account's row, whether the account has an active key
 * (key_check); only then is it run again with the lock: most accounts have none, and their
 * changes neither wait for the CA nor pay an extra round trip. */
static es_err begin_change(es_accounts *a, const es_actor *by, int force, int *locked)
{
    es_err rv;
    *locked = 0;
    if (!force || !a->ca) return es_store_begin(a->store);
    es_castore cs = {a->store, a->audit, by->name, NULL};
    for (int waited = 0;; waited += 25) {
        rv = es_castore_begin_joined(&cs, a->ca);
        if (rv != ES_ERR_BUSY || waited >= CA_LOCK_WAIT_MS) break;
        struct timespec ts = {0, 25 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (rv == ES_OK) *locked = 1;
    return rv;
}

/* Inside the change's transaction, after the account's row was written (which holds the row:
 * an enrolment, es_decisions' enrol, writes it too): *has when the account holds an active
 * signing key that the change revokes; *again when that needs the CA's lock the transaction
 * does not hold (roll back, begin_change with force). */
static es_err key_check(es_accounts *a, int64_t uid, int revoke, int locked, int *has, int *again)
{
    *has = *again = 0;
    if (!revoke) return ES_OK;
    es_err rv = active_key(a, uid, has);
    *again = *has && !locked && a->ca;
    return rv;
}

/* --- reading users --- */

/* A user and its roles in one statement (one round trip to the server): one row per role
 * (one row with a NULL role for an account without roles); the user's columns start at col. */
#define USER_ROLE_COLS                                                                             \
    "u.id, u.name, u.display_name, u.must_change_password, u.disabled, u.failed_logins, "          \
    "COALESCE(u.locked_until, 0), u.created_at, r.role"
#define USER_ROLE_FROM "users u LEFT JOIN user_roles r ON r.user_id = u.id"

static void user_role_add(es_user *u, const es_row *r, int col)
{
    if (u->id == 0) {
        memset(u, 0, sizeof *u);
        u->id = es_row_int(r, col);
        snprintf(u->name, sizeof u->name, "%s", es_row_text(r, col + 1, NULL));
        snprintf(u->display_name, sizeof u->display_name, "%s", es_row_text(r, col + 2, NULL));
        u->must_change_password = (int)es_row_int(r, col + 3);
        u->disabled = (int)es_row_int(r, col + 4);
        u->failed_logins = (int)es_row_int(r, col + 5);
        u->locked_until = es_row_int(r, col + 6);
        u->created_at = es_row_int(r, col + 7);
    }
    es_role role;
    if (!es_row_is_null(r, col + 8) && es_role_parse(es_row_text(r, col + 8, NULL), &role) == ES_OK)
        u->roles |= ES_ROLE_BIT(role);
}

static es_err user_role_row(void *ctx, const es_row *r)
{
    user_role_add(ctx, r, 0);
    return ES_OK;
}

static es_err load_user(es_accounts *a, const char *col, es_value key, es_user *u)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT " USER_ROLE_COLS " FROM " USER_ROLE_FROM " WHERE u.%s = ?",
             col);
    u->id = 0;
    u->roles = 0;
    es_err rv = es_store_query(a->store, sql, &key, 1, user_role_row, u);
    if (rv == ES_OK && u->id == 0) rv = ES_ERR_NOT_FOUND;
    return rv;
}

static es_err text_row(void *ctx, const es_row *r)
{
    snprintf(ctx, ES_PASSWORD_HASH_MAX, "%s", es_row_text(r, 0, NULL));
    return ES_OK;
}

static es_err write_roles(es_accounts *a, int64_t id, es_roles roles)
{
    es_value p[2] = {es_v_int(id), es_v_null()};
    es_err rv = es_store_exec(a->store, "DELETE FROM user_roles WHERE user_id = ?", p, 1, NULL);
    for (int i = 0; rv == ES_OK && i < ES_ROLE_COUNT; i++) {
        if (!(roles & ES_ROLE_BIT(i))) continue;
        p[1] = es_v_text(es_role_name((es_role)i));
        rv = es_store_exec(a->store, "INSERT INTO user_roles (user_id, role) VALUES (?, ?)", p, 2,
                           NULL);
    }
    return rv;
}

static es_err end_sessions(es_accounts *a, int64_t id)
{
    es_value p[1] = {es_v_int(id)};
    return es_store_exec(a->store, "DELETE FROM sessions WHERE user_id = ?", p, 1, NULL);
}

/* --- managing accounts --- */

/* The roles an account may hold: at least one (an account without a duty has no business
 * signing in: least privilege, LD/T 01.1 9.4; the API schema says minItems 1), and a
 * combination that keeps the duties apart (es_roles_check). */
static es_err account_roles_ok(es_roles roles, const char **why)
{
    if (roles == 0) {
        if (why) *why = "an account needs at least one role";
        return ES_ERR_ARG;
    }
    return es_roles_check(roles, why);
}

es_err es_acct_create(es_accounts *a, const es_actor *by, const char *name,
                      const char *display_name, es_roles roles, const char *password,
                      char onetime[32], es_user *out, const char **why)
{
    char hash[ES_PASSWORD_HASH_MAX], object[64], detail[300], gen[32];
    const char *reason = NULL;
    es_err rv;
    if (why) *why = NULL;
    if (!may_manage(by)) return deny(a, by, "user.create");
    if (!es_account_name_valid(name)) {
        if (why) *why = "account names are 2 to 32 of a-z 0-9 . _ - starting with a letter";
        return ES_ERR_ARG;
    }
    if (!display_name) display_name = "";
    if (strlen(display_name) > ES_ACCOUNT_DISPLAY_MAX) {
        if (why) *why = "display name longer than 128 bytes";
        return ES_ERR_ARG;
    }
    if (account_roles_ok(roles, &reason) != ES_OK) {
        if (why) *why = reason;
        return ES_ERR_ARG;
    }
    if (password && es_password_policy(password, name, &reason) != ES_OK) {
        if (why) *why = reason;
        return ES_ERR_ARG;
    }
    if (!duty_ok(by, roles)) {
        if (why) *why = duty_why;
        return deny(a, by, "user.create");
    }
    if (!password) {
        if (!onetime || (rv = es_password_generate(gen)) != ES_OK) return onetime ? rv : ES_ERR_ARG;
        password = gen;
    }
    if ((rv = es_password_hash(password, hash)) != ES_OK) goto wipe;
    es_time now = now_of(a);
    es_value p[4] = {es_v_text(name), es_v_text(display_name), es_v_text(hash), es_v_int(now)};
    char rt[256];
    svc_roles_text(roles, rt, sizeof rt);
    snprintf(object, sizeof object, "user:%s", name);
    snprintf(detail, sizeof detail, "roles=%s", rt);
    svc_rec ar;
    CHECK(svc_audit_prepare(a, by, "user.create", object, detail, &ar));
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store,
                        "INSERT INTO users (name, display_name, password_hash, "
                        "must_change_password, created_at) VALUES (?, ?, ?, 1, ?)",
                        p, 4, NULL));
    es_user u;
    CHECK(load_user(a, "name", es_v_text(name), &u));
    CHECK(write_roles(a, u.id, roles));
    u.roles = roles;
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
    if (out) *out = u;
    if (password == gen) memcpy(onetime, gen, sizeof gen);
out:
    if (rv != ES_OK) es_store_rollback(a->store);
wipe:
    es_wipe(gen, sizeof gen);
    es_wipe(hash, sizeof hash);
    return rv;
}

/* Loads the target and refuses what nobody may do to themselves. */
static es_err target(es_accounts *a, const es_actor *by, const char *what, const char *name,
                     es_user *u)
{
    if (!may_manage(by)) return deny(a, by, what);
    es_err rv = load_user(a, "name", es_v_text(name), u);
    if (rv != ES_OK) return rv;
    if (!by->is_system && by->user_id == u->id) return deny(a, by, what);
    if (!duty_ok(by, u->roles)) return deny(a, by, what);
    return ES_OK;
}

es_err es_acct_set_roles(es_accounts *a, const es_actor *by, const char *name, es_roles roles,
                         const char **why)
{
    es_user u;
    const char *reason = NULL;
    char object[64], detail[600], from[256], to[256];
    if (why) *why = NULL;
    es_err rv = target(a, by, "user.roles", name, &u);
    if (rv != ES_OK) return rv;
    if (account_roles_ok(roles, &reason) != ES_OK) {
        if (why) *why = reason;
        return ES_ERR_ARG;
    }
    if (!duty_ok(by, roles)) {
        if (why) *why = duty_why;
        return deny(a, by, "user.roles");
    }
    svc_roles_text(u.roles, from, sizeof from);
    svc_roles_text(roles, to, sizeof to);
    snprintf(object, sizeof object, "user:%s", name);
    snprintf(detail, sizeof detail, "roles %s -> %s", from[0] ? from : "(none)",
             to[0] ? to : "(none)");
    svc_rec ar;
    CHECK(svc_audit_prepare(a, by, "user.roles", object, detail, &ar));
    int revoke = es_decision_roles(u.roles) && !es_decision_roles(roles), locked = 0, again = 0,
        has = 0;
    for (int force = 0;; force = 1) {
        CHECK(begin_change(a, by, force, &locked));
        if (revoke) /* holds the row against an enrolment until commit */
            CHECK(es_store_exec(a->store, "UPDATE users SET disabled = disabled WHERE id = ?",
                                (es_value[]){es_v_int(u.id)}, 1, NULL));
        CHECK(key_check(a, u.id, revoke, locked, &has, &again));
        if (!again || force) break;
        es_store_rollback(a->store);
    }
    CHECK(write_roles(a, u.id, roles));
    if (has)
        CHECK(es_signing_key_revoke_in(a->store, a->ca, a->audit, by->name, u.id,
                                       ES_REASON_PRIVILEGE_WITHDRAWN, NULL));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

es_err es_acct_set_disabled(es_accounts *a, const es_actor *by, const char *name, int disabled)
{
    es_user u;
    char object[64];
    es_err rv = target(a, by, disabled ? "user.disable" : "user.enable", name, &u);
    if (rv != ES_OK) return rv;
    es_value p[2] = {es_v_int(disabled ? 1 : 0), es_v_int(u.id)};
    snprintf(object, sizeof object, "user:%s", name);
    svc_rec ar;
    CHECK(svc_audit_prepare(a, by, disabled ? "user.disable" : "user.enable", object, "", &ar));
    int locked = 0, again = 0, has = 0;
    for (int force = 0;; force = 1) {
        CHECK(begin_change(a, by, force, &locked));
        CHECK(es_store_exec(a->store, "UPDATE users SET disabled = ? WHERE id = ?", p, 2, NULL));
        CHECK(key_check(a, u.id, disabled, locked, &has, &again));
        if (!again || force) break;
        es_store_rollback(a->store);
    }
    if (disabled) CHECK(end_sessions(a, u.id));
    if (has)
        CHECK(es_signing_key_revoke_in(a->store, a->ca, a->audit, by->name, u.id,
                                       ES_REASON_CESSATION, NULL));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

es_err es_acct_reset_password(es_accounts *a, const es_actor *by, const char *name,
                              char onetime[32])
{
    es_user u;
    char gen[32], hash[ES_PASSWORD_HASH_MAX], object[64];
    es_err rv = target(a, by, "user.password_reset", name, &u);
    if (rv != ES_OK) return rv;
    if ((rv = es_password_generate(gen)) != ES_OK || (rv = es_password_hash(gen, hash)) != ES_OK)
        goto wipe;
    es_value p[2] = {es_v_text(hash), es_v_int(u.id)};
    snprintf(object, sizeof object, "user:%s", name);
    svc_rec ar;
    CHECK(svc_audit_prepare(a, by, "user.password_reset", object, "", &ar));
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store,
                        "UPDATE users SET password_hash = ?, must_change_password = 1, "
                        "failed_logins = 0, locked_until = NULL WHERE id = ?",
                        p, 2, NULL));
    CHECK(end_sessions(a, u.id));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
    memcpy(onetime, gen, sizeof gen);
out:
    if (rv != ES_OK) es_store_rollback(a->store);
wipe:
    es_wipe(gen, sizeof gen);
    es_wipe(hash, sizeof hash);
    return rv;
}

es_err es_acct_get(es_accounts *a, const es_actor *by, const char *name, es_user *out)
{
    if (!may_manage(by) && !(by && strcmp(by->name, name) == 0)) return deny(a, by, "user.get");
    es_err rv = load_user(a, "name", es_v_text(name), out);
    if (rv != ES_OK || by->is_system || strcmp(by->name, name) == 0 ||
        es_roles_allow(by->roles, ES_PERM_ACCOUNTS))
        return rv;
    /* An audit administrator reads audit administrators' accounts only. */
    if (out->roles & ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN)) return ES_OK;
    memset(out, 0, sizeof *out);
    return deny(a, by, "user.get");
}

typedef struct collect {
    es_user *u;
    size_t n, cap;
} collect;

static es_err collect_row(void *ctx, const es_row *r)
{
    collect *c = ctx;
    /* The rows of one user (one per role) come together (ORDER BY name). */
    if (c->n > 0 && c->u[c->n - 1].id == es_row_int(r, 0)) {
        user_role_add(&c->u[c->n - 1], r, 0);
        return ES_OK;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        es_user *u = realloc(c->u, cap * sizeof *u);
        if (!u) return ES_ERR_NOMEM;
        c->u = u;
        c->cap = cap;
    }
    es_user *u = &c->u[c->n++];
    u->id = 0;
    user_role_add(u, r, 0);
    return ES_OK;
}

es_err es_acct_list(es_accounts *a, const es_actor *by, const char *after, int64_t limit,
                    es_user_cb cb, void *ctx)
{
    if (!may_manage(by)) return deny(a, by, "user.list");
    /* An audit administrator sees audit administrators' accounts only. */
    int audit_only = !by->is_system && !es_roles_allow(by->roles, ES_PERM_ACCOUNTS);
    es_value p[3] = {es_v_text(after ? after : ""), es_v_int(audit_only),
                     es_v_int(limit > 0 ? limit : INT64_MAX)};
    collect c = {NULL, 0, 0};
    /* Rows first, callbacks after: no query runs inside another's callback on one
     * connection. The page is of users; their roles join after the limit. */
    es_err rv = es_store_query(a->store,
                               "SELECT " USER_ROLE_COLS " FROM (SELECT * FROM users "
                               "WHERE name > ? AND (? = 0 OR id IN "
                               "(SELECT user_id FROM user_roles WHERE role = 'audit_admin')) "
                               "ORDER BY name LIMIT ?) u "
                               "LEFT JOIN user_roles r ON r.user_id = u.id ORDER BY u.name, r.role",
                               p, 3, collect_row, &c);
    for (size_t i = 0; rv == ES_OK && i < c.n; i++) rv = cb(ctx, &c.u[i]);
    free(c.u);
    return rv;
}

/* --- sign-in and sessions --- */

static void token_id(const uint8_t raw[32], uint8_t id[ES_SM3_LEN])
{
    if (es_sm3(raw, 32, id) != ES_OK) memset(id, 0, ES_SM3_LEN);
}

/* The failure count reserved before the password is verified (hardening 13, item 6), in one
 * statement so that parallel attempts cannot lose updates: the count goes up by inc (0 for an
 * address beyond its share: es_signin_guard_admit) unless the account is disabled or locked;
 * a lock that has expired starts the count again; the attempt that reaches lockout_failures
 * sets the lock itself (a success clears it), so that at most lockout_failures passwords are
 * verified however many attempts run at once. *reserved 0: refused (locked or disabled), with
 * the reason in *refusal; else *failures is the count with this attempt and *locks 1 when
 * this attempt set the lock. */
static es_err reserve(es_accounts *a, const es_user *u, es_time now, int inc, int *reserved,
                      int *failures, int *locks, const char **refusal)
{
    int64_t changes = 0;
    es_user cur;
    es_err rv;
    es_value p[7] = {es_v_int(inc),
                     es_v_int(inc),
                     es_v_int(inc),
                     es_v_int(a->lockout_failures),
                     es_v_int(now + 60 * (int64_t)a->lockout_minutes),
                     es_v_int(u->id),
                     es_v_int(now)};
    *reserved = *failures = *locks = 0;
    *refusal = NULL;
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store,
                        "UPDATE users SET "
                        "failed_logins = CASE WHEN locked_until IS NOT NULL THEN ? "
                        "ELSE failed_logins + ? END, "
                        "locked_until = CASE WHEN (CASE WHEN locked_until IS NOT NULL THEN 0 "
                        "ELSE failed_logins END) + ? >= ? THEN ? ELSE NULL END "
                        "WHERE id = ? AND disabled = 0 AND (locked_until IS NULL OR "
                        "locked_until <= ?)",
                        p, 7, &changes));
    CHECK(load_user(a, "id", es_v_int(u->id), &cur));
    CHECK(es_store_commit(a->store));
    if (changes == 1) {
        *reserved = 1;
        *failures = cur.failed_logins;
        *locks = inc && cur.locked_until > now;
    } else {
        *refusal = cur.disabled ? "account disabled" : "account locked";
    }
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

/* A failed sign-in in the trail: action and detail, and the lock when this attempt set it. */
static es_err login_failed(es_accounts *a, const es_actor *who, const char *action,
                           const char *object, const char *detail, int locks, int failures)
{
    char ldetail[128];
    svc_rec f1, f2;
    es_err rv;
    snprintf(ldetail, sizeof ldetail, "locked for %u minutes after %d failed sign-ins",
             a->lockout_minutes, failures);
    CHECK(svc_audit_prepare(a, who, action, object, detail, &f1));
    if (locks) CHECK(svc_audit_prepare(a, who, "user.locked", object, ldetail, &f2));
    CHECK(es_store_begin(a->store));
    CHECK(svc_audit_append(a, &f1));
    if (locks) CHECK(svc_audit_append(a, &f2));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

/* Sign-in: the password, then the second factor (svc_factor_check), then the session. */
static es_err login(es_accounts *a, const char *name, const char *password,
                    const es_factor_answer *ans, const char *from,
                    char token[ES_SESSION_TOKEN_HEX + 1], es_user *out)
{
    es_user u;
    char hash[ES_PASSWORD_HASH_MAX] = "", object[64], detail[200], why[300];
    es_actor anon = {name && es_account_name_valid(name) ? name : "anonymous", 0, 0, 0};
    uint8_t raw[32], id[ES_SM3_LEN];
    const char *refusal = NULL;
    int counts = 1, reserved = 0, failures = 0, locks = 0;
    es_time now = now_of(a);
    es_err rv;
    memset(raw, 0, sizeof raw);
    snprintf(object, sizeof object, "user:%.32s", anon.name);
    snprintf(detail, sizeof detail, "from %.120s", from ? from : "?");
    /* Per-address back-off first: nothing else is done for an address that backs off. */
    if (a->guard && es_signin_guard_admit(a->guard, from, anon.name, now, &counts) != ES_OK)
        return ES_ERR_RATE;
    /* A store failure is not "no such account": it answers 503, never 401 (test_outage). */
    rv = name && password && es_account_name_valid(name) ? load_user(a, "name", es_v_text(name), &u)
                                                         : ES_ERR_NOT_FOUND;
    if (rv != ES_OK && rv != ES_ERR_NOT_FOUND) return rv;
    /* Every failure below costs one argon2id verification and answers ES_ERR_AUTH (hardening
     * 13, item 8): an unknown name, a locked or a disabled account verify against the dummy
     * hash (not hash then verify), whatever the password; only the trail says why. */
    if (rv == ES_ERR_NOT_FOUND) {
        es_password_verify_dummy(password);
        snprintf(why, sizeof why, "unknown account, %s", detail);
        rv = login_failed(a, &anon, "session.login_failed", object, why, 0, 0);
        return rv == ES_OK ? ES_ERR_AUTH : rv;
    }
    es_actor self = es_actor_of(&u);
    if ((rv = reserve(a, &u, now, counts, &reserved, &failures, &locks, &refusal)) != ES_OK)
        return rv;
    if (!reserved) {
        es_password_verify_dummy(password);
        snprintf(why, sizeof why, "%s, %s", refusal, detail);
        rv = login_failed(a, &self, "session.login_refused", object, why, 0, 0);
        return rv == ES_OK ? ES_ERR_AUTH : rv;
    }
    es_value idp[1] = {es_v_int(u.id)};
    if ((rv = es_store_query(a->store, "SELECT password_hash FROM users WHERE id = ?", idp, 1,
                             text_row, hash)) != ES_OK)
        goto out;
    /* A wrong second factor is a failed sign-in like a wrong password: the same count, the
     * same answer (issue 13, item 10). */
    int password_ok = es_password_verify(hash, password) == ES_OK;
    const char *bad = password_ok ? NULL : "wrong password", *fbad = NULL;
    if ((rv = svc_factor_check(a, &u, ans, password_ok, &fbad)) != ES_OK) {
        if (rv != ES_ERR_AUTH) goto out;
        if (!bad) bad = fbad ? fbad : "wrong second factor";
    }
    if (bad) {
        snprintf(why, sizeof why, "%s, %s%s", bad, detail,
                 counts ? "" : " (beyond this address's share: not counted)");
        rv = login_failed(a, &self, "session.login_failed", object, why, locks, failures);
        if (rv == ES_OK) rv = ES_ERR_AUTH;
        goto out;
    }
    if ((rv = es_random(raw, sizeof raw)) != ES_OK) goto out;
    token_id(raw, id);
    es_value s[5] = {es_v_blob(id, sizeof id), es_v_int(u.id), es_v_int(now),
                     es_v_int(now + 60 * (int64_t)a->session_minutes), es_v_int(now)};
    svc_rec ar;
    CHECK(svc_audit_prepare(a, &self, "session.login", object, detail, &ar));
    CHECK(es_store_begin(a->store));
    /* A success clears the count, this attempt's reservation and a lock it may have set. */
    CHECK(es_store_exec(a->store,
                        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", idp,
                        1, NULL));
    CHECK(es_store_exec(a->store,
                        "INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen) "
                        "VALUES (?, ?, ?, ?, ?)",
                        s, 5, NULL));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
    if (a->guard) es_signin_guard_success(a->guard, from, name, now);
    es_hex_encode(raw, sizeof raw, token);
    u.failed_logins = 0;
    u.locked_until = 0;
    if (out) *out = u;
out:
    es_wipe(raw, sizeof raw);
    es_wipe(hash, sizeof hash);
    if (rv != ES_OK && rv != ES_ERR_AUTH) es_store_rollback(a->store);
    return rv;
}

es_err es_acct_login(es_accounts *a, const char *name, const char *password, const char *from,
                     char token[ES_SESSION_TOKEN_HEX + 1], es_user *out)
{
    return login(a, name, password, NULL, from, token, out);
}

es_err es_acct_login_factor(es_accounts *a, const char *name, const char *password,
                            const es_factor_answer *ans, const char *from,
                            char token[ES_SESSION_TOKEN_HEX + 1], es_user *out)
{
    return login(a, name, password, ans, from, token, out);
}

typedef struct sess {
    int64_t user_id, expires_at, last_seen;
} sess;

static es_err sess_row(void *ctx, const es_row *r)
{
    sess *s = ctx;
    s->user_id = es_row_int(r, 0);
    s->expires_at = es_row_int(r, 1);
    s->last_seen = es_row_int(r, 2);
    return ES_OK;
}

/* The session row of a hex token. */
static es_err find_session(es_accounts *a, const char *token, uint8_t id[ES_SM3_LEN], sess *s)
{
    es_buf raw;
    es_buf_init(&raw, 32);
    if (!token || strlen(token) != ES_SESSION_TOKEN_HEX ||
        es_hex_decode(token, ES_SESSION_TOKEN_HEX, &raw) != ES_OK || raw.len != 32) {
        es_buf_cleanup(&raw);
        return ES_ERR_AUTH;
    }
    token_id(raw.p, id);
    es_buf_cleanup_secret(&raw);
    es_value p[1] = {es_v_blob(id, ES_SM3_LEN)};
    memset(s, 0, sizeof *s);
    es_err rv =
        es_store_query(a->store, "SELECT user_id, expires_at, last_seen FROM sessions WHERE id = ?",
                       p, 1, sess_row, s);
    if (rv == ES_OK && s->user_id == 0) rv = ES_ERR_AUTH;
    return rv;
}

typedef struct sess_user {
    sess s;
    es_user *u;
} sess_user;

static es_err sess_user_row(void *ctx, const es_row *r)
{
    sess_user *su = ctx;
    if (su->s.user_id == 0) sess_row(&su->s, r);
    user_role_add(su->u, r, 3);
    return ES_OK;
}

es_err es_acct_session(es_accounts *a, const char *token, es_user *out)
{
    uint8_t id[ES_SM3_LEN];
    es_buf raw;
    es_buf_init(&raw, 32);
    if (!token || strlen(token) != ES_SESSION_TOKEN_HEX ||
        es_hex_decode(token, ES_SESSION_TOKEN_HEX, &raw) != ES_OK || raw.len != 32) {
        es_buf_cleanup(&raw);
        return ES_ERR_AUTH;
    }
    token_id(raw.p, id);
    es_buf_cleanup_secret(&raw);
    /* The session, its user and the user's roles in one round trip: this runs for every
     * request a signed-in person makes. */
    es_value p[1] = {es_v_blob(id, ES_SM3_LEN)};
    sess_user su = {{0, 0, 0}, out};
    out->id = 0;
    out->roles = 0;
    es_err rv = es_store_query(a->store,
                               "SELECT s.user_id, s.expires_at, s.last_seen, " USER_ROLE_COLS
                               " FROM sessions s JOIN users u ON u.id = s.user_id "
                               "LEFT JOIN user_roles r ON r.user_id = u.id WHERE s.id = ?",
                               p, 1, sess_user_row, &su);
    if (rv != ES_OK) return rv;
    sess s = su.s;
    if (s.user_id == 0 || out->id == 0) return ES_ERR_AUTH;
    es_time now = now_of(a);
    if (s.expires_at <= now) return ES_ERR_AUTH;
    if (out->disabled) return ES_ERR_AUTH;
    /* Sliding expiry, written at most once a minute per session. */
    if (now - s.last_seen >= 60) {
        es_value up[3] = {es_v_int(now + 60 * (int64_t)a->session_minutes), es_v_int(now),
                          es_v_blob(id, sizeof id)};
        if (es_store_begin(a->store) == ES_OK) {
            if (es_store_exec(a->store,
                              "UPDATE sessions SET expires_at = ?, last_seen = ? WHERE id = ?", up,
                              3, NULL) == ES_OK &&
                es_store_commit(a->store) == ES_OK)
                return ES_OK;
            es_store_rollback(a->store);
        }
    }
    return ES_OK;
}

es_err es_acct_logout(es_accounts *a, const char *token)
{
    uint8_t id[ES_SM3_LEN];
    sess s;
    es_user u;
    char object[64];
    es_err rv = find_session(a, token, id, &s);
    if (rv != ES_OK) return rv;
    if ((rv = load_user(a, "id", es_v_int(s.user_id), &u)) != ES_OK) return rv;
    es_actor self = es_actor_of(&u);
    es_value p[1] = {es_v_blob(id, sizeof id)};
    snprintf(object, sizeof object, "user:%s", u.name);
    svc_rec ar;
    CHECK(svc_audit_prepare(a, &self, "session.logout", object, "", &ar));
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store, "DELETE FROM sessions WHERE id = ?", p, 1, NULL));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

es_err es_acct_change_password(es_accounts *a, const es_actor *by, const char *keep_token,
                               const char *old_password, const char *new_password, const char **why)
{
    char hash[ES_PASSWORD_HASH_MAX] = "", nhash[ES_PASSWORD_HASH_MAX] = "", object[64], detail[128];
    const char *reason = NULL;
    uint8_t keep[ES_SM3_LEN];
    sess ks;
    es_user u;
    es_err rv;
    if (why) *why = NULL;
    if (!by || by->is_system || by->user_id == 0) return ES_ERR_ARG;
    es_value idp[1] = {es_v_int(by->user_id)};
    snprintf(object, sizeof object, "user:%s", by->name);
    if ((rv = load_user(a, "id", es_v_int(by->user_id), &u)) != ES_OK) return rv;
    es_time now = now_of(a);
    /* A guess of the current password counts as a failed sign-in: the account locks after
     * [accounts] lockout_failures of them, and a locked account changes nothing. The count is
     * reserved before the verification, as for a sign-in (reserve: parallel guesses verify at
     * most lockout_failures passwords; the count restarts when a lock has expired). */
    int reserved = 0, failures = 0, locks = 0;
    const char *refusal = NULL;
    if ((rv = reserve(a, &u, now, 1, &reserved, &failures, &locks, &refusal)) != ES_OK) return rv;
    if (!reserved) {
        rv = svc_audit_alone(a, by, "user.password_change_refused", object, refusal);
        return rv == ES_OK ? ES_ERR_LOCKED : rv;
    }
    if ((rv = es_store_query(a->store, "SELECT password_hash FROM users WHERE id = ?", idp, 1,
                             text_row, hash)) != ES_OK)
        return rv;
    if (!old_password || es_password_verify(hash, old_password) != ES_OK) {
        svc_rec f1, f2;
        snprintf(detail, sizeof detail, "locked for %u minutes after %d failed attempts",
                 a->lockout_minutes, failures);
        CHECK(svc_audit_prepare(a, by, "user.password_change_failed", object,
                                "wrong current password", &f1));
        if (locks) CHECK(svc_audit_prepare(a, by, "user.locked", object, detail, &f2));
        CHECK(es_store_begin(a->store));
        CHECK(svc_audit_append(a, &f1));
        if (locks) CHECK(svc_audit_append(a, &f2));
        CHECK(es_store_commit(a->store));
        rv = ES_ERR_PASSWORD;
        goto out;
    }
    if (es_password_policy(new_password, by->name, &reason) != ES_OK ||
        strcmp(new_password, old_password) == 0) {
        /* The right current password: this attempt's reservation is given back (as a sign-in
         * that succeeds clears the count). */
        CHECK(es_store_begin(a->store));
        CHECK(es_store_exec(a->store,
                            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?",
                            idp, 1, NULL));
        CHECK(es_store_commit(a->store));
        if (why) *why = reason ? reason : "the new password must differ from the current one";
        rv = ES_ERR_ARG;
        goto out;
    }
    /* The session the change is made in stays; every other session of the account ends. */
    int have_keep =
        keep_token && find_session(a, keep_token, keep, &ks) == ES_OK && ks.user_id == u.id;
    if ((rv = es_password_hash(new_password, nhash)) != ES_OK) return rv;
    es_value p[2] = {es_v_text(nhash), es_v_int(by->user_id)};
    es_value sp[2] = {es_v_int(u.id), es_v_blob(keep, sizeof keep)};
    svc_rec ar;
    CHECK(svc_audit_prepare(a, by, "user.password_change", object,
                            have_keep ? "other sessions ended" : "every session ended", &ar));
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store,
                        "UPDATE users SET password_hash = ?, must_change_password = 0, "
                        "failed_logins = 0, locked_until = NULL WHERE id = ?",
                        p, 2, NULL));
    if (have_keep)
        CHECK(es_store_exec(a->store, "DELETE FROM sessions WHERE user_id = ? AND id <> ?", sp, 2,
                            NULL));
    else
        CHECK(end_sessions(a, u.id));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK && rv != ES_ERR_PASSWORD) es_store_rollback(a->store);
    es_wipe(hash, sizeof hash);
    es_wipe(nhash, sizeof nhash);
    return rv;
}
