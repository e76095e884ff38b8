/* esealsd: what the daemon's files share (tools/esealsd.c: start, stop, store connections;
 * tools/esealsd_api.c: the platform API under /api/v1). docs/esealsd.md describes it. */
#ifndef ESEALSD_H
#define ESEALSD_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "eseal/config.h"
#include "eseal/http.h"
#include "eseal/pki.h"
#include "eseal/ratelimit.h"
#include "eseal/signer.h"
#include "eseal/site.h"
#include "eseal/store.h"

#define SD_REFUSAL_AUDIT_RATE 60
/* A CRL served by GET /api/v1/ca/crl is signed again after this long (seconds). */
#define SD_CRL_REFRESH 3600

/* Log levels of [log] level. */
enum { SD_LOG_ERROR = 0, SD_LOG_WARN, SD_LOG_INFO, SD_LOG_DEBUG };

typedef struct sd_app {
    es_config cfg;
    es_site site;
    /* The audit key (site.key_audit), shared by every worker: its signing is serialised by a
     * mutex (a key device handle is used by one thread at a time). */
    es_signer *audit;
    /* One store connection per worker thread, opened on first use and closed when the
     * thread ends (es_store: one connection, one thread at a time). */
    pthread_key_t store_key;
    int log_level;
    /* The seal root, open and logged in, for certificates the API issues (clients); one
     * caller at a time. */
    es_ca *ca;
    pthread_mutex_t ca_lock;
    /* The last CRL signed (DER) and when (under ca_lock); a revocation empties it, so the
     * next GET /api/v1/ca/crl signs a fresh one. */
    es_buf crl;
    time_t crl_at;
    /* How other systems reach this one (the system certificate's URI). */
    char public_url[600];
    /* 1 once the system certificate and the CA are in place (set after the server binds,
     * when the port is known); until then the endpoints that need them answer 503. */
    atomic_int ready;
    /* Sign-in attempts per client address and per account name, and the password hashes
     * (argon2id, 64 MiB each) running at once ([accounts] signin_*). */
    es_ratelimit *signin_address, *signin_account;
    /* Audited refusals of signed requests, per client (SD_REFUSAL_AUDIT_RATE a minute): the
     * rest are refused and logged, not audited (docs/api-clients.md). */
    es_ratelimit *refusal_audit;
    es_gate *hash_gate;
} sd_app;

/* Log lines (stderr, with the level). */
void sd_log(sd_app *app, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The calling thread's store connection; NULL when the store cannot be reached (the reason
 * goes to the log). Never closed by the caller. */
es_store *sd_store(sd_app *app);

/* Registers the /api/v1 routes and the authentication hook. */
es_err sd_api_register(es_http *h, sd_app *app) ES_MUST_CHECK;

#endif
