/* bench_making: seals made per second end to end through the API (docs/making.md), against raw
 * SM2 signatures per second on the same machine in the same run.
 *
 *   bench_making [URL] [N] [THREADS]   (default: a new SQLite store, 40 seals, 2 threads)
 *
 * A node runs in this process on 127.0.0.1:0 with the store at URL (a new, empty database);
 * an issuer and a reviewer are made; N industry-scope USBKey applications are entered,
 * submitted and approved (not timed); then THREADS clients execute them (timed: each
 * execution issues the certificate, makes the seal and commits the rows, the status event and
 * the audit records), and the whole flow of N more applications is timed too (create,
 * 4 materials, picture, submit, review, execute: 9 requests a seal). Raw SM2 signatures on
 * THREADS threads for 2 s (es_sm2_key_sign_digest on a 32-byte digest) just before the
 * execution and again after the whole flow: the machine is shared, so both are printed and the
 * goal uses their mean.
 *
 * SM2 signatures per seal: counted, not assumed. Every SM2 signature the node makes leaves a
 * row behind: a person's decision (decisions), a certificate (ca_certs), a seal (seal_certs),
 * an audit record (audit, each signed on its own) and a signed checkpoint of the trail
 * (audit_checkpoint). The bench counts those rows before and after each timed phase and
 * divides by the seals made: execute alone is 5 (the executor's decision, the certificate, the
 * seal, the audit records ca.issue and application.execute); the whole flow has its own count
 * (the decisions of submit and review and the audit records of every request: 15). No answer of
 * the API is signed. Other SM2 work per seal (verifying the request's proof of possession, the
 * decision again before it is stored, d x G when a person's key is opened, the node's device
 * decrypting a person's device half once per key and process) is cost, not counted.
 * Goal (issue 10): seals/s >= 0.5 x (raw signs/s on the cores / signatures per seal), each
 * phase with its own count. A benchmark, not a test. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

#include "../tests/http_client.h"
#include "eseal/crypto.h"
#include "eseal/node.h"
#include "eseal/pki.h"
#include "eseal/signer.h"
#include "eseal/store.h"

#define USCC "11370306MB2867521U"
#define IDNO "11010519491231002X"
#define PASS "Bench-Pass-2026!x"
#define BPIN "135790"

static unsigned g_port;
static char g_csr[4096];
static es_buf g_png;
static char g_issuer[65], g_reviewer[65];
static int64_t *g_ids;
static int g_n;
static atomic_int g_next, g_fail;
static int g_keepalive;             /* BENCH_KEEPALIVE=1: one kept connection per client thread */
static _Thread_local int t_fd = -1; /* this thread's kept connection, or -1 */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int req(const char *method, const char *path, const char *tok, const char *ctype,
               const void *body, size_t len, json_t **out)
{
    es_buf q;
    t_resp r;
    es_buf_init(&q, 8u << 20);
    t_resp_init(&r);
    int st = -1;
    if (es_buf_printf(&q, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path) == ES_OK &&
        (!tok || es_buf_printf(&q, "Authorization: Bearer %s\r\n", tok) == ES_OK) &&
        (!body ||
         es_buf_printf(&q, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, len) == ES_OK) &&
        es_buf_append_str(&q, "\r\n") == ES_OK &&
        (!body || !len || es_buf_append(&q, body, len) == ES_OK)) {
        /* No answer (-1) says at which step and after how long. With BENCH_KEEPALIVE=1 a
         * client thread keeps its connection (as a browser does); a kept connection the
         * server closed while idle is opened again once. */
        double t0 = now_s();
        const char *step = NULL;
        int e = 0;
        for (int attempt = 0; attempt < 2; attempt++) {
            int reused = t_fd >= 0;
            errno = 0;
            int fd = reused ? t_fd : t_connect(g_port);
            t_fd = -1;
            step = NULL;
            e = 0;
            if (fd < 0)
                step = "connect", e = errno;
            else if (t_send(fd, q.p, q.len) != 0)
                step = "send", e = errno;
            else if ((st = t_response(fd, 0, &r)) < 0)
                step = "receive", e = errno;
            if (!step && g_keepalive)
                t_fd = fd;
            else if (fd >= 0)
                close(fd);
            if (!step || !reused || (strcmp(step, "send") && e)) break;
        }
        if (step)
            fprintf(stderr, "bench_making: %s %s: no answer: %s failed after %.3f s: %s\n", method,
                    path, step, now_s() - t0, e ? strerror(e) : "closed by the server");
    }
    if (st < 200 || st > 299)
        fprintf(stderr, "bench_making: %s %s: %d %.*s\n", method, path, st,
                (int)(r.body.len > 300 ? 300 : r.body.len), r.body.p ? (const char *)r.body.p : "");
    if (out) {
        json_error_t je;
        *out = json_loadb((const char *)r.body.p, r.body.len, 0, &je);
        if (!*out && st > 0)
            fprintf(stderr, "bench_making: %s %s: %d with a body that is not JSON (%s)\n", method,
                    path, st, je.text);
    }
    t_resp_free(&r);
    es_buf_cleanup(&q);
    return st;
}

