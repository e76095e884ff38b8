/* keydev: key references, PIN sources, the soft key store, and device signers. The SDF and
 * SKF backends have their own tests (test_keydev_sdf.c, test_keydev_skf.c). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#include "eseal/keydev.h"
#include "eseal/seal.h"

static void test_keyref(void)
{
    es_keyref r;
    char out[4096];
    ok(es_keyref_parse("soft:/var/keys#maker", &r) == ES_OK && r.kind == ES_KEYDEV_SOFT &&
           strcmp(r.path, "/var/keys") == 0 && strcmp(r.name, "maker") == 0,
       "soft reference");
    es_keyref_format(&r, out, sizeof out);
    ok(strcmp(out, "soft:/var/keys#maker") == 0, "soft reference formats back: %s", out);
    ok(es_keyref_parse("sdf:/opt/libsdf.so#12", &r) == ES_OK && r.kind == ES_KEYDEV_SDF &&
           r.index == 12 && strcmp(r.path, "/opt/libsdf.so") == 0,
       "sdf reference");
    ok(es_keyref_parse("skf:libskf.so#TOKEN1/APP/CON", &r) == ES_OK && r.kind == ES_KEYDEV_SKF &&
           strcmp(r.device, "TOKEN1") == 0 && strcmp(r.application, "APP") == 0 &&
           strcmp(r.container, "CON") == 0,
       "skf reference");
    ok(es_keyref_parse("skf:libskf.so#/APP/CON", &r) == ES_OK && r.device[0] == 0,
       "skf reference with the first device");
    es_keyref_format(&r, out, sizeof out);
    ok(strcmp(out, "skf:libskf.so#/APP/CON") == 0, "skf formats back: %s", out);
    /* a path with '#' in a directory name: the last '#' separates */
    ok(es_keyref_parse("soft:/tmp/a#b#key", &r) == ES_OK && strcmp(r.path, "/tmp/a#b") == 0 &&
           strcmp(r.name, "key") == 0,
       "the last # separates");
    static const char *bad[] = {NULL,
                                "",
                                "soft",
                                "soft:",
                                "soft:dir",
                                "soft:#name",
                                "soft:dir#",
                                "soft:dir#../x",
                                "soft:dir#a/b",
                                "soft:dir#.hidden",
                                "sdf:lib#0",
                                "sdf:lib#x",
                                "sdf:lib#1x",
                                "sdf:lib#70000",
                                "sdf:lib#-1",
                                "skf:lib#a/b",
                                "skf:lib#a/b/c/d",
                                "skf:lib#a//c",
                                "skf:lib#a/b/",
                                "pkcs11:lib#1",
                                "SOFT:dir#k"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(es_keyref_parse(bad[i], &r) == ES_ERR_KEYREF, "refused: %s", bad[i] ? bad[i] : "NULL");
    char longref[3000];
    memset(longref, 'a', sizeof longref);
    memcpy(longref, "soft:", 5);
    longref[2000] = '#';
    longref[sizeof longref - 1] = 0;
    ok(es_keyref_parse(longref, &r) == ES_ERR_KEYREF, "over-long reference refused");
}

static void test_env_source(void)
{
    char buf[64];
    es_secret_src s = es_secret_env("ESEAL_TEST_PIN_VAR");
    unsetenv("ESEAL_TEST_PIN_VAR");
    ok(s.get(s.ctx, "x", buf, sizeof buf) == ES_ERR_PIN, "no variable: no PIN");
    setenv("ESEAL_TEST_PIN_VAR", "123456", 1);
    ok(s.get(s.ctx, "x", buf, sizeof buf) == ES_OK && strcmp(buf, "123456") == 0, "PIN from env");
    ok(s.get(s.ctx, "x", buf, 4) == ES_ERR_LIMIT, "PIN longer than the buffer refused");
    unsetenv("ESEAL_TEST_PIN_VAR");
}

