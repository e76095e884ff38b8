/* The audit witness daemon (issue 13, item 3 a; docs/audit.md "Witness"): two nodes in this
 * process, a parent (the witness, its store on SQLite and on PostgreSQL) and a site whose
 * [audit] witness is the parent, registered there as a business system. The site's
 * checkpoints reach the parent (every witness_ms and at stop); the attack of the issue on the
 * site's store (a record rewritten and everything signed again with the site's own key; every
 * record deleted and the head reset) verifies INTACT alone and FAILS against what the parent
 * holds; the parent refuses a head that disagrees with or is behind what it holds (409, a
 * witness.refused record); only a signed request of a registered client is taken; a parent
 * that is down delays nothing on the site, and the checkpoints reach it once it is back. */
#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit_forge.h"
#include "eseal/keydev.h"
#include "eseal/node.h"
#include "eseal/pki.h"
#include "eseal/witness.h"
#include "http_client.h"
#include "store_test.h"

#define PIN       "witness-test-PIN-2026"
#define PASS      "Strong-Pass-2026!"
#define USER_PASS "User-Pass-2026!x"

typedef struct node_t {
    es_node *node;
    FILE *outf;
    unsigned port;
    char var[600], out[700], otp[64];
} node_t;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int node_start(node_t *d, const char *var, const char *config, const char *listen)
{
    memset(d, 0, sizeof *d);
    snprintf(d->var, sizeof d->var, "%s", var);
    snprintf(d->out, sizeof d->out, "%s.out", var);
    if (!(d->outf = fopen(d->out, "a"))) return -1;
    es_node_opts o = {config, listen, var, d->outf};
    char why[600] = "";
    es_err rv = es_node_start(&o, &d->node, why, sizeof why);
    fflush(d->outf);
    if (rv != ES_OK) {
        fprintf(stderr, "the node does not start: %s (%s)\n", why, es_err_str(rv));
        fclose(d->outf);
        return -1;
    }
    d->port = es_node_port(d->node);
    es_buf b;
    es_buf_init(&b, 1u << 20);
    if (es_file_read(d->out, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
        static const char said[] = "one-time password for admin: ";
        const char *p = strstr((char *)b.p, said);
        if (p) sscanf(p + sizeof said - 1, "%63s", d->otp);
    }
    es_buf_cleanup(&b);
    return 0;
}

static void node_stop(node_t *d)
{
    es_node_stop(d->node);
    d->node = NULL;
    if (d->outf) fclose(d->outf);
    d->outf = NULL;
}

static int call(const node_t *d, const char *method, const char *path, const char *token,
                const char *body, t_resp *r)
{
    char h[256] = "";
    size_t n = 0;
    if (token) n += (size_t)snprintf(h + n, sizeof h - n, "Authorization: Bearer %s\r\n", token);
    if (body) snprintf(h + n, sizeof h - n, "Content-Type: application/json\r\n");
    t_resp_init(r);
    return t_req(d->port, method, path, h, body, r);
}

/* Signs in (the token into tok); 1 when it must change its password. Returns the status. */
static int sign_in(const node_t *d, const char *name, const char *pass, char *tok)
{
    char body[256];
    t_resp r;
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, pass);
    int st = call(d, "POST", "/api/v1/sessions", NULL, body, &r);
    json_t *v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    tok[0] = 0;
    if (st == 201 && v) snprintf(tok, 65, "%s", json_string_value(json_object_get(v, "token")));
    json_decref(v);
    t_resp_free(&r);
    return st;
}

static int status_of(const node_t *d, const char *method, const char *path, const char *token,
                     const char *body)
{
    t_resp r;
    int st = call(d, method, path, token, body, &r);
    t_resp_free(&r);
    return st;
}

/* Admin signed in with a new password, a business administrator made: its token. */
static int business_admin(const node_t *d, char *tok)
{
    char admin[80], body[256], otp[64] = "";
    t_resp r;
    if (sign_in(d, "admin", d->otp, admin) != 201) return 0;
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"%s\"}", d->otp, PASS);
    if (status_of(d, "POST", "/api/v1/users/me/password", admin, body) != 200) return 0;
    int st = call(d, "POST", "/api/v1/users", admin,
                  "{\"name\":\"bizadmin\",\"display_name\":\"bizadmin\",\"roles\":"
                  "[\"business_admin\"]}",
                  &r);
    json_t *v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    if (st == 201 && v)
        snprintf(otp, sizeof otp, "%s", json_string_value(json_object_get(v, "one_time_password")));
    json_decref(v);
    t_resp_free(&r);
    if (!otp[0] || sign_in(d, "bizadmin", otp, tok) != 201) return 0;
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"%s\"}", otp,
             USER_PASS);
    return status_of(d, "POST", "/api/v1/users/me/password", tok, body) == 200;
}

