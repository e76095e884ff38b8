/* eseal auth: roles, separation of duties and passwords (LD/T 01.1 9.4).
 *
 * Roles follow the standard's people (GLOSSARY.md). Duties are separated three ways, as the
 * "three officers" practice has it and 9.4 asks ("独立的业务管理员与审计管理员"):
 *   - system duties: the system administrator, who bootstraps the site and manages accounts
 *     and nothing else;
 *   - business duties: business administrator, seal issuer, reviewer, approver, operator,
 *     seal keeper;
 *   - audit duties: the audit administrator, who reads and verifies the audit trail only.
 * One account holds roles from one group only. Nobody changes their own roles (enforced where
 * roles are changed, with the acting account at hand).
 *
 * Passwords are hashed with argon2id (libargon2) into the PHC string form.
 */
#ifndef ESEAL_AUTH_H
#define ESEAL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/err.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef enum es_role {
    ES_ROLE_SYSTEM_ADMIN = 0, /* "system_admin" */
    ES_ROLE_BUSINESS_ADMIN,   /* "business_admin" */
    ES_ROLE_AUDIT_ADMIN,      /* "audit_admin" */
    ES_ROLE_SEAL_ISSUER,      /* "seal_issuer" */
    ES_ROLE_REVIEWER,         /* "reviewer" */
    ES_ROLE_APPROVER,         /* "approver" */
    ES_ROLE_OPERATOR,         /* "operator" */
    ES_ROLE_SEAL_KEEPER,      /* "seal_keeper" */
    ES_ROLE_COUNT
} es_role;

typedef uint32_t es_roles; /* bit (1 << es_role) per role held */
#define ES_ROLE_BIT(r) ((es_roles)1 << (r))

/* Stable names, as in the API and the audit trail. NULL for an unknown role. */
const char *es_role_name(es_role r);
/* ES_ERR_ARG for an unknown name. */
es_err es_role_parse(const char *name, es_role *out) ES_MUST_CHECK;

/* ES_OK when an account may hold exactly these roles together; otherwise ES_ERR_ARG and a
 * static sentence in *why (may be NULL). An empty set is allowed (a disabled-by-role
 * account). */
es_err es_roles_check(es_roles roles, const char **why) ES_MUST_CHECK;

/* What an account may do: one permission per family of operations. */
typedef enum es_perm {
    ES_PERM_ACCOUNTS = 0,   /* create, disable, reset accounts; assign roles */
    ES_PERM_CLIENTS,        /* register business systems (API clients) */
    ES_PERM_AUDIT,          /* read, export and verify the audit trail */
    ES_PERM_SETTINGS,       /* business configuration: seal types, codes, systems */
    ES_PERM_SEAL_APPLY,     /* enter seal applications and their materials */
    ES_PERM_SEAL_REVIEW,    /* review applications */
    ES_PERM_SEAL_MAKE,      /* make, deliver, change, revoke seals */
    ES_PERM_SIGN_REQUEST,   /* request a signature */
    ES_PERM_SIGN_APPROVE,   /* approve a signature request */
    ES_PERM_SIGN,           /* apply a seal (centralised) */
    ES_PERM_SEAL_KEEP,      /* hold a seal on a token (decentralised) */
    ES_PERM_VERIFY,         /* verify documents and seals */
    ES_PERM_AUDIT_ACCOUNTS, /* create, disable, enable, reset audit administrators' accounts */
    ES_PERM_COUNT
} es_perm;

const char *es_perm_name(es_perm p);
/* 1 when any of the roles grants p (least privilege: docs/accounts.md lists the table). */
int es_roles_allow(es_roles roles, es_perm p);

/* Separation of duties in account management (docs/accounts.md): 1 when an account holding
 * actor's roles may manage (create, change the roles of, disable, enable, reset) an account
 * holding target's roles. Audit administrators' accounts are managed by audit administrators
 * only (ES_PERM_AUDIT_ACCOUNTS), every other account by the system administrator only
 * (ES_PERM_ACCOUNTS); an account holding audit_admin and anything else is nobody's. target 0:
 * an account with no role yet (no one may). Does not check "not one's own account". */
int es_roles_may_manage(es_roles actor, es_roles target);

/* argon2id parameters: 64 MiB, 3 passes, 1 lane, 16-byte salt, 32-byte hash. */
#define ES_PASSWORD_HASH_MAX 160
#define ES_PASSWORD_MIN      12
#define ES_PASSWORD_MAX      128

/* Hashes a password into the PHC string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"). */
es_err es_password_hash(const char *password, char out[ES_PASSWORD_HASH_MAX]) ES_MUST_CHECK;
/* ES_OK when password matches; ES_ERR_PASSWORD when not; ES_ERR_FORMAT for a broken hash. */
es_err es_password_verify(const char *encoded, const char *password) ES_MUST_CHECK;
/* The work of es_password_verify, with the same parameters, against a hash whose password
 * nobody knows: for a sign-in that fails whatever the password (unknown name, locked or
 * disabled account), so that it costs what a wrong password costs. */
void es_password_verify_dummy(const char *password);
/* How many argon2id verifications this process ran: against accounts' hashes (real) and
 * against the dummy hash (dummy). Either may be NULL. For tests and metrics; thread-safe. */
void es_password_verifications(uint64_t *real, uint64_t *dummy);
/* How many argon2id hashes (es_password_hash) this process computed. Thread-safe. */
uint64_t es_password_hashes(void);
/* Password rules: ES_PASSWORD_MIN..MAX bytes, not containing the account name (3 characters or
 * more, any case), at least three of
 * lower case, upper case, digits, other characters. ES_ERR_ARG with a static reason. */
es_err es_password_policy(const char *password, const char *account,
                          const char **why) ES_MUST_CHECK;
/* A random one-time password that satisfies the policy (for the first administrator and
 * resets); out holds at least 25 bytes. */
es_err es_password_generate(char out[32]) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
