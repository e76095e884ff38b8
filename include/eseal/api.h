/* eseal: the API layer (src/api/): the HTTP handlers under /api/v1 of every system, one file
 * per resource family, each registering its routes with es_api_<family>_register(). They map
 * requests to the services (svc) and the services' results to JSON; the services enforce the
 * rules and write the audit records. docs/esealsd.md and docs/openapi.json describe the API.
 *
 * es_api_ctx is what every handler shares: the node (src/node/) fills it, registers the
 * routes, starts the server, then marks it ready. The API never starts anything itself.
 */
#ifndef ESEAL_API_H
#define ESEAL_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "eseal/config.h"
#include "eseal/err.h"
#include "eseal/http.h"
#include "eseal/pki.h"
#include "eseal/ratelimit.h"
#include "eseal/signer.h"
#include "eseal/site.h"
#include "eseal/store.h"

ES_API_BEGIN

/* Audited refusals of signed requests, per client and minute (docs/api-clients.md). */
#define ES_API_REFUSAL_AUDIT_RATE 60
/* A CRL served by GET /api/v1/ca/crl is signed again after this long (seconds). */
#define ES_API_CRL_REFRESH 3600

/* Status queries per client address and minute by default ([status] rate_address; GET
 * /api/v1/status/..., public), and the
 * longest max-age of a cached status answer (seconds; docs/status.md "Caching"). */
#define ES_API_STATUS_RATE    60000
#define ES_API_STATUS_MAX_AGE 60

/* Log levels of [log] level. */
typedef enum es_log_level { ES_LOG_ERROR = 0, ES_LOG_WARN, ES_LOG_INFO, ES_LOG_DEBUG } es_log_level;

typedef struct es_api_ctx {
    es_config cfg;
    es_site site;
    /* The audit key (site.key_audit), shared by every worker: its signing is serialised by the
     * node (a key device handle is used by one thread at a time). */
    es_signer *audit;
    /* One store connection per worker thread, opened on first use (es_api_store) and closed
     * when the thread ends. */
    pthread_key_t store_key;
    es_log_level log_level;
    /* The seal root, open and logged in, for certificates the API issues (clients); one
     * caller at a time. */
    es_ca *ca;
    pthread_mutex_t ca_lock;
    /* The last CRL signed (DER) and when (under ca_lock); a revocation empties it, so the next
     * GET /api/v1/ca/crl signs a fresh one. */
    es_buf crl;
    time_t crl_at;
    /* How other systems reach this one (the system certificate's URI). */
    char public_url[600];
    /* 1 once the system certificate and the CA are in place; until then the endpoints that
     * need them answer 503. */
    atomic_int ready;
    /* Sign-in attempts per client address and per account name, and the password hashes
     * (argon2id, 64 MiB each) running at once ([accounts] signin_*). */
    es_ratelimit *signin_address, *signin_account;
    /* Audited refusals of signed requests, per client (ES_API_REFUSAL_AUDIT_RATE a minute). */
    es_ratelimit *refusal_audit;
    /* Audited refusals of signed-in accounts (api_require), per account, the same rate. */
    es_ratelimit *denied_audit;
    es_gate *hash_gate;
    /* The second-factor policy and seeds key (eseal/otp.h), set by the node. */
    const struct es_factors *factors;
    /* Per-address back-off of sign-in failures (es_signin_guard, accounts.h). */
    struct es_signin_guard *signin_guard;
    /* The making system (making.h): the maker key (the system key, whose certificate is
     * site.system_cert), serialised like the audit key; the making tables. Set by the node;
     * NULL: seals cannot be made (503). */
    es_signer *maker;
    struct es_tables *making_tables;
    /* The status system (status.h, docs/status.md): its key (site.status_cert is its
     * certificate), set by the node when the status system runs (NULL: 503), and the cache of
     * signed answers without nonce (src/api/status.c). */
    es_signer *status_key;
    struct es_status_cache *status_cache;
    es_ratelimit *status_rate;
    /* People's signing keys and decisions (eseal/decision.h), set by the node once the CA is
     * open; NULL until then (the routes answer 503). */
    struct es_decisions *decisions;
    /* Personal data at rest (eseal/protect.h): the KEK open, the index and MAC keys loaded;
     * set by the node, shared by every worker (it serialises its device). */
    struct es_protect *protect;
    /* The link to the parent tier (eseal/upstream.h), made by the node before the routes are
     * registered: the making system registers its answer handlers on it. */
    struct es_upstream *upstream;
} es_api_ctx;

/* Makes what the context owns besides the configuration and site (the store key, the CA lock,
 * the rate limiters after cfg is set). On failure nothing is left to clean. */
es_err es_api_ctx_init(es_api_ctx *ctx) ES_MUST_CHECK;
/* Frees what es_api_ctx_init made and ctx->ca (not the site, not the audit signer). */
void es_api_ctx_cleanup(es_api_ctx *ctx);

/* A log line on stderr with the time and level, when level is within ctx->log_level. */
void es_api_log(es_api_ctx *ctx, es_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The calling thread's store connection; NULL when the store cannot be reached (the reason
 * goes to the log). Never closed by the caller. */
es_store *es_api_store(es_api_ctx *ctx);

/* Signs the CRL served at GET /api/v1/ca/crl again now (the scheduler's hourly job). */
es_err es_api_crl_refresh(es_api_ctx *ctx) ES_MUST_CHECK;

/* Registers every family's routes under /api/v1 and the authentication hook. */
es_err es_api_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;

/* One per resource family (src/api/<family>.c). */
es_err es_api_accounts_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_audit_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_system_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_ca_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_clients_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_factors_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
/* GET /api/v1/divisions and GET /api/v1/making/tables (src/api/national.c; the tables of
 * making_tables, or the built-in ones when the node set none). */
es_err es_api_national_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_decisions_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_pictures_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_making_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
/* The import of other vendors' seals (src/api/seal_imports.c). */
es_err es_api_seal_imports_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
/* Online self-service renewal (src/api/renewals.c). */
es_err es_api_renewals_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_status_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;
es_err es_api_upstream_register(es_http *h, es_api_ctx *ctx) ES_MUST_CHECK;

ES_API_END

#endif
