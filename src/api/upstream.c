/* The national link (include/eseal/upstream.h, docs/upstream.md): the routes a child tier's
 * making system calls at its parent. Answered by the national platform simulator (tier
 * national-simulator); a ministry, province or city with an [upstream] url forwards them to its
 * parent (docs/upstream.md "Forwarding"); any other daemon answers 404 not_national_platform. Only
 * a registered business system's signed request (ESEAL-SM2) is taken, and a request that changes
 * anything needs its role seal_issuer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "eseal/upstream.h"

/* Bodies: the application data; a filing carries the certificate and the seal (base64). */
#define BODY_CODES   (1u << 20)
#define BODY_FILINGS (8u << 20)
#define BODY_STATUS  (64u << 10)

/* The answer, signed with the simulator's system key (docs/upstream.md "Signed answers"). */
static es_err reply_signed(es_http_req *req, es_api_ctx *app, unsigned status, const es_buf *ans)
{
    es_buf sig;
    es_buf_init(&sig, 512);
    es_err rv = es_upstream_sign(app->upstream, status, es_http_req_body(req),
                                 es_slice_make(ans->p, ans->len), &sig);
    if (rv == ES_ERR_UNAVAILABLE)
        rv = ES_OK; /* no key: unsigned (not the simulator) */
    else if (rv == ES_OK && (rv = es_buf_nul(&sig)) == ES_OK)
        rv = es_http_add_header(req, ES_UPSTREAM_SIG_HEADER, (const char *)sig.p);
    if (rv == ES_OK) rv = es_http_reply_bytes(req, status, "application/json", ans->p, ans->len);
    es_buf_cleanup(&sig);
    return rv;
}

/* A tier with children that forwards to its parent: ministry, province, city with [upstream]
 * url set (docs/upstream.md "Forwarding"). */
static int forwards(const es_api_ctx *app)
{
    return app->cfg.tier != ES_TIER_NATIONAL_SIMULATOR && app->cfg.upstream_url[0];
}

typedef es_err (*national_fn)(es_accounts *a, const es_actor *by, const char *client, es_slice body,
                              es_buf *answer, int *created, const char **field, char *why,
                              size_t whylen);

/* The caller: a registered system in a signed request, at the simulator. NULL when refused
 * (replied; *rv set). */
static const api_user *national_caller(es_http_req *req, es_api_ctx *app, int writes, es_err *rv)
{
    const api_user *su = api_user_of(req);
    *rv = ES_OK;
    if (!su || !su->is_client) {
        *rv = es_http_reply_err(req, ES_ERR_DENIED,
                                "the national link takes a registered system's signed request "
                                "(ESEAL-SM2), not a person's session");
        if (*rv == ES_OK) *rv = ES_ERR_DENIED;
        return NULL;
    }
    if (app->cfg.tier != ES_TIER_NATIONAL_SIMULATOR && !forwards(app)) {
        *rv = es_http_reply_err(req, ES_ERR_NOT_NATIONAL,
                                "this daemon is not the national platform simulator (tier "
                                "national-simulator)");
        if (*rv == ES_OK) *rv = ES_ERR_NOT_NATIONAL;
        return NULL;
    }
    if (writes && !(su->client.roles & ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER))) {
        *rv = es_http_reply_err(req, ES_ERR_DENIED,
                                "codes, filings and state changes are sent by a making system "
                                "registered with the role seal_issuer");
        if (*rv == ES_OK) *rv = ES_ERR_DENIED;
        return NULL;
    }
    return su;
}

/* A child's request passed to the parent: its answer (2xx, 4xx) re-signed by this tier, or
 * 503 with Retry-After when the parent is not reached (the child's outbox retries). */
