/* The API against a node started inside this binary (es_node_start) on 127.0.0.1 with an
 * ephemeral port (and, for kill -9, in a child process running es_node_run), on SQLite and on
 * the PostgreSQL of the "pg" fixture: first start and its one-time password, sign-in, the
 * forced password change, every role against every endpoint family it must not use (refused
 * and audited), separation of duties, bad input that changes nothing, audit verification,
 * restart, kill -9 during a stream of writes, and many clients at once. */
#include "test.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "eseal/audit.h"
#include "eseal/auth.h"
#include "eseal/clients.h"
#include "eseal/node.h"
#include "eseal/pki.h"
#include "eseal/site.h"
/* Each account creation hashes a one-time password with argon2id (64 MiB, 3 passes); the
 * concurrency checks below send 72 of them at once, which on a 2-core machine under a whole
 * parallel ctest queue for minutes, not seconds. The checks are of correctness (each made
 * once, nothing lost), not of latency: a request may take up to 4 minutes (the daemon's own
 * deadlines count only the client's slowness). */
#define T_HTTP_TIMEOUT_S 240
#include "http_client.h"
#include "store_test.h"

#define ADMIN_PASS "Strong-Pass-2026!"
#define USER_PASS  "User-Pass-2026!x"
#define MAX_BODY   65536

typedef struct daemon {
    es_node *node; /* in this process */
    pid_t pid;     /* or in a child (the crash test) */
    FILE *outf;
    unsigned port;
    char var[512], out[600], otp[64], aotp[64]; /* the admin's, the auditor's */
} daemon_t;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The one-time password the node printed, if any. */
static void read_otp(daemon_t *d)
{
    es_buf b;
    es_buf_init(&b, 1u << 20);
    if (es_file_read(d->out, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
        static const char said[] = "one-time password for admin: ",
                          asaid[] = "one-time password for auditor: ";
        const char *o = strstr((char *)b.p, said);
        if (o) sscanf(o + sizeof said - 1, "%63s", d->otp);
        o = strstr((char *)b.p, asaid);
        if (o) sscanf(o + sizeof asaid - 1, "%63s", d->aotp);
        const char *p = strstr((char *)b.p, "\nport ");
        if (p && !d->port) d->port = (unsigned)strtoul(p + 6, NULL, 10);
    }
    es_buf_cleanup(&b);
}

/* Starts a node on 127.0.0.1:0 with var and config (may be NULL) inside this process (the
 * API layer under test, no fork or exec); its operator output goes to VAR.out. */
static int daemon_start(daemon_t *d, const char *var, const char *config)
{
    memset(d, 0, sizeof *d);
    snprintf(d->var, sizeof d->var, "%.500s", var);
    snprintf(d->out, sizeof d->out, "%.500s.out", var);
    if (!(d->outf = fopen(d->out, "w"))) return -1;
    es_node_opts o = {config, "127.0.0.1:0", var, d->outf};
    char why[600] = "";
    es_err rv = es_node_start(&o, &d->node, why, sizeof why);
    fflush(d->outf);
    if (rv != ES_OK) {
        fprintf(stderr, "the node does not start: %s (%s)\n", why, es_err_str(rv));
        fclose(d->outf);
        d->outf = NULL;
        return -1;
    }
    d->port = es_node_port(d->node);
    read_otp(d);
    return 0;
}

/* The same in a child process (es_node_run, as esealsd runs it), for what needs a process to
 * kill: waits for its port. No node may run in this process at the fork. */
static int daemon_start_process(daemon_t *d, const char *var, const char *config)
{
    memset(d, 0, sizeof *d);
    snprintf(d->var, sizeof d->var, "%.500s", var);
    snprintf(d->out, sizeof d->out, "%.500s.out", var);
    unlink(d->out); /* never read the previous run's port */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (!freopen(d->out, "w", stdout)) _exit(126);
        es_node_opts o = {config, "127.0.0.1:0", var, NULL};
        _exit(es_node_run(&o));
    }
    d->pid = pid;
    for (int i = 0; i < 1200; i++) { /* 120 s: ASan builds make keys slowly */
        read_otp(d);
        if (d->port) return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            d->pid = 0;
            fprintf(stderr, "the node's process exited early\n");
            return -1;
        }
        sleep_ms(100);
    }
    return -1;
}

/* Stops the node: in this process es_node_stop (0); a child gets sig and its exit status is
 * returned (128 + signal when killed). */
static int daemon_stop(daemon_t *d, int sig)
{
    if (d->node) {
        es_node_stop(d->node);
        d->node = NULL;
        if (d->outf) fclose(d->outf);
        d->outf = NULL;
        return sig == SIGTERM ? 0 : -1;
    }
    int st = 0;
    if (!d->pid) return -1;
    kill(d->pid, sig);
    waitpid(d->pid, &st, 0);
    d->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A request with a bearer token (may be NULL) and a JSON body (may be NULL). */
static int call(const daemon_t *d, const char *method, const char *path, const char *token,
                const char *body, t_resp *r)
{
    char h[256] = "";
    size_t n = 0;
    if (token) n += (size_t)snprintf(h + n, sizeof h - n, "Authorization: Bearer %s\r\n", token);
    if (body) snprintf(h + n, sizeof h - n, "Content-Type: application/json\r\n");
    t_resp_init(r);
    return t_req(d->port, method, path, h, body, r);
}

/* 1 when the node has finished every request but the one asking (GET /metrics counts itself
 * in flight), polled for at most 5 s: the barrier before reading what requests left behind. */
static int settled(const daemon_t *d)
{
    static const char key[] = "\neseal_http_requests_in_flight ";
    for (int i = 0; i < 500; i++) {
        t_resp r;
        long n = -1;
        if (call(d, "GET", "/metrics", NULL, NULL, &r) == 200 && es_buf_nul(&r.body) == ES_OK) {
            const char *p = strstr((const char *)r.body.p, key);
            if (p) n = strtol(p + sizeof key - 1, NULL, 10);
        }
        t_resp_free(&r);
        if (n == 1) return 1;
        sleep_ms(10);
    }
    return 0;
}

static json_t *body_json(const t_resp *r)
{
    return json_loadb((const char *)r->body.p, r->body.len, 0, NULL);
}

/* status of a call, the response freed. */
static int status_of(const daemon_t *d, const char *method, const char *path, const char *token,
                     const char *body)
{
    t_resp r;
    int st = call(d, method, path, token, body, &r);
    t_resp_free(&r);
    return st;
}

static int is_error(const t_resp *r, int status, const char *code)
{
    /* The one error table's shape: error, message, message_zh; field, detail and (a CA's
     * refusal) problems when they apply. */
    json_t *v = body_json(r);
    size_t extra = 0;
    static const char *const optional[] = {"field", "detail", "problems"};
    for (size_t i = 0; v && i < sizeof optional / sizeof optional[0]; i++)
        extra += json_object_get(v, optional[i]) != NULL;
    int good = r->status == status && v && json_object_size(v) == 3 + extra &&
               json_is_string(json_object_get(v, "message")) &&
               json_string_length(json_object_get(v, "message")) > 0 &&
               json_is_string(json_object_get(v, "message_zh")) &&
               json_string_length(json_object_get(v, "message_zh")) > 0 &&
               json_is_string(json_object_get(v, "error")) &&
               strcmp(json_string_value(json_object_get(v, "error")), code) == 0;
    if (!good)
        fprintf(stderr, "  expected %d %s, got %d %.*s\n", status, code, r->status,
                (int)r->body.len, (const char *)r->body.p);
    json_decref(v);
    return good;
}

/* Signs in; the token into tok (65 bytes). Returns the status. */
static int sign_in(const daemon_t *d, const char *name, const char *pass, char *tok, int *must)
{
    char body[512];
    t_resp r;
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, pass);
    int st = call(d, "POST", "/api/v1/sessions", NULL, body, &r);
    json_t *v = body_json(&r);
    tok[0] = 0;
    if (st == 201 && v) {
        snprintf(tok, 65, "%s", json_string_value(json_object_get(v, "token")));
        if (must)
            *must =
                json_is_true(json_object_get(json_object_get(v, "user"), "must_change_password"));
    }
    json_decref(v);
    t_resp_free(&r);
    return st;
}

static int change_password(const daemon_t *d, const char *tok, const char *old, const char *new_)
{
    char body[512];
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"%s\"}", old, new_);
    return status_of(d, "POST", "/api/v1/users/me/password", tok, body);
}

/* Creates name with roles (a JSON array text); the one-time password into otp (may be NULL).
 * Returns the status. */
static int create_user(const daemon_t *d, const char *tok, const char *name, const char *roles,
                       char *otp)
{
    char body[512];
    t_resp r;
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"display_name\":\"%s\",\"roles\":%s}", name,
             name, roles);
    int st = call(d, "POST", "/api/v1/users", tok, body, &r);
    if (otp) {
        otp[0] = 0;
        json_t *v = body_json(&r);
        if (st == 201 && v)
            snprintf(otp, 64, "%s", json_string_value(json_object_get(v, "one_time_password")));
        json_decref(v);
    }
    t_resp_free(&r);
    return st;
}

/* A new account of roles, signed in with its password changed; its token into tok. */
static int make_account(const daemon_t *d, const char *admin, const char *name, const char *roles,
                        char *tok)
{
    char otp[64];
    int must = 0;
    if (create_user(d, admin, name, roles, otp) != 201) return 0;
    if (sign_in(d, name, otp, tok, &must) != 201 || !must) return 0;
    return change_password(d, tok, otp, USER_PASS) == 200;
}

/* Every user name, through the pages of GET /users. */
static int list_users(const daemon_t *d, const char *tok, json_t *names)
{
    char path[400], cursor[300] = "";
    for (;;) {
        t_resp r;
        snprintf(path, sizeof path, "/api/v1/users?limit=7%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        if (call(d, "GET", path, tok, NULL, &r) != 200) {
            t_resp_free(&r);
            return -1;
        }
        json_t *v = body_json(&r), *it;
        size_t i;
        json_array_foreach(json_object_get(v, "items"), i, it)
            json_array_append(names, json_object_get(it, "name"));
        json_t *next = json_object_get(v, "next_cursor");
        int more = json_is_string(next);
        if (more) snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(v);
        t_resp_free(&r);
        if (!more) return (int)json_array_size(names);
    }
}