static void test_soft(const char *dir)
{
    char ref_text[4200];
    snprintf(ref_text, sizeof ref_text, "soft:%s#k1", dir);
    es_keyref ref;
    es_keydev *d = NULL;
    uint8_t pub[ES_SM2_PUB_LEN], pub2[ES_SM2_PUB_LEN], e[32] = {1, 2, 3}, r[32], s[32];
    ok(es_keyref_parse(ref_text, &ref) == ES_OK, "parse %s", ref_text);
    ok(es_keydev_open(&ref, &d) == ES_OK, "open the store");
    if (!d) return;
    es_keydev_info info;
    ok(es_keydev_info_get(d, &info) == ES_OK && strcmp(info.kind, "soft") == 0 && info.can_generate,
       "info");
    es_secret_src shortpass = t_pin("short");
    ok(es_keydev_generate(d, &ref, &shortpass, pub) == ES_ERR_PIN, "a short passphrase refused");
    es_secret_src nopass = t_pin(NULL);
    ok(es_keydev_generate(d, &ref, &nopass, pub) == ES_ERR_PIN, "no passphrase refused");
    es_secret_src good = t_pin("correct horse battery");
    ok(es_keydev_generate(d, &ref, &good, pub) == ES_OK && pub[0] == 0x04, "generate");
    ok(es_keydev_generate(d, &ref, &good, pub2) == ES_ERR_EXISTS, "never overwrites a key");

    char path[4300];
    struct stat st;
    snprintf(path, sizeof path, "%s/k1.key", dir);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "key file is 0600");
    es_buf file = t_read(path);
    ok(es_buf_nul(&file) == ES_OK && strstr((char *)file.p, "ENCRYPTED PRIVATE KEY") != NULL,
       "key file is encrypted");
    es_buf_cleanup(&file);

    ok(es_keydev_public_key(d, &ref, pub2) == ES_ERR_LOGIN, "public key needs a login");
    ok(es_keydev_sign(d, &ref, e, r, s) == ES_ERR_LOGIN, "sign needs a login");
    es_secret_src wrong = t_pin("wrong horse battery");
    int retries = 7;
    ok(es_keydev_login(d, &ref, &wrong, &retries) == ES_ERR_PIN && retries == -1,
       "wrong passphrase: ES_ERR_PIN, no retry counter");
    ok(es_keydev_login(d, &ref, &good, NULL) == ES_OK, "login");
    ok(es_keydev_public_key(d, &ref, pub2) == ES_OK && memcmp(pub, pub2, sizeof pub) == 0,
       "public key after login equals the generated one");
    ok(es_keydev_sign(d, &ref, e, r, s) == ES_OK && es_sm2_verify_digest(pub, e, r, s) == ES_OK,
       "sign, verify");
    e[0] ^= 1;
    ok(es_sm2_verify_digest(pub, e, r, s) == ES_ERR_VERIFY, "another digest does not verify");

    es_buf ct, pt;
    es_buf_init(&ct, 4096);
    es_buf_init(&pt, 4096);
    ok(es_sm2_encrypt(pub, (const uint8_t *)"0123456789abcdef", 16, &ct) == ES_OK &&
           es_keydev_decrypt(d, &ref, ct.p, ct.len, &pt) == ES_OK && pt.len == 16 &&
           memcmp(pt.p, "0123456789abcdef", 16) == 0,
       "decrypt round trip");
    ct.p[ct.len - 1] ^= 1;
    pt.len = 0;
    ok(es_keydev_decrypt(d, &ref, ct.p, ct.len, &pt) != ES_OK, "tampered ciphertext refused");
    es_buf_cleanup(&ct);
    es_buf_cleanup(&pt);

    es_buf list;
    es_buf_init(&list, 4096);
    ok(es_keydev_list(d, &list) == ES_OK && es_buf_nul(&list) == ES_OK &&
           strcmp((char *)list.p, "k1\n") == 0,
       "list");
    es_buf_cleanup(&list);

    es_buf cert = t_read(t_path("ESEAL_TESTDATA", "signer.crt")), got;
    es_buf_init(&got, 65536);
    ok(es_keydev_get_cert(d, &ref, &got) == ES_ERR_NO_KEY, "no certificate yet");
    ok(es_keydev_put_cert(d, &ref, es_slice_make(cert.p, cert.len)) == ES_OK &&
           es_keydev_get_cert(d, &ref, &got) == ES_OK && got.len == cert.len &&
           memcmp(got.p, cert.p, cert.len) == 0,
       "certificate round trip");
    es_buf_cleanup(&cert);
    es_buf_cleanup(&got);
    ok(es_keydev_import_envelope(d, &ref, (const uint8_t *)"x", 1) == ES_ERR_UNSUPPORTED,
       "the soft store imports no envelopes");

    es_keyref missing;
    snprintf(ref_text, sizeof ref_text, "soft:%s#nokey", dir);
    ok(es_keyref_parse(ref_text, &missing) == ES_OK &&
           es_keydev_login(d, &missing, &good, NULL) == ES_ERR_NO_KEY,
       "login to a missing key: ES_ERR_NO_KEY");
    es_keydev_close(d);

    es_keyref nodir;
    es_keydev *d2 = NULL;
    ok(es_keyref_parse("soft:/nonexistent/eseal/dir#k", &nodir) == ES_OK &&
           es_keydev_open(&nodir, &d2) == ES_ERR_NOT_FOUND,
       "a missing directory: ES_ERR_NOT_FOUND");
}

