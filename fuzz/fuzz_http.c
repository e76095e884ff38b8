/* libFuzzer target: the HTTP layer (include/eseal/http.h) over a real socket. The first call
 * starts an es_http server on 127.0.0.1 with routes that use every request-reading API (a
 * JSON body against a schema, path parameters, query parameters, headers and cookies,
 * pagination, a route with a small body limit) and an authentication hook (Bearer tokens, an
 * ESEAL-SM2 header parsed by es_client_auth_parse, a session cookie), and serves the console
 * from a scratch directory beside a file it must never serve. Each input is sent as raw
 * request bytes on a fresh connection, which is then half-closed and read to its end.
 *
 * Invariants: whatever comes back is a sequence of responses that each start with "HTTP/1.1 "
 * and a three-digit status and have a well-formed head (token names, values without control
 * characters but tab, one Content-Length at most); an application/json response carries
 * the security headers and a body jansson parses, for a status of 400 or more an object with
 * string "error" and "message"; the secret file outside the console's directory (and the hidden
 * one inside it) never shows; handlers see only what the layer promises (bodies within their
 * limit, non-empty path parameters, a user on a private route, a checked JSON body, a valid
 * page); the log entries are complete; and every FUZZ_HEALTH_EVERY inputs GET /healthz on a
 * fresh connection still answers 200.
 *
 * libmicrohttpd answers some malformed requests itself (400, 413, 414, 431, with HTML, and
 * closes the connection), so the JSON invariants apply to application/json responses only, and
 * of such a response only the head is checked. A connection the server leaves open longer
 * than FUZZ_STALL_MS (over twice its idle timeout) after the request was sent and half-closed
 * is a failure: a server that holds a connection it should have closed is how slow-connection
 * exhaustion starts (issue 13). FUZZ_HTTP_VERBOSE=1 in the environment prints every
 * exchange (to read what an input does: fuzz_http INPUT).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "eseal/clients.h"
#include "eseal/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT    (256u * 1024) /* past the 64 KiB of headers libmicrohttpd takes */
#define FUZZ_MAX_BODY     4096          /* the server's body limit */
#define FUZZ_SMALL_BODY   100           /* POST /api/v1/small's */
#define FUZZ_TIMEOUT_S    2             /* the server's idle timeout */
#define FUZZ_STALL_MS     5000          /* no byte and no end for this long: give up */
#define FUZZ_HEALTH_EVERY 256
#define FUZZ_MAX_RESPONSE (8u << 20)
/* In the files the console must never serve (outside its directory, or hidden). */
#define FUZZ_SECRET "eseal-fuzz-secret-7f3a"

/* ---- The application. */

/* A client's string as JSON: null when absent or not UTF-8 (which jansson refuses). */
static json_t *jstr(const char *s)
{
    json_t *v = s ? json_string(s) : NULL;
    return v ? v : json_null();
}

static void free_user(void *p)
{
    free(p);
}

static es_err set_user(es_http_req *r, const char *name)
{
    char *u = strdup(name);
    if (!u) return ES_ERR_NOMEM;
    es_http_req_set_user(r, u, free_user);
    return ES_OK;
}

static const es_json_field thing_schema[] = {
    {"name", ES_JSON_STRING, ES_JSON_REQUIRED, 32},
    {"count", ES_JSON_INTEGER, 0, 0},
    {"ratio", ES_JSON_NUMBER, 0, 0},
    {"enabled", ES_JSON_BOOLEAN, 0, 0},
    {"tags", ES_JSON_ARRAY, 0, 8},
    {"meta", ES_JSON_OBJECT, ES_JSON_NULLABLE, 0},
    {"note", ES_JSON_STRING, ES_JSON_NULLABLE, 64},
    {NULL},
};