static int has_name(const json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    int n = 0;
    json_array_foreach(names, i, v) n += strcmp(json_string_value(v), name) == 0;
    return n;
}

static int count_users(const daemon_t *d, const char *tok)
{
    json_t *names = json_array();
    int n = list_users(d, tok, names);
    json_decref(names);
    return n;
}

/* Records of GET /audit with a query (all pages). */
static int audit_count(const daemon_t *d, const char *auditor, const char *query)
{
    char path[600], cursor[64] = "";
    int n = 0;
    for (;;) {
        t_resp r;
        snprintf(path, sizeof path, "/api/v1/audit?limit=500&%s%s%s", query,
                 cursor[0] ? "&cursor=" : "", cursor);
        if (call(d, "GET", path, auditor, NULL, &r) != 200) {
            t_resp_free(&r);
            return -1;
        }
        json_t *v = body_json(&r);
        n += (int)json_array_size(json_object_get(v, "items"));
        json_t *next = json_object_get(v, "next_cursor");
        int more = json_is_string(next);
        if (more) snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(v);
        t_resp_free(&r);
        if (!more) return n;
    }
}

/* GET /audit/verify: 1 intact, 0 not; *last gets the newest seq. */
static int audit_verify(const daemon_t *d, const char *auditor, int64_t *last)
{
    t_resp r;
    int good = 0;
    if (call(d, "GET", "/api/v1/audit/verify", auditor, NULL, &r) == 200) {
        json_t *v = body_json(&r);
        good = json_is_true(json_object_get(v, "intact")) &&
               json_is_true(json_object_get(v, "complete"));
        if (last) *last = json_integer_value(json_object_get(v, "last"));
        json_decref(v);
    }
    t_resp_free(&r);
    return good;
}

/* The trail verified directly in the store (es_audit_verify_store) with the site's key. */
static int store_verifies(const char *var, const char *url, int64_t *records)
{
    es_config c;
    es_site site;
    char why[256];
    es_store *s = NULL;
    es_audit_report rep;
    int good = 0;
    es_config_defaults(&c, var);
    if (es_site_prepare(&c, &site, NULL, NULL, why, sizeof why) != ES_OK) return 0;
    if (es_store_open(url, &s) == ES_OK &&
        es_audit_verify_store(s, site.audit_pub, &rep) == ES_OK) {
        good = es_audit_report_ok(&rep) && rep.complete;
        if (records) *records = rep.records;
        es_audit_report_cleanup(&rep);
    }
    es_store_close(s);
    es_site_cleanup(&site);
    return good;
}

/* ---- Roles against endpoint families. */

typedef struct endpoint {
    const char *method, *path, *body;
} endpoint;

static const endpoint users_family[] = {
    {"GET", "/api/v1/users", NULL},
    {"POST", "/api/v1/users", "{\"name\":\"intruder\",\"roles\":[\"operator\"]}"},
    {"GET", "/api/v1/users/admin", NULL},
    {"PUT", "/api/v1/users/admin/roles", "{\"roles\":[\"operator\"]}"},
    {"POST", "/api/v1/users/admin/disable", NULL},
    {"POST", "/api/v1/users/admin/enable", NULL},
    {"POST", "/api/v1/users/admin/reset-password", NULL},
};
static const endpoint clients_family[] = {
    {"GET", "/api/v1/clients", NULL},
    {"POST", "/api/v1/clients", "{\"name\":\"intruder\",\"roles\":[\"operator\"],\"csr\":\"x\"}"},
    {"GET", "/api/v1/clients/erp", NULL},
    {"POST", "/api/v1/clients/erp/disable", NULL},
    {"POST", "/api/v1/clients/erp/enable", NULL},
    {"POST", "/api/v1/clients/erp/revoke", NULL},
};
static const endpoint audit_family[] = {
    {"GET", "/api/v1/audit", NULL},
    {"GET", "/api/v1/audit/verify", NULL},
    {"GET", "/api/v1/audit/export", NULL},
};

static int try_family(const daemon_t *d, const char *tok, const endpoint *e, size_t n,
                      const char *who)
{
    int refused = 0;
    for (size_t i = 0; i < n; i++) {
        t_resp r;
        call(d, e[i].method, e[i].path, tok, e[i].body, &r);
        int good = is_error(&r, 403, "forbidden");
        ok(good, "%s: %s %s refused", who, e[i].method, e[i].path);
        refused += good;
        t_resp_free(&r);
    }
    return refused;
}

/* ---- Business systems: signed requests. */

typedef struct api_client {
    char name[40];
    es_signer *key;
} api_client;

/* A request signed as c (ts, nonce NULL: now, random); hdr_out (may be NULL, 1100 bytes)
 * receives the Authorization line sent. sign_body: the body the signature covers (NULL:
 * body). */
static int scall(const daemon_t *d, const api_client *c, const char *method, const char *target,
                 const char *body, const char *sign_body, const char *ts, const char *nonce,
                 char *hdr_out, t_resp *r)
{
    es_buf auth;
    char h[1400];
    const char *sb = sign_body ? sign_body : body ? body : "";
    es_buf_init(&auth, ES_CLIENT_HEADER_MAX);
    t_resp_init(r);
    if (es_client_sign_request(c->key, c->name, method, target, es_slice_make(sb, strlen(sb)), ts,
                               nonce, &auth) != ES_OK)
        return -1;
    int n = snprintf(h, sizeof h, "Authorization: %.*s\r\n", (int)auth.len, (const char *)auth.p);
    es_buf_cleanup(&auth);
    if (hdr_out) {
        size_t l = strlen(h) < 1099 ? strlen(h) : 1099;
        memcpy(hdr_out, h, l);
        hdr_out[l] = 0;
    }
    if (body) snprintf(h + n, sizeof h - (size_t)n, "Content-Type: application/json\r\n");
    return t_req(d->port, method, target, h, body, r);
}

static int sstatus(const daemon_t *d, const api_client *c, const char *method, const char *target,
                   const char *body)
{
    t_resp r;
    int st = scall(d, c, method, target, body, NULL, NULL, NULL, NULL, &r);
    t_resp_free(&r);
    return st;
}

/* The same request sent twice with the same Authorization line. */
static int resend(const daemon_t *d, const char *method, const char *target, const char *hdr,
                  t_resp *r)
{
    t_resp_init(r);
    return t_req(d->port, method, target, hdr, NULL, r);
}

/* A key pair and its PKCS#10 request as a JSON string value (PEM, escaped). */
static es_signer *new_key_csr(const char *cn, char **csr_json)
{
    es_sm2_key *k = NULL;
    es_signer *s = NULL;
    es_name n;
    char why[128], subj[128];
    es_buf der, pem;
    *csr_json = NULL;
    snprintf(subj, sizeof subj, "/C=CN/O=某市人力资源和社会保障局/CN=%s", cn);
    if (es_sm2_key_generate(&k) != ES_OK || es_signer_from_key(k, &s) != ES_OK) return NULL;
    es_buf_init(&der, 4096);
    es_buf_init(&pem, 8192);
    if (es_pki_name_parse(subj, &n, why, sizeof why) == ES_OK &&
        es_pki_csr_make(&n, NULL, 0, s, &der) == ES_OK &&
        es_pki_pem_encode("CERTIFICATE REQUEST", es_slice_make(der.p, der.len), &pem) == ES_OK) {
        json_t *str = json_stringn((const char *)pem.p, pem.len);
        *csr_json = json_dumps(str, JSON_ENCODE_ANY);
        json_decref(str);
    }
    es_buf_cleanup(&der);
    es_buf_cleanup(&pem);
    return s;
}

static int register_client(const daemon_t *d, const char *tok, const char *name, const char *roles,
                           const char *csr_json, t_resp *r)
{
    size_t n = strlen(csr_json) + 256;
    char *body = malloc(n);
    snprintf(body, n, "{\"name\":\"%s\",\"roles\":%s,\"csr\":%s}", name, roles, csr_json);
    int st = call(d, "POST", "/api/v1/clients", tok, body, r);
    free(body);
    return st;
}

static int count_clients(const daemon_t *d, const char *tok)
{
    t_resp r;
    call(d, "GET", "/api/v1/clients?limit=500", tok, NULL, &r);
    json_t *v = body_json(&r);
    int n = r.status == 200 ? (int)json_array_size(json_object_get(v, "items")) : -1;
    json_decref(v);
    t_resp_free(&r);
    return n;
}

static int try_family_signed(const daemon_t *d, const api_client *c, const endpoint *e, size_t n)
{
    int refused = 0;
    for (size_t i = 0; i < n; i++) {
        t_resp r;
        scall(d, c, e[i].method, e[i].path, e[i].body, NULL, NULL, NULL, NULL, &r);
        int good = is_error(&r, 403, "forbidden");
        ok(good, "client:%s: %s %s refused", c->name, e[i].method, e[i].path);
        refused += good;
        t_resp_free(&r);
    }
    return refused;
}

/* The 401 of a refused signed request, with the reason's words in its message. */
static int refused_because(const t_resp *r, const char *words)
{
    int good = is_error(r, 401, "unauthorized") && strstr((const char *)r->body.p, words);
    if (!good) fprintf(stderr, "  expected a 401 saying \"%s\"\n", words);
    return good;
}

/* Issue 13, item 1: a signed request naming a client that may not be served (revoked, unknown)
 * is refused from its headers, before any byte of the body it announces is read: the body is
 * never sent here, and the 401 must come all the same (the server used to wait for it). */
