/* eseal http: the HTTP layer of esealsd (ARCHITECTURE.md, layer `http`; docs/http.md).
 *
 * A server over libmicrohttpd (internal polling threads, a thread pool, epoll on Linux), a
 * router with path parameters (/api/v1/users/{id}), a request context, JSON responses through
 * jansson with one error shape {"error": CODE, "message": TEXT}, strict JSON body parsing
 * against a small schema, pagination, cookies, security headers on every response, an
 * authentication hook, request logging, and the platform endpoints every daemon has:
 *
 *   GET /healthz               200 {"status":"ok"} (503 when the health hook says otherwise)
 *   GET /metrics               Prometheus text format (docs/http.md lists the names)
 *   GET /api/v1/openapi.json   docs/openapi.json, embedded at build time
 *   GET /, /index.html, ...    the console (web/), embedded at build time or from a directory
 *
 * The layer only maps requests to calls and results to JSON; it holds no business state.
 * A daemon is: es_http_config_init, set listen and limits, es_http_new, es_http_route for each
 * endpoint, es_http_set_auth, es_http_start, wait for a signal, es_http_stop, es_http_free.
 *
 * Threads: handlers, the authentication hook and the log callback run on the server's worker
 * threads, several at once; what they share must be thread-safe (a store connection per thread,
 * for instance). Routes and hooks are registered before es_http_start and never after.
 */
#ifndef ESEAL_HTTP_H
#define ESEAL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "eseal/err.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* Named limits. */
#define ES_MAX_HTTP_BODY   (1u << 20)  /* default request body limit (bytes) */
#define ES_MAX_HTTP_CURSOR 256         /* a pagination cursor (bytes) */
#define ES_MAX_HTTP_ROUTES 512         /* routes per server */
#define ES_MAX_HTTP_STATIC (16u << 20) /* a static file served from a directory */
#define ES_HTTP_LISTEN     "127.0.0.1:8080"

typedef struct es_http es_http;
typedef struct es_http_req es_http_req;

/* One finished request, handed to the log callback. Every pointer is borrowed and valid during
 * the call only. */
typedef struct es_http_log_entry {
    const char *method; /* "GET" */
    const char *path;   /* as received (percent-encoded), without the query string */
    const char *route;  /* the matched pattern, "static", or "unmatched" */
    const char *client; /* the peer's address, "127.0.0.1" or "::1" */
    unsigned status;    /* 0: no response was sent (client gone, timeout, body cut short) */
    uint64_t body_len;  /* request body bytes received */
    double seconds;     /* from the request line to the end of the response */
} es_http_log_entry;

typedef void (*es_http_log_fn)(void *arg, const es_http_log_entry *e);
/* Messages of the server itself (libmicrohttpd's: a socket error, a refused connection). */
typedef void (*es_http_msg_fn)(void *arg, const char *msg);

typedef struct es_http_config {
    const char *listen;       /* "ADDR:PORT", "[V6ADDR]:PORT"; port 0 takes an ephemeral port */
    unsigned threads;         /* worker threads; 0: 4 */
    unsigned max_connections; /* open connections at once; 0: 256 */
    unsigned timeout;         /* seconds a connection may stay idle or stall; 0: 30 */
    size_t max_body;          /* request body limit; 0: ES_MAX_HTTP_BODY */
    const char *static_dir;   /* serve the console from this directory; NULL: the embedded web/ */
    int no_static;            /* 1: serve no console at all */
    int secure_cookies;       /* 1: cookies carry Secure (behind TLS) */
    es_http_log_fn log;       /* may be NULL */
    void *log_arg;
    es_http_msg_fn msg; /* may be NULL */
    void *msg_arg;
    /* Outsiders (docs/http.md, "Limits"). 0 in any of these takes the default. */
    unsigned max_per_address; /* connections at once from one address (IPv6: one /64); 0: 64 */
    unsigned head_timeout;    /* seconds from a request's first byte (or the end of the one
                                 before on the connection) to its last header; 0: 10 */
    unsigned request_timeout; /* seconds for the body, from the end of the head (head and
                                 body: at most head_timeout + request_timeout); 0: 60 */
    size_t body_budget;       /* bytes of request bodies held at once, all requests; 0: 64 MiB */
    size_t body_per_address;  /* of which one address's requests; 0: a quarter of body_budget */
    /* The access log (the log callback): at most log_rate lines a second for answered
     * requests below 400 and log_error_rate for the others (4xx, 5xx, no answer); what is
     * not logged is counted and told through msg every log_interval seconds as "N requests
     * not logged". 0: 20, 50, 60. */
    unsigned log_rate;
    unsigned log_error_rate;
    unsigned log_interval;
    /* GET /metrics: who may read it. */
    int metrics;               /* ES_HTTP_METRICS_LOCAL (0), _OFF, _TOKEN */
    const char *metrics_token; /* _TOKEN: "Authorization: Bearer TOKEN" (copied; 16+ bytes) */
    /* Tests: called on the worker thread when libmicrohttpd has read a request line, before
     * it parses the rest of the head (tests/test_http.c delays there). May be NULL. */
    void (*request_line_hook)(void *arg);
    void *request_line_arg;
} es_http_config;

