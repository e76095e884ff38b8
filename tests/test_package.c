/* Seal delivery (issue 10, include/eseal/package.h): the request package and the server
 * package end to end into libsoftsdf.so, what must be refused (tampered, truncated, expired,
 * for another key, a seal for another certificate, a second use of a seal key), and seals in
 * libsoftskf.so tokens (SKF files, certificate slot).
 *
 * Environment (CTest sets it): ESEAL_TESTDATA, ESEAL_SOFTSDF, ESEAL_SOFTSKF. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eseal/der.h"
#include "eseal/package.h"
#include "eseal/pki.h"
#include "eseal/seal.h"
#include "eseal/skf.h"
#include "test.h"

#define SDF_PASS "sdf-access-1"
#define PIN      "12345678"
#define SO_PIN   "so-87654321"

static void die(const char *what)
{
    fprintf(stderr, "test_package: %s\n", what);
    exit(2);
}

static es_slice sl(const es_buf *b)
{
    return es_slice_make(b->p, b->len);
}

static es_buf g_root, g_maker, g_other_root;
static es_signer *g_root_key, *g_maker_key;
static unsigned g_serial = 1;

/* A seal-key certificate for pub, issued by the test root. */
static es_buf make_cert(const uint8_t pub[ES_SM2_PUB_LEN], const char *cn)
{
    es_x509 root;
    es_profile prof;
    es_name name;
    es_pki_tbs t;
    char subject[128], why[128];
    es_buf out;
    if (es_x509_parse(sl(&g_root), 0, &root) != ES_OK) die("root");
    memset(&prof, 0, sizeof prof);
    prof.key_usage = ES_KU_DIGITAL_SIGNATURE | ES_KU_NON_REPUDIATION;
    prof.key_usage_critical = 1;
    snprintf(subject, sizeof subject, "/C=CN/O=test unit/CN=%s", cn);
    if (es_pki_name_parse(subject, &name, why, sizeof why) != ES_OK) die(why);
    memset(&t, 0, sizeof t);
    t.profile = &prof;
    t.subject = &name;
    t.issuer = root.subject;
    memcpy(t.pub, pub, ES_SM2_PUB_LEN);
    /* The root's own subjectKeyIdentifier, however it was computed. */
    if (root.ski.len > sizeof t.issuer_key_id) die("ski");
    memcpy(t.issuer_key_id, root.ski.p, root.ski.len);
    t.issuer_key_id_len = root.ski.len;
    t.not_before = es_time_now() - 3600;
    t.not_after = es_time_now() + 365 * 86400;
    t.serial_len = 8;
    t.serial[0] = 0x10;
    t.serial[7] = (uint8_t)g_serial++;
    es_buf_init(&out, ES_MAX_CERT_DER);
    if (es_pki_cert_make(&t, g_root_key, &out) != ES_OK) die("cannot make a certificate");
    return out;
}

/* A seal naming cert, made by the test maker. */
static es_buf make_seal(es_slice cert)
{
    es_seal_params p;
    es_buf png = t_data("seal.png"), out;
    memset(&p, 0, sizeof p);
    p.es_id = "RS44030500000001";
    p.type = 1;
    p.name = "测试单位公章";
    p.signer_certs = &cert;
    p.n_signer_certs = 1;
    p.create_date = ES_TIME_NONE;
    p.valid_start = es_time_now() - 60;
    p.valid_end = es_time_now() + 300 * 86400;
    p.picture = sl(&png);
    p.width_mm = 40;
    p.height_mm = 40;
    p.maker_cert = sl(&g_maker);
    es_buf_init(&out, ES_MAX_SEAL_DER);
    if (es_seal_make(&p, g_maker_key, &out) != ES_OK) die("cannot make a seal");
    es_buf_cleanup(&png);
    return out;
}

/* The application system: its system certificate and key (in memory), and the encryption
 * keys of index 2 and 3 of a softsdf device in dir. */
static es_sm2_key *g_sys_key;
static es_buf g_sys_cert;
static uint8_t g_enc2[ES_SM2_PUB_LEN], g_enc3[ES_SM2_PUB_LEN], g_enc4[ES_SM2_PUB_LEN];

static void put_enc_key(const char *dir, unsigned index, uint8_t pub[ES_SM2_PUB_LEN])
{
    es_sm2_key *k = NULL;
    es_buf pem;
    char path[4096];
    es_buf_init(&pem, ES_MAX_KEY_FILE);
    if (es_sm2_key_generate(&k) != ES_OK || es_sm2_key_to_pem(k, SDF_PASS, &pem) != ES_OK)
        die("enc key");
    snprintf(path, sizeof path, "%s/enc%u.key", dir, index);
    if (es_file_write_mode(path, pem.p, pem.len, 0600) != ES_OK) die(path);
    es_sm2_key_pub(k, pub);
    es_sm2_key_free(k);
    es_buf_cleanup_secret(&pem);
}

