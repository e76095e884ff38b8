/* http: the server on 127.0.0.1 with an ephemeral port and test routes, driven by a small
 * client over plain sockets: routing and parameters, 404/405, the error shape and the es_err
 * table, strict JSON bodies, the body limit (413, nothing handled), truncated and malformed
 * requests, a stalled client, many clients at once, metrics, the console's static files and
 * traversal attempts, security headers, cookies, the authentication hook, pagination, graceful
 * stop.
 */
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "eseal/http.h"

/* Internal to src/http (internal.h), linked statically: the address test behind /metrics. */
int http_client_is_local(const char *client);

/* ---- A small HTTP/1.1 client. */

/* A request's answer may take long on a loaded machine (CI runs browsers and fuzzers beside
 * this test): the concurrency checks are of right answers, not of latency. The tests that
 * wait for the server's own deadlines set their sockets' timeouts themselves. */
#define T_HTTP_TIMEOUT_S 60
/* test_client_framing: a header lookup where another thread of the client might make one. */
static void framing_hook(void);
#define T_HTTP_FRAMING_HOOK() framing_hook()
#include "http_client.h"

static int t_get(unsigned port, const char *path, t_resp *r)
{
    return t_req(port, "GET", path, NULL, NULL, r);
}

static int t_post(unsigned port, const char *path, const char *json, t_resp *r)
{
    return t_req(port, "POST", path, "Content-Type: application/json\r\n", json, r);
}

/* The body as JSON: the member's string value, or NULL. */
static const char *t_json_str(const t_resp *r, const char *key)
{
    static char out[8][1024];
    static int k;
    json_t *v = json_loadb((const char *)r->body.p, r->body.len, 0, NULL);
    const char *rv = NULL;
    json_t *m = v ? json_object_get(v, key) : NULL;
    if (json_is_string(m)) {
        char *o = out[k++ % 8];
        snprintf(o, sizeof out[0], "%s", json_string_value(m));
        rv = o;
    }
    json_decref(v);
    return rv;
}

/* The error shape of the one table (include/eseal/err.h): {"error": code, "message": English,
 * "message_zh": Chinese} and optionally "field" and "detail" (strings), nothing else. */
static int t_is_error(const t_resp *r, int status, const char *code)
{
    json_t *v = json_loadb((const char *)r->body.p, r->body.len, 0, NULL);
    size_t extra = 0;
    const char *k;
    json_t *m;
    if (v && json_is_object(v)) json_object_foreach(v, k, m)
        {
            if (strcmp(k, "field") == 0 || strcmp(k, "detail") == 0)
                extra += json_is_string(m) && json_string_length(m) > 0 ? 1 : 100;
        }
    int good = v && json_is_object(v) && json_object_size(v) == 3 + extra &&
               json_is_string(json_object_get(v, "error")) &&
               json_is_string(json_object_get(v, "message")) &&
               json_string_length(json_object_get(v, "message")) > 0 &&
               json_is_string(json_object_get(v, "message_zh")) &&
               json_string_length(json_object_get(v, "message_zh")) > 0 &&
               strcmp(json_string_value(json_object_get(v, "error")), code) == 0 &&
               r->status == status;
    const char *ct = t_hdr(r, "Content-Type");
    good = good && ct && strcmp(ct, "application/json") == 0;
    json_decref(v);
    return good;
}

static int t_has_security_headers(const t_resp *r)
{
    const char *csp = t_hdr(r, "Content-Security-Policy");
    if (!csp || !strstr(csp, "default-src 'self'") || !strstr(csp, "frame-ancestors 'none'"))
        return 0;
    const char *nosniff = t_hdr(r, "X-Content-Type-Options");
    if (!nosniff || strcmp(nosniff, "nosniff") != 0) return 0;
    const char *xfo = t_hdr(r, "X-Frame-Options");
    if (!xfo || strcmp(xfo, "DENY") != 0) return 0;
    return t_hdr(r, "Referrer-Policy") && t_hdr(r, "Cache-Control");
}

/* A metric's value from Prometheus text: the line that starts with prefix (name and labels). */
static double t_metric(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ') return strtod(p + n + 1, NULL);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- The application under test. */

static atomic_int handled; /* handler calls */
static atomic_int healthy = 1;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_count, log_413, log_aborted;

static void on_log(void *arg, const es_http_log_entry *e)
{
    (void)arg;
    pthread_mutex_lock(&log_lock);
    log_count++;
    if (e->status == 413) log_413++;
    if (e->status == 0) log_aborted++;
    pthread_mutex_unlock(&log_lock);
}

static es_err health(void *arg)
{
    (void)arg;
    return atomic_load(&healthy) ? ES_OK : ES_ERR_IO;
}

static es_err h_thing(es_http_req *r, void *arg)
{
    (void)arg;
    atomic_fetch_add(&handled, 1);
    return es_http_reply_json_new(
        r, 200,
        json_pack("{s:s, s:s}", "id", es_http_req_param(r, "id"), "route", es_http_req_route(r)));
}

static es_err h_special(es_http_req *r, void *arg)
{
    (void)arg;
    atomic_fetch_add(&handled, 1);
    return es_http_reply_json_new(r, 200, json_pack("{s:b}", "special", 1));
}

static es_err h_nocontent(es_http_req *r, void *arg)
{
    (void)arg;
    atomic_fetch_add(&handled, 1);
    return es_http_reply_empty(r, 204);
}

static const es_json_field thing_schema[] = {
    {"name", ES_JSON_STRING, ES_JSON_REQUIRED, 16},
    {"count", ES_JSON_INTEGER, 0, 0},
    {"ratio", ES_JSON_NUMBER, 0, 0},
    {"enabled", ES_JSON_BOOLEAN, 0, 0},
    {"tags", ES_JSON_ARRAY, 0, 3},
    {"meta", ES_JSON_OBJECT, 0, 0},
    {"note", ES_JSON_STRING, ES_JSON_NULLABLE, 0},
    {NULL},
};

static es_err h_create(es_http_req *r, void *arg)
{
    es_err rv;
    json_t *body;
    (void)arg;
    atomic_fetch_add(&handled, 1);
    if ((rv = es_http_req_json(r, thing_schema, &body)) != ES_OK) return rv;
    return es_http_reply_json_new(r, 201, body);
}

static es_err h_echo_len(es_http_req *r, void *arg)
{
    (void)arg;
    atomic_fetch_add(&handled, 1);
    return es_http_reply_json_new(r, 200,
                                  json_pack("{s:I}", "len", (json_int_t)es_http_req_body(r).len));
}

static es_err h_error(es_http_req *r, void *arg)
{
    (void)arg;
    const char *n = es_http_req_param(r, "name");
    atomic_fetch_add(&handled, 1);
    if (strcmp(n, "not_found") == 0) return ES_ERR_NOT_FOUND;
    if (strcmp(n, "exists") == 0) return ES_ERR_EXISTS;
    if (strcmp(n, "io") == 0) return ES_ERR_IO;
    if (strcmp(n, "crypto") == 0) return ES_ERR_CRYPTO;
    if (strcmp(n, "verify") == 0)
        return es_http_reply_err(r, ES_ERR_VERIFY, "the seal's signature does not verify");
    if (strcmp(n, "replied") == 0) {
        if (es_http_reply_err(r, ES_ERR_EXISTS, "short and stout") != ES_OK) return ES_ERR_NOMEM;
        return ES_ERR_ARG; /* the reply stands */
    }
    return ES_OK; /* no reply: a 500 */
}

static es_err h_query(es_http_req *r, void *arg)
{
    (void)arg;
    atomic_fetch_add(&handled, 1);
    json_t *o = json_object();
    const char *names[] = {"a", "b", "flag", "empty", "missing"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = es_http_req_query(r, names[i]);
        json_object_set_new(o, names[i], v ? json_string(v) : json_null());
    }
    const char *x = es_http_req_header(r, "x-test");
    const char *sid = es_http_req_cookie(r, "sid");
    const char *user = es_http_req_user(r);
    json_object_set_new(o, "x_test", x ? json_string(x) : json_null());
    json_object_set_new(o, "sid", sid ? json_string(sid) : json_null());
    json_object_set_new(o, "user", user ? json_string(user) : json_null());
    json_object_set_new(o, "client", json_string(es_http_req_client(r)));
    json_object_set_new(o, "method", json_string(es_http_req_method(r)));
    json_object_set_new(o, "path", json_string(es_http_req_path(r)));
    return es_http_reply_json_new(r, 200, o);
}

static es_err h_cookie(es_http_req *r, void *arg)
{
    es_err rv;
    (void)arg;
    atomic_fetch_add(&handled, 1);
    if (es_http_set_cookie(r, "bad", "a;b", -1) != ES_ERR_ARG ||
        es_http_set_cookie(r, "bad name", "x", -1) != ES_ERR_ARG ||
        es_http_add_header(r, "X-Bad", "a\r\nInjected: 1") != ES_ERR_ARG ||
        es_http_add_header(r, "X-Bad", "a\x7f") != ES_ERR_ARG)
        return es_http_reply_err(r, ES_ERR_INTERNAL, "a bad cookie or header was accepted");
    if ((rv = es_http_set_cookie(r, "sid", "abc123", -1)) != ES_OK ||
        (rv = es_http_set_cookie(r, "old", "", 0)) != ES_OK ||
        (rv = es_http_add_header(r, "X-Extra", "yes")) != ES_OK)
        return rv;
    return es_http_reply_empty(r, 204);
}

#define ITEMS 120
static es_err h_items(es_http_req *r, void *arg)
{
    es_err rv;
    es_http_page pg;
    (void)arg;
    atomic_fetch_add(&handled, 1);
    if ((rv = es_http_req_page(r, 10, 50, &pg)) != ES_OK) return rv;
    long start = 0;
    if (pg.cursor) {
        if (pg.cursor[0] != 'c')
            return es_http_reply_err_field(r, ES_ERR_ARG, "cursor", "bad cursor");
        start = strtol(pg.cursor + 1, NULL, 10);
    }
    json_t *items = json_array();
    long i;
    for (i = start; i < ITEMS && i < start + (long)pg.limit; i++)
        json_array_append_new(items, json_integer(i));
    char next[32];
    snprintf(next, sizeof next, "c%ld", i);
    return es_http_reply_page(r, items, i < ITEMS ? next : NULL);
}

static void free_user(void *p)
{
    free(p);
}

/* Requests need "Authorization: Bearer good" unless the target is public; "Bearer forbidden"
 * is an account the hook refuses with its own 403. */
static es_err auth(es_http_req *r, void *arg)
{
    (void)arg;
    const char *a = es_http_req_header(r, "Authorization");
    if (a && strcmp(a, "Bearer good") == 0) {
        es_http_req_set_user(r, strdup("alice"), free_user);
        return ES_OK;
    }
    if (a && strcmp(a, "Bearer forbidden") == 0) {
        if (es_http_reply_err(r, ES_ERR_DENIED, "this account may not do that") != ES_OK)
            return ES_ERR_NOMEM;
        return ES_ERR_LOGIN;
    }
    if (a && strcmp(a, "Bearer denied") == 0) return ES_ERR_DENIED;
    if (a && strcmp(a, "Bearer locked") == 0) return ES_ERR_LOCKED;
    if (a && strcmp(a, "Bearer storedown") == 0) return ES_ERR_IO;
    if (a && strcmp(a, "Bearer odd") == 0) return ES_ERR_NOT_FOUND;
    if (a) return ES_ERR_AUTH;
    return es_http_req_is_public(r) ? ES_OK : ES_ERR_AUTH;
}

#define MAX_BODY 4096

static es_http *start_app(es_http_config *cfg)
{
    es_http *h = NULL;
    if (es_http_new(cfg, &h) != ES_OK) return NULL;
    int good =
        es_http_route(h, "GET", "/api/v1/things/{id}", h_thing, NULL, ES_HTTP_PUBLIC) == ES_OK &&
        es_http_route(h, "GET", "/api/v1/things/special", h_special, NULL, ES_HTTP_PUBLIC) ==
            ES_OK &&
        es_http_route(h, "PUT", "/api/v1/things/{id}", h_nocontent, NULL, ES_HTTP_PUBLIC) ==
            ES_OK &&
        es_http_route(h, "DELETE", "/api/v1/things/{id}", h_nocontent, NULL, ES_HTTP_PUBLIC) ==
            ES_OK &&
        es_http_route(h, "POST", "/api/v1/things", h_create, NULL, ES_HTTP_PUBLIC) == ES_OK &&
        es_http_route(h, "POST", "/api/v1/echo", h_echo_len, NULL, ES_HTTP_PUBLIC) == ES_OK &&
        es_http_route(h, "POST", "/api/v1/echo-small", h_echo_len, NULL, ES_HTTP_PUBLIC) == ES_OK &&
        es_http_route_body_limit(h, "POST", "/api/v1/echo-small", 100) == ES_OK &&
        es_http_route_body_limit(h, "POST", "/api/v1/nowhere", 100) == ES_ERR_NOT_FOUND &&
        es_http_route_body_limit(h, "GET", "/api/v1/echo-small", 100) == ES_ERR_NOT_FOUND &&
        es_http_route(h, "GET", "/api/v1/errors/{name}", h_error, NULL, ES_HTTP_PUBLIC) == ES_OK &&
        es_http_route(h, "GET", "/api/v1/query", h_query, NULL, ES_HTTP_PUBLIC) == ES_OK &&
        es_http_route(h, "POST", "/api/v1/cookie", h_cookie, NULL, ES_HTTP_PUBLIC) == ES_OK &&
        es_http_route(h, "GET", "/api/v1/items", h_items, NULL, ES_HTTP_PUBLIC) == ES_OK &&
        es_http_route(h, "GET", "/api/v1/private", h_query, NULL, 0) == ES_OK;
    es_http_set_auth(h, auth, NULL);
    es_http_set_health(h, health, NULL);
    if (!good || es_http_start(h) != ES_OK) {
        es_http_free(h);
        return NULL;
    }
    return h;
}

/* ---- Tests. */

/* ---- The client itself (tests/http_client.h): the bench and the tests read responses on
 * several threads at once. */

static t_resp fh_other; /* a response another thread of the client holds */
static atomic_int fh_armed;

static void framing_hook(void)
{
    if (atomic_exchange(&fh_armed, 0)) (void)t_hdr(&fh_other, "Content-Length");
}

static void *hdr_lookup(void *arg)
{
    (void)t_hdr(arg, "Content-Length");
    return NULL;
}

/* Issue 10: bench_making on 4 client threads had a request in a few thousand go unanswered
 * (receive: closed by the server after 10.4 s, the head deadline of a connection waiting for
 * its next request, its answer sent) or answered with a body cut short (201, not JSON):
 * t_response read the Content-Length through t_hdr's buffer, one for all threads, and another
 * thread's lookup in between changed it (212 read as 2121). Deterministic: the other thread's
 * lookup is made at that point by the hook; and t_hdr on two threads, one after the other. */
static void test_client_framing(void)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 212\r\n\r\n";
    char body[212];
    int sv[2];
    t_resp r, mine;
    t_resp_init(&r);
    t_resp_init(&mine);
    t_resp_init(&fh_other);
    snprintf(fh_other.head, sizeof fh_other.head,
             "HTTP/1.1 201 Created\r\nContent-Length: 2121111\r\n\r\n");
    memset(body, 'x', sizeof body);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        ok(0, "client framing: socketpair");
        return;
    }
    /* The whole answer, then the end of the stream: a length read wrong waits for nothing. */
    int sent = t_send(sv[1], head, sizeof head - 1) == 0 && t_send(sv[1], body, sizeof body) == 0;
    shutdown(sv[1], SHUT_WR);
    atomic_store(&fh_armed, 1);
    int st = sent ? t_response(sv[0], 0, &r) : -1;
    ok(st == 200 && r.body.len == sizeof body,
       "client framing: another thread's header lookup leaves the length of the answer being "
       "read alone (%d, %zu bytes of 212)",
       st, r.body.len);
    close(sv[0]);
    close(sv[1]);

    snprintf(mine.head, sizeof mine.head, "%s", head);
    const char *v = t_hdr(&mine, "Content-Length");
    pthread_t th;
    int ran = pthread_create(&th, NULL, hdr_lookup, &fh_other) == 0;
    if (ran) pthread_join(th, NULL);
    ok(ran && v && strcmp(v, "212") == 0,
       "client framing: t_hdr's value is the calling thread's own (%s)", v ? v : "(none)");
    t_resp_free(&r);
    t_resp_free(&mine);
    t_resp_free(&fh_other);
}