/* es_http_config.metrics: LOCAL answers a client on a loopback address only (127.0.0.0/8,
 * ::1; behind a reverse proxy on the same host every client is local: use TOKEN or OFF), OFF
 * answers 404, TOKEN answers the bearer of metrics_token (401 for anyone else). */
#define ES_HTTP_METRICS_LOCAL 0
#define ES_HTTP_METRICS_OFF   1
#define ES_HTTP_METRICS_TOKEN 2

/* Fills c with the defaults above (listen ES_HTTP_LISTEN). */
void es_http_config_init(es_http_config *c);

/* Makes a server (not yet listening) with the platform routes. The configuration is copied
 * (strings too). ES_ERR_CONFIG for an unusable listen address or a static_dir that is not a
 * directory. */
es_err es_http_new(const es_http_config *cfg, es_http **out) ES_MUST_CHECK;
/* Stops the server if it runs (no grace) and frees it. es_http_free(NULL) is a no-op. */
void es_http_free(es_http *h);

/* A route handler. It answers with one of the es_http_reply_* functions and returns ES_OK, or
 * returns an error: when it has not replied, the error is answered through es_http_reply_err
 * (docs/http.md has the table); when it has, its reply stands. A handler that returns ES_OK
 * without replying gets a 500. */
typedef es_err (*es_http_handler)(es_http_req *req, void *arg);

/* Route flags. */
#define ES_HTTP_PUBLIC 1u /* told to the auth hook: this route needs no authentication */

/* Adds a route. method: GET, POST, PUT, PATCH, DELETE (a GET route answers HEAD too). pattern:
 * "/" and segments, each literal or a whole-segment parameter "{name}"; a literal segment wins
 * over a parameter where both match. ES_ERR_ARG for a bad method or pattern, ES_ERR_EXISTS for
 * a method and pattern already routed, ES_ERR_LIMIT past ES_MAX_HTTP_ROUTES. Strings are copied.
 * Not after es_http_start. */
es_err es_http_route(es_http *h, const char *method, const char *pattern, es_http_handler fn,
                     void *arg, unsigned flags) ES_MUST_CHECK;

/* Lowers the body limit of one route (method and pattern as given to es_http_route) below the
 * server's max_body: a longer Content-Length is 413 before any byte of the body is read, a
 * longer chunked body closes the connection. 0: the server's. ES_ERR_NOT_FOUND for no such
 * route. Not after es_http_start. */
es_err es_http_route_body_limit(es_http *h, const char *method, const char *pattern,
                                size_t max) ES_MUST_CHECK;

/* The authentication hook: called for every request once its headers are in, before any
 * byte of its body is read and before a 404 or 405 is answered (so that an unauthenticated
 * client learns nothing of the API and a refused one costs no body: the refusal is answered at
 * once and the connection closed). es_http_req_is_public tells whether the target needs
 * authentication. A hook that needs the body to decide (a request signed over its body) checks
 * what it can without it, calls es_http_req_defer_auth and returns ES_OK: it is called again
 * once the body is in, with es_http_req_body_ready true, and decides then. Return ES_OK to let the
 * request through (after es_http_req_set_user, typically); anything else refuses it: with the
 * hook's own reply when it made one, else as es_http_reply_err answers the code when that is
 * 401, 403, 423 or 5xx (ES_ERR_AUTH, ES_ERR_DENIED, ES_ERR_LOCKED, ES_ERR_IO when its store is
 * down), else 401 {"error":"unauthorized"}. */
typedef es_err (*es_http_auth_fn)(es_http_req *req, void *arg);
void es_http_set_auth(es_http *h, es_http_auth_fn fn, void *arg);
/* From the authentication hook, while es_http_req_body_ready is 0: call the hook again once the
 * body is in. */
void es_http_req_defer_auth(es_http_req *r);
/* 1 when the request's body is in (es_http_req_body is all of it), 0 in the hook's first call. */
int es_http_req_body_ready(const es_http_req *r);

/* The health hook behind /healthz: ES_OK is 200 {"status":"ok"}; anything else is 503
 * {"error":"unavailable","message":...}. Without a hook /healthz always answers 200. */