static int jreq(const char *method, const char *path, const char *tok, json_t *body, json_t **out)
{
    char *t = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int st = req(method, path, tok, "application/json", t, t ? strlen(t) : 0, out);
    free(t);
    json_decref(body);
    return st;
}

static int sign_in(const char *name, const char *pass, char tok[65])
{
    json_t *v = NULL;
    int st = jreq("POST", "/api/v1/sessions", NULL,
                  json_pack("{s:s,s:s}", "username", name, "password", pass), &v);
    snprintf(tok, 65, "%s", json_string_value(json_object_get(v, "token")) ?: "");
    json_decref(v);
    return st == 201;
}

static int account(const char *admin, const char *name, const char *role, char tok[65])
{
    json_t *v = NULL;
    char otp[64];
    jreq("POST", "/api/v1/users", admin,
         json_pack("{s:s,s:s,s:[s]}", "name", name, "display_name", name, "roles", role), &v);
    snprintf(otp, sizeof otp, "%s",
             json_string_value(json_object_get(v, "one_time_password")) ?: "");
    json_decref(v);
    if (!sign_in(name, otp, tok)) return 0;
    return jreq("POST", "/api/v1/users/me/password", tok,
                json_pack("{s:s,s:s}", "old_password", otp, "new_password", PASS), NULL) == 200 &&
           jreq("POST", "/api/v1/me/signing-key", tok, json_pack("{s:s}", "pin", BPIN), NULL) ==
               201;
}

static const char pdf[] = "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/* An application up to approved (execute: and executed); its id or 0. */
static int64_t flow(int i, int execute)
{
    char name[64], path[200];
    json_t *v = NULL;
    snprintf(name, sizeof name, "基准测试印章%d-%d", execute, i);
    int st = jreq("POST", "/api/v1/applications", g_issuer,
                  json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}",
                            "kind", "apply", "scope", "industry", "carrier", "usbkey", "uscc", USCC,
                            "division", "350102", "unit_type", "organ", "unit_name",
                            "福州市鼓楼区人力资源和社会保障局", "agent_name", "张三", "agent_idno",
                            IDNO, "agent_mobile", "13800138000", "unit_address", "福州市",
                            "approver_name", "福州市人力资源和社会保障局", "approver_division",
                            "350100", "seal_name", name, "seal_type", 1, "csr", g_csr),
                  &v);
    int64_t id = json_integer_value(json_object_get(json_object_get(v, "application"), "id"));
    json_decref(v);
    if (st != 201) return 0;
    static const char *const mats[] = {"application_form", "agent_id_card", "agent_contact",
                                       "licence"};
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "/api/v1/applications/%lld/materials/%s", (long long)id,
                 mats[k]);
        if (req("PUT", path, g_issuer, "application/pdf", pdf, sizeof pdf - 1, NULL) != 200)
            return 0;
    }
    snprintf(path, sizeof path, "/api/v1/applications/%lld/picture?width_mm=42&height_mm=42",
             (long long)id);
    if (req("PUT", path, g_issuer, "image/png", g_png.p, g_png.len, NULL) != 200) return 0;
    snprintf(path, sizeof path, "/api/v1/applications/%lld/submit", (long long)id);
    if (jreq("POST", path, g_issuer, json_pack("{s:s}", "pin", BPIN), NULL) != 200) return 0;
    snprintf(path, sizeof path, "/api/v1/applications/%lld/review", (long long)id);
    if (jreq("POST", path, g_reviewer, json_pack("{s:s,s:s}", "verdict", "approve", "pin", BPIN),
             NULL) != 200)
        return 0;
    if (execute) {
        snprintf(path, sizeof path, "/api/v1/applications/%lld/execute", (long long)id);
        if (jreq("POST", path, g_issuer, json_pack("{s:s}", "pin", BPIN), NULL) != 200) return 0;
    }
    return id;
}