static es_buf make_request(const char *id, const uint8_t enc[ES_SM2_PUB_LEN], es_time nb,
                           es_time na)
{
    es_package_req_params p;
    es_signer *s = NULL;
    es_sm2_key *copy = NULL;
    uint8_t d[32];
    char why[256] = "";
    es_buf out;
    memset(&p, 0, sizeof p);
    p.request_id = id;
    p.requester_cert = sl(&g_sys_cert);
    p.enc_pub = enc;
    p.not_before = nb;
    p.not_after = na;
    if (es_sm2_key_private(g_sys_key, d) != ES_OK || es_sm2_key_from_private(d, &copy) != ES_OK ||
        es_signer_from_key(copy, &s) != ES_OK)
        die("system signer");
    es_wipe(d, sizeof d);
    es_buf_init(&out, ES_MAX_PACKAGE_REQ);
    es_err rv = es_package_req_make(&p, s, &out, why, sizeof why);
    if (rv != ES_OK) {
        fprintf(stderr, "request: %s: %s\n", es_err_str(rv), why);
        die("cannot make a request");
    }
    es_signer_free(s);
    return out;
}

static void test_request(void)
{
    es_package_req *r = NULL;
    char why[256] = "";
    es_buf trust = t_data("root.crt"), other = t_data("otherroot.crt");
    es_buf req = make_request("REQ-0001", g_enc2, ES_TIME_NONE, ES_TIME_NONE);
    es_err rv = es_package_req_parse(sl(&req), sl(&trust), &r, why, sizeof why);
    ok(rv == ES_OK, "a request parses with the root as trust: %s %s", es_err_str(rv), why);
    const es_package_req_info *in = es_package_req_info_of(r);
    ok(in && strcmp(in->request_id, "REQ-0001") == 0, "its request id");
    ok(in && memcmp(in->enc_pub, g_enc2, ES_SM2_PUB_LEN) == 0, "its encryption key");
    ok(in && es_slice_eq(in->requester_cert, sl(&g_sys_cert)), "its requester certificate");
    ok(in && in->not_after - in->not_before == 7 * 86400, "7 days by default");
    es_package_req_free(r);
    r = NULL;

    rv = es_package_req_parse(sl(&req), sl(&other), &r, why, sizeof why);
    ok(rv != ES_OK && !r, "another root's trust refuses it: %s (%s)", es_err_str(rv), why);

    /* Every single flipped byte, every truncation and a trailing byte are refused. */
    int all = 1;
    for (size_t i = 0; i < req.len; i++) {
        req.p[i] ^= 0x01;
        if (es_package_req_parse(sl(&req), es_slice_make(NULL, 0), &r, NULL, 0) == ES_OK) {
            all = 0;
            es_package_req_free(r);
            r = NULL;
            fprintf(stderr, "a flip at %zu parsed\n", i);
        }
        req.p[i] ^= 0x01;
    }
    ok(all, "every flipped bit of the %zu bytes is refused", req.len);
    all = 1;
    for (size_t n = 0; n < req.len; n++)
        if (es_package_req_parse(es_slice_make(req.p, n), es_slice_make(NULL, 0), &r, NULL, 0) ==
            ES_OK)
            all = 0;
    ok(all, "every truncation is refused");
    if (es_buf_append(&req, "\0", 1) != ES_OK) die("append");
    ok(es_package_req_parse(sl(&req), es_slice_make(NULL, 0), &r, NULL, 0) != ES_OK,
       "a trailing byte is refused");

    /* Expired, not yet valid, too long. */
    es_time now = es_time_now();
    es_buf old = make_request("REQ-OLD", g_enc2, now - 10 * 86400, now - 3 * 86400);
    rv = es_package_req_parse(sl(&old), es_slice_make(NULL, 0), &r, why, sizeof why);
    ok(rv == ES_ERR_PACKAGE_EXPIRED, "an expired request: %s (%s)", es_err_str(rv), why);
    es_buf later = make_request("REQ-LATER", g_enc2, now + 86400, now + 2 * 86400);
    rv = es_package_req_parse(sl(&later), es_slice_make(NULL, 0), &r, why, sizeof why);
    ok(rv == ES_ERR_PACKAGE_EXPIRED, "a request not yet in force: %s", es_err_str(rv));

    /* The builder names the field it refuses. */
    es_package_req_params p;
    es_buf out;
    es_buf_init(&out, ES_MAX_PACKAGE_REQ);
    memset(&p, 0, sizeof p);
    p.request_id = "bad id with spaces";
    p.requester_cert = sl(&g_sys_cert);
    p.enc_pub = g_enc2;
    p.not_before = p.not_after = ES_TIME_NONE;
    es_signer *sys = NULL;
    uint8_t d[32];
    es_sm2_key *copy = NULL;
    if (es_sm2_key_private(g_sys_key, d) != ES_OK || es_sm2_key_from_private(d, &copy) != ES_OK ||
        es_signer_from_key(copy, &sys) != ES_OK)
        die("system signer");
    rv = es_package_req_make(&p, sys, &out, why, sizeof why);
    ok(rv == ES_ERR_ARG && strstr(why, "request_id"), "a bad request id is named: %s", why);
    p.request_id = "R1";
    p.not_before = now;
    p.not_after = now + 31 * 86400;
    rv = es_package_req_make(&p, sys, &out, why, sizeof why);
    ok(rv == ES_ERR_ARG && strstr(why, "validity"), "31 days is refused: %s", why);
    p.not_after = ES_TIME_NONE;
    uint8_t bad[ES_SM2_PUB_LEN];
    memcpy(bad, g_enc2, sizeof bad);
    bad[64] ^= 1;
    p.enc_pub = bad;
    rv = es_package_req_make(&p, sys, &out, why, sizeof why);
    ok(rv == ES_ERR_ARG && strstr(why, "enc_pub"), "a point off the curve is refused: %s", why);
    p.enc_pub = g_enc2;
    rv = es_package_req_make(&p, g_maker_key, &out, why, sizeof why);
    ok(rv == ES_ERR_KEY_MISMATCH, "a key that is not the certificate's is refused");
    ok(out.len == 0, "and nothing is written");
    es_signer_free(sys);
    es_wipe(d, sizeof d);
    es_buf_cleanup(&out);
    es_buf_cleanup(&req);
    es_buf_cleanup(&old);
    es_buf_cleanup(&later);
    es_buf_cleanup(&trust);
    es_buf_cleanup(&other);
}