static int refused_before_body(const daemon_t *d, const api_client *c, const char *words)
{
    es_buf auth;
    char head[1600];
    t_resp r;
    int good = 0;
    es_buf_init(&auth, ES_CLIENT_HEADER_MAX);
    t_resp_init(&r);
    if (es_client_sign_request(c->key, c->name, "POST", "/api/v1/clients", es_slice_make("{}", 2),
                               NULL, NULL, &auth) == ES_OK) {
        snprintf(head, sizeof head,
                 "POST /api/v1/clients HTTP/1.1\r\nHost: x\r\nAuthorization: %.*s\r\n"
                 "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n",
                 (int)auth.len, (const char *)auth.p);
        int fd = t_connect(d->port);
        struct timeval tv = {5, 0};
        if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (fd >= 0 && t_send(fd, head, strlen(head)) == 0 && t_response(fd, 0, &r) == 401)
            good = refused_because(&r, words);
        if (fd >= 0) close(fd);
    }
    es_buf_cleanup(&auth);
    t_resp_free(&r);
    return good;
}

static void clients_suite(const char *kind, const daemon_t *d, const char *bizadmin,
                          const char *auditor)
{
    t_resp r;
    char *csr = NULL, *csr2 = NULL, hdr[1100], when[32];
    api_client erp = {"erp", new_key_csr("erp", &csr)};
    api_client hr = {"hr-portal", new_key_csr("hr-portal", &csr2)};
    ok(erp.key && csr && hr.key && csr2, "%s: two business systems' keys and requests", kind);
    if (!erp.key || !csr || !hr.key || !csr2) return;

    /* The site: public, its system certificate from the seal root, naming the port. */
    call(d, "GET", "/api/v1/system", NULL, NULL, &r);
    json_t *v = body_json(&r);
    {
        es_buf sys, root;
        es_pki_cert sc, rc;
        es_pki_san san[4];
        size_t nsan = 0;
        char want[64];
        snprintf(want, sizeof want, "http://127.0.0.1:%u/", d->port);
        es_buf_init(&sys, 65536);
        es_buf_init(&root, 65536);
        const char *sp = json_string_value(json_object_get(v, "system_certificate"));
        const char *rp = json_string_value(json_object_get(v, "root_certificate"));
        int good = r.status == 200 && sp && rp &&
                   es_cert_to_der((const uint8_t *)sp, strlen(sp), &sys) == ES_OK &&
                   es_cert_to_der((const uint8_t *)rp, strlen(rp), &root) == ES_OK &&
                   es_pki_cert_parse(es_slice_make(sys.p, sys.len), &sc) == ES_OK &&
                   es_pki_cert_parse(es_slice_make(root.p, root.len), &rc) == ES_OK &&
                   es_pki_cert_verify(&sc, rc.pub) == ES_OK &&
                   es_pki_san_from_der(sc.san, san, 4, &nsan) == ES_OK && nsan == 1 &&
                   strcmp(san[0].value, want) == 0;
        ok(good, "%s: GET /api/v1/system: the system certificate, issued by the root, names %s",
           kind, want);
        ok(json_is_string(json_object_get(v, "audit_public_key")) &&
               strcmp(json_string_value(json_object_get(json_object_get(v, "api_auth"), "scheme")),
                      ES_CLIENT_SCHEME) == 0,
           "%s: and the audit key and the request signing scheme", kind);
        es_buf_cleanup(&sys);
        es_buf_cleanup(&root);
    }
    json_decref(v);
    t_resp_free(&r);

    /* Registration by the business administrator: the CA issues from the request. */
    register_client(d, bizadmin, "erp", "[\"operator\"]", csr, &r);
    v = body_json(&r);
    const char *serial = json_string_value(json_object_get(json_object_get(v, "client"), "serial"));
    ok(r.status == 201 && t_hdr(&r, "Location") &&
           strcmp(t_hdr(&r, "Location"), "/api/v1/clients/erp") == 0 && serial &&
           strlen(serial) >= 16 &&
           strncmp(json_string_value(json_object_get(v, "certificate"))
                       ? json_string_value(json_object_get(v, "certificate"))
                       : "",
                   "-----BEGIN CERTIFICATE-----", 27) == 0,
       "%s: a client registered from its request: 201, Location, the certificate", kind);
    json_decref(v);
    t_resp_free(&r);
    ok(register_client(d, bizadmin, "hr-portal", "[\"operator\",\"approver\"]", csr2, &r) == 201,
       "%s: a second client", kind);
    t_resp_free(&r);

    /* Refused registrations store nothing. */
    int64_t head0 = 0, head1 = 0;
    int n0 = count_clients(d, bizadmin);
    audit_verify(d, auditor, &head0);
    static const struct {
        const char *name, *roles, *extra, *code;
        int status;
    } bad[] = {
        {"dup", "[\"operator\"]", NULL, "conflict", 409}, /* erp's request again */
        {"erp", "[\"operator\"]", NULL, "conflict", 409},
        {"auditor-bot", "[\"audit_admin\"]", NULL, "invalid_argument", 400},
        {"boss-bot", "[\"business_admin\"]", NULL, "invalid_argument", 400},
        {"noroles", "[]", NULL, "invalid_argument", 400},
        {"me", "[\"operator\"]", NULL, "invalid_argument", 400},
        {"Bad Name", "[\"operator\"]", NULL, "invalid_argument", 400},
        {"garbage", "[\"operator\"]", "\"csr\":\"-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\"",
         "invalid_argument", 400},
        {"both", "[\"operator\"]", "\"csr\":\"x\",\"certificate\":\"y\"", "invalid_argument", 400},
        {"neither", "[\"operator\"]", "", "invalid_argument", 400},
        {"notacert", "[\"operator\"]", "\"certificate\":\"hello\"", "invalid_argument", 400},
        {"badsubj", "[\"operator\"]", "\"subject\":\"CN=x\",\"csr\":\"x\"", "invalid_argument",
         400},
        {"extra", "[\"operator\"]", "\"csr\":\"x\",\"admin\":true", "invalid_argument", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[4096];
        if (bad[i].extra)
            snprintf(body, sizeof body, "{\"name\":\"%s\",\"roles\":%s%s%s}", bad[i].name,
                     bad[i].roles, bad[i].extra[0] ? "," : "", bad[i].extra);
        else
            snprintf(body, sizeof body, "{\"name\":\"%s\",\"roles\":%s,\"csr\":%s}", bad[i].name,
                     bad[i].roles, csr);
        call(d, "POST", "/api/v1/clients", bizadmin, body, &r);
        ok(is_error(&r, bad[i].status, bad[i].code), "%s: registering %s: %d %s", kind, bad[i].name,
           bad[i].status, bad[i].code);
        t_resp_free(&r);
    }
    {
        /* A request whose signature is broken: the CA refuses it. */
        char *broken = strdup(csr);
        char *mid = strstr(broken, "\\n") + 40;
        *mid = *mid == 'A' ? 'B' : 'A';
        register_client(d, bizadmin, "tampered", "[\"operator\"]", broken, &r);
        ok(r.status == 400, "%s: a tampered request: 400 (%d)", kind, r.status);
        t_resp_free(&r);
        free(broken);
    }
    ok(count_clients(d, bizadmin) == n0 && audit_verify(d, auditor, &head1) && head1 == head0,
       "%s: refused registrations stored nothing, no audit record (head %lld)", kind,
       (long long)head1);

    /* Signed requests. */
    call(d, "GET", "/api/v1/clients/me", NULL, NULL, &r);
    ok(r.status == 401, "%s: unsigned: 401", kind);
    t_resp_free(&r);
    scall(d, &erp, "GET", "/api/v1/clients/me", NULL, NULL, NULL, NULL, hdr, &r);
    v = body_json(&r);
    ok(r.status == 200 && json_is_string(json_object_get(json_object_get(v, "client"), "name")) &&
           strcmp(json_string_value(json_object_get(json_object_get(v, "client"), "name")),
                  "erp") == 0,
       "%s: a signed request: 200, the client's own record", kind);
    json_decref(v);
    t_resp_free(&r);
    resend(d, "GET", "/api/v1/clients/me", hdr, &r);
    ok(refused_because(&r, "replayed"), "%s: the same request again: refused as a replay", kind);
    t_resp_free(&r);
    ok(sstatus(d, &erp, "GET", "/api/v1/clients/me?x=1", NULL) == 200, "%s: with a query string",
       kind);
    es_time_format_iso(es_time_now() - 3600, when);
    scall(d, &erp, "GET", "/api/v1/clients/me", NULL, NULL, when, NULL, NULL, &r);
    ok(refused_because(&r, "stale"), "%s: an hour old: refused as stale", kind);
    t_resp_free(&r);
    es_time_format_iso(es_time_now() + 3600, when);
    scall(d, &erp, "GET", "/api/v1/clients/me", NULL, NULL, when, NULL, NULL, &r);
    ok(refused_because(&r, "stale"), "%s: an hour ahead: refused", kind);
    t_resp_free(&r);
    es_time_format_iso(es_time_now() - 200, when);
    ok(scall(d, &erp, "GET", "/api/v1/clients/me", NULL, NULL, when, NULL, NULL, &r) == 200,
       "%s: 200 s old: within the skew", kind);
    t_resp_free(&r);
    scall(d, &erp, "POST", "/api/v1/clients/erp/disable", "{}", "{ }", NULL, NULL, NULL, &r);
    ok(refused_because(&r, "signature"), "%s: a body other than the signed one: refused", kind);
    t_resp_free(&r);
    {
        /* Signed for one target, sent to another. */
        char line[1100];
        scall(d, &erp, "GET", "/api/v1/clients/me", NULL, NULL, NULL, NULL, line, &r);
        t_resp_free(&r);
        char *nonce = strstr(line, "nonce=\"") + 7;
        nonce[0] = nonce[0] == 'a' ? 'b' : 'a'; /* a fresh nonce, the old signature */
        resend(d, "GET", "/api/v1/clients/me?admin=1", line, &r);
        ok(refused_because(&r, "signature"), "%s: another target or nonce: refused", kind);
        t_resp_free(&r);
    }
    api_client ghost = {"ghost", erp.key};
    scall(d, &ghost, "GET", "/api/v1/clients/me", NULL, NULL, NULL, NULL, NULL, &r);
    ok(refused_because(&r, "unknown client"), "%s: an unknown client: refused", kind);
    t_resp_free(&r);
    api_client impostor = {"erp", hr.key};
    scall(d, &impostor, "GET", "/api/v1/clients/me", NULL, NULL, NULL, NULL, NULL, &r);
    ok(refused_because(&r, "signature"), "%s: erp's name with another key: refused", kind);
    t_resp_free(&r);
    t_resp_init(&r);
    t_req(d->port, "GET", "/api/v1/clients/me",
          "Authorization: ESEAL-SM2 client=\"erp\", nonce=\"0123456789abcdef\"\r\n", NULL, &r);
    ok(is_error(&r, 401, "unauthorized"), "%s: a malformed header: 401", kind);
    t_resp_free(&r);
    ok(audit_count(d, auditor, "action=client.auth_failed&actor=client:erp") == 6,
       "%s: each refusal of erp audited (%d)", kind,
       audit_count(d, auditor, "action=client.auth_failed&actor=client:erp"));

    /* What a business system may not do: refused and audited under its name. */
    int expect = (int)(sizeof users_family / sizeof users_family[0] +
                       sizeof audit_family / sizeof audit_family[0] +
                       sizeof clients_family / sizeof clients_family[0]);
    int refused =
        try_family_signed(d, &erp, users_family, sizeof users_family / sizeof users_family[0]) +
        try_family_signed(d, &erp, audit_family, sizeof audit_family / sizeof audit_family[0]) +
        try_family_signed(d, &erp, clients_family,
                          sizeof clients_family / sizeof clients_family[0]);
    int audited = audit_count(d, auditor, "action=access.denied&actor=client:erp");
    ok(refused == expect && audited == expect, "%s: client:erp: %d of %d refusals, %d audited",
       kind, refused, expect, audited);
    t_resp_init(&r);
    scall(d, &erp, "GET", "/api/v1/sessions/current", NULL, NULL, NULL, NULL, NULL, &r);
    ok(is_error(&r, 403, "forbidden"), "%s: a client has no session", kind);
    t_resp_free(&r);
    scall(d, &erp, "POST", "/api/v1/users/me/password",
          "{\"old_password\":\"a\",\"new_password\":\"b\"}", NULL, NULL, NULL, NULL, &r);
    ok(is_error(&r, 403, "forbidden"), "%s: nor a password", kind);
    t_resp_free(&r);
    ok(sstatus(d, &erp, "GET", "/api/v1/users/erp", NULL) == 403,
       "%s: nor reads an account that shares its name", kind);

    /* Disable, enable, revoke. */
    ok(status_of(d, "POST", "/api/v1/clients/erp/disable", bizadmin, NULL) == 200, "%s: disable",
       kind);
    scall(d, &erp, "GET", "/api/v1/clients/me", NULL, NULL, NULL, NULL, NULL, &r);
    ok(refused_because(&r, "disabled"), "%s: a disabled client is refused", kind);
    t_resp_free(&r);
    ok(status_of(d, "POST", "/api/v1/clients/erp/enable", bizadmin, NULL) == 200 &&
           sstatus(d, &erp, "GET", "/api/v1/clients/me", NULL) == 200,
       "%s: enabled again, it is served", kind);
    call(d, "POST", "/api/v1/clients/hr-portal/revoke", bizadmin, "{\"reason\":\"keyCompromise\"}",
         &r);
    v = body_json(&r);
    ok(r.status == 200 && json_is_true(json_object_get(v, "certificate_revoked")) &&
           json_is_true(json_object_get(json_object_get(v, "client"), "revoked")),
       "%s: revoke: the client and its certificate at the CA", kind);
    ok(refused_before_body(d, &hr, "revoked"),
       "%s: a revoked client's request is refused before its body is read", kind);
    {
        api_client nobody = {"nobody", erp.key};
        ok(refused_before_body(d, &nobody, "unknown client"),
           "%s: a request naming no registered client is refused before its body", kind);
    }
    char hr_serial[48];
    snprintf(hr_serial, sizeof hr_serial, "%s",
             json_string_value(json_object_get(json_object_get(v, "client"), "serial"))
                 ? json_string_value(json_object_get(json_object_get(v, "client"), "serial"))
                 : "");
    json_decref(v);
    t_resp_free(&r);
    {
        /* The seal root's CRL, public: signed by the root, listing the revoked client. */
        t_resp rr;
        call(d, "GET", "/api/v1/ca/root", NULL, NULL, &rr);
        call(d, "GET", "/api/v1/ca/crl", NULL, NULL, &r);
        es_pki_cert root;
        es_pki_crl crl;
        es_buf tmp;
        es_buf_init(&tmp, 1u << 20);
        int listed = 0, parsed = 0, verified = 0;
        const char *ct = t_hdr(&r, "Content-Type");
        if (rr.status == 200 && r.status == 200 && ct && strcmp(ct, "application/pkix-crl") == 0 &&
            es_pki_cert_parse(es_slice_make(rr.body.p, rr.body.len), &root) == ES_OK &&
            es_pki_crl_parse(r.body.p, r.body.len, &tmp, &crl) == ES_OK) {
            parsed = 1;
            verified = es_pki_crl_verify(&crl, root.pub, NULL) == ES_OK;
            for (size_t i = 0; i < crl.n_revoked; i++) {
                char hex[2 * ES_PKI_SERIAL_MAX + 1];
                es_hex_encode(crl.revoked[i].serial, crl.revoked[i].serial_len, hex);
                listed += strcmp(hex, hr_serial) == 0 &&
                          crl.revoked[i].reason == ES_REASON_KEY_COMPROMISE;
            }
            es_pki_crl_cleanup(&crl);
        }
        ok(parsed && verified && listed == 1,
           "%s: GET /ca/crl: a CRL signed by the root (GET /ca/root) listing %s as keyCompromise",
           kind, hr_serial);
        es_buf_cleanup(&tmp);
        t_resp_free(&rr);
        t_resp_free(&r);
    }
    scall(d, &hr, "GET", "/api/v1/clients/me", NULL, NULL, NULL, NULL, NULL, &r);
    ok(refused_because(&r, "revoked"), "%s: a revoked client is refused", kind);
    t_resp_free(&r);
    call(d, "POST", "/api/v1/clients/hr-portal/enable", bizadmin, NULL, &r);
    ok(is_error(&r, 400, "invalid_argument"), "%s: and cannot be enabled again", kind);
    t_resp_free(&r);
    call(d, "POST", "/api/v1/clients/hr-portal/revoke", bizadmin, "{\"reason\":\"nonsense\"}", &r);
    ok(is_error(&r, 400, "invalid_argument"), "%s: an unknown revocation reason: 400", kind);
    t_resp_free(&r);
    ok(audit_count(d, auditor, "action=client.register") == 2 &&
           audit_count(d, auditor, "action=client.revoke") == 1 &&
           audit_count(d, auditor, "action=client.disable") == 1,
       "%s: registrations, the revocation and the disabling are in the trail", kind);
    ok(status_of(d, "GET", "/api/v1/clients/erp", bizadmin, NULL) == 200 &&
           status_of(d, "GET", "/api/v1/clients/nobody", bizadmin, NULL) == 404,
       "%s: GET a client; 404", kind);

    es_signer_free(erp.key);
    es_signer_free(hr.key);
    free(csr);
    free(csr2);
}

/* ---- Crash safety and concurrency. */

typedef struct writer {
    const daemon_t *d;
    const char *tok;
    const char *prefix;
    int id, count;
    atomic_int *stop;
    char acked[256][40];
    int nacked, conflicts, other;
    /* Read by the main thread while the writer runs (how many so far): atomic, not a plain
     * int (a data race, undefined behaviour). */
    atomic_int created;
} writer;

static void *write_stream(void *arg)
{
    writer *w = arg;
    for (int i = 0; i < w->count && !(w->stop && atomic_load(w->stop)); i++) {
        char name[40];
        snprintf(name, sizeof name, "%s%d-%d", w->prefix, w->id, i);
        int st = create_user(w->d, w->tok, name, "[\"operator\"]", NULL);
        if (st == 201 && w->nacked < 256) snprintf(w->acked[w->nacked++], 40, "%s", name);
        if (st == 201)
            atomic_fetch_add(&w->created, 1);
        else if (st == 409)
            w->conflicts++;
        else {
            w->other++;
            if (!w->stop) fprintf(stderr, "  writer: creating %s answered %d\n", name, st);
        }
    }
    return NULL;
}

typedef struct racer {
    const daemon_t *d;
    const char *tok;
    int created, conflicts, other;
} racer;

/* Every racer creates the same names: each exactly once across all. */
static void *race(void *arg)
{
    racer *r = arg;
    for (int i = 0; i < 4; i++) {
        char name[40];
        snprintf(name, sizeof name, "race-%d", i);
        int st = create_user(r->d, r->tok, name, "[\"reviewer\"]", NULL);
        if (st == 201)
            r->created++;
        else if (st == 409)
            r->conflicts++;
        else {
            r->other++; /* say which, so that a rare failure can be told apart */
            fprintf(stderr, "  race: creating %s answered %d\n", name, st);
        }
    }
    return NULL;
}

/* ---- The suite. */

static void write_config(const char *path, const char *url, const char *level)
{
    char text[2048];
    snprintf(text, sizeof text,
             "# test_api\n[store]\n%s%s%s\n[limits]\nmax_body = %d\nthreads = 8\n"
             "[accounts]\nsignin_rate_address = 100000\nsignin_rate_account = 10\n"
             "[log]\nlevel = %s\n"
             /* These suites test other things than the second factor (tests/test_otp.c). */
             "[factors]\nenforce = false\n",
             url ? "url = " : "", url ? url : "", url ? "" : "", MAX_BODY, level);
    if (es_file_write(path, text, strlen(text)) != ES_OK) st_die("cannot write %s", path);
}

/* ---- Hardening 13: separation of duties over HTTP (item 4), CSRF (item 7), one answer for
 * every sign-in failure and the per-address back-off (items 6, 8). */

/* A request with the session cookie (not a bearer token) and extra header lines. */
static int ccall(const daemon_t *d, const char *method, const char *path, const char *token,
                 const char *extra, const char *body, t_resp *r)
{
    char h[1024];
    snprintf(h, sizeof h, "Cookie: eseal_session=%s\r\n%s%s", token, extra ? extra : "",
             body ? "Content-Type: application/json\r\n" : "");
    t_resp_init(r);
    return t_req(d->port, method, path, h, body, r);
}

static int user_flag(const daemon_t *d, const char *tok, const char *name, const char *flag)
{
    char path[128];
    t_resp r;
    snprintf(path, sizeof path, "/api/v1/users/%s", name);
    int v = -1;
    if (call(d, "GET", path, tok, NULL, &r) == 200) {
        json_t *j = body_json(&r);
        v = json_is_true(json_object_get(json_object_get(j, "user"), flag));
        json_decref(j);
    }
    t_resp_free(&r);
    return v;
}

static void hardening13(const char *kind, const daemon_t *d, const char *admin, const char *auditor,
                        const char *bizadmin, const char *keeper_name)
{
    t_resp r;
    char otp[64], body[512];

    /* Item 4: the system administrator against the audit administrator's account. */
    static const endpoint on_auditor[] = {
        {"PUT", "/api/v1/users/auditor/roles", "{\"roles\":[\"operator\"]}"},
        {"PUT", "/api/v1/users/auditor/roles", "{\"roles\":[\"audit_admin\"]}"},
        {"POST", "/api/v1/users/auditor/disable", NULL},
        {"POST", "/api/v1/users/auditor/enable", NULL},
        {"POST", "/api/v1/users/auditor/reset-password", NULL},
    };
    call(d, "POST", "/api/v1/users", admin, "{\"name\":\"r-audit\",\"roles\":[\"audit_admin\"]}",
         &r);
    ok(is_error(&r, 403, "forbidden") && strstr((const char *)r.body.p, "audit administrators"),
       "%s: h13: the system administrator creates no audit administrator: 403", kind);
    t_resp_free(&r);
    int refused = 0, withotp = 0;
    for (size_t i = 0; i < sizeof on_auditor / sizeof on_auditor[0]; i++) {
        call(d, on_auditor[i].method, on_auditor[i].path, admin, on_auditor[i].body, &r);
        refused += is_error(&r, 403, "forbidden");
        withotp += strstr((const char *)r.body.p, "one_time_password") != NULL;
        t_resp_free(&r);
    }
    ok(refused == 5 && withotp == 0 && user_flag(d, admin, "auditor", "disabled") == 0,
       "%s: h13: the system administrator cannot re-role, disable, enable or reset the audit "
       "administrator (%d of 5 refused), but reads it",
       kind, refused);
    ok(create_user(d, admin, "h-biz", "[\"operator\"]", NULL) == 201 &&
           status_of(d, "PUT", "/api/v1/users/h-biz/roles", admin,
                     "{\"roles\":[\"audit_admin\"]}") == 403,
       "%s: h13: it makes an operator and cannot make it an auditor", kind);
    ok(status_of(d, "PUT", "/api/v1/users/h-biz/roles", bizadmin, "{\"roles\":[\"reviewer\"]}") ==
               403 &&
           status_of(d, "POST", "/api/v1/users/auditor/reset-password", bizadmin, NULL) == 403,
       "%s: h13: a business administrator manages nobody", kind);
    /* The audit administrator manages audit administrators, and only them. */
    ok(create_user(d, auditor, "h-aud2", "[\"audit_admin\"]", otp) == 201 && strlen(otp) >= 12,
       "%s: h13: the audit administrator makes another (one-time password)", kind);
    ok(create_user(d, auditor, "h-sys", "[\"system_admin\"]", NULL) == 403 &&
           status_of(d, "PUT", "/api/v1/users/h-aud2/roles", auditor,
                     "{\"roles\":[\"system_admin\"]}") == 403 &&
           status_of(d, "PUT", "/api/v1/users/auditor/roles", auditor,
                     "{\"roles\":[\"system_admin\"]}") == 403 &&
           status_of(d, "POST", "/api/v1/users/h-biz/disable", auditor, NULL) == 403,
       "%s: h13: and gives nobody, itself included, another duty", kind);
    ok(status_of(d, "POST", "/api/v1/users/h-aud2/disable", auditor, NULL) == 200 &&
           status_of(d, "POST", "/api/v1/users/h-aud2/enable", auditor, NULL) == 200,
       "%s: h13: it disables and enables an audit administrator", kind);

    /* Item 7: CSRF. The session cookie alone, from another site's page. */
    char own[160], evil[] = "Origin: http://evil.example\r\n";
    snprintf(own, sizeof own, "Origin: http://127.0.0.1:%u\r\n", d->port);
    int resets0 = audit_count(d, auditor, "action=user.password_reset");
    ccall(d, "POST", "/api/v1/users/h-biz/disable", admin, evil, NULL, &r);
    ok(is_error(&r, 403, "origin_refused") && user_flag(d, admin, "h-biz", "disabled") == 0,
       "%s: h13: cookie + Origin of another site: 403 origin_refused, nothing disabled", kind);
    t_resp_free(&r);
    ccall(d, "POST", "/api/v1/users/h-biz/disable", admin,
          "Referer: http://evil.example/page.html\r\n", NULL, &r);
    ok(is_error(&r, 403, "origin_refused") && user_flag(d, admin, "h-biz", "disabled") == 0,
       "%s: h13: cookie + Referer of another site: 403", kind);
    t_resp_free(&r);
    ccall(d, "POST", "/api/v1/users/h-biz/disable", admin, NULL, NULL, &r);
    ok(is_error(&r, 403, "origin_refused") && user_flag(d, admin, "h-biz", "disabled") == 0,
       "%s: h13: cookie with neither Origin nor Referer: 403", kind);
    t_resp_free(&r);
    ccall(d, "POST", "/api/v1/users/h-biz/reset-password", admin, evil, NULL, &r);
    ok(is_error(&r, 403, "origin_refused"), "%s: h13: reset from another site: 403", kind);
    t_resp_free(&r);
    ccall(d, "POST", "/api/v1/clients/erp/revoke", bizadmin, evil, "{\"reason\":\"superseded\"}",
          &r);
    ok(is_error(&r, 403, "origin_refused"), "%s: h13: client revoke from another site: 403", kind);
    t_resp_free(&r);
    static const char *const forms[] = {"application/x-www-form-urlencoded", "multipart/form-data",
                                        "text/plain"};
    int formed = 0;
    for (int i = 0; i < 3; i++) {
        char extra[300];
        snprintf(extra, sizeof extra, "%sContent-Type: %s\r\n", own, forms[i]);
        ccall(d, "POST", "/api/v1/users/h-biz/reset-password", admin, extra, NULL, &r);
        formed += is_error(&r, 415, "unsupported_media_type");
        t_resp_free(&r);
    }
    ok(formed == 3 && audit_count(d, auditor, "action=user.password_reset") == resets0,
       "%s: h13: a bodyless POST with a form content type: 415 (3 of 3), no reset made", kind);
    ccall(d, "POST", "/api/v1/users/h-biz/disable", admin, own, NULL, &r);
    ok(r.status == 200 && user_flag(d, admin, "h-biz", "disabled") == 1,
       "%s: h13: cookie + this site's Origin: 200", kind);
    t_resp_free(&r);
    char ref[160];
    snprintf(ref, sizeof ref, "Referer: http://127.0.0.1:%u/#/users\r\n", d->port);
    ccall(d, "POST", "/api/v1/users/h-biz/enable", admin, ref, NULL, &r);
    ok(r.status == 200 && user_flag(d, admin, "h-biz", "disabled") == 0,
       "%s: h13: cookie + this site's Referer (no Origin): 200", kind);
    t_resp_free(&r);
    ccall(d, "GET", "/api/v1/users/h-biz", admin, evil, NULL, &r);
    ok(r.status == 200, "%s: h13: a read with the cookie from anywhere: 200 (changes nothing)",
       kind);
    t_resp_free(&r);
    ok(status_of(d, "POST", "/api/v1/users/h-biz/disable", admin, NULL) == 200 &&
           status_of(d, "POST", "/api/v1/users/h-biz/enable", admin, NULL) == 200,
       "%s: h13: a bearer token needs no Origin (not sent by a browser on its own)", kind);
    t_resp_init(&r);
    char sh[200];
    snprintf(sh, sizeof sh, "%sContent-Type: application/json\r\n", evil);
    t_req(d->port, "POST", "/api/v1/sessions", sh,
          "{\"username\":\"admin\",\"password\":\"" ADMIN_PASS "\"}", &r);
    ok(is_error(&r, 403, "origin_refused") && !t_hdr(&r, "Set-Cookie"),
       "%s: h13: signing in from another site's page: 403, no cookie", kind);
    t_resp_free(&r);

    /* Items 6 and 8: one answer for every failure. The keeper signed in from here (the owner's
     * address): its failures count, five lock it. */
    for (int i = 0; i < 5; i++) {
        char t[65];
        (void)sign_in(d, keeper_name, "Wrong-Pass-2026!", t, NULL);
    }
    ok(status_of(d, "POST", "/api/v1/users/h-aud2/disable", auditor, NULL) == 200,
       "%s: h13: an audit administrator disabled for the next check", kind);
    struct {
        const char *name, *pass, *what;
    } tries[] = {
        {"h-nobody", "Wrong-Pass-2026!", "unknown name"},
        {"h-biz", "Wrong-Pass-2026!", "wrong password"},
        {keeper_name, USER_PASS, "locked, right password"},
        {"h-aud2", otp, "disabled, right password"},
    };
    char first[1024] = "";
    int same = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", tries[i].name,
                 tries[i].pass);
        call(d, "POST", "/api/v1/sessions", NULL, body, &r);
        char now[1024];
        snprintf(now, sizeof now, "%d %.*s", r.status, (int)r.body.len, (const char *)r.body.p);
        if (i == 0) snprintf(first, sizeof first, "%s", now);
        int eq = r.status == 401 && strcmp(now, first) == 0;
        if (!eq) fprintf(stderr, "  %s: %s\n  first: %s\n", tries[i].what, now, first);
        same += eq;
        t_resp_free(&r);
    }
    ok(same == 4,
       "%s: h13: unknown name, wrong password, locked and disabled accounts (right "
       "passwords): the same 401 and body (%d of 4)",
       kind, same);
    ok(audit_count(d, auditor, "action=session.login_refused") >= 2,
       "%s: h13: the trail has the true reasons", kind);
    /* Per-address back-off: after three failures for a name from one address (not the owner's),
     * 429 with Retry-After, known name or not. */
    int backed = 0;
    const char *names2[] = {"h-ghost", "h-biz"};
    const int before[] = {3, 2}; /* h-biz failed once above */
    for (int n = 0; n < 2; n++) {
        char t[65];
        for (int i = 0; i < before[n]; i++)
            (void)sign_in(d, names2[n], "Wrong-Pass-2026!", t, NULL);
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"x-Wrong-2026!\"}",
                 names2[n]);
        call(d, "POST", "/api/v1/sessions", NULL, body, &r);
        const char *ra = t_hdr(&r, "Retry-After");
        backed += is_error(&r, 429, "too_many_requests") && ra && atoi(ra) >= 1;
        t_resp_free(&r);
    }
    ok(backed == 2, "%s: h13: the address backs off for a name after 3 failures: 429 (%d of 2)",
       kind, backed);
}

