/* eseal accounts: console accounts, roles, sign-in, sessions (LD/T 01.1 9.4).
 *
 * Every change and every security event (sign-in, failure, lockout, role change, refusal)
 * writes an audit record in the same transaction as the change (audit.h); a refused call
 * writes its "denied" record and changes nothing else. Times are seconds since the epoch.
 *
 * Rules: roles obey es_roles_check (separation of duties); managing accounts needs
 * ES_PERM_ACCOUNTS; nobody changes their own roles or disables themselves; a created or
 * reset account gets a one-time password and must change it at its first sign-in; after
 * lockout_failures failed sign-ins an account is locked for lockout_minutes (failures are
 * counted and audited even though the sign-in fails). Session tokens are 32 random bytes
 * given to the client once as hex; the store keeps only their SM3.
 *
 * An es_accounts uses one store connection: one per thread.
 */
#ifndef ESEAL_ACCOUNTS_H
#define ESEAL_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/auth.h"
#include "eseal/err.h"
#include "eseal/signer.h"
#include "eseal/store.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

#define ES_ACCOUNT_NAME_MAX    32
#define ES_ACCOUNT_DISPLAY_MAX 128
#define ES_SESSION_TOKEN_HEX   64

struct es_factors;
/* Per-address back-off of sign-in failures (below); NULL in es_accounts: none. */
typedef struct es_signin_guard es_signin_guard;

typedef struct es_accounts {
    es_store *store;
    es_signer *audit; /* signs the audit records */
    unsigned session_minutes;
    unsigned lockout_failures;
    unsigned lockout_minutes;
    /* The second-factor policy and seeds key (eseal/otp.h); NULL: password alone (library
     * users without a daemon; the daemon always sets it). Not owned. */
    const struct es_factors *factors;
    es_signin_guard *guard; /* may be NULL: every failure counts towards the account's lock */
    es_time (*now)(void);   /* the clock; NULL: es_time_now (tests inject their own) */
    /* The site CA (not owned; NULL: none): an account disabled or left without a
     * decision-taking role has its signing certificate revoked in the same transaction
     * (eseal/decision.h; without a CA only its key row is). */
    struct es_ca *ca;
} es_accounts;

/* Who acts. A user signed in, or the daemon itself (name "system", roles 0, is_system 1:
 * bootstrap only). */
typedef struct es_actor {
    const char *name;
    es_roles roles;
    int64_t user_id; /* 0 for the system */
    int is_system;
} es_actor;

typedef struct es_user {
    int64_t id;
    char name[ES_ACCOUNT_NAME_MAX + 1];
    char display_name[ES_ACCOUNT_DISPLAY_MAX + 1];
    es_roles roles;
    int must_change_password;
    int disabled;
    int failed_logins;
    int64_t locked_until; /* 0: not locked */
    int64_t created_at;
    /* A second factor is required and none is active: the session may only enrol one
     * (eseal/otp.h es_factor_state; set by sign-in and by es_factor_state). */
    int factor_needed;
} es_user;

/* Account names: 2 to 32 of a-z 0-9 . _ - starting with a letter. */
int es_account_name_valid(const char *name);

/* Creates an account. password NULL: a one-time password is generated into onetime (32
 * bytes, may be NULL only when password is given). ES_ERR_DENIED, ES_ERR_ARG (name, roles or
 * password policy; *why says which), ES_ERR_EXISTS. out may be NULL. */
es_err es_acct_create(es_accounts *a, const es_actor *by, const char *name,
                      const char *display_name, es_roles roles, const char *password,
                      char onetime[32], es_user *out, const char **why) ES_MUST_CHECK;
/* Replaces the roles of name (not one's own). */
es_err es_acct_set_roles(es_accounts *a, const es_actor *by, const char *name, es_roles roles,
                         const char **why) ES_MUST_CHECK;
/* Disables or enables an account (not one's own); disabling ends its sessions. */
es_err es_acct_set_disabled(es_accounts *a, const es_actor *by, const char *name,
                            int disabled) ES_MUST_CHECK;
/* Sets a new one-time password, unlocks, ends sessions; the user must change it. */
es_err es_acct_reset_password(es_accounts *a, const es_actor *by, const char *name,
                              char onetime[32]) ES_MUST_CHECK;
es_err es_acct_get(es_accounts *a, const es_actor *by, const char *name,
                   es_user *out) ES_MUST_CHECK;
