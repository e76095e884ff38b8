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

#endif