/* First start at log level debug, the log (stderr) kept in a file: both first accounts are
 * created and logged, neither one-time password is in the log (hardening 13.4). */
static void first_start_log(void)
{
    char var[600], cfg[640], logpath[700];
    daemon_t d;
    snprintf(var, sizeof var, "%s/first-var", st_tmp());
    snprintf(cfg, sizeof cfg, "%s/first.conf", st_tmp());
    snprintf(logpath, sizeof logpath, "%s/first.log", st_tmp());
    write_config(cfg, NULL, "debug");
    fflush(stderr);
    int saved = dup(2), logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (logfd >= 0) dup2(logfd, 2);
    int started = daemon_start(&d, var, cfg);
    if (started == 0) daemon_stop(&d, SIGTERM);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    if (logfd >= 0) close(logfd);
    ok(started == 0 && strlen(d.otp) >= 12 && strlen(d.aotp) >= 12 && strcmp(d.otp, d.aotp) != 0,
       "first start: one-time passwords for admin and for auditor on the operator's output");
    es_buf lb;
    es_buf_init(&lb, 1u << 20);
    int logged = es_file_read(logpath, &lb) == ES_OK && es_buf_nul(&lb) == ES_OK;
    const char *text = logged ? (const char *)lb.p : "";
    ok(logged && strstr(text, "created the audit administrator \"auditor\"") &&
           strstr(text, "created the system administrator \"admin\"") && d.otp[0] &&
           !strstr(text, d.otp) && d.aotp[0] && !strstr(text, d.aotp),
       "first start: the log says both were created and holds neither one-time password");
    es_buf_cleanup(&lb);
}

