/* The making system (docs/making.md) through its API, against a node started inside this
 * binary on 127.0.0.1:0 (and, for kill -9, in a child process), on SQLite and on the
 * PostgreSQL of the "pg" fixture: the whole flow of an industry-scope USBKey seal, every
 * invalid field named with its Chinese reason, role and four-eyes refusals, an outsider's
 * 401, duplicates, retried and concurrent execution making one seal, every lifecycle kind
 * with its certificate revocation and status events, a made seal checked with `eseal seal
 * verify --trust` and its certificate with `openssl verify`, and a crash between the
 * certificate and the seal leaving neither. */
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
#include "http_client.h"
#include "making_test.h"
#include "store_test.h"

/* ---- parts of the suite */

static void invalid_fields(const node_t *d, const char *issuer, const char *url, const char *kind)
{
    static const struct {
        const char *field, *value;
    } bad[] = {
        {"uscc", "11370306MB2867521X"},
        {"uscc", "123"},
        {"division", "35010"},
        {"division", "990000"},
        {"approver_division", "abcdef"},
        {"unit_type", "company"},
        {"agent_idno", "11010519491231002Y"},
        {"agent_idno", "110105194902300021"},
        {"agent_mobile", "1380013800"},
        {"agent_mobile", "12800138000"},
        {"scope", "global"},
        {"carrier", "floppy"},
        {"kind", "steal"},
        {"unit_name", ""},
        {"seal_name", ""},
        {"csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"},
    };
    int64_t before = count(url, "SELECT COUNT(*) FROM applications");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = apply_body("无效字段");
        json_object_set_new(b, bad[i].field, json_string(bad[i].value));
        int st;
        json_t *v = jcall(d, "POST", "/api/v1/applications", issuer, b, &st);
        const char *zh = sget(v, "message_zh");
        ok(st == 400 && !strcmp(sget(v, "error"), "invalid_argument") &&
               !strcmp(sget(v, "field"), bad[i].field) && strlen(zh) > 3 &&
               (unsigned char)zh[0] >= 0xe0 && strlen(sget(v, "message")) > 10,
           "%s: %s = \"%s\": 400 naming the field with English and Chinese (%d %s)", kind,
           bad[i].field, bad[i].value, st, sget(v, "field"));
        json_decref(v);
    }
    int st;
    json_t *b = apply_body("无效字段");
    json_object_set_new(b, "seal_type", json_integer(999));
    json_decref(jcall(d, "POST", "/api/v1/applications", issuer, b, &st));
    ok(st == 400, "%s: an unknown seal type: 400", kind);
    ok(count(url, "SELECT COUNT(*) FROM applications") == before,
       "%s: no invalid application was stored", kind);
}

