/* What the services of src/svc share (not part of the public API). */
#ifndef ESEAL_SVC_INTERNAL_H
#define ESEAL_SVC_INTERNAL_H

#include "eseal/accounts.h"

/* "role1,role2" of a set, in es_role order. */
void svc_roles_text(es_roles r, char *out, size_t n);
/* Appends one audit record by `by` (NULL: anonymous) inside the open transaction. */
es_err svc_audit(es_accounts *a, const es_actor *by, const char *action, const char *object,
                 const char *detail) ES_MUST_CHECK;
/* The same in a transaction of its own (events that change nothing else). */
es_err svc_audit_alone(es_accounts *a, const es_actor *by, const char *action, const char *object,
                       const char *detail) ES_MUST_CHECK;

#endif
