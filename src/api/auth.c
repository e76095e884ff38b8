/* The API's authentication hook (docs/esealsd.md, docs/api-clients.md): a session token from
 * the "eseal_session" cookie or "Authorization: Bearer TOKEN", or a business system's
 * SM2-signed request. An account that must change its password may only change it, read or end
 * its session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"

static const char *token_of(es_http_req *req, int *from_cookie)
{
    const char *c = es_http_req_cookie(req, API_COOKIE);
    *from_cookie = 0;
    if (c && *c) {
        *from_cookie = 1;
        return c;
    }
    const char *h = es_http_req_header(req, "Authorization");
    if (h && strncmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ') h++;
        return *h ? h : NULL;
    }
    return NULL;
}

/* What an account that must change its password may still do. */
static int allowed_before_change(es_http_req *req)
{
    static const api_route_name ok[] = {
        {"POST", "/api/v1/users/me/password"},
        {"GET", "/api/v1/sessions/current"},
        {"DELETE", "/api/v1/sessions/current"},
        {"POST", "/api/v1/sessions"},
    };
    return api_route_in(req, ok, sizeof ok / sizeof ok[0]);
}

/* ---- CSRF (hardening 13, item 7; docs/esealsd.md): a browser sends the session cookie with
 * any request to this site, whichever site's page makes it, but it also says which site that
 * is (Origin; Referer when it sends no Origin), and a page cannot forge either. */

/* "scheme://host:port" of a URL or an origin, the scheme and host in lower case, the port
 * explicit (80, 443 by default); 0 when it is not an http(s) URL. */