/* POST /api/v1/things: a body checked against thing_schema, echoed with the user. */
static es_err h_create(es_http_req *r, void *arg)
{
    es_err rv;
    json_t *body;
    (void)arg;
    if ((rv = es_http_req_json(r, thing_schema, &body)) != ES_OK) return rv;
    /* What es_http_req_json let through passes the schema and has the required string. */
    if (es_json_check(body, thing_schema, NULL, NULL, 0) != ES_OK ||
        !json_is_string(json_object_get(body, "name")) ||
        json_string_length(json_object_get(body, "name")) > 32)
        abort();
    if (json_object_set_new(body, "user", jstr(es_http_req_user(r))) != 0) {
        json_decref(body);
        return ES_ERR_NOMEM;
    }
    return es_http_reply_json_new(r, 201, body);
}

/* PATCH /api/v1/things/{id}: any JSON object. */
static es_err h_patch(es_http_req *r, void *arg)
{
    es_err rv;
    json_t *body;
    (void)arg;
    if ((rv = es_http_req_json(r, NULL, &body)) != ES_OK) return rv;
    if (!json_is_object(body)) abort();
    size_t n = json_object_size(body);
    json_decref(body);
    return es_http_reply_json_new(
        r, 200,
        json_pack("{s:o, s:I}", "id", jstr(es_http_req_param(r, "id")), "members", (json_int_t)n));
}

/* GET /api/v1/things/{id}, /api/v1/things/{id}/parts/{part}, /api/v1/things/special. */
static es_err h_thing(es_http_req *r, void *arg)
{
    const char *id = es_http_req_param(r, "id");
    const char *part = es_http_req_param(r, "part");
    const char *route = es_http_req_route(r);
    (void)arg;
    if (!route) abort();
    /* A parameter is a whole, non-empty, decoded segment. */
    if (strstr(route, "{id}") && (!id || !*id)) abort();
    if (strstr(route, "{part}") && (!part || !*part)) abort();
    if (!strstr(route, "{id}") && id) abort();
    return es_http_reply_json_new(
        r, 200, json_pack("{s:o, s:o, s:s}", "id", jstr(id), "part", jstr(part), "route", route));
}

static es_err h_delete(es_http_req *r, void *arg)
{
    (void)arg;
    return es_http_reply_empty(r, 204);
}

/* GET /api/v1/query: the query, headers and cookies, as JSON; the sid cookie and the X-Test
 * header are also sent back (es_http_set_cookie and es_http_add_header refuse what they
 * cannot carry). */
static es_err h_query(es_http_req *r, void *arg)
{
    es_err rv;
    (void)arg;
    const char *path = es_http_req_path(r), *target = es_http_req_target(r);
    if (!path || !target || path[0] != '/' || strncmp(target, path, strlen(path)) != 0 ||
        (target[strlen(path)] != '\0' && target[strlen(path)] != '?'))
        abort();
    json_t *o = json_object();
    if (!o) return ES_ERR_NOMEM;
    static const char *const names[] = {"a", "b", "flag", "empty", "limit"};
    json_t *q = json_object();
    for (size_t i = 0; q && i < sizeof names / sizeof names[0]; i++)
        json_object_set_new(q, names[i], jstr(es_http_req_query(r, names[i])));
    const char *sid = es_http_req_cookie(r, "sid");
    const char *xt = es_http_req_header(r, "X-Test");
    if (json_object_set_new(o, "query", q) != 0 ||
        json_object_set_new(o, "x_test", jstr(xt)) != 0 ||
        json_object_set_new(o, "user_agent", jstr(es_http_req_header(r, "user-agent"))) != 0 ||
        json_object_set_new(o, "sid", jstr(sid)) != 0 ||
        json_object_set_new(o, "theme", jstr(es_http_req_cookie(r, "theme"))) != 0 ||
        json_object_set_new(o, "user", jstr(es_http_req_user(r))) != 0 ||
        json_object_set_new(o, "method", jstr(es_http_req_method(r))) != 0 ||
        json_object_set_new(o, "path", jstr(path)) != 0 ||
        json_object_set_new(o, "target", jstr(target)) != 0 ||
        json_object_set_new(o, "client", jstr(es_http_req_client(r))) != 0) {
        json_decref(o);
        return ES_ERR_NOMEM;
    }
    if (sid && (rv = es_http_set_cookie(r, "sid", sid, 3600)) != ES_OK && rv != ES_ERR_ARG)
        goto fail;
    if (xt && (rv = es_http_add_header(r, "X-Echo", xt)) != ES_OK && rv != ES_ERR_ARG) goto fail;
    return es_http_reply_json_new(r, 200, o);
fail:
    json_decref(o);
    return rv;
}