static void drop_connection(void)
{
    if (t_fd >= 0) close(t_fd);
    t_fd = -1;
}

static void *exec_worker(void *arg)
{
    (void)arg;
    char path[120];
    for (;;) {
        int i = atomic_fetch_add(&g_next, 1);
        if (i >= g_n) break;
        snprintf(path, sizeof path, "/api/v1/applications/%lld/execute", (long long)g_ids[i]);
        if (jreq("POST", path, g_issuer, json_pack("{s:s}", "pin", BPIN), NULL) != 200)
            atomic_fetch_add(&g_fail, 1);
    }
    drop_connection();
    return NULL;
}

static void *flow_worker(void *arg)
{
    (void)arg;
    for (;;) {
        int i = atomic_fetch_add(&g_next, 1);
        if (i >= g_n) break;
        if (!flow(i, 1)) atomic_fetch_add(&g_fail, 1);
    }
    drop_connection();
    return NULL;
}

/* The signatures the node has made, by kind (see the header). */
enum { S_DECISION, S_CERT, S_SEAL, S_AUDIT, S_CHECKPOINT, S_KINDS };
static const char *const g_sign_sql[S_KINDS] = {
    "SELECT COUNT(*) FROM decisions", "SELECT COUNT(*) FROM ca_certs",
    "SELECT COUNT(*) FROM seal_certs", "SELECT COUNT(*) FROM audit",
    "SELECT COUNT(*) FROM audit_checkpoint"};
static const char *const g_sign_name[S_KINDS] = {"decisions", "certificates", "seals",
                                                 "audit records", "checkpoints"};

static int count_signs(const char *url, int64_t n[S_KINDS])
{
    es_store *st = NULL;
    int good = es_store_open(url, &st) == ES_OK;
    for (int i = 0; good && i < S_KINDS; i++)
        good = es_store_query_int(st, g_sign_sql[i], NULL, 0, &n[i]) == ES_OK;
    es_store_close(st);
    return good;
}

/* Prints the signatures per seal of a phase (b before, a after, seals made) and returns it. */
static double per_seal(const char *phase, const int64_t b[S_KINDS], const int64_t a[S_KINDS],
                       int seals)
{
    double total = 0;
    printf("SM2 signs per seal, %-10s", phase);
    for (int i = 0; i < S_KINDS; i++) {
        double v = seals > 0 ? (double)(a[i] - b[i]) / seals : 0;
        total += v;
        printf("%s%.2f %s", i ? " + " : " ", v, g_sign_name[i]);
    }
    printf(" = %.2f (counted in the store)\n", total);
    return total;
}

typedef struct raw_ctx {
    double seconds;
    long count;
} raw_ctx;

static void *raw_worker(void *arg)
{
    raw_ctx *c = arg;
    es_sm2_key *k = NULL;
    uint8_t e[32] = {1}, r[32], s[32];
    if (es_sm2_key_generate(&k) != ES_OK) return NULL;
    double end = now_s() + c->seconds;
    while (now_s() < end) {
        if (es_sm2_key_sign_digest(k, e, r, s) != ES_OK) break;
        e[0]++;
        c->count++;
    }
    es_sm2_key_free(k);
    return NULL;
}

