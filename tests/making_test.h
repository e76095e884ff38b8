/* The scaffolding of the tests that drive the making system through its API
 * (tests/test_making.c, test_making_edges.c, test_national_flow.c, test_renewal.c,
 * test_import.c): a node started in this process on 127.0.0.1:0 (or in a child process, for
 * kill -9), its store on SQLite or on the PostgreSQL of the "pg" fixture; JSON requests with a
 * session token; accounts of the making roles (signed in, the one-time password changed, a
 * signing key under PIN for the decision-takers); the fixtures of an application (a token
 * key's CSR, a picture, PDF materials); create, submit, review, execute.
 *
 * A test may define first MT_LOG_LEVEL (the nodes' [log] level, "warn") and MT_SCOPE (the
 * scope of apply_body, "industry"). */
#ifndef ESEAL_MAKING_TEST_H
#define ESEAL_MAKING_TEST_H

#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eseal/making.h"
#include "eseal/national.h"
#include "eseal/node.h"
#include "eseal/pki.h"
#include "http_client.h"
#include "store_test.h"
#include "test.h"

#ifndef MT_LOG_LEVEL
#define MT_LOG_LEVEL "warn"
#endif
#ifndef MT_SCOPE
#define MT_SCOPE "industry"
#endif

#define ADMIN_PASS "Strong-Pass-2026!"
#define USER_PASS  "User-Pass-2026!x"
#define USCC       "11370306MB2867521U" /* spec/national.md: a real unit's code */
#define IDNO       "11010519491231002X" /* GB 11643's own example */
#define THREADS    6                    /* requests at once in the races */
#define PIN        "135790"             /* every decision-taker's signing PIN */

/* A node: in this process (node) or in a child (pid). Before node_start: var, url (node_init),
 * and optionally listen, rate and extra. */
typedef struct node_t {
    es_node *node;
    pid_t pid;
    FILE *outf;
    unsigned port;
    unsigned rate;    /* [accounts] signin_rate_address; 0: 100000 */
    char var[512];    /* its directory */
    char out[600];    /* what it printed */
    char otp[64];     /* admin's one-time password, read from out */
    char aotp[64];    /* the auditor's */
    char url[1024];   /* its [store] url; empty: SQLite in var */
    char store[1100]; /* where its data is: url, or the SQLite file in var */
    char listen[64];  /* empty: 127.0.0.1:0 */
    char extra[1200]; /* configuration after [factors] */
} node_t;

static char g_uscc[19];
static char g_csr[4096]; /* the PEM CSR that apply_body carries (use_key) */
static es_buf g_png;
static const char *g_cli;
static es_signer *g_key; /* the token key of g_csr after make_fixtures */

static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the node */

/* d cleared, its directory <tmp>/<kind>-<name>, its store url (NULL: SQLite in the directory). */
static inline void node_init(node_t *d, const char *kind, const char *name, const char *url)
{
    memset(d, 0, sizeof *d);
    snprintf(d->var, sizeof d->var, "%.400s/%.32s-%.32s", st_tmp(), kind, name);
    snprintf(d->url, sizeof d->url, "%s", url ? url : "");
    if (url)
        snprintf(d->store, sizeof d->store, "%s", url);
    else
        snprintf(d->store, sizeof d->store, "sqlite:%s/eseal.db", d->var);
}

static inline void read_out(node_t *d)
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

static inline void write_config(const node_t *d, char *path, size_t n)
{
    char text[3000];
    snprintf(path, n, "%s.conf", d->var);
    snprintf(text, sizeof text,
             "[store]\n%s%s\n[log]\nlevel = " MT_LOG_LEVEL
             "\n[accounts]\nsignin_rate_address = %u\n"
             "signin_rate_account = 1000\n[factors]\nenforce = false\n%s",
             d->url[0] ? "url = " : "", d->url, d->rate ? d->rate : 100000u, d->extra);
    if (es_file_write(path, text, strlen(text)) != ES_OK) st_die("cannot write %s", path);
}

static inline int node_start(node_t *d)
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

/* In a child (es_node_run), with the making pause hook set to pause_file (NULL: none). */
static inline int node_start_process(node_t *d, const char *pause_file)
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

static inline void node_stop(node_t *d)
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

/* ---- requests */

