/* National-scope seals end to end (issue 10; docs/making.md "National scope", docs/upstream.md):
 * a real national platform simulator node (tier national-simulator) and a real city node whose
 * [upstream] is the simulator, both in this process on 127.0.0.1 (the city also as a child
 * process for kill -9), their stores on SQLite and on the PostgreSQL of the "pg" fixture:
 *
 * - a national application through the API: execute answers 202, the code comes from the
 *   simulator (14 digits), the certificate (CN = the code) is filed before the seal is
 *   generated, the seal verifies with `eseal seal verify --trust` and openssl; both carriers
 *   (USBKey CSR, server package);
 * - execute retried and 6 concurrent executes: one code.assign, one code at the simulator;
 * - the simulator down: the application waits (state, attempts, next try, last error
 *   visible), the city daemon killed with SIGKILL meanwhile and restarted; the simulator up:
 *   it completes, nothing lost;
 * - a refused code request (409 at the simulator): the application shows the refusal; the
 *   issuer retries (a new key, audited) and it completes;
 * - a national seal renewed: the same code, the new certificate filed, the old one revoked;
 * - a lifecycle change (suspend) of a national seal is filed: the simulator records it; its
 *   replacement gets a new code, the old seal cancelled and that filed; a change of the
 *   replacement likewise (a new code, the new name, the changed seal cancelled and filed);
 * - a four-level chain city -> province -> ministry -> simulator: a national seal made at the
 *   city with its code from the simulator;
 * - another role and an outsider refused. */
#include "test.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eseal/clients.h"
#include "eseal/keydev.h"
#include "eseal/making.h"
#include "eseal/node.h"
#include "eseal/package.h"
#include "eseal/pki.h"
#include "http_client.h"
#include "store_test.h"

#define ADMIN_PASS "Strong-Pass-2026!"
#define USER_PASS  "User-Pass-2026!x"
#define USCC       "11370306MB2867521U" /* spec/national.md: a real unit's code */
#define IDNO       "11010519491231002X" /* GB 11643's own example */
#define THREADS    6
#define PIN        "135790" /* every decision-taker's signing PIN */
#define SITE_PIN   "national-flow-PIN-2026"

typedef struct node_t {
    es_node *node;
    pid_t pid;
    FILE *outf;
    unsigned port;
    char var[512], out[600], otp[64], aotp[64], url[1024], listen[64], extra[1200];
} node_t;

static char g_uscc[19];
static char g_csr[4096];
static es_buf g_png;
static const char *g_cli;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void read_out(node_t *d)
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

static void write_config(const node_t *d, char *path, size_t n)
{
    char text[3000];
    snprintf(path, n, "%s.conf", d->var);
    snprintf(text, sizeof text,
             "[store]\n%s%s\n[log]\nlevel = error\n[accounts]\nsignin_rate_address = 100000\n"
             "signin_rate_account = 1000\n[factors]\nenforce = false\n%s",
             d->url[0] ? "url = " : "", d->url, d->extra);
    if (es_file_write(path, text, strlen(text)) != ES_OK) st_die("cannot write %s", path);
}

static int node_start(node_t *d)
{
    char cfg[700], why[600] = "";
    snprintf(d->out, sizeof d->out, "%.500s.out", d->var);
    write_config(d, cfg, sizeof cfg);
    if (!(d->outf = fopen(d->out, "w"))) return -1;
    es_node_opts o = {cfg, d->listen[0] ? d->listen : "127.0.0.1:0", d->var, d->outf};
    es_err rv = es_node_start(&o, &d->node, why, sizeof why);
    fflush(d->outf);
    if (rv != ES_OK) {
        fprintf(stderr, "the node does not start: %s (%s)\n", why, es_err_str(rv));
        fclose(d->outf);
        d->outf = NULL;
        return -1;
    }
    d->port = es_node_port(d->node);
    read_out(d);
    return 0;
}

/* In a child (es_node_run) with the making pause hook set to pause_file. */
static int node_start_process(node_t *d, const char *pause_file)
{
    char cfg[700];
    snprintf(d->out, sizeof d->out, "%.500s.out", d->var);
    write_config(d, cfg, sizeof cfg);
    unlink(d->out);
    d->port = 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (!freopen(d->out, "w", stdout)) _exit(126);
        if (pause_file) setenv(ES_MAKING_PAUSE_ENV, pause_file, 1);
        es_node_opts o = {cfg, "127.0.0.1:0", d->var, NULL};
        _exit(es_node_run(&o));
    }
    d->pid = pid;
    for (int i = 0; i < 1200; i++) {
        read_out(d);
        if (d->port) return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return -1;
        sleep_ms(100);
    }
    return -1;
}

static void node_stop(node_t *d)
{
    if (d->node) {
        es_node_stop(d->node);
        d->node = NULL;
        if (d->outf) fclose(d->outf);
        d->outf = NULL;
    }
    if (d->pid) {
        int st;
        kill(d->pid, SIGTERM);
        waitpid(d->pid, &st, 0);
        d->pid = 0;
    }
}

/* A request with a bearer token (may be NULL), a content type and a body of len bytes. */
static int req_bytes(const node_t *d, const char *method, const char *path, const char *tok,
                     const char *ctype, const void *body, size_t len, t_resp *r)
{
    es_buf q;
    es_buf_init(&q, 64u << 20);
    int rv = -1;
    t_resp_init(r);
    if (es_buf_printf(&q, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path) != ES_OK) goto out;
    if (tok && es_buf_printf(&q, "Authorization: Bearer %s\r\n", tok) != ES_OK) goto out;
    if (body &&
        es_buf_printf(&q, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, len) != ES_OK)
        goto out;
    if (es_buf_append_str(&q, "\r\n") != ES_OK) goto out;
    if (body && len && es_buf_append(&q, body, len) != ES_OK) goto out;
    rv = t_raw(d->port, (const char *)q.p, q.len, r);
out:
    es_buf_cleanup(&q);
    return rv;
}

static int call(const node_t *d, const char *method, const char *path, const char *tok,
                const char *json, t_resp *r)
{
    return req_bytes(d, method, path, tok, "application/json", json, json ? strlen(json) : 0, r);
}

static json_t *body_of(const t_resp *r)
{
    return json_loadb((const char *)r->body.p, r->body.len, 0, NULL);
}

/* A call whose JSON answer is returned (NULL when none); *st the status. */
static json_t *jcall(const node_t *d, const char *method, const char *path, const char *tok,
                     json_t *body, int *st)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    t_resp r;
    *st = call(d, method, path, tok, text, &r);
    json_t *v = body_of(&r);
    if (*st >= 300 && getenv("T_VERBOSE"))
        fprintf(stderr, "  %s %s: %d %.*s\n", method, path, *st, (int)r.body.len,
                (const char *)r.body.p);
    t_resp_free(&r);
    free(text);
    json_decref(body);
    return v;
}

static const char *sget(const json_t *o, const char *path)
{
    /* "a.b": o["a"]["b"] */
    char k[64];
    const char *dot = strchr(path, '.');
    if (dot) {
        snprintf(k, sizeof k, "%.*s", (int)(dot - path), path);
        return sget(json_object_get(o, k), dot + 1);
    }
    const char *s = json_string_value(json_object_get(o, path));
    return s ? s : "";
}

static int sign_in(const node_t *d, const char *name, const char *pass, char tok[65])
{
    int st;
    json_t *v = jcall(d, "POST", "/api/v1/sessions", NULL,
                      json_pack("{s:s,s:s}", "username", name, "password", pass), &st);
    snprintf(tok, 65, "%s", st == 201 ? sget(v, "token") : "");
    json_decref(v);
    return st;
}