static void lifecycle(const node_t *d, const char *issuer, const char *reviewer, const char *url,
                      const char *code, const char *other, const char *kind)
{
    char made[ES_SEAL_CODE_MAX], serial0[64], body_code[64];
    json_t *s = seal_get(d, issuer, code);
    snprintf(serial0, sizeof serial0, "%s", sget(s, "seal.cert_serial"));
    json_decref(s);
    snprintf(body_code, sizeof body_code, "%s", code);

    /* renew: the same code, a new certificate; the old one superseded. */
    int64_t id = approved(d, issuer, reviewer,
                          json_pack("{s:s,s:s,s:s}", "kind", "renew", "seal_code", body_code,
                                    "reason", "证书即将到期"),
                          "renew");
    ok(id && execute(d, issuer, id, made) == 200 && !strcmp(made, code),
       "%s: renew executes and keeps the code %s", kind, made);
    s = seal_get(d, issuer, code);
    ok(s && strcmp(sget(s, "seal.cert_serial"), serial0) != 0 &&
           !strcmp(sget(s, "seal.state"), "active"),
       "%s: renew: a new certificate serial (%s), the seal active", kind,
       sget(s, "seal.cert_serial"));
    json_decref(s);
    char q[300];
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM ca_certs WHERE serial = '%s' AND status = 'R' AND reason = 4",
             serial0);
    ok(count(url, q) == 1, "%s: renew: the old certificate revoked as superseded", kind);

    /* suspend, then restore. */
    id = approved(d, issuer, reviewer, json_pack("{s:s,s:s}", "kind", "suspend", "seal_code", code),
                  "suspend");
    ok(id && execute(d, issuer, id, made) == 200, "%s: suspend executes", kind);
    s = seal_get(d, issuer, code);
    ok(s && !strcmp(sget(s, "seal.state"), "suspended"), "%s: suspended", kind);
    json_decref(s);
    int st;
    json_decref(jcall(d, "POST", "/api/v1/applications", issuer,
                      json_pack("{s:s,s:s}", "kind", "suspend", "seal_code", code), &st));
    ok(st == 409, "%s: suspending a suspended seal: 409 (%d)", kind, st);
    id = approved(d, issuer, reviewer, json_pack("{s:s,s:s}", "kind", "restore", "seal_code", code),
                  "restore");
    ok(id && execute(d, issuer, id, made) == 200, "%s: restore executes", kind);
    s = seal_get(d, issuer, code);
    ok(s && !strcmp(sget(s, "seal.state"), "active"), "%s: active again", kind);
    json_decref(s);

    /* change: the old seal cancelled (superseded), a new seal with a new code and name. */
    id = approved(d, issuer, reviewer,
                  json_pack("{s:s,s:s,s:s,s:s}", "kind", "change", "seal_code", code, "seal_name",
                            "变更后的印章", "reason", "单位更名"),
                  "change");
    char changed[ES_SEAL_CODE_MAX];
    ok(id && execute(d, issuer, id, changed) == 200 && changed[0] && strcmp(changed, code) != 0,
       "%s: change makes a new seal %s", kind, changed);
    s = seal_get(d, issuer, code);
    ok(s && !strcmp(sget(s, "seal.state"), "cancelled"), "%s: change: the old seal cancelled",
       kind);
    json_decref(s);
    s = seal_get(d, issuer, changed);
    ok(s && !strcmp(sget(s, "seal.seal_name"), "变更后的印章") &&
           !strcmp(sget(s, "seal.state"), "active"),
       "%s: change: the new seal carries the new name", kind);
    json_decref(s);

    /* replace, then loss, of the changed seal's successors; cancel of the last. */
    id = approved(d, issuer, reviewer,
                  json_pack("{s:s,s:s}", "kind", "replace", "seal_code", changed), "replace");
    char replaced[ES_SEAL_CODE_MAX];
    ok(id && execute(d, issuer, id, replaced) == 200 && replaced[0] && strcmp(replaced, changed),
       "%s: replace makes a new seal %s", kind, replaced);
    id = approved(d, issuer, reviewer,
                  json_pack("{s:s,s:s}", "kind", "loss", "seal_code", replaced), "loss");
    ok(id && execute(d, issuer, id, made) == 200, "%s: loss executes", kind);
    s = seal_get(d, issuer, replaced);
    snprintf(serial0, sizeof serial0, "%s", sget(s, "seal.cert_serial"));
    ok(s && !strcmp(sget(s, "seal.state"), "lost"), "%s: loss: the seal is lost", kind);
    json_decref(s);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM ca_certs WHERE serial = '%s' AND status = 'R' AND reason = 1",
             serial0);
    ok(count(url, q) == 1, "%s: loss: its certificate revoked for keyCompromise", kind);
    json_decref(jcall(d, "POST", "/api/v1/applications", issuer,
                      json_pack("{s:s,s:s}", "kind", "cancel", "seal_code", replaced), &st));
    ok(st == 409, "%s: cancelling a lost seal: 409 (%d)", kind, st);

    /* cancel: the seal cancelled, its certificate revoked for cessationOfOperation. */
    id = approved(
        d, issuer, reviewer,
        json_pack("{s:s,s:s,s:s}", "kind", "cancel", "seal_code", other, "reason", "单位撤销"),
        "cancel");
    ok(id && execute(d, issuer, id, made) == 200 && !strcmp(made, other), "%s: cancel executes",
       kind);
    s = seal_get(d, issuer, other);
    snprintf(serial0, sizeof serial0, "%s", sget(s, "seal.cert_serial"));
    ok(s && !strcmp(sget(s, "seal.state"), "cancelled"), "%s: cancel: the seal is cancelled", kind);
    json_decref(s);
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM ca_certs WHERE serial = '%s' AND status = 'R' AND reason = 5",
             serial0);
    ok(count(url, q) == 1, "%s: cancel: its certificate revoked for cessationOfOperation", kind);
}