#define ITEMS 120
/* GET /api/v1/items: pages of 0..ITEMS-1, cursors "c<N>". */
static es_err h_items(es_http_req *r, void *arg)
{
    es_err rv;
    es_http_page pg;
    (void)arg;
    if ((rv = es_http_req_page(r, 10, 50, &pg)) != ES_OK) return rv;
    if (pg.limit < 1 || pg.limit > 50) abort();
    long start = 0;
    if (pg.cursor) {
        size_t n = strlen(pg.cursor);
        if (n == 0 || n > ES_MAX_HTTP_CURSOR ||
            strspn(pg.cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                              "_.~=-") != n)
            abort();
        char *end;
        errno = 0;
        start = pg.cursor[0] == 'c' ? strtol(pg.cursor + 1, &end, 10) : -1;
        if (start < 0 || start > ITEMS || errno || *end)
            return es_http_reply_err_field(r, ES_ERR_ARG, "cursor", "no such cursor");
    }
    json_t *items = json_array();
    long i;
    for (i = start; items && i < ITEMS && i < start + (long)pg.limit; i++)
        if (json_array_append_new(items, json_integer(i)) != 0) break;
    char next[32];
    snprintf(next, sizeof next, "c%ld", i);
    return es_http_reply_page(r, items, i < ITEMS ? next : NULL);
}

/* POST /api/v1/small (limit FUZZ_SMALL_BODY) and /api/v1/echo (the server's): the body's
 * length, or the body itself. */
static es_err h_small(es_http_req *r, void *arg)
{
    (void)arg;
    es_slice b = es_http_req_body(r);
    if (b.len > FUZZ_SMALL_BODY) abort();
    return es_http_reply_json_new(r, 200, json_pack("{s:I}", "len", (json_int_t)b.len));
}

static es_err h_echo(es_http_req *r, void *arg)
{
    (void)arg;
    es_slice b = es_http_req_body(r);
    if (b.len > FUZZ_MAX_BODY) abort();
    return es_http_reply_bytes(r, 200, "application/octet-stream", b.p, b.len);
}

/* GET /api/v1/errors/{name}: errors returned, replied, or no reply at all. */
static es_err h_error(es_http_req *r, void *arg)
{
    static const struct {
        const char *name;
        es_err rv;
    } map[] = {
        {"not_found", ES_ERR_NOT_FOUND},
        {"exists", ES_ERR_EXISTS},
        {"io", ES_ERR_IO},
        {"crypto", ES_ERR_CRYPTO},
        {"limit", ES_ERR_LIMIT},
        {"verify", ES_ERR_VERIFY},
        {"arg", ES_ERR_ARG},
    };
    const char *n = es_http_req_param(r, "name");
    (void)arg;
    if (!n) abort();
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(n, map[i].name) == 0) return map[i].rv;
    if (strcmp(n, "message") == 0) return es_http_reply_err(r, ES_ERR_VERIFY, "does not verify");
    if (strcmp(n, "teapot") == 0) {
        if (es_http_reply_err(r, ES_ERR_EXISTS, "short and stout") != ES_OK) return ES_ERR_NOMEM;
        return ES_ERR_ARG; /* the reply stands */
    }
    return ES_OK; /* no reply: a 500 */
}

