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

typedef struct es_accounts {
    es_store *store;
    es_signer *audit; /* signs the audit records */
    unsigned session_minutes;
    unsigned lockout_failures;
    unsigned lockout_minutes;
    /* The second-factor policy and seeds key (eseal/otp.h); NULL: password alone (library
     * users without a daemon; the daemon always sets it). Not owned. */
    const struct es_factors *factors;
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

/* Signs in. ES_ERR_AUTH (unknown name or wrong password: the same answer for both),
 * ES_ERR_LOCKED (locked or disabled). On success the token (64 hex + NUL) and the user. */
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

/* An actor from a user. */
es_actor es_actor_of(const es_user *u);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