static int account(const node_t *d, const char *admin, const char *name, const char *roles_json,
                   char tok[65])
{
    int st;
    json_t *roles = json_loads(roles_json, 0, NULL);
    json_t *v =
        jcall(d, "POST", "/api/v1/users", admin,
              json_pack("{s:s,s:s,s:o}", "name", name, "display_name", name, "roles", roles), &st);
    char otp[64];
    snprintf(otp, sizeof otp, "%s", sget(v, "one_time_password"));
    json_decref(v);
    if (st != 201 || sign_in(d, name, otp, tok) != 201) return 0;
    json_decref(jcall(d, "POST", "/api/v1/users/me/password", tok,
                      json_pack("{s:s,s:s}", "old_password", otp, "new_password", USER_PASS), &st));
    if (st != 200) return 0;
    if (!strstr(roles_json, "seal_issuer") && !strstr(roles_json, "reviewer")) return 1;
    /* Decision-takers sign their decisions (LD/T 01.1 9.4): a personal key under a PIN. */
    json_decref(
        jcall(d, "POST", "/api/v1/me/signing-key", tok, json_pack("{s:s}", "pin", PIN), &st));
    return st == 201;
}

/* ---- fixtures: a CSR of a token key, a picture, materials */

static void make_fixtures(void)
{
    es_sm2_key *k = NULL;
    es_signer *s = NULL;
    es_name n;
    es_buf der, pem;
    char why[200];
    if (es_sm2_key_generate(&k) != ES_OK || es_signer_from_key(k, &s) != ES_OK) st_die("key");
    if (es_pki_name_parse("/C=CN/CN=token", &n, why, sizeof why) != ES_OK) st_die("%s", why);
    es_buf_init(&der, 8192);
    es_buf_init(&pem, 8192);
    if (es_pki_csr_make(&n, NULL, 0, s, &der) != ES_OK ||
        es_pem_encode("CERTIFICATE REQUEST", der.p, der.len, &pem) != ES_OK ||
        pem.len >= sizeof g_csr)
        st_die("csr");
    memcpy(g_csr, pem.p, pem.len);
    g_csr[pem.len] = 0;
    es_buf_cleanup(&der);
    es_buf_cleanup(&pem);
    es_signer_free(s);
    snprintf(g_uscc, sizeof g_uscc, "%s", USCC);
    char path[1024];
    const char *data = getenv("ESEAL_TESTDATA");
    snprintf(path, sizeof path, "%s/seal.png", data ? data : "tests/data");
    es_buf_init(&g_png, 4u << 20);
    if (es_file_read(path, &g_png) != ES_OK) st_die("cannot read %s", path);
}

static const char pdf[] = "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

static json_t *apply_body(const char *seal_name)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "kind",
                     "apply", "scope", "national", "carrier", "usbkey", "uscc", g_uscc, "division",
                     "350102", "unit_type", "organ", "unit_name",
                     "福州市鼓楼区人力资源和社会保障局", "agent_name", "张三", "agent_idno", IDNO,
                     "agent_mobile", "13800138000", "unit_address", "福建省福州市鼓楼区某路1号",
                     "approver_name", "福州市人力资源和社会保障局", "approver_division", "350100",
                     "seal_name", seal_name, "seal_type", 1, "csr", g_csr);
}

static int put_material(const node_t *d, const char *tok, int64_t id, const char *name,
                        const void *p, size_t len)
{
    char path[200];
    t_resp r;
    snprintf(path, sizeof path, "/api/v1/applications/%lld/materials/%s", (long long)id, name);
    int st = req_bytes(d, "PUT", path, tok, "application/pdf", p, len, &r);
    t_resp_free(&r);
    return st;
}

static int put_picture(const node_t *d, const char *tok, int64_t id, int w, int h)
{
    char path[200];
    t_resp r;
    snprintf(path, sizeof path, "/api/v1/applications/%lld/picture?width_mm=%d&height_mm=%d",
             (long long)id, w, h);
    int st = req_bytes(d, "PUT", path, tok, "image/png", g_png.p, g_png.len, &r);
    t_resp_free(&r);
    return st;
}

/* The materials the kind requires in the built-in tables (src/svc/national/tables.c: LD/T 01.1
 * Tables 1-6), all PDFs. */
static int put_materials(const node_t *d, const char *tok, int64_t id, const char *kind)
{
    static const struct {
        const char *kind, *first;
        int licence;
    } k[] = {
        {"apply", "application_form", 1},
        {"change", "change_statement", 1},
        {"loss", "loss_statement", 1},
        {"cancel", "cancel_statement", 1},
        {"renew", "renewal_application", 0},
        {"replace", "replace_statement", 1},
        {"suspend", "suspension_application", 0},
        {"restore", "restoration_application", 0},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (strcmp(k[i].kind, kind) != 0) continue;
        const char *names[4] = {k[i].first, "agent_id_card", "agent_contact",
                                k[i].licence ? "licence" : NULL};
        for (int j = 0; j < 4 && names[j]; j++)
            if (put_material(d, tok, id, names[j], pdf, sizeof pdf - 1) != 200) return 0;
        return 1;
    }
    return 0;
}

static int step(const node_t *d, const char *tok, int64_t id, const char *what, json_t *body,
                json_t **out)
{
    char path[200];
    int st;
    snprintf(path, sizeof path, "/api/v1/applications/%lld/%s", (long long)id, what);
    json_t *v = jcall(d, "POST", path, tok, body, &st);
    if (out)
        *out = v;
    else
        json_decref(v);
    return st;
}

static json_t *pin(void)
{
    return json_pack("{s:s}", "pin", PIN);
}

static json_t *approve(void)
{
    return json_pack("{s:s,s:s,s:s}", "verdict", "approve", "opinion", "材料齐全，同意", "pin",
                     PIN);
}

static int64_t create(const node_t *d, const char *tok, json_t *body, int *st)
{
    json_t *v = jcall(d, "POST", "/api/v1/applications", tok, body, st);
    int64_t id = json_integer_value(json_object_get(json_object_get(v, "application"), "id"));
    json_decref(v);
    return id;
}

/* An application through create, materials, picture (for kinds that make a seal), submit,
 * approve; the id, or 0. */
static int64_t approved(const node_t *d, const char *issuer, const char *reviewer, json_t *body,
                        const char *kind)
{
    int st;
    int64_t id = create(d, issuer, body, &st);
    if (st != 201 || !put_materials(d, issuer, id, kind)) return 0;
    if (!strcmp(kind, "apply") && put_picture(d, issuer, id, 42, 42) != 200) return 0;
    if (step(d, issuer, id, "submit", pin(), NULL) != 200) return 0;
    if (step(d, reviewer, id, "review", approve(), NULL) != 200) return 0;
    return id;
}

static int64_t count(const char *url, const char *sql)
{
    es_store *s = NULL;
    int64_t n = -1;
    if (es_store_open(url, &s) == ES_OK && es_store_query_int(s, sql, NULL, 0, &n) != ES_OK) n = -1;
    es_store_close(s);
    return n;
}

/* Executes id; the seal code made (empty on failure) and the status. */
static int execute(const node_t *d, const char *tok, int64_t id, char code[ES_SEAL_CODE_MAX])
{
    json_t *v = NULL;
    int st = step(d, tok, id, "execute", pin(), &v);
    snprintf(code, ES_SEAL_CODE_MAX, "%s", sget(v, "application.made_code"));
    json_decref(v);
    return st;
}

