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
/* For tests/making_test.h: the nodes log errors only (an upstream down is expected here);
 * apply_body asks for national seals. */
#define MT_LOG_LEVEL "error"
#define MT_SCOPE     "national"

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
#include "making_test.h"
#include "store_test.h"

#define SITE_PIN "national-flow-PIN-2026"

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
    char code[ES_SEAL_CODE_MAX], path[300];
    int st;
    node_init(&sim, kind, "sim", sim_url);
    snprintf(sim.extra, sizeof sim.extra, "[server]\ntier = national-simulator\n");
    node_init(&city, kind, "city", city_url);
    const char *store = city.store, *sstore = sim.store;

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
    exec_race rc[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        rc[i] = (exec_race){&city, issuer, id, 0, ""};
        pthread_create(&th[i], NULL, exec_race_run, &rc[i]);
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
    char code[ES_SEAL_CODE_MAX], ref[700], body[400];
    int st;
    node_init(&sim, kind, "csim", sim_url);
    node_init(&prov, kind, "cprov", prov_url);
    node_init(&city, kind, "ccity", city_url);
    const char *sstore = sim.store, *pstore = prov.store;
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
    char code[ES_SEAL_CODE_MAX], ref[700];
    int st;
    node_init(&sim, kind, "msim", sim_url);
    node_init(&min, kind, "mmin", min_url);
    node_init(&prov, kind, "mprov", prov_url);
    node_init(&city, kind, "mcity", city_url);
    const char *sstore = sim.store, *mstore = min.store, *pstore = prov.store, *cstore = city.store;
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
    free_fixtures();
    return t_done();
}
