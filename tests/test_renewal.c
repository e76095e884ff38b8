/* Online self-service renewal (docs/making.md "Self-service renewal"; LD/T 01.1 7.9 note)
 * through POST /api/v1/renewals, against a node started inside this binary on SQLite and on
 * the PostgreSQL of the "pg" fixture: a request signed with the seal's token key becomes a
 * submitted renew application that a reviewer approves and the issuer executes into a new seal
 * with the same code and a new certificate for the request's new key; outside the window, a
 * wrong key, another seal's key, a suspended seal, a stale time, a replayed nonce, a truncated
 * or malformed body are refused with nothing stored; the address is rate-limited. */
#include "test.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eseal/making.h"
#include "eseal/node.h"
#include "eseal/package.h"
#include "eseal/pki.h"
#include "eseal/renewal.h"
#include "http_client.h"
#include "making_test.h"
#include "store_test.h"

/* A node's [making] renewal_window_days and [accounts] signin_rate_address (for node_start). */
static void limits(node_t *d, unsigned window_days, unsigned rate)
{
    d->rate = rate;
    snprintf(d->extra, sizeof d->extra, "[making]\nrenewal_window_days = %u\n", window_days);
}

/* ---- renewal requests */

static es_signer *new_key_pem(const char *pem_path)
{
    es_sm2_key *k = NULL;
    es_signer *s = NULL;
    es_buf pem;
    es_buf_init(&pem, 8192);
    if (es_sm2_key_generate(&k) != ES_OK) st_die("key");
    if (pem_path && (es_sm2_key_to_pem(k, NULL, &pem) != ES_OK ||
                     es_file_write(pem_path, pem.p, pem.len) != ES_OK))
        st_die("key pem");
    es_buf_cleanup(&pem);
    if (es_signer_from_key(k, &s) != ES_OK) st_die("key");
    return s;
}

static es_signer *new_key(void)
{
    return new_key_pem(NULL);
}

/* The JSON body of a renewal request for code/serial signed by signer, its new key newkey,
 * signed at `at`, with nonce (NULL: a fresh one); cut: keep only this many bytes of the text
 * (0: all). */
static char *renewal_body(const char *code, const char *serial, es_time valid_end,
                          es_signer *signer, es_signer *newkey, es_time at, const char *nonce,
                          size_t cut)
{
    es_renewal_req r;
    es_buf text, sig, b1, b2;
    es_renewal_req_init(&r);
    es_buf_init(&text, ES_RENEWAL_MAX);
    es_buf_init(&sig, 256);
    es_buf_init(&b1, 2 * ES_RENEWAL_MAX);
    es_buf_init(&b2, 1024);
    snprintf(r.code, sizeof r.code, "%s", code);
    snprintf(r.serial, sizeof r.serial, "%s", serial);
    r.valid_until = valid_end + 2 * 365 * 86400;
    snprintf(r.contact, sizeof r.contact, "张三 13800138000");
    r.time = at;
    if (nonce) {
        snprintf(r.nonce, sizeof r.nonce, "%s", nonce);
    } else {
        uint8_t n[16];
        if (es_random(n, sizeof n) != ES_OK) st_die("random");
        es_hex_encode(n, sizeof n, r.nonce);
    }
    csr_der(newkey, &r.csr);
    if (es_renewal_text(&r, &text) != ES_OK ||
        es_signer_sign_message(signer, ES_SM2_DEFAULT_ID, text.p, text.len, &sig) != ES_OK)
        st_die("renewal text");
    if (cut) text.len = cut;
    if (es_base64_encode(text.p, text.len, &b1) != ES_OK || es_buf_nul(&b1) != ES_OK ||
        es_base64_encode(sig.p, sig.len, &b2) != ES_OK || es_buf_nul(&b2) != ES_OK)
        st_die("b64");
    json_t *o =
        json_pack("{s:s,s:s}", "request", (const char *)b1.p, "signature", (const char *)b2.p);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    es_renewal_req_free(&r);
    es_buf_cleanup(&text);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&b1);
    es_buf_cleanup(&b2);
    return s;
}

