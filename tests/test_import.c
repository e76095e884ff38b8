/* The import of other vendors' seals (docs/making.md "Import of other vendors' seals") through
 * its API, against a node started inside this binary on 127.0.0.1:0, on SQLite and on the
 * PostgreSQL of the "pg" fixture: every seal file of the real corpus gets the outcome its
 * verdict in EXPECTED.tsv implies (read from the file, never copied); without trust roots the
 * valid ones are refused unless the importer allows unverified seals; a seal made with the
 * test maker and checked against the test root is imported as verified; tampered and
 * truncated files are refused with nothing stored; duplicates by file, code and certificate;
 * a resumed batch; a reserved code; other roles refused; two concurrent imports of one file
 * make one seal; an imported seal takes a lifecycle application like a seal made here. */
#include "test.h"

#include <jansson.h>
#include <pthread.h>
#include <strings.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eseal/making.h"
#include "eseal/making_import.h"
#include "eseal/node.h"
#include "eseal/pki.h"
#include "eseal/renewal.h"
#include "eseal/seal.h"
#include "http_client.h"
#include "making_test.h"
#include "store_test.h"

#define VENDOR "某省政府统一电子印章制作系统"

/* ---- the corpus's seal files with their verdicts */

#define MAX_FILES 64
static struct {
    char name[256];
    char verdict[64];
    es_buf bytes;
} g_files[MAX_FILES];
static size_t g_nfiles;
static es_buf g_made, g_made2, g_made3, g_made4, g_gif, g_reserved, g_root;
static es_signer *g_key4; /* the holder key of TEST-IMPORT-0004 */

static void read_corpus(void)
{
    es_buf t = t_read(t_path("ESEAL_CORPUS", "EXPECTED.tsv"));
    if (es_buf_nul(&t) != ES_OK) st_die("EXPECTED.tsv");
    char *save = NULL;
    for (char *line = strtok_r((char *)t.p, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char file[256], sig[64], verdict[64];
        if (sscanf(line, "%255[^\t]\t%63[^\t]\t%63[^\t\n]", file, sig, verdict) != 3) continue;
        if (strncmp(file, "esl/", 4) != 0 || g_nfiles == MAX_FILES) continue;
        snprintf(g_files[g_nfiles].name, sizeof g_files[0].name, "%s", file + 4);
        snprintf(g_files[g_nfiles].verdict, sizeof g_files[0].verdict, "%s", verdict);
        g_files[g_nfiles].bytes = t_read(t_path("ESEAL_CORPUS", file));
        g_nfiles++;
    }
    es_buf_cleanup(&t);
}

/* A v4 seal made by the test maker (tests/data/maker.crt under root.crt) for the holder
 * certificate signer.crt (or other.crt), with code. */
static void make_seal_pic(const char *code, es_slice holder, const char *ptype, es_slice picture,
                          es_buf *out);

static void make_seal(const char *code, const char *holder, es_buf *out)
{
    es_buf png = t_data("seal.png"), hold = t_cert(holder);
    make_seal_pic(code, es_slice_make(hold.p, hold.len), "PNG", es_slice_make(png.p, png.len), out);
    es_buf_cleanup(&png);
    es_buf_cleanup(&hold);
}

/* The same for the holder certificate holder (DER), with a picture of type ptype (a GIF: a
 * picture the making system cannot put into a new seal). */
static void make_seal_pic(const char *code, es_slice holder, const char *ptype, es_slice picture,
                          es_buf *out)
{
    es_buf mder = t_cert("maker.crt");
    es_signer *s = t_signer("maker.key");
    es_slice certs[1] = {holder};
    es_seal_params p;
    memset(&p, 0, sizeof p);
    p.vid = "other-vendor";
    p.es_id = code;
    p.type = 1;
    p.name = "测试导入专用章";
    p.signer_certs = certs;
    p.n_signer_certs = 1;
    p.create_date = ES_TIME_NONE;
    p.valid_start = es_time_now() - 86400;
    p.valid_end = es_time_now() + 365 * 86400;
    p.picture_type = ptype;
    p.picture = picture;
    p.width_mm = 40;
    p.height_mm = 40;
    p.maker_cert = es_slice_make(mder.p, mder.len);
    es_buf_init(out, 1u << 20);
    if (es_seal_make(&p, s, out) != ES_OK) st_die("es_seal_make");
    es_signer_free(s);
    es_buf_cleanup(&mder);
}

/* A holder certificate under the test root (root.key) for a fresh key (returned as a signer),
 * its subject O a valid unified social credit code and the unit's name, CN the seal's code:
 * what another vendor's system issues to a unit. The DER in *out. */
static es_signer *holder_cert(const char *code, es_buf *out)
{
    es_sm2_key *k = NULL;
    es_signer *key = NULL, *root = t_signer("root.key");
    es_buf rootc = t_cert("root.crt");
    es_pki_cert rc;
    es_pki_tbs t;
    es_profile prof;
    es_name n;
    char subj[300], why[200] = "";
    memset(&t, 0, sizeof t);
    memset(&prof, 0, sizeof prof);
    snprintf(subj, sizeof subj, "/C=CN/O=11370306MB2867521U淄博市张店区人力资源和社会保障局/CN=%s",
             code);
    if (es_sm2_key_generate(&k) != ES_OK || es_signer_from_key(k, &key) != ES_OK ||
        es_pki_name_parse(subj, &n, why, sizeof why) != ES_OK ||
        es_pki_cert_parse(es_slice_make(rootc.p, rootc.len), &rc) != ES_OK)
        st_die("holder certificate: %s", why);
    es_sm2_key_pub(k, t.pub);
    t.profile = &prof;
    t.serial_len = 16;
    if (es_random(t.serial, t.serial_len) != ES_OK) st_die("random");
    t.serial[0] = (uint8_t)((t.serial[0] & 0x7f) | 0x40);
    t.issuer = rc.subject;
    t.subject = &n;
    t.not_before = es_time_now() - 86400;
    t.not_after = es_time_now() + 400 * 86400;
    es_buf_init(out, 8192);
    if (es_pki_cert_make(&t, root, out) != ES_OK) st_die("holder certificate");
    es_signer_free(root);
    es_buf_cleanup(&rootc);
    return key;
}

/* ---- import requests */

static json_t *file_json(const char *name, const es_buf *b)
{
    es_buf e;
    es_buf_init(&e, 4u << 20);
    if (es_base64_encode(b->p, b->len, &e) != ES_OK || es_buf_nul(&e) != ES_OK) st_die("b64");
    json_t *f = json_pack("{s:s,s:s}", "name", name, "data", (const char *)e.p);
    es_buf_cleanup(&e);
    return f;
}

static json_t *b64_json(const es_buf *b)
{
    es_buf e;
    es_buf_init(&e, 4u << 20);
    if (es_base64_encode(b->p, b->len, &e) != ES_OK || es_buf_nul(&e) != ES_OK) st_die("b64");
    json_t *s = json_string((const char *)e.p);
    es_buf_cleanup(&e);
    return s;
}

/* A request of files (steals files), allowing unverified seals or not, with roots or not. */
static json_t *request(json_t *files, int allow, int with_root, int64_t resume)
{
    json_t *o = json_pack("{s:s,s:o,s:b,s:s}", "vendor", VENDOR, "files", files, "allow_unverified",
                          allow, "pin", PIN);
    if (with_root) json_object_set_new(o, "roots", json_pack("[o]", b64_json(&g_root)));
    if (resume) json_object_set_new(o, "resume", json_integer(resume));
    return o;
}

static json_t *corpus_files(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < g_nfiles; i++)
        json_array_append_new(a, file_json(g_files[i].name, &g_files[i].bytes));
    return a;
}