static void suite(const char *kind, const char *url)
{
    char var[600], cfg[640];
    daemon_t d;
    snprintf(var, sizeof var, "%s/%s-var", st_tmp(), kind);
    snprintf(cfg, sizeof cfg, "%s/%s.conf", st_tmp(), kind);
    write_config(cfg, url, "warn");
    const char *store_url = url;
    char sqlite_url[700];
    if (!url) {
        snprintf(sqlite_url, sizeof sqlite_url, "sqlite:%s/eseal.db", var);
        store_url = sqlite_url;
    }

    /* First start. */
    ok(daemon_start(&d, var, cfg) == 0, "%s: esealsd starts on an ephemeral port", kind);
    if (!d.port) return;
    ok(strlen(d.otp) >= 12, "%s: first start prints the admin's one-time password", kind);
    ok(strlen(d.aotp) >= 12 && strcmp(d.aotp, d.otp) != 0,
       "%s: and the first audit administrator's (hardening 13.4)", kind);
    ok(status_of(&d, "GET", "/healthz", NULL, NULL) == 200, "%s: /healthz", kind);
    ok(status_of(&d, "GET", "/api/v1/openapi.json", NULL, NULL) == 200, "%s: openapi.json", kind);
    ok(status_of(&d, "GET", "/api/v1/users", NULL, NULL) == 401, "%s: anonymous: 401", kind);

    /* Sign in, forced password change. */
    char admin[65], tok[65];
    int must = 0;
    ok(sign_in(&d, "admin", "wrong-password-1A", admin, NULL) == 401, "%s: a wrong password: 401",
       kind);
    t_resp r;
    call(&d, "POST", "/api/v1/sessions", NULL,
         "{\"username\":\"admin\",\"password\":\"wrong-password-1A\"}", &r);
    ok(is_error(&r, 401, "unauthorized"), "%s: 401 in the error shape", kind);
    t_resp_free(&r);
    t_resp_init(&r);
    char body[512];
    snprintf(body, sizeof body, "{\"username\":\"admin\",\"password\":\"%s\"}", d.otp);
    call(&d, "POST", "/api/v1/sessions", NULL, body, &r);
    const char *cookie = t_hdr(&r, "Set-Cookie");
    ok(r.status == 201 && cookie && strstr(cookie, "eseal_session=") &&
           strstr(cookie, "HttpOnly") && strstr(cookie, "SameSite=Strict"),
       "%s: sign in with the one-time password: 201 and a session cookie", kind);
    json_t *v = body_json(&r);
    snprintf(admin, sizeof admin, "%s", v ? json_string_value(json_object_get(v, "token")) : "");
    must = json_is_true(json_object_get(json_object_get(v, "user"), "must_change_password"));
    ok(must && strlen(admin) == 64, "%s: a token, and a password change is due", kind);
    json_decref(v);
    t_resp_free(&r);
    call(&d, "GET", "/api/v1/users", admin, NULL, &r);
    ok(is_error(&r, 403, "password_change_required"), "%s: nothing else before the change", kind);
    t_resp_free(&r);
    ok(status_of(&d, "GET", "/api/v1/sessions/current", admin, NULL) == 200,
       "%s: the session can be read", kind);
    call(&d, "POST", "/api/v1/users/me/password", admin,
         "{\"old_password\":\"x\",\"new_password\":\"" ADMIN_PASS "\"}", &r);
    ok(is_error(&r, 400, "wrong_password"), "%s: a wrong current password: 400", kind);
    t_resp_free(&r);
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"short\"}", d.otp);
    call(&d, "POST", "/api/v1/users/me/password", admin, body, &r);
    ok(is_error(&r, 400, "invalid_argument"), "%s: a weak new password: 400 with the reason", kind);
    t_resp_free(&r);
    ok(change_password(&d, admin, d.otp, ADMIN_PASS) == 200, "%s: the password is changed", kind);
    ok(status_of(&d, "GET", "/api/v1/users", admin, NULL) == 200, "%s: now the users list", kind);
    ok(status_of(&d, "GET", "/api/v1/roles", admin, NULL) == 200, "%s: the roles table", kind);

    /* One account per role. */
    char toks[ES_ROLE_COUNT][65];
    char names[ES_ROLE_COUNT][40];
    int made = 1;
    snprintf(toks[ES_ROLE_SYSTEM_ADMIN], 65, "%s", admin);
    snprintf(names[ES_ROLE_SYSTEM_ADMIN], 40, "admin");
    /* The audit administrator is the daemon's first one: the system administrator cannot make
     * one (hardening 13.4). */
    {
        int amust = 0;
        snprintf(names[ES_ROLE_AUDIT_ADMIN], 40, "auditor");
        ok(sign_in(&d, "auditor", d.aotp, toks[ES_ROLE_AUDIT_ADMIN], &amust) == 201 && amust &&
               change_password(&d, toks[ES_ROLE_AUDIT_ADMIN], d.aotp, USER_PASS) == 200,
           "%s: the first audit administrator signs in and changes its password", kind);
    }
    for (int i = 1; i < ES_ROLE_COUNT; i++) {
        char roles[64];
        if (i == ES_ROLE_AUDIT_ADMIN) continue;
        snprintf(names[i], 40, "r-%s", es_role_name((es_role)i));
        for (char *c = names[i]; *c; c++)
            if (*c == '_') *c = '-';
        snprintf(roles, sizeof roles, "[\"%s\"]", es_role_name((es_role)i));
        made &= make_account(&d, admin, names[i], roles, toks[i]);
    }
    ok(made, "%s: an account of each role, signed in", kind);
    const char *auditor = toks[ES_ROLE_AUDIT_ADMIN];

    /* The role matrix: each family a role must not use, refused and audited. */
    for (int i = 0; i < ES_ROLE_COUNT; i++) {
        es_roles roles = ES_ROLE_BIT(i);
        int expect = 0, refused = 0;
        if (es_roles_allow(roles, ES_PERM_AUDIT_ACCOUNTS)) {
            /* An audit administrator lists audit administrators; the rest of the family, on
             * the system administrator's account, is refused (by the service: audited). */
            expect += (int)(sizeof users_family / sizeof users_family[0]) - 1;
            refused += try_family(&d, toks[i], users_family + 1,
                                  sizeof users_family / sizeof users_family[0] - 1, names[i]);
            json_t *seen = json_array();
            ok(list_users(&d, toks[i], seen) == 1 && has_name(seen, "auditor"),
               "%s: %s lists the audit administrators only", kind, names[i]);
            json_decref(seen);
        } else if (!es_roles_allow(roles, ES_PERM_ACCOUNTS)) {
            expect += (int)(sizeof users_family / sizeof users_family[0]);
            refused += try_family(&d, toks[i], users_family,
                                  sizeof users_family / sizeof users_family[0], names[i]);
        }
        if (!es_roles_allow(roles, ES_PERM_CLIENTS)) {
            expect += (int)(sizeof clients_family / sizeof clients_family[0]);
            refused += try_family(&d, toks[i], clients_family,
                                  sizeof clients_family / sizeof clients_family[0], names[i]);
        }
        if (!es_roles_allow(roles, ES_PERM_AUDIT)) {
            expect += (int)(sizeof audit_family / sizeof audit_family[0]);
            refused += try_family(&d, toks[i], audit_family,
                                  sizeof audit_family / sizeof audit_family[0], names[i]);
        }
        char q[128];
        snprintf(q, sizeof q, "action=access.denied&actor=%.39s", names[i]);
        int audited = audit_count(&d, auditor, q);
        ok(expect > 0 && refused == expect && audited == expect,
           "%s: %s: %d of %d refusals, %d audited as access.denied", kind, names[i], refused,
           expect, audited);
    }
    ok(status_of(&d, "GET", "/api/v1/users/intruder", admin, NULL) == 404,
       "%s: the refused creation stored nothing", kind);
    ok(status_of(&d, "GET", "/api/v1/users/r-operator", toks[ES_ROLE_OPERATOR], NULL) == 200,
       "%s: an account reads itself", kind);

    /* Separation of duties. */
    call(&d, "POST", "/api/v1/users", admin,
         "{\"name\":\"mixer\",\"roles\":[\"audit_admin\",\"seal_issuer\"]}", &r);
    ok(is_error(&r, 400, "invalid_argument"), "%s: audit + business duties: 400", kind);
    t_resp_free(&r);
    call(&d, "PUT", "/api/v1/users/r-operator/roles", admin,
         "{\"roles\":[\"system_admin\",\"approver\"]}", &r);
    ok(is_error(&r, 400, "invalid_argument"), "%s: system + business duties: 400", kind);
    t_resp_free(&r);
    call(&d, "PUT", "/api/v1/users/admin/roles", admin, "{\"roles\":[\"audit_admin\"]}", &r);
    ok(is_error(&r, 403, "forbidden"), "%s: one's own roles: 403", kind);
    t_resp_free(&r);
    call(&d, "POST", "/api/v1/users/admin/disable", admin, NULL, &r);
    ok(is_error(&r, 403, "forbidden"), "%s: disabling oneself: 403", kind);
    t_resp_free(&r);
    call(&d, "PUT", "/api/v1/users/r-operator/roles", admin, "{\"roles\":[\"approver\"]}", &r);
    v = body_json(&r);
    ok(r.status == 200 && strcmp(json_string_value(json_array_get(
                                     json_object_get(json_object_get(v, "user"), "roles"), 0)),
                                 "approver") == 0,
       "%s: roles changed", kind);
    json_decref(v);
    t_resp_free(&r);
    ok(status_of(&d, "POST", "/api/v1/users/r-approver/disable", admin, NULL) == 200 &&
           sign_in(&d, "r-approver", USER_PASS, tok, NULL) == 401 &&
           status_of(&d, "GET", "/api/v1/sessions/current", toks[ES_ROLE_APPROVER], NULL) == 401,
       "%s: a disabled account cannot sign in (401, as a wrong password) and its sessions ended",
       kind);
    ok(status_of(&d, "POST", "/api/v1/users/r-approver/enable", admin, NULL) == 200 &&
           sign_in(&d, "r-approver", USER_PASS, toks[ES_ROLE_APPROVER], NULL) == 201,
       "%s: enabled again", kind);
    call(&d, "POST", "/api/v1/users/r-reviewer/reset-password", admin, NULL, &r);
    v = body_json(&r);
    const char *reset = json_string_value(json_object_get(v, "one_time_password"));
    ok(r.status == 200 && reset && sign_in(&d, "r-reviewer", reset, tok, &must) == 201 && must,
       "%s: a reset gives a one-time password that must be changed", kind);
    json_decref(v);
    t_resp_free(&r);
    call(&d, "POST", "/api/v1/users", admin, "{\"name\":\"r-operator\",\"roles\":[\"operator\"]}",
         &r);
    ok(is_error(&r, 409, "conflict"), "%s: a duplicate name: 409", kind);
    t_resp_free(&r);
    ok(status_of(&d, "GET", "/api/v1/users/nobody", admin, NULL) == 404, "%s: 404", kind);

    /* Bad input changes nothing. */
    int64_t head0 = 0, head1 = 0;
    int users0 = count_users(&d, admin);
    ok(audit_verify(&d, auditor, &head0), "%s: the trail verifies", kind);
    static const struct {
        const char *body, *code;
        int status;
    } bad[] = {
        {"{\"name\":", "bad_json", 400},
        {"{\"name\":\"bad1\",\"roles\":[]} x", "bad_json", 400},
        {"{\"name\":\"bad2\",\"name\":\"bad3\",\"roles\":[]}", "bad_json", 400},
        {"[\"bad4\"]", "bad_json", 400},
        {"{\"name\":5,\"roles\":[]}", "invalid_argument", 400},
        {"{\"name\":\"bad5\",\"roles\":\"operator\"}", "invalid_argument", 400},
        {"{\"name\":\"bad6\",\"roles\":[7]}", "invalid_argument", 400},
        {"{\"name\":\"bad7\",\"roles\":[\"emperor\"]}", "invalid_argument", 400},
        {"{\"name\":\"bad8\",\"roles\":[],\"admin\":true}", "invalid_argument", 400},
        {"{\"roles\":[]}", "invalid_argument", 400},
        {"{\"name\":\"Bad Name\",\"roles\":[]}", "invalid_argument", 400},
        {"{\"name\":\"bad9\",\"roles\":[],\"display_name\":null}", "invalid_argument", 400},
        {"{\"name\":\"bad11\",\"roles\":[]}", "invalid_argument", 400}, /* minItems 1 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        call(&d, "POST", "/api/v1/users", admin, bad[i].body, &r);
        ok(is_error(&r, bad[i].status, bad[i].code), "%s: %s: %d %s", kind, bad[i].body,
           bad[i].status, bad[i].code);
        t_resp_free(&r);
    }
    t_resp_init(&r);
    char hdr[200];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: text/plain\r\n", admin);
    t_req(d.port, "POST", "/api/v1/users", hdr, "{\"name\":\"bad10\",\"roles\":[]}", &r);
    ok(is_error(&r, 415, "unsupported_media_type"), "%s: not JSON: 415", kind);
    t_resp_free(&r);
    {
        size_t n = 2 * MAX_BODY;
        char *big = malloc(n + 64);
        int k = snprintf(big, 64, "{\"name\":\"bad11\",\"roles\":[],\"display_name\":\"");
        memset(big + k, 'a', n - (size_t)k - 2);
        memcpy(big + n - 2, "\"}", 3);
        call(&d, "POST", "/api/v1/users", admin, big, &r);
        ok(is_error(&r, 413, "too_large"), "%s: an oversized body: 413", kind);
        t_resp_free(&r);
        /* Under the server's limit, over the sign-in route's own (8 KiB). */
        big[9000] = 0;
        memcpy(big + 8990, "\"}", 3);
        call(&d, "POST", "/api/v1/sessions", NULL, big, &r);
        ok(is_error(&r, 413, "too_large"), "%s: 9000 bytes to sign in: 413 (route limit)", kind);
        t_resp_free(&r);
        free(big);
    }
    {
        /* Truncated: fewer bytes than Content-Length, then the client stops sending. */
        char req[600];
        int n = snprintf(req, sizeof req,
                         "POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                         "%s\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
                         "{\"name\":\"bad12\",\"roles\":[]}",
                         admin);
        int fd = t_connect(d.port);
        t_resp_init(&r);
        int st = -1;
        if (fd >= 0) {
            t_send(fd, req, (size_t)n);
            shutdown(fd, SHUT_WR);
            st = t_response(fd, 0, &r);
            close(fd);
        }
        ok(st == -1 || (st >= 400 && st < 500), "%s: a truncated request is not served (%d)", kind,
           st);
        t_resp_free(&r);
    }
    ok(settled(&d), "%s: the node finished the truncated requests", kind);
    ok(count_users(&d, admin) == users0, "%s: bad input stored no user (%d)", kind, users0);
    ok(audit_verify(&d, auditor, &head1) && head1 == head0,
       "%s: and no audit record (head %lld, was %lld)", kind, (long long)head1, (long long)head0);
    call(&d, "GET", "/api/v1/users?limit=abc", admin, NULL, &r);
    ok(is_error(&r, 400, "invalid_argument"), "%s: a bad limit: 400", kind);
    t_resp_free(&r);
    call(&d, "GET", "/api/v1/audit?from=yesterday", auditor, NULL, &r);
    ok(is_error(&r, 400, "invalid_argument"), "%s: a bad from: 400", kind);
    t_resp_free(&r);

    clients_suite(kind, &d, toks[ES_ROLE_BUSINESS_ADMIN], auditor);

    /* Audit reading, filters, export. */
    ok(audit_count(&d, auditor, "action=user.create") == ES_ROLE_COUNT,
       "%s: the creations are in the trail (%d)", kind,
       audit_count(&d, auditor, "action=user.create"));
    /* The system certificate and the status system's own (docs/status.md, ST10). */
    ok(audit_count(&d, auditor, "action=ca.issue&actor=system") == 2,
       "%s: the seal root issuing the system and status certificates is in the trail", kind);
    ok(audit_count(&d, auditor, "actor=admin&action=session.login") == 1,
       "%s: filter by actor and action", kind);
    ok(audit_count(&d, auditor, "from=4102444800000") == 0, "%s: filter by time", kind);
    call(&d, "GET", "/api/v1/audit/export", auditor, NULL, &r);
    ok(r.status == 200 && r.body.len > 0 && strstr((char *)r.body.p, ES_AUDIT_EXPORT_FORMAT),
       "%s: the export (JSON Lines)", kind);
    {
        es_audit_report rep;
        es_config c;
        es_site site;
        char why[256];
        es_config_defaults(&c, var);
        int good = 0;
        if (es_site_prepare(&c, &site, NULL, NULL, why, sizeof why) == ES_OK) {
            if (es_audit_verify_export_mem(r.body.p, r.body.len, site.audit_pub, &rep) == ES_OK) {
                good = es_audit_report_ok(&rep);
                es_audit_report_cleanup(&rep);
            }
            es_site_cleanup(&site);
        }
        ok(good, "%s: the export verifies offline", kind);
    }
    t_resp_free(&r);

    hardening13(kind, &d, admin, auditor, toks[ES_ROLE_BUSINESS_ADMIN], names[ES_ROLE_SEAL_KEEPER]);

    /* Sign out. */
    ok(status_of(&d, "DELETE", "/api/v1/sessions/current", tok, NULL) == 204 &&
           status_of(&d, "GET", "/api/v1/sessions/current", tok, NULL) == 401,
       "%s: sign out ends the session", kind);

    /* Restart: no new admin, the same audit key, the chain still verifies. */
    char pub0[4096] = "", pub1[4096] = "", pubpath[700];
    snprintf(pubpath, sizeof pubpath, "%s/keys/audit.pub", var);
    es_buf pb;
    es_buf_init(&pb, sizeof pub0 - 1);
    if (es_file_read(pubpath, &pb) == ES_OK) memcpy(pub0, pb.p, pb.len);
    es_buf_cleanup(&pb);
    unsigned port0 = d.port;
    /* Every issuance of the seal root is audited (ca.issue): clients' certificates and the
     * system certificate. */
    int issued0 = audit_count(&d, auditor, "action=ca.issue");
    ok(daemon_stop(&d, SIGTERM) == 0, "%s: SIGTERM stops it cleanly (exit 0)", kind);
    ok(daemon_start(&d, var, cfg) == 0 && d.otp[0] == 0, "%s: restart: no new administrator", kind);
    es_buf_init(&pb, sizeof pub1 - 1);
    if (es_file_read(pubpath, &pb) == ES_OK) memcpy(pub1, pb.p, pb.len);
    es_buf_cleanup(&pb);
    ok(pub0[0] && strcmp(pub0, pub1) == 0, "%s: the same audit key", kind);
    ok(sign_in(&d, "admin", ADMIN_PASS, admin, &must) == 201 && !must,
       "%s: the administrator signs in with the new password", kind);
    ok(sign_in(&d, "auditor", USER_PASS, toks[ES_ROLE_AUDIT_ADMIN], NULL) == 201 &&
           audit_verify(&d, auditor, NULL),
       "%s: the chain verifies after the restart", kind);
    /* An ephemeral port (127.0.0.1:0) is not named by the system certificate: kept, not issued
     * again at every start. */
    ok(issued0 >= 1 && audit_count(&d, auditor, "action=ca.issue") == issued0,
       "%s: the system certificate is kept across a restart on another port (%u, was %u)", kind,
       d.port, port0);

    /* The crash test needs a process to kill: the node moves to a child. */
    ok(daemon_stop(&d, SIGTERM) == 0 && daemon_start_process(&d, var, cfg) == 0 && d.otp[0] == 0,
       "%s: the node runs in a child process (es_node_run)", kind);

    /* Crash safety: kill -9 during a stream of writes. */
    atomic_int stop = 0;
    writer w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i] = (writer){&d, admin, "crash", i, 200, &stop, {{0}}, 0, 0, 0, 0};
        atomic_init(&w[i].created, 0);
        pthread_create(&th[i], NULL, write_stream, &w[i]);
    }
    for (int t = 0; t < 600; t++) {
        int n = 0;
        for (int i = 0; i < 4; i++) n += atomic_load(&w[i].created);
        if (n >= 12) break;
        sleep_ms(50);
    }
    ok(daemon_stop(&d, SIGKILL) == 128 + SIGKILL, "%s: kill -9 in the middle of writes", kind);
    atomic_store(&stop, 1);
    int acked = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        acked += w[i].nacked;
    }
    ok(acked >= 12, "%s: %d writes acknowledged before the kill", kind, acked);
    ok(daemon_start(&d, var, cfg) == 0 && d.otp[0] == 0, "%s: restarts after kill -9", kind);
    ok(sign_in(&d, "admin", ADMIN_PASS, admin, NULL) == 201, "%s: sign in again", kind);
    json_t *all = json_array();
    list_users(&d, admin, all);
    int present = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < w[i].nacked; j++) present += has_name(all, w[i].acked[j]) == 1;
    ok(present == acked, "%s: every acknowledged write is there (%d of %d)", kind, present, acked);
    json_decref(all);
    int64_t recs = 0;
    ok(store_verifies(var, store_url, &recs), "%s: the chain verifies in the store (%lld records)",
       kind, (long long)recs);

    /* Concurrency: many clients at once. */
    writer cw[12];
    pthread_t ct[12];
    racer rc[6];
    pthread_t rt[6];
    for (int i = 0; i < 12; i++) {
        cw[i] = (writer){&d, admin, "many", i, 4, NULL, {{0}}, 0, 0, 0, 0};
        atomic_init(&cw[i].created, 0);
        pthread_create(&ct[i], NULL, write_stream, &cw[i]);
    }
    for (int i = 0; i < 6; i++) {
        rc[i] = (racer){&d, admin, 0, 0, 0};
        pthread_create(&rt[i], NULL, race, &rc[i]);
    }
    int created = 0, failed = 0, rcreated = 0, rconflicts = 0;
    for (int i = 0; i < 12; i++) {
        pthread_join(ct[i], NULL);
        created += atomic_load(&cw[i].created);
        failed += cw[i].other + cw[i].conflicts;
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(rt[i], NULL);
        rcreated += rc[i].created;
        rconflicts += rc[i].conflicts;
        failed += rc[i].other;
    }
    ok(created == 48 && failed == 0, "%s: 48 creations from 12 clients at once (%d, %d failed)",
       kind, created, failed);
    ok(rcreated == 4 && rconflicts == 20,
       "%s: 6 clients racing for 4 names: each made once (%d made, %d conflicts)", kind, rcreated,
       rconflicts);
    all = json_array();
    list_users(&d, admin, all);
    int exact = 1;
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < 4; j++) {
            char name[40];
            snprintf(name, sizeof name, "many%d-%d", i, j);
            exact &= has_name(all, name) == 1;
        }
    for (int j = 0; j < 4; j++) {
        char name[40];
        snprintf(name, sizeof name, "race-%d", j);
        exact &= has_name(all, name) == 1;
    }
    ok(exact, "%s: no lost writes, no duplicates", kind);
    json_decref(all);
    int total = count_users(&d, admin);
    int creations = audit_count(&d, auditor, "action=user.create");
    ok(total == creations && total >= ES_ROLE_COUNT + acked + 52,
       "%s: one user.create record per account (%d accounts, %d records)", kind, total, creations);
    ok(audit_verify(&d, auditor, NULL) && store_verifies(var, store_url, NULL),
       "%s: the chain verifies after the concurrent writes", kind);
    ok(daemon_stop(&d, SIGTERM) == 0, "%s: stops cleanly", kind);
}

