/* The seal core's signing paths through every key backend: a key in memory, the soft store,
 * SDF through softsdf.so and SKF through softskf.so (both loaded with dlopen, as a vendor's
 * library is). For each: make a seal, sign data, verify everything PASSED against the root,
 * and the negative cases (tampered data, tampered seal, wrong key for a certificate). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#include "eseal/keydev.h"
#include "eseal/seal.h"
#include "eseal/token.h"

static const char PASS[] = "backend passphrase";
static const char SO_PIN[] = "12345678";
static es_secret_src src_pass = {t_pin_get, (void *)PASS};
static es_secret_src src_so = {t_pin_get, (void *)SO_PIN};

/* Writes name's key encrypted under PASS to dir/file. */
static void store_key(const char *name, const char *dir, const char *file)
{
    es_sm2_key *k = t_key(name);
    es_buf pem;
    char path[4096];
    es_buf_init(&pem, 65536);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (es_sm2_key_to_pem(k, PASS, &pem) != ES_OK ||
        es_file_write_mode(path, pem.p, pem.len, 0600) != ES_OK)
        exit(2);
    es_buf_cleanup(&pem);
    es_sm2_key_free(k);
}

/* softskf: device TOKEN1, application SEAL (user PIN = PASS), containers MAKER and SIGNER
 * holding tests/data keys, imported as GB/T 35291 envelopes. */
static int provision_skf(const char *lib, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/TOKEN1", dir);
    if (mkdir(path, 0700) != 0) return 0;
    const char *containers[2] = {"MAKER", "SIGNER"}, *keys[2] = {"maker.key", "signer.key"};
    for (int i = 0; i < 2; i++) {
        char text[4200];
        es_keyref ref;
        es_token *t = NULL;
        uint8_t tpub[ES_SM2_PUB_LEN];
        snprintf(text, sizeof text, "skf:%s#TOKEN1/SEAL/%s", lib, containers[i]);
        if (es_keyref_parse(text, &ref) != ES_OK || es_token_open(&ref, &t) != ES_OK) return 0;
        if (i == 0 && es_token_app_create(t, "SEAL", &src_so, 0, &src_pass, 0) != ES_OK) return 0;
        es_sm2_key *k = t_key(keys[i]);
        es_buf blob;
        es_buf_init(&blob, 4096);
        int good = es_token_login(t, "SEAL", &src_pass, NULL) == ES_OK &&
                   es_token_generate(t, &ref, tpub) == ES_OK &&
                   es_token_envelope(k, tpub, &blob) == ES_OK &&
                   es_token_import(t, &ref, blob.p, blob.len) == ES_OK;
        es_buf_cleanup(&blob);
        es_sm2_key_free(k);
        es_token_close(t);
        if (!good) return 0;
    }
    return 1;
}

typedef struct backend {
    const char *name;
    char maker[4200];
    char signer[4200];
} backend;

static es_signer *open_signer(const backend *b, const char *ref, const char *pemfile)
{
    es_signer *s = NULL;
    if (!ref[0]) {
        if (es_signer_from_key(t_key(pemfile), &s) != ES_OK) return NULL;
        return s;
    }
    es_err rv = es_keydev_signer(ref, &src_pass, &s);
    ok(rv == ES_OK, "%s: signer %s (%s)", b->name, ref, es_err_str(rv));
    return rv == ES_OK ? s : NULL;
}

static const es_check *check_of(const es_report *r, const char *name)
{
    return r->n_entries == 1 ? es_entry_get(&r->entries[0], name) : NULL;
}

static es_result result_of(const es_report *r, const char *name)
{
    const es_check *c = check_of(r, name);
    return c ? c->result : (es_result)-1;
}