static const json_t *item_of(const json_t *rep, const char *name)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(json_object_get(rep, "import"), "items"), i,
                       it) if (!strcmp(sget(it, "name"), name)) return it;
    return NULL;
}

static int64_t import_id(const json_t *rep)
{
    return json_integer_value(json_object_get(json_object_get(rep, "import"), "id"));
}

static int64_t rep_int(const json_t *rep, const char *k)
{
    return json_integer_value(json_object_get(json_object_get(rep, "import"), k));
}

/* The reasons a verdict of EXPECTED.tsv allows for a refused file. */
static int refusal_fits(const char *verdict, const char *reason)
{
    if (!strncmp(verdict, "valid", 5)) return !strcmp(reason, "maker_chain");
    if (!strcmp(verdict, "unparseable")) return !strcmp(reason, "format");
    if (!strcmp(verdict, "no-signature") || !strcmp(verdict, "invalid:seal_signature"))
        return !strcmp(reason, "maker_signature") || !strcmp(reason, "format");
    return 0;
}

typedef struct race {
    const node_t *d;
    const char *tok;
    int st;
    char outcome[16];
} race;

static void *race_run(void *arg)
{
    race *r = arg;
    json_t *v = jcall(r->d, "POST", "/api/v1/seals/imports", r->tok,
                      request(json_pack("[o]", file_json("race.esl", &g_made2)), 0, 1, 0), &r->st);
    const json_t *it = item_of(v, "race.esl");
    snprintf(r->outcome, sizeof r->outcome, "%s", it ? sget(it, "outcome") : "");
    json_decref(v);
    return NULL;
}

