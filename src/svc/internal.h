/* What the services of src/svc share (not part of the public API). */
#ifndef ESEAL_SVC_INTERNAL_H
#define ESEAL_SVC_INTERNAL_H

#include "eseal/accounts.h"
#include "eseal/audit.h"

/* "role1,role2" of a set, in es_role order. */
void svc_roles_text(es_roles r, char *out, size_t n);
/* Appends one audit record by `by` (NULL: anonymous) inside the open transaction. */
es_err svc_audit(es_accounts *a, const es_actor *by, const char *action, const char *object,
                 const char *detail) ES_MUST_CHECK;
/* An audit record prepared (signed) before the transaction, so that no signature is computed
 * while the store's write lock is held (docs/audit.md): svc_audit_prepare before
 * es_store_begin, svc_audit_append inside. object and detail must not change in between. */
typedef struct svc_rec {
    es_audit_record rec;
    char role[256];
} svc_rec;
es_err svc_audit_prepare(es_accounts *a, const es_actor *by, const char *action, const char *object,
                         const char *detail, svc_rec *out) ES_MUST_CHECK;
es_err svc_audit_append(es_accounts *a, svc_rec *r) ES_MUST_CHECK;
/* The same in a transaction of its own (events that change nothing else). */
es_err svc_audit_alone(es_accounts *a, const es_actor *by, const char *action, const char *object,
                       const char *detail) ES_MUST_CHECK;

/* The second-factor check of a sign-in (src/svc/accounts/otp.c), called by the sign-in after the
 * password was found right and before the session is made. ES_OK when an active factor answered
 * (a dynamic password of a T in the drift window after the last one accepted, recorded; or a
 * valid signature of a live challenge for this name, consumed), or when the account has no
 * active factor (u->factor_needed then says whether one is required: the session may only enrol
 * one). ES_ERR_AUTH when the answer is missing or wrong: the sign-in fails as for a wrong
 * password (same count, same answer); *why (static) says which, for the audit trail. Called
 * with password_ok 0 too (a wrong password): the same work is done, nothing is recorded or
 * accepted, and the answer is ES_ERR_AUTH when the account has an active factor. */
struct es_factor_answer;
es_err svc_factor_check(es_accounts *a, es_user *u, const struct es_factor_answer *ans,
                        int password_ok, const char **why) ES_MUST_CHECK;

#endif
