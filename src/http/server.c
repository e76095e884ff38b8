/* http: the server over libmicrohttpd: configuration, lifecycle, the request's way through
 * (headers, body, authentication, routing, reply), the platform endpoints.
 *
 * libmicrohttpd calls, per request: the URI log callback once the request line is in (our
 * context is made there, with the raw, still percent-encoded target); the access handler once
 * the headers are in, once per piece of body, and once at the end; the completion callback
 * when the request is over, however it ended. Only the last access call runs the application,
 * so a request cut short (fewer bytes than Content-Length, a stalled client) never reaches a
 * handler. A body announced larger than the limit is refused with 413 at the first call,
 * before any of it is read (libmicrohttpd then closes the connection).
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "http/internal.h"

#define DEFAULT_THREADS     4
#define DEFAULT_CONNECTIONS 256
#define DEFAULT_TIMEOUT     30
/* docs/http.md, "Limits". */
#define DEFAULT_PER_ADDRESS     64
#define DEFAULT_HEAD_TIMEOUT    10
#define DEFAULT_REQUEST_TIMEOUT 60
#define DEFAULT_BODY_BUDGET     ((size_t)64 << 20)
#define DEFAULT_LOG_RATE        20
#define DEFAULT_LOG_ERROR_RATE  50
#define DEFAULT_LOG_INTERVAL    60
/* How often the reaper looks for requests past their deadline (ms). */
#define REAPER_MS 200
/* Passes of the reaper that must see a request past its deadline with nothing unread before it
 * is dropped (docs/http.md "Limits": up to (OVERDUE_PASSES - 1) x REAPER_MS after the deadline). */
#define OVERDUE_PASSES 3
/* Seconds a client refused for the body budget is told to wait. */
#define BUDGET_RETRY "5"
/* A metrics token shorter than this is refused (es_http_new: ES_ERR_CONFIG). */
#define METRICS_TOKEN_MIN 16
/* Query parameters of one request: more is a malformed query. */
#define HTTP_MAX_QUERY 64
/* Request line and headers of one request (libmicrohttpd's per-connection memory pool). Not
 * above 32 KiB: a larger pool is mmap'd and munmap'd for every connection (libmicrohttpd
 * 0.9.75), whose page faults and TLB shootdowns cost more than a signature per request. */
#define HEADER_MEMORY (32u * 1024)

/* docs/http.md, "Security headers". The console needs nothing from elsewhere: no CDN, no
 * inline script or style, no frames. */
static const char *const security_headers[][2] = {
    {"Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
     "frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

static const char fallback_body[] = "{\"error\":\"internal\",\"message\":\"internal error\"}\n";

/* Ignores a reply helper's result where the only fallback is the one queue() takes anyway
 * (no reply made: a 500). */
static void try_reply(es_err rv)
{
    (void)rv;
}

/* ---- Configuration. */

void es_http_config_init(es_http_config *c)
{
    memset(c, 0, sizeof *c);
    c->listen = ES_HTTP_LISTEN;
    c->threads = DEFAULT_THREADS;
    c->max_connections = DEFAULT_CONNECTIONS;
    c->timeout = DEFAULT_TIMEOUT;
    c->max_body = ES_MAX_HTTP_BODY;
    c->max_per_address = DEFAULT_PER_ADDRESS;
    c->head_timeout = DEFAULT_HEAD_TIMEOUT;
    c->request_timeout = DEFAULT_REQUEST_TIMEOUT;
    c->body_budget = DEFAULT_BODY_BUDGET;
    c->log_rate = DEFAULT_LOG_RATE;
    c->log_error_rate = DEFAULT_LOG_ERROR_RATE;
    c->log_interval = DEFAULT_LOG_INTERVAL;
    c->metrics = ES_HTTP_METRICS_LOCAL;
}

/* "ADDR:PORT" (IPv4 or "localhost"), "[ADDR]:PORT" (IPv6). */
static es_err parse_listen(const char *s, es_http *h)
{
    char host[64];
    const char *colon, *port;
    if (!s) return ES_ERR_CONFIG;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host) return ES_ERR_CONFIG;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        port = end + 2;
        h->ipv6 = 1;
    } else {
        if (!(colon = strrchr(s, ':')) || (size_t)(colon - s) >= sizeof host) return ES_ERR_CONFIG;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
        h->ipv6 = 0;
    }
    unsigned long p = 0;
    size_t i;
    for (i = 0; port[i] >= '0' && port[i] <= '9' && i < 6; i++)
        p = p * 10 + (unsigned)(port[i] - '0');
    if (i == 0 || port[i] != '\0' || p > 65535) return ES_ERR_CONFIG;

    memset(&h->addr, 0, sizeof h->addr);
    if (h->ipv6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&h->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return ES_ERR_CONFIG;
        h->addr_len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&h->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
        if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return ES_ERR_CONFIG;
        h->addr_len = sizeof *a;
    }
    return ES_OK;
}

/* ---- Platform endpoints. */

static es_err h_healthz(es_http_req *r, void *arg)
{
    es_http *h = arg;
    if (h->health && h->health(h->health_arg) != ES_OK)
        return es_http_reply_err(r, ES_ERR_UNAVAILABLE, NULL);
    json_t *o = json_pack("{s:s}", "status", "ok");
    if (!o) return ES_ERR_NOMEM;
    if (h->n_health_warnings) {
        json_t *w = json_array();
        for (size_t i = 0; w && i < h->n_health_warnings; i++)
            json_array_append_new(w, json_string(h->health_warnings[i]));
        json_object_set_new(o, "warnings", w);
    }
    return es_http_reply_json_new(r, 200, o);
}

/* Equal strings, in a time that does not depend on where they differ. */
static int same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la; i++) d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

/* A loopback peer: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104. */
int http_client_is_local(const char *client)
{
    return strncmp(client, "127.", 4) == 0 || strcmp(client, "::1") == 0 ||
           strncmp(client, "::ffff:127.", 11) == 0;
}

