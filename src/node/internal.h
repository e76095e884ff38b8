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

#endif