typedef es_err (*es_http_health_fn)(void *arg);
void es_http_set_health(es_http *h, es_http_health_fn fn, void *arg);
/* Warnings /healthz adds to its 200 answer, {"status":"ok","warnings":[...]} (what an
 * operator must fix, e.g. a key's passphrase beside the key). The n strings are borrowed:
 * they must outlive the server. */
void es_http_set_health_warnings(es_http *h, const char *const *warnings, size_t n);

/* Binds and starts the worker threads. ES_ERR_IO when the address cannot be bound (in use,
 * not local), ES_ERR_ARG when already started. */
es_err es_http_start(es_http *h) ES_MUST_CHECK;
/* The port the server listens on (the real one when the configuration said 0); 0 when not
 * started. */
unsigned es_http_port(const es_http *h);

/* Calls fn once per route in the order added, with its method ("GET", ...), its pattern as given
 * to es_http_route and its flags (ES_HTTP_PUBLIC); strings borrowed for the call. Stops at the
 * first return other than ES_OK and returns it. For tests that must see every route (an
 * authorisation check for each, the API's documentation). Thread-safe after es_http_start
 * (routes no longer change). */
typedef es_err (*es_http_route_cb)(void *ctx, const char *method, const char *pattern,
                                   unsigned flags);
es_err es_http_routes_foreach(const es_http *h, es_http_route_cb fn, void *ctx) ES_MUST_CHECK;
/* Graceful stop: stops accepting connections, waits up to grace_ms for the requests in flight
 * to finish, then closes every connection and joins the threads. Safe when not started; never
 * from a handler, hook or callback of this server (it waits for them). */
void es_http_stop(es_http *h, unsigned grace_ms);

/* The metrics in Prometheus text format, as GET /metrics serves them (appended to out). */
es_err es_http_metrics_text(es_http *h, es_buf *out) ES_MUST_CHECK;

/* ---- The request. Every returned pointer is borrowed and valid until the handler returns. */

const char *es_http_req_method(const es_http_req *r);
/* The path as received, percent-encoded, without the query string. */
const char *es_http_req_path(const es_http_req *r);
/* The request target as received: the percent-encoded path and, when present, "?" and the
 * query string, byte for byte (what a signed request signs). */
const char *es_http_req_target(const es_http_req *r);
/* The matched route's pattern; NULL when no route matched (static file, 404, 405). */
const char *es_http_req_route(const es_http_req *r);
/* 1 when the target needs no authentication: an ES_HTTP_PUBLIC route or a console file. */
int es_http_req_is_public(const es_http_req *r);
/* A path parameter, percent-decoded; NULL when the route has none of that name. */
const char *es_http_req_param(const es_http_req *r, const char *name);
/* A query parameter, percent-decoded ('+' is a space); the first when repeated; NULL when
 * absent; "" for "?name" and "?name=". */
const char *es_http_req_query(const es_http_req *r, const char *name);
/* A request header (case-insensitive name); NULL when absent. */
const char *es_http_req_header(const es_http_req *r, const char *name);
/* A cookie's value; NULL when absent. */
const char *es_http_req_cookie(const es_http_req *r, const char *name);
/* The request body (empty slice when none). */
es_slice es_http_req_body(const es_http_req *r);
/* The peer's address ("127.0.0.1", "::1"). */
const char *es_http_req_client(const es_http_req *r);

/* Per-request data of the application (the authenticated account, typically), set by the auth
 * hook and read by handlers. free_fn (may be NULL) is called on it when the request ends;
 * setting it again frees the previous value. */
void es_http_req_set_user(es_http_req *r, void *user, void (*free_fn)(void *));
void *es_http_req_user(const es_http_req *r);

/* ---- Replies. Each replaces an earlier reply of the same request; headers and cookies added
 * with es_http_add_header / es_http_set_cookie are kept. They return ES_OK, or ES_ERR_NOMEM /
 * ES_ERR_ARG (then the client gets a 500). Every response carries the security headers of
 * docs/http.md and Cache-Control: no-store (console files: no-cache). */

/* JSON body (application/json). _json borrows body; _json_new takes the reference, also on
 * failure, as jansson's json_object_set_new does. */
es_err es_http_reply_json(es_http_req *r, unsigned status, const json_t *body) ES_MUST_CHECK;
es_err es_http_reply_json_new(es_http_req *r, unsigned status, json_t *body) ES_MUST_CHECK;
/* The error reply for rv, from the one error table (include/eseal/err.h):
 * {"error": name, "message": English, "message_zh": Chinese[, "field": field][, "detail":
 * detail]} with the table's HTTP status. detail is English and names the thing at fault; field
 * is the JSON field or query parameter at fault (NULL: none). A 5xx reply never carries
 * detail or field (internal details stay inside) and names only "busy",
 * "internal" or "unavailable". */