static void test_config(void)
{
    es_http_config cfg;
    es_http *h = NULL;
    static const char *const bad_listen[] = {
        "nonsense",        "127.0.0.1",      "127.0.0.1:", "127.0.0.1:x",
        "127.0.0.1:65536", "[::1]",          "[::1]8080",  "::1:80",
        "999.0.0.1:80",    "example.com:80", ":80"};
    es_http_config_init(&cfg);
    ok(strcmp(cfg.listen, ES_HTTP_LISTEN) == 0 && cfg.max_body == ES_MAX_HTTP_BODY,
       "config defaults");
    for (size_t i = 0; i < sizeof bad_listen / sizeof bad_listen[0]; i++) {
        cfg.listen = bad_listen[i];
        ok(es_http_new(&cfg, &h) == ES_ERR_CONFIG && h == NULL, "listen \"%s\" refused",
           bad_listen[i]);
    }
    cfg.listen = "127.0.0.1:0";
    cfg.static_dir = "/nonexistent/eseal-web";
    ok(es_http_new(&cfg, &h) == ES_ERR_CONFIG, "a missing static_dir is refused");
    cfg.static_dir = NULL;

    if (es_http_new(&cfg, &h) != ES_OK) {
        ok(0, "es_http_new");
        return;
    }
    ok(es_http_port(h) == 0, "no port before start");
    static const char *const bad_pattern[] = {"",     "api",   "/a//b", "/a/",  "/{}",   "/{a}/{a}",
                                              "/a b", "/{a}x", "/x{a}", "/%41", "/{1a}", "/a?b"};
    for (size_t i = 0; i < sizeof bad_pattern / sizeof bad_pattern[0]; i++)
        ok(es_http_route(h, "GET", bad_pattern[i], h_thing, NULL, 0) == ES_ERR_ARG,
           "pattern \"%s\" refused", bad_pattern[i]);
    ok(es_http_route(h, "FETCH", "/x", h_thing, NULL, 0) == ES_ERR_ARG, "unknown method refused");
    ok(es_http_route(h, "HEAD", "/x", h_thing, NULL, 0) == ES_ERR_ARG,
       "HEAD is not routed (GET answers it)");
    ok(es_http_route(h, "get", "/x", h_thing, NULL, 0) == ES_ERR_ARG, "methods are case-sensitive");
    ok(es_http_route(h, "GET", "/x", NULL, NULL, 0) == ES_ERR_ARG, "a handler is required");
    ok(es_http_route(h, "GET", "/a/{id}", h_thing, NULL, 0) == ES_OK, "route added");
    ok(es_http_route(h, "GET", "/a/{name}", h_thing, NULL, 0) == ES_ERR_EXISTS,
       "the same shape with another parameter name is the same route");
    ok(es_http_route(h, "POST", "/a/{name}", h_thing, NULL, 0) == ES_OK,
       "the same shape with another method is another route");
    ok(es_http_route(h, "GET", "/healthz", h_thing, NULL, 0) == ES_ERR_EXISTS,
       "the platform routes are taken");
    ok(es_http_route(h, "GET", "/", h_thing, NULL, 0) == ES_OK, "the root can be routed");
    ok(es_http_start(h) == ES_OK && es_http_port(h) != 0, "started on an ephemeral port (%u)",
       es_http_port(h));
    ok(es_http_start(h) == ES_ERR_ARG, "a second start is refused");
    ok(es_http_route(h, "GET", "/late", h_thing, NULL, 0) == ES_ERR_ARG, "no routes after start");

    /* The same port again: bind fails with an I/O error, through the message callback. */
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", es_http_port(h));
    es_http_config c2;
    es_http_config_init(&c2);
    c2.listen = listen;
    es_http *h2 = NULL;
    ok(es_http_new(&c2, &h2) == ES_OK && es_http_start(h2) == ES_ERR_IO,
       "a port in use is ES_ERR_IO");
    ok(es_http_port(h2) == 0, "no port when not started");
    es_http_free(h2);
    es_http_stop(h, 0);
    ok(es_http_port(h) == 0, "no port after stop");
    es_http_stop(h, 0);
    es_http_free(h);
    es_http_free(NULL);

    /* IPv6 loopback, where the machine has it. */
    es_http_config_init(&c2);
    c2.listen = "[::1]:0";
    ok(es_http_new(&c2, &h2) == ES_OK, "an IPv6 listen address is accepted");
    if (h2 && es_http_start(h2) == ES_OK) ok(es_http_port(h2) != 0, "listening on [::1]");
    es_http_free(h2);
}