/* A package built by hand (the maker's own signature), to show what the parser refuses when
 * es_package_finish's checks are bypassed. */
static es_buf forge(const uint8_t enc[ES_SM2_PUB_LEN], const es_sm2_key *key, es_slice cert,
                    es_slice seal)
{
    es_buf env, spki, tbs, sig, out;
    es_der_w w;
    es_buf_init(&env, 4096);
    es_buf_init(&spki, 256);
    es_buf_init(&tbs, ES_MAX_PACKAGE);
    es_buf_init(&sig, 128);
    es_buf_init(&out, ES_MAX_PACKAGE);
    if (es_token_envelope(key, enc, &env) != ES_OK || es_sm2_pub_spki(enc, &spki) != ES_OK)
        die("forge");
    es_der_w_init(&w, &tbs);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, 1);
    es_der_w_prim(&w, ES_DER_UTF8_STRING, "FORGED", 6);
    es_der_w_raw(&w, spki.p, spki.len);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, env.p, env.len);
    es_der_w_raw(&w, cert.p, cert.len);
    es_der_w_raw(&w, seal.p, seal.len);
    es_der_w_gentime(&w, es_time_now());
    es_der_w_end(&w);
    if (es_der_w_finish(&w) != ES_OK ||
        es_signer_sign_message(g_maker_key, NULL, tbs.p, tbs.len, &sig) != ES_OK)
        die("forge sign");
    es_der_w_init(&w, &out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_raw(&w, tbs.p, tbs.len);
    es_der_w_oid(&w, ES_OID_ID_SM2_SM3);
    es_der_w_bits(&w, sig.p, sig.len);
    es_der_w_end(&w);
    if (es_der_w_finish(&w) != ES_OK) die("forge wrap");
    es_buf_cleanup(&env);
    es_buf_cleanup(&spki);
    es_buf_cleanup(&tbs);
    es_buf_cleanup(&sig);
    return out;
}