/* GET /api/v1/private (not public): only with a user. */
static es_err h_private(es_http_req *r, void *arg)
{
    const char *u = es_http_req_user(r);
    (void)arg;
    if (!u) abort();
    return es_http_reply_json_new(r, 200, json_pack("{s:o}", "user", jstr(u)));
}

/* The ESEAL-SM2 scheme: a header that parses lets the request through as its client (no
 * signature check: that needs the accounts store), after building the string to sign over
 * the request as received (so at the hook's second call, with the body). */
static es_err auth_signed(es_http_req *r, const char *a)
{
    es_client_auth ca;
    const char *why = NULL;
    es_buf sts;
    es_err rv;
    if (es_client_auth_parse(a, &ca, &why) != ES_OK) {
        if (!why) abort(); /* a refusal says why */
        if (es_http_reply_err(r, ES_ERR_AUTH, why) != ES_OK) return ES_ERR_NOMEM;
        return ES_ERR_AUTH;
    }
    /* The signature covers the body: decided once it is in (the hook's second call). */
    if (!es_http_req_body_ready(r)) {
        es_http_req_defer_auth(r);
        return ES_OK;
    }
    es_buf_init(&sts, 1u << 20);
    rv = es_client_string_to_sign(ca.client, es_http_req_method(r), es_http_req_target(r),
                                  ca.timestamp, ca.nonce, es_http_req_body(r), &sts);
    es_buf_cleanup(&sts);
    if (rv != ES_OK) abort(); /* a target is at most 64 KiB, a body 4 KiB */
    return set_user(r, ca.client);
}

/* Authorization: Bearer good (alice), forbidden (the hook's own 403), denied, locked, down (its
 * store), odd (a code that is no refusal: a plain 401), anything else 401; ESEAL-SM2 above;
 * else the session cookie sid=good; else public routes only. */
static es_err auth(es_http_req *r, void *arg)
{
    const char *a = es_http_req_header(r, "Authorization");
    const char *sid = es_http_req_cookie(r, "sid");
    (void)arg;
    if (a && es_client_auth_is_signed(a)) return auth_signed(r, a);
    if (a && strncmp(a, "Bearer ", 7) == 0) {
        const char *t = a + 7;
        if (strcmp(t, "good") == 0) return set_user(r, "alice");
        if (strcmp(t, "forbidden") == 0) {
            if (es_http_reply_err(r, ES_ERR_DENIED, "not for this account") != ES_OK)
                return ES_ERR_NOMEM;
            return ES_ERR_LOGIN;
        }
        if (strcmp(t, "denied") == 0) return ES_ERR_DENIED;
        if (strcmp(t, "locked") == 0) return ES_ERR_LOCKED;
        if (strcmp(t, "down") == 0) return ES_ERR_IO;
        if (strcmp(t, "odd") == 0) return ES_ERR_NOT_FOUND;
        return ES_ERR_AUTH;
    }
    if (a) return ES_ERR_AUTH;
    if (sid && strcmp(sid, "good") == 0) return set_user(r, "cookie");
    return es_http_req_is_public(r) ? ES_OK : ES_ERR_LOGIN;
}

static void on_log(void *arg, const es_http_log_entry *e)
{
    (void)arg;
    if (!e->method || !e->path || !e->route || !e->client ||
        (e->status != 0 && (e->status < 100 || e->status > 599)) || e->seconds < 0)
        abort();
}

/* ---- The console's scratch directory: web/ with a few files, a hidden one, and links out
 * of it; the secret beside it. */

static char scratch[64];
static es_http *server;
static unsigned port;