static void test_err_table(void)
{
    static const struct {
        es_err rv;
        unsigned status;
        const char *code;
    } want[] = {
        {ES_ERR_ARG, 400, "invalid_argument"},
        {ES_ERR_BASE64, 400, "base64"},
        {ES_ERR_DER, 400, "der"},
        {ES_ERR_LOGIN, 500, "internal"}, /* a key device not logged in: the server's fault */
        {ES_ERR_AUTH, 401, "unauthorized"},
        {ES_ERR_PASSWORD, 400, "wrong_password"},
        {ES_ERR_PIN, 403, "pin"},
        {ES_ERR_REVOKED, 409, "revoked"},
        {ES_ERR_BUSY, 503, "busy"},
        {ES_ERR_NOT_FOUND, 404, "not_found"},
        {ES_ERR_EXISTS, 409, "conflict"},
        {ES_ERR_LIMIT, 413, "too_large"},
        {ES_ERR_VERIFY, 422, "verify"},
        {ES_ERR_PIN_LOCKED, 423, "pin_locked"},
        {ES_ERR_CRYPTO, 500, "internal"},
        {ES_ERR_IO, 503, "unavailable"},
        {(es_err)12345, 500, "internal"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        unsigned st;
        const char *code;
        es_http_err_status(want[i].rv, &st, &code);
        ok(st == want[i].status && strcmp(code, want[i].code) == 0,
           "es_err %d -> %u %s (got %u %s)", (int)want[i].rv, want[i].status, want[i].code, st,
           code);
    }
}

static void test_json_check(void)
{
    static const struct {
        const char *json;
        /* NULL: accepted; "json": ES_ERR_JSON (no object); "-": ES_ERR_ARG, no field (an
         * unknown member); else ES_ERR_ARG with that field */
        const char *code;
        const char *in_msg;
    } cases[] = {
        {"{\"name\":\"a\"}", NULL, NULL},
        {"{\"name\":\"a\",\"count\":3,\"ratio\":1.5,\"enabled\":true,\"tags\":[1,2],\"meta\":{},"
         "\"note\":null}",
         NULL, NULL},
        {"{\"name\":\"a\",\"ratio\":2}", NULL, NULL},
        {"{\"name\":\"a\",\"nmae\":\"b\"}", "-", "\"nmae\""},
        {"{}", "name", "\"name\""},
        {"{\"name\":1}", "name", "must be a string, not an integer"},
        {"{\"name\":\"a\",\"count\":\"3\"}", "count", "\"count\" must be an integer, not a string"},
        {"{\"name\":\"a\",\"count\":1.0}", "count", "not a number with a fraction"},
        {"{\"name\":\"a\",\"count\":null}", "count", "not null"},
        {"{\"name\":\"a\",\"enabled\":1}", "enabled", "boolean"},
        {"{\"name\":\"a\",\"tags\":{}}", "tags", "array"},
        {"{\"name\":\"a\",\"meta\":[]}", "meta", "object"},
        {"{\"name\":\"a\",\"tags\":[1,2,3,4]}", "tags", "more than 3"},
        {"{\"name\":\"0123456789abcdefX\"}", "name", "longer than 16"},
        {"[]", "json", "not an array"},
        {"\"x\"", "json", "not a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        const char *field = NULL, *want = cases[i].code;
        char msg[256] = "";
        es_err rv = es_json_check(v, thing_schema, &field, msg, sizeof msg);
        if (!want)
            ok(rv == ES_OK, "schema accepts %s (%s)", cases[i].json, msg);
        else if (strcmp(want, "json") == 0)
            ok(rv == ES_ERR_JSON && !field && strstr(msg, cases[i].in_msg),
               "schema refuses %s: bad_json / %s", cases[i].json, msg);
        else
            ok(rv == ES_ERR_ARG &&
                   (strcmp(want, "-") == 0 ? !field : field && strcmp(field, want) == 0) &&
                   strstr(msg, cases[i].in_msg),
               "schema refuses %s: field %s / %s", cases[i].json, field ? field : "-", msg);
        json_decref(v);
    }
    json_t *v = json_loads("{\"anything\":1}", 0, NULL);
    ok(es_json_check(v, NULL, NULL, NULL, 0) == ES_OK, "no schema: any members");
    json_decref(v);
    ok(es_json_check(NULL, thing_schema, NULL, NULL, 0) == ES_ERR_JSON, "NULL is no object");
}

static void test_platform(unsigned port)
{
    t_resp r;
    t_resp_init(&r);
    ok(t_get(port, "/healthz", &r) == 200 && t_json_str(&r, "status") &&
           strcmp(t_json_str(&r, "status"), "ok") == 0,
       "/healthz 200 {\"status\":\"ok\"}");
    ok(t_has_security_headers(&r), "/healthz has the security headers");
    atomic_store(&healthy, 0);
    ok(t_get(port, "/healthz", &r) == 503 && t_is_error(&r, 503, "unavailable"),
       "/healthz 503 when the health hook fails");
    atomic_store(&healthy, 1);
    ok(t_req(port, "HEAD", "/healthz", NULL, NULL, &r) == 200 && r.body.len == 0,
       "HEAD on a GET route: 200 without a body");

    es_buf doc = t_read(getenv("ESEAL_OPENAPI") ? getenv("ESEAL_OPENAPI") : "docs/openapi.json");
    ok(t_get(port, "/api/v1/openapi.json", &r) == 200 && r.body.len == doc.len &&
           memcmp(r.body.p, doc.p, doc.len) == 0,
       "/api/v1/openapi.json serves docs/openapi.json as embedded");
    const char *ct = t_hdr(&r, "Content-Type");
    ok(ct && strcmp(ct, "application/json") == 0, "openapi.json is application/json");
    json_t *v = json_loadb((const char *)r.body.p, r.body.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *paths = json_object_get(v, "paths");
    ok(v && json_is_string(json_object_get(v, "openapi")) &&
           strncmp(json_string_value(json_object_get(v, "openapi")), "3.0", 3) == 0,
       "the OpenAPI document is 3.0");
    ok(json_object_get(paths, "/healthz") && json_object_get(paths, "/metrics") &&
           json_object_get(paths, "/api/v1/openapi.json"),
       "the OpenAPI document describes the platform endpoints");
    json_decref(v);
    es_buf_cleanup(&doc);
    t_resp_free(&r);
}

static void test_routing(unsigned port)
{
    t_resp r;
    t_resp_init(&r);
    const char *s;
    ok(t_get(port, "/api/v1/things/42", &r) == 200 && (s = t_json_str(&r, "id")) &&
           strcmp(s, "42") == 0,
       "path parameter");
    ok((s = t_json_str(&r, "route")) && strcmp(s, "/api/v1/things/{id}") == 0, "matched pattern");
    ok(t_get(port, "/api/v1/things/special", &r) == 200 && strstr((char *)r.body.p, "special"),
       "a literal segment wins over a parameter");
    ok(t_get(port, "/api/v1/things/%E5%BC%A0%20%E4%B8%89", &r) == 200 &&
           (s = t_json_str(&r, "id")) && strcmp(s, "张 三") == 0,
       "parameters are percent-decoded (%s)", s ? s : "-");
    ok(t_get(port, "/api/v1/things/a%2Fb", &r) == 200 && (s = t_json_str(&r, "id")) &&
           strcmp(s, "a/b") == 0,
       "an encoded slash stays inside its segment");
    ok(t_get(port, "/api/v1/things/a+b", &r) == 200 && (s = t_json_str(&r, "id")) &&
           strcmp(s, "a+b") == 0,
       "'+' is literal in a path");
    const char *good = "Authorization: Bearer good\r\n";
    ok(t_req(port, "GET", "/api/v1/things/", good, NULL, &r) == 404 &&
           t_is_error(&r, 404, "not_found"),
       "an empty parameter does not match");
    ok(t_req(port, "GET", "/api/v1/things/1/more", good, NULL, &r) == 404 &&
           t_is_error(&r, 404, "not_found"),
       "extra segments do not match");
    ok(t_get(port, "/api/v1/nothing", &r) == 401 && t_is_error(&r, 401, "unauthorized"),
       "an unknown API path is 401 to an anonymous client (the auth hook runs first)");
    ok(t_req(port, "GET", "/api/v1/nothing", "Authorization: Bearer good\r\n", NULL, &r) == 404 &&
           t_is_error(&r, 404, "not_found"),
       "an unknown API path is 404 to an authenticated client");
    ok(t_req(port, "GET", "/api/v1/nothing.html", "Authorization: Bearer good\r\n", NULL, &r) ==
               404 &&
           t_is_error(&r, 404, "not_found"),
       "/api/ is never the console");
    ok(t_req(port, "PATCH", "/api/v1/things/1", NULL, "", &r) == 401,
       "405 is not told to an anonymous client either");
    ok(t_req(port, "PATCH", "/api/v1/things/1", good, "", &r) == 405 &&
           t_is_error(&r, 405, "method_not_allowed"),
       "405 for a method the path has no route for");
    const char *allow = t_hdr(&r, "Allow");
    ok(allow && strcmp(allow, "GET, HEAD, PUT, DELETE") == 0, "Allow lists the path's methods (%s)",
       allow ? allow : "-");
    ok(t_has_security_headers(&r), "a 405 has the security headers");
    ok(t_req(port, "BREW", "/api/v1/things/1", good, NULL, &r) == 405,
       "an unknown method on a routed path is 405");
    ok(t_req(port, "PUT", "/api/v1/things/1", NULL, "", &r) == 204 && r.body.len == 0, "204");
    ok(t_req(port, "DELETE", "/api/v1/things/1", NULL, NULL, &r) == 204, "DELETE routed");
    ok(t_get(port, "/api/v1/things/%zz", &r) == 400 && t_is_error(&r, 400, "invalid_argument"),
       "a bad escape is 400");
    ok(t_get(port, "/api/v1/things/a%00b", &r) == 400 && t_is_error(&r, 400, "invalid_argument"),
       "an encoded NUL is 400");
    ok(t_get(port, "/api/v1/things/a%2", &r) == 400, "a cut escape is 400");
    ok(t_raw(port, "GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 46, &r) == 400,
       "asterisk-form is 400");
    const char *abs =
        "GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ok(t_raw(port, abs, strlen(abs), &r) == 400, "absolute-form is 400");
    t_resp_free(&r);
}

static void test_errors(unsigned port)
{
    t_resp r;
    t_resp_init(&r);
    const char *s;
    ok(t_get(port, "/api/v1/errors/not_found", &r) == 404 && t_is_error(&r, 404, "not_found"),
       "ES_ERR_NOT_FOUND returned by a handler: 404 not_found");
    ok(t_get(port, "/api/v1/errors/exists", &r) == 409 && t_is_error(&r, 409, "conflict"),
       "ES_ERR_EXISTS: 409 conflict");
    ok(t_get(port, "/api/v1/errors/io", &r) == 503 && t_is_error(&r, 503, "unavailable") &&
           (s = t_json_str(&r, "message")) && strcmp(s, "service unavailable") == 0,
       "ES_ERR_IO: 503 unavailable, generic message");
    ok(t_get(port, "/api/v1/errors/crypto", &r) == 500 && t_is_error(&r, 500, "internal") &&
           (s = t_json_str(&r, "message")) && strcmp(s, "internal error") == 0,
       "ES_ERR_CRYPTO: 500 internal, nothing of the inside");
    ok(t_get(port, "/api/v1/errors/verify", &r) == 422 && t_is_error(&r, 422, "verify") &&
           (s = t_json_str(&r, "detail")) && strstr(s, "does not verify"),
       "es_http_reply_err with a message");
    ok(t_get(port, "/api/v1/errors/replied", &r) == 409 && t_is_error(&r, 409, "conflict") &&
           (s = t_json_str(&r, "detail")) && strcmp(s, "short and stout") == 0,
       "a handler's own reply stands over its error");
    ok(t_get(port, "/api/v1/errors/none", &r) == 500 && t_is_error(&r, 500, "internal"),
       "a handler that does not reply: 500");
    ok(t_has_security_headers(&r), "a 500 has the security headers");
    t_resp_free(&r);
}

static void test_json_bodies(unsigned port)
{
    t_resp r;
    t_resp_init(&r);
    const char *s;
    ok(t_post(port, "/api/v1/things", "{\"name\":\"印章\",\"count\":3,\"note\":null}", &r) == 201 &&
           (s = t_json_str(&r, "name")) && strcmp(s, "印章") == 0,
       "a valid body is accepted (UTF-8 kept)");
    static const struct {
        const char *body;
        const char *code;
        const char *in_msg;
    } bad[] = {
        {"{\"name\":", "bad_json", "line 1"},
        {"{\"name\":\"a\"} x", "bad_json", "end of file expected"},
        {"{\"name\":\"a\"}{}", "bad_json", "end of file expected"},
        {"{\"name\":\"a\",\"name\":\"b\"}", "bad_json", "duplicate"},
        {"{\"name\":\"a\\u0000b\"}", "bad_json", "NUL"},
        {"{\"name\":\"\xff\"}", "bad_json", "decode byte"},
        {"{'name':'a'}", "bad_json", "column"},
        {"{\"name\":\"a\",\"colour\":\"red\"}", "invalid_argument", "unknown field \"colour\""},
        {"{\"name\":\"a\",\"count\":\"3\"}", "invalid_argument", "\"count\" must be an integer"},
        {"{\"name\":\"a\",\"count\":3.5}", "invalid_argument", "\"count\" must be an integer"},
        {"{\"name\":\"a\",\"count\":99999999999999999999}", "bad_json", "too big"},
        {"{\"count\":3}", "invalid_argument", "\"name\" is required"},
        {"[{\"name\":\"a\"}]", "bad_json", "object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = t_post(port, "/api/v1/things", bad[i].body, &r);
        s = t_json_str(&r, "detail");
        ok(st == 400 && t_is_error(&r, 400, bad[i].code) && s && strstr(s, bad[i].in_msg),
           "body %s: 400 %s (%d %s)", bad[i].body, bad[i].code, st, s ? s : "-");
    }
    /* A long unknown name is cut between characters, never inside one. */
    es_buf lb;
    es_buf_init(&lb, 4096);
    int built = es_buf_append_str(&lb, "{\"name\":\"a\",\"") == ES_OK;
    for (int i = 0; i < 100; i++) built = built && es_buf_append_str(&lb, "印") == ES_OK;
    built = built && es_buf_append_str(&lb, "\":1}") == ES_OK && es_buf_nul(&lb) == ES_OK;
    ok(built && t_post(port, "/api/v1/things", (const char *)lb.p, &r) == 400 &&
           t_is_error(&r, 400, "invalid_argument") && (s = t_json_str(&r, "detail")) &&
           strstr(s, "印印...\"") && strlen(s) < 100,
       "a long unknown field name is clipped at a character boundary");
    es_buf_cleanup(&lb);
    ok(t_req(port, "POST", "/api/v1/things", "Content-Type: text/plain\r\n", "{\"name\":\"a\"}",
             &r) == 415 &&
           t_is_error(&r, 415, "unsupported_media_type"),
       "text/plain: 415");
    ok(t_req(port, "POST", "/api/v1/things", NULL, "{\"name\":\"a\"}", &r) == 415,
       "no Content-Type: 415");
    ok(t_req(port, "POST", "/api/v1/things", "Content-Type: application/jsonx\r\n",
             "{\"name\":\"a\"}", &r) == 415,
       "application/jsonx: 415");
    ok(t_req(port, "POST", "/api/v1/things", "Content-Type: application/json; charset=utf-8\r\n",
             "{\"name\":\"a\"}", &r) == 201,
       "application/json with a charset is accepted");
    ok(t_post(port, "/api/v1/things", "", &r) == 400 && t_is_error(&r, 400, "bad_json") &&
           (s = t_json_str(&r, "detail")) && strstr(s, "empty"),
       "an empty body: 400 bad_json");
    t_resp_free(&r);
}

static void test_query_cookies_auth(unsigned port)
{
    t_resp r;
    t_resp_init(&r);
    const char *s;
    ok(t_req(port, "GET", "/api/v1/query?a=x%20y&b=1+2&a=second&flag&empty=",
             "X-Test: hello\r\nCookie: sid=xyz; other=1\r\n", NULL, &r) == 200,
       "query route");
    ok((s = t_json_str(&r, "a")) && strcmp(s, "x y") == 0, "query decoded, first of repeated");
    ok((s = t_json_str(&r, "b")) && strcmp(s, "1 2") == 0, "'+' is a space in a query");
    ok((s = t_json_str(&r, "flag")) && strcmp(s, "") == 0, "?flag is present and empty");
    ok((s = t_json_str(&r, "empty")) && strcmp(s, "") == 0, "?empty= is empty");
    ok(!t_json_str(&r, "missing"), "a missing parameter is NULL");
    ok((s = t_json_str(&r, "x_test")) && strcmp(s, "hello") == 0, "header, any case");
    ok((s = t_json_str(&r, "sid")) && strcmp(s, "xyz") == 0, "cookie");
    ok((s = t_json_str(&r, "client")) && strcmp(s, "127.0.0.1") == 0, "client address");
    ok((s = t_json_str(&r, "path")) && strcmp(s, "/api/v1/query") == 0, "raw path, no query");
    ok(!t_json_str(&r, "user"), "no user without the auth hook setting one");
    ok(t_get(port, "/api/v1/query?a=%G1", &r) == 400 && t_is_error(&r, 400, "invalid_argument"),
       "a bad escape in the query: 400");

    ok(t_post(port, "/api/v1/cookie", "", &r) == 204, "cookie route");
    char c1[512], c2[512];
    ok(t_hdr_n(&r, "Set-Cookie", 0, c1, sizeof c1) &&
           strcmp(c1, "sid=abc123; Path=/; HttpOnly; SameSite=Strict") == 0,
       "session cookie: HttpOnly, SameSite=Strict (%s)", c1);
    ok(t_hdr_n(&r, "Set-Cookie", 1, c2, sizeof c2) &&
           strcmp(c2, "old=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0") == 0,
       "deleting cookie: Max-Age=0 (%s)", c2);
    ok((s = t_hdr(&r, "X-Extra")) && strcmp(s, "yes") == 0, "extra header");
    ok(!strstr(r.head, "Injected"), "no header injection");

    ok(t_get(port, "/api/v1/private", &r) == 401 && t_is_error(&r, 401, "unauthorized"),
       "auth hook: anonymous on a private route is 401");
    ok(t_req(port, "GET", "/api/v1/private", "Authorization: Bearer wrong\r\n", NULL, &r) == 401,
       "auth hook: a wrong credential is 401");
    ok(t_req(port, "GET", "/api/v1/private", "Authorization: Bearer forbidden\r\n", NULL, &r) ==
               403 &&
           t_is_error(&r, 403, "forbidden"),
       "auth hook: its own 403 reply");
    ok(t_req(port, "GET", "/api/v1/private", "Authorization: Bearer denied\r\n", NULL, &r) == 403 &&
           t_is_error(&r, 403, "forbidden"),
       "auth hook: ES_ERR_DENIED is 403 forbidden");
    ok(t_req(port, "GET", "/api/v1/private", "Authorization: Bearer locked\r\n", NULL, &r) == 423 &&
           t_is_error(&r, 423, "locked"),
       "auth hook: ES_ERR_LOCKED is 423 locked");
    ok(t_req(port, "GET", "/api/v1/private", "Authorization: Bearer storedown\r\n", NULL, &r) ==
               503 &&
           t_is_error(&r, 503, "unavailable"),
       "auth hook: ES_ERR_IO is 503");
    ok(t_req(port, "GET", "/api/v1/private", "Authorization: Bearer odd\r\n", NULL, &r) == 401 &&
           t_is_error(&r, 401, "unauthorized"),
       "auth hook: another code is a plain 401");
    ok(t_req(port, "GET", "/api/v1/private", "Authorization: Bearer good\r\n", NULL, &r) == 200 &&
           (s = t_json_str(&r, "user")) && strcmp(s, "alice") == 0,
       "auth hook: per-request user data reaches the handler");
    ok(t_req(port, "GET", "/api/v1/query", "Authorization: Bearer forbidden\r\n", NULL, &r) == 403,
       "auth hook runs on public routes too");
    t_resp_free(&r);
}

static void test_pagination(unsigned port)
{
    t_resp r;
    t_resp_init(&r);
    json_t *v;
    const char *s;

    ok(t_get(port, "/api/v1/items", &r) == 200, "first page");
    v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    ok(json_array_size(json_object_get(v, "items")) == 10 && (s = t_json_str(&r, "next_cursor")) &&
           strcmp(s, "c10") == 0,
       "default limit 10, next_cursor");
    json_decref(v);
    ok(t_get(port, "/api/v1/items?limit=1000&cursor=c100", &r) == 200, "last page");
    v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    ok(json_array_size(json_object_get(v, "items")) == 20 &&
           json_is_null(json_object_get(v, "next_cursor")),
       "limit above max lowered; next_cursor null on the last page");
    json_decref(v);
    ok(t_get(port, "/api/v1/items?limit=1000", &r) == 200, "limit 1000");
    v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    ok(json_array_size(json_object_get(v, "items")) == 50, "limit lowered to the max (50)");
    json_decref(v);
    ok(t_get(port, "/api/v1/items?limit=99999999999999999999999", &r) == 200,
       "a huge limit is lowered, not overflowed");
    static const char *const bad[] = {"limit=0", "limit=abc",    "limit=-1",
                                      "limit=",  "limit=1.5",    "limit=%2B5",
                                      "cursor=", "cursor=a%20b", "cursor=%2Fx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/items?%s", bad[i]);
        ok(t_get(port, path, &r) == 400 && t_is_error(&r, 400, "invalid_argument"), "?%s: 400",
           bad[i]);
    }
    char path[400] = "/api/v1/items?cursor=c";
    memset(path + strlen(path), '1', 300);
    path[22 + 300] = '\0';
    ok(t_get(port, path, &r) == 400, "a cursor longer than ES_MAX_HTTP_CURSOR: 400");
    t_resp_free(&r);
}

/* Waits until the server has finished the requests in flight (the completion callback runs
 * after the client has its response); not settled within 5 s is a failed check, so that what
 * follows never reads a state that is still moving. */
static void settle(es_http *h)
{
    double f = 1;
    for (int i = 0; i < 500; i++) {
        es_buf b;
        es_buf_init(&b, 1u << 20);
        f = 1;
        if (es_http_metrics_text(h, &b) == ES_OK && es_buf_nul(&b) == ES_OK)
            f = t_metric((const char *)b.p, "eseal_http_requests_in_flight");
        es_buf_cleanup(&b);
        if (f == 0) return;
        sleep_ms(10);
    }
    ok(0, "settle: requests still in flight after 5 s (%g)", f);
}

static void test_body_limit(es_http *h, unsigned port)
{
    t_resp r;
    t_resp_init(&r);
    int before = atomic_load(&handled);
    pthread_mutex_lock(&log_lock);
    int l413 = log_413;
    pthread_mutex_unlock(&log_lock);

    /* Announced too large: refused at the headers, before any of the body is read. */
    const char *hdr = "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: 5000\r\n\r\n";
    int fd = t_connect(port);
    ok(fd >= 0 && t_send(fd, hdr, strlen(hdr)) == 0 && t_send(fd, "{\"a\":", 5) == 0 &&
           t_response(fd, 0, &r) == 413 && t_is_error(&r, 413, "too_large"),
       "Content-Length over the limit: 413 too_large");
    ok(t_has_security_headers(&r), "a 413 has the security headers");
    ok(strstr(r.head, "Connection: close") != NULL, "the connection is closed after a 413");
    if (fd >= 0) close(fd);

    const char *expect = "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                         "Content-Length: 1000000000000000\r\n\r\n";
    fd = t_connect(port);
    char first[16] = "";
    ok(fd >= 0 && t_send(fd, expect, strlen(expect)) == 0 &&
           recv(fd, first, 12, MSG_WAITALL) == 12 && strncmp(first, "HTTP/1.1 413", 12) == 0,
       "Expect: 100-continue with a huge body: 413 at once, no 100 Continue");
    if (fd >= 0) close(fd);

    /* Exactly the limit is accepted; one byte more is not. */
    char *big = malloc(MAX_BODY + 2);
    memset(big, 'x', MAX_BODY + 1);
    big[MAX_BODY] = '\0';
    const char *s;
    ok(t_req(port, "POST", "/api/v1/echo", NULL, big, &r) == 200 && (s = (char *)r.body.p) &&
           strstr(s, "\"len\":4096"),
       "a body of exactly the limit is accepted");
    big[MAX_BODY] = 'x';
    big[MAX_BODY + 1] = '\0';
    int mid = atomic_load(&handled);
    ok(t_req(port, "POST", "/api/v1/echo", NULL, big, &r) == 413, "limit + 1: 413");
    ok(atomic_load(&handled) == mid, "no handler ran for the oversized bodies");

    /* Chunked: nothing announced; past the limit the connection is closed, nothing handled. */
    fd = t_connect(port);
    const char *ch = "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    int sent = fd >= 0 && t_send(fd, ch, strlen(ch)) == 0;
    for (int i = 0; sent && i < 3; i++) {
        char line[16];
        snprintf(line, sizeof line, "%x\r\n", 2000);
        sent = t_send(fd, line, strlen(line)) == 0 && t_send(fd, big, 2000) == 0 &&
               t_send(fd, "\r\n", 2) == 0;
    }
    if (sent) t_send(fd, "0\r\n\r\n", 5);
    ok(fd >= 0 && t_response(fd, 0, &r) == -1, "chunked body over the limit: connection closed");
    if (fd >= 0) close(fd);
    const char *small = "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    ok(t_raw(port, small, strlen(small), &r) == 200 && strstr((char *)r.body.p, "\"len\":5"),
       "a chunked body under the limit is accepted");
    free(big);
    settle(h);
    ok(atomic_load(&handled) == before + 2,
       "handlers ran only for the two bodies within the limit (%d)",
       atomic_load(&handled) - before);
    pthread_mutex_lock(&log_lock);
    ok(log_413 - l413 == 3, "the log callback saw the three 413s (%d)", log_413 - l413);
    pthread_mutex_unlock(&log_lock);

    /* A route's own, lower limit. */
    char body[102];
    memset(body, 'y', 100);
    body[100] = 0;
    ok(t_req(port, "POST", "/api/v1/echo-small", NULL, body, &r) == 200 &&
           strstr((char *)r.body.p, "\"len\":100"),
       "a route's own limit: exactly 100 bytes accepted");
    strcat(body, "y");
    ok(t_req(port, "POST", "/api/v1/echo-small", NULL, body, &r) == 413 &&
           t_is_error(&r, 413, "too_large") && strstr((char *)r.body.p, "100 bytes"),
       "101 bytes: 413, naming the route's limit");
    ok(t_req(port, "POST", "/api/v1/echo", NULL, body, &r) == 200,
       "the same body on a route without its own limit: accepted");
    fd = t_connect(port);
    const char *ch2 = "POST /api/v1/echo-small HTTP/1.1\r\nHost: x\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n40\r\n";
    sent = fd >= 0 && t_send(fd, ch2, strlen(ch2)) == 0 && t_send(fd, body, 64) == 0 &&
           t_send(fd, "\r\n40\r\n", 6) == 0 && t_send(fd, body, 64) == 0 &&
           t_send(fd, "\r\n0\r\n\r\n", 7) == 0;
    ok(fd >= 0 && t_response(fd, 0, &r) == -1,
       "a chunked body over the route's limit: connection closed");
    if (fd >= 0) close(fd);
    t_resp_free(&r);
}

static void test_truncated_malformed(es_http *h, unsigned port)
{
    t_resp r;
    t_resp_init(&r);
    int before = atomic_load(&handled);
    pthread_mutex_lock(&log_lock);
    int ab = log_aborted;
    pthread_mutex_unlock(&log_lock);

    /* Fewer bytes than Content-Length, then the client goes away. */
    const char *hdr =
        "POST /api/v1/things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{\"name\":\"trunc";
    int fd = t_connect(port);
    ok(fd >= 0 && t_send(fd, hdr, strlen(hdr)) == 0, "truncated request sent");
    if (fd >= 0) close(fd);
    /* Headers cut in the middle. */
    const char *cut = "GET /api/v1/things/1 HTTP/1.1\r\nHost: x\r\nX-Half: ab";
    fd = t_connect(port);
    if (fd >= 0) {
        ok(t_send(fd, cut, strlen(cut)) == 0, "cut headers sent");
        close(fd);
    }
    /* The server sees the bytes and the close when it sees them: wait for both ends. */
    int ended = 0;
    for (int i = 0; i < 1000 && ended < 2; i++) {
        pthread_mutex_lock(&log_lock);
        ended = log_aborted - ab;
        pthread_mutex_unlock(&log_lock);
        if (ended < 2) sleep_ms(10);
    }
    ok(ended == 2, "both ended without a response, logged with status 0 (%d)", ended);
    settle(h);
    ok(atomic_load(&handled) == before, "no handler ran for the truncated requests");

    static const char *const malformed[] = {
        "GARBAGE\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "GET /healthz HTTP/1.1\r\n\r\n", /* HTTP/1.1 without Host */
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        int st = t_raw(port, malformed[i], strlen(malformed[i]), &r);
        ok(st == 400 || st == -1, "malformed request %zu: 400 or closed (%d)", i, st);
    }
    es_buf big;
    es_buf_init(&big, 1u << 20);
    int built = es_buf_append_str(&big, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ") == ES_OK;
    for (int i = 0; built && i < 16000; i++) built = es_buf_append_byte(&big, 'a') == ES_OK;
    built = built && es_buf_append_str(&big, "\r\n\r\n") == ES_OK;
    ok(built && t_raw(port, (const char *)big.p, big.len, &r) == 200,
       "a 16 KiB header (a certificate chain, a long token) is served");
    big.len -= 4;
    for (int i = 0; built && i < 20000; i++) built = es_buf_append_byte(&big, 'a') == ES_OK;
    built = built && es_buf_append_str(&big, "\r\n\r\n") == ES_OK;
    ok(built && t_raw(port, (const char *)big.p, big.len, &r) == 431, "headers over 32 KiB: 431");
    big.len = 0;
    built = es_buf_append_str(&big, "GET /healthz?") == ES_OK;
    for (int i = 0; built && i < 36000; i++) built = es_buf_append_byte(&big, 'a') == ES_OK;
    built = built && es_buf_append_str(&big, " HTTP/1.1\r\nHost: x\r\n\r\n") == ES_OK;
    ok(built && t_raw(port, (const char *)big.p, big.len, &r) == 414, "a target over 32 KiB: 414");
    big.len = 0;
    built = es_buf_append_str(&big, "GET /api/v1/query?") == ES_OK;
    for (int i = 0; built && i < 65; i++) built = es_buf_printf(&big, "p%d=1&", i) == ES_OK;
    built = built && es_buf_append_str(&big, " HTTP/1.1\r\nHost: x\r\n\r\n") == ES_OK;
    ok(built && t_raw(port, (const char *)big.p, big.len, &r) == 400 &&
           t_is_error(&r, 400, "invalid_argument"),
       "more than 64 query parameters: 400");
    es_buf_cleanup(&big);

    static const char *const smuggle[] = {
        "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        ("POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof smuggle / sizeof smuggle[0]; i++)
        ok(t_raw(port, smuggle[i], strlen(smuggle[i]), &r) == 400 &&
               t_is_error(&r, 400, "invalid_argument"),
           "ambiguous framing %zu: 400", i);
    ok(t_get(port, "/healthz", &r) == 200, "the server still answers");
    settle(h);
    ok(atomic_load(&handled) == before, "no handler ran for the malformed requests");
    t_resp_free(&r);
}

static void test_slow_client(void)
{
    es_http_config cfg;
    es_http *h;
    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.timeout = 1;
    if (es_http_new(&cfg, &h) != ES_OK ||
        es_http_route(h, "POST", "/api/v1/echo", h_echo_len, NULL, ES_HTTP_PUBLIC) != ES_OK ||
        es_http_start(h) != ES_OK) {
        ok(0, "slow-client server");
        return;
    }
    unsigned port = es_http_port(h);
    int fd = t_connect(port);
    const char *part = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    ok(fd >= 0 && t_send(fd, part, strlen(part)) == 0, "half a request sent");
    double t0 = now_s();
    char c;
    ssize_t k = fd >= 0 ? recv(fd, &c, 1, 0) : 1;
    double waited = now_s() - t0;
    /* The client's own receive timeout is 10 s: an earlier end is the server's doing. */
    ok(k <= 0 && waited < 8, "a stalled client is disconnected (recv %zd after %.1f s)", k, waited);
    if (fd >= 0) close(fd);
    fd = t_connect(port);
    k = fd >= 0 ? recv(fd, &c, 1, 0) : 1;
    ok(k <= 0, "an idle connection is closed");
    if (fd >= 0) close(fd);
    /* A truncated body and a half-closed socket: the client might still read, so the server
     * waits, but only until the timeout; the handler never runs. */
    const char *hdr = "POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    fd = t_connect(port);
    ok(fd >= 0 && t_send(fd, hdr, strlen(hdr)) == 0 && shutdown(fd, SHUT_WR) == 0,
       "truncated body, then half-close");
    t0 = now_s();
    k = fd >= 0 ? recv(fd, &c, 1, 0) : 1;
    waited = now_s() - t0;
    ok(k <= 0 && waited < 8, "closed at the timeout without a response (%.1f s)", waited);
    if (fd >= 0) close(fd);
    t_resp r;
    t_resp_init(&r);
    ok(t_get(port, "/healthz", &r) == 200, "others are still served");
    t_resp_free(&r);
    es_http_free(h);
}

#define CLIENTS  16
#define REQUESTS 40

typedef struct worker {
    unsigned port;
    int id;
    int good;
    int keepalive_good;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    t_resp r;
    t_resp_init(&r);
    for (int i = 0; i < REQUESTS; i++) {
        char path[64], want[32];
        snprintf(want, sizeof want, "w%d-%d", w->id, i);
        snprintf(path, sizeof path, "/api/v1/things/%s", want);
        int st = t_get(w->port, path, &r);
        if (st != 200) {
            fprintf(stderr, "client %d request %d: %d (errno %d)\n", w->id, i, st, errno);
            continue;
        }
        json_t *v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
        const char *id = json_string_value(json_object_get(v, "id"));
        if (id && strcmp(id, want) == 0) w->good++;
        json_decref(v);
    }
    /* Keep-alive: several requests on one connection. */
    int fd = t_connect(w->port);
    for (int i = 0; fd >= 0 && i < 5; i++) {
        char q[128];
        snprintf(q, sizeof q, "GET /api/v1/things/k%d-%d HTTP/1.1\r\nHost: x\r\n\r\n", w->id, i);
        int st = -2;
        if (t_send(fd, q, strlen(q)) != 0 || (st = t_response(fd, 0, &r)) != 200) {
            fprintf(stderr, "keepalive %d/%d: %d %s\n", w->id, i, st, r.head);
            break;
        }
        char want[32];
        snprintf(want, sizeof want, "\"k%d-%d\"", w->id, i);
        if (strstr((char *)r.body.p, want)) w->keepalive_good++;
    }
    if (fd >= 0) close(fd);
    t_resp_free(&r);
    return NULL;
}

static void test_concurrency(es_http *h, unsigned port)
{
    pthread_t t[CLIENTS];
    worker w[CLIENTS];
    es_buf b;
    es_buf_init(&b, 1u << 20);
    double before = 0;
    const char *key = "eseal_http_requests_total{route=\"/api/v1/things/{id}\",method=\"GET\","
                      "status=\"200\"}";
    settle(h);
    if (es_http_metrics_text(h, &b) == ES_OK && es_buf_nul(&b) == ES_OK)
        before = t_metric((const char *)b.p, key);
    es_buf_cleanup(&b);

    for (int i = 0; i < CLIENTS; i++) {
        w[i] = (worker){port, i, 0, 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    int good = 0, ka = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        good += w[i].good;
        ka += w[i].keepalive_good;
    }
    ok(good == CLIENTS * REQUESTS, "%d concurrent clients: %d of %d answers right", CLIENTS, good,
       CLIENTS * REQUESTS);
    if (good != CLIENTS * REQUESTS) {
        es_buf_init(&b, 1u << 20);
        if (es_http_metrics_text(h, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
            for (char *l = strtok((char *)b.p, "\n"); l; l = strtok(NULL, "\n"))
                if (strstr(l, "dropped") || strstr(l, "refused") || strstr(l, "stale"))
                    fprintf(stderr, "  %s\n", l);
        }
        es_buf_cleanup(&b);
    }
    ok(ka == CLIENTS * 5, "keep-alive: %d of %d answers right", ka, CLIENTS * 5);

    settle(h);
    t_resp r;
    t_resp_init(&r);
    ok(t_get(port, "/metrics", &r) == 200, "/metrics");
    const char *ct = t_hdr(&r, "Content-Type");
    ok(ct && strncmp(ct, "text/plain; version=0.0.4", 25) == 0, "Prometheus content type");
    const char *text = (const char *)r.body.p;
    double after = t_metric(text, key);
    ok(after - before == CLIENTS * (REQUESTS + 5), "requests_total counted every request (%.0f)",
       after - before);
    char hk[256];
    snprintf(hk, sizeof hk,
             "eseal_http_request_duration_seconds_count{route=\"/api/v1/things/{id}\","
             "method=\"GET\"}");
    double hc = t_metric(text, hk);
    snprintf(hk, sizeof hk,
             "eseal_http_request_duration_seconds_bucket{route=\"/api/v1/things/{id}\","
             "method=\"GET\",le=\"+Inf\"}");
    ok(hc >= after && t_metric(text, hk) == hc, "histogram count and +Inf bucket agree (%.0f)", hc);
    ok(strstr(text, "# TYPE eseal_http_request_duration_seconds histogram") &&
           strstr(text, "# TYPE eseal_http_requests_total counter") &&
           strstr(text, "# TYPE eseal_http_requests_in_flight gauge"),
       "TYPE lines");
    ok(t_metric(text, "eseal_http_requests_in_flight") == 1, "in flight: the scrape itself (%.0f)",
       t_metric(text, "eseal_http_requests_in_flight"));
    ok(t_metric(text,
                "eseal_http_requests_total{route=\"unmatched\",method=\"PATCH\",status=\"405\"}") >=
           1,
       "405 counted under route=\"unmatched\"");
    ok(t_metric(text, "eseal_http_requests_total{route=\"/api/v1/echo\",method=\"POST\","
                      "status=\"413\"}") == 3,
       "413 counted under its route");
    ok(t_metric(text, "eseal_http_requests_aborted_total") >= 2, "aborted requests counted");
    ok(!strstr(text, "w1-1"), "paths never become labels");
    t_resp_free(&r);
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ok(es_file_write(path, text, strlen(text)) == ES_OK, "fixture %s", path);
}

/* The console from a directory, with a secret next to it and a link out of it. */
static void test_static_dir(const char *tmp)
{
    char web[512], path[600];
    snprintf(web, sizeof web, "%s/web", tmp);
    mkdir(web, 0700);
    snprintf(path, sizeof path, "%s/sub", web);
    mkdir(path, 0700);
    put(web, "index.html", "<!doctype html><title>dir</title>");
    put(web, "app.js", "console.log(1)");
    put(web, "sub/a.txt", "AAA");
    put(web, ".hidden", "HIDDEN");
    put(tmp, "secret", "SECRET");
    char link[600];
    snprintf(path, sizeof path, "%s/secret", tmp);
    snprintf(link, sizeof link, "%s/link", web);
    ok(symlink(path, link) == 0, "symlink out of the directory");

    es_http_config cfg;
    es_http *h;
    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.static_dir = web;
    cfg.secure_cookies = 1;
    if (es_http_new(&cfg, &h) != ES_OK ||
        es_http_route(h, "POST", "/api/v1/cookie", h_cookie, NULL, 0) != ES_OK ||
        es_http_start(h) != ES_OK) {
        ok(0, "static-dir server");
        return;
    }
    unsigned port = es_http_port(h);
    t_resp r;
    t_resp_init(&r);
    const char *ct;
    ok(t_get(port, "/", &r) == 200 && strstr((char *)r.body.p, "<title>dir</title>") &&
           (ct = t_hdr(&r, "Content-Type")) && strcmp(ct, "text/html; charset=utf-8") == 0,
       "/ is index.html from the directory");
    ok(t_get(port, "/app.js", &r) == 200 && (ct = t_hdr(&r, "Content-Type")) &&
           strcmp(ct, "text/javascript; charset=utf-8") == 0,
       "a .js file: text/javascript");
    ok(t_get(port, "/sub/a.txt", &r) == 200 && strcmp((char *)r.body.p, "AAA") == 0,
       "a file in a subdirectory");
    ok(t_req(port, "HEAD", "/sub/a.txt", NULL, NULL, &r) == 200 && r.body.len == 0 &&
           (ct = t_hdr(&r, "Content-Length")) && strcmp(ct, "3") == 0,
       "HEAD on a file: its length, no body");
    static const char *const attacks[] = {
        "/../secret",
        "/%2e%2e/secret",
        "/%2E%2E/secret",
        "/..%2fsecret",
        "/sub/../../secret",
        "/sub/%2e%2e/%2e%2e/secret",
        "/sub/..%2f..%2fsecret",
        "/..%5csecret",
        "/sub/..%5c..%5csecret",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/etc/passwd",
        "/.hidden",
        "/%2ehidden",
        "/link",
        "/sub",
        "/sub/",
        "/./index.html",
        "/sub/./a.txt",
        "/index.html%00.js",
        "/%c0%ae%c0%ae/secret",
        "/..",
        "/%2e%2e",
        "/sub/a.txt/..",
    };
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        int st = t_get(port, attacks[i], &r);
        ok((st == 404 || st == 400) && !strstr((char *)r.body.p, "SECRET") &&
               !strstr((char *)r.body.p, "HIDDEN") && !strstr((char *)r.body.p, "root:"),
           "traversal %s: %d, nothing served", attacks[i], st);
    }
    const char *raw = "GET /../secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int st = t_raw(port, raw, strlen(raw), &r);
    ok((st == 404 || st == 400) && !strstr((char *)r.body.p, "SECRET"), "raw /../secret: %d", st);
    raw = "GET ../secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ok(t_raw(port, raw, strlen(raw), &r) == 400, "a relative target: 400");
    raw = "GET /tmp/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    st = t_raw(port, raw, strlen(raw), &r);
    ok((st == 404 || st == 400) && !strstr((char *)r.body.p, "root:"), "absolute path: %d", st);

    ok(t_post(port, "/api/v1/cookie", "", &r) == 204, "cookie route (secure)");
    char c1[512];
    ok(t_hdr_n(&r, "Set-Cookie", 0, c1, sizeof c1) &&
           strcmp(c1, "sid=abc123; Path=/; HttpOnly; SameSite=Strict; Secure") == 0,
       "secure_cookies adds Secure (%s)", c1);
    t_resp_free(&r);
    es_http_free(h);
}

static void test_static_embedded(unsigned port)
{
    t_resp r;
    t_resp_init(&r);
    const char *web = getenv("ESEAL_WEB");
    char path[4096];
    snprintf(path, sizeof path, "%s/index.html", web ? web : "web");
    es_buf idx = t_read(path);
    const char *s;
    ok(t_get(port, "/", &r) == 200 && r.body.len == idx.len &&
           memcmp(r.body.p, idx.p, idx.len) == 0,
       "/ serves the embedded web/index.html");
    ok((s = t_hdr(&r, "Content-Type")) && strcmp(s, "text/html; charset=utf-8") == 0,
       "index.html: text/html");
    ok((s = t_hdr(&r, "Cache-Control")) && strcmp(s, "no-cache") == 0, "console files: no-cache");
    ok(t_has_security_headers(&r), "a console file has the security headers");
    ok(t_get(port, "/index.html", &r) == 200 && r.body.len == idx.len, "/index.html");
    es_buf_cleanup(&idx);
    ok(t_get(port, "/css/console.css", &r) == 200 && (s = t_hdr(&r, "Content-Type")) &&
           strcmp(s, "text/css; charset=utf-8") == 0,
       "console.css: text/css");
    ok(t_get(port, "/js/main.js", &r) == 200 && (s = t_hdr(&r, "Content-Type")) &&
           strcmp(s, "text/javascript; charset=utf-8") == 0,
       "main.js: text/javascript");
    ok(t_get(port, "/nope.html", &r) == 404 && t_is_error(&r, 404, "not_found"),
       "a missing console file: 404 JSON");
    ok(t_get(port, "/css/../index.html", &r) == 404 && t_get(port, "/%2e%2e/index.html", &r) == 404,
       "no dot segments into the embedded files");
    ok(t_req(port, "POST", "/index.html", "Content-Type: application/json\r\n", "{}", &r) == 401,
       "POST outside the API is not the console (anonymous: 401)");
    ok((s = t_hdr(&r, "Cache-Control")) && strcmp(s, "no-store") == 0, "API answers: no-store");
    t_resp_free(&r);
}

/* Graceful stop: a request in its handler when the stop comes still gets its answer. */
static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cond = PTHREAD_COND_INITIALIZER;
static int slow_entered;

static es_err h_slow(es_http_req *r, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&slow_lock);
    slow_entered = 1;
    pthread_cond_broadcast(&slow_cond);
    pthread_mutex_unlock(&slow_lock);
    sleep_ms(300);
    return es_http_reply_json_new(r, 200, json_pack("{s:s}", "done", "yes"));
}

typedef struct slow_client {
    unsigned port;
    int status;
} slow_client;

static void *slow_work(void *arg)
{
    slow_client *c = arg;
    t_resp r;
    t_resp_init(&r);
    c->status = t_get(c->port, "/slow", &r);
    t_resp_free(&r);
    return NULL;
}

static void test_graceful_stop(void)
{
    es_http_config cfg;
    es_http *h;
    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    if (es_http_new(&cfg, &h) != ES_OK ||
        es_http_route(h, "GET", "/slow", h_slow, NULL, 0) != ES_OK || es_http_start(h) != ES_OK) {
        ok(0, "graceful-stop server");
        return;
    }
    slow_client c = {es_http_port(h), 0};
    pthread_t t;
    pthread_create(&t, NULL, slow_work, &c);
    pthread_mutex_lock(&slow_lock);
    while (!slow_entered) pthread_cond_wait(&slow_cond, &slow_lock);
    pthread_mutex_unlock(&slow_lock);
    es_http_stop(h, 5000);
    pthread_join(t, NULL);
    ok(c.status == 200, "the request in flight at stop was answered (%d)", c.status);
    ok(t_connect(c.port) < 0, "nothing listens after stop");
    es_http_free(h);
}

/* The server's own messages (libmicrohttpd's): on stderr, to explain a failure. */
static void on_server_msg(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "server: %s\n", msg);
}

/* ---- Issue 13, items 1, 2 and 16: outsiders (docs/http.md, "Limits", "Metrics"). */

/* A connection from the loopback address src (127.0.0.x: another "client address"), with a
 * receive timeout of 5 s so that a server that does not answer fails the check, not the run. */
static int t_connect_from(const char *src, unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0}, b = {0};
    b.sin_family = AF_INET;
    if (inet_pton(AF_INET, src, &b.sin_addr) != 1 || bind(fd, (struct sockaddr *)&b, sizeof b)) {
        close(fd);
        return -1;
    }
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 1 when the server ends the connection within secs (bytes it sends first are read and
 * dropped), 0 when it is still open then. */
static int closed_within(int fd, double secs)
{
    double end = now_s() + secs;
    char buf[4096];
    while (now_s() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        int ms = (int)((end - now_s()) * 1000) + 1;
        if (poll(&p, 1, ms) <= 0) continue;
        ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return 1;
    }
    return 0;
}

/* The value of a metric of h, waiting up to 5 s for it to equal want; returns the last value. */
static double wait_metric(es_http *h, const char *name, double want)
{
    double v = -1;
    for (int i = 0; i < 500; i++) {
        es_buf b;
        es_buf_init(&b, 1u << 20);
        if (es_http_metrics_text(h, &b) == ES_OK && es_buf_nul(&b) == ES_OK)
            v = t_metric((const char *)b.p, name);
        es_buf_cleanup(&b);
        if (v == want) break;
        sleep_ms(10);
    }
    return v;
}

static atomic_int deferred_calls, body_calls;

/* "Bearer good" passes; "Bearer later" is decided on the body ("ok"), as a signed request is;
 * anything else is refused unless public. */
static es_err auth_defer(es_http_req *r, void *arg)
{
    (void)arg;
    const char *a = es_http_req_header(r, "Authorization");
    if (a && strcmp(a, "Bearer good") == 0) return ES_OK;
    if (a && strcmp(a, "Bearer later") == 0) {
        if (!es_http_req_body_ready(r)) {
            atomic_fetch_add(&deferred_calls, 1);
            es_http_req_defer_auth(r);
            return ES_OK;
        }
        atomic_fetch_add(&body_calls, 1);
        return es_slice_eq_str(es_http_req_body(r), "ok") ? ES_OK : ES_ERR_AUTH;
    }
    return es_http_req_is_public(r) ? ES_OK : ES_ERR_AUTH;
}

static es_http *limits_server(es_http_config *cfg)
{
    es_http *h = NULL;
    cfg->listen = "127.0.0.1:0";
    cfg->msg = on_server_msg;
    if (es_http_new(cfg, &h) != ES_OK) return NULL;
    if (es_http_route(h, "POST", "/api/v1/echo", h_echo_len, NULL, 0) != ES_OK ||
        es_http_route(h, "POST", "/api/v1/open", h_echo_len, NULL, ES_HTTP_PUBLIC) != ES_OK) {
        es_http_free(h);
        return NULL;
    }
    es_http_set_auth(h, auth_defer, NULL);
    if (es_http_start(h) != ES_OK) {
        es_http_free(h);
        return NULL;
    }
    return h;
}

/* Item 1: a request that will be refused (401), or that no route takes (404), is answered as
 * soon as its head is in, without waiting for a body it announced, and the connection ends. */
static void test_early_answers(void)
{
    es_http_config cfg;
    es_http_config_init(&cfg);
    cfg.max_body = 1u << 20;
    es_http *h = limits_server(&cfg);
    ok(h != NULL, "early-answer server");
    if (!h) return;
    unsigned port = es_http_port(h);
    static const struct {
        const char *head;
        int status;
        const char *code;
    } cases[] = {
        {"POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n", 401,
         "unauthorized"},
        {"POST /no/such/path HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n", 401,
         "unauthorized"},
        {"POST /no/such/path HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
         "Content-Length: 500000\r\n\r\n",
         404, "not_found"},
        {"PUT /api/v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
         "Content-Length: 500000\r\n\r\n",
         405, "method_not_allowed"},
    };
    int before = atomic_load(&handled);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t_resp r;
        t_resp_init(&r);
        int fd = t_connect_from("127.0.0.1", port);
        double t0 = now_s();
        int st = fd >= 0 && t_send(fd, cases[i].head, strlen(cases[i].head)) == 0
                     ? t_response(fd, 0, &r)
                     : -1;
        ok(st == cases[i].status && t_is_error(&r, cases[i].status, cases[i].code),
           "case %zu: %d %s before any byte of the 500000-byte body (%d after %.2f s)", i,
           cases[i].status, cases[i].code, st, now_s() - t0);
        ok(fd >= 0 && closed_within(fd, 3), "case %zu: and the connection is closed", i);
        if (fd >= 0) close(fd);
        t_resp_free(&r);
    }
    /* A hook that needs the body (a request signed over it) defers: checked again with it. */
    t_resp r;
    t_resp_init(&r);
    ok(t_req(port, "POST", "/api/v1/echo", "Authorization: Bearer later\r\n", "ok", &r) == 200,
       "a deferred authentication that the body satisfies: 200");
    ok(t_req(port, "POST", "/api/v1/echo", "Authorization: Bearer later\r\n", "no", &r) == 401,
       "a deferred authentication that the body does not satisfy: 401");
    ok(atomic_load(&deferred_calls) == 2 && atomic_load(&body_calls) == 2,
       "the hook was called before and with each body (%d, %d)", atomic_load(&deferred_calls),
       atomic_load(&body_calls));
    ok(atomic_load(&handled) == before + 1, "one handler ran (%d)", atomic_load(&handled) - before);
    t_resp_free(&r);
    es_http_stop(h, 1000);
    es_http_free(h);
}

/* Item 1: the bodies held at once are bounded by body_budget; past it, 503 with Retry-After
 * before the body is read. */
static void test_body_budget(void)
{
    es_http_config cfg;
    es_http_config_init(&cfg);
    cfg.max_body = 8000;
    cfg.body_budget = 10000;
    cfg.body_per_address = 10000; /* the whole budget: the share is checked below */
    es_http *h = limits_server(&cfg);
    ok(h != NULL, "budget server");
    if (!h) return;
    unsigned port = es_http_port(h);
    char *body = malloc(8001);
    if (!body) return;
    memset(body, 'a', 8000);
    body[8000] = 0;
    const char *head6000 = "POST /api/v1/open HTTP/1.1\r\nHost: x\r\nContent-Length: 6000\r\n\r\n";
    int a = t_connect_from("127.0.0.1", port);
    ok(a >= 0 && t_send(a, head6000, strlen(head6000)) == 0, "A announces 6000 bytes");
    ok(wait_metric(h, "eseal_http_body_bytes", 6001) == 6001, "A holds 6001 bytes of the budget");
    t_resp r;
    t_resp_init(&r);
    int b = t_connect_from("127.0.0.2", port);
    int st = b >= 0 && t_send(b, head6000, strlen(head6000)) == 0 ? t_response(b, 0, &r) : -1;
    ok(st == 503 && t_is_error(&r, 503, "busy") && t_hdr(&r, "Retry-After") &&
           strcmp(t_hdr(&r, "Retry-After"), "5") == 0,
       "B, which would pass the budget: 503 busy with Retry-After: 5 at once (%d)", st);
    if (b >= 0) close(b);
    body[3000] = 0;
    ok(t_req(port, "POST", "/api/v1/open", NULL, body, &r) == 200,
       "C, 3000 bytes, fits beside A: 200");
    /* A chunked body takes the budget as it grows: 5000 bytes beside A's 6001 do not fit. */
    int c = t_connect_from("127.0.0.3", port);
    const char *ch = "POST /api/v1/open HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    int sent = c >= 0 && t_send(c, ch, strlen(ch)) == 0;
    for (int i = 0; sent && i < 5; i++)
        sent =
            t_send(c, "3e8\r\n", 5) == 0 && t_send(c, body, 1000) == 0 && t_send(c, "\r\n", 2) == 0;
    if (sent) t_send(c, "0\r\n\r\n", 5);
    ok(c >= 0 && t_response(c, 0, &r) == -1, "a chunked body past the budget: connection closed");
    if (c >= 0) close(c);
    body[3000] = 'a';
    body[6000] = 0;
    st = a >= 0 && t_send(a, body, 6000) == 0 ? t_response(a, 0, &r) : -1;
    ok(st == 200 && strstr((const char *)r.body.p, "\"len\":6000"), "A's body: 200 (%d)", st);
    if (a >= 0) close(a);
    ok(wait_metric(h, "eseal_http_body_bytes", 0) == 0, "the budget is whole again");
    ok(t_req(port, "POST", "/api/v1/open", NULL, body, &r) == 200, "then 6000 bytes: 200");
    ok(wait_metric(h, "eseal_http_body_budget_refused_total", 2) == 2,
       "two refusals counted in the metrics");
    es_http_stop(h, 1000);
    es_http_free(h);

    /* One address's share (default a quarter of the budget; here 4000 of 10000). */
    es_http_config_init(&cfg);
    cfg.max_body = 8000;
    cfg.body_budget = 10000;
    cfg.body_per_address = 4000;
    h = limits_server(&cfg);
    ok(h != NULL, "budget-share server");
    if (h) {
        port = es_http_port(h);
        const char *head3000 =
            "POST /api/v1/open HTTP/1.1\r\nHost: x\r\nContent-Length: 3000\r\n\r\n";
        a = t_connect_from("127.0.0.1", port);
        ok(a >= 0 && t_send(a, head3000, strlen(head3000)) == 0 &&
               wait_metric(h, "eseal_http_body_bytes", 3001) == 3001,
           "127.0.0.1 holds 3001 bytes");
        b = t_connect_from("127.0.0.1", port);
        st = b >= 0 && t_send(b, head3000, strlen(head3000)) == 0 ? t_response(b, 0, &r) : -1;
        ok(st == 503 && t_hdr(&r, "Retry-After"),
           "a second 3000 bytes from 127.0.0.1 passes its share: 503 (%d)", st);
        if (b >= 0) close(b);
        body[3000] = 0;
        b = t_connect_from("127.0.0.2", port);
        st = b >= 0 && t_send(b, head3000, strlen(head3000)) == 0 && t_send(b, body, 3000) == 0
                 ? t_response(b, 0, &r)
                 : -1;
        ok(st == 200, "the same from 127.0.0.2: 200 (%d)", st);
        if (b >= 0) close(b);
        st = a >= 0 && t_send(a, body, 3000) == 0 ? t_response(a, 0, &r) : -1;
        ok(st == 200, "127.0.0.1's first body: 200 (%d)", st);
        if (a >= 0) close(a);
        ok(wait_metric(h, "eseal_http_body_bytes", 0) == 0, "the budget is whole again");
        es_http_stop(h, 1000);
        es_http_free(h);
    }
    t_resp_free(&r);
    free(body);
}

/* Item 2: max_per_address connections from one address; at max_connections a new address
 * takes the place of the oldest unanswered request of the busiest address. */
static void test_address_limits(void)
{
    es_http_config cfg;
    es_http_config_init(&cfg);
    cfg.max_per_address = 3;
    cfg.max_connections = 6;
    cfg.head_timeout = 60;
    es_http *h = limits_server(&cfg);
    ok(h != NULL, "address-limit server");
    if (!h) return;
    unsigned port = es_http_port(h);
    const char *part = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    int one[3], two[3];
    for (int i = 0; i < 3; i++) {
        one[i] = t_connect_from("127.0.0.1", port);
        if (one[i] >= 0 && t_send(one[i], part, strlen(part)) != 0) {
            close(one[i]);
            one[i] = -1;
        }
    }
    ok(wait_metric(h, "eseal_http_connections", 3) == 3, "three stalled connections from .1");
    int extra = t_connect_from("127.0.0.1", port);
    ok(extra >= 0 && closed_within(extra, 3), "a fourth from 127.0.0.1 is closed at once");
    if (extra >= 0) close(extra);
    for (int i = 0; i < 3; i++) {
        two[i] = t_connect_from("127.0.0.2", port);
        if (two[i] >= 0 && t_send(two[i], part, strlen(part)) != 0) {
            close(two[i]);
            two[i] = -1;
        }
    }
    ok(wait_metric(h, "eseal_http_connections", 6) == 6, "three more from .2: the server is full");
    t_resp r;
    t_resp_init(&r);
    int fd = t_connect_from("127.0.0.3", port);
    const char *get = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int st = fd >= 0 && t_send(fd, get, strlen(get)) == 0 ? t_response(fd, 0, &r) : -1;
    ok(st == 200, "a new address is served while the server is full (%d)", st);
    if (fd >= 0) close(fd);
    int gone = 0;
    for (int i = 0; i < 3; i++) {
        gone += one[i] >= 0 && closed_within(one[i], gone ? 0.2 : 3);
        gone += two[i] >= 0 && closed_within(two[i], 0.2);
    }
    ok(gone == 1, "one stalled connection of a busiest address made room (%d closed)", gone);
    for (int i = 0; i < 3; i++) {
        if (one[i] >= 0) close(one[i]);
        if (two[i] >= 0) close(two[i]);
    }
    t_resp_free(&r);
    es_http_stop(h, 1000);
    es_http_free(h);
}

/* Item 2: a request head has head_timeout seconds and a whole request request_timeout, however
 * steadily its bytes come (libmicrohttpd's idle timeout restarts at each byte). */
static void test_deadlines(void)
{
    es_http_config cfg;
    es_http_config_init(&cfg);
    cfg.timeout = 30;
    cfg.head_timeout = 1;
    cfg.request_timeout = 2;
    es_http *h = limits_server(&cfg);
    ok(h != NULL, "deadline server");
    if (!h) return;
    unsigned port = es_http_port(h);
    static const struct {
        const char *start, *what;
        double bound;
    } cases[] = {
        {"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", "a head sent a byte every 0.2 s", 1},
        {"POST /api/v1/open HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
         "a body sent a byte every 0.2 s", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = t_connect_from("127.0.0.1", port);
        double t0 = now_s();
        int closed = fd >= 0 && t_send(fd, cases[i].start, strlen(cases[i].start)) != 0;
        while (fd >= 0 && !closed && now_s() - t0 < cases[i].bound + 4) {
            closed = send(fd, "a", 1, MSG_NOSIGNAL) != 1 || closed_within(fd, 0.2);
        }
        double took = now_s() - t0;
        ok(closed && took < cases[i].bound + 1.5, "%s: closed after %.1f s (deadline %.0f s)",
           cases[i].what, took, cases[i].bound);
        if (fd >= 0) close(fd);
    }
    ok(wait_metric(h, "eseal_http_connections_dropped_total{reason=\"deadline\"}", 2) == 2,
       "two connections dropped at their deadline, in the metrics");
    t_resp r;
    t_resp_init(&r);
    ok(t_get(port, "/healthz", &r) == 200, "a prompt request is served");
    t_resp_free(&r);
    es_http_stop(h, 1000);
    es_http_free(h);
}

static atomic_int slow_started;

static es_err h_busy(es_http_req *r, void *arg)
{
    (void)arg;
    atomic_store(&slow_started, 1);
    sleep_ms(2500); /* a handler that takes its time (a store under load) */
    return es_http_reply_json_new(r, 200, json_pack("{s:b}", "slow", 1));
}

/* A hook that takes its time for "Bearer slow" (a store under load). */
static es_err auth_slow(es_http_req *r, void *arg)
{
    (void)arg;
    const char *a = es_http_req_header(r, "Authorization");
    if (a && strcmp(a, "Bearer slow") == 0) sleep_ms(2500);
    return ES_OK;
}

/* The deadlines count the client's slowness, not the server's: with one worker busy in a slow
 * handler for longer than head_timeout, a request that arrived meanwhile (its bytes unread in
 * the socket) is served, not dropped; so is a request whose authentication takes longer than
 * head_timeout. idle: libmicrohttpd's idle timeout (cfg.timeout); at 1 s it is shorter than
 * the handler, whose answer must still be sent (CI saw a user created and its answer never
 * sent: the connection closed as idle after a handler slower than the idle timeout). */
static void test_deadline_server_busy(unsigned idle)
{
    es_http_config cfg;
    es_http *h = NULL;
    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.msg = on_server_msg;
    cfg.threads = 1;
    cfg.timeout = idle;
    cfg.head_timeout = 1;
    cfg.request_timeout = 1;
    if (es_http_new(&cfg, &h) != ES_OK ||
        es_http_route(h, "GET", "/api/v1/slow", h_busy, NULL, ES_HTTP_PUBLIC) != ES_OK ||
        es_http_route(h, "POST", "/api/v1/slow", h_busy, NULL, ES_HTTP_PUBLIC) != ES_OK ||
        (es_http_set_auth(h, auth_slow, NULL), es_http_start(h)) != ES_OK) {
        ok(0, "busy-server");
        es_http_free(h);
        return;
    }
    unsigned port = es_http_port(h);
    const char *slow = "GET /api/v1/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const char *get = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    /* B is accepted first (the one worker then owns it), A's slow request next; B's request
     * is sent while the worker is in A's handler, so it waits unread in the socket. */
    int b = t_connect_from("127.0.0.2", port);
    ok(wait_metric(h, "eseal_http_connections", 1) == 1, "B is accepted");
    int a = t_connect_from("127.0.0.1", port);
    ok(a >= 0 && t_send(a, slow, strlen(slow)) == 0, "a slow request");
    for (int i = 0; i < 500 && !atomic_load(&slow_started); i++) sleep_ms(10);
    ok(atomic_load(&slow_started), "its handler runs");
    t_resp r;
    t_resp_init(&r);
    int st = b >= 0 && t_send(b, get, strlen(get)) == 0 ? t_response(b, 0, &r) : -1;
    ok(st == 200,
       "idle %us: a request waiting for the busy worker past head_timeout is served (%d)", idle,
       st);
    st = a >= 0 ? t_response(a, 0, &r) : -1;
    ok(st == 200, "idle %us: the slow request is answered past request_timeout (%d)", idle, st);
    if (a >= 0) close(a);
    if (b >= 0) close(b);
    ok(t_req(port, "GET", "/healthz", "Authorization: Bearer slow\r\n", NULL, &r) == 200,
       "an authentication slower than head_timeout: served");
    st = t_req(port, "POST", "/api/v1/slow", "Content-Type: application/json\r\n", "{\"a\":1}", &r);
    ok(st == 200,
       "idle %us: a request with a body whose handler is slower than that: answered (%d)", idle,
       st);
    t_resp_free(&r);
    es_http_stop(h, 1000);
    es_http_free(h);
}

/* A request that arrived whole while its worker was busy past head_timeout, then read and
 * parsed with a pause between the two (a worker preempted on a loaded machine: 300 ms here) is
 * answered: the reaper, looking between the read and the parse (the socket empty, the phase
 * still the head's), must not drop it (CI saw a user created and its answer never sent). */
static atomic_int pause_next;

static void pause_hook(void *arg)
{
    (void)arg;
    if (atomic_exchange(&pause_next, 0)) sleep_ms(300);
}

static void test_read_then_parse(void)
{
    es_http_config cfg;
    es_http *h = NULL;
    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.msg = on_server_msg;
    cfg.threads = 1;
    cfg.head_timeout = 1;
    cfg.request_timeout = 1;
    cfg.request_line_hook = pause_hook;
    atomic_store(&slow_started, 0);
    if (es_http_new(&cfg, &h) != ES_OK ||
        es_http_route(h, "GET", "/api/v1/slow", h_busy, NULL, ES_HTTP_PUBLIC) != ES_OK ||
        es_http_start(h) != ES_OK) {
        ok(0, "read-then-parse server");
        es_http_free(h);
        return;
    }
    unsigned port = es_http_port(h);
    const char *slow = "GET /api/v1/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const char *get = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int b = t_connect_from("127.0.0.2", port);
    ok(wait_metric(h, "eseal_http_connections", 1) == 1, "read-then-parse: B is accepted");
    int a = t_connect_from("127.0.0.1", port);
    ok(a >= 0 && t_send(a, slow, strlen(slow)) == 0, "read-then-parse: a slow request");
    for (int i = 0; i < 500 && !atomic_load(&slow_started); i++) sleep_ms(10);
    t_resp r;
    t_resp_init(&r);
    atomic_store(&pause_next, 0);
    int st = b >= 0 && t_send(b, get, strlen(get)) == 0 ? 0 : -1;
    /* A's handler takes 2.5 s: B's request waits unread past head_timeout; the pause is for
     * B's request line (A's was read before). */
    atomic_store(&pause_next, 1);
    if (st == 0) st = t_response(b, 0, &r);
    ok(st == 200,
       "read-then-parse: B, read and parsed 300 ms apart past its deadline, answered (%d)", st);
    st = a >= 0 ? t_response(a, 0, &r) : -1;
    ok(st == 200, "read-then-parse: A answered (%d)", st);
    t_resp_free(&r);
    if (a >= 0) close(a);
    if (b >= 0) close(b);
    es_http_stop(h, 1000);
    es_http_free(h);
}

static pthread_mutex_t ll_lock = PTHREAD_MUTEX_INITIALIZER;
static int ll_ok, ll_err;
static unsigned long long ll_not_logged;

static void ll_log(void *arg, const es_http_log_entry *e)
{
    (void)arg;
    pthread_mutex_lock(&ll_lock);
    if (e->status >= 400 || e->status == 0)
        ll_err++;
    else
        ll_ok++;
    pthread_mutex_unlock(&ll_lock);
}

static void ll_msg(void *arg, const char *msg)
{
    (void)arg;
    const char *p = strstr(msg, "access log: ");
    if (!p) return;
    pthread_mutex_lock(&ll_lock);
    ll_not_logged += strtoull(p + 12, NULL, 10);
    pthread_mutex_unlock(&ll_lock);
}

/* Item 16: access lines are limited per second (answers and errors apart); the rest is counted
 * in a summary message, and nothing is lost from the count. */
static void test_log_limit(void)
{
    es_http_config cfg;
    es_http *h = NULL;
    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.log = ll_log;
    cfg.msg = ll_msg;
    cfg.log_rate = 5;
    cfg.log_error_rate = 3;
    cfg.log_interval = 1;
    if (es_http_new(&cfg, &h) != ES_OK || es_http_start(h) != ES_OK) {
        ok(0, "log-limit server");
        es_http_free(h);
        return;
    }
    unsigned port = es_http_port(h);
    t_resp r;
    t_resp_init(&r);
    double t0 = now_s();
    int n = 0;
    for (int i = 0; i < 40; i++) {
        n += t_get(port, "/healthz", &r) == 200;
        n += t_get(port, "/no/such/thing", &r) == 404;
    }
    double took = now_s() - t0;
    ok(n == 80, "80 requests answered");
    ok(wait_metric(h, "eseal_http_requests_in_flight", 0) == 0, "all finished");
    pthread_mutex_lock(&ll_lock);
    int lok = ll_ok, lerr = ll_err;
    pthread_mutex_unlock(&ll_lock);
    /* A second's worth at once, then the rate. */
    ok(lok >= 5 && lok <= 5 + (int)(took * 5) + 1, "answers logged: %d in %.2f s (5 a second)", lok,
       took);
    ok(lerr >= 3 && lerr <= 3 + (int)(took * 3) + 1, "errors logged: %d in %.2f s (3 a second)",
       lerr, took);
    unsigned long long told = 0;
    for (int i = 0; i < 500 && told + (unsigned long long)(lok + lerr) < 80; i++) {
        pthread_mutex_lock(&ll_lock);
        told = ll_not_logged;
        pthread_mutex_unlock(&ll_lock);
        if (told + (unsigned long long)(lok + lerr) < 80) sleep_ms(10);
    }
    ok(told + (unsigned long long)(lok + lerr) == 80,
       "the summary counts every request not logged (%llu + %d logged = 80)", told, lok + lerr);
    t_resp_free(&r);
    es_http_stop(h, 1000);
    es_http_free(h);
}

/* A non-loopback IPv4 address of this host, if it has one. */
static int outside_address(char *out, size_t outlen)
{
    struct ifaddrs *ifs = NULL;
    int found = 0;
    if (getifaddrs(&ifs) != 0) return 0;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
            ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr) >> 24 == 127)
            continue;
        found = inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out,
                          (socklen_t)outlen) != NULL;
    }
    freeifaddrs(ifs);
    return found;
}

