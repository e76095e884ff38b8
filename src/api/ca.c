/* The seal root's certificate and CRL, public (GET /api/v1/ca/root, /api/v1/ca/crl). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* The seal root's certificate (DER). */
static es_err ca_root(es_http_req *req, void *arg)
{
    es_api_ctx *app = arg;
    if (!atomic_load(&app->ready)) return api_not_ready(req);
    es_slice root = es_ca_cert(app->ca);
    if (es_http_add_header(req, "Content-Disposition", "attachment; filename=\"root.crt\"") !=
        ES_OK)
        return ES_ERR_NOMEM;
    return es_http_reply_bytes(req, 200, "application/pkix-cert", root.p, root.len);
}

/* The seal root's full CRL (DER, RFC 5280): every certificate it revoked (clients, superseded
 * system certificates). Signed again after ES_API_CRL_REFRESH seconds or a revocation; each
 * signing takes the next cRLNumber. */
/* Under ca_lock: signs the CRL again when none is kept or force or it is older than
 * ES_API_CRL_REFRESH. */
static es_err crl_fresh(es_api_ctx *app, int force)
{
    time_t now = time(NULL);
    if (!force && app->crl.len != 0 && now - app->crl_at < ES_API_CRL_REFRESH) return ES_OK;
    app->crl.len = 0;
    es_store *s = es_api_store(app);
    if (!s) return ES_ERR_UNAVAILABLE;
    /* Each signing takes the next cRLNumber in the store, audited as ca.crl. */
    es_castore cs = {s, app->audit, "system", NULL};
    es_ca_state st = es_castore_state(&cs);
    es_err rv = es_ca_crl_in(app->ca, &st, 0, NULL, &app->crl);
    if (rv == ES_OK)
        app->crl_at = now;
    else
        app->crl.len = 0;
    return rv;
}

es_err es_api_crl_refresh(es_api_ctx *ctx)
{
    if (!atomic_load(&ctx->ready)) return ES_ERR_UNAVAILABLE;
    pthread_mutex_lock(&ctx->ca_lock);
    es_err rv = crl_fresh(ctx, 1);
    pthread_mutex_unlock(&ctx->ca_lock);
    if (rv != ES_OK) es_api_log(ctx, ES_LOG_ERROR, "cannot sign the CRL: %s", es_err_str(rv));
    return rv;
}

static es_err ca_crl(es_http_req *req, void *arg)
{
    es_api_ctx *app = arg;
    if (!atomic_load(&app->ready)) return api_not_ready(req);
    pthread_mutex_lock(&app->ca_lock);
    es_err rv = crl_fresh(app, 0);
    if (rv == ES_OK)
        rv = es_http_reply_bytes(req, 200, "application/pkix-crl", app->crl.p, app->crl.len);
    pthread_mutex_unlock(&app->ca_lock);
    if (rv != ES_OK) es_api_log(app, ES_LOG_ERROR, "cannot sign the CRL: %s", es_err_str(rv));
    return rv;
}

es_err es_api_ca_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"GET", "/api/v1/ca/root", ca_root, ES_HTTP_PUBLIC, API_BODY_SMALL},
        {"GET", "/api/v1/ca/crl", ca_crl, ES_HTTP_PUBLIC, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