static es_err forward_post(es_http_req *req, es_api_ctx *app, es_accounts *a, const api_user *su,
                           const char *kind)
{
    es_actor by = api_actor(su);
    es_buf ans;
    es_buf_init(&ans, ES_UPSTREAM_MAX_ANSWER);
    char why[400] = "";
    const char *field = NULL;
    unsigned status = 0;
    es_err rv = es_national_forward(a, &by, app->upstream, su->client.name, kind,
                                    es_http_req_body(req), &status, &ans, &field, why, sizeof why);
    if (rv == ES_OK && status >= 200 && status < 500 && status != 401 && status != 408 &&
        status != 429) {
        rv = reply_signed(req, app, status, &ans);
    } else if (rv == ES_OK) {
        if ((rv = es_http_add_header(req, "Retry-After", "5")) == ES_OK)
            rv = es_http_reply_err(req, ES_ERR_UNAVAILABLE,
                                   status ? "the parent tier answered with an error: try later"
                                          : "the parent tier cannot be reached: try later");
        if (rv == ES_OK) rv = ES_ERR_UNAVAILABLE;
    } else if (field) {
        rv = es_http_reply_err_field(req, rv, field, why) == ES_OK ? rv : ES_ERR_INTERNAL;
    } else {
        rv = api_fail(req, rv, why);
    }
    es_buf_cleanup(&ans);
    return rv;
}

static es_err national_post(es_http_req *req, void *arg, national_fn fn)
{
    BEGIN(app, a);
    const api_user *su = national_caller(req, app, 1, &rv);
    if (!su) return rv;
    const char *ct = es_http_req_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0)
        REFUSE(es_http_reply_err(req, ES_ERR_MEDIA_TYPE, "the body is application/json"),
               ES_ERR_MEDIA_TYPE);
    if (forwards(app)) {
        const char *kind = fn == es_national_code_assign ? ES_UPSTREAM_CODE_ASSIGN
                           : fn == es_national_file      ? ES_UPSTREAM_SEAL_FILE
                                                         : ES_UPSTREAM_SEAL_STATUS;
        return forward_post(req, app, &a, su, kind);
    }
    es_actor by = api_actor(su);
    es_buf ans;
    es_buf_init(&ans, ES_UPSTREAM_MAX_ANSWER);
    char why[400] = "";
    const char *field = NULL;
    int created = 0;
    rv = fn(&a, &by, su->client.name, es_http_req_body(req), &ans, &created, &field, why,
            sizeof why);
    if (rv == ES_OK)
        rv = reply_signed(req, app, created ? 201 : 200, &ans);
    else if (field)
        rv = es_http_reply_err_field(req, rv, field, why) == ES_OK ? rv : ES_ERR_INTERNAL;
    else
        rv = api_fail(req, rv, why);
    es_buf_cleanup(&ans);
    return rv;
}

static es_err codes_post(es_http_req *req, void *arg)
{
    return national_post(req, arg, es_national_code_assign);
}

static es_err filings_post(es_http_req *req, void *arg)
{
    return national_post(req, arg, es_national_file);
}

static es_err status_post(es_http_req *req, void *arg)
{
    return national_post(req, arg, es_national_status);
}

static es_err seal_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if (!national_caller(req, app, 0, &rv)) return rv;
    es_buf out;
    es_buf_init(&out, 1u << 20);
    const char *code = es_http_req_param(req, "code");
    rv = es_national_seal_get(a.store, code ? code : "", &out);
    if (rv == ES_OK)
        rv = reply_signed(req, app, 200, &out);
    else
        rv = api_fail(req, rv,
                      rv == ES_ERR_NOT_FOUND ? "the simulator assigned no such code" : NULL);
    es_buf_cleanup(&out);
    return rv;
}

es_err es_api_upstream_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"POST", ES_NATIONAL_CODES, codes_post, 0, BODY_CODES},
        {"POST", ES_NATIONAL_FILINGS, filings_post, 0, BODY_FILINGS},
        {"POST", ES_NATIONAL_STATUS, status_post, 0, BODY_STATUS},
        {"GET", ES_NATIONAL_SEALS "/{code}", seal_get, 0, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