typedef es_err (*es_user_cb)(void *ctx, const es_user *u);
/* Users in name order after `after` (NULL: from the start), at most limit (0: all). */
es_err es_acct_list(es_accounts *a, const es_actor *by, const char *after, int64_t limit,
                    es_user_cb cb, void *ctx) ES_MUST_CHECK;

/* Signs in from address `from`. Every failure is ES_ERR_AUTH and costs one argon2id
 * verification, whatever its reason (unknown name, wrong password, locked or disabled
 * account, even with the right password): no answer and no timing tells them apart; the
 * audit trail records the true reason (session.login_failed, session.login_refused).
 * The account's failure count is reserved (one statement) before the password is verified, so
 * that parallel guesses verify at most lockout_failures passwords; the lock is set by the
 * attempt that reaches the count, cleared by a success, and the count restarts once a lock
 * has expired. With a->guard: ES_ERR_RATE (nothing done, nothing audited) while the address
 * backs off for this name, and an address's failures beyond its share do not count towards
 * the account's lock (es_signin_guard_admit). On success the token (64 hex + NUL) and the
 * user. */
es_err es_acct_login(es_accounts *a, const char *name, const char *password, const char *from,
                     char token[ES_SESSION_TOKEN_HEX + 1], es_user *out) ES_MUST_CHECK;
/* The user of a live session (sliding expiry). ES_ERR_AUTH when unknown or expired. */
es_err es_acct_session(es_accounts *a, const char *token, es_user *out) ES_MUST_CHECK;
es_err es_acct_logout(es_accounts *a, const char *token) ES_MUST_CHECK;
/* The signed-in user changes their own password (old one required: ES_ERR_PASSWORD when wrong,
 * counted as a failed sign-in: the account locks after lockout_failures of them; ES_ERR_LOCKED
 * for a locked or disabled account; ES_ERR_ARG with *why when the new one breaks the policy).
 * Every session of the account ends but keep_token's (the one the change is made in; NULL:
 * all end). */
es_err es_acct_change_password(es_accounts *a, const es_actor *by, const char *keep_token,
                               const char *old_password, const char *new_password,
                               const char **why) ES_MUST_CHECK;

/* Records a refusal (an API call the actor's roles do not allow) in the audit trail. */
es_err es_acct_audit_denied(es_accounts *a, const es_actor *by, const char *what) ES_MUST_CHECK;
/* Records an event that changes nothing in the store (a key used outside it: the seal root
 * issuing the daemon's system certificate, say) in a transaction of its own. */
es_err es_acct_audit_event(es_accounts *a, const es_actor *by, const char *action,
                           const char *object, const char *detail) ES_MUST_CHECK;

/* Per-address back-off (docs/accounts.md, "Lockout"): in memory, per (address, account
 * name), at most ES_SIGNIN_GUARD_SLOTS pairs (the least recently used is forgotten). An
 * address that succeeded for a name is the owner's address for it: its failures count towards
 * the account's lock and it never backs off. Any other address backs off after
 * share = (lockout_failures + 1) / 2 failures in a row for the name: refused (ES_ERR_RATE) for
 * 60 s, then for twice as long after each further failure (one hour at most); only its first
 * `share` failures count towards the account's lock, so that one outside address cannot lock
 * an account (it takes failures from two or more addresses, or from the owner's). A pair
 * quiet for a day is forgotten. Thread-safe. */
#define ES_SIGNIN_GUARD_SLOTS 4096
es_err es_signin_guard_new(unsigned lockout_failures, es_signin_guard **out) ES_MUST_CHECK;
void es_signin_guard_free(es_signin_guard *g);
/* ES_ERR_RATE with *retry_s (may be NULL) while from backs off for name; ES_OK otherwise.
 * Changes nothing. */
es_err es_signin_guard_check(es_signin_guard *g, const char *from, const char *name, es_time now,
                             unsigned *retry_s) ES_MUST_CHECK;
/* 1 when from is the owner's address for name. */
int es_signin_guard_trusted(es_signin_guard *g, const char *from, const char *name, es_time now);
/* Admits an attempt (counted as a failure until es_signin_guard_success): ES_ERR_RATE while
 * from backs off; else ES_OK and *counts = 1 when a failure of it counts towards the
 * account's lock. */
es_err es_signin_guard_admit(es_signin_guard *g, const char *from, const char *name, es_time now,
                             int *counts) ES_MUST_CHECK;
/* A success: from becomes the owner's address for name, its failures are forgotten. */
void es_signin_guard_success(es_signin_guard *g, const char *from, const char *name, es_time now);

/* An actor from a user. */
es_actor es_actor_of(const es_user *u);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