/* Raw SM2 signatures per second on threads threads for 2 s. */
static double raw_signs(int threads)
{
    raw_ctx rc[64];
    pthread_t th[64];
    long raw = 0;
    for (int i = 0; i < threads; i++) {
        rc[i] = (raw_ctx){2.0, 0};
        pthread_create(&th[i], NULL, raw_worker, &rc[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        raw += rc[i].count;
    }
    return raw / 2.0;
}

/* CPU time of the process (the node and its clients), s. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Runs fn on threads threads; the wall time, and the CPU time into *cpu. */
static double run_threads(int threads, void *(*fn)(void *), double *cpu)
{
    pthread_t th[64];
    atomic_store(&g_next, 0);
    double t0 = now_s(), c0 = cpu_s();
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, fn, NULL);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    *cpu = cpu_s() - c0;
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    char var[256], cfg[300], out[300], text[1400], why[600] = "", admin[65];
    const char *url = argc > 1 && strcmp(argv[1], "-") ? argv[1] : NULL;
    g_n = argc > 2 ? atoi(argv[2]) : 40;
    g_keepalive = getenv("BENCH_KEEPALIVE") && !strcmp(getenv("BENCH_KEEPALIVE"), "1");
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    if (g_n < 1 || threads < 1 || threads > 64) return 2;
    snprintf(var, sizeof var, "/tmp/bench-making.XXXXXX");
    if (!mkdtemp(var)) return 2;
    snprintf(cfg, sizeof cfg, "%s.conf", var);
    snprintf(out, sizeof out, "%s.out", var);
    snprintf(text, sizeof text,
             "[store]\n%s%s\n[log]\nlevel = error\n[accounts]\nsignin_rate_address = 100000\n"
             "signin_rate_account = 1000\n[factors]\nenforce = false\n",
             url ? "url = " : "", url ? url : "");
    if (es_file_write(cfg, text, strlen(text)) != ES_OK) return 2;
    FILE *of = fopen(out, "w");
    es_node *node = NULL;
    es_node_opts o = {cfg, "127.0.0.1:0", var, of};
    if (!of || es_node_start(&o, &node, why, sizeof why) != ES_OK) {
        fprintf(stderr, "the node does not start: %s\n", why);
        return 1;
    }
    fflush(of);
    g_port = es_node_port(node);
    es_buf b;
    es_buf_init(&b, 1u << 20);
    char otp[64] = "";
    if (es_file_read(out, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
        const char *p = strstr((char *)b.p, "one-time password for admin: ");
        if (p) sscanf(p + strlen("one-time password for admin: "), "%63s", otp);
    }
    es_buf_cleanup(&b);
    /* The fixtures: a token key's request, the picture. */
    es_sm2_key *k = NULL;
    es_signer *sg = NULL;
    es_name n;
    es_buf der, pem;
    es_buf_init(&der, 4096);
    es_buf_init(&pem, 4096);
    es_buf_init(&g_png, 4u << 20);
    const char *data = getenv("ESEAL_TESTDATA");
    char png[600];
    snprintf(png, sizeof png, "%s/seal.png", data ? data : "tests/data");
    if (es_sm2_key_generate(&k) != ES_OK || es_signer_from_key(k, &sg) != ES_OK ||
        es_pki_name_parse("/C=CN/CN=token", &n, why, sizeof why) != ES_OK ||
        es_pki_csr_make(&n, NULL, 0, sg, &der) != ES_OK ||
        es_pem_encode("CERTIFICATE REQUEST", der.p, der.len, &pem) != ES_OK ||
        pem.len >= sizeof g_csr || es_file_read(png, &g_png) != ES_OK) {
        fprintf(stderr, "fixtures (ESEAL_TESTDATA=tests/data for seal.png)\n");
        return 1;
    }
    memcpy(g_csr, pem.p, pem.len);
    es_signer_free(sg);
    if (!sign_in("admin", otp, admin) ||
        jreq("POST", "/api/v1/users/me/password", admin,
             json_pack("{s:s,s:s}", "old_password", otp, "new_password", PASS), NULL) != 200 ||
        !account(admin, "issuer", "seal_issuer", g_issuer) ||
        !account(admin, "reviewer", "reviewer", g_reviewer)) {
        fprintf(stderr, "cannot make the accounts\n");
        return 1;
    }
    g_ids = calloc((size_t)g_n, sizeof *g_ids);
    for (int i = 0; i < g_n; i++)
        if (!(g_ids[i] = flow(i, 0))) {
            fprintf(stderr, "application %d could not be approved\n", i);
            return 1;
        }
    char surl[400];
    snprintf(surl, sizeof surl, "%s%s%s", url ? "" : "sqlite:", url ? url : var,
             url ? "" : "/eseal.db");
    int64_t c0[S_KINDS], c1[S_KINDS], c2[S_KINDS];
    if (!count_signs(surl, c0)) {
        fprintf(stderr, "cannot count the signatures in %s\n", surl);
        return 1;
    }
    double raw0 = raw_signs(threads);
    double ce = 0, cf = 0;
    double te = run_threads(threads, exec_worker, &ce);
    int fe = atomic_load(&g_fail);
    atomic_store(&g_fail, 0);
    if (!count_signs(surl, c1)) return 1;
    double tf = run_threads(threads, flow_worker, &cf);
    int ff = atomic_load(&g_fail);
    if (!count_signs(surl, c2)) return 1;
    double raw1 = raw_signs(threads);
    double raw_s = (raw0 + raw1) / 2, seals_s = (g_n - fe) / te, flow_s = (g_n - ff) / tf;
    printf("store:                 %s\n", url ? "postgresql" : "sqlite");
    printf("threads:               %d (cores online: %ld), %s\n", threads,
           sysconf(_SC_NPROCESSORS_ONLN),
           g_keepalive ? "one kept connection per thread (BENCH_KEEPALIVE=1)"
                       : "one connection per request");
    printf("execute:               %d seals in %.2f s = %.1f seals/s (%d failed)\n", g_n, te,
           seals_s, fe);
    printf(
        "whole flow:            %d seals in %.2f s = %.1f seals/s (9 requests each, %d failed)\n",
        g_n, tf, (g_n - ff) / tf, ff);
    /* Where the time goes: CPU per seal against the cores' time per seal (busy: their ratio). */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("cpu per seal:          execute %.2f ms (cores %.0f%% busy), flow %.2f ms (cores %.0f%% "
           "busy); one raw sign: %.2f ms\n",
           1e3 * ce / g_n, 100 * ce / (te * cores), 1e3 * cf / g_n, 100 * cf / (tf * cores),
           1e3 * threads / ((raw0 + raw1) / 2));
    printf("raw SM2 signs:         %.0f /s on %d threads (%.0f before, %.0f after the seals)\n",
           raw_s, threads, raw0, raw1);
    double se = per_seal("execute:", c0, c1, g_n - fe), sf = per_seal("flow:", c1, c2, g_n - ff);
    double ge = se > 0 ? 0.5 * raw_s / se : 0, gf = sf > 0 ? 0.5 * raw_s / sf : 0;
    printf("goal execute 0.5 x raw / %.2f:    %.1f seals/s: %.1f = %.2f x goal, %s\n", se, ge,
           seals_s, ge > 0 ? seals_s / ge : 0, ge > 0 && seals_s >= ge ? "met" : "NOT met");
    printf("goal flow    0.5 x raw / %.2f:   %.1f seals/s: %.1f = %.2f x goal, %s\n", sf, gf,
           flow_s, gf > 0 ? flow_s / gf : 0, gf > 0 && flow_s >= gf ? "met" : "NOT met");
    es_node_stop(node);
    fclose(of);
    /* The node's site and store were for this run only. */
    char rm[1200];
    snprintf(rm, sizeof rm, "rm -rf '%s' '%s' '%s'", var, cfg, out);
    if (system(rm) != 0) fprintf(stderr, "bench_making: could not remove %s\n", var);
    return 0;
}