es_err es_http_reply_err(es_http_req *r, es_err rv, const char *detail) ES_MUST_CHECK;
es_err es_http_reply_errf(es_http_req *r, es_err rv, const char *fmt, ...) ES_MUST_CHECK
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
es_err es_http_reply_err_field(es_http_req *r, es_err rv, const char *field,
                               const char *detail) ES_MUST_CHECK;
/* Bytes with a content type (copied). */
es_err es_http_reply_bytes(es_http_req *r, unsigned status, const char *content_type, const void *p,
                           size_t len) ES_MUST_CHECK;
/* A reply without a body (204, 201 with Location, ...). */
es_err es_http_reply_empty(es_http_req *r, unsigned status) ES_MUST_CHECK;
/* An extra response header. Names and values are checked (no CR, LF, NUL; token name). */
es_err es_http_add_header(es_http_req *r, const char *name, const char *value) ES_MUST_CHECK;
/* Cache-Control of this response instead of no-store (a public, cacheable answer such as a
 * signed status answer: "public, max-age=60"); kept across replies like headers. Printable
 * ASCII, at most 63 bytes: ES_ERR_ARG otherwise. */
es_err es_http_set_cache(es_http_req *r, const char *value) ES_MUST_CHECK;
/* Set-Cookie: name=value; Path=/; HttpOnly; SameSite=Strict[; Secure][; Max-Age=N]. max_age
 * < 0 makes a session cookie, 0 deletes the cookie. name must be a token and value cookie
 * octets (no space, quote, comma, semicolon, backslash): ES_ERR_ARG otherwise. */
es_err es_http_set_cookie(es_http_req *r, const char *name, const char *value,
                          long max_age) ES_MUST_CHECK;

/* The HTTP status and error code for a library error (ES_ERR_NOT_FOUND: 404 "not_found", ...;
 * docs/http.md has the table). Unknown codes are 500 "internal". */
void es_http_err_status(es_err rv, unsigned *status, const char **code);

/* ---- Strict JSON bodies. */

typedef enum es_json_type {
    ES_JSON_STRING = 1,
    ES_JSON_INTEGER, /* a JSON integer (no fraction, no exponent), 64-bit */
    ES_JSON_NUMBER,  /* integer or real */
    ES_JSON_BOOLEAN,
    ES_JSON_OBJECT,
    ES_JSON_ARRAY,
} es_json_type;

/* Field flags. */
#define ES_JSON_REQUIRED 1u
#define ES_JSON_NULLABLE 2u /* null is accepted (and is "present" for REQUIRED) */

/* One allowed member of an object. max: bytes of a string, elements of an array (0: no limit
 * but the body's). A schema is an array of fields ending with {NULL}. */
typedef struct es_json_field {
    const char *name;
    es_json_type type;
    unsigned flags;
    size_t max;
} es_json_field;

/* Checks that obj is an object whose members are all in schema, of the right types, with every
 * required one present. On failure returns ES_ERR_JSON (not an object) or ES_ERR_ARG (an
 * unknown member, a wrong type, too long, a required member missing) with *field the schema's
 * name of the member at fault (NULL for an unknown member or no object) and a message naming
 * it into msg. field and msg may be NULL. */
es_err es_json_check(const json_t *obj, const es_json_field *schema, const char **field, char *msg,
                     size_t msglen) ES_MUST_CHECK;

/* Parses the request body as one JSON object (application/json, UTF-8, no duplicate keys, no
 * trailing bytes) and checks it against schema (NULL: any members). On success *out is a new
 * reference (json_decref it). On failure it has replied (415 "unsupported_media_type", 400
 * "bad_json" with the parser's line and column, 400 "invalid_argument" with es_json_check's
 * field and message)
 * and returns ES_ERR_FORMAT: the handler returns that. */
es_err es_http_req_json(es_http_req *r, const es_json_field *schema, json_t **out) ES_MUST_CHECK;

/* ---- Pagination: ?limit=N&cursor=OPAQUE. */

typedef struct es_http_page {
    unsigned limit;     /* 1..max */
    const char *cursor; /* NULL on the first page; borrowed; [A-Za-z0-9_.~=-], at most
                           ES_MAX_HTTP_CURSOR bytes */
} es_http_page;

/* Reads limit (default def; a larger value than max is lowered to max) and cursor. On a bad
 * value it has replied 400 "invalid_argument" (field "limit" or "cursor") and returns ES_ERR_ARG.
 */
es_err es_http_req_page(es_http_req *r, unsigned def, unsigned max,
                        es_http_page *out) ES_MUST_CHECK;
/* 200 {"items": items, "next_cursor": next or null}. Takes the reference to items. */
es_err es_http_reply_page(es_http_req *r, json_t *items, const char *next_cursor) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