static const char *const scratch_files[][2] = {
    {"web/index.html", "<!doctype html><title>fuzz</title>\n"},
    {"web/app.js", "console.log(1);\n"},
    {"web/data/list.json", "{\"items\":[1,2,3]}\n"},
    {"web/.hidden", FUZZ_SECRET "\n"},
    {"secret.txt", FUZZ_SECRET "\n"},
};
static const char *const scratch_links[][2] = {
    {"web/out.txt", "../secret.txt"},
    {"web/up", ".."},
};

static void scratch_path(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", scratch, rel);
}

static void scratch_remove(void)
{
    char p[128];
    for (size_t i = 0; i < sizeof scratch_links / sizeof scratch_links[0]; i++) {
        scratch_path(p, sizeof p, scratch_links[i][0]);
        unlink(p);
    }
    for (size_t i = 0; i < sizeof scratch_files / sizeof scratch_files[0]; i++) {
        scratch_path(p, sizeof p, scratch_files[i][0]);
        unlink(p);
    }
    scratch_path(p, sizeof p, "web/data");
    rmdir(p);
    scratch_path(p, sizeof p, "web");
    rmdir(p);
    rmdir(scratch);
}

static void scratch_make(void)
{
    char p[128];
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/eseal-fuzz-http.XXXXXX",
             tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(scratch)) abort();
    scratch_path(p, sizeof p, "web");
    if (mkdir(p, 0700) != 0) abort();
    scratch_path(p, sizeof p, "web/data");
    if (mkdir(p, 0700) != 0) abort();
    for (size_t i = 0; i < sizeof scratch_files / sizeof scratch_files[0]; i++) {
        scratch_path(p, sizeof p, scratch_files[i][0]);
        FILE *f = fopen(p, "w");
        if (!f || fputs(scratch_files[i][1], f) < 0 || fclose(f) != 0) abort();
    }
    for (size_t i = 0; i < sizeof scratch_links / sizeof scratch_links[0]; i++) {
        scratch_path(p, sizeof p, scratch_links[i][0]);
        if (symlink(scratch_links[i][1], p) != 0) abort();
    }
}

static void stop_server(void)
{
    es_http_free(server);
    server = NULL;
    scratch_remove();
}

static void start_server(void)
{
    es_http_config cfg;
    char web[128];
    uint8_t d[ES_SM3_LEN];
    /* OpenSSL initialised on this thread, as a daemon does before it serves: its first use on
     * a worker thread leaves that thread's error state behind when the thread ends. */
    if (es_sm3((const uint8_t *)"", 0, d) != ES_OK) abort();
    scratch_make();
    scratch_path(web, sizeof web, "web");
    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.threads = 2;
    cfg.timeout = FUZZ_TIMEOUT_S;
    cfg.max_body = FUZZ_MAX_BODY;
    cfg.static_dir = web;
    cfg.log = on_log;
    if (es_http_new(&cfg, &server) != ES_OK) abort();
    static const struct {
        const char *method, *pattern;
        es_http_handler fn;
        unsigned flags;
    } routes[] = {
        {"POST", "/api/v1/things", h_create, ES_HTTP_PUBLIC},
        {"GET", "/api/v1/things/{id}", h_thing, ES_HTTP_PUBLIC},
        {"GET", "/api/v1/things/special", h_thing, ES_HTTP_PUBLIC},
        {"GET", "/api/v1/things/{id}/parts/{part}", h_thing, ES_HTTP_PUBLIC},
        {"PATCH", "/api/v1/things/{id}", h_patch, ES_HTTP_PUBLIC},
        {"DELETE", "/api/v1/things/{id}", h_delete, 0},
        {"GET", "/api/v1/query", h_query, ES_HTTP_PUBLIC},
        {"GET", "/api/v1/items", h_items, ES_HTTP_PUBLIC},
        {"POST", "/api/v1/small", h_small, ES_HTTP_PUBLIC},
        {"POST", "/api/v1/echo", h_echo, ES_HTTP_PUBLIC},
        {"GET", "/api/v1/errors/{name}", h_error, ES_HTTP_PUBLIC},
        {"GET", "/api/v1/private", h_private, 0},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (es_http_route(server, routes[i].method, routes[i].pattern, routes[i].fn, NULL,
                          routes[i].flags) != ES_OK)
            abort();
    if (es_http_route_body_limit(server, "POST", "/api/v1/small", FUZZ_SMALL_BODY) != ES_OK)
        abort();
    es_http_set_auth(server, auth, NULL);
    if (es_http_start(server) != ES_OK) abort();
    port = es_http_port(server);
    atexit(stop_server);
}

/* ---- The client. */

typedef enum {
    END_EOF,   /* the server closed the connection: all it sent is here */
    END_RESET, /* reset, or a socket error: what is here may be cut short */
    END_STALL, /* neither byte nor end for FUZZ_STALL_MS */
    END_NOCONN /* no connection */
} end_how;

static int connect_server(void)
{
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) continue;
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            /* Closing resets the connection (the server has closed it by then): no TIME_WAIT
             * piles up on either side over millions of connections. */
            struct linger lg = {1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0) return fd;
        }
        close(fd);
    }
    return -1;
}

