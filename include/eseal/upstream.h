/* eseal upstream: the parent tier (ministry: the national platform; here the labelled
 * simulator) through a durable outbox. Interface fixed for issue 10 (provider: branch
 * h10-upstream); until it is merged the making core carries an interim implementation in
 * src/svc/making/interim.c, which refuses to queue (national scope waits for it). */
#ifndef ESEAL_UPSTREAM_H
#define ESEAL_UPSTREAM_H

#include <stdint.h>

#include "eseal/err.h"
#include "eseal/store.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef struct es_upstream es_upstream;
/* kind: "code.assign" (body: the application data; answer: {"code": "14 digits",
 * "police_key": base64, "police_info": base64}), "seal.file" (body: code, certificate,
 * seal in base64; answer: {"filed_at": ...}), "seal.status" (body: code, state, reason, at).
 * key: the idempotency key (the application's or event's id as text). A second enqueue of
 * the same kind+key is a no-op (ES_OK). */
es_err es_upstream_enqueue_in(es_store *st, const char *kind, const char *key,
                              es_slice body_json) ES_MUST_CHECK;
/* Called in the write transaction that records the answer; an error rolls the answer back
 * and the request is retried later. */
typedef es_err (*es_upstream_done_fn)(void *ctx, es_store *st, const char *kind, const char *key,
                                      es_slice answer_json);
es_err es_upstream_on_done(es_upstream *u, const char *kind, es_upstream_done_fn fn,
                           void *ctx) ES_MUST_CHECK;
typedef struct es_upstream_state {
    char state[16]; /* "pending", "done", "failed" (refused by upstream: not retried) */
    int attempts;
    int64_t next_at; /* next attempt, Unix seconds (pending) */
    char last_error[256];
} es_upstream_state;
es_err es_upstream_state_get(es_store *st, const char *kind, const char *key,
                             es_upstream_state *out) ES_MUST_CHECK; /* ES_ERR_NOT_FOUND */

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