static void test_package(const char *lib)
{
    char why[256] = "";
    es_buf trust = t_data("root.crt");
    es_buf req = make_request("REQ-0002", g_enc2, ES_TIME_NONE, ES_TIME_NONE);
    es_package_req *r = NULL;
    if (es_package_req_parse(sl(&req), sl(&trust), &r, why, sizeof why) != ES_OK) die(why);

    /* The making system: key, certificate and seal for its public key, the package. */
    es_package_key *k = NULL, *k2 = NULL;
    uint8_t pub[ES_SM2_PUB_LEN], pub2[ES_SM2_PUB_LEN];
    ok(es_package_key_new(r, &k, pub) == ES_OK, "a package key");
    ok(es_package_key_new(r, &k2, pub2) == ES_OK && memcmp(pub, pub2, sizeof pub) != 0,
       "a second key for the same request is another key");
    es_package_req_free(r); /* the key keeps what it needs */
    es_buf cert = make_cert(pub, "RS44030500000001"), seal = make_seal(sl(&cert));
    es_buf cert2 = make_cert(pub2, "RS44030500000002"), seal2 = make_seal(sl(&cert2));
    es_buf pkg, junk;
    es_buf_init(&pkg, ES_MAX_PACKAGE);
    es_buf_init(&junk, ES_MAX_PACKAGE);
    es_err rv = es_package_finish(k, sl(&cert), sl(&seal), g_maker_key, &pkg);
    ok(rv == ES_OK, "the package is made: %s", es_err_str(rv));
    ok(es_package_finish(k, sl(&cert), sl(&seal), g_maker_key, &junk) == ES_ERR_PACKAGE_USED &&
           junk.len == 0,
       "a second finish fails: the key is gone");
    es_package_key_free(k);

    /* finish's refusals, each wiping the key. */
    ok(es_package_finish(k2, sl(&cert), sl(&seal), g_maker_key, &junk) == ES_ERR_KEY_MISMATCH,
       "a certificate of another key is refused");
    ok(es_package_finish(k2, sl(&cert2), sl(&seal2), g_maker_key, &junk) == ES_ERR_PACKAGE_USED,
       "and the key is wiped after a refusal too");
    es_package_key_free(k2);
    es_package_req *r3 = NULL;
    if (es_package_req_parse(sl(&req), sl(&trust), &r3, why, sizeof why) != ES_OK) die(why);
    es_package_key *k3 = NULL, *k4 = NULL;
    uint8_t pub3[ES_SM2_PUB_LEN];
    if (es_package_key_new(r3, &k3, pub3) != ES_OK || es_package_key_new(r3, &k4, pub2) != ES_OK)
        die("key");
    es_buf cert3 = make_cert(pub3, "RS44030500000003");
    ok(es_package_finish(k3, sl(&cert3), sl(&seal), g_maker_key, &junk) == ES_ERR_SEAL_CERT,
       "a seal for another certificate is refused");
    es_buf cert4 = make_cert(pub2, "RS44030500000004"), seal4 = make_seal(sl(&cert4));
    ok(es_package_finish(k4, sl(&cert4), sl(&seal4), g_root_key, &junk) == ES_ERR_KEY_MISMATCH,
       "a maker key that did not sign the seal is refused");
    ok(junk.len == 0, "no refused call wrote anything");
    es_package_key_free(k3);
    es_package_key_free(k4);
    es_package_req_free(r3);

    /* The receiving side. */
    es_package p;
    rv = es_package_parse(sl(&pkg), sl(&trust), &p, why, sizeof why);
    ok(rv == ES_OK, "the package parses and verifies: %s %s", es_err_str(rv), why);
    ok(strcmp(p.request_id, "REQ-0002") == 0, "it names the request");
    ok(memcmp(p.recipient_pub, g_enc2, ES_SM2_PUB_LEN) == 0, "and the recipient key");
    ok(es_slice_eq(p.cert, sl(&cert)) && es_slice_eq(p.seal, sl(&seal)),
       "the certificate and seal byte for byte");
    ok(memmem(pkg.p, pkg.len, seal.p, seal.len) != NULL, "the seal is embedded as made");
    es_buf other = t_data("otherroot.crt");
    ok(es_package_parse(sl(&pkg), sl(&other), &p, why, sizeof why) != ES_OK,
       "another root's trust refuses it (%s)", why);

    int all = 1;
    size_t step = pkg.len / 997 + 1;
    for (size_t i = 0; i < pkg.len; i += step) {
        pkg.p[i] ^= 0x20;
        if (es_package_parse(sl(&pkg), es_slice_make(NULL, 0), &p, NULL, 0) == ES_OK) {
            all = 0;
            fprintf(stderr, "a flip at %zu parsed\n", i);
        }
        pkg.p[i] ^= 0x20;
    }
    ok(all, "tampered packages are refused (every %zu-th byte of %zu)", step, pkg.len);
    all = 1;
    for (size_t n = 0; n < pkg.len; n += step)
        if (es_package_parse(es_slice_make(pkg.p, n), es_slice_make(NULL, 0), &p, NULL, 0) == ES_OK)
            all = 0;
    ok(all, "truncated packages are refused");

    /* A package whose seal names another certificate, signed by the maker all the same. */
    es_sm2_key *fk = NULL;
    uint8_t fpub[ES_SM2_PUB_LEN];
    if (es_sm2_key_generate(&fk) != ES_OK) die("key");
    es_sm2_key_pub(fk, fpub);
    es_buf fcert = make_cert(fpub, "RS44030500000005");
    es_buf forged = forge(g_enc2, fk, sl(&fcert), sl(&seal));
    rv = es_package_parse(sl(&forged), sl(&trust), &p, why, sizeof why);
    ok(rv == ES_ERR_SEAL_CERT, "a package whose seal is for another certificate: %s (%s)",
       es_err_str(rv), why);
    es_buf_cleanup(&forged);
    /* An envelope of another key than the certificate's. */
    forged = forge(g_enc2, fk, sl(&cert), sl(&seal));
    rv = es_package_parse(sl(&forged), sl(&trust), &p, why, sizeof why);
    ok(rv == ES_ERR_KEY_MISMATCH, "an envelope for another key than the certificate's: %s",
       es_err_str(rv));
    es_buf_cleanup(&forged);
    es_sm2_key_free(fk);

    /* Import into softsdf: index 2 holds the request's encryption key, index 3 another. */
    rv = es_package_parse(sl(&pkg), sl(&trust), &p, why, sizeof why);
    if (rv != ES_OK) die(why);
    es_keyref ref2, ref3;
    char text[4200];
    es_keydev *d = NULL;
    es_secret_src pass = t_pin(SDF_PASS);
    snprintf(text, sizeof text, "sdf:%s#2", lib);
    if (es_keyref_parse(text, &ref2) != ES_OK) die("ref");
    snprintf(text, sizeof text, "sdf:%s#3", lib);
    if (es_keyref_parse(text, &ref3) != ES_OK) die("ref");
    if (es_keydev_open(&ref2, &d) != ES_OK) die("open softsdf");
    ok(es_keydev_login(d, &ref3, &pass, NULL) == ES_OK, "log in to index 3");
    rv = es_package_import(&p, d, &ref3, why, sizeof why);
    ok(rv == ES_ERR_PACKAGE_RECIPIENT, "a package for key A does not import with key B: %s (%s)",
       es_err_str(rv), why);
    rv = es_keydev_import_envelope(d, &ref3, p.envelope.p, p.envelope.len);
    ok(rv == ES_ERR_VERIFY, "and the device itself cannot open it with key B: %s (%s)",
       es_err_str(rv), es_keydev_last_error());
    uint8_t any[ES_SM2_PUB_LEN];
    ok(es_keydev_public_key(d, &ref3, any) == ES_ERR_NO_KEY, "index 3 has no signing key after");
    rv = es_package_import(&p, d, &ref2, why, sizeof why);
    ok(rv == ES_ERR_LOGIN || rv == ES_ERR_NO_KEY,
       "without the access right of index 2 the import fails: %s (%s)", es_err_str(rv), why);
    ok(es_keydev_login(d, &ref2, &pass, NULL) == ES_OK, "log in to index 2");
    rv = es_package_import(&p, d, &ref2, why, sizeof why);
    ok(rv == ES_OK, "the package imports into index 2: %s %s", es_err_str(rv), why);
    ok(es_keydev_public_key(d, &ref2, any) == ES_OK && memcmp(any, pub, sizeof any) == 0,
       "index 2's signing key is the certificate's");
    rv = es_package_import(&p, d, &ref2, why, sizeof why);
    ok(rv == ES_ERR_EXISTS, "a second import is refused, never overwriting: %s", es_err_str(rv));
    es_keydev_close(d);

    /* A fresh session signs with the imported key (it is stored, under the access password). */
    es_signer *s = NULL;
    snprintf(text, sizeof text, "sdf:%s#2", lib);
    rv = es_keydev_signer(text, &pass, &s);
    ok(rv == ES_OK, "a signer over the imported key: %s", es_err_str(rv));
    if (s) {
        es_buf sig;
        es_buf_init(&sig, 128);
        uint8_t e[ES_SM3_LEN], rr[32], ss[32];
        ok(es_signer_sign_message(s, NULL, "hello", 5, &sig) == ES_OK &&
               es_sm2_digest(pub, ES_SM2_DEFAULT_ID, 16, "hello", 5, e) == ES_OK &&
               es_sm2_sig_decode(sl(&sig), rr, ss, NULL) == ES_OK &&
               es_sm2_verify_digest(pub, e, rr, ss) == ES_OK,
           "its signature verifies with the delivered certificate");
        es_buf_cleanup(&sig);
        es_signer_free(s);
    }
    ok(es_keydev_signer(text, &(es_secret_src){t_pin_get, (void *)"wrong-pass"}, &s) != ES_OK,
       "and the wrong access password opens nothing");

    es_buf_cleanup(&pkg);
    es_buf_cleanup(&junk);
    es_buf_cleanup(&cert);
    es_buf_cleanup(&seal);
    es_buf_cleanup(&cert2);
    es_buf_cleanup(&seal2);
    es_buf_cleanup(&cert3);
    es_buf_cleanup(&cert4);
    es_buf_cleanup(&seal4);
    es_buf_cleanup(&fcert);
    es_buf_cleanup(&req);
    es_buf_cleanup(&trust);
    es_buf_cleanup(&other);
}