/* eseal making import against the node: a directory with one good and one truncated file. */
static void cli_import(const node_t *d, const char *tok, const char *kind)
{
    if (!g_cli) {
        fprintf(stderr, "ESEAL_CLI is not set: the CLI part is skipped\n");
        t_skipped = 1;
        return;
    }
    char dir[700], f1[800], f2[800], out[800], cmd[4096];
    snprintf(dir, sizeof dir, "%s/cli-%s", st_tmp(), kind);
    snprintf(f1, sizeof f1, "%s/a.esl", dir);
    snprintf(f2, sizeof f2, "%s/b.esl", dir);
    snprintf(out, sizeof out, "%s.out", dir);
    if (mkdir(dir, 0700) != 0 || es_file_write(f1, g_made3.p, g_made3.len) != ES_OK ||
        es_file_write(f2, g_made3.p, g_made3.len / 3) != ES_OK)
        st_die("cannot write %s", dir);
    snprintf(cmd, sizeof cmd,
             "ESEAL_PIN=%s '%s' making import --url http://127.0.0.1:%u --token %s --vendor "
             "'%s' --root '%s' '%s' > '%s' 2>&1",
             PIN, g_cli, d->port, tok, VENDOR, t_path("ESEAL_TESTDATA", "root.crt"), dir, out);
    int rc = system(cmd);
    es_buf o = t_read(out);
    if (es_buf_nul(&o) != ES_OK) st_die("buf");
    ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 1 &&
           strstr((char *)o.p, "imported  a.esl TEST-IMPORT-0003") &&
           strstr((char *)o.p, "refused   b.esl") && strstr((char *)o.p, "batch 1/1"),
       "%s: eseal making import: a.esl imported, b.esl refused, exit 1 (%d)\n%s", kind,
       WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, (char *)o.p);
    es_buf_cleanup(&o);
    snprintf(cmd, sizeof cmd,
             "ESEAL_PIN=%s '%s' making import --url http://127.0.0.1:%u --token %s --vendor "
             "'%s' '%s' > '%s' 2>&1",
             PIN, g_cli, d->port, tok, VENDOR, f1, out);
    rc = system(cmd);
    o = t_read(out);
    if (es_buf_nul(&o) != ES_OK) st_die("buf");
    ok(WIFEXITED(rc) && WEXITSTATUS(rc) == 0 && strstr((char *)o.p, "duplicate a.esl"),
       "%s: eseal making import again: a duplicate, exit 0 (%d)\n%s", kind,
       WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, (char *)o.p);
    es_buf_cleanup(&o);
}

/* ---- the lifecycle of an imported seal: its picture came with it */

/* Lets the site's seal profile (var/ca/profiles.conf, docs/ca.md code_pattern) admit the
 * imported seals' codes besides its own, as a site renewing another vendor's seals under
 * their codes would; the node is started again to read it. */
static int profile_admits(node_t *d)
{
    char path[700];
    snprintf(path, sizeof path, "%s/ca/profiles.conf", d->var);
    es_buf t = t_read(path);
    if (es_buf_nul(&t) != ES_OK) st_die("profiles.conf");
    static const char old[] = "code_pattern = ^RS[0-9]{14}$";
    char *at = strstr((char *)t.p, old);
    if (!at) return 0;
    es_buf n;
    es_buf_init(&n, 1u << 20);
    if (es_buf_append(&n, t.p, (size_t)(at - (char *)t.p)) != ES_OK ||
        es_buf_printf(&n, "code_pattern = ^(RS[0-9]{14}|TEST-IMPORT-[0-9]{4})$") != ES_OK ||
        es_buf_printf(&n, "%s", at + sizeof old - 1) != ES_OK ||
        es_file_write(path, n.p, n.len) != ES_OK)
        st_die("profiles.conf");
    es_buf_cleanup(&n);
    es_buf_cleanup(&t);
    node_stop(d);
    return node_start(d) == 0;
}

/* The JSON body of a self-service renewal request of code (serial, valid_end: the seal's
 * current ones) signed with the holder's key, for a new key. */
static char *renewal_body(const char *code, const char *serial, es_time valid_end,
                          es_signer *holder)
{
    es_renewal_req r;
    es_buf text, sig, b1, b2;
    es_sm2_key *nk = NULL;
    es_signer *newkey = NULL;
    es_name n;
    char why[200];
    uint8_t nonce[16];
    es_renewal_req_init(&r);
    es_buf_init(&text, ES_RENEWAL_MAX);
    es_buf_init(&sig, 256);
    es_buf_init(&b1, 2 * ES_RENEWAL_MAX);
    es_buf_init(&b2, 1024);
    snprintf(r.code, sizeof r.code, "%s", code);
    snprintf(r.serial, sizeof r.serial, "%s", serial);
    r.valid_until = valid_end + 2 * 365 * 86400;
    snprintf(r.contact, sizeof r.contact, "李四 13900139000");
    r.time = es_time_now();
    if (es_random(nonce, sizeof nonce) != ES_OK) st_die("random");
    es_hex_encode(nonce, sizeof nonce, r.nonce);
    if (es_sm2_key_generate(&nk) != ES_OK || es_signer_from_key(nk, &newkey) != ES_OK ||
        es_pki_name_parse("/C=CN/CN=imported-renewal", &n, why, sizeof why) != ES_OK ||
        es_pki_csr_make(&n, NULL, 0, newkey, &r.csr) != ES_OK)
        st_die("csr");
    if (es_renewal_text(&r, &text) != ES_OK ||
        es_signer_sign_message(holder, ES_SM2_DEFAULT_ID, text.p, text.len, &sig) != ES_OK ||
        es_base64_encode(text.p, text.len, &b1) != ES_OK || es_buf_nul(&b1) != ES_OK ||
        es_base64_encode(sig.p, sig.len, &b2) != ES_OK || es_buf_nul(&b2) != ES_OK)
        st_die("renewal request");
    json_t *o =
        json_pack("{s:s,s:s}", "request", (const char *)b1.p, "signature", (const char *)b2.p);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    es_signer_free(newkey);
    es_renewal_req_free(&r);
    es_buf_cleanup(&text);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&b1);
    es_buf_cleanup(&b2);
    return body;
}