static es_err h_metrics(es_http_req *r, void *arg)
{
    es_http *h = arg;
    es_err rv;
    es_buf b;
    /* docs/http.md, "Metrics": per-route failure counts are for the operators, not for anyone
     * who can reach the port. */
    if (h->cfg.metrics == ES_HTTP_METRICS_OFF)
        return es_http_reply_err(r, ES_ERR_NOT_FOUND, "no such resource");
    if (h->cfg.metrics == ES_HTTP_METRICS_TOKEN) {
        const char *a = es_http_req_header(r, "Authorization");
        if (!a || strncmp(a, "Bearer ", 7) != 0 || !same_secret(a + 7, h->metrics_token))
            return es_http_reply_err(r, ES_ERR_AUTH, "the metrics token is required");
    } else if (!http_client_is_local(r->client)) {
        return es_http_reply_err(r, ES_ERR_DENIED, "metrics are served to local addresses only");
    }
    es_buf_init(&b, 64u << 20);
    if ((rv = es_http_metrics_text(arg, &b)) == ES_OK)
        rv = es_http_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    es_buf_cleanup(&b);
    return rv;
}

static es_err h_openapi(es_http_req *r, void *arg)
{
    es_err rv;
    (void)arg;
    if ((rv = http_reply_start(r, 200, "application/json")) != ES_OK) return rv;
    r->out_static = es_http_openapi_json;
    r->out_static_len = es_http_openapi_json_len;
    return ES_OK;
}

/* ---- Lifecycle. */

es_err es_http_new(const es_http_config *cfg, es_http **out)
{
    es_err rv;
    es_http *h;

    *out = NULL;
    if (!cfg) return ES_ERR_ARG;
    if (!(h = calloc(1, sizeof *h))) return ES_ERR_NOMEM;
    h->cfg = *cfg;
    if (!h->cfg.threads) h->cfg.threads = DEFAULT_THREADS;
    if (!h->cfg.max_connections) h->cfg.max_connections = DEFAULT_CONNECTIONS;
    if (!h->cfg.timeout) h->cfg.timeout = DEFAULT_TIMEOUT;
    if (!h->cfg.max_body) h->cfg.max_body = ES_MAX_HTTP_BODY;
    if (!h->cfg.max_per_address) h->cfg.max_per_address = DEFAULT_PER_ADDRESS;
    if (!h->cfg.head_timeout) h->cfg.head_timeout = DEFAULT_HEAD_TIMEOUT;
    if (!h->cfg.request_timeout) h->cfg.request_timeout = DEFAULT_REQUEST_TIMEOUT;
    if (!h->cfg.body_budget) h->cfg.body_budget = DEFAULT_BODY_BUDGET;
    if (!h->cfg.body_per_address) h->cfg.body_per_address = h->cfg.body_budget / 4;
    if (h->cfg.body_per_address > h->cfg.body_budget) h->cfg.body_per_address = h->cfg.body_budget;
    if (!h->cfg.log_rate) h->cfg.log_rate = DEFAULT_LOG_RATE;
    if (!h->cfg.log_error_rate) h->cfg.log_error_rate = DEFAULT_LOG_ERROR_RATE;
    if (!h->cfg.log_interval) h->cfg.log_interval = DEFAULT_LOG_INTERVAL;
    h->cfg.metrics_token = NULL;
    if (cfg->metrics == ES_HTTP_METRICS_TOKEN) {
        if (!cfg->metrics_token || strlen(cfg->metrics_token) < METRICS_TOKEN_MIN) {
            rv = ES_ERR_CONFIG;
            goto out;
        }
        if (!(h->metrics_token = strdup(cfg->metrics_token))) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
    } else if (cfg->metrics != ES_HTTP_METRICS_LOCAL && cfg->metrics != ES_HTTP_METRICS_OFF) {
        rv = ES_ERR_CONFIG;
        goto out;
    }
    if (pthread_mutex_init(&h->conn_lock, NULL) != 0) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    if (pthread_mutex_init(&h->log_lock, NULL) != 0) {
        pthread_mutex_destroy(&h->conn_lock);
        rv = ES_ERR_NOMEM;
        goto out;
    }
    if (pthread_cond_init(&h->reaper_cv, NULL) != 0) {
        pthread_mutex_destroy(&h->log_lock);
        pthread_mutex_destroy(&h->conn_lock);
        rv = ES_ERR_NOMEM;
        goto out;
    }
    h->locks_ready = 1;
    if ((rv = parse_listen(cfg->listen, h)) != ES_OK) goto out;
    if (!(h->listen = strdup(cfg->listen))) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    h->cfg.listen = h->listen;
    h->cfg.static_dir = NULL;
    if (cfg->static_dir && !cfg->no_static) {
        /* Resolved once: every file served must resolve to a path below this one. */
        if (!(h->static_dir = realpath(cfg->static_dir, NULL))) {
            rv = ES_ERR_CONFIG;
            goto out;
        }
        h->cfg.static_dir = h->static_dir;
    }
    if ((rv = es_http_route(h, "GET", "/healthz", h_healthz, h, ES_HTTP_PUBLIC)) != ES_OK ||
        (rv = es_http_route(h, "GET", "/metrics", h_metrics, h, ES_HTTP_PUBLIC)) != ES_OK ||
        (rv = es_http_route(h, "GET", "/api/v1/openapi.json", h_openapi, h, ES_HTTP_PUBLIC)) !=
            ES_OK)
        goto out;
    *out = h;
    return ES_OK;
out:
    es_http_free(h);
    return rv;
}

void es_http_free(es_http *h)
{
    if (!h) return;
    es_http_stop(h, 0);
    http_router_cleanup(&h->router);
    if (h->metrics_ready) http_metrics_cleanup(&h->metrics);
    free(h->listen);
    free(h->static_dir);
    free(h->metrics_token);
    free(h->addrs);
    if (h->locks_ready) {
        pthread_cond_destroy(&h->reaper_cv);
        pthread_mutex_destroy(&h->log_lock);
        pthread_mutex_destroy(&h->conn_lock);
    }
    free(h);
}