static json_t *seal_get(const node_t *d, const char *tok, const char *code)
{
    char path[128];
    int st;
    snprintf(path, sizeof path, "/api/v1/seals/%s", code);
    json_t *v = jcall(d, "GET", path, tok, NULL, &st);
    if (st != 200) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static int verify_with_cli(const node_t *d, const char *tok, const char *code, const char *kind)
{
    char path[200], esl[700], crt[700], cmd[3000], root[700];
    t_resp r;
    snprintf(path, sizeof path, "/api/v1/seals/%s/esl", code);
    int st = req_bytes(d, "GET", path, tok, NULL, NULL, 0, &r);
    snprintf(esl, sizeof esl, "%s/%s.esl", d->var, code);
    int good = st == 200 && es_file_write(esl, r.body.p, r.body.len) == ES_OK;
    t_resp_free(&r);
    json_t *s = seal_get(d, tok, code);
    const char *pem = sget(s, "certificate");
    snprintf(crt, sizeof crt, "%s/%s.crt", d->var, code);
    good = good && pem[0] && es_file_write(crt, pem, strlen(pem)) == ES_OK;
    json_decref(s);
    snprintf(root, sizeof root, "%s/ca/ca.crt", d->var);
    if (!good || !g_cli) return 0;
    snprintf(cmd, sizeof cmd, "'%s' seal verify '%s' --trust '%s' > '%s.report' 2>&1", g_cli, esl,
             root, esl);
    int v1 = system(cmd);
    ok(v1 == 0, "%s: eseal seal verify --trust the site root: PASSED (%d)", kind, v1);
    if (v1 != 0) {
        snprintf(cmd, sizeof cmd, "cat '%s.report' >&2", esl);
        if (system(cmd) != 0) fprintf(stderr, "no report\n");
    }
    snprintf(cmd, sizeof cmd,
             "openssl verify -vfyopt distid:1234567812345678 -CAfile '%s' '%s' > /dev/null 2>&1",
             root, crt);
    int v2 = system(cmd);
    ok(v2 == 0, "%s: openssl verify: the seal certificate chains to the site root (%d)", kind, v2);
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in '%s' -noout -subject -nameopt utf8,sep_comma_plus | grep -q 'CN=%s'",
             crt, code);
    ok(system(cmd) == 0, "%s: the certificate's CN is the seal code", kind);
    return v1 == 0 && v2 == 0;
}

/* ---- the national link */

/* GET of the application: its state and the upstream progress (a JSON object owned). */
static json_t *app_get(const node_t *d, const char *tok, int64_t id, int *st)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/applications/%lld", (long long)id);
    return jcall(d, "GET", path, tok, NULL, st);
}

static const char *app_state(const json_t *v)
{
    return sget(v, "application.state");
}

/* Polls id until its state is want (the city's upstream job runs every 100 ms); at most
 * about ms. 1 when reached. */
static int wait_state(const node_t *d, const char *tok, int64_t id, const char *want, long ms)
{
    for (long t = 0; t <= ms; t += 100) {
        int st;
        json_t *v = app_get(d, tok, id, &st);
        int done = st == 200 && !strcmp(app_state(v), want);
        json_decref(v);
        if (done) return 1;
        sleep_ms(100);
    }
    return 0;
}

static int wait_step(const node_t *d, const char *tok, int64_t id, const char *want, long ms)
{
    for (long t = 0; t <= ms; t += 100) {
        int st;
        json_t *v = app_get(d, tok, id, &st);
        int done = st == 200 && !strcmp(sget(v, "upstream.step"), want);
        json_decref(v);
        if (done) return 1;
        sleep_ms(100);
    }
    return 0;
}

static int64_t qcount(const char *url, const char *fmt, const char *arg)
{
    char sql[600];
    snprintf(sql, sizeof sql, fmt, arg ? arg : "");
    return count(url, sql);
}

static int digits14(const char *c)
{
    return strlen(c) == 14 && strspn(c, "0123456789") == 14;
}

static es_signer *open_key(const char *ref)
{
    es_secret_src pin = es_secret_env("ESEAL_PIN");
    es_signer *s = NULL;
    if (es_keydev_signer(ref, &pin, &s) != ES_OK) st_die("cannot open the key %s", ref);
    return s;
}

/* Registers the business system name with key at d (by the business administrator tok). */
static int register_client(const node_t *d, const char *tok, const char *name, const char *role,
                           es_signer *key)
{
    es_name n;
    char why[128], subj[128];
    es_buf der, pem;
    snprintf(subj, sizeof subj, "/C=CN/O=某市人力资源和社会保障局/CN=%s", name);
    es_buf_init(&der, 4096);
    es_buf_init(&pem, 8192);
    int st = -1;
    if (es_pki_name_parse(subj, &n, why, sizeof why) == ES_OK &&
        es_pki_csr_make(&n, NULL, 0, key, &der) == ES_OK &&
        es_pki_pem_encode("CERTIFICATE REQUEST", es_slice_make(der.p, der.len), &pem) == ES_OK &&
        es_buf_nul(&pem) == ES_OK)
        json_decref(jcall(
            d, "POST", "/api/v1/clients", tok,
            json_pack("{s:s, s:[s], s:s}", "name", name, "roles", role, "csr", (const char *)pem.p),
            &st));
    es_buf_cleanup(&der);
    es_buf_cleanup(&pem);
    return st;
}

/* A request signed as client with key straight to d (the test speaking as the city). */
static int signed_post(const node_t *d, const char *client, es_signer *key, const char *path,
                       const char *body)
{
    es_buf auth, q;
    t_resp r;
    es_buf_init(&auth, 4096);
    es_buf_init(&q, 1u << 20);
    int st = -1;
    t_resp_init(&r);
    if (es_client_sign_request(key, client, "POST", path, es_slice_make(body, strlen(body)), NULL,
                               NULL, &auth) == ES_OK &&
        es_buf_nul(&auth) == ES_OK &&
        es_buf_printf(&q,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                      path, (const char *)auth.p, strlen(body), body) == ES_OK)
        st = t_raw(d->port, (const char *)q.p, q.len, &r);
    t_resp_free(&r);
    es_buf_cleanup(&auth);
    es_buf_cleanup(&q);
    return st;
}

/* admin's first sign-in: a new password; tok the session. */
static int admin_in(node_t *d, char tok[65])
{
    int st;
    char otp[64];
    snprintf(otp, sizeof otp, "%s", d->otp);
    if (sign_in(d, "admin", otp, tok) != 201) return 0;
    json_decref(jcall(d, "POST", "/api/v1/users/me/password", tok,
                      json_pack("{s:s,s:s}", "old_password", otp, "new_password", ADMIN_PASS),
                      &st));
    return st == 200;
}

typedef struct race {
    const node_t *d;
    const char *tok;
    int64_t id;
    int st;
    char code[ES_SEAL_CODE_MAX];
} race;

static void *race_run(void *p)
{
    race *r = p;
    r->st = execute(r->d, r->tok, r->id, r->code);
    return NULL;
}

/* The server carrier: an application system registered at the city asks for a national seal
 * for its device's encryption key; the seal comes back only in a package enveloped to it. */
