/* eseal: the node layer (src/node/): what assembles one daemon. Configuration (embedded
 * defaults when no file), the site (keys, passphrase, seal root: made on first start), the
 * store (opened and migrated), the audit signer, on first start the initial system
 * administrator "admin" (its one-time password printed once), the HTTP server with the API
 * (src/api/) and the console, the system certificate, and the background jobs behind one
 * scheduler (the CRL re-signed hourly now; lists, sync and retries later).
 *
 * tools/esealsd.c is argument parsing plus es_node_run; the API tests start a node inside the
 * test binary with es_node_start on 127.0.0.1:0.
 */
#ifndef ESEAL_NODE_H
#define ESEAL_NODE_H

#include <stdio.h>

#include "eseal/err.h"
#include "eseal/http.h"

ES_API_BEGIN

#define ES_NODE_VERSION "0.1.0"

typedef struct es_node_opts {
    const char *config; /* the configuration file; NULL: the embedded defaults */
    const char *listen; /* overrides [server] listen ("127.0.0.1:0": any free port); NULL: keep */
    const char *var;    /* the site's directory for the defaults; NULL: ./var */
    /* What an operator must see at start (what was made, the one-time password, the console
     * URL, "port N"); NULL: stdout. The log goes to stderr. */
    FILE *out;
} es_node_opts;

typedef struct es_node es_node;

/* Starts a node: returns once it serves (the port bound, the system certificate in place, the
 * scheduler running). On failure a sentence in why (the return code says which kind:
 * ES_ERR_CONFIG for a bad configuration or --listen, ES_ERR_PIN for keys that do not open, ...)
 * and nothing is left running. Signals are not touched (es_node_run handles them). */
es_err es_node_start(const es_node_opts *o, es_node **out, char *why, size_t whylen) ES_MUST_CHECK;

/* The TCP port served. */
unsigned es_node_port(const es_node *n);

/* The node's HTTP server (borrowed, valid until es_node_stop): for tests that enumerate its
 * routes (es_http_routes_foreach). */
es_http *es_node_http(es_node *n);

/* The node's scheduler (borrowed, valid until es_node_stop): for tests that run a job now
 * (es_sched_run_now). */
struct es_sched *es_node_sched(es_node *n);
/* The node's link to the parent tier (eseal/upstream.h; borrowed, valid until es_node_stop):
 * where a system registers its answer handlers. */
struct es_upstream *es_node_upstream(es_node *n);
/* Runs the upstream job once now on its thread and waits for it (tests; the job runs every
 * [upstream] poll_ms anyway). ES_ERR_UNAVAILABLE when [upstream] url is not set. */
es_err es_node_upstream_run(es_node *n) ES_MUST_CHECK;

/* Stops serving (in-flight requests get up to 10 s), stops the scheduler, frees everything.
 * NULL is a no-op. */
void es_node_stop(es_node *n);

/* esealsd's main: starts, serves until SIGINT or SIGTERM, stops. Returns the exit code (0 after
 * a clean stop, 1 when it cannot start, 2 for a bad configuration). */
int es_node_run(const es_node_opts *o);

/* ---- The scheduler: background jobs of a node, each run every period_ms on one thread
 * (jobs never overlap). A job's failure goes to the log; it runs again at its next time. */

typedef struct es_sched es_sched;
typedef es_err (*es_sched_fn)(void *arg);

es_err es_sched_new(es_sched **out) ES_MUST_CHECK;
/* Adds a job before es_sched_start; name is static text for the log. */
es_err es_sched_add(es_sched *s, const char *name, unsigned period_ms, es_sched_fn fn,
                    void *arg) ES_MUST_CHECK;
/* log (may be NULL) gets a line for each failure. */
es_err es_sched_start(es_sched *s, void (*log)(void *arg, const char *line),
                      void *log_arg) ES_MUST_CHECK;
/* Runs the job named name now (on the scheduler thread) and waits for it; its result. */
es_err es_sched_run_now(es_sched *s, const char *name) ES_MUST_CHECK;
/* How many times the job named name has run (0 when unknown). */
unsigned long es_sched_runs(es_sched *s, const char *name);
/* Stops the thread (a running job finishes first) and frees. NULL is a no-op. */
void es_sched_free(es_sched *s);

ES_API_END

#endif