/* The server carrier (§7.5 encrypted server package): an application system registered at
 * this site (its certificate issued by the site's root through POST /api/v1/clients) asks for
 * a seal for its device's encryption key; the seal made comes back only as a package
 * enveloped to that key, signed by the maker, that verifies against the site's root. */
static void server_carrier(const node_t *d, const char *admin, const char *issuer,
                           const char *reviewer, const char *url, const char *kind)
{
    char badmin[65], why[256], root_path[700], path[200];
    es_sm2_key *ak = NULL, *ek = NULL;
    es_signer *as = NULL;
    es_name n;
    es_buf csr, pem, cert, reqder, b64, root, pkgb;
    uint8_t enc_pub[ES_SM2_PUB_LEN];
    int st;
    es_buf_init(&csr, 8192);
    es_buf_init(&pem, 8192);
    es_buf_init(&cert, 8192);
    es_buf_init(&reqder, 65536);
    es_buf_init(&b64, 131072);
    es_buf_init(&root, 65536);
    es_buf_init(&pkgb, ES_MAX_PACKAGE);
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
       "%s: the application system is registered with a certificate of the site (%d)", kind, st);
    json_decref(v);
    es_package_req_params rp = {"req-0001", es_slice_make(cert.p, cert.len), enc_pub, ES_TIME_NONE,
                                ES_TIME_NONE};
    ok(es_package_req_make(&rp, as, &reqder, why, sizeof why) == ES_OK &&
           es_base64_encode(reqder.p, reqder.len, &b64) == ES_OK && es_buf_nul(&b64) == ES_OK,
       "%s: the application system's request package", kind);
    /* A request changed after signing: refused, naming the field. */
    reqder.p[reqder.len / 2] ^= 1;
    es_buf bad64;
    es_buf_init(&bad64, 131072);
    if (es_base64_encode(reqder.p, reqder.len, &bad64) != ES_OK || es_buf_nul(&bad64) != ES_OK)
        st_die("base64");
    json_t *b = apply_body("服务器载体篡改测试章");
    json_object_del(b, "csr");
    json_object_set_new(b, "carrier", json_string("server"));
    json_object_set_new(b, "package_request", json_string((const char *)bad64.p));
    v = jcall(d, "POST", "/api/v1/applications", issuer, b, &st);
    ok(st == 400 && !strcmp(sget(v, "field"), "package_request"),
       "%s: a tampered request package: 400 naming package_request", kind);
    json_decref(v);
    es_buf_cleanup(&bad64);
    b = apply_body("服务器载体测试章");
    json_object_del(b, "csr");
    json_object_set_new(b, "carrier", json_string("server"));
    json_object_set_new(b, "package_request", json_string((const char *)b64.p));
    int64_t id = approved(d, issuer, reviewer, b, "apply");
    char code[ES_SEAL_CODE_MAX] = "";
    ok(id && execute(d, issuer, id, code) == 200 && code[0],
       "%s: a server-carrier application executes: seal %s", kind, code);
    t_resp r;
    snprintf(path, sizeof path, "/api/v1/seals/%s/package", code);
    ok(req_bytes(d, "GET", path, reviewer, NULL, NULL, 0, &r) == 403,
       "%s: a reviewer cannot take the package", kind);
    t_resp_free(&r);
    st = req_bytes(d, "GET", path, issuer, NULL, NULL, 0, &r);
    snprintf(root_path, sizeof root_path, "%s/ca/ca.crt", d->var);
    es_package pk;
    int parsed = st == 200 && es_file_read(root_path, &root) == ES_OK &&
                 es_package_parse(es_slice_make(r.body.p, r.body.len),
                                  es_slice_make(root.p, root.len), &pk, why, sizeof why) == ES_OK;
    ok(parsed && !memcmp(pk.recipient_pub, enc_pub, ES_SM2_PUB_LEN),
       "%s: the package verifies against the site's root and is addressed to the device's key "
       "(%d %s)",
       kind, st, parsed ? "" : why);
    t_resp_free(&r);
    snprintf(path, sizeof path,
             "SELECT COUNT(*) FROM seals WHERE code = '%s' AND carrier = "
             "'server' AND package IS NOT NULL",
             code);
    ok(count(url, path) == 1, "%s: the package is kept with the seal", kind);
    es_signer_free(as);
    es_sm2_key_free(ek);
    es_buf_cleanup(&csr);
    es_buf_cleanup(&pem);
    es_buf_cleanup(&cert);
    es_buf_cleanup(&reqder);
    es_buf_cleanup(&b64);
    es_buf_cleanup(&root);
    es_buf_cleanup(&pkgb);
}