static void server_carrier(node_t *d, const char *admin, const char *issuer, const char *reviewer,
                           const char *store, const char *sim_store, const char *kind)
{
    char badmin[65], why[256], path[200];
    es_sm2_key *ak = NULL, *ek = NULL;
    es_signer *as = NULL;
    es_name n;
    es_buf csr, pem, cert, reqder, b64, root;
    uint8_t enc_pub[ES_SM2_PUB_LEN];
    int st;
    es_buf_init(&csr, 8192);
    es_buf_init(&pem, 8192);
    es_buf_init(&cert, 8192);
    es_buf_init(&reqder, 65536);
    es_buf_init(&b64, 131072);
    es_buf_init(&root, 65536);
    ok(account(d, admin, "badmin", "[\"business_admin\"]", badmin), "%s: a business administrator",
       kind);
    if (es_sm2_key_generate(&ak) != ES_OK || es_signer_from_key(ak, &as) != ES_OK ||
        es_sm2_key_generate(&ek) != ES_OK ||
        es_pki_name_parse("/C=CN/O=App System/CN=appsys", &n, why, sizeof why) != ES_OK ||
        es_pki_csr_make(&n, NULL, 0, as, &csr) != ES_OK ||
        es_pem_encode("CERTIFICATE REQUEST", csr.p, csr.len, &pem) != ES_OK ||
        es_buf_nul(&pem) != ES_OK)
        st_die("server carrier fixtures");
    es_sm2_key_pub(ek, enc_pub);
    json_t *v = jcall(d, "POST", "/api/v1/clients", badmin,
                      json_pack("{s:s,s:[s],s:s}", "name", "appsys", "roles", "operator", "csr",
                                (const char *)pem.p),
                      &st);
    const char *cpem = sget(v, "certificate");
    ok(st == 201 && es_cert_to_der((const uint8_t *)cpem, strlen(cpem), &cert) == ES_OK,
       "%s: the application system is registered at the city (%d)", kind, st);
    json_decref(v);
    es_package_req_params rp = {"req-nat-1", es_slice_make(cert.p, cert.len), enc_pub, ES_TIME_NONE,
                                ES_TIME_NONE};
    ok(es_package_req_make(&rp, as, &reqder, why, sizeof why) == ES_OK &&
           es_base64_encode(reqder.p, reqder.len, &b64) == ES_OK && es_buf_nul(&b64) == ES_OK,
       "%s: the application system's request package", kind);
    json_t *b = apply_body("服务器载体全国章");
    json_object_del(b, "csr");
    json_object_set_new(b, "carrier", json_string("server"));
    json_object_set_new(b, "package_request", json_string((const char *)b64.p));
    int64_t id = approved(d, issuer, reviewer, b, "apply");
    char code[ES_SEAL_CODE_MAX] = "";
    ok(id && execute(d, issuer, id, code) == 202, "%s: server carrier, national: 202", kind);
    ok(wait_state(d, issuer, id, "made", 30000), "%s: server carrier: made", kind);
    json_t *a = app_get(d, issuer, id, &st);
    snprintf(code, sizeof code, "%s", sget(a, "application.made_code"));
    json_decref(a);
    ok(digits14(code) &&
           qcount(sim_store, "SELECT COUNT(*) FROM national_filings WHERE code = '%s'", code) == 1,
       "%s: server carrier: the simulator's code %s, filed", kind, code);
    t_resp r;
    snprintf(path, sizeof path, "/api/v1/seals/%s/package", code);
    st = req_bytes(d, "GET", path, issuer, NULL, NULL, 0, &r);
    char root_path[700];
    snprintf(root_path, sizeof root_path, "%s/ca/ca.crt", d->var);
    es_package pk;
    int parsed = st == 200 && es_file_read(root_path, &root) == ES_OK &&
                 es_package_parse(es_slice_make(r.body.p, r.body.len),
                                  es_slice_make(root.p, root.len), &pk, why, sizeof why) == ES_OK;
    ok(parsed && !memcmp(pk.recipient_pub, enc_pub, ES_SM2_PUB_LEN),
       "%s: server carrier: the package verifies against the site's root, addressed to the "
       "device's key (%d %s)",
       kind, st, parsed ? "" : why);
    t_resp_free(&r);
    (void)store;
    es_signer_free(as);
    es_sm2_key_free(ek);
    es_buf_cleanup(&csr);
    es_buf_cleanup(&pem);
    es_buf_cleanup(&cert);
    es_buf_cleanup(&reqder);
    es_buf_cleanup(&b64);
    es_buf_cleanup(&root);
}

static void city_config(node_t *city, const node_t *sim)
{
    snprintf(city->extra, sizeof city->extra,
             "[server]\ndivision = 350102\n[upstream]\nurl = http://127.0.0.1:%u/\nclient = "
             "city-a\npoll_ms = 100\nretry_min_ms = 50\nretry_max_ms = 400\nparent_cert = "
             "%s/keys/system.crt\n",
             sim->port, sim->var);
}