es_err es_http_route(es_http *h, const char *method, const char *pattern, es_http_handler fn,
                     void *arg, unsigned flags)
{
    if (!h || h->d) return ES_ERR_ARG;
    return http_router_add(&h->router, method, pattern, fn, arg, flags);
}

es_err es_http_route_body_limit(es_http *h, const char *method, const char *pattern, size_t max)
{
    if (!h || h->d || !method || !pattern) return ES_ERR_ARG;
    int m = http_method_index(method);
    for (size_t i = 0; i < h->router.n; i++) {
        http_route *r = &h->router.routes[i];
        if (r->method == m && strcmp(r->pattern, pattern) == 0) {
            r->max_body = max;
            return ES_OK;
        }
    }
    return ES_ERR_NOT_FOUND;
}

void es_http_set_auth(es_http *h, es_http_auth_fn fn, void *arg)
{
    h->auth = fn;
    h->auth_arg = arg;
}

void es_http_set_health_warnings(es_http *h, const char *const *warnings, size_t n)
{
    h->health_warnings = warnings;
    h->n_health_warnings = warnings ? n : 0;
}

void es_http_set_health(es_http *h, es_http_health_fn fn, void *arg)
{
    h->health = fn;
    h->health_arg = arg;
}

es_err es_http_metrics_text(es_http *h, es_buf *out)
{
    es_err rv;
    if (!h->metrics_ready) return ES_OK;
    if ((rv = http_metrics_print(&h->metrics, &h->router, out)) != ES_OK) return rv;
    pthread_mutex_lock(&h->conn_lock);
    size_t active = h->active, held = h->body_held;
    uint64_t by_limit = h->dropped_limit, by_deadline = h->dropped_deadline,
             by_budget = h->refused_budget;
    pthread_mutex_unlock(&h->conn_lock);
    return es_buf_printf(
        out,
        "# HELP eseal_http_connections Open connections counted against the limits.\n"
        "# TYPE eseal_http_connections gauge\n"
        "eseal_http_connections %zu\n"
        "# HELP eseal_http_connections_dropped_total Connections the server closed: over the "
        "per-address or total limit, or past the request deadline.\n"
        "# TYPE eseal_http_connections_dropped_total counter\n"
        "eseal_http_connections_dropped_total{reason=\"limit\"} %llu\n"
        "eseal_http_connections_dropped_total{reason=\"deadline\"} %llu\n"
        "# HELP eseal_http_body_bytes Bytes reserved for request bodies in memory.\n"
        "# TYPE eseal_http_body_bytes gauge\n"
        "eseal_http_body_bytes %zu\n"
        "# HELP eseal_http_body_budget_refused_total Requests answered 503 because the bodies "
        "in memory would pass the budget.\n"
        "# TYPE eseal_http_body_budget_refused_total counter\n"
        "eseal_http_body_budget_refused_total %llu\n",
        active, (unsigned long long)by_limit, (unsigned long long)by_deadline, held,
        (unsigned long long)by_budget);
}

void es_http_req_defer_auth(es_http_req *r)
{
    if (r && !r->body_ready) r->auth_deferred = 1;
}

int es_http_req_body_ready(const es_http_req *r)
{
    return r && r->body_ready;
}

unsigned es_http_port(const es_http *h)
{
    return h && h->d ? h->port : 0;
}

es_err es_http_routes_foreach(const es_http *h, es_http_route_cb fn, void *ctx)
{
    if (!h || !fn) return ES_ERR_ARG;
    for (size_t i = 0; i < h->router.n; i++) {
        const http_route *r = &h->router.routes[i];
        es_err rv = fn(ctx, http_method_name(r->method), r->pattern, r->flags);
        if (rv != ES_OK) return rv;
    }
    return ES_OK;
}

/* ---- Limits (docs/http.md, "Limits"): connections per address and in all, the deadline of
 * a request, the memory of the bodies, the access log's rate. */

static double since(const struct timespec *t0, const struct timespec *now)
{
    return (double)(now->tv_sec - t0->tv_sec) + (double)(now->tv_nsec - t0->tv_nsec) / 1e9;
}

/* The address key of a peer: IPv4 as ::ffff:a.b.c.d, IPv6 its /64 (one subscriber's prefix:
 * counting single IPv6 addresses would let one host open a connection per address). */
static void addr_key(const struct sockaddr *sa, unsigned char key[16])
{
    memset(key, 0, 16);
    if (!sa) return;
    if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(key, a, memcmp(a, mapped, 12) == 0 ? 16 : 8);
    }
}

/* Under conn_lock. */
static http_addr *addr_find(es_http *h, const unsigned char key[16])
{
    for (size_t i = 0; i < h->naddrs; i++)
        if (memcmp(h->addrs[i].key, key, 16) == 0) return &h->addrs[i];
    return NULL;
}

/* Under conn_lock: hc stops counting (its socket is shut down by the caller, or closed). */
static void uncount(es_http *h, http_conn *hc)
{
    http_addr *a = addr_find(h, hc->key);
    if (a && --a->count == 0 && a->held == 0) *a = h->addrs[--h->naddrs];
    h->active--;
    hc->dropped = 1;
}

/* Under conn_lock: ends a connection we no longer serve. libmicrohttpd sees the end of the
 * stream at its next poll and closes it (then on_connection removes it from our list, before
 * the descriptor is closed: the lock makes sure we never shut down a reused descriptor). */
static void drop(es_http *h, http_conn *hc, uint64_t *why)
{
    if (!hc->dropped) uncount(h, hc);
    shutdown(hc->fd, SHUT_RDWR);
    (*why)++;
}

/* Under conn_lock: admits a new connection, or drops it. Each address may hold
 * max_per_address connections. At max_connections a new connection from an address holding
 * fewer than the busiest one takes the place of that address's oldest request not yet
 * answered: an address flooding the server cannot keep others out. */