static es_err blob_cb(void *ctx, const es_row *r)
{
    es_slice b = es_row_blob(r, 0);
    return es_buf_append(ctx, b.p, b.len);
}

/* The seal's current certificate serial and validity end (0 when it cannot be read). */
static es_time seal_serial(const node_t *d, const char *tok, const char *code, char serial[64])
{
    char path[128];
    int st;
    es_time end = 0;
    snprintf(path, sizeof path, "/api/v1/seals/%s", code);
    json_t *v = jcall(d, "GET", path, tok, NULL, &st);
    const json_t *s = json_object_get(v, "seal");
    snprintf(serial, 64, "%s", sget(s, "cert_serial"));
    if (st != 200 || es_time_parse_iso(sget(s, "valid_end"), &end) != ES_OK) end = 0;
    json_decref(v);
    return end;
}

/* TEST-IMPORT-0004 (a PNG picture, 40 x 40 mm; its holder certificate names a valid credit
 * code) is renewed by its holder online, reviewed and executed: a new seal under the same
 * code (the site's seal profile admits the TEST-IMPORT- codes: see profile_admits), with the
 * imported picture; TEST-IMPORT-0005 (a GIF picture) is refused with seal_picture_unusable
 * and nothing stored. */
static void imported_renewal(const node_t *d, const char *issuer, const char *reviewer,
                             const char *store, const char *kind)
{
    char serial[64], path[200], q[400];
    int st;
    json_t *v = jcall(d, "POST", "/api/v1/seals/imports", issuer,
                      request(json_pack("[o]", file_json("made4.esl", &g_made4)), 0, 1, 0), &st);
    const json_t *it = item_of(v, "made4.esl");
    ok(st == 201 && it && !strcmp(sget(it, "outcome"), "imported"),
       "%s: a seal whose holder certificate names a valid credit code is imported (%s %s)", kind,
       it ? sget(it, "outcome") : "", it ? sget(it, "reason") : "");
    json_decref(v);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM applications a JOIN seals s ON s.application_id = a.id WHERE "
             "s.code = 'TEST-IMPORT-0004' AND a.picture IS NOT NULL AND a.width_mm = 40 AND "
             "a.height_mm = 40");
    ok(count(store, q) == 1,
       "%s: the imported seal's standing application holds its PNG picture, 40 x 40 mm", kind);
    es_time end = seal_serial(d, issuer, "TEST-IMPORT-0004", serial);
    t_resp r;
    char *body = renewal_body("TEST-IMPORT-0004", serial, end, g_key4);
    st = call(d, "POST", "/api/v1/renewals", NULL, body, &r);
    v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    if (st != 201) fprintf(stderr, "  renewal: %d %.*s\n", st, (int)r.body.len, r.body.p);
    t_resp_free(&r);
    free(body);
    int64_t id = json_integer_value(json_object_get(v, "application_id"));
    json_decref(v);
    ok(st == 201 && id > 0, "%s: the holder renews the imported seal online: 201 (%d)", kind, st);
    snprintf(path, sizeof path, "/api/v1/applications/%lld/review", (long long)id);
    json_decref(jcall(d, "POST", path, reviewer,
                      json_pack("{s:s,s:s,s:s}", "verdict", "approve", "opinion",
                                "导入印章续期，同意", "pin", PIN),
                      &st));
    ok(st == 200, "%s: ... reviewed (%d)", kind, st);
    snprintf(path, sizeof path, "/api/v1/applications/%lld/execute", (long long)id);
    v = jcall(d, "POST", path, issuer, json_pack("{s:s}", "pin", PIN), &st);
    const char *made = sget(json_object_get(v, "application"), "made_code");
    ok(st == 200 && !strcmp(made, "TEST-IMPORT-0004"),
       "%s: ... executed: a new seal under the same code (%d %s)", kind, st, made);
    json_decref(v);
    char serial2[64];
    es_time end2 = seal_serial(d, issuer, "TEST-IMPORT-0004", serial2);
    ok(serial2[0] && strcmp(serial, serial2) != 0 && end2 > end,
       "%s: ... with a new certificate (%s, was %s) and a later end", kind, serial2, serial);
    /* The new seal's file carries the imported picture, 40 x 40 mm. */
    es_buf png = t_data("seal.png"), esl;
    es_buf_init(&esl, 1u << 20);
    es_value p[2] = {es_v_text("TEST-IMPORT-0004"), es_v_text(serial2)};
    es_store *sst = NULL;
    int same = 0;
    if (es_store_open(store, &sst) == ES_OK &&
        es_store_query(sst, "SELECT esl FROM seal_certs WHERE code = ? AND cert_serial = ?", p, 2,
                       blob_cb, &esl) == ES_OK) {
        es_seal s;
        same = es_seal_from_der(es_slice_make(esl.p, esl.len), 0, &s) == ES_OK &&
               s.picture.len == png.len && !memcmp(s.picture.p, png.p, png.len) &&
               s.picture_width == 40 && s.picture_height == 40 && s.es_id.len == 16 &&
               !memcmp(s.es_id.p, "TEST-IMPORT-0004", 16);
    }
    es_store_close(sst);
    ok(same, "%s: ... and the new seal carries the imported picture, 40 x 40 mm", kind);
    es_buf_cleanup(&esl);
    es_buf_cleanup(&png);

    /* A GIF picture: not kept; the online renewal is refused with its reason, nothing stored. */
    v = jcall(d, "POST", "/api/v1/seals/imports", issuer,
              request(json_pack("[o]", file_json("gif.esl", &g_gif)), 0, 1, 0), &st);
    it = item_of(v, "gif.esl");
    ok(st == 201 && it && !strcmp(sget(it, "outcome"), "imported"),
       "%s: a seal with a GIF picture is imported (%s %s)", kind, it ? sget(it, "outcome") : "",
       it ? sget(it, "reason") : "");
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM audit WHERE action = 'seal.import' AND object = "
                    "'seal:TEST-IMPORT-0005' AND detail LIKE '%picture=GIF%'") == 1,
       "%s: ... its audit record says the picture (GIF) is not kept", kind);
    end = seal_serial(d, issuer, "TEST-IMPORT-0005", serial);
    int64_t apps = count(store, "SELECT COUNT(*) FROM applications");
    int64_t reqs = count(store, "SELECT COUNT(*) FROM renewal_requests");
    es_signer *rk = t_signer("root.key");
    body = renewal_body("TEST-IMPORT-0005", serial, end, rk);
    es_signer_free(rk);
    st = call(d, "POST", "/api/v1/renewals", NULL, body, &r);
    v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    t_resp_free(&r);
    free(body);
    ok(st == 422 && !strcmp(sget(v, "error"), "seal_picture_unusable") &&
           strstr(sget(v, "message"), "PNG") && strstr(sget(v, "message_zh"), "PNG"),
       "%s: ... its online renewal: 422 seal_picture_unusable, in Chinese too (%d %s)", kind, st,
       sget(v, "error"));
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM applications") == apps &&
           count(store, "SELECT COUNT(*) FROM renewal_requests") == reqs,
       "%s: ... and nothing is stored", kind);
    /* TEST-IMPORT-0001: its holder certificate's O is no valid credit code, so the standing
     * application has none and a new certificate could not carry one: refused at once, not
     * after a review. */
    end = seal_serial(d, issuer, "TEST-IMPORT-0001", serial);
    es_signer *sk = t_signer("signer.key");
    body = renewal_body("TEST-IMPORT-0001", serial, end, sk);
    es_signer_free(sk);
    st = call(d, "POST", "/api/v1/renewals", NULL, body, &r);
    v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    t_resp_free(&r);
    free(body);
    ok(st == 422 && !strcmp(sget(v, "error"), "seal_unit_code_missing") &&
           strstr(sget(v, "message_zh"), "统一社会信用代码") &&
           count(store, "SELECT COUNT(*) FROM applications") == apps &&
           count(store, "SELECT COUNT(*) FROM renewal_requests") == reqs,
       "%s: an imported seal without a credit code: its online renewal 422 "
       "seal_unit_code_missing, nothing stored (%d %s)",
       kind, st, sget(v, "error"));
    json_decref(v);
}