/* POSTs body (freed) without a session; the answer's JSON in *out (may be NULL). */
static int renew(const node_t *d, char *body, json_t **out)
{
    t_resp r;
    int st = call(d, "POST", "/api/v1/renewals", NULL, body, &r);
    json_t *v = body_of(&r);
    if (st >= 300 && getenv("T_VERBOSE"))
        fprintf(stderr, "  renewal: %d %.*s\n", st, (int)r.body.len, (const char *)r.body.p);
    t_resp_free(&r);
    free(body);
    if (out)
        *out = v;
    else
        json_decref(v);
    return st;
}

static const char *err_of(const json_t *v)
{
    return sget(v, "error");
}

typedef struct seal_info {
    char serial[64];
    es_time valid_end;
    char state[16];
} seal_info;

static int info_of(const node_t *d, const char *tok, const char *code, seal_info *si)
{
    json_t *v = seal_get(d, tok, code);
    memset(si, 0, sizeof *si);
    if (!v) return 0;
    snprintf(si->serial, sizeof si->serial, "%s", sget(v, "seal.cert_serial"));
    snprintf(si->state, sizeof si->state, "%s", sget(v, "seal.state"));
    int good = es_time_parse_iso(sget(v, "seal.valid_end"), &si->valid_end) == ES_OK;
    json_decref(v);
    return good;
}