static void suite(const char *kind, const char *sim_url, const char *city_url)
{
    node_t sim, city;
    char sadmin[65], sbiz[65], admin[65], issuer[65], reviewer[65], outsider[65];
    char code[ES_SEAL_CODE_MAX], path[300], store[1100], sstore[1100];
    int st;
    memset(&sim, 0, sizeof sim);
    memset(&city, 0, sizeof city);
    snprintf(sim.var, sizeof sim.var, "%.400s/%.32s-sim", st_tmp(), kind);
    snprintf(sim.url, sizeof sim.url, "%s", sim_url ? sim_url : "");
    snprintf(sim.extra, sizeof sim.extra, "[server]\ntier = national-simulator\n");
    snprintf(city.var, sizeof city.var, "%.400s/%.32s-city", st_tmp(), kind);
    snprintf(city.url, sizeof city.url, "%s", city_url ? city_url : "");
    snprintf(sstore, sizeof sstore, "%s", sim_url ? sim_url : "");
    if (!sim_url) snprintf(sstore, sizeof sstore, "sqlite:%s/eseal.db", sim.var);
    snprintf(store, sizeof store, "%s", city_url ? city_url : "");
    if (!city_url) snprintf(store, sizeof store, "sqlite:%s/eseal.db", city.var);

    if (node_start(&sim) != 0) {
        ok(0, "%s: the simulator starts", kind);
        return;
    }
    snprintf(sim.listen, sizeof sim.listen, "127.0.0.1:%u", sim.port);
    ok(admin_in(&sim, sadmin) && account(&sim, sadmin, "simbiz", "[\"business_admin\"]", sbiz),
       "%s: a business administrator at the simulator", kind);
    city_config(&city, &sim);
    if (node_start(&city) != 0) {
        ok(0, "%s: the city starts", kind);
        node_stop(&sim);
        return;
    }
    char sysref[700];
    snprintf(sysref, sizeof sysref, "soft:%s/keys#system", city.var);
    es_signer *syskey = open_key(sysref);
    ok(register_client(&sim, sbiz, "city-a", "seal_issuer", syskey) == 201,
       "%s: the city's system key registered at the simulator (city-a, seal_issuer)", kind);
    ok(admin_in(&city, admin) && account(&city, admin, "issuer", "[\"seal_issuer\"]", issuer) &&
           account(&city, admin, "reviewer", "[\"reviewer\"]", reviewer) &&
           account(&city, admin, "operator1", "[\"operator\"]", outsider),
       "%s: the city's accounts", kind);

    /* 1. A national USBKey seal end to end; execute retried and raced: one code. */
    int64_t id = approved(&city, issuer, reviewer, apply_body("全国通用章"), "apply");
    ok(id > 0, "%s: a national-scope application approved", kind);
    ok(step(&city, reviewer, id, "execute", pin(), NULL) == 403 &&
           step(&city, outsider, id, "execute", pin(), NULL) == 403 &&
           step(&city, NULL, id, "execute", pin(), NULL) == 401,
       "%s: a reviewer's and an operator's execute 403, no session 401", kind);
    race rc[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        rc[i] = (race){&city, issuer, id, 0, ""};
        pthread_create(&th[i], NULL, race_run, &rc[i]);
    }
    int all = 1, accepted = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        /* Each answers the application's state (202); a PIN of one person used six times at
         * once is counted exactly (no 423: src/svc/decisions checks a keyed PIN holding the
         * key's row). */
        all &= rc[i].st == 202 || rc[i].st == 200;
        accepted += rc[i].st == 202 || rc[i].st == 200;
    }
    ok(all && accepted >= 1, "%s: %d concurrent executes: 202: %d %d %d %d %d %d", kind, THREADS,
       rc[0].st, rc[1].st, rc[2].st, rc[3].st, rc[4].st, rc[5].st);
    ok(execute(&city, issuer, id, code) == 202 || wait_state(&city, issuer, id, "made", 0),
       "%s: executed again while it waits: its state", kind);
    snprintf(path, sizeof path, "application:%lld", (long long)id);
    ok(qcount(store,
              "SELECT COUNT(*) FROM upstream_outbox WHERE kind = 'code.assign' AND "
              "req_key = '%s'",
              path) == 1 &&
           qcount(store, "SELECT COUNT(*) FROM upstream_outbox WHERE kind = 'code.assign'", NULL) ==
               1,
       "%s: one code.assign queued", kind);
    ok(wait_state(&city, issuer, id, "made", 30000), "%s: the application is made", kind);
    json_t *a = app_get(&city, issuer, id, &st);
    snprintf(code, sizeof code, "%s", sget(a, "application.made_code"));
    ok(digits14(code) && !strcmp(sget(a, "upstream.step"), "made") &&
           !strcmp(sget(a, "upstream.code"), code),
       "%s: code %s: 14 digits from the simulator; the progress says made", kind, code);
    json_decref(a);
    ok(qcount(sstore, "SELECT COUNT(*) FROM national_codes WHERE code = '%s'", code) == 1 &&
           count(sstore, "SELECT COUNT(*) FROM national_codes") == 1 &&
           qcount(sstore, "SELECT COUNT(*) FROM national_filings WHERE code = '%s'", code) == 1,
       "%s: the simulator holds one code (retries and races made no second) and its filing", kind);
    ok(qcount(store,
              "SELECT COUNT(*) FROM audit WHERE action IN ('application.code_assigned', "
              "'application.certified', 'application.filed', 'application.made') AND object = "
              "'%s'",
              path) == 4,
       "%s: each step audited", kind);
    /* 7.5: filed before generated: the certificate's audit precedes the filing, the filing the
     * seal. */
    ok(qcount(store,
              "SELECT COUNT(*) FROM audit f, audit m WHERE f.action = 'application.filed' AND "
              "m.action = 'application.made' AND f.object = '%s' AND m.object = f.object AND "
              "f.seq < m.seq",
              path) == 1,
       "%s: the filing precedes the seal's generation", kind);
    ok(qcount(store,
              "SELECT COUNT(*) FROM seals WHERE code = '%s' AND scope = 'national' AND "
              "police_key IS NOT NULL AND police_info IS NOT NULL",
              code) == 1,
       "%s: the seal holds the police key and information (sealed)", kind);
    a = seal_get(&city, issuer, code);
    char *shown = a ? json_dumps(a, JSON_COMPACT) : NULL;
    ok(shown && !strstr(shown, "police"), "%s: the police key is never shown", kind);
    free(shown);
    json_decref(a);
    verify_with_cli(&city, issuer, code, kind);

    /* 2. Renewal of a national seal: the same code (no code.assign), a new certificate filed
     * before the new seal is made. */
    int64_t codes_before = count(sstore, "SELECT COUNT(*) FROM national_codes");
    json_t *before_seal = seal_get(&city, issuer, code);
    char serial0[64];
    snprintf(serial0, sizeof serial0, "%s", sget(before_seal, "seal.cert_serial"));
    json_decref(before_seal);
    int64_t nid = approved(
        &city, issuer, reviewer,
        json_pack("{s:s,s:s,s:s}", "kind", "renew", "seal_code", code, "reason", "证书即将到期"),
        "renew");
    char made[ES_SEAL_CODE_MAX];
    ok(nid && execute(&city, issuer, nid, made) == 202 &&
           wait_state(&city, issuer, nid, "made", 30000),
       "%s: a national seal renewed through the link", kind);
    a = app_get(&city, issuer, nid, &st);
    json_t *after_seal = seal_get(&city, issuer, code);
    ok(!strcmp(sget(a, "application.made_code"), code) &&
           strcmp(sget(after_seal, "seal.cert_serial"), serial0) != 0 &&
           count(sstore, "SELECT COUNT(*) FROM national_codes") == codes_before &&
           qcount(sstore, "SELECT COUNT(*) FROM national_filings WHERE code = '%s'", code) == 2,
       "%s: renew keeps the code %s (no new code at the simulator), files the new certificate",
       kind, code);
    json_decref(after_seal);
    json_decref(a);
    snprintf(path, sizeof path,
             "SELECT COUNT(*) FROM ca_certs WHERE serial = '%s' AND status = 'R' AND reason = 4",
             serial0);
    ok(count(store, path) == 1, "%s: renew: the old certificate revoked (superseded)", kind);
    verify_with_cli(&city, issuer, code, kind);

    /* 3. Lifecycle: suspending a national seal is filed at the simulator. */
    json_t *sb =
        json_pack("{s:s,s:s,s:s}", "kind", "suspend", "seal_code", code, "reason", "暂停使用");
    int64_t sid = approved(&city, issuer, reviewer, sb, "suspend");
    char scode[ES_SEAL_CODE_MAX];
    ok(sid && execute(&city, issuer, sid, scode) == 200, "%s: the national seal suspended", kind);
    int filed = 0;
    for (int i = 0; i < 100 && !filed; i++) {
        filed = qcount(sstore,
                       "SELECT COUNT(*) FROM national_status WHERE code = '%s' AND "
                       "state = 'suspended'",
                       code) == 1;
        if (!filed) sleep_ms(100);
    }
    ok(filed, "%s: the suspension is filed at the simulator (seal.status)", kind);

    /* Replacement of the (suspended) national seal: a new code from the simulator; the old seal
     * cancelled when the new one is made, and that change filed too. */
    int64_t pid = approved(
        &city, issuer, reviewer,
        json_pack("{s:s,s:s,s:s}", "kind", "replace", "seal_code", code, "reason", "载体损坏"),
        "replace");
    char newcode[ES_SEAL_CODE_MAX] = "";
    ok(pid && execute(&city, issuer, pid, newcode) == 202 &&
           wait_state(&city, issuer, pid, "made", 30000),
       "%s: a national seal replaced through the link", kind);
    a = app_get(&city, issuer, pid, &st);
    snprintf(newcode, sizeof newcode, "%s", sget(a, "application.made_code"));
    json_decref(a);
    filed = 0;
    for (int i = 0; i < 100 && !filed; i++) {
        filed = qcount(sstore,
                       "SELECT COUNT(*) FROM national_status WHERE code = '%s' AND "
                       "state = 'cancelled'",
                       code) == 1;
        if (!filed) sleep_ms(100);
    }
    ok(digits14(newcode) && strcmp(newcode, code) != 0 &&
           qcount(store, "SELECT COUNT(*) FROM seals WHERE code = '%s' AND state = 'cancelled'",
                  code) == 1 &&
           filed,
       "%s: the replacement %s has a new code; the old seal cancelled and that filed", kind,
       newcode);

    /* A change of the replacement (its unit renamed its seal, §7.6): a new code from the
     * simulator, the seal made with the new name; the replaced seal cancelled and that filed. */
    int64_t cid = approved(&city, issuer, reviewer,
                           json_pack("{s:s,s:s,s:s,s:s}", "kind", "change", "seal_code", newcode,
                                     "seal_name", "全国链路变更后印章", "reason", "单位更名"),
                           "change");
    char chcode[ES_SEAL_CODE_MAX] = "";
    ok(cid && execute(&city, issuer, cid, chcode) == 202 &&
           wait_state(&city, issuer, cid, "made", 30000),
       "%s: a national seal changed through the link", kind);
    a = app_get(&city, issuer, cid, &st);
    snprintf(chcode, sizeof chcode, "%s", sget(a, "application.made_code"));
    json_decref(a);
    filed = 0;
    for (int i = 0; i < 100 && !filed; i++) {
        filed = qcount(sstore,
                       "SELECT COUNT(*) FROM national_status WHERE code = '%s' AND "
                       "state = 'cancelled'",
                       newcode) == 1;
        if (!filed) sleep_ms(100);
    }
    ok(digits14(chcode) && strcmp(chcode, newcode) != 0 && strcmp(chcode, code) != 0 &&
           qcount(store, "SELECT COUNT(*) FROM seals WHERE code = '%s' AND state = 'cancelled'",
                  newcode) == 1 &&
           qcount(store,
                  "SELECT COUNT(*) FROM seals WHERE code = '%s' AND state = 'active' AND "
                  "seal_name = '全国链路变更后印章'",
                  chcode) == 1 &&
           qcount(sstore, "SELECT COUNT(*) FROM national_codes WHERE code = '%s'", chcode) == 1 &&
           qcount(sstore, "SELECT COUNT(*) FROM national_filings WHERE code = '%s'", chcode) == 1 &&
           filed,
       "%s: the change %s has a new code from the simulator, filed, under the new name; the "
       "changed seal %s cancelled and that filed",
       kind, chcode, newcode);
    verify_with_cli(&city, issuer, chcode, kind);

    /* 4. A refused code request (the simulator answers 409: its key was used with another
     * body), then the issuer's retry under a new key. */
    int64_t rid = approved(&city, issuer, reviewer, apply_body("被拒后重试章"), "apply");
    snprintf(path, sizeof path,
             "{\"key\":\"application:%lld\",\"body\":{\"approver_division\":"
             "\"350100\",\"other\":1}}",
             (long long)rid);
    ok(rid && signed_post(&sim, "city-a", syskey, "/api/v1/national/codes", path) == 201,
       "%s: the key of the next request taken at the simulator with another body", kind);
    ok(execute(&city, issuer, rid, code) == 202 && wait_step(&city, issuer, rid, "refused", 20000),
       "%s: refused by the simulator: the step says refused", kind);
    a = app_get(&city, issuer, rid, &st);
    ok(strstr(sget(a, "upstream.refusal"), "409") && !strcmp(app_state(a), "approved") &&
           !strcmp(sget(a, "upstream.request.state"), "failed"),
       "%s: the refusal is visible: %s", kind, sget(a, "upstream.refusal"));
    json_decref(a);
    ok(step(&city, reviewer, rid, "execute", pin(), NULL) == 403, "%s: a reviewer cannot retry it",
       kind);
    ok(execute(&city, issuer, rid, code) == 202 && wait_state(&city, issuer, rid, "made", 30000),
       "%s: the issuer retries (a new key): made", kind);
    snprintf(path, sizeof path, "application:%lld", (long long)rid);
    ok(qcount(store,
              "SELECT COUNT(*) FROM audit WHERE action = 'application.retry' AND object = "
              "'%s'",
              path) == 1 &&
           qcount(store, "SELECT COUNT(*) FROM upstream_outbox WHERE req_key = '%s/try:2'", path) ==
               2,
       "%s: the retry audited, its requests under the key %s/try:2", kind, path);

    /* 5. The server carrier. */
    server_carrier(&city, admin, issuer, reviewer, store, sstore, kind);

    /* 6. The simulator down: the application waits, visibly; the city killed (SIGKILL) and
     * restarted meanwhile; the simulator up: made, nothing lost. */
    node_stop(&sim);
    int64_t did = approved(&city, issuer, reviewer, apply_body("断线等待章"), "apply");
    ok(did && execute(&city, issuer, did, code) == 202, "%s: executed while the simulator is down",
       kind);
    sleep_ms(1500);
    a = app_get(&city, issuer, did, &st);
    ok(!strcmp(app_state(a), "approved") && !strcmp(sget(a, "upstream.step"), "code_requested") &&
           !strcmp(sget(a, "upstream.request.state"), "pending") &&
           json_integer_value(json_object_get(
               json_object_get(json_object_get(a, "upstream"), "request"), "attempts")) >= 1 &&
           sget(a, "upstream.request.next_at")[0] && sget(a, "upstream.request.last_error")[0],
       "%s: it waits: pending, attempts, next try, last error (%s)", kind,
       sget(a, "upstream.request.last_error"));
    json_decref(a);
    node_stop(&city);
    ok(node_start_process(&city, NULL) == 0, "%s: the city as a process", kind);
    sleep_ms(500);
    kill(city.pid, SIGKILL);
    waitpid(city.pid, &st, 0);
    city.pid = 0;
    ok(node_start(&sim) == 0, "%s: the simulator back on its port", kind);
    city.port = 0;
    ok(node_start(&city) == 0, "%s: the city restarted after SIGKILL", kind);
    ok(sign_in(&city, "issuer", USER_PASS, issuer) == 201 &&
           wait_state(&city, issuer, did, "made", 30000),
       "%s: the waiting application completes: made", kind);
    /* Seven codes at the simulator: the six seals' and the one the test took for the refusal. */
    ok(count(sstore, "SELECT COUNT(*) FROM national_codes WHERE req_key LIKE 'application:%'") ==
               7 &&
           count(store, "SELECT COUNT(*) FROM national_flows WHERE step = 'made'") == 7 &&
           count(store, "SELECT COUNT(*) FROM seals WHERE scope = 'national'") == 6,
       "%s: six national seals (and a renewal), one code each at the simulator, nothing lost "
       "(%lld codes)",
       kind, (long long)count(sstore, "SELECT COUNT(*) FROM national_codes"));
    es_signer_free(syskey);
    node_stop(&city);
    node_stop(&sim);
}