static void suite(const char *kind, const char *url)
{
    node_t d;
    char admin[65], issuer[65], issuer2[65], reviewer[65], both[65], outsider[65], auditor[65];
    char code[ES_SEAL_CODE_MAX];
    int st;
    node_init(&d, kind, "var", url);
    if (node_start(&d) != 0) {
        ok(0, "%s: the node starts", kind);
        return;
    }
    const char *store = d.store;
    ok(count(store, "SELECT COUNT(*) FROM applications") == 0, "%s: the store is %s", kind, store);

    ok(admin_in(&d, admin), "%s: admin signs in", kind);
    ok(account(&d, admin, "issuer", "[\"seal_issuer\"]", issuer) &&
           account(&d, admin, "issuer2", "[\"seal_issuer\"]", issuer2) &&
           account(&d, admin, "reviewer", "[\"reviewer\"]", reviewer) &&
           account(&d, admin, "both", "[\"seal_issuer\",\"reviewer\"]", both) &&
           account(&d, admin, "operator1", "[\"operator\"]", outsider),
       "%s: accounts of the making roles", kind);
    ok(auditor_in(&d, auditor), "%s: the auditor signs in", kind);

    /* An outsider: 401; an account of another role: 403. */
    json_decref(jcall(&d, "GET", "/api/v1/applications", NULL, NULL, &st));
    ok(st == 401, "%s: no session: 401 (%d)", kind, st);
    json_decref(jcall(&d, "POST", "/api/v1/applications", NULL, apply_body("x"), &st));
    ok(st == 401, "%s: no session, create: 401", kind);
    json_decref(jcall(&d, "GET", "/api/v1/applications", outsider, NULL, &st));
    ok(st == 403, "%s: an operator lists: 403 (%d)", kind, st);
    json_decref(jcall(&d, "POST", "/api/v1/applications", reviewer, apply_body("x"), &st));
    ok(st == 403, "%s: a reviewer cannot enter an application: 403", kind);

    invalid_fields(&d, issuer, store, kind);

    /* The whole flow. */
    int64_t id = create(&d, issuer, apply_body("福州市鼓楼区人力资源和社会保障局"), &st);
    ok(st == 201 && id > 0, "%s: a draft is created (%lld)", kind, (long long)id);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/applications/%lld", (long long)id);
    json_t *v = jcall(&d, "GET", path, reviewer, NULL, &st);
    ok(st == 200 && !strcmp(sget(v, "application.agent_idno"), "1101**********002X") &&
           !strcmp(sget(v, "application.agent_mobile"), "138****8000"),
       "%s: personal fields are masked (%s %s)", kind, sget(v, "application.agent_idno"),
       sget(v, "application.agent_mobile"));
    json_decref(v);
    snprintf(path, sizeof path, "/api/v1/applications/%lld?whole=1", (long long)id);
    v = jcall(&d, "GET", path, reviewer, NULL, &st);
    ok(st == 200 && !strcmp(sget(v, "application.agent_idno"), IDNO),
       "%s: whole=1 shows them in full", kind);
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM audit WHERE action = 'application.view'") == 1,
       "%s: the whole view is audited", kind);
    ok(step(&d, issuer, id, "submit", pin(), NULL) == 422, "%s: submit without materials: 422",
       kind);
    t_resp r;
    snprintf(path, sizeof path, "/api/v1/applications/%lld/materials/licence", (long long)id);
    req_bytes(&d, "PUT", path, issuer, "application/pdf", "just text, not a PDF", 20, &r);
    json_t *e = body_of(&r);
    ok(r.status == 400 && !strcmp(sget(e, "field"), "material"),
       "%s: a material that is no PDF/OFD/JPEG/PNG (whatever its content type): 400", kind);
    json_decref(e);
    t_resp_free(&r);
    ok(put_material(&d, issuer, id, "no_such_material", pdf, sizeof pdf - 1) == 404,
       "%s: a material the kind does not take: 404", kind);
    ok(put_material(&d, reviewer, id, "licence", pdf, sizeof pdf - 1) == 403,
       "%s: a reviewer cannot upload materials", kind);
    ok(count(store, "SELECT COUNT(*) FROM application_materials") == 0,
       "%s: refused materials left nothing stored", kind);
    ok(put_materials(&d, issuer, id, "apply"), "%s: materials stored", kind);
    ok(step(&d, issuer, id, "submit", pin(), NULL) == 422, "%s: submit without picture: 422", kind);
    ok(put_picture(&d, issuer, id, 5, 42) == 400, "%s: a 5 mm seal: 400", kind);
    snprintf(path, sizeof path, "/api/v1/applications/%lld/picture?width_mm=42&height_mm=42",
             (long long)id);
    req_bytes(&d, "PUT", path, issuer, "image/png", pdf, sizeof pdf - 1, &r);
    ok(r.status == 400, "%s: a picture that is not a PNG: 400", kind);
    t_resp_free(&r);
    ok(put_picture(&d, issuer, id, 42, 42) == 200, "%s: the picture stored", kind);
    ok(step(&d, issuer, id, "submit", json_object(), NULL) == 400,
       "%s: submit without a PIN or signature: 400", kind);
    ok(step(&d, reviewer, id, "submit", pin(), NULL) == 403, "%s: a reviewer cannot submit", kind);
    v = NULL;
    st = step(&d, issuer, id, "submit", json_pack("{s:s}", "pin", "000000"), &v);
    ok(st == 403 && !strcmp(sget(v, "error"), "pin"),
       "%s: a wrong signing PIN: 403 pin, nothing submitted (%d %s)", kind, st, sget(v, "error"));
    json_decref(v);
    v = NULL;
    ok(step(&d, issuer, id, "submit", pin(), &v) == 200 &&
           json_integer_value(json_object_get(
               json_object_get(json_object_get(v, "application"), "decisions"), "submit")) > 0,
       "%s: submitted, the signed decision stored", kind);
    json_decref(v);
    ok(step(&d, issuer, id, "submit", pin(), NULL) == 409, "%s: submitted twice: 409", kind);
    /* An edit after submission changes nothing. */
    snprintf(path, sizeof path, "/api/v1/applications/%lld", (long long)id);
    json_decref(jcall(&d, "PUT", path, issuer,
                      json_pack("{s:i,s:s}", "version", 1, "seal_name", "x"), &st));
    ok(st == 409, "%s: editing a submitted application: 409", kind);

    /* A second open application for the same unit and seal name. */
    int64_t dup = create(&d, issuer2, apply_body("福州市鼓楼区人力资源和社会保障局"), &st);
    ok(dup && put_materials(&d, issuer2, dup, "apply") &&
           put_picture(&d, issuer2, dup, 42, 42) == 200,
       "%s: a second application for the same seal is entered", kind);
    v = NULL;
    st = step(&d, issuer2, dup, "submit", pin(), &v);
    ok(st == 409 && !strcmp(sget(v, "error"), "application_duplicate"),
       "%s: ... and refused at submission: 409 application_duplicate", kind);
    json_decref(v);

    /* Review: roles and four eyes. */
    ok(step(&d, issuer, id, "review", approve(), NULL) == 403, "%s: an issuer cannot review", kind);
    ok(step(&d, reviewer, id, "execute", pin(), NULL) == 403, "%s: a reviewer cannot execute",
       kind);
    ok(step(&d, reviewer, id, "review", json_pack("{s:s,s:s}", "verdict", "reject", "pin", PIN),
            NULL) == 400,
       "%s: a rejection without an opinion: 400", kind);
    int64_t own = create(&d, both, apply_body("四眼原则测试章"), &st);
    ok(own && put_materials(&d, both, own, "apply") && put_picture(&d, both, own, 40, 40) == 200 &&
           step(&d, both, own, "submit", pin(), NULL) == 200,
       "%s: an account with both roles submits its own application", kind);
    v = NULL;
    st = step(&d, both, own, "review", approve(), &v);
    ok(st == 403 && !strcmp(sget(v, "error"), "four_eyes"),
       "%s: ... and may not review it: 403 four_eyes", kind);
    json_decref(v);
    ok(count(store, "SELECT COUNT(*) FROM audit WHERE action = 'access.denied' AND detail LIKE "
                    "'%four eyes%'") == 1,
       "%s: the four-eyes refusal is audited", kind);
    ok(step(&d, issuer, id, "execute", pin(), NULL) == 409, "%s: executing a submitted one: 409",
       kind);
    ok(step(&d, reviewer, id, "review", approve(), NULL) == 200, "%s: approved", kind);

    /* Execution. */
    st = execute(&d, issuer, id, code);
    ok(st == 200 && strlen(code) == 16 && !strncmp(code, "RS350102", 8), "%s: executed: seal %s",
       kind, code);
    char again[ES_SEAL_CODE_MAX];
    ok(execute(&d, issuer2, id, again) == 200 && !strcmp(again, code),
       "%s: a retried execution answers the same seal", kind);
    snprintf(path, sizeof path, "SELECT COUNT(*) FROM seals WHERE application_id = %lld",
             (long long)id);
    ok(count(store, path) == 1, "%s: one seal for the application", kind);
    ok(count(store, "SELECT COUNT(*) FROM ca_certs WHERE profile = 'seal'") == 1,
       "%s: one seal certificate issued", kind);
    verify_with_cli(&d, issuer, code, kind);

    /* The same execution sent concurrently: one seal. */
    int64_t rid = approved(&d, issuer, reviewer, apply_body("并发执行测试章"), "apply");
    exec_race rc[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        rc[i] = (exec_race){&d, i % 2 ? issuer : issuer2, rid, 0, ""};
        pthread_create(&th[i], NULL, exec_race_run, &rc[i]);
    }
    int oks = 0, same = 1;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        oks += rc[i].st == 200;
        if (rc[i].st == 200 && strcmp(rc[i].code, rc[0].st == 200 ? rc[0].code : rc[i].code))
            same = 0;
    }
    snprintf(path, sizeof path, "SELECT COUNT(*) FROM seals WHERE application_id = %lld",
             (long long)rid);
    ok(rid && oks >= 1 && same && count(store, path) == 1,
       "%s: %d concurrent executions: %d answered, one seal", kind, THREADS, oks);
    ok(count(store, "SELECT COUNT(*) FROM ca_certs WHERE profile = 'seal'") == 2,
       "%s: ... and one certificate", kind);

    /* Delivery. */
    snprintf(path, sizeof path, "/api/v1/seals/%s/deliver", code);
    json_decref(
        jcall(&d, "POST", path, reviewer, json_pack("{s:s,s:s}", "to", "张三", "pin", PIN), &st));
    ok(st == 403, "%s: a reviewer cannot deliver", kind);
    v = jcall(&d, "POST", path, issuer, json_pack("{s:s,s:s}", "to", "张三", "pin", PIN), &st);
    ok(st == 200 && !strcmp(sget(v, "seal.delivered_to"), "张三"), "%s: delivered", kind);
    json_decref(v);
    json_decref(
        jcall(&d, "POST", path, issuer, json_pack("{s:s,s:s}", "to", "李四", "pin", PIN), &st));
    ok(st == 409, "%s: delivered twice: 409", kind);
    snprintf(path, sizeof path, "/api/v1/applications/%lld", (long long)id);
    v = jcall(&d, "GET", path, issuer, NULL, &st);
    ok(!strcmp(sget(v, "application.state"), "delivered"), "%s: the application is delivered",
       kind);
    json_decref(v);

    /* Search. */
    v = jcall(&d, "GET", "/api/v1/seals?name=%E5%B9%B6%E5%8F%91", issuer, NULL, &st);
    ok(st == 200 && json_array_size(json_object_get(v, "items")) == 1,
       "%s: search by part of the name", kind);
    json_decref(v);
    snprintf(path, sizeof path, "/api/v1/seals?uscc=%s&state=active", g_uscc);
    v = jcall(&d, "GET", path, reviewer, NULL, &st);
    ok(st == 200 && json_array_size(json_object_get(v, "items")) == 2,
       "%s: search by credit code and state", kind);
    json_decref(v);

    const char *other = "";
    for (int i = 0; i < THREADS; i++)
        if (rc[i].st == 200) other = rc[i].code;
    lifecycle(&d, issuer, reviewer, store, code, other, kind);

    server_carrier(&d, admin, issuer, reviewer, store, kind);

    /* The status events: gap-free, one per change. */
    v = jcall(&d, "GET", "/api/v1/status-events?after=0", reviewer, NULL, &st);
    json_t *items = json_object_get(v, "items"), *it;
    size_t i, n = json_array_size(items);
    int gapless = n > 0;
    json_array_foreach(items, i, it) gapless &=
        json_integer_value(json_object_get(it, "seq")) == (json_int_t)i + 1;
    ok(st == 200 && gapless && n == (size_t)count(store, "SELECT COUNT(*) FROM status_events"),
       "%s: %zu status events numbered 1..%zu", kind, n, n);
    json_decref(v);
    v = jcall(&d, "GET", "/api/v1/status-events?after=2", outsider, NULL, &st);
    ok(st == 200 && json_array_size(json_object_get(v, "items")) == n - 2,
       "%s: after=2 starts at 3 (a verify role may read them)", kind);
    json_decref(v);
    json_t *s = seal_get(&d, issuer, code);
    ok(s && json_array_size(json_object_get(s, "history")) == 5,
       "%s: the first seal's history: made, renewed, suspended, active, cancelled (%zu)", kind,
       json_array_size(json_object_get(s, "history")));
    json_decref(s);

    /* Issue 10: the certificate, the seal and their audit records are signed before the
     * transaction. Two executions of different applications at once both make their seal,
     * with consecutive codes (gap-free per division). */
    int64_t p1 = approved(&d, issuer, reviewer, apply_body("并行执行甲章"), "apply");
    int64_t p2 = approved(&d, issuer, reviewer, apply_body("并行执行乙章"), "apply");
    int64_t certs0 = count(store, "SELECT COUNT(*) FROM ca_certs");
    int64_t issued0 = count(store, "SELECT COUNT(*) FROM audit WHERE action = 'ca.issue'");
    exec_race par[2] = {{&d, issuer, p1, 0, ""}, {&d, issuer2, p2, 0, ""}};
    pthread_t pth[2];
    for (int k = 0; k < 2; k++) pthread_create(&pth[k], NULL, exec_race_run, &par[k]);
    for (int k = 0; k < 2; k++) pthread_join(pth[k], NULL);
    long n1 = strlen(par[0].code) == 16 ? atol(par[0].code + 8) : -1;
    long n2 = strlen(par[1].code) == 16 ? atol(par[1].code + 8) : -1;
    ok(p1 && p2 && par[0].st == 200 && par[1].st == 200 && n1 > 0 && n2 > 0 &&
           (n1 - n2 == 1 || n2 - n1 == 1),
       "%s: two executions of different applications at once: both made (%s, %s)", kind,
       par[0].code, par[1].code);
    ok(count(store, "SELECT COUNT(*) FROM ca_certs") == certs0 + 2 &&
           count(store, "SELECT COUNT(*) FROM audit WHERE action = 'ca.issue'") == issued0 + 2,
       "%s: ... two certificates, each with one ca.issue record", kind);
    for (int k = 0; k < 2; k++) {
        json_t *ps = seal_get(&d, issuer, par[k].code);
        ok(ps && !strcmp(sget(ps, "seal.state"), "active"), "%s: ... seal %s active", kind,
           par[k].code);
        json_decref(ps);
        verify_with_cli(&d, issuer, par[k].code, kind);
    }

    /* A serial found taken in the transaction (the test hook records the prepared certificate
     * first, as another writer would): the execution prepares again with a new serial; the
     * taken one is not used, nothing is recorded twice. */
    const char *orphans = "SELECT COUNT(*) FROM ca_certs WHERE profile = 'seal' AND serial NOT IN "
                          "(SELECT cert_serial FROM seal_certs WHERE cert_serial IS NOT NULL)";
    int64_t p3 = approved(&d, issuer, reviewer, apply_body("序列号冲突测试章"), "apply");
    int64_t orph0 = count(store, orphans);
    certs0 = count(store, "SELECT COUNT(*) FROM ca_certs");
    issued0 = count(store, "SELECT COUNT(*) FROM audit WHERE action = 'ca.issue'");
    setenv("ESEAL_TEST_MAKING_COLLIDE", strcmp(kind, "sqlite") ? "2" : "1", 1);
    char c3[ES_SEAL_CODE_MAX];
    st = execute(&d, issuer, p3, c3);
    unsetenv("ESEAL_TEST_MAKING_COLLIDE");
    snprintf(path, sizeof path, "SELECT COUNT(*) FROM seal_certs WHERE application_id = %lld",
             (long long)p3);
    ok(p3 && st == 200 && strlen(c3) == 16 && count(store, path) == 1,
       "%s: a serial collision is retried: seal %s made", kind, c3);
    int64_t orph1 = count(store, orphans), certs1 = count(store, "SELECT COUNT(*) FROM ca_certs");
    ok(orph1 == orph0 + 1 && certs1 == certs0 + 2,
       "%s: ... the taken serial stays the other writer's, the seal has a new one (orphans %lld "
       "-> %lld, certificates %lld -> %lld)",
       kind, (long long)orph0, (long long)orph1, (long long)certs0, (long long)certs1);
    ok(count(store, "SELECT COUNT(*) FROM audit WHERE action = 'ca.issue'") == issued0 + 1,
       "%s: ... one ca.issue record (the discarded attempt left none)", kind);
    verify_with_cli(&d, issuer, c3, kind);

    /* A record changed outside the system is refused, not shown. */
    int64_t tid = create(&d, issuer, apply_body("完整性测试章"), &st);
    snprintf(path, sizeof path, "UPDATE applications SET unit_name = 'forged' WHERE id = %lld",
             (long long)tid);
    ok(tid && exec_sql(store, path), "%s: an application changed behind the system's back", kind);
    snprintf(path, sizeof path, "/api/v1/applications/%lld", (long long)tid);
    v = jcall(&d, "GET", path, reviewer, NULL, &st);
    ok(st == 409 && !strcmp(sget(v, "error"), "application_integrity"),
       "%s: ... fails its integrity check: 409 application_integrity (%d)", kind, st);
    json_decref(v);

    v = jcall(&d, "GET", "/api/v1/audit/verify", auditor, NULL, &st);
    ok(st == 200 && json_is_true(json_object_get(v, "intact")),
       "%s: the audit trail verifies after the flow", kind);
    json_decref(v);
    node_stop(&d);

    /* kill -9 between the certificate and the seal: neither stays. */
    char pausef[700];
    snprintf(pausef, sizeof pausef, "%s/pause", d.var);
    unlink(pausef);
    if (node_start_process(&d, pausef) != 0) {
        ok(0, "%s: the daemon starts as a process", kind);
        return;
    }
    char tok2[65], tok3[65];
    ok(sign_in(&d, "issuer", USER_PASS, tok2) == 201 &&
           sign_in(&d, "reviewer", USER_PASS, tok3) == 201,
       "%s: signed in to the process", kind);
    int64_t cid = approved(&d, tok2, tok3, apply_body("崩溃测试章"), "apply");
    int64_t certs = count(store, "SELECT COUNT(*) FROM ca_certs");
    exec_race cr = {&d, tok2, cid, 0, ""};
    pthread_t ct;
    pthread_create(&ct, NULL, exec_race_run, &cr);
    int paused = 0;
    for (int k = 0; k < 3000 && !paused; k++) { /* 30 s at most */
        paused = access(pausef, F_OK) == 0;
        if (!paused) sleep_ms(10);
    }
    ok(cid && paused, "%s: execution paused after the certificate row", kind);
    kill(d.pid, SIGKILL);
    int wst;
    waitpid(d.pid, &wst, 0);
    d.pid = 0;
    pthread_join(ct, NULL);
    unlink(pausef);
    snprintf(path, sizeof path, "SELECT COUNT(*) FROM seals WHERE application_id = %lld",
             (long long)cid);
    ok(count(store, path) == 0 && count(store, "SELECT COUNT(*) FROM ca_certs") == certs,
       "%s: after kill -9: no seal and no certificate", kind);
    if (node_start(&d) == 0) {
        ok(sign_in(&d, "issuer", USER_PASS, tok2) == 201 && execute(&d, tok2, cid, code) == 200 &&
               count(store, path) == 1 &&
               count(store, "SELECT COUNT(*) FROM ca_certs") == certs + 1,
           "%s: after restart the application executes: seal %s with its certificate", kind, code);
        node_stop(&d);
    } else {
        ok(0, "%s: restarts after kill -9", kind);
    }
}

int main(void)
{
    unsetenv("ESEAL_PIN");
    unsetenv(ES_MAKING_PAUSE_ENV);
    signal(SIGPIPE, SIG_IGN);
    g_cli = getenv("ESEAL_CLI");
    make_fixtures();
    suite("sqlite", NULL);
    if (st_pg_ready()) suite("postgresql", st_pg_db("making"));
    free_fixtures();
    return t_done();
}