/* Runs cmd through the shell (stdout and stderr to the file out); its exit status, -1. */
static int sh(const char *cmd, const char *out)
{
    char full[20000];
    snprintf(full, sizeof full, "%s > '%s' 2>&1", cmd, out);
    int rc = system(full);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The seal's key in a USBKey (the software SKF device, libsoftskf.so): a seal made for the
 * token's key, renewed with `eseal making renew-request --key skf:...` and a new key made on
 * the same token. */
static void usbkey_renewal(const node_t *d, const char *issuer, const char *reviewer,
                           const char *store, const char *kind)
{
    const char *lib = getenv("ESEAL_SOFTSKF");
    if (!g_cli || !lib) {
        fprintf(stderr, "ESEAL_CLI or ESEAL_SOFTSKF is not set: the USBKey part is skipped\n");
        t_skipped = 1;
        return;
    }
    char dir[700], cmd[16384], out[800], k1[1200], k2[1200], csr1[800], csr2[800];
    snprintf(dir, sizeof dir, "%s/skf-%s", st_tmp(), kind);
    snprintf(out, sizeof out, "%s.out", dir);
    snprintf(csr1, sizeof csr1, "%s/k1.csr", dir);
    snprintf(csr2, sizeof csr2, "%s/k2.csr", dir);
    snprintf(k1, sizeof k1, "skf:%s#TOKEN1/SEAL/K1", lib);
    snprintf(k2, sizeof k2, "skf:%s#TOKEN1/SEAL/K2", lib);
    if (mkdir(dir, 0700) != 0) st_die("mkdir %s", dir);
    const char *env = "ESEAL_SO_PIN=so-pin-87654321 ESEAL_PIN=12345678";
    snprintf(cmd, sizeof cmd,
             "export SOFTSKF_DIR='%s' %s && '%s' token init 'skf:%s#TOKEN1/SEAL' --create-device "
             "&& '%s' token gen '%s' && '%s' token gen '%s' && '%s' key csr '%s' --subject "
             "/C=CN/CN=token -o '%s' && '%s' key csr '%s' --subject /C=CN/CN=token -o '%s'",
             dir, env, g_cli, lib, g_cli, k1, g_cli, k2, g_cli, k1, csr1, g_cli, k2, csr2);
    int rc = sh(cmd, out);
    ok(rc == 0, "%s: a USBKey with two keys and their requests (%d)", kind, rc);
    if (rc != 0) return;
    es_buf c1 = t_read(csr1);
    if (c1.len >= sizeof g_csr) st_die("csr");
    memcpy(g_csr, c1.p, c1.len);
    g_csr[c1.len] = 0;
    es_buf_cleanup(&c1);
    char code[ES_SEAL_CODE_MAX] = "";
    int64_t id = approved(d, issuer, reviewer, apply_body("USBKey续期测试章"), "apply");
    seal_info si;
    ok(id && execute(d, issuer, id, code) == 200 && info_of(d, issuer, code, &si),
       "%s: a seal for the token's key (%s)", kind, code);
    char q[256], json[800];
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM applications WHERE kind = 'renew' AND state = 'submitted' AND "
             "seal_code = '%s'",
             code);
    /* Offline first: --dry-run signs and writes the request, sends nothing; the file is handed
     * in as it is (what the console's 印章续期 page posts), entered; the reviewer rejects it. */
    snprintf(json, sizeof json, "%s/renewal.json", dir);
    snprintf(cmd, sizeof cmd,
             "export SOFTSKF_DIR='%s' %s && '%s' making renew-request --dry-run -o '%s' --code %s "
             "--serial %s --key '%s' --csr '%s' --until 2041-01-01 --contact 王五",
             dir, env, g_cli, json, code, si.serial, k1, csr2);
    rc = sh(cmd, out);
    es_buf o = t_read(out);
    if (es_buf_nul(&o) != ES_OK) st_die("buf");
    ok(rc == 0 && strstr((char *)o.p, "nothing sent") && count(store, q) == 0,
       "%s: renew-request --dry-run -o FILE: signed by the token, written, nothing sent (%d)\n%s",
       kind, rc, (char *)o.p);
    es_buf_cleanup(&o);
    es_buf jb = t_read(json);
    if (es_buf_nul(&jb) != ES_OK) st_die("buf");
    json_t *handed = NULL;
    int hst = renew(d, strdup((char *)jb.p), &handed);
    int64_t hid = json_integer_value(json_object_get(handed, "application_id"));
    json_decref(handed);
    es_buf_cleanup(&jb);
    ok(hst == 201 && hid > 0 && count(store, q) == 1,
       "%s: ... the file handed in later: entered (%d)", kind, hst);
    ok(step(d, reviewer, hid, "review",
            json_pack("{s:s,s:s,s:s}", "verdict", "reject", "opinion", "联系人未确认", "pin", PIN),
            NULL) == 200 &&
           count(store, q) == 0,
       "%s: ... and rejected by the reviewer", kind);
    snprintf(cmd, sizeof cmd,
             "export SOFTSKF_DIR='%s' %s && '%s' making renew-request --url http://127.0.0.1:%u "
             "--code %s --serial %s --key '%s' --csr '%s' --until 2041-01-01 --contact 王五",
             dir, env, g_cli, d->port, code, si.serial, k1, csr2);
    rc = sh(cmd, out);
    o = t_read(out);
    if (es_buf_nul(&o) != ES_OK) st_die("buf");
    ok(rc == 0 && strstr((char *)o.p, "entered (submitted)") && count(store, q) == 1,
       "%s: eseal making renew-request --key skf:... (the token signs): entered (%d)\n%s", kind, rc,
       (char *)o.p);
    es_buf_cleanup(&o);
}