/* A three-level chain: a city whose parent is a province, whose parent is the simulator. The
 * province forwards (a key derived from the city's: the city's retry never makes a second
 * code), records and audits what it forwarded, answers signed by its own key, 503 with
 * Retry-After while its parent is down, and refuses a revoked child at once. */
static void chain(const char *kind, const char *sim_url, const char *prov_url, const char *city_url)
{
    node_t sim, prov, city;
    char sadmin[65], sbiz[65], padmin[65], pbiz[65], admin[65], issuer[65], reviewer[65];
    char sstore[1100], pstore[1100], code[ES_SEAL_CODE_MAX], ref[700], body[400];
    int st;
    memset(&sim, 0, sizeof sim);
    memset(&prov, 0, sizeof prov);
    memset(&city, 0, sizeof city);
    snprintf(sim.var, sizeof sim.var, "%.400s/%.32s-csim", st_tmp(), kind);
    snprintf(prov.var, sizeof prov.var, "%.400s/%.32s-cprov", st_tmp(), kind);
    snprintf(city.var, sizeof city.var, "%.400s/%.32s-ccity", st_tmp(), kind);
    snprintf(sim.url, sizeof sim.url, "%s", sim_url ? sim_url : "");
    snprintf(prov.url, sizeof prov.url, "%s", prov_url ? prov_url : "");
    snprintf(city.url, sizeof city.url, "%s", city_url ? city_url : "");
    snprintf(sstore, sizeof sstore, "%s", sim_url ? sim_url : "");
    if (!sim_url) snprintf(sstore, sizeof sstore, "sqlite:%s/eseal.db", sim.var);
    snprintf(pstore, sizeof pstore, "%s", prov_url ? prov_url : "");
    if (!prov_url) snprintf(pstore, sizeof pstore, "sqlite:%s/eseal.db", prov.var);
    snprintf(sim.extra, sizeof sim.extra, "[server]\ntier = national-simulator\n");
    if (node_start(&sim) != 0) {
        ok(0, "%s chain: the simulator starts", kind);
        return;
    }
    snprintf(sim.listen, sizeof sim.listen, "127.0.0.1:%u", sim.port);
    snprintf(prov.extra, sizeof prov.extra,
             "[server]\ntier = province\ndivision = 350000\n[upstream]\nurl = "
             "http://127.0.0.1:%u/\nclient = prov-fj\npoll_ms = 100\nretry_min_ms = 50\n"
             "retry_max_ms = 400\nparent_cert = %s/keys/system.crt\n",
             sim.port, sim.var);
    ok(node_start(&prov) == 0, "%s chain: the province starts (tier province)", kind);
    snprintf(city.extra, sizeof city.extra,
             "[server]\ntier = city\ndivision = 350100\n[upstream]\nurl = http://127.0.0.1:%u/\n"
             "client = city-fz\npoll_ms = 100\nretry_min_ms = 50\nretry_max_ms = 400\n"
             "parent_cert = %s/keys/system.crt\n",
             prov.port, prov.var);
    ok(node_start(&city) == 0, "%s chain: the city starts, its parent the province", kind);
    snprintf(ref, sizeof ref, "soft:%s/keys#system", prov.var);
    es_signer *pkey = open_key(ref);
    snprintf(ref, sizeof ref, "soft:%s/keys#system", city.var);
    es_signer *ckey = open_key(ref);
    ok(admin_in(&sim, sadmin) && account(&sim, sadmin, "simbiz", "[\"business_admin\"]", sbiz) &&
           register_client(&sim, sbiz, "prov-fj", "seal_issuer", pkey) == 201,
       "%s chain: the province registered at the simulator", kind);
    ok(admin_in(&prov, padmin) && account(&prov, padmin, "provbiz", "[\"business_admin\"]", pbiz) &&
           register_client(&prov, pbiz, "city-fz", "seal_issuer", ckey) == 201,
       "%s chain: the city registered at the province", kind);
    ok(admin_in(&city, admin) && account(&city, admin, "issuer", "[\"seal_issuer\"]", issuer) &&
           account(&city, admin, "reviewer", "[\"reviewer\"]", reviewer),
       "%s chain: the city's accounts", kind);
    int64_t id = approved(&city, issuer, reviewer, apply_body("三级链路章"), "apply");
    ok(id && execute(&city, issuer, id, code) == 202 &&
           wait_state(&city, issuer, id, "made", 40000),
       "%s chain: a national seal made at the city through the province", kind);
    json_t *a = app_get(&city, issuer, id, &st);
    snprintf(code, sizeof code, "%s", sget(a, "application.made_code"));
    json_decref(a);
    ok(digits14(code) &&
           qcount(sstore,
                  "SELECT COUNT(*) FROM national_codes WHERE code = '%s' AND client = "
                  "'prov-fj' AND req_key LIKE 'fwd:%%'",
                  code) == 1 &&
           qcount(sstore, "SELECT COUNT(*) FROM national_filings WHERE code = '%s'", code) == 1,
       "%s chain: the code %s is the simulator's (assigned to the province under a derived "
       "key), and filed",
       kind, code);
    ok(count(pstore, "SELECT COUNT(*) FROM upstream_forwards WHERE client = 'city-fz' AND status "
                     "IN (200, 201)") >= 2 &&
           count(pstore, "SELECT COUNT(*) FROM audit WHERE action = 'upstream.forward'") >= 2,
       "%s chain: the province recorded and audited what it forwarded", kind);
    verify_with_cli(&city, issuer, code, kind);
    /* The city's retry of the same request: the same code, none more at the simulator. */
    snprintf(body, sizeof body,
             "{\"key\":\"application:%lld\",\"body\":{\"x\":1,\"approver_division\":\"350100\"}}",
             (long long)id);
    int64_t before = count(sstore, "SELECT COUNT(*) FROM national_codes");
    ok(signed_post(&prov, "city-fz", ckey, "/api/v1/national/codes", body) == 409 &&
           count(sstore, "SELECT COUNT(*) FROM national_codes") == before,
       "%s chain: the same child key with another body: 409 from the simulator, through", kind);
    snprintf(body, sizeof body,
             "{\"key\":\"chain-retry\",\"body\":{\"approver_division\":\"350100\"}}");
    ok(signed_post(&prov, "city-fz", ckey, "/api/v1/national/codes", body) == 201 &&
           signed_post(&prov, "city-fz", ckey, "/api/v1/national/codes", body) == 200 &&
           count(sstore, "SELECT COUNT(*) FROM national_codes") == before + 1,
       "%s chain: a child's request sent twice: one code at the simulator", kind);
    /* The parent down: 503 (the child's outbox retries). */
    node_stop(&sim);
    snprintf(body, sizeof body,
             "{\"key\":\"chain-down\",\"body\":{\"approver_division\":\"350100\"}}");
    ok(signed_post(&prov, "city-fz", ckey, "/api/v1/national/codes", body) == 503 &&
           count(pstore, "SELECT COUNT(*) FROM upstream_forwards WHERE status = 0") >= 1,
       "%s chain: the simulator down: the province answers 503, recorded", kind);
    /* A revoked child: refused at once. */
    json_decref(jcall(&prov, "POST", "/api/v1/clients/city-fz/revoke", pbiz,
                      json_pack("{s:s}", "reason", "keyCompromise"), &st));
    ok(st == 200, "%s chain: the city's client revoked at the province (%d)", kind, st);
    int rs = signed_post(&prov, "city-fz", ckey, "/api/v1/national/codes", body);
    ok(rs == 401 || rs == 403, "%s chain: a revoked child is refused at once (%d)", kind, rs);
    es_signer_free(pkey);
    es_signer_free(ckey);
    node_stop(&city);
    node_stop(&prov);
}