/* A request with a bearer token (may be NULL), a content type and a body of len bytes. */
static inline int req_bytes(const node_t *d, const char *method, const char *path, const char *tok,
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

static inline int call(const node_t *d, const char *method, const char *path, const char *tok,
                       const char *json, t_resp *r)
{
    return req_bytes(d, method, path, tok, "application/json", json, json ? strlen(json) : 0, r);
}

static inline json_t *body_of(const t_resp *r)
{
    return json_loadb((const char *)r->body.p, r->body.len, 0, NULL);
}

/* A call whose JSON answer is returned (owned; NULL when none); *st the status. body is
 * taken (decref'd). */
static inline json_t *jcall(const node_t *d, const char *method, const char *path, const char *tok,
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

/* The string at path in o ("a.b": o["a"]["b"]), borrowed; "" when absent. */
static inline const char *sget(const json_t *o, const char *path)
{
    char k[64];
    const char *dot = strchr(path, '.');
    if (dot) {
        snprintf(k, sizeof k, "%.*s", (int)(dot - path), path);
        return sget(json_object_get(o, k), dot + 1);
    }
    const char *s = json_string_value(json_object_get(o, path));
    return s ? s : "";
}

/* ---- accounts */

static inline int sign_in(const node_t *d, const char *name, const char *pass, char tok[65])
{
    int st;
    json_t *v = jcall(d, "POST", "/api/v1/sessions", NULL,
                      json_pack("{s:s,s:s}", "username", name, "password", pass), &st);
    snprintf(tok, 65, "%s", st == 201 ? sget(v, "token") : "");
    json_decref(v);
    return st;
}

/* name's first sign-in with its one-time password otp, which it changes to ADMIN_PASS; tok
 * the session. 1 when both went through. */
static inline int first_in(const node_t *d, const char *name, const char *otp, char tok[65])
{
    int st;
    char once[64];
    snprintf(once, sizeof once, "%s", otp);
    if (sign_in(d, name, once, tok) != 201) return 0;
    json_decref(jcall(d, "POST", "/api/v1/users/me/password", tok,
                      json_pack("{s:s,s:s}", "old_password", once, "new_password", ADMIN_PASS),
                      &st));
    return st == 200;
}

/* admin's first sign-in (the one-time password the node printed). */
static inline int admin_in(const node_t *d, char tok[65])
{
    return first_in(d, "admin", d->otp, tok);
}

/* The auditor's first sign-in. */
static inline int auditor_in(const node_t *d, char tok[65])
{
    return first_in(d, "auditor", d->aotp, tok);
}

/* An account name with roles_json created by admin, signed in, its one-time password changed
 * to USER_PASS; a decision-taker (seal_issuer, reviewer) also enrols its signing key under
 * PIN. tok the session; 1 when all went through. */
static inline int account(const node_t *d, const char *admin, const char *name,
                          const char *roles_json, char tok[65])
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

/* The DER CSR of key, for /C=CN/CN=token (appended to der). */
static inline void csr_der(es_signer *key, es_buf *der)
{
    es_name n;
    char why[200];
    if (es_pki_name_parse("/C=CN/CN=token", &n, why, sizeof why) != ES_OK) st_die("%s", why);
    if (es_pki_csr_make(&n, NULL, 0, key, der) != ES_OK) st_die("csr");
}

/* Sets g_csr to the PEM CSR of key (what apply_body carries). */
static inline void use_key(es_signer *key)
{
    es_buf der, pem;
    es_buf_init(&der, 8192);
    es_buf_init(&pem, 8192);
    csr_der(key, &der);
    if (es_pem_encode("CERTIFICATE REQUEST", der.p, der.len, &pem) != ES_OK ||
        pem.len >= sizeof g_csr)
        st_die("csr");
    memcpy(g_csr, pem.p, pem.len);
    g_csr[pem.len] = 0;
    es_buf_cleanup(&der);
    es_buf_cleanup(&pem);
}

/* g_key a fresh token key, g_csr its CSR, g_uscc, g_png tests/data/seal.png. */
static inline void make_fixtures(void)
{
    es_sm2_key *k = NULL;
    if (es_sm2_key_generate(&k) != ES_OK || es_signer_from_key(k, &g_key) != ES_OK) st_die("key");
    use_key(g_key);
    snprintf(g_uscc, sizeof g_uscc, "%s", USCC);
    char path[1024];
    const char *data = getenv("ESEAL_TESTDATA");
    snprintf(path, sizeof path, "%s/seal.png", data ? data : "tests/data");
    es_buf_init(&g_png, 4u << 20);
    if (es_file_read(path, &g_png) != ES_OK) st_die("cannot read %s", path);
}

static inline void free_fixtures(void)
{
    es_buf_cleanup(&g_png);
    es_signer_free(g_key);
    g_key = NULL;
}

static const char pdf[] = "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/* An apply of an MT_SCOPE USBKey seal named seal_name for g_csr (owned). */
static inline json_t *apply_body(const char *seal_name)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s}", "kind",
                     "apply", "scope", MT_SCOPE, "carrier", "usbkey", "uscc", g_uscc, "division",
                     "350102", "unit_type", "organ", "unit_name",
                     "福州市鼓楼区人力资源和社会保障局", "agent_name", "张三", "agent_idno", IDNO,
                     "agent_mobile", "13800138000", "unit_address", "福建省福州市鼓楼区某路1号",
                     "approver_name", "福州市人力资源和社会保障局", "approver_division", "350100",
                     "seal_name", seal_name, "seal_type", 1, "csr", g_csr);
}