/* Sends req, half-closes, and reads into out until the server closes. Sending and reading
 * interleave, so a server that answers before it has read everything (pipelined requests)
 * cannot deadlock with us. */
static end_how exchange(const uint8_t *req, size_t len, es_buf *out)
{
    int fd = connect_server();
    size_t sent = 0;
    int shut = 0;
    end_how how = END_RESET;
    if (fd < 0) return END_NOCONN;
    for (;;) {
        if (sent == len && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        struct pollfd pf = {fd, (short)(POLLIN | (shut ? 0 : POLLOUT)), 0};
        int n = poll(&pf, 1, FUZZ_STALL_MS);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (n == 0) {
            how = END_STALL;
            break;
        }
        if (!shut && (pf.revents & POLLOUT)) {
            ssize_t k = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
            if (k > 0)
                sent += (size_t)k;
            else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sent = len; /* the server stopped reading: read what it said */
        }
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            uint8_t buf[16384];
            ssize_t k = recv(fd, buf, sizeof buf, 0);
            if (k == 0) {
                how = END_EOF;
                break;
            }
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
            if (k < 0 || es_buf_append(out, buf, (size_t)k) != ES_OK) break;
        }
    }
    close(fd);
    return how;
}

/* ---- The checks. */

static const uint8_t *find(const uint8_t *p, size_t n, const char *s)
{
    size_t m = strlen(s);
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (p[i] == (uint8_t)s[0] && memcmp(p + i, s, m) == 0) return p + i;
    return NULL;
}

static void print_bytes(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "%s (%zu bytes): \"", what, n);
    size_t max = getenv("FUZZ_HTTP_VERBOSE") ? 1u << 20 : 600;
    for (size_t i = 0; i < n && i < max; i++) {
        if (p[i] == '\\' || p[i] == '"')
            fprintf(stderr, "\\%c", p[i]);
        else if (p[i] >= 0x20 && p[i] < 0x7f)
            fputc(p[i], stderr);
        else
            fprintf(stderr, "\\x%02x", p[i]);
    }
    fprintf(stderr, "%s\"\n", n > max ? "..." : "");
}

static void fail(const char *why, const uint8_t *req, size_t reqlen, const uint8_t *resp,
                 size_t resplen)
{
    fprintf(stderr, "fuzz_http: %s\n", why);
    print_bytes("request", req, reqlen);
    print_bytes("response", resp, resplen);
    abort();
}