/* A seal made through a device signer verifies: the soft store holds tests/data/maker.key. */
static void test_signer(const char *dir)
{
    es_buf pem = t_read(t_path("ESEAL_TESTDATA", "maker.key"));
    es_sm2_key *k = NULL;
    es_buf enc, path;
    es_buf_init(&enc, 65536);
    es_buf_init(&path, 8192);
    ok(es_sm2_key_from_pem(pem.p, pem.len, NULL, &k) == ES_OK &&
           es_sm2_key_to_pem(k, "maker passphrase", &enc) == ES_OK,
       "re-encrypt the maker key");
    ok(es_buf_printf(&path, "%s/maker.key", dir) == ES_OK && es_buf_nul(&path) == ES_OK &&
           es_file_write_mode((char *)path.p, enc.p, enc.len, 0600) == ES_OK,
       "store it");
    es_sm2_key_free(k);

    char ref[4200];
    snprintf(ref, sizeof ref, "soft:%s#maker", dir);
    es_signer *signer = NULL;
    es_secret_src bad = t_pin("not the passphrase");
    ok(es_keydev_signer(ref, &bad, &signer) == ES_ERR_PIN && signer == NULL,
       "signer with a wrong passphrase refused");
    es_secret_src good = t_pin("maker passphrase");
    ok(es_keydev_signer(ref, &good, &signer) == ES_OK && signer, "device signer");
    if (signer) {
        es_buf mc = t_read(t_path("ESEAL_TESTDATA", "maker.crt"));
        es_buf sc = t_read(t_path("ESEAL_TESTDATA", "signer.crt"));
        es_buf img = t_read(t_path("ESEAL_TESTDATA", "seal.png"));
        es_buf mder, sder, seal;
        es_buf_init(&mder, 65536);
        es_buf_init(&sder, 65536);
        es_buf_init(&seal, 1 << 20);
        es_slice certs[1];
        ok(es_cert_to_der(mc.p, mc.len, &mder) == ES_OK &&
               es_cert_to_der(sc.p, sc.len, &sder) == ES_OK,
           "certificates");
        certs[0] = es_slice_make(sder.p, sder.len);
        es_seal_params p = {.es_id = "37030000009999",
                            .type = 1,
                            .name = "测试印章",
                            .signer_certs = certs,
                            .n_signer_certs = 1,
                            .create_date = ES_TIME_NONE,
                            .valid_start = es_time_now() - 60,
                            .valid_end = es_time_now() + 86400,
                            .picture = es_slice_make(img.p, img.len),
                            .width_mm = 40,
                            .height_mm = 40,
                            .maker_cert = es_slice_make(mder.p, mder.len)};
        ok(es_seal_make(&p, signer, &seal) == ES_OK, "seal made through the soft device");
        es_report rep;
        es_report_init(&rep);
        es_verify_opts o = {.now = ES_TIME_NONE};
        ok(es_seal_verify(es_slice_make(seal.p, seal.len), &o, &rep) == ES_OK &&
               rep.n_entries == 1 &&
               es_entry_get(&rep.entries[0], ES_CHECK_SEAL_SIGNATURE)->result == ES_PASSED,
           "and its maker signature verifies");
        es_report_cleanup(&rep);
        es_buf_cleanup(&mc);
        es_buf_cleanup(&sc);
        es_buf_cleanup(&img);
        es_buf_cleanup(&mder);
        es_buf_cleanup(&sder);
        es_buf_cleanup(&seal);
    }
    es_signer_free(signer);
    ok(es_keydev_signer("nonsense", &good, &signer) == ES_ERR_KEYREF, "bad reference refused");
    es_buf_cleanup(&pem);
    es_buf_cleanup(&enc);
    es_buf_cleanup(&path);
}

int main(void)
{
    char dir[] = "/tmp/eseal-keydev-XXXXXX";
    if (!mkdtemp(dir)) return 2;
    test_keyref();
    test_env_source();
    test_soft(dir);
    test_signer(dir);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return t_done();
}