/* Sign-in limits (a daemon of its own, with 2 attempts a minute per address and 1 per account
 * name): over them 429 with Retry-After, before any password is hashed. Counted attempts, not
 * time: the second attempt comes well within the minute however slow the hashing is. */
static void signin_limits(void)
{
    char var[600], cfg[640], text[256];
    daemon_t d;
    t_resp r;
    snprintf(var, sizeof var, "%s/limits-var", st_tmp());
    snprintf(cfg, sizeof cfg, "%s/limits.conf", st_tmp());
    snprintf(text, sizeof text,
             "[accounts]\nsignin_rate_address = 2\nsignin_rate_account = 1\n[log]\nlevel = warn\n"
             "[factors]\nenforce = false\n");
    if (es_file_write(cfg, text, strlen(text)) != ES_OK) st_die("cannot write %s", cfg);
    ok(daemon_start(&d, var, cfg) == 0, "limits: esealsd starts");
    if (!d.port) return;
    static const char x[] = "{\"username\":\"someone\",\"password\":\"Wrong-Password-1\"}";
    static const char y[] = "{\"username\":\"another\",\"password\":\"Wrong-Password-1\"}";
    call(&d, "POST", "/api/v1/sessions", NULL, x, &r);
    ok(r.status == 401, "limits: a first wrong sign-in: 401 (%d)", r.status);
    t_resp_free(&r);
    call(&d, "POST", "/api/v1/sessions", NULL, x, &r);
    const char *ra = t_hdr(&r, "Retry-After");
    ok(is_error(&r, 429, "too_many_requests") && ra && atoi(ra) >= 1 && atoi(ra) <= 60 &&
           strstr((const char *)r.body.p, "this account"),
       "limits: the same name again: 429, Retry-After %s, for the account", ra ? ra : "-");
    t_resp_free(&r);
    call(&d, "POST", "/api/v1/sessions", NULL, y, &r);
    ok(is_error(&r, 429, "too_many_requests") && strstr((const char *)r.body.p, "this address"),
       "limits: a third attempt from the address, another name: 429 for the address");
    t_resp_free(&r);
    call(&d, "POST", "/api/v1/sessions", NULL, "{\"username\":", &r);
    ok(is_error(&r, 400, "bad_json"), "limits: a malformed sign-in is refused before the limit");
    t_resp_free(&r);
    ok(daemon_stop(&d, SIGTERM) == 0, "limits: stops cleanly");
}

int main(void)
{
    unsetenv("ESEAL_PIN");
    signal(SIGPIPE, SIG_IGN);
    signin_limits();
    first_start_log();
    suite("sqlite", NULL);
    if (st_pg_ready()) suite("postgresql", st_pg_db("api"));
    return t_done();
}