static int tchar(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

typedef struct head {
    unsigned status;
    size_t len; /* through the blank line */
    const uint8_t *ctype;
    size_t ctype_len;
    int has_length, chunked, nosniff;
    unsigned long long length;
} head;

/* Parses the head at p (its end, "\r\n\r\n", at p + len - 4). 0: malformed. */
static int parse_head(const uint8_t *p, size_t len, head *h)
{
    memset(h, 0, sizeof *h);
    h->len = len;
    h->status = (unsigned)(p[9] - '0') * 100 + (unsigned)(p[10] - '0') * 10 + (p[11] - '0');
    const uint8_t *line = find(p, len, "\r\n") + 2, *end = p + len - 2;
    while (line < end) {
        const uint8_t *eol = find(line, (size_t)(end - line) + 2, "\r\n");
        const uint8_t *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon || colon == line) return 0;
        for (const uint8_t *c = line; c < colon; c++)
            if (!tchar(*c)) return 0;
        size_t nlen = (size_t)(colon - line);
        const uint8_t *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t')) v++;
        size_t vlen = (size_t)(eol - v);
        for (size_t i = 0; i < vlen; i++)
            if ((v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f) return 0;
        if (nlen == 12 && strncasecmp((const char *)line, "Content-Type", nlen) == 0) {
            h->ctype = v;
            h->ctype_len = vlen;
        } else if (nlen == 14 && strncasecmp((const char *)line, "Content-Length", nlen) == 0) {
            if (h->has_length || vlen == 0 || vlen > 12) return 0;
            h->has_length = 1;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9') return 0;
                h->length = h->length * 10 + (v[i] - '0');
            }
        } else if (nlen == 17 && strncasecmp((const char *)line, "Transfer-Encoding", nlen) == 0) {
            h->chunked = 1;
        } else if (nlen == 22 &&
                   strncasecmp((const char *)line, "X-Content-Type-Options", nlen) == 0) {
            h->nosniff = vlen == 7 && memcmp(v, "nosniff", 7) == 0;
        }
        line = eol + 2;
    }
    return 1;
}

static int is_json(const head *h)
{
    static const char want[] = "application/json";
    size_t n = sizeof want - 1;
    return h->ctype && h->ctype_len >= n && strncasecmp((const char *)h->ctype, want, n) == 0 &&
           (h->ctype_len == n || h->ctype[n] == ';');
}

static void check_body(const head *h, const uint8_t *body, size_t len, const uint8_t *req,
                       size_t reqlen, const uint8_t *resp, size_t resplen)
{
    if (!is_json(h)) return;
    json_error_t err;
    json_t *v = json_loadb((const char *)body, len, 0, &err);
    if (!v) {
        fprintf(stderr, "fuzz_http: jansson: %s (line %d, column %d)\n", err.text, err.line,
                err.column);
        fail("an application/json body that does not parse", req, reqlen, resp, resplen);
    }
    if (h->status >= 400) {
        json_t *e = json_object_get(v, "error"), *m = json_object_get(v, "message");
        if (!json_is_object(v) || !json_is_string(e) || !json_string_length(e) ||
            !json_is_string(m))
            fail("an error response without {\"error\": CODE, \"message\": TEXT}", req, reqlen,
                 resp, resplen);
    }
    json_decref(v);
}

/* Checks the responses in resp[0..n). complete: the server closed the connection, so a
 * response cut short is its doing. A request with HEAD anywhere has its first response's head
 * checked only (its Content-Length announces a body that is not sent). */
