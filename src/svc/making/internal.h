/* What the parts of the making service share (not part of the public API). */
#ifndef ESEAL_SVC_MAKING_INTERNAL_H
#define ESEAL_SVC_MAKING_INTERNAL_H

#include "eseal/making.h"

/* Inside the caller's transaction: records the application that stands for a seal imported
 * from another vendor's system (kind apply, state made, entered and carried out by `by`), with
 * the seal's data from `data` (scope, carrier, uscc, division, unit_name, seal_name, seal_type,
 * reason, made_code) and its integrity value, so that the lifecycle kinds find the seal's data
 * as they do for a seal made here. *id the new application. */
es_err making_app_imported(es_making *m, const es_actor *by, const es_application *data,
                           es_slice picture, int64_t *id) ES_MUST_CHECK;
/* Inside the caller's transaction: appends a status event (gap-free number). */
es_err making_status_event(es_making *m, const char *code, const char *serial, const char *state,
                           const char *reason, int64_t app_id) ES_MUST_CHECK;
/* Inside the caller's transaction: a renew application of the seal `code` (which must be
 * active: ES_ERR_MK_SEAL_STATE; a USBKey seal: ES_ERR_UNSUPPORTED otherwise) with the new key's
 * request csr (DER), entered and submitted by `who` (not an account: "self-service:CODE") and
 * left in the state a reviewer picks up (submitted). ES_ERR_MK_DUPLICATE when the seal has an
 * open application already. */
es_err making_app_renewal(es_making *m, const char *code, es_slice csr, const char *who,
                          const char *reason, int64_t *id) ES_MUST_CHECK;

#endif