static void admit(es_http *h, http_conn *hc)
{
    http_addr *a = addr_find(h, hc->key);
    unsigned have = a ? a->count : 0;
    hc->dropped = 1;
    if (have >= h->cfg.max_per_address) goto refuse;
    if (h->active >= h->cfg.max_connections) {
        http_addr *busiest = NULL;
        for (size_t i = 0; i < h->naddrs; i++)
            if (!busiest || h->addrs[i].count > busiest->count) busiest = &h->addrs[i];
        if (!busiest || busiest->count <= have + 1) goto refuse;
        http_conn *victim = NULL;
        for (http_conn *c = h->conns; c && !victim; c = c->next)
            if (!c->dropped && c->phase != CONN_REPLY && memcmp(c->key, busiest->key, 16) == 0)
                victim = c;
        if (!victim) goto refuse;
        drop(h, victim, &h->dropped_limit);
        a = addr_find(h, hc->key); /* the table may have moved an entry */
    }
    if (!a) {
        if (h->naddrs == h->addrs_cap) goto refuse;
        a = &h->addrs[h->naddrs++];
        memcpy(a->key, hc->key, 16);
        a->count = 0;
        a->held = 0;
    }
    a->count++;
    h->active++;
    hc->dropped = 0;
    return;
refuse:
    shutdown(hc->fd, SHUT_RDWR);
    h->dropped_limit++;
}

static void conn_phase(es_http *h, http_conn *hc, int phase)
{
    if (!hc) return;
    pthread_mutex_lock(&h->conn_lock);
    hc->phase = phase;
    hc->overdue = 0;
    if (phase != CONN_REPLY) clock_gettime(CLOCK_MONOTONIC, &hc->t_req);
    pthread_mutex_unlock(&h->conn_lock);
}

/* Takes n bytes of the body budget for r. */
/* Takes n bytes of the body budget for r: of the whole, and of its address's share (so that
 * one address cannot take the budget from all others). */
static int budget_take(es_http *h, es_http_req *r, size_t n)
{
    int ok;
    pthread_mutex_lock(&h->conn_lock);
    http_addr *a = r->has_key ? addr_find(h, r->key) : NULL;
    /* No entry: the connection was dropped (it is being closed); nothing more for it. */
    ok = r->has_key && a && n <= h->cfg.body_budget - h->body_held &&
         n <= h->cfg.body_per_address -
                  (a->held < h->cfg.body_per_address ? a->held : h->cfg.body_per_address);
    if (ok) {
        h->body_held += n;
        a->held += n;
        r->reserved += n;
    }
    pthread_mutex_unlock(&h->conn_lock);
    return ok;
}

static void budget_give(es_http *h, es_http_req *r)
{
    if (!r->reserved) return;
    pthread_mutex_lock(&h->conn_lock);
    h->body_held -= r->reserved;
    http_addr *a = addr_find(h, r->key);
    if (a) {
        a->held -= r->reserved < a->held ? r->reserved : a->held;
        if (a->count == 0 && a->held == 0) *a = h->addrs[--h->naddrs];
    }
    r->reserved = 0;
    pthread_mutex_unlock(&h->conn_lock);
}

/* 1 when the access line of a request that ended with status may be written now. Two token
 * buckets (lines a second, a second's worth at once): answers below 400, and the rest (errors,
 * refusals, no answer), so that a flood of one kind does not silence the other. */
static int log_take(es_http *h, unsigned status)
{
    struct timespec now;
    int err = status == 0 || status >= 400;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&h->log_lock);
    double dt = since(&h->log_t, &now);
    h->log_t = now;
    if (dt > 0) {
        h->log_ok.tokens += dt * h->cfg.log_rate;
        if (h->log_ok.tokens > h->cfg.log_rate) h->log_ok.tokens = h->cfg.log_rate;
        h->log_err.tokens += dt * h->cfg.log_error_rate;
        if (h->log_err.tokens > h->cfg.log_error_rate) h->log_err.tokens = h->cfg.log_error_rate;
    }
    http_logbucket *b = err ? &h->log_err : &h->log_ok;
    int ok = b->tokens >= 1;
    if (ok)
        b->tokens -= 1;
    else
        b->suppressed++;
    pthread_mutex_unlock(&h->log_lock);
    return ok;
}

/* Every log_interval seconds: one message for the lines the limit kept out of the log. */
static void log_summary(es_http *h, int force)
{
    struct timespec now;
    char msg[200];
    uint64_t ok = 0, err = 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&h->log_lock);
    double dt = since(&h->log_summary_t, &now);
    if (force || dt >= h->cfg.log_interval) {
        ok = h->log_ok.suppressed;
        err = h->log_err.suppressed;
        h->log_ok.suppressed = h->log_err.suppressed = 0;
        h->log_summary_t = now;
    }
    pthread_mutex_unlock(&h->log_lock);
    if (!(ok + err) || !h->cfg.msg) return;
    snprintf(msg, sizeof msg,
             "access log: %llu requests not logged in the last %.0f s (%llu answered below 400, "
             "%llu errors or refusals; [log] access_rate, access_error_rate)",
             (unsigned long long)(ok + err), dt, (unsigned long long)ok, (unsigned long long)err);
    h->cfg.msg(h->cfg.msg_arg, msg);
}

/* The reaper: ends requests past their deadline (head_timeout for the request line and
 * headers, request_timeout for the body after them; neither restarts when a byte arrives, unlike
 * libmicrohttpd's idle timeout), and writes the log summary. A request that is all in (its
 * handler running, its answer being sent) is left alone: the wait is the server's, and
 * libmicrohttpd's idle timeout bounds a reader that stalls. */