static void check_responses(const uint8_t *req, size_t reqlen, const uint8_t *resp, size_t n,
                            int complete)
{
    int maybe_head = find(req, reqlen, "HEAD") != NULL;
    size_t pos = 0;
    if (!find(req, reqlen, FUZZ_SECRET) && find(resp, n, FUZZ_SECRET))
        fail("a file outside the console (or hidden) was served", req, reqlen, resp, n);
    while (pos < n) {
        const uint8_t *p = resp + pos;
        size_t left = n - pos;
        if (left < 13) {
            if (complete) fail("a response cut short in its status line", req, reqlen, resp, n);
            return;
        }
        if (memcmp(p, "HTTP/1.1 ", 9) != 0 || p[9] < '1' || p[9] > '5' || p[10] < '0' ||
            p[10] > '9' || p[11] < '0' || p[11] > '9' || p[12] != ' ')
            fail("a response that does not start with HTTP/1.1 and a status", req, reqlen, resp, n);
        const uint8_t *blank = find(p, left, "\r\n\r\n");
        if (!blank) {
            if (complete) fail("a response head without its end", req, reqlen, resp, n);
            return;
        }
        head h;
        if (!parse_head(p, (size_t)(blank - p) + 4, &h))
            fail("a malformed response header", req, reqlen, resp, n);
        pos += h.len;
        left -= h.len;
        if (h.status < 200) continue; /* 100 Continue: the final response follows */
        if (is_json(&h) && !h.nosniff)
            fail("a JSON response without the security headers", req, reqlen, resp, n);
        /* Not made by es_http (every response of its carries the security headers):
         * libmicrohttpd's own answer to a malformed request, which closes the connection.
         * Its head is all we check: 0.9.75 sends the head of its 400 for a request without
         * Host twice, the second with the body. */
        if (!h.nosniff || maybe_head || h.chunked) return;
        if (h.status == 204 || h.status == 304) {
            if (h.has_length && h.length) fail("a body on a 204 or 304", req, reqlen, resp, n);
            continue;
        }
        if (!h.has_length) {
            /* The body runs to the end of the connection. */
            if (complete) check_body(&h, resp + pos, left, req, reqlen, resp, n);
            return;
        }
        if (h.length > left) {
            if (complete) fail("a body shorter than its Content-Length", req, reqlen, resp, n);
            return;
        }
        check_body(&h, resp + pos, (size_t)h.length, req, reqlen, resp, n);
        pos += (size_t)h.length;
    }
}

/* GET /healthz on a fresh connection answers 200 (tried three times, so that one unlucky
 * connection is not a failure). */
static void check_alive(void)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n";
    es_buf out;
    end_how how = END_NOCONN;
    for (int attempt = 0; attempt < 3; attempt++) {
        es_buf_init(&out, FUZZ_MAX_RESPONSE);
        how = exchange((const uint8_t *)req, sizeof req - 1, &out);
        int good = how == END_EOF && out.len > 13 && memcmp(out.p, "HTTP/1.1 200 ", 13) == 0 &&
                   find(out.p, out.len, "{\"status\":\"ok\"}");
        es_buf_cleanup(&out);
        if (good) return;
    }
    fprintf(stderr, "fuzz_http: GET /healthz on a fresh connection fails (%d)\n", (int)how);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long runs;
    static int verbose;
    es_buf out;
    if (!server) {
        verbose = getenv("FUZZ_HTTP_VERBOSE") != NULL;
        start_server();
        check_alive();
    }
    if (size > FUZZ_MAX_INPUT) return 0;
    if (++runs % FUZZ_HEALTH_EVERY == 0) check_alive();

    es_buf_init(&out, FUZZ_MAX_RESPONSE);
    end_how how = exchange(data, size, &out);
    if (how == END_NOCONN) {
        fprintf(stderr, "fuzz_http: no connection to the server\n");
        check_alive();
    }
    if (how == END_STALL) {
        char why[160];
        snprintf(why, sizeof why,
                 "the server kept a connection open past %d ms (its idle timeout is %d s)",
                 FUZZ_STALL_MS, FUZZ_TIMEOUT_S);
        fail(why, data, size, out.p, out.len);
    }
    if (verbose) {
        fprintf(stderr, "fuzz_http: connection ended %s\n",
                how == END_EOF     ? "by the server"
                : how == END_STALL ? "stalled"
                                   : "reset");
        print_bytes("request", data, size);
        print_bytes("response", out.p, out.len);
    }
    check_responses(data, size, out.p, out.len, how == END_EOF);
    es_buf_cleanup(&out);
    return 0;
}
