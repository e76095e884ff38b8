/* INTERIM: replaced by branch h10-X at merge; delete this file then. */
/* What the making core calls from the other parts of issue 10 not merged yet (upstream;
 * /work/wt/prompts/s3/interfaces.md), in the simplest honest form until the provider is
 * merged:
 *   - upstream (h10-upstream): nothing is queued: national scope is refused.
 * docs/making.md "Interim parts" says the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/crypto.h"
#include "eseal/pki.h"
#include "eseal/protect.h"
#include "eseal/upstream.h"

/* ---- upstream: nothing is queued */

es_err es_upstream_enqueue_in(es_store *st, const char *kind, const char *key, es_slice body)
{
    (void)st;
    (void)kind;
    (void)key;
    (void)body;
    return ES_ERR_UNSUPPORTED;
}

es_err es_upstream_on_done(es_upstream *u, const char *kind, es_upstream_done_fn fn, void *ctx)
{
    (void)u;
    (void)kind;
    (void)fn;
    (void)ctx;
    return ES_ERR_UNSUPPORTED;
}

es_err es_upstream_state_get(es_store *st, const char *kind, const char *key,
                             es_upstream_state *out)
{
    (void)st;
    (void)kind;
    (void)key;
    (void)out;
    return ES_ERR_NOT_FOUND;
}