static void *reaper(void *arg)
{
    es_http *h = arg;
    pthread_mutex_lock(&h->conn_lock);
    while (!h->reaper_stop) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (http_conn *c = h->conns; c; c = c->next) {
            if (c->dropped || c->phase == CONN_REPLY) continue;
            double limit = c->phase == CONN_HEAD ? h->cfg.head_timeout : h->cfg.request_timeout;
            if (since(&c->t_req, &now) < limit) continue;
            /* Bytes the client sent that we have not read yet: the wait is ours (every worker
             * busy with handlers), not the client's; its deadline counts once we read again. */
            int unread = 0;
            if (ioctl(c->fd, FIONREAD, &unread) == 0 && unread > 0) {
                c->overdue = 0;
                continue;
            }
            /* Nothing unread: the client's wait, or a request libmicrohttpd has just read and
             * is about to parse (its phase moves then: conn_phase clears the count). Seen so
             * at OVERDUE_PASSES passes in a row: the client's. */
            if (++c->overdue < OVERDUE_PASSES) continue;
            drop(h, c, &h->dropped_deadline);
        }
        pthread_mutex_unlock(&h->conn_lock);
        log_summary(h, 0);
        pthread_mutex_lock(&h->conn_lock);
        if (h->reaper_stop) break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += REAPER_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->reaper_cv, &h->conn_lock, &until);
    }
    pthread_mutex_unlock(&h->conn_lock);
    return NULL;
}

/* ---- Requests. */

static double elapsed(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void req_free(es_http_req *r)
{
    for (size_t i = 0; i < r->nsegs; i++) free(r->segs[i]);
    free(r->segs);
    for (size_t i = 0; i < r->nquery; i++) {
        free(r->query[i].name);
        free(r->query[i].value);
    }
    free(r->query);
    free(r->params);
    for (size_t i = 0; i < r->nhdrs; i++) {
        free(r->hdrs[i].name);
        free(r->hdrs[i].value);
    }
    free(r->hdrs);
    es_http_req_set_user(r, NULL, NULL);
    http_reply_reset(r);
    es_buf_cleanup(&r->body);
    free(r->method);
    free(r->path);
    free(r->uri);
    free(r);
}

/* Splits the raw target into the path (kept raw), its decoded segments, and the decoded query
 * parameters. Anything malformed sets bad_path / bad_query (the request gets a 400). */
static es_err parse_target(es_http_req *r)
{
    const char *q = strchr(r->uri, '?');
    size_t plen = q ? (size_t)(q - r->uri) : strlen(r->uri);
    int bad;

    if (!(r->path = strndup(r->uri, plen))) return ES_ERR_NOMEM;
    /* origin-form only (RFC 9112 3.2.1): "*" and absolute URIs are not for this server. */
    if (r->path[0] != '/') {
        r->bad_path = 1;
        return ES_OK;
    }
    if (plen > 1) {
        size_t n = 0;
        for (size_t i = 0; i < plen; i++) n += r->path[i] == '/';
        if (!(r->segs = calloc(n, sizeof *r->segs))) return ES_ERR_NOMEM;
        const char *p = r->path + 1;
        for (size_t k = 0; k < n; k++) {
            const char *e = strchr(p, '/');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (!(r->segs[k] = http_pct_decode(p, len, 0, &bad))) {
                if (bad) {
                    r->bad_path = 1;
                    return ES_OK;
                }
                return ES_ERR_NOMEM;
            }
            r->nsegs = k + 1;
            p += len + 1;
        }
    }
    if (!q) return ES_OK;
    for (const char *p = q + 1; *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            if (r->nquery == HTTP_MAX_QUERY) {
                r->bad_query = 1;
                return ES_OK;
            }
            const char *eq = memchr(p, '=', len);
            size_t nlen = eq ? (size_t)(eq - p) : len;
            http_kv *nq = realloc(r->query, (r->nquery + 1) * sizeof *nq);
            if (!nq) return ES_ERR_NOMEM;
            r->query = nq;
            char *name = http_pct_decode(p, nlen, 1, &bad);
            char *value =
                name ? http_pct_decode(eq ? eq + 1 : p + len, eq ? len - nlen - 1 : 0, 1, &bad)
                     : NULL;
            if (!name || !value) {
                free(name);
                if (bad) {
                    r->bad_query = 1;
                    return ES_OK;
                }
                return ES_ERR_NOMEM;
            }
            r->query[r->nquery].name = name;
            r->query[r->nquery].value = value;
            r->nquery++;
        }
        p += len + (amp ? 1 : 0);
    }
    return ES_OK;
}

static void finish(es_http *h, es_http_req *r);

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    es_http *h = cls;
    if (h->cfg.request_line_hook) h->cfg.request_line_hook(h->cfg.request_line_arg);
    es_http_req *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->h = h;
    r->conn = c;
    r->out_fd = -1;
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    es_buf_init(&r->body, h->cfg.max_body);
    es_buf_init(&r->out, SIZE_MAX);
    strcpy(r->client, "-");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->client,
                      sizeof r->client);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->client,
                      sizeof r->client);
    }
    const union MHD_ConnectionInfo *si =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (si && si->socket_context) {
        http_conn *hc = si->socket_context;
        if (hc->cur) finish(h, hc->cur); /* a request of this connection that never ended */
        hc->cur = r;
        r->conn_ctx = hc;
        memcpy(r->key, hc->key, sizeof r->key);
        r->has_key = 1;
    }
    http_metrics_begin(&h->metrics);
    /* A target we cannot keep is answered 400 like a malformed one (bad_path). */
    if (!(r->uri = strdup(uri ? uri : "")) || parse_target(r) != ES_OK) r->bad_path = 1;
    return r;
}

static size_t metrics_label(const es_http_req *r)
{
    const http_router *rt = &r->h->router;
    if (r->route) return (size_t)(r->route - rt->routes);
    return r->is_static ? rt->n : rt->n + 1;
}