/* A whole package for a request on enc (the making system's steps); *cert gets its
 * certificate. */
static es_buf package_for(const uint8_t enc[ES_SM2_PUB_LEN], const char *id, const char *code,
                          es_buf *cert)
{
    char why[256] = "";
    es_package_req *r = NULL;
    es_package_key *k = NULL;
    uint8_t pub[ES_SM2_PUB_LEN];
    es_buf req = make_request(id, enc, ES_TIME_NONE, ES_TIME_NONE), pkg;
    if (es_package_req_parse(sl(&req), es_slice_make(NULL, 0), &r, why, sizeof why) != ES_OK ||
        es_package_key_new(r, &k, pub) != ES_OK)
        die("request");
    *cert = make_cert(pub, code);
    es_buf seal = make_seal(sl(cert));
    es_buf_init(&pkg, ES_MAX_PACKAGE);
    if (es_package_finish(k, sl(cert), sl(&seal), g_maker_key, &pkg) != ES_OK) die("finish");
    es_package_key_free(k);
    es_package_req_free(r);
    es_buf_cleanup(&req);
    es_buf_cleanup(&seal);
    return pkg;
}

typedef struct racer {
    const char *lib;
    es_buf pkg;
    es_err rv;
} racer;

static void *race_import(void *arg)
{
    racer *x = arg;
    char text[4200], why[256];
    es_keyref ref;
    es_keydev *d = NULL;
    es_package p;
    es_secret_src pass = t_pin(SDF_PASS);
    snprintf(text, sizeof text, "sdf:%s#4", x->lib);
    x->rv = ES_ERR_INTERNAL;
    if (es_keyref_parse(text, &ref) != ES_OK || es_keydev_open(&ref, &d) != ES_OK) return NULL;
    if (es_keydev_login(d, &ref, &pass, NULL) == ES_OK &&
        es_package_parse(sl(&x->pkg), es_slice_make(NULL, 0), &p, why, sizeof why) == ES_OK)
        x->rv = es_package_import(&p, d, &ref, why, sizeof why);
    es_keydev_close(d);
    return NULL;
}