/* A four-level chain through a ministry tier: a city whose parent is a province, whose parent
 * is the ministry, whose parent is the simulator (docs/upstream.md "Forwarding": each tier
 * forwards under a key derived from its child's, answers signed by its own key). One national
 * seal made at the city: its code is the simulator's, assigned to the ministry (the
 * simulator's client), filed; the ministry and the province each recorded and audited what
 * they forwarded. */
static void chain_ministry(const char *kind, const char *sim_url, const char *min_url,
                           const char *prov_url, const char *city_url)
{
    node_t sim, min, prov, city;
    char sadmin[65], sbiz[65], madmin[65], mbiz[65], padmin[65], pbiz[65], admin[65], issuer[65],
        reviewer[65];
    char sstore[1100], mstore[1100], pstore[1100], cstore[1100], code[ES_SEAL_CODE_MAX], ref[700];
    int st;
    memset(&sim, 0, sizeof sim);
    memset(&min, 0, sizeof min);
    memset(&prov, 0, sizeof prov);
    memset(&city, 0, sizeof city);
    snprintf(sim.var, sizeof sim.var, "%.400s/%.32s-msim", st_tmp(), kind);
    snprintf(min.var, sizeof min.var, "%.400s/%.32s-mmin", st_tmp(), kind);
    snprintf(prov.var, sizeof prov.var, "%.400s/%.32s-mprov", st_tmp(), kind);
    snprintf(city.var, sizeof city.var, "%.400s/%.32s-mcity", st_tmp(), kind);
    snprintf(sim.url, sizeof sim.url, "%s", sim_url ? sim_url : "");
    snprintf(min.url, sizeof min.url, "%s", min_url ? min_url : "");
    snprintf(prov.url, sizeof prov.url, "%s", prov_url ? prov_url : "");
    snprintf(city.url, sizeof city.url, "%s", city_url ? city_url : "");
    snprintf(sstore, sizeof sstore, "%s", sim_url ? sim_url : "");
    if (!sim_url) snprintf(sstore, sizeof sstore, "sqlite:%s/eseal.db", sim.var);
    snprintf(mstore, sizeof mstore, "%s", min_url ? min_url : "");
    if (!min_url) snprintf(mstore, sizeof mstore, "sqlite:%s/eseal.db", min.var);
    snprintf(pstore, sizeof pstore, "%s", prov_url ? prov_url : "");
    if (!prov_url) snprintf(pstore, sizeof pstore, "sqlite:%s/eseal.db", prov.var);
    snprintf(cstore, sizeof cstore, "%s", city_url ? city_url : "");
    if (!city_url) snprintf(cstore, sizeof cstore, "sqlite:%s/eseal.db", city.var);
    snprintf(sim.extra, sizeof sim.extra, "[server]\ntier = national-simulator\n");
    if (node_start(&sim) != 0) {
        ok(0, "%s ministry chain: the simulator starts", kind);
        return;
    }
    snprintf(min.extra, sizeof min.extra,
             "[server]\ntier = ministry\n[upstream]\nurl = http://127.0.0.1:%u/\nclient = "
             "min-hrss\npoll_ms = 100\nretry_min_ms = 50\nretry_max_ms = 400\nparent_cert = "
             "%s/keys/system.crt\n",
             sim.port, sim.var);
    ok(node_start(&min) == 0, "%s ministry chain: the ministry starts (tier ministry)", kind);
    snprintf(prov.extra, sizeof prov.extra,
             "[server]\ntier = province\ndivision = 350000\n[upstream]\nurl = "
             "http://127.0.0.1:%u/\nclient = prov-fj\npoll_ms = 100\nretry_min_ms = 50\n"
             "retry_max_ms = 400\nparent_cert = %s/keys/system.crt\n",
             min.port, min.var);
    ok(node_start(&prov) == 0, "%s ministry chain: the province starts, its parent the ministry",
       kind);
    snprintf(city.extra, sizeof city.extra,
             "[server]\ntier = city\ndivision = 350100\n[upstream]\nurl = http://127.0.0.1:%u/\n"
             "client = city-fz\npoll_ms = 100\nretry_min_ms = 50\nretry_max_ms = 400\n"
             "parent_cert = %s/keys/system.crt\n",
             prov.port, prov.var);
    ok(node_start(&city) == 0, "%s ministry chain: the city starts, its parent the province", kind);
    snprintf(ref, sizeof ref, "soft:%s/keys#system", min.var);
    es_signer *mkey = open_key(ref);
    snprintf(ref, sizeof ref, "soft:%s/keys#system", prov.var);
    es_signer *pkey = open_key(ref);
    snprintf(ref, sizeof ref, "soft:%s/keys#system", city.var);
    es_signer *ckey = open_key(ref);
    ok(admin_in(&sim, sadmin) && account(&sim, sadmin, "simbiz", "[\"business_admin\"]", sbiz) &&
           register_client(&sim, sbiz, "min-hrss", "seal_issuer", mkey) == 201,
       "%s ministry chain: the ministry registered at the simulator", kind);
    ok(admin_in(&min, madmin) && account(&min, madmin, "minbiz", "[\"business_admin\"]", mbiz) &&
           register_client(&min, mbiz, "prov-fj", "seal_issuer", pkey) == 201,
       "%s ministry chain: the province registered at the ministry", kind);
    ok(admin_in(&prov, padmin) && account(&prov, padmin, "provbiz", "[\"business_admin\"]", pbiz) &&
           register_client(&prov, pbiz, "city-fz", "seal_issuer", ckey) == 201,
       "%s ministry chain: the city registered at the province", kind);
    ok(admin_in(&city, admin) && account(&city, admin, "issuer", "[\"seal_issuer\"]", issuer) &&
           account(&city, admin, "reviewer", "[\"reviewer\"]", reviewer),
       "%s ministry chain: the city's accounts", kind);
    int64_t id = approved(&city, issuer, reviewer, apply_body("四级链路章"), "apply");
    ok(id && execute(&city, issuer, id, code) == 202 &&
           wait_state(&city, issuer, id, "made", 40000),
       "%s ministry chain: a national seal made at the city through province and ministry", kind);
    json_t *a = app_get(&city, issuer, id, &st);
    snprintf(code, sizeof code, "%s", sget(a, "application.made_code"));
    json_decref(a);
    ok(digits14(code) && !strncmp(code, "350100", 6) &&
           qcount(sstore,
                  "SELECT COUNT(*) FROM national_codes WHERE code = '%s' AND client = "
                  "'min-hrss' AND req_key LIKE 'fwd:%%'",
                  code) == 1 &&
           qcount(sstore, "SELECT COUNT(*) FROM national_filings WHERE code = '%s'", code) == 1 &&
           count(sstore, "SELECT COUNT(*) FROM national_codes") == 1,
       "%s ministry chain: the code %s is the simulator's (assigned to the ministry under a "
       "derived key), one code, filed",
       kind, code);
    ok(count(mstore, "SELECT COUNT(*) FROM upstream_forwards WHERE client = 'prov-fj' AND status "
                     "IN (200, 201)") >= 2 &&
           count(mstore, "SELECT COUNT(*) FROM audit WHERE action = 'upstream.forward'") >= 2,
       "%s ministry chain: the ministry recorded and audited what it forwarded", kind);
    ok(count(pstore, "SELECT COUNT(*) FROM upstream_forwards WHERE client = 'city-fz' AND status "
                     "IN (200, 201)") >= 2 &&
           count(pstore, "SELECT COUNT(*) FROM audit WHERE action = 'upstream.forward'") >= 2,
       "%s ministry chain: the province recorded and audited what it forwarded", kind);
    ok(qcount(cstore,
              "SELECT COUNT(*) FROM seals WHERE code = '%s' AND scope = 'national' AND state = "
              "'active' AND police_key IS NOT NULL",
              code) == 1,
       "%s ministry chain: the city holds the seal with the police key", kind);
    verify_with_cli(&city, issuer, code, kind);
    es_signer_free(mkey);
    es_signer_free(pkey);
    es_signer_free(ckey);
    node_stop(&city);
    node_stop(&prov);
    node_stop(&min);
    node_stop(&sim);
}

int main(void)
{
    setenv("ESEAL_PIN", SITE_PIN, 1);
    unsetenv(ES_MAKING_PAUSE_ENV);
    signal(SIGPIPE, SIG_IGN);
    g_cli = getenv("ESEAL_CLI");
    make_fixtures();
    suite("sqlite", NULL, NULL);
    chain("sqlite", NULL, NULL, NULL);
    chain_ministry("sqlite", NULL, NULL, NULL, NULL);
    if (st_pg_ready()) {
        suite("postgresql", st_pg_db("national_sim"), st_pg_db("national_city"));
        chain("postgresql", st_pg_db("chain_sim"), st_pg_db("chain_prov"), st_pg_db("chain_city"));
        chain_ministry("postgresql", st_pg_db("mchain_sim"), st_pg_db("mchain_min"),
                       st_pg_db("mchain_prov"), st_pg_db("mchain_city"));
    }
    es_buf_cleanup(&g_png);
    return t_done();
}