static void suite(const char *kind, const char *url)
{
    node_t d;
    char admin[65], issuer[65], issuer2[65], reviewer[65], outsider[65], auditor[65], path[200];
    int st;
    node_init(&d, kind, "var", url);
    snprintf(d.extra, sizeof d.extra, "[making]\nrenewal_window_days = 3650\n");
    if (node_start(&d) != 0) {
        ok(0, "%s: the node starts", kind);
        return;
    }
    ok(profile_admits(&d), "%s: the seal profile admits the imported codes (node restarted)", kind);
    const char *store = d.store;
    ok(admin_in(&d, admin), "%s: admin signs in", kind);
    ok(account(&d, admin, "issuer", "[\"seal_issuer\"]", issuer) &&
           account(&d, admin, "issuer2", "[\"seal_issuer\"]", issuer2) &&
           account(&d, admin, "reviewer", "[\"reviewer\"]", reviewer) &&
           account(&d, admin, "operator1", "[\"operator\"]", outsider),
       "%s: accounts of the making roles", kind);
    ok(auditor_in(&d, auditor), "%s: the auditor signs in", kind);

    /* Who may import. */
    json_decref(
        jcall(&d, "POST", "/api/v1/seals/imports", NULL, request(corpus_files(), 1, 0, 0), &st));
    ok(st == 401, "%s: no session: 401 (%d)", kind, st);
    json_decref(jcall(&d, "POST", "/api/v1/seals/imports", reviewer,
                      request(corpus_files(), 1, 0, 0), &st));
    ok(st == 403, "%s: a reviewer cannot import: 403 (%d)", kind, st);
    json_decref(jcall(&d, "POST", "/api/v1/seals/imports", outsider,
                      request(corpus_files(), 1, 0, 0), &st));
    ok(st == 403, "%s: an operator cannot import: 403 (%d)", kind, st);
    ok(count(store, "SELECT COUNT(*) FROM seal_imports") == 0 &&
           count(store, "SELECT COUNT(*) FROM seals") == 0,
       "%s: ... and nothing is stored", kind);

    /* Bad requests: named fields, nothing stored. */
    json_t *bad = request(corpus_files(), 1, 0, 0);
    json_object_set_new(bad, "vendor", json_string(""));
    json_t *v = jcall(&d, "POST", "/api/v1/seals/imports", issuer, bad, &st);
    ok(st == 400 && !strcmp(sget(v, "field"), "vendor") && sget(v, "message_zh")[0],
       "%s: no vendor: 400 naming vendor, in Chinese too (%d %s)", kind, st, sget(v, "field"));
    json_decref(v);
    v = jcall(&d, "POST", "/api/v1/seals/imports", issuer,
              request(json_pack("[{s:s,s:s}]", "name", "x.esl", "data", "@@@not base64"), 1, 0, 0),
              &st);
    ok(st == 400 && !strcmp(sget(v, "field"), "files"), "%s: data not base64: 400 files (%d)", kind,
       st);
    json_decref(v);
    bad = request(corpus_files(), 1, 0, 0);
    json_object_set_new(bad, "pin", json_string("000000"));
    json_decref(jcall(&d, "POST", "/api/v1/seals/imports", issuer, bad, &st));
    ok(st == 403, "%s: a wrong signing PIN: 403 (%d)", kind, st);
    ok(count(store, "SELECT COUNT(*) FROM seals") == 0 &&
           count(store, "SELECT COUNT(*) FROM seal_import_files") == 0,
       "%s: ... nothing imported", kind);

    /* The corpus without trust roots and without the flag: the valid ones are refused for
     * their chain, the others for what EXPECTED.tsv says is wrong with them. */
    v = jcall(&d, "POST", "/api/v1/seals/imports", issuer, request(corpus_files(), 0, 0, 0), &st);
    ok(st == 201 && rep_int(v, "files") == (int64_t)g_nfiles &&
           rep_int(v, "refused") == (int64_t)g_nfiles,
       "%s: the corpus unverified and not allowed: every one of %zu refused (%d)", kind, g_nfiles,
       st);
    for (size_t i = 0; i < g_nfiles; i++) {
        const json_t *it = item_of(v, g_files[i].name);
        ok(it && !strcmp(sget(it, "outcome"), "refused") &&
               refusal_fits(g_files[i].verdict, sget(it, "reason")) && sget(it, "message_zh")[0],
           "%s: %s (%s) refused: %s", kind, g_files[i].name, g_files[i].verdict,
           it ? sget(it, "reason") : "(missing)");
    }
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM seals") == 0, "%s: ... no seal stored", kind);

    /* With the flag: every valid seal imported (or a duplicate of another by its certificate:
     * a certificate serves one seal), recorded as unverified; the others refused. */
    v = jcall(&d, "POST", "/api/v1/seals/imports", issuer, request(corpus_files(), 1, 0, 0), &st);
    int64_t batch = import_id(v);
    int64_t imported = 0, invalid = 0;
    for (size_t i = 0; i < g_nfiles; i++) {
        const json_t *it = item_of(v, g_files[i].name);
        const char *o = it ? sget(it, "outcome") : "";
        if (!strncmp(g_files[i].verdict, "valid", 5)) {
            int good = (!strcmp(o, "imported") && json_is_false(json_object_get(it, "verified")) &&
                        sget(it, "code")[0]) ||
                       (!strcmp(o, "duplicate") && !strcmp(sget(it, "reason"), "same_certificate"));
            imported += !strcmp(o, "imported");
            ok(good, "%s: %s imported unverified (%s %s %s)", kind, g_files[i].name, o,
               it ? sget(it, "reason") : "", it ? sget(it, "code") : "");
        } else {
            invalid++;
            ok(!strcmp(o, "refused") && refusal_fits(g_files[i].verdict, sget(it, "reason")),
               "%s: %s still refused (%s)", kind, g_files[i].name, o);
        }
    }
    /* Each imported corpus seal's standing application holds its picture exactly when the
     * file's picture is a PNG (by its bytes) of 10 to 100 mm, at the file's size (read from
     * the file, never copied here). */
    int64_t kept = 0, pics_right = 0, pics = 0;
    for (size_t i = 0; i < g_nfiles; i++) {
        const json_t *it = item_of(v, g_files[i].name);
        if (!it || strcmp(sget(it, "outcome"), "imported") != 0) continue;
        es_seal sf;
        if (es_seal_from_der(es_slice_make(g_files[i].bytes.p, g_files[i].bytes.len), 0, &sf) !=
            ES_OK)
            continue;
        const char *sn = es_picture_sniff(sf.picture);
        int png = sn && !strcmp(sn, "PNG") && sf.picture_type.len == 3 &&
                  !strncasecmp((const char *)sf.picture_type.p, "png", 3) &&
                  sf.picture_width >= 10 && sf.picture_width <= 100 && sf.picture_height >= 10 &&
                  sf.picture_height <= 100;
        char q[400];
        snprintf(q, sizeof q,
                 "SELECT COUNT(*) FROM applications a JOIN seals s ON s.application_id = a.id "
                 "WHERE s.code = '%.64s' AND a.picture IS NOT NULL AND a.width_mm = %ld AND "
                 "a.height_mm = %ld",
                 sget(it, "code"), sf.picture_width, sf.picture_height);
        pics++;
        kept += png;
        pics_right += count(store, q) == png;
    }
    ok(pics > 0 && pics_right == pics && kept >= 3,
       "%s: the corpus seals' PNG pictures kept on their standing applications at their size "
       "(%lld of %lld imported, %lld right)",
       kind, (long long)kept, (long long)pics, (long long)pics_right);
    ok(st == 201 && imported >= 8 && rep_int(v, "imported") == imported &&
           rep_int(v, "refused") == invalid,
       "%s: %lld corpus seals imported, %lld refused (%d)", kind, (long long)imported,
       (long long)invalid, st);
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM seals WHERE source = 'imported' AND verified = 0 AND "
                    "state = 'active'") == imported &&
           count(store, "SELECT COUNT(*) FROM seal_certs") == imported &&
           count(store, "SELECT COUNT(*) FROM status_events WHERE reason = 'imported'") ==
               imported &&
           count(store, "SELECT COUNT(*) FROM applications WHERE state = 'made'") == imported,
       "%s: one seal, certificate, status event and application per imported file", kind);
    snprintf(path, sizeof path, "/api/v1/seals/imports/%lld", (long long)batch);
    v = jcall(&d, "GET", path, reviewer, NULL, &st);
    ok(st == 200 && rep_int(v, "imported") == imported && rep_int(v, "done") == (int64_t)g_nfiles &&
           json_integer_value(json_object_get(json_object_get(v, "import"), "decision")) > 0,
       "%s: the report reads back, with the importer's signed decision (%d)", kind, st);
    json_decref(v);
    json_decref(jcall(&d, "GET", path, outsider, NULL, &st));
    ok(st == 403, "%s: an operator cannot read the report: 403", kind);
    json_decref(jcall(&d, "GET", "/api/v1/seals/imports/999999", issuer, NULL, &st));
    ok(st == 404, "%s: no such batch: 404", kind);

    /* Resumed: nothing done twice. */
    v = jcall(&d, "POST", "/api/v1/seals/imports", issuer, request(corpus_files(), 1, 0, batch),
              &st);
    ok(st == 200 && rep_int(v, "imported") == imported &&
           count(store, "SELECT COUNT(*) FROM seals") == imported,
       "%s: the batch resumed: nothing done twice (%d)", kind, st);
    json_decref(v);
    v = jcall(&d, "POST", "/api/v1/seals/imports", issuer,
              request(json_pack("[o]", file_json("other.esl", &g_made)), 1, 0, batch), &st);
    ok(st == 409 && !strcmp(sget(v, "error"), "import_batch_mismatch"),
       "%s: resumed with other files: 409 import_batch_mismatch (%d)", kind, st);
    json_decref(v);
    json_decref(jcall(&d, "POST", "/api/v1/seals/imports", issuer2,
                      request(corpus_files(), 1, 0, batch), &st));
    ok(st == 409, "%s: another person's batch: 409 (%d)", kind, st);

    /* Again in a new batch: duplicates, not an error of the batch. */
    v = jcall(&d, "POST", "/api/v1/seals/imports", issuer, request(corpus_files(), 1, 0, 0), &st);
    ok(st == 201 && rep_int(v, "imported") == 0 && rep_int(v, "duplicates") >= imported,
       "%s: re-imported: %lld duplicates, none imported (%d)", kind,
       (long long)rep_int(v, "duplicates"), st);
    const json_t *it0 = item_of(v, g_files[1].name);
    ok(it0 &&
           (!strcmp(sget(it0, "reason"), "same_file") || !strcmp(sget(it0, "outcome"), "refused")),
       "%s: ... by its file (%s)", kind, it0 ? sget(it0, "reason") : "");
    json_decref(v);

    /* Tampered and truncated files: refused, nothing stored. */
    int64_t before = count(store, "SELECT COUNT(*) FROM seals");
    es_buf tampered, truncated;
    es_buf_init(&tampered, 1u << 20);
    es_buf_init(&truncated, 1u << 20);
    if (es_buf_append(&tampered, g_made.p, g_made.len) != ES_OK ||
        es_buf_append(&truncated, g_made.p, g_made.len / 2) != ES_OK)
        st_die("buf");
    tampered.p[tampered.len - 40] ^= 0x01; /* in the maker's signature */
    v = jcall(&d, "POST", "/api/v1/seals/imports", issuer,
              request(json_pack("[o,o]", file_json("tampered.esl", &tampered),
                                file_json("truncated.esl", &truncated)),
                      1, 1, 0),
              &st);
    const json_t *t1 = item_of(v, "tampered.esl"), *t2 = item_of(v, "truncated.esl");
    ok(st == 201 && t1 && !strcmp(sget(t1, "outcome"), "refused") && t2 &&
           !strcmp(sget(t2, "reason"), "format"),
       "%s: tampered (%s) and truncated (%s) refused", kind, t1 ? sget(t1, "reason") : "",
       t2 ? sget(t2, "reason") : "");
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM seals") == before, "%s: ... nothing stored", kind);
    es_buf_cleanup(&tampered);
    es_buf_cleanup(&truncated);

    /* Verified against the roots given; a reserved code; the same certificate twice. */
    v = jcall(&d, "POST", "/api/v1/seals/imports", issuer,
              request(json_pack("[o,o]", file_json("made.esl", &g_made),
                                file_json("reserved.esl", &g_reserved)),
                      0, 1, 0),
              &st);
    const json_t *m1 = item_of(v, "made.esl"), *m2 = item_of(v, "reserved.esl");
    ok(st == 201 && m1 && !strcmp(sget(m1, "outcome"), "imported") &&
           json_is_true(json_object_get(m1, "verified")) &&
           json_is_false(json_object_get(m1, "expired")) &&
           !strcmp(sget(m1, "code"), "TEST-IMPORT-0001"),
       "%s: a seal whose maker chains to the root given: imported, verified (%s %s)", kind,
       m1 ? sget(m1, "outcome") : "", m1 ? sget(m1, "reason") : "");
    ok(m2 && !strcmp(sget(m2, "reason"), "code_reserved"),
       "%s: a code in this system's own industry space: refused (%s)", kind,
       m2 ? sget(m2, "reason") : "");
    json_decref(v);
    v = jcall(&d, "GET", "/api/v1/seals/TEST-IMPORT-0001", reviewer, NULL, &st);
    ok(st == 200 && !strcmp(sget(json_object_get(v, "seal"), "state"), "active") &&
           !strcmp(sget(json_object_get(v, "seal"), "source"), "imported") &&
           !strcmp(sget(json_object_get(v, "seal"), "vendor"), VENDOR) &&
           json_is_true(json_object_get(json_object_get(v, "seal"), "verified")),
       "%s: the imported seal is in the registry: source imported, vendor, verified (%d)", kind,
       st);
    json_decref(v);

    /* Two concurrent imports of one file: one seal. */
    race r[2] = {{&d, issuer, 0, ""}, {&d, issuer2, 0, ""}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, race_run, &r[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    int imp = !strcmp(r[0].outcome, "imported") + !strcmp(r[1].outcome, "imported");
    int dup = !strcmp(r[0].outcome, "duplicate") + !strcmp(r[1].outcome, "duplicate");
    ok(r[0].st == 201 && r[1].st == 201 && imp == 1 && dup == 1 &&
           count(store, "SELECT COUNT(*) FROM seals WHERE code = 'TEST-IMPORT-0002'") == 1,
       "%s: two concurrent imports of one file: one imported, one duplicate (%s, %s)", kind,
       r[0].outcome, r[1].outcome);

    /* An imported seal takes the lifecycle like one made here. */
    v = jcall(&d, "POST", "/api/v1/applications", issuer,
              json_pack("{s:s,s:s,s:s}", "kind", "suspend", "seal_code", "TEST-IMPORT-0001",
                        "reason", "导入后停用测试"),
              &st);
    ok(st == 201, "%s: a suspension of an imported seal is entered (%d)", kind, st);
    json_decref(v);

    imported_renewal(&d, issuer, reviewer, store, kind);
    cli_import(&d, issuer, kind);

    v = jcall(&d, "GET", "/api/v1/audit/verify", auditor, NULL, &st);
    ok(st == 200 && json_is_true(json_object_get(v, "intact")),
       "%s: the audit trail verifies after the imports", kind);
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM audit WHERE action = 'seal.import'") ==
           count(store, "SELECT COUNT(*) FROM seals WHERE source = 'imported'"),
       "%s: one seal.import audit record per imported seal", kind);
    node_stop(&d);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    read_corpus();
    g_root = t_data("root.crt");
    make_seal("TEST-IMPORT-0001", "signer.crt", &g_made);
    make_seal("TEST-IMPORT-0002", "other.crt", &g_made2);
    make_seal("RS44030500000001", "maker.crt", &g_reserved);
    make_seal("TEST-IMPORT-0003", "maker.crt", &g_made3);
    {
        /* A GIF of one pixel (header, screen, colour table, image, trailer); a holder
         * certificate with a valid credit code for TEST-IMPORT-0004. */
        static const char gif[] =
            "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
            "\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";
        es_buf rc = t_cert("root.crt"), png = t_data("seal.png"), h4;
        make_seal_pic("TEST-IMPORT-0005", es_slice_make(rc.p, rc.len), "GIF",
                      es_slice_make((const uint8_t *)gif, sizeof gif - 1), &g_gif);
        g_key4 = holder_cert("TEST-IMPORT-0004", &h4);
        make_seal_pic("TEST-IMPORT-0004", es_slice_make(h4.p, h4.len), "PNG",
                      es_slice_make(png.p, png.len), &g_made4);
        es_buf_cleanup(&rc);
        es_buf_cleanup(&png);
        es_buf_cleanup(&h4);
    }
    g_cli = getenv("ESEAL_CLI");
    ok(g_nfiles >= 10, "the corpus has %zu seal files with verdicts", g_nfiles);
    suite("sqlite", NULL);
    if (st_pg_ready()) suite("postgresql", st_pg_db("import"));
    for (size_t i = 0; i < g_nfiles; i++) es_buf_cleanup(&g_files[i].bytes);
    es_buf_cleanup(&g_made);
    es_buf_cleanup(&g_made2);
    es_buf_cleanup(&g_reserved);
    es_buf_cleanup(&g_made3);
    es_buf_cleanup(&g_gif);
    es_buf_cleanup(&g_made4);
    es_signer_free(g_key4);
    es_buf_cleanup(&g_root);
    return t_done();
}