/* A soft key `name` in dir (made with the PIN of the environment) and its signer. */
static es_signer *soft_key(const char *dir, const char *name)
{
    char ref[700];
    snprintf(ref, sizeof ref, "soft:%s#%s", dir, name);
    es_keyref kr;
    es_keydev *dev = NULL;
    es_secret_src pin = es_secret_env("ESEAL_PIN");
    uint8_t pub[ES_SM2_PUB_LEN];
    es_signer *s = NULL;
    mkdir(dir, 0700);
    if (es_keyref_parse(ref, &kr) != ES_OK || es_keydev_open(&kr, &dev) != ES_OK ||
        es_keydev_generate(dev, &kr, &pin, pub) != ES_OK)
        st_die("cannot make the key %s", ref);
    es_keydev_close(dev);
    if (es_keydev_signer(ref, &pin, &s) != ES_OK) st_die("cannot open the key %s", ref);
    return s;
}

/* Registers the business system `name` of key at d. Returns the status. */
static int register_client(const node_t *d, const char *tok, const char *name, es_signer *key)
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
        es_pki_pem_encode("CERTIFICATE REQUEST", es_slice_make(der.p, der.len), &pem) == ES_OK) {
        json_t *o = json_pack("{s:s, s:[s], s:s%}", "name", name, "roles", "operator", "csr",
                              (const char *)pem.p, pem.len);
        char *body = json_dumps(o, JSON_COMPACT);
        t_resp r;
        st = call(d, "POST", "/api/v1/clients", tok, body, &r);
        t_resp_free(&r);
        free(body);
        json_decref(o);
    }
    es_buf_cleanup(&der);
    es_buf_cleanup(&pem);
    return st;
}

static es_audit_head head_of(const char *url)
{
    es_store *s = st_open(url);
    es_audit_head h;
    if (es_audit_head_get(s, &h) != ES_OK) st_die("head of %s", url);
    es_store_close(s);
    return h;
}

static es_audit_report verify_with(const char *url, const uint8_t *pub, const es_audit_witness *w)
{
    es_store *s = st_open(url);
    es_audit_report rep;
    if (es_audit_verify_store_witness(s, pub, w, &rep) != ES_OK) st_die("verify %s", url);
    es_store_close(s);
    return rep;
}

static void show(const es_audit_report *r)
{
    es_buf b;
    es_buf_init(&b, 1 << 20);
    if (es_audit_report_print(r, 0, &b) == ES_OK && es_buf_nul(&b) == ES_OK)
        fprintf(stderr, "%s", (const char *)b.p);
    es_buf_cleanup(&b);
}

/* Wrong passwords at d: audited failures, records of the site's trail. */
static void failures(const node_t *d, int n)
{
    char tok[80];
    for (int i = 0; i < n; i++) sign_in(d, "nobody", "not-the-password", tok);
}

/* Fetches the parent's checkpoints of the site until the newest is seq (at most 10 s). */
static int fetch_until(const char *base, es_signer *key, int64_t seq, es_audit_witness *w)
{
    char why[300];
    for (int i = 0; i < 200; i++) {
        memset(w, 0, sizeof *w);
        if (es_witness_http_fetch(base, "city-a", key, w, why, sizeof why) == ES_OK && w->n &&
            w->cp[w->n - 1].seq == seq)
            return 1;
        es_audit_witness_cleanup(w);
        sleep_ms(50);
    }
    fprintf(stderr, "  the witness did not reach %lld: %s\n", (long long)seq, why);
    return 0;
}

/* eseal audit verify --db URL --pub PUB --witness BASE as city-a with key REF, by the CLI
 * (ESEAL_CLI, set by CTest); its exit status (-1 when it cannot run), stdout to out. */