/* The end of a request, however it ended: metrics, the log line, the memory. */
static void finish(es_http *h, es_http_req *r)
{
    double secs = elapsed(&r->t0);
    unsigned status = r->queued ? r->sent_status : 0;
    if (r->conn_ctx) r->conn_ctx->cur = NULL;
    budget_give(h, r);
    if (h->cfg.log && log_take(h, status)) {
        es_http_log_entry e = {
            .method = r->method ? r->method : "-",
            .path = r->path ? r->path : "-",
            .route = r->route       ? r->route->pattern
                     : r->is_static ? "static"
                                    : "unmatched",
            .client = r->client,
            .status = status,
            .body_len = r->body_len,
            .seconds = secs,
        };
        h->cfg.log(h->cfg.log_arg, &e);
    }
    /* Last: once in flight drops, es_http_stop may return and the caller free h. */
    http_metrics_end(&h->metrics, metrics_label(r), r->method ? r->method_idx : M_OTHER, status,
                     secs);
    req_free(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    es_http_req *r = *con_cls;
    (void)c;
    (void)toe;
    if (!r) return;
    *con_cls = NULL;
    /* The connection waits for its next request: a new head deadline. */
    conn_phase(cls, r->conn_ctx, CONN_HEAD);
    finish(cls, r);
}

/* Connections: a safety net. Should libmicrohttpd not report the end of a request (its
 * completion callback depends on the connection's state when it closes), the end of the
 * connection finishes what is left, so that no context leaks and the in-flight gauge stays
 * true. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    es_http *h = cls;
    http_conn *hc = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!(hc = calloc(1, sizeof *hc))) {
            /* Not counted, not timed: end it now rather than serve it unbounded. */
            if (fi) shutdown(fi->connect_fd, SHUT_RDWR);
            return;
        }
        hc->fd = fi ? fi->connect_fd : -1;
        addr_key(ai ? ai->client_addr : NULL, hc->key);
        clock_gettime(CLOCK_MONOTONIC, &hc->t_req);
        pthread_mutex_lock(&h->conn_lock);
        hc->prev = h->conns_tail;
        if (h->conns_tail)
            h->conns_tail->next = hc;
        else
            h->conns = hc;
        h->conns_tail = hc;
        if (hc->fd >= 0)
            admit(h, hc);
        else
            hc->dropped = 1;
        pthread_mutex_unlock(&h->conn_lock);
        *socket_context = hc;
        return;
    }
    if (!hc) return;
    pthread_mutex_lock(&h->conn_lock);
    if (!hc->dropped) uncount(h, hc);
    if (hc->prev)
        hc->prev->next = hc->next;
    else
        h->conns = hc->next;
    if (hc->next)
        hc->next->prev = hc->prev;
    else
        h->conns_tail = hc->prev;
    pthread_mutex_unlock(&h->conn_lock);
    if (hc->cur) finish(h, hc->cur);
    free(hc);
    *socket_context = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    es_http *h = cls;
    char msg[512];
    if (!h->cfg.msg) return;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    h->cfg.msg(h->cfg.msg_arg, msg);
}

static int add_headers(struct MHD_Response *resp, const es_http_req *r)
{
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        if (MHD_add_response_header(resp, security_headers[i][0], security_headers[i][1]) !=
            MHD_YES)
            return 0;
    if (!r) return MHD_add_response_header(resp, "Cache-Control", "no-store") == MHD_YES;
    if (MHD_add_response_header(resp, "Cache-Control",
                                r->cache_control[0] ? r->cache_control
                                : r->cache_console  ? "no-cache"
                                                    : "no-store") != MHD_YES)
        return 0;
    if (r->ctype && MHD_add_response_header(resp, "Content-Type", r->ctype) != MHD_YES) return 0;
    for (size_t i = 0; i < r->nhdrs; i++)
        if (MHD_add_response_header(resp, r->hdrs[i].name, r->hdrs[i].value) != MHD_YES) return 0;
    return 1;
}

static struct MHD_Response *build_response(es_http_req *r)
{
    struct MHD_Response *resp;
    if (r->out_fd >= 0) {
        resp = MHD_create_response_from_fd64(r->out_fd_len, r->out_fd);
        if (resp) r->out_fd = -1; /* the response closes it */
    } else if (r->out_static) {
        resp = MHD_create_response_from_buffer(r->out_static_len, (void *)r->out_static,
                                               MHD_RESPMEM_PERSISTENT);
    } else if (r->out.len) {
        resp = MHD_create_response_from_buffer(r->out.len, r->out.p, MHD_RESPMEM_MUST_FREE);
        if (resp) es_buf_init(&r->out, SIZE_MAX); /* the response frees it */
    } else {
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (resp && !add_headers(resp, r)) {
        MHD_destroy_response(resp);
        resp = NULL;
    }
    return resp;
}

static enum MHD_Result queue(es_http_req *r)
{
    struct MHD_Response *resp = NULL;
    unsigned status = 500;
    enum MHD_Result ok;

    if (r->replied && (resp = build_response(r))) status = r->status;
    if (!resp) {
        resp = MHD_create_response_from_buffer(sizeof fallback_body - 1, (void *)fallback_body,
                                               MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        if (!add_headers(resp, NULL) ||
            MHD_add_response_header(resp, "Content-Type", "application/json") != MHD_YES) {
            MHD_destroy_response(resp);
            return MHD_NO;
        }
    }
    ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        r->queued = 1;
        r->sent_status = status;
        conn_phase(r->h, r->conn_ctx, CONN_REPLY);
    }
    return ok;
}

/* Message framing (RFC 9112 6.3): one Content-Length, or Transfer-Encoding: chunked alone.
 * Two lengths, or a length with a transfer coding, are how requests are smuggled past a proxy
 * that reads them differently; they are refused. */
typedef struct framing {
    int n_length;
    int n_coding;
    int bad_coding;
} framing;

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    framing *f = cls;
    (void)kind;
    if (strcasecmp(key, "Content-Length") == 0) f->n_length++;
    if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->n_coding++;
        if (!value || strcasecmp(value, "chunked") != 0) f->bad_coding = 1;
    }
    return MHD_YES;
}