static void suite(const char *kind, const char *url)
{
    node_t d;
    char admin[65], issuer[65], reviewer[65], path[200], code[ES_SEAL_CODE_MAX] = "",
                                                         code2[ES_SEAL_CODE_MAX] = "";
    int st;
    json_t *v = NULL;
    node_init(&d, kind, "var", url);
    limits(&d, 1, 100000);
    if (node_start(&d) != 0) {
        ok(0, "%s: the node starts", kind);
        return;
    }
    const char *store = d.store;
    ok(admin_in(&d, admin), "%s: admin signs in", kind);
    ok(account(&d, admin, "issuer", "[\"seal_issuer\"]", issuer) &&
           account(&d, admin, "reviewer", "[\"reviewer\"]", reviewer),
       "%s: accounts of the making roles", kind);

    /* Two seals made here: the first on the token key g_key, the second on another key. */
    char newpem[700];
    snprintf(newpem, sizeof newpem, "%s/new-%s.pem", st_tmp(), kind);
    es_signer *other = new_key(), *newkey = new_key_pem(newpem), *stranger = new_key();
    use_key(g_key);
    int64_t id = approved(&d, issuer, reviewer, apply_body("自助续期测试章"), "apply");
    ok(id && execute(&d, issuer, id, code) == 200 && code[0], "%s: a seal is made (%s)", kind,
       code);
    use_key(other);
    id = approved(&d, issuer, reviewer, apply_body("自助续期测试章二"), "apply");
    ok(id && execute(&d, issuer, id, code2) == 200 && code2[0], "%s: a second seal (%s)", kind,
       code2);
    seal_info s1, s2;
    ok(info_of(&d, issuer, code, &s1) && info_of(&d, issuer, code2, &s2),
       "%s: their certificates (%s, %s)", kind, s1.serial, s2.serial);
    es_time now = es_time_now();

    /* A window of one day: a seal of a year or more is not due. */
    st = renew(&d, renewal_body(code, s1.serial, s1.valid_end, g_key, newkey, now, NULL, 0), &v);
    ok(st == 422 && !strcmp(err_of(v), "renewal_window"),
       "%s: outside the renewal window: 422 renewal_window (%d %s)", kind, st, err_of(v));
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM renewal_requests") == 0 &&
           count(store, "SELECT COUNT(*) FROM applications WHERE kind = 'renew'") == 0,
       "%s: ... nothing stored", kind);
    node_stop(&d);
    limits(&d, 3650, 100000);
    if (node_start(&d) != 0) {
        ok(0, "%s: the node starts again", kind);
        return;
    }
    ok(sign_in(&d, "issuer", USER_PASS, issuer) == 201 &&
           sign_in(&d, "reviewer", USER_PASS, reviewer) == 201,
       "%s: signed in again (window 3650 days)", kind);

    /* Refusals, nothing stored. */
    st = renew(&d, renewal_body(code, s1.serial, s1.valid_end, stranger, newkey, now, NULL, 0), &v);
    ok(st == 403 && !strcmp(err_of(v), "renewal_signature"),
       "%s: signed with a key that is not the seal's: 403 renewal_signature (%d %s)", kind, st,
       err_of(v));
    json_decref(v);
    st = renew(&d, renewal_body(code, s1.serial, s1.valid_end, other, newkey, now, NULL, 0), &v);
    ok(st == 403 && !strcmp(err_of(v), "renewal_signature"),
       "%s: signed with another seal's key: 403 (%d %s)", kind, st, err_of(v));
    json_decref(v);
    st = renew(&d, renewal_body(code, s2.serial, s1.valid_end, other, newkey, now, NULL, 0), &v);
    ok(st == 409 && !strcmp(err_of(v), "renewal_certificate"),
       "%s: another seal's certificate named: 409 renewal_certificate (%d %s)", kind, st,
       err_of(v));
    json_decref(v);
    st = renew(&d, renewal_body(code, s1.serial, s1.valid_end, g_key, newkey, now - 3600, NULL, 0),
               &v);
    ok(st == 400 && !strcmp(err_of(v), "renewal_time"),
       "%s: signed an hour ago: 400 renewal_time (%d %s)", kind, st, err_of(v));
    json_decref(v);
    st = renew(&d, renewal_body(code, s1.serial, s1.valid_end, g_key, newkey, now, NULL, 60), &v);
    ok(st == 400 && !strcmp(err_of(v), "renewal_format") && sget(v, "field")[0] &&
           sget(v, "message_zh")[0],
       "%s: a truncated request: 400 renewal_format naming %s (%d)", kind, sget(v, "field"), st);
    json_decref(v);
    st = renew(&d, strdup("{\"request\": 1}"), &v);
    ok(st == 400, "%s: a malformed body: 400 (%d)", kind, st);
    json_decref(v);
    st = renew(&d, renewal_body("NOSUCHSEAL", s1.serial, s1.valid_end, g_key, newkey, now, NULL, 0),
               &v);
    ok(st == 404, "%s: no such seal: 404 (%d)", kind, st);
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM renewal_requests") == 0 &&
           count(store, "SELECT COUNT(*) FROM applications WHERE kind = 'renew'") == 0,
       "%s: ... nothing stored", kind);

    /* The good request: a submitted renew application entered by the seal key. */
    char nonce[] = "0123456789abcdef0123456789abcdef";
    char *good = renewal_body(code, s1.serial, s1.valid_end, g_key, newkey, now, nonce, 0);
    char *again = strdup(good);
    st = renew(&d, good, &v);
    int64_t rid = json_integer_value(json_object_get(v, "application_id"));
    ok(st == 201 && rid > 0, "%s: a request signed with the seal's key: 201, application %lld",
       kind, (long long)rid);
    json_decref(v);
    snprintf(path, sizeof path, "/api/v1/applications/%lld", (long long)rid);
    v = jcall(&d, "GET", path, reviewer, NULL, &st);
    char who[64];
    snprintf(who, sizeof who, "self-service:%s", code);
    ok(st == 200 && !strcmp(sget(v, "application.state"), "submitted") &&
           !strcmp(sget(v, "application.kind"), "renew") &&
           !strcmp(sget(v, "application.seal_code"), code) &&
           !strcmp(sget(v, "application.created_by"), who),
       "%s: a reviewer sees it: submitted renew of %s by %s (%s)", kind, code,
       sget(v, "application.created_by"), sget(v, "application.state"));
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM renewal_requests") == 1,
       "%s: the request and its signature are kept as the evidence", kind);
    st = renew(&d, again, &v);
    ok(st == 409 && !strcmp(err_of(v), "renewal_replay"),
       "%s: the same request again: 409 renewal_replay (%d %s)", kind, st, err_of(v));
    json_decref(v);
    st = renew(&d, renewal_body(code, s1.serial, s1.valid_end, g_key, newkey, now, NULL, 0), &v);
    ok(st == 409 && !strcmp(err_of(v), "application_duplicate"),
       "%s: a second request while one is open: 409 application_duplicate (%d %s)", kind, st,
       err_of(v));
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM applications WHERE kind = 'renew'") == 1,
       "%s: ... one renew application", kind);

    /* The ordinary flow: review, execution: the same code, a new certificate for the new key. */
    ok(step(&d, reviewer, rid, "review", approve(), NULL) == 200, "%s: the reviewer approves",
       kind);
    char made[ES_SEAL_CODE_MAX] = "";
    ok(execute(&d, issuer, rid, made) == 200 && !strcmp(made, code),
       "%s: executed: the same code %s (%s)", kind, code, made);
    seal_info s1b;
    ok(info_of(&d, issuer, code, &s1b) && strcmp(s1b.serial, s1.serial) != 0 &&
           !strcmp(s1b.state, "active"),
       "%s: a new certificate (%s, was %s)", kind, s1b.serial, s1.serial);
    v = seal_get(&d, issuer, code);
    es_buf der;
    es_buf_init(&der, 16384);
    const char *pem = sget(v, "certificate");
    es_pki_cert pc;
    ok(es_cert_to_der((const uint8_t *)pem, strlen(pem), &der) == ES_OK &&
           es_pki_cert_parse(es_slice_make(der.p, der.len), &pc) == ES_OK &&
           memcmp(pc.pub, newkey->pub, sizeof pc.pub) == 0,
       "%s: ... for the request's new key", kind);
    es_buf_cleanup(&der);
    json_decref(v);
    /* The old certificate's key no longer renews the seal. */
    st = renew(&d, renewal_body(code, s1.serial, s1.valid_end, g_key, newkey, now, NULL, 0), &v);
    ok(st == 409 && !strcmp(err_of(v), "renewal_certificate"),
       "%s: the superseded certificate: 409 renewal_certificate (%d %s)", kind, st, err_of(v));
    json_decref(v);

    /* eseal making renew-request: the seal renewed again, signed with its new key's file. */
    if (g_cli) {
        char csrf[700], cmd[4096], outf[700];
        es_buf der3;
        es_buf_init(&der3, 8192);
        csr_der(stranger, &der3);
        snprintf(csrf, sizeof csrf, "%s/third-%s.csr", st_tmp(), kind);
        snprintf(outf, sizeof outf, "%s/cli-%s.out", st_tmp(), kind);
        if (es_file_write(csrf, der3.p, der3.len) != ES_OK) st_die("csr file");
        es_buf_cleanup(&der3);
        snprintf(
            cmd, sizeof cmd,
            "'%s' making renew-request --url http://127.0.0.1:%u --code %s --serial %s "
            "--key '%s' --csr '%s' --until 2040-01-01 --contact '李四 13900139000' > '%s' 2>&1",
            g_cli, d.port, code, s1b.serial, newpem, csrf, outf);
        int rc = system(cmd);
        es_buf o = t_read(outf);
        if (es_buf_nul(&o) != ES_OK) st_die("buf");
        ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 0 && strstr((char *)o.p, "entered (submitted)") &&
               count(store, "SELECT COUNT(*) FROM applications WHERE kind = 'renew' AND state = "
                            "'submitted'") == 1,
           "%s: eseal making renew-request: a submitted renew application (%d)\n%s", kind,
           WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, (char *)o.p);
        es_buf_cleanup(&o);
        rc = system(cmd);
        o = t_read(outf);
        if (es_buf_nul(&o) != ES_OK) st_die("buf");
        ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 1 && strstr((char *)o.p, "application_duplicate"),
           "%s: ... again: refused while it is open, exit 1\n%s", kind, (char *)o.p);
        es_buf_cleanup(&o);
    } else {
        fprintf(stderr, "ESEAL_CLI is not set: the CLI part is skipped\n");
        t_skipped = 1;
    }

    if (!url) usbkey_renewal(&d, issuer, reviewer, store, kind);

    /* A suspended seal is not renewed. */
    int64_t sid = approved(
        &d, issuer, reviewer,
        json_pack("{s:s,s:s,s:s}", "kind", "suspend", "seal_code", code2, "reason", "停用测试"),
        "suspend");
    char c3[ES_SEAL_CODE_MAX] = "";
    ok(sid && execute(&d, issuer, sid, c3) == 200, "%s: the second seal is suspended", kind);
    st = renew(&d, renewal_body(code2, s2.serial, s2.valid_end, other, newkey, now, NULL, 0), &v);
    ok(st == 409 && !strcmp(err_of(v), "seal_state"),
       "%s: a suspended seal: 409 seal_state (%d %s)", kind, st, err_of(v));
    json_decref(v);
    node_stop(&d);

    /* An outsider flooding the endpoint is held up per address. */
    limits(&d, 3650, 5);
    if (node_start(&d) != 0) {
        ok(0, "%s: the node starts a third time", kind);
        return;
    }
    int limited = 0;
    int64_t before = count(store, "SELECT COUNT(*) FROM renewal_requests");
    for (int i = 0; i < 20 && !limited; i++) {
        st = renew(&d, strdup("{\"request\": \"AAAA\", \"signature\": \"AAAA\"}"), NULL);
        limited = st == 429;
    }
    ok(limited, "%s: 20 requests in a row from one address: 429", kind);
    ok(before > 0 && count(store, "SELECT COUNT(*) FROM renewal_requests") == before,
       "%s: ... nothing more stored", kind);
    node_stop(&d);
    es_signer_free(other);
    es_signer_free(newkey);
    es_signer_free(stranger);
}

int main(void)
{
    unsetenv("ESEAL_PIN");
    unsetenv(ES_MAKING_PAUSE_ENV);
    signal(SIGPIPE, SIG_IGN);
    make_fixtures();
    g_cli = getenv("ESEAL_CLI");
    suite("sqlite", NULL);
    if (st_pg_ready()) suite("postgresql", st_pg_db("renewal"));
    free_fixtures();
    return t_done();
}
