/* node internals shared by node.c and witness.c. */
#ifndef ESEAL_NODE_INTERNAL_H
#define ESEAL_NODE_INTERNAL_H

#include "eseal/api.h"
#include "eseal/node.h"

/* The audit witness of a node ([audit] witness, docs/audit.md "Witness"): the signed head
 * sent outside the site every witness_ms, on a scheduler of its own (a witness that is down
 * delays nothing else), and once more at stop. */
typedef struct node_witness node_witness;

/* Starts sending when [audit] witness is set (*out NULL otherwise). ES_ERR_CONFIG with a
 * sentence in why for a witness that cannot be used (a key that does not open). */
es_err node_witness_start(es_api_ctx *x, node_witness **out, char *why,
                          size_t whylen) ES_MUST_CHECK;
/* Stops the scheduler, sends the newest checkpoint once more (the one written at stop), and
 * frees. NULL is a no-op. */
void node_witness_stop(node_witness *w);
/* Sends now when the head moved since the last acknowledged send (the job's body). */
es_err node_witness_send(node_witness *w) ES_MUST_CHECK;

/* Records one event of the node in the audit trail, in a transaction of its own. */
es_err node_audit(es_api_ctx *x, const char *action, const char *object,
                  const char *detail) ES_MUST_CHECK;

/* One request signed as the registered business system `client` with key (ESEAL-SM2,
 * docs/api-clients.md) to the esealsd at base ("http://HOST[:PORT][/PREFIX]"): METHOD
 * PREFIX+path[?query], body as application/json when not empty. ES_OK when an HTTP answer came
 * (its status in *status, its body in answer, at most answer->max bytes, and the value of the
 * answer's header `header` in value when header is not NULL: "" when absent); ES_ERR_UNAVAILABLE
 * with why when there was none (cannot connect in 5 s, no answer in 10 s, not HTTP);
 * ES_ERR_CONFIG for a base that is not http://HOST:PORT/. */
es_err node_http_exchange(const char *base, const char *path, const char *query, const char *client,
                          es_signer *key, const char *method, es_slice body, unsigned *status,
                          es_buf *answer, const char *header, char *value, size_t valuelen,
                          char *why, size_t whylen) ES_MUST_CHECK;

/* The link to the parent tier ([upstream], docs/upstream.md): the outbox context (x->upstream,
 * made before the routes are registered, so that systems register their answer handlers on
 * it) and, when [upstream] url is set, the job that sends what is due, on a scheduler of its
 * own (a parent that is slow to answer delays nothing else). */
typedef struct node_upstream node_upstream;
/* Makes the context and opens the key that signs the requests (when url is set): ES_ERR_CONFIG
 * with a sentence in why for a client name missing or a key that does not open. */
es_err node_upstream_new(es_api_ctx *x, node_upstream **out, char *why,
                         size_t whylen) ES_MUST_CHECK;
/* Starts the job (nothing when no url). */
es_err node_upstream_start(node_upstream *nu, char *why, size_t whylen) ES_MUST_CHECK;
/* One pass of the job now: claims what is due, sends, records; *sent (may be NULL) counts the
 * requests that got an answer recorded done or failed. ES_ERR_UNAVAILABLE without a url. */
es_err node_upstream_run(node_upstream *nu, size_t *sent) ES_MUST_CHECK;
/* The same on the job's own thread, waiting for it (tests). */
es_err node_upstream_run_now(node_upstream *nu) ES_MUST_CHECK;
/* Stops the job, frees (x->upstream too). NULL is a no-op. */
void node_upstream_free(node_upstream *nu);

#endif