static int origin_of(const char *url, char *out, size_t outlen)
{
    char host[256];
    size_t n = 0;
    const char *p, *scheme;
    unsigned port;
    if (!url) return 0;
    if (strncasecmp(url, "http://", 7) == 0) {
        scheme = "http";
        port = 80;
        p = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        scheme = "https";
        port = 443;
        p = url + 8;
    } else {
        return 0;
    }
    int bracket = *p == '[';
    while (*p && *p != '/' && *p != '?' && *p != '#' && (bracket || *p != ':')) {
        if (n + 1 >= sizeof host || *p == '@') return 0;
        char c = *p++;
        host[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        if (c == ']') bracket = 0;
    }
    host[n] = 0;
    if (n == 0) return 0;
    if (*p == ':') {
        char *end = NULL;
        unsigned long v = strtoul(p + 1, &end, 10);
        if (end == p + 1 || v == 0 || v > 65535 ||
            (*end && *end != '/' && *end != '?' && *end != '#'))
            return 0;
        port = (unsigned)v;
    }
    int w = snprintf(out, outlen, "%s://%s:%u", scheme, host, port);
    return w > 0 && (size_t)w < outlen;
}

/* 1 when origin (already canonical) is this daemon's: its public URL, or the host the request
 * was sent to (Host), over http or https (a proxy in front may end TLS). */
static int own_origin(es_http_req *req, const es_api_ctx *app, const char *origin)
{
    char mine[300], url[300];
    const char *host = es_http_req_header(req, "Host");
    if (origin_of(app->public_url, mine, sizeof mine) && strcmp(mine, origin) == 0) return 1;
    if (origin_of(app->cfg.public_url, mine, sizeof mine) && strcmp(mine, origin) == 0) return 1;
    for (int tls = 0; host && *host && tls < 2; tls++) {
        snprintf(url, sizeof url, "%s://%.250s/", tls ? "https" : "http", host);
        if (origin_of(url, mine, sizeof mine) && strcmp(mine, origin) == 0) return 1;
    }
    return 0;
}

static int changes_state(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

/* A state-changing request: an Origin (or, without one, a Referer) naming another site is
 * refused, whoever sends it; a cookie-authenticated one must name this site. */
static es_err csrf_check(es_http_req *req, const es_api_ctx *app, int cookie)
{
    char o[300];
    const char *origin = es_http_req_header(req, "Origin");
    const char *referer = es_http_req_header(req, "Referer");
    const char *said = origin && *origin ? origin : referer && *referer ? referer : NULL;
    if (!changes_state(es_http_req_method(req))) return ES_OK;
    if (!said && !cookie) return ES_OK;
    if (said && origin_of(said, o, sizeof o) && own_origin(req, app, o)) return ES_OK;
    REFUSE(es_http_reply_err(req, ES_ERR_ORIGIN,
                             said ? "the request comes from another site's page"
                                  : "a change made with the session cookie must say where it "
                                    "comes from (Origin or Referer)"),
           ES_ERR_ORIGIN);
}

/* A business system's signed request (docs/api-clients.md). */
static es_err authenticate_client(es_http_req *req, es_api_ctx *app, const char *header)
{
    es_accounts a;
    es_client c;
    const char *why = NULL;
    es_err rv = api_accounts(app, &a);
    if (rv != ES_OK) return rv;
    rv = es_client_authenticate(&a, header, es_http_req_method(req), es_http_req_target(req),
                                es_http_req_body(req), es_time_now(), app->cfg.clock_skew_seconds,
                                app->refusal_audit, &c, &why);
    if (rv == ES_ERR_AUTH) {
        es_api_log(app, ES_LOG_WARN, "signed request refused (%s %s from %s): %s",
                   es_http_req_method(req), es_http_req_path(req), es_http_req_client(req),
                   why ? why : "?");
        REFUSE(es_http_reply_err(req, ES_ERR_AUTH, why ? why : "refused"), ES_ERR_AUTH);
    }
    if (rv != ES_OK) return rv;
    api_user *su = calloc(1, sizeof *su);
    if (!su) return ES_ERR_NOMEM;
    su->is_client = 1;
    su->client = c;
    snprintf(su->u.name, sizeof su->u.name, "%s", c.name);
    su->u.roles = c.roles;
    snprintf(su->actor, sizeof su->actor, "client:%s", c.name);
    es_http_req_set_user(req, su, api_user_free);
    return ES_OK;
}

/* Before the body (issue 13, item 1): a signed request is signed over its body, so only the
 * shape of its credentials can be checked first: a header that parses, naming a registered
 * client that is neither revoked nor disabled. Anything else is refused now, by the full check
 * (which then refuses it exactly as it would with the body, audit and message alike, without
 * the body ever being read); the rest is decided once the body is in. */
static es_err precheck_client(es_http_req *req, es_api_ctx *app, const char *header)
{
    es_client_auth parsed;
    es_client c;
    es_accounts a;
    const char *why = NULL;
    es_actor sys = {"system", 0, 0, 1};
    es_err rv = es_client_auth_parse(header, &parsed, &why);
    if (rv == ES_OK) {
        if ((rv = api_accounts(app, &a)) != ES_OK) return rv;
        rv = es_client_get(&a, &sys, parsed.client, &c, NULL);
        if (rv == ES_OK && !c.revoked && !c.disabled) {
            es_http_req_defer_auth(req);
            return ES_OK;
        }
        if (rv != ES_OK && rv != ES_ERR_NOT_FOUND) return rv;
    }
    return authenticate_client(req, app, header);
}

es_err api_authenticate(es_http_req *req, void *arg)
{
    es_api_ctx *app = arg;
    int cookie = 0;
    const char *tok = NULL;
    es_accounts a;
    es_user u;
    es_err rv;
    const char *h = es_http_req_header(req, "Authorization");
    /* Business systems sign each request and are not browsers: no Origin to check. */
    if (h && es_client_auth_is_signed(h)) {
        if (es_http_req_is_public(req)) return ES_OK;
        return es_http_req_body_ready(req) ? authenticate_client(req, app, h)
                                           : precheck_client(req, app, h);
    }
    tok = token_of(req, &cookie);
    /* Before the session is even looked up: a forged change costs nothing (sign-in included,
     * which is public: another site cannot sign a browser in either). */
    if ((rv = csrf_check(req, app, cookie)) != ES_OK) return rv;
    if (es_http_req_is_public(req)) return ES_OK;
    if (!tok) REFUSE(es_http_reply_err(req, ES_ERR_AUTH, "sign in first"), ES_ERR_AUTH);
    if ((rv = api_accounts(app, &a)) != ES_OK) return rv;
    rv = es_acct_session(&a, tok, &u);
    if (rv == ES_ERR_AUTH || rv == ES_ERR_NOT_FOUND) {
        if (cookie && (rv = es_http_set_cookie(req, API_COOKIE, "", 0)) != ES_OK) return rv;
        REFUSE(es_http_reply_err(req, ES_ERR_AUTH,
                                 "the session is unknown or has ended: sign in again"),
               ES_ERR_AUTH);
    }
    if (rv != ES_OK) return rv;
    api_user *su = calloc(1, sizeof *su);
    if (!su) return ES_ERR_NOMEM;
    su->u = u;
    snprintf(su->token, sizeof su->token, "%.64s", tok);
    snprintf(su->actor, sizeof su->actor, "%s", u.name);
    es_http_req_set_user(req, su, api_user_free);
    if (u.must_change_password && !allowed_before_change(req)) {
        REFUSE(es_http_reply_err(req, ES_ERR_MUST_CHANGE, "POST /api/v1/users/me/password"),
               ES_ERR_MUST_CHANGE);
    }
    /* A second factor required and none enrolled: the session may only enrol one (issue 13,
     * item 10; api_factor_gate in factors.c). */
    return api_factor_gate(req, &a, &su->u);
}