/* The first access call: the method is known and the headers are in. */
static es_err begin(es_http_req *r, const char *method)
{
    es_http *h = r->h;
    if (!(r->method = strdup(method))) return ES_ERR_NOMEM;
    r->method_idx = http_method_index(method);
    if (r->bad_path) return ES_OK;
    r->route = http_router_match(&h->router, r->method_idx, r->segs, r->nsegs, &r->allow);
    if (r->route) {
        const http_route *rt = r->route;
        if (!(r->params = calloc(rt->nsegs ? rt->nsegs : 1, sizeof *r->params)))
            return ES_ERR_NOMEM;
        for (size_t i = 0; i < rt->nsegs; i++) {
            if (!rt->is_param[i]) continue;
            r->params[r->nparams].name = rt->segs[i];
            r->params[r->nparams].value = r->segs[i];
            r->nparams++;
        }
    } else if (!r->allow && !h->cfg.no_static &&
               (r->method_idx == M_GET || r->method_idx == M_HEAD) &&
               !(r->nsegs > 0 && strcmp(r->segs[0], "api") == 0)) {
        /* The console: any GET outside /api/ that no route takes. */
        r->is_static = 1;
    }
    return ES_OK;
}

static void serve_static(es_http_req *r)
{
    const struct es_http_asset *asset;
    const char *name = NULL;
    int fd;
    uint64_t size;
    if (http_static_open(r->h->cfg.static_dir, r->segs, r->nsegs, &asset, &fd, &size, &name) !=
        ES_OK) {
        try_reply(es_http_reply_err(r, ES_ERR_NOT_FOUND, "no such file"));
        return;
    }
    if (http_reply_start(r, 200, http_content_type(name)) != ES_OK) {
        if (fd >= 0) close(fd);
        return;
    }
    if (asset) {
        r->out_static = asset->data;
        r->out_static_len = asset->len;
    } else {
        r->out_fd = fd;
        r->out_fd_len = size;
    }
    r->cache_console = 1;
}

static void allow_header(es_http_req *r)
{
    char buf[128] = "";
    for (int m = 0; m < M_OTHER; m++) {
        if (!(r->allow & (1u << m))) continue;
        if (buf[0]) strcat(buf, ", ");
        strcat(buf, http_method_name(m));
    }
    try_reply(es_http_add_header(r, "Allow", buf));
}

/* Runs the authentication hook: 1 when the request may go on, 0 when it is refused (and
 * answered). */
static int authenticate(es_http_req *r)
{
    es_http *h = r->h;
    es_err rv;
    if (!h->auth) return 1;
    if ((rv = h->auth(r, h->auth_arg)) != ES_OK) {
        if (r->replied) return 0;
        /* A refusal says 401, 403 or 423 (ES_ERR_AUTH, ES_ERR_DENIED, ES_ERR_LOCKED), or that
         * the hook could not decide (its store down: 5xx); other codes are a plain 401. */
        unsigned status;
        const char *code;
        es_http_err_status(rv, &status, &code);
        if (status == 401 || status == 403 || status == 423 || status >= 500)
            try_reply(es_http_reply_err(r, rv, NULL));
        else
            try_reply(es_http_reply_err(r, ES_ERR_AUTH, "authentication required"));
        return 0;
    }
    /* A hook that lets a request through does not answer it (its headers, a refreshed
     * session cookie say, stay). */
    http_reply_reset(r);
    return 1;
}

/* The last access call: the whole request is in, and it was let through (or its hook asked
 * for the body). Also, at the first call, a request no route takes: its body is never read. */
static void dispatch(es_http_req *r)
{
    es_err rv;

    if (r->auth_deferred && !authenticate(r)) return;
    if (r->route) {
        rv = r->route->fn(r, r->route->arg);
        if (!r->replied) {
            if (rv == ES_OK)
                try_reply(es_http_reply_err(r, ES_ERR_INTERNAL, NULL));
            else
                try_reply(es_http_reply_err(r, rv, NULL));
        }
    } else if (r->allow) {
        allow_header(r);
        try_reply(
            es_http_reply_errf(r, ES_ERR_METHOD, "method %.16s is not allowed here", r->method));
    } else if (r->is_static) {
        serve_static(r);
    } else {
        try_reply(es_http_reply_err(r, ES_ERR_NOT_FOUND, "no such resource"));
    }
}