static int cli_verify(const char *url, const char *pub, const char *base, const char *ref,
                      const char *out)
{
    const char *cli = getenv("ESEAL_CLI");
    if (!cli || !*cli) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out, "w", stdout)) _exit(126);
        execl(cli, cli, "audit", "verify", "--db", url, "--pub", pub, "--witness", base,
              "--witness-client", "city-a", "--witness-key", ref, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

static int file_has(const char *path, const char *needle)
{
    es_buf b;
    es_buf_init(&b, 1u << 20);
    int found = es_file_read(path, &b) == ES_OK && es_buf_nul(&b) == ES_OK &&
                strstr((const char *)b.p, needle) != NULL;
    es_buf_cleanup(&b);
    return found;
}

static int64_t count_action(const char *url, const char *action)
{
    es_store *s = st_open(url);
    es_value p = es_v_text(action);
    int64_t n = -1;
    if (es_store_query_int(s, "SELECT count(*) FROM audit WHERE action = ?", &p, 1, &n) != ES_OK)
        n = -1;
    es_store_close(s);
    return n;
}

static void suite(const char *kind, const char *parent_url)
{
    char pvar[700], cvar[700], pconf[760], cconf[760], base[64], tok[80], why[600];
    snprintf(pvar, sizeof pvar, "%s/%s-parent", st_tmp(), kind);
    snprintf(cvar, sizeof cvar, "%s/%s-site", st_tmp(), kind);
    snprintf(pconf, sizeof pconf, "%s.conf", pvar);
    snprintf(cconf, sizeof cconf, "%s.conf", cvar);
    char text[2400];
    /* The people here (the parent's administrators) sign in by password: the second factor
     * is tested elsewhere (test_otp). */
    snprintf(text, sizeof text,
             "[store]\nurl = %s\n[factors]\nenforce = false\n[log]\nlevel = error\n", parent_url);
    if (es_file_write(pconf, text, strlen(text)) != ES_OK) st_die("config");

    node_t p, c;
    ok(node_start(&p, pvar, pconf, "127.0.0.1:0") == 0, "%s: the parent (the witness) starts",
       kind);
    unsigned pport = p.port;
    snprintf(base, sizeof base, "http://127.0.0.1:%u/", pport);
    ok(business_admin(&p, tok), "%s: a business administrator at the parent", kind);
    mkdir(cvar, 0750);
    char keys[720];
    snprintf(keys, sizeof keys, "%s/keys", cvar);
    es_signer *wkey = soft_key(keys, "witness");
    ok(register_client(&p, tok, "city-a", wkey) == 201,
       "%s: the site registered at the parent as the business system city-a", kind);

    snprintf(text, sizeof text,
             "[store]\nurl = sqlite:%s/eseal.db\n[audit]\ncheckpoint_ms = 50\nwitness = %s\n"
             "witness_ms = 50\nwitness_client = city-a\nwitness_key = soft:%s#witness\n"
             "[log]\nlevel = error\n",
             cvar, base, keys);
    if (es_file_write(cconf, text, strlen(text)) != ES_OK) st_die("config");
    char curl[760];
    snprintf(curl, sizeof curl, "sqlite:%s/eseal.db", cvar);
    ok(node_start(&c, cvar, cconf, "127.0.0.1:0") == 0, "%s: the site starts with the witness",
       kind);
    failures(&c, 3);
    /* The site's head moves within checkpoint_ms; the parent gets it within witness_ms. */
    es_audit_head h = head_of(curl);
    for (int i = 0; i < 200 && h.seq < h.tip_seq; i++, sleep_ms(50)) h = head_of(curl);
    es_audit_witness w = {0};
    ok(h.seq > 0 && fetch_until(base, wkey, h.seq, &w),
       "%s: the parent holds the site's checkpoint %lld", kind, (long long)h.seq);
    es_audit_witness_cleanup(&w);
    es_audit_report r;

    /* Stop: the checkpoint written at stop reaches the parent. */
    failures(&c, 2);
    node_stop(&c);
    h = head_of(curl);
    ok(h.seq == h.tip_seq && fetch_until(base, wkey, h.seq, &w),
       "%s: the checkpoint of the stop (%lld) reached the parent", kind, (long long)h.seq);
    uint8_t pub[ES_SM2_PUB_LEN];
    {
        char path[760];
        snprintf(path, sizeof path, "%s/keys/audit.pub", cvar);
        es_buf b;
        es_buf_init(&b, 8192);
        if (es_file_read(path, &b) != ES_OK || es_pki_spki_read(b.p, b.len, pub) != ES_OK)
            st_die("audit.pub");
        es_buf_cleanup(&b);
    }
    r = verify_with(curl, pub, &w);
    ok(es_audit_report_ok(&r) && r.witnessed >= 2 && r.witness_seq == h.seq,
       "%s: the site's trail agrees with the %lld checkpoints the parent holds", kind,
       (long long)r.witnessed);
    es_audit_report_cleanup(&r);
    char pubpath[760], wref[760], cliout[760];
    snprintf(pubpath, sizeof pubpath, "%s/keys/audit.pub", cvar);
    snprintf(wref, sizeof wref, "soft:%s#witness", keys);
    snprintf(cliout, sizeof cliout, "%s.verify", cvar);
    int cst = cli_verify(curl, pubpath, base, wref, cliout);
    ok(cst == 0 && file_has(cliout, "INTACT") && file_has(cliout, "checkpoints compared"),
       "%s: eseal audit verify --witness %s: INTACT (exit %d)", kind, base, cst);

    /* The attack with the site's files: the audit key and the PIN open it. */
    char aref[760];
    snprintf(aref, sizeof aref, "soft:%s#audit", keys);
    es_secret_src pin = es_secret_env("ESEAL_PIN");
    es_signer *akey = NULL;
    es_store *s = st_open(curl);
    ok(es_keydev_signer(aref, &pin, &akey) == ES_OK, "%s: the site's audit key opens", kind);
    forge_rewrite(s, akey, 2, "nothing happened");
    es_store_close(s);
    r = verify_with(curl, pub, NULL);
    ok(es_audit_report_ok(&r), "%s: record 2 rewritten and re-signed: INTACT alone", kind);
    es_audit_report_cleanup(&r);
    r = verify_with(curl, pub, &w);
    ok(!es_audit_report_ok(&r) && r.counts[ES_AUDIT_WITNESS] >= 1 &&
           r.n_findings == r.counts[ES_AUDIT_WITNESS],
       "%s: FAILED against the parent's checkpoints", kind);
    if (es_audit_report_ok(&r)) show(&r);
    es_audit_report_cleanup(&r);
    cst = cli_verify(curl, pubpath, base, wref, cliout);
    ok(cst == 1 && file_has(cliout, "FAILED") && file_has(cliout, "is not the record witnessed"),
       "%s: eseal audit verify --witness %s: FAILED (exit %d)", kind, base, cst);
    /* The forged head sent to the parent: refused, and recorded there. */
    es_audit_head forged = head_of(curl);
    int64_t refused = count_action(parent_url, "witness.refused");
    ok(es_witness_http_send(base, "city-a", wkey, &forged, pub, why, sizeof why) ==
               ES_ERR_WITNESS &&
           strstr(why, "HTTP 409") && strstr(why, "another hash"),
       "%s: the parent refuses the forged head (%s)", kind, why);
    ok(count_action(parent_url, "witness.refused") == refused + 1,
       "%s: the refusal is in the parent's trail (witness.refused)", kind);

    /* The site started on the forged trail: the trail no longer holds what the parent
     * holds, though its head will be newer: the alarm, in the site's log and trail. */
    ok(node_start(&c, cvar, cconf, "127.0.0.1:0") == 0, "%s: the site starts on the forged trail",
       kind);
    int64_t alarms = 0;
    for (int i = 0; i < 200 && alarms < 1; i++, sleep_ms(50))
        alarms = count_action(curl, "audit.witness_refused");
    failures(&c, 2); /* records after the forged head: its next checkpoint is newer */
    node_stop(&c);
    ok(alarms >= 1 && count_action(curl, "audit.witness_refused") == 1,
       "%s: the site raises the witness alarm (audit.witness_refused), recorded once though "
       "every later checkpoint is held back too",
       kind);
    es_audit_witness w2;
    ok(es_witness_http_fetch(base, "city-a", wkey, &w2, why, sizeof why) == ES_OK && w2.n == w.n &&
           w2.cp[w2.n - 1].seq == w.cp[w.n - 1].seq,
       "%s: and sends nothing to the parent: it holds what it held (%zu checkpoints)", kind, w2.n);
    es_audit_witness_cleanup(&w2);

    /* Every record deleted and the head reset; then records written again. */
    s = st_open(curl);
    forge_wipe(s);
    es_store_close(s);
    r = verify_with(curl, pub, NULL);
    ok(es_audit_report_ok(&r) && r.records == 0, "%s: every record deleted: INTACT alone", kind);
    es_audit_report_cleanup(&r);
    r = verify_with(curl, pub, &w);
    ok(r.counts[ES_AUDIT_WITNESS] == 1 && r.n_findings == 1 &&
           strstr(r.findings[0].text, "ends at record 0"),
       "%s: FAILED against the parent: shorter than what it holds", kind);
    es_audit_report_cleanup(&r);
    s = st_open(curl);
    es_audit_record rec = {0};
    rec.actor = "mallory";
    rec.action = "test.write";
    int64_t cp = 0;
    ok(es_store_begin(s) == ES_OK && es_audit_append(s, akey, &rec) == ES_OK &&
           es_store_commit(s) == ES_OK && es_audit_checkpoint(s, akey, &cp) == ES_OK && cp == 1,
       "%s: a new trail begun on the wiped store", kind);
    es_store_close(s);
    es_audit_head behind = head_of(curl);
    ok(es_witness_http_send(base, "city-a", wkey, &behind, pub, why, sizeof why) ==
               ES_ERR_WITNESS &&
           strstr(why, "behind"),
       "%s: the parent refuses a head behind what it holds (%s)", kind, why);
    es_audit_witness_cleanup(&w);

    /* Only a registered business system, in a signed request, for itself. */
    char admin[80];
    ok(sign_in(&p, "admin", PASS, admin) == 201 &&
           status_of(&p, "POST", ES_WITNESS_PATH, admin, "{}") == 403,
       "%s: a signed-in person cannot send checkpoints (403)", kind);
    ok(status_of(&p, "GET", ES_WITNESS_PATH, NULL, NULL) == 401,
       "%s: nor anyone unauthenticated read them (401)", kind);
    es_signer *other = soft_key(keys, "other");
    ok(es_witness_http_send(base, "city-a", other, &forged, pub, why, sizeof why) ==
               ES_ERR_UNAVAILABLE &&
           strstr(why, "HTTP 401"),
       "%s: a request signed with another key is refused (%s)", kind, why);
    es_audit_head bad = forged;
    bad.seq += 100;
    ok(es_witness_http_send(base, "city-a", wkey, &bad, pub, why, sizeof why) ==
               ES_ERR_UNAVAILABLE &&
           strstr(why, "HTTP 422"),
       "%s: a checkpoint whose signature does not verify is refused (%s)", kind, why);
    es_signer_free(other);

    /* The parent down: the site serves and records, and catches up when it is back. */
    node_stop(&p);
    char cvar2[720], cconf2[760];
    snprintf(cvar2, sizeof cvar2, "%s2", cvar);
    snprintf(cconf2, sizeof cconf2, "%s.conf", cvar2);
    mkdir(cvar2, 0750);
    snprintf(text, sizeof text,
             "[store]\nurl = sqlite:%s/eseal.db\n[audit]\ncheckpoint_ms = 50\nwitness = %s\n"
             "witness_ms = 50\nwitness_client = city-a\nwitness_key = soft:%s#witness\n"
             "[log]\nlevel = error\n",
             cvar2, base, keys);
    if (es_file_write(cconf2, text, strlen(text)) != ES_OK) st_die("config");
    ok(node_start(&c, cvar2, cconf2, "127.0.0.1:0") == 0,
       "%s: a site starts while its witness is down", kind);
    /* The parent's store keeps the registration; checkpoints of this second site (a new
     * trail under the same client) would be behind: the parent is started on a fresh store
     * of its own, and the client registered there again. */
    failures(&c, 3);
    ok(status_of(&c, "GET", "/healthz", NULL, NULL) == 200,
       "%s: and answers while the witness is down", kind);
    char pvar2[720], pconf2[760], listen[64];
    snprintf(pvar2, sizeof pvar2, "%s2", pvar);
    snprintf(pconf2, sizeof pconf2, "%s.conf", pvar2);
    snprintf(
        text, sizeof text,
        "[store]\nurl = sqlite:%s/eseal.db\n[factors]\nenforce = false\n[log]\nlevel = error\n",
        pvar2);
    if (es_file_write(pconf2, text, strlen(text)) != ES_OK) st_die("config");
    snprintf(listen, sizeof listen, "127.0.0.1:%u", pport);
    ok(node_start(&p, pvar2, pconf2, listen) == 0 && business_admin(&p, tok) &&
           register_client(&p, tok, "city-a", wkey) == 201,
       "%s: the witness back on the same port, the site registered", kind);
    char c2url[760];
    snprintf(c2url, sizeof c2url, "sqlite:%s/eseal.db", cvar2);
    h = head_of(c2url);
    for (int i = 0; i < 200 && h.seq < h.tip_seq; i++, sleep_ms(50)) h = head_of(c2url);
    ok(h.seq > 0 && fetch_until(base, wkey, h.seq, &w),
       "%s: the site's checkpoint %lld reached it once it was back (sent again)", kind,
       (long long)h.seq);
    es_audit_witness_cleanup(&w);
    node_stop(&c);
    node_stop(&p);
    es_signer_free(akey);
    es_signer_free(wkey);
}

int main(void)
{
    setenv("ESEAL_PIN", PIN, 1);
    suite("sqlite", st_sqlite_db("witness-parent"));
    if (st_pg_ready()) suite("postgresql", st_pg_db("witness_parent"));
    return t_done();
}