/* ---- applications */

static inline int put_material(const node_t *d, const char *tok, int64_t id, const char *name,
                               const void *p, size_t len)
{
    char path[200];
    t_resp r;
    snprintf(path, sizeof path, "/api/v1/applications/%lld/materials/%s", (long long)id, name);
    int st = req_bytes(d, "PUT", path, tok, "application/pdf", p, len, &r);
    t_resp_free(&r);
    return st;
}

static inline int put_picture(const node_t *d, const char *tok, int64_t id, int w, int h)
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
static inline int put_materials(const node_t *d, const char *tok, int64_t id, const char *kind)
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

/* POST /api/v1/applications/<id>/<what> with body (taken); the answer in *out (owned) when
 * out is not NULL; the status. */
static inline int step(const node_t *d, const char *tok, int64_t id, const char *what, json_t *body,
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

static inline json_t *pin(void)
{
    return json_pack("{s:s}", "pin", PIN);
}

static inline json_t *approve(void)
{
    return json_pack("{s:s,s:s,s:s}", "verdict", "approve", "opinion", "材料齐全，同意", "pin",
                     PIN);
}

static inline int64_t create(const node_t *d, const char *tok, json_t *body, int *st)
{
    json_t *v = jcall(d, "POST", "/api/v1/applications", tok, body, st);
    int64_t id = json_integer_value(json_object_get(json_object_get(v, "application"), "id"));
    json_decref(v);
    return id;
}

/* An application through create, materials, picture (for kinds that make a seal), submit,
 * approve; the id, or 0. */
static inline int64_t approved(const node_t *d, const char *issuer, const char *reviewer,
                               json_t *body, const char *kind)
{
    int st;
    int64_t id = create(d, issuer, body, &st);
    if (st != 201 || !put_materials(d, issuer, id, kind)) return 0;
    if (!strcmp(kind, "apply") && put_picture(d, issuer, id, 42, 42) != 200) return 0;
    if (step(d, issuer, id, "submit", pin(), NULL) != 200) return 0;
    if (step(d, reviewer, id, "review", approve(), NULL) != 200) return 0;
    return id;
}

/* Executes id; the seal code made (empty on failure) and the status. */
static inline int execute(const node_t *d, const char *tok, int64_t id, char code[ES_SEAL_CODE_MAX])
{
    json_t *v = NULL;
    int st = step(d, tok, id, "execute", pin(), &v);
    snprintf(code, ES_SEAL_CODE_MAX, "%s", sget(v, "application.made_code"));
    json_decref(v);
    return st;
}

/* One execute of a race (exec_race_run in a thread): its status and the code it answered. */
typedef struct exec_race {
    const node_t *d;
    const char *tok;
    int64_t id;
    int st;
    char code[ES_SEAL_CODE_MAX];
} exec_race;

static inline void *exec_race_run(void *p)
{
    exec_race *r = p;
    r->st = execute(r->d, r->tok, r->id, r->code);
    return NULL;
}

/* GET /api/v1/seals/<code> (owned), NULL unless 200. */
static inline json_t *seal_get(const node_t *d, const char *tok, const char *code)
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

/* The seal code made checked offline (three checks): `eseal seal verify --trust` the site's
 * root, `openssl verify` of its certificate, the certificate's CN the code. */
static inline int verify_with_cli(const node_t *d, const char *tok, const char *code,
                                  const char *kind)
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

/* ---- the store below the API */

/* SELECT COUNT(*) ... on url; -1 when it cannot say. */
static inline int64_t count(const char *url, const char *sql)
{
    es_store *s = NULL;
    int64_t n = -1;
    if (es_store_open(url, &s) == ES_OK && es_store_query_int(s, sql, NULL, 0, &n) != ES_OK) n = -1;
    es_store_close(s);
    return n;
}

/* sql in one transaction on url (tampering below the API); 1 when done. */
static inline int exec_sql(const char *url, const char *sql)
{
    es_store *s = NULL;
    int good = es_store_open(url, &s) == ES_OK && es_store_begin(s) == ES_OK &&
               es_store_exec(s, sql, NULL, 0, NULL) == ES_OK && es_store_commit(s) == ES_OK;
    es_store_close(s);
    return good;
}

#endif