/* Two packages for the same index imported at once: one wins, the other is refused, and the
 * index holds the winner's key (never a mix, never an overwrite). */
static void test_concurrent_import(const char *lib)
{
    es_buf ca, cb;
    racer a = {lib, package_for(g_enc4, "REQ-RACE-A", "RS44030500000021", &ca), ES_OK};
    racer b = {lib, package_for(g_enc4, "REQ-RACE-B", "RS44030500000022", &cb), ES_OK};
    pthread_t ta, tb;
    if (pthread_create(&ta, NULL, race_import, &a) != 0 ||
        pthread_create(&tb, NULL, race_import, &b) != 0)
        die("pthread_create");
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ok((a.rv == ES_OK) + (b.rv == ES_OK) == 1 && (a.rv == ES_ERR_EXISTS || b.rv == ES_ERR_EXISTS),
       "two imports at once into one index: one wins (%s, %s)", es_err_str(a.rv), es_err_str(b.rv));
    char text[4200];
    es_signer *s = NULL;
    es_secret_src pass = t_pin(SDF_PASS);
    snprintf(text, sizeof text, "sdf:%s#4", lib);
    es_x509 c;
    int match = 0;
    if (es_keydev_signer(text, &pass, &s) == ES_OK &&
        es_x509_parse(a.rv == ES_OK ? sl(&ca) : sl(&cb), 0, &c) == ES_OK)
        match = memcmp(c.pub, s->pub, ES_SM2_PUB_LEN) == 0;
    ok(match, "the index holds the winner's key");
    es_signer_free(s);
    es_buf_cleanup(&a.pkg);
    es_buf_cleanup(&b.pkg);
    es_buf_cleanup(&ca);
    es_buf_cleanup(&cb);
}