static void run(const backend *b, const es_trust *trust)
{
    es_signer *maker = open_signer(b, b->maker, "maker.key");
    es_signer *signer = open_signer(b, b->signer, "signer.key");
    if (!maker || !signer) {
        ok(0, "%s: signers not available", b->name);
        es_signer_free(maker);
        es_signer_free(signer);
        return;
    }
    es_buf mcert = t_cert("maker.crt"), scert = t_cert("signer.crt"), ocert = t_cert("other.crt");
    es_buf img = t_read(t_path("ESEAL_TESTDATA", "seal.png"));
    es_buf seal, sig;
    es_buf_init(&seal, 1 << 20);
    es_buf_init(&sig, 1 << 20);
    es_slice certs[1] = {es_slice_make(scert.p, scert.len)};
    es_time now = es_time_now();
    es_seal_params p = {.es_id = "37030000009999",
                        .type = 1,
                        .name = "后端测试章",
                        .signer_certs = certs,
                        .n_signer_certs = 1,
                        .create_date = ES_TIME_NONE,
                        .valid_start = now - 3600,
                        .valid_end = now + 86400,
                        .picture = es_slice_make(img.p, img.len),
                        .width_mm = 40,
                        .height_mm = 40,
                        .maker_cert = es_slice_make(mcert.p, mcert.len)};
    ok(es_seal_make(&p, maker, &seal) == ES_OK, "%s: make a seal", b->name);

    uint8_t h[32], other_h[32];
    ok(es_sm3("contract", 8, h) == ES_OK && es_sm3("contracT", 8, other_h) == ES_OK, "hashes");
    es_sign_params sp = {.seal = es_slice_make(seal.p, seal.len),
                         .time = ES_TIME_NONE,
                         .data_hash = h,
                         .property_info = "contract.txt",
                         .signer_cert = es_slice_make(scert.p, scert.len)};
    ok(es_signature_make(&sp, signer, &sig) == ES_OK, "%s: sign", b->name);

    es_report rep;
    es_verify_opts o = {.trust = trust, .now = ES_TIME_NONE, .data_sm3 = h};
    es_report_init(&rep);
    ok(es_signature_verify(es_slice_make(sig.p, sig.len), &o, &rep) == ES_OK, "verify");
    es_report_finish(&rep);
    ok(rep.indication == ES_PASSED && result_of(&rep, ES_CHECK_SIGNATURE) == ES_PASSED &&
           result_of(&rep, ES_CHECK_SEAL_SIGNATURE) == ES_PASSED &&
           result_of(&rep, ES_CHECK_CHAIN_TRUST) == ES_PASSED &&
           result_of(&rep, ES_CHECK_DATA_HASH) == ES_PASSED,
       "%s: the signature verifies, every check PASSED", b->name);
    es_report_cleanup(&rep);

    o.data_sm3 = other_h;
    es_report_init(&rep);
    ok(es_signature_verify(es_slice_make(sig.p, sig.len), &o, &rep) == ES_OK, "verify");
    es_report_finish(&rep);
    ok(rep.indication == ES_FAILED && result_of(&rep, ES_CHECK_DATA_HASH) == ES_FAILED,
       "%s: other data: data_hash FAILED", b->name);
    es_report_cleanup(&rep);

    /* A byte of the seal name inside the signature: both signatures fail. */
    size_t at = 0;
    for (size_t i = 0; i + 3 <= sig.len; i++)
        if (memcmp(sig.p + i, "后", 3) == 0) at = i;
    ok(at > 0, "%s: the seal name is inside the signature", b->name);
    sig.p[at + 2] ^= 1;
    o.data_sm3 = h;
    es_report_init(&rep);
    ok(es_signature_verify(es_slice_make(sig.p, sig.len), &o, &rep) == ES_OK, "verify");
    es_report_finish(&rep);
    ok(result_of(&rep, ES_CHECK_SEAL_SIGNATURE) == ES_FAILED &&
           result_of(&rep, ES_CHECK_SIGNATURE) == ES_FAILED,
       "%s: a changed seal name: seal_signature and signature FAILED", b->name);
    es_report_cleanup(&rep);

    /* The wrong key for a certificate is refused before anything is signed. */
    es_buf none;
    es_buf_init(&none, 1 << 20);
    es_seal_params wrong = p;
    wrong.maker_cert = es_slice_make(scert.p, scert.len);
    ok(es_seal_make(&wrong, maker, &none) == ES_ERR_KEY_MISMATCH && none.len == 0,
       "%s: maker key against another certificate: ES_ERR_KEY_MISMATCH", b->name);
    es_sign_params wsp = sp;
    wsp.seal = es_slice_make(seal.p, seal.len);
    sig.p[at + 2] ^= 1; /* restore */
    wsp.signer_cert = es_slice_make(ocert.p, ocert.len);
    ok(es_signature_make(&wsp, signer, &none) != ES_OK && none.len == 0,
       "%s: a certificate the seal does not list: refused", b->name);
    wsp.signer_cert = es_slice_make(scert.p, scert.len);
    ok(es_signature_make(&wsp, maker, &none) == ES_ERR_KEY_MISMATCH && none.len == 0,
       "%s: the maker's key for the signer's certificate: ES_ERR_KEY_MISMATCH", b->name);
    es_buf_cleanup(&none);

    es_buf_cleanup(&mcert);
    es_buf_cleanup(&scert);
    es_buf_cleanup(&ocert);
    es_buf_cleanup(&img);
    es_buf_cleanup(&seal);
    es_buf_cleanup(&sig);
    es_signer_free(maker);
    es_signer_free(signer);
}