/* The bodies in memory would pass the budget: 503, try again shortly. */
static void budget_refused(es_http_req *r)
{
    es_http *h = r->h;
    pthread_mutex_lock(&h->conn_lock);
    h->refused_budget++;
    pthread_mutex_unlock(&h->conn_lock);
    budget_give(h, r);
    try_reply(es_http_add_header(r, "Retry-After", BUDGET_RETRY));
    try_reply(es_http_reply_err(r, ES_ERR_BUSY, "too many request bodies at once: try again"));
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    es_http *h = cls;
    es_http_req *r = *con_cls;
    (void)url; /* decoded by libmicrohttpd; we route on the raw target (r->uri) */
    (void)version;

    if (!r) return MHD_NO; /* no memory for a context: close the connection */
    if (!r->started) {
        r->started = 1;
        r->conn = c;
        /* The head is in: until the body is asked for, the wait (authentication, a store
         * under load) is the server's, not the client's. */
        conn_phase(h, r->conn_ctx, CONN_REPLY);
        if (begin(r, method) != ES_OK) return MHD_NO;
        if (r->bad_path || r->bad_query) {
            try_reply(es_http_reply_err(
                r, ES_ERR_ARG, r->bad_path ? "malformed request path" : "malformed query string"));
            return queue(r);
        }
        framing f = {0};
        MHD_get_connection_values(c, MHD_HEADER_KIND, count_framing, &f);
        if (f.n_length > 1 || f.n_coding > 1 || (f.n_length && f.n_coding) || f.bad_coding) {
            try_reply(es_http_reply_err(r, ES_ERR_ARG,
                                        "conflicting or unsupported message framing "
                                        "(Content-Length, Transfer-Encoding)"));
            return queue(r);
        }
        /* Issue 13, item 1: everything that can be decided without the body is decided before
         * any of it is read: authentication (or, for a request signed over its body, the
         * shape of its credentials: the hook defers the rest), the route, the route's limit,
         * the memory. A request refused here is answered at once, and libmicrohttpd closes
         * the connection rather than read a body nobody will use. */
        if (!authenticate(r)) return queue(r);
        if (!r->route) {
            dispatch(r); /* 404, 405, a console file: no body needed */
            return queue(r);
        }
        /* A route may take less than the server's limit (a sign-in is a few hundred bytes). */
        if (r->route->max_body && r->route->max_body < r->body.max)
            r->body.max = r->route->max_body;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            /* libmicrohttpd has checked it is a number; too many digits is too large. */
            errno = 0;
            unsigned long long n = strtoull(cl, NULL, 10);
            if (errno == ERANGE || n > r->body.max) {
                try_reply(es_http_reply_errf(
                    r, ES_ERR_LIMIT, "the request body is larger than %zu bytes", r->body.max));
                return queue(r);
            }
            /* The whole body is held until the handler runs: its memory is taken from the
             * budget now, or the request is refused now (503, Retry-After). */
            if (n > 0 && (!budget_take(h, r, (size_t)n + 1) ||
                          es_buf_reserve(&r->body, (size_t)n) != ES_OK)) {
                budget_refused(r);
                return queue(r);
            }
        }
        conn_phase(h, r->conn_ctx, CONN_BODY);
        return MHD_YES;
    }
    if (r->queued) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        r->body_len += n;
        /* A chunked body takes its memory from the budget as the buffer grows. Only a chunked
         * body gets past the limit or the budget here; nothing can be answered in the middle
         * of a body, so the connection is closed. */
        if (r->body.len + n + 1 > r->reserved) {
            if (n > r->body.max || r->body.len > r->body.max - n) return MHD_NO;
            size_t need = r->body.len + n + 1, cap = r->body.cap ? r->body.cap : 64;
            while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
            if (cap > r->reserved && !budget_take(h, r, cap - r->reserved)) {
                pthread_mutex_lock(&h->conn_lock);
                h->refused_budget++;
                pthread_mutex_unlock(&h->conn_lock);
                return MHD_NO;
            }
        }
        if (es_buf_append(&r->body, upload_data, n) != ES_OK) return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    r->body_ready = 1;
    /* The request is in: from now on any wait is the server's (the handler), not the
     * client's. */
    conn_phase(h, r->conn_ctx, CONN_REPLY);
    dispatch(r);
    return queue(r);
}

es_err es_http_start(es_http *h)
{
    es_err rv;
    if (!h || h->d) return ES_ERR_ARG;
    if (h->metrics_ready) http_metrics_cleanup(&h->metrics);
    h->metrics_ready = 0;
    if ((rv = http_metrics_init(&h->metrics, h->router.n)) != ES_OK) return rv;
    h->metrics_ready = 1;
    /* libmicrohttpd's own limit is above ours: a connection we admit in place of another
     * (admit) exists for a moment beside the one being closed. */
    unsigned hard = h->cfg.max_connections + h->cfg.max_connections / 4 + 16;
    free(h->addrs);
    h->addrs_cap = hard + 1;
    h->naddrs = 0;
    if (!(h->addrs = calloc(h->addrs_cap, sizeof *h->addrs))) return ES_ERR_NOMEM;
    h->active = 0;
    h->body_held = 0;
    clock_gettime(CLOCK_MONOTONIC, &h->log_t);
    h->log_summary_t = h->log_t;
    h->log_ok.tokens = h->cfg.log_rate;
    h->log_err.tokens = h->cfg.log_error_rate;
    /* Internal threads with a pool, each polling its share of the connections with poll().
     * Not epoll: libmicrohttpd 0.9.75 waits edge-triggered, and a request whose bytes and FIN
     * arrive in one read (a truncated body) then hangs until the timeout instead of ending at
     * once. MHD_USE_ITC lets es_http_stop quiesce the listening socket first. */
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (h->ipv6) flags |= MHD_USE_IPv6;
    uint16_t port = h->ipv6 ? ntohs(((struct sockaddr_in6 *)&h->addr)->sin6_port)
                            : ntohs(((struct sockaddr_in *)&h->addr)->sin_port);
    h->d = MHD_start_daemon(flags, port, NULL, NULL, on_access, h,
                            /* The logger first: libmicrohttpd warns otherwise, and logs earlier
                             * options' errors itself. */
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&h->addr, MHD_OPTION_THREAD_POOL_SIZE,
                            (unsigned int)h->cfg.threads, MHD_OPTION_CONNECTION_LIMIT, hard,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)h->cfg.timeout,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HEADER_MEMORY,
                            MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_URI_LOG_CALLBACK,
                            on_uri, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_END);
    if (!h->d) return ES_ERR_IO;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : port;
    h->reaper_stop = 0;
    if (pthread_create(&h->reaper, NULL, reaper, h) != 0) {
        MHD_stop_daemon(h->d);
        h->d = NULL;
        h->port = 0;
        return ES_ERR_NOMEM;
    }
    h->reaper_running = 1;
    return ES_OK;
}

void es_http_stop(es_http *h, unsigned grace_ms)
{
    if (!h || !h->d) return;
    MHD_socket s = MHD_quiesce_daemon(h->d);
    for (unsigned waited = 0; waited < grace_ms && http_metrics_in_flight(&h->metrics) > 0;
         waited += 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (h->reaper_running) {
        pthread_mutex_lock(&h->conn_lock);
        h->reaper_stop = 1;
        pthread_cond_signal(&h->reaper_cv);
        pthread_mutex_unlock(&h->conn_lock);
        pthread_join(h->reaper, NULL);
        h->reaper_running = 0;
    }
    MHD_stop_daemon(h->d);
    h->d = NULL;
    h->port = 0;
    log_summary(h, 1);
    /* libmicrohttpd: close the quiesced socket only once its threads are gone. */
    if (s != MHD_INVALID_SOCKET) close(s);
}