static void test_token(const char *lib, const char *root)
{
    char path[4200], text[4200], why[256] = "";
    es_keyref ref, ref2;
    es_token *t = NULL;
    es_secret_src user = t_pin(PIN), so = t_pin(SO_PIN);
    uint8_t pub[ES_SM2_PUB_LEN], pub2[ES_SM2_PUB_LEN];
    snprintf(path, sizeof path, "%s/TOKEN1", root);
    if (mkdir(path, 0700) != 0) die(path);
    setenv("SOFTSKF_DIR", root, 1);
    snprintf(text, sizeof text, "skf:%s#TOKEN1/SEAL/SIGNER", lib);
    if (es_keyref_parse(text, &ref) != ES_OK) die("ref");
    snprintf(text, sizeof text, "skf:%s#TOKEN1/SEAL/OTHER", lib);
    if (es_keyref_parse(text, &ref2) != ES_OK) die("ref");
    if (es_token_open(&ref, &t) != ES_OK) die("open softskf");
    if (es_token_app_create(t, "SEAL", &so, 0, &user, 0) != ES_OK) die("app");

    /* Files. */
    es_buf b;
    es_buf_init(&b, 1 << 20);
    uint8_t big[5000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
    ok(es_token_file_write(t, "SEAL", "DATA", es_slice_make(big, sizeof big)) == ES_ERR_LOGIN,
       "writing a file needs the user PIN");
    ok(es_token_login(t, "SEAL", &user, NULL) == ES_OK, "log in");
    ok(es_token_file_write(t, "SEAL", "DATA", es_slice_make(big, sizeof big)) == ES_OK,
       "a file of 5000 bytes (several chunks)");
    ok(es_token_file_read(t, "SEAL", "DATA", 1 << 20, &b) == ES_OK && b.len == sizeof big &&
           memcmp(b.p, big, sizeof big) == 0,
       "reads back byte for byte");
    b.len = 0;
    ok(es_token_file_write(t, "SEAL", "DATA", es_slice_make("short", 5)) == ES_OK &&
           es_token_file_read(t, "SEAL", "DATA", 1 << 20, &b) == ES_OK && b.len == 5,
       "a rewrite replaces it whole");
    b.len = 0;
    ok(es_token_file_read(t, "SEAL", "DATA", 4, &b) == ES_ERR_LIMIT && b.len == 0,
       "a file over the caller's limit");
    ok(es_token_files(t, "SEAL", &b) == ES_OK && b.len == 5 && memcmp(b.p, "DATA\n", 5) == 0,
       "the file list");
    ok(es_token_file_write(t, "SEAL", "a-name-longer-than-thirty-two-bytes",
                           es_slice_make("x", 1)) == ES_ERR_ARG,
       "a name over 32 bytes is refused");
    ok(es_token_file_delete(t, "SEAL", "DATA") == ES_OK &&
           es_token_file_delete(t, "SEAL", "DATA") == ES_ERR_NOT_FOUND,
       "delete, then not found");
    b.len = 0;
    ok(es_token_file_read(t, "SEAL", "DATA", 1 << 20, &b) == ES_ERR_NOT_FOUND, "read: not found");

    /* The counter: a key in the token, its certificate and seal delivered into it. */
    ok(es_token_generate(t, &ref, pub) == ES_OK, "the seal key is generated in the token");
    ok(es_token_generate(t, &ref2, pub2) == ES_OK, "and another container's");
    es_buf cert = make_cert(pub, "RS44030500000011"), seal = make_seal(sl(&cert));
    es_buf cert2 = make_cert(pub2, "RS44030500000012"), seal2 = make_seal(sl(&cert2));
    es_err rv = es_token_seal_put(t, &ref, NULL, sl(&cert2), sl(&seal2), why, sizeof why);
    ok(rv == ES_ERR_KEY_MISMATCH, "a certificate of another key is refused: %s", why);
    rv = es_token_seal_put(t, &ref, NULL, sl(&cert), sl(&seal2), why, sizeof why);
    ok(rv == ES_ERR_SEAL_CERT, "a seal for another certificate is refused: %s", why);
    es_buf got_c, got_s;
    es_buf_init(&got_c, ES_MAX_CERT_DER);
    es_buf_init(&got_s, ES_MAX_SEAL_DER);
    rv = es_token_seal_get(t, &ref, NULL, &got_c, &got_s, why, sizeof why);
    ok(rv == ES_ERR_TOKEN_NO_SEAL && got_c.len == 0 && got_s.len == 0,
       "nothing was stored by the refusals: %s", es_err_str(rv));
    rv = es_token_seal_put(t, &ref, NULL, sl(&cert), sl(&seal), why, sizeof why);
    ok(rv == ES_OK, "the seal and certificate are delivered: %s %s", es_err_str(rv), why);
    rv = es_token_seal_put(t, &ref, NULL, sl(&cert), sl(&seal), why, sizeof why);
    ok(rv == ES_OK, "a retried delivery is the same delivery: %s", es_err_str(rv));
    b.len = 0;
    ok(es_token_files(t, "SEAL", &b) == ES_OK && b.len == 6 && memcmp(b.p, "ESEAL\n", 6) == 0,
       "one seal file, ESEAL");
    es_token_close(t);

    /* Read back by a fresh session, without a PIN. */
    if (es_token_open(&ref, &t) != ES_OK) die("open softskf");
    rv = es_token_seal_get(t, &ref, NULL, &got_c, &got_s, why, sizeof why);
    ok(rv == ES_OK && es_slice_eq(sl(&got_c), sl(&cert)) && es_slice_eq(sl(&got_s), sl(&seal)),
       "read back with no PIN: %s %s", es_err_str(rv), why);
    ok(es_seal_names_cert(sl(&seal), sl(&cert)) && !es_seal_names_cert(sl(&seal), sl(&cert2)),
       "es_seal_names_cert");
    got_c.len = got_s.len = 0;
    rv = es_token_seal_get(t, &ref, "OTHERFILE", &got_c, &got_s, why, sizeof why);
    ok(rv == ES_ERR_TOKEN_NO_SEAL, "another file name: no seal");
    /* The other container's certificate with this application's seal: the seal does not
     * name it. */
    if (es_token_login(t, "SEAL", &user, NULL) != ES_OK ||
        es_token_put_cert(t, &ref2, 1, sl(&cert2)))
        die("put cert");
    rv = es_token_seal_get(t, &ref2, NULL, &got_c, &got_s, why, sizeof why);
    ok(rv == ES_ERR_SEAL_CERT && got_c.len == 0, "a seal that is not the container's: %s (%s)",
       es_err_str(rv), why);
    es_token_close(t);

    es_buf_cleanup(&b);
    es_buf_cleanup(&got_c);
    es_buf_cleanup(&got_s);
    es_buf_cleanup(&cert);
    es_buf_cleanup(&seal);
    es_buf_cleanup(&cert2);
    es_buf_cleanup(&seal2);
}

int main(void)
{
    const char *sdf = getenv("ESEAL_SOFTSDF"), *skf = getenv("ESEAL_SOFTSKF");
    if (!sdf || !skf) die("ESEAL_SOFTSDF / ESEAL_SOFTSKF not set (run through ctest)");
    char dir[] = "/tmp/test_package.XXXXXX", sdfdir[64], skfdir[64];
    if (!mkdtemp(dir)) die("mkdtemp");
    snprintf(sdfdir, sizeof sdfdir, "%s/sdf", dir);
    snprintf(skfdir, sizeof skfdir, "%s/skf", dir);
    if (mkdir(sdfdir, 0700) != 0 || mkdir(skfdir, 0700) != 0) die("mkdir");
    setenv("SOFTSDF_DIR", sdfdir, 1);

    g_root = t_cert("root.crt");
    g_maker = t_cert("maker.crt");
    g_other_root = t_cert("otherroot.crt");
    g_root_key = t_signer("root.key");
    g_maker_key = t_signer("maker.key");
    uint8_t sys_pub[ES_SM2_PUB_LEN];
    if (es_sm2_key_generate(&g_sys_key) != ES_OK) die("key");
    es_sm2_key_pub(g_sys_key, sys_pub);
    g_sys_cert = make_cert(sys_pub, "application system");
    put_enc_key(sdfdir, 2, g_enc2);
    put_enc_key(sdfdir, 3, g_enc3);
    put_enc_key(sdfdir, 4, g_enc4);

    test_request();
    test_package(sdf);
    test_concurrent_import(sdf);
    test_token(skf, skfdir);

    es_sm2_key_free(g_sys_key);
    es_signer_free(g_root_key);
    es_signer_free(g_maker_key);
    es_buf_cleanup(&g_root);
    es_buf_cleanup(&g_maker);
    es_buf_cleanup(&g_other_root);
    es_buf_cleanup(&g_sys_cert);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return t_done();
}