int main(void)
{
    const char *sdf = getenv("ESEAL_SOFTSDF"), *skf = getenv("ESEAL_SOFTSKF");
    ok(sdf && skf, "ESEAL_SOFTSDF and ESEAL_SOFTSKF name the software devices");
    if (!sdf || !skf) return t_done();
    char base[] = "/tmp/eseal-backends-XXXXXX";
    if (!mkdtemp(base)) return 2;
    char soft_dir[256], sdf_dir[256], skf_dir[256];
    snprintf(soft_dir, sizeof soft_dir, "%s/soft", base);
    snprintf(sdf_dir, sizeof sdf_dir, "%s/sdf", base);
    snprintf(skf_dir, sizeof skf_dir, "%s/skf", base);
    if (mkdir(soft_dir, 0700) || mkdir(sdf_dir, 0700) || mkdir(skf_dir, 0700)) return 2;
    store_key("maker.key", soft_dir, "maker.key");
    store_key("signer.key", soft_dir, "signer.key");
    store_key("maker.key", sdf_dir, "sign1.key");
    store_key("signer.key", sdf_dir, "sign2.key");
    setenv("SOFTSDF_DIR", sdf_dir, 1);
    setenv("SOFTSKF_DIR", skf_dir, 1);
    ok(provision_skf(skf, skf_dir), "softskf provisioned through envelopes");

    es_trust *trust = NULL;
    es_buf root = t_read(t_path("ESEAL_TESTDATA", "root.crt"));
    ok(es_trust_new(&trust) == ES_OK && es_trust_add(trust, root.p, root.len, NULL) == ES_OK,
       "trust the test root");
    es_buf_cleanup(&root);

    /* The last: the maker's key on a crypto card, the signer's on a USBKey (issue 5). */
    backend bs[5] = {{.name = "memory"},
                     {.name = "soft"},
                     {.name = "sdf"},
                     {.name = "skf"},
                     {.name = "maker sdf + signer skf"}};
    snprintf(bs[1].maker, sizeof bs[1].maker, "soft:%s#maker", soft_dir);
    snprintf(bs[1].signer, sizeof bs[1].signer, "soft:%s#signer", soft_dir);
    snprintf(bs[2].maker, sizeof bs[2].maker, "sdf:%s#1", sdf);
    snprintf(bs[2].signer, sizeof bs[2].signer, "sdf:%s#2", sdf);
    snprintf(bs[3].maker, sizeof bs[3].maker, "skf:%s#TOKEN1/SEAL/MAKER", skf);
    snprintf(bs[3].signer, sizeof bs[3].signer, "skf:%s#TOKEN1/SEAL/SIGNER", skf);
    snprintf(bs[4].maker, sizeof bs[4].maker, "%s", bs[2].maker);
    snprintf(bs[4].signer, sizeof bs[4].signer, "%s", bs[3].signer);
    for (int i = 0; i < 5; i++) run(&bs[i], trust);
    es_trust_free(trust);

    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base);
    return t_done();
}