/* Item 16: GET /metrics off, local addresses only (the default), or with a token. */
static void test_metrics_access(void)
{
    static const char token[] = "metrics-token-0123456789";
    static const char *const local[] = {"127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"};
    static const char *const remote[] = {"192.0.2.1",        "10.0.0.1", "::2", "fd00::1",
                                         "::ffff:192.0.2.1", "-",        ""};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        ok(http_client_is_local(local[i]), "%s is local", local[i]);
    for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
        ok(!http_client_is_local(remote[i]), "%s is not local", remote[i]);

    es_http_config cfg;
    es_http *h = NULL;
    t_resp r;
    t_resp_init(&r);
    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.metrics = ES_HTTP_METRICS_TOKEN;
    cfg.metrics_token = "short";
    ok(es_http_new(&cfg, &h) == ES_ERR_CONFIG, "a metrics token under 16 bytes is refused");
    cfg.metrics = 7;
    ok(es_http_new(&cfg, &h) == ES_ERR_CONFIG, "an unknown metrics mode is refused");

    cfg.metrics = ES_HTTP_METRICS_OFF;
    if (es_http_new(&cfg, &h) == ES_OK && es_http_start(h) == ES_OK) {
        ok(t_get(es_http_port(h), "/metrics", &r) == 404, "metrics off: 404");
    } else {
        ok(0, "metrics-off server");
    }
    es_http_free(h);
    h = NULL;

    cfg.metrics = ES_HTTP_METRICS_TOKEN;
    cfg.metrics_token = token;
    if (es_http_new(&cfg, &h) == ES_OK && es_http_start(h) == ES_OK) {
        unsigned port = es_http_port(h);
        ok(t_get(port, "/metrics", &r) == 401 && t_is_error(&r, 401, "unauthorized"),
           "metrics by token, none given: 401");
        ok(t_req(port, "GET", "/metrics", "Authorization: Bearer metrics-token-0123456780\r\n",
                 NULL, &r) == 401,
           "a wrong token: 401");
        ok(t_req(port, "GET", "/metrics", "Authorization: Bearer metrics-token-0123456789\r\n",
                 NULL, &r) == 200 &&
               strstr((const char *)r.body.p, "eseal_http_requests_total"),
           "the token: 200 with the metrics");
    } else {
        ok(0, "metrics-token server");
    }
    es_http_free(h);
    h = NULL;

    es_http_config_init(&cfg);
    ok(cfg.metrics == ES_HTTP_METRICS_LOCAL, "local only is the default");
    char addr[64];
    int outside = outside_address(addr, sizeof addr);
    cfg.listen = outside ? "0.0.0.0:0" : "127.0.0.1:0";
    if (es_http_new(&cfg, &h) == ES_OK && es_http_start(h) == ES_OK) {
        unsigned port = es_http_port(h);
        ok(t_get(port, "/metrics", &r) == 200, "metrics local: 200 on 127.0.0.1");
        if (outside) {
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = {0};
            a.sin_family = AF_INET;
            a.sin_port = htons((uint16_t)port);
            inet_pton(AF_INET, addr, &a.sin_addr);
            struct timeval tv = {5, 0};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            int st = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                             t_send(fd, get, strlen(get)) == 0
                         ? t_response(fd, 0, &r)
                         : -1;
            ok(st == 403 && t_is_error(&r, 403, "forbidden"), "metrics local: 403 from %s (%d)",
               addr, st);
            if (fd >= 0) close(fd);
        } else {
            printf("note: no non-loopback address here: the local-only refusal is checked "
                   "above through http_client_is_local only\n");
        }
    } else {
        ok(0, "metrics-local server");
    }
    es_http_free(h);
    t_resp_free(&r);
}

int main(void)
{
    char tmp[] = "/tmp/eseal-http.XXXXXX";
    if (!mkdtemp(tmp)) return 2;

    test_client_framing();
    test_config();
    test_err_table();
    test_json_check();

    es_http_config cfg;
    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.max_body = MAX_BODY;
    cfg.threads = 4;
    cfg.log = on_log;
    cfg.msg = on_server_msg;
    /* These tests count access lines: no limit that matters (test_log_limit has one). */
    cfg.log_rate = cfg.log_error_rate = 1000000;
    es_http *h = start_app(&cfg);
    ok(h != NULL, "the test application starts");
    if (h) {
        unsigned port = es_http_port(h);
        test_platform(port);
        test_routing(port);
        test_errors(port);
        test_json_bodies(port);
        test_query_cookies_auth(port);
        test_pagination(port);
        test_body_limit(h, port);
        test_truncated_malformed(h, port);
        test_static_embedded(port);
        test_concurrency(h, port);
        es_http_stop(h, 2000);
        es_http_free(h);
    }
    test_static_dir(tmp);
    test_slow_client();
    test_graceful_stop();
    test_early_answers();
    test_body_budget();
    test_address_limits();
    test_deadlines();
    test_deadline_server_busy(30);
    test_deadline_server_busy(1);
    test_read_then_parse();
    test_log_limit();
    test_metrics_access();

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return t_done();
}
