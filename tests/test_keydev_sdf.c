/* keydev over SDF (GB/T 36322): the standard ABI of libsoftsdf.so called directly, then the
 * sdf: backend through the keydev API (open, info, login, list, public key, sign, decrypt),
 * seals and signatures made through sdf: signers and verified, and the failures: wrong
 * password, missing index, library that does not load, library without a required
 * function, bad key references, no device.
 *
 * The device directory is a fresh temporary SOFTSDF_DIR provisioned here:
 *   index 1: sign = tests/data/maker.key (so maker.crt is its certificate) with a .pub,
 *            enc = a fresh key; both under PASS1
 *   index 2: sign = tests/data/signer.key with a .pub, under PASS2
 *   index 3: sign = a fresh key without a .pub, under PASS3 */
#include "test.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

#include "eseal/keydev.h"
#include "eseal/sdf.h"
#include "eseal/seal.h"

#define PASS1 "maker-access-1"
#define PASS2 "signer-access-2"
#define PASS3 "third-access-3"

static char dir[256];
static const char *lib, *broken;
static es_sm2_key *maker_key, *signer_key, *enc1_key, *key3;
static uint8_t maker_pub[ES_SM2_PUB_LEN], signer_pub[ES_SM2_PUB_LEN], enc1_pub[ES_SM2_PUB_LEN],
    pub3[ES_SM2_PUB_LEN];

static void die(const char *what)
{
    fprintf(stderr, "setup: %s\n", what);
    exit(2);
}

static es_slice sl(const es_buf *b)
{
    return es_slice_make(b->p, b->len);
}

static void path_in_dir(char *out, size_t n, const char *file)
{
    snprintf(out, n, "%s/%s", dir, file);
}

/* Writes k as dir/file, encrypted under pass (the soft store's format). */
static void provision(const es_sm2_key *k, const char *file, const char *pass)
{
    char path[512];
    es_buf pem;
    es_buf_init(&pem, ES_MAX_KEY_FILE);
    path_in_dir(path, sizeof path, file);
    if (es_sm2_key_to_pem(k, pass, &pem) != ES_OK ||
        es_file_write_mode(path, pem.p, pem.len, 0600) != ES_OK)
        die(file);
    es_buf_cleanup_secret(&pem);
}

static void provision_pub(const es_sm2_key *k, const char *file)
{
    char path[512];
    es_buf pem;
    es_buf_init(&pem, ES_MAX_KEY_FILE);
    path_in_dir(path, sizeof path, file);
    if (es_sm2_key_pub_pem(k, &pem) != ES_OK || es_file_write(path, pem.p, pem.len) != ES_OK)
        die(file);
    es_buf_cleanup(&pem);
}

static int file_exists(const char *file)
{
    char path[512];
    path_in_dir(path, sizeof path, file);
    return access(path, F_OK) == 0;
}

static void setup(void)
{
    lib = getenv("ESEAL_SOFTSDF");
    broken = getenv("ESEAL_BROKEN_SDF");
    if (!lib || !broken) die("ESEAL_SOFTSDF / ESEAL_BROKEN_SDF not set (run through ctest)");
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/eseal-sdf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) die("mkdtemp");
    if (setenv("SOFTSDF_DIR", dir, 1) != 0) die("setenv");
    maker_key = t_key("maker.key");
    signer_key = t_key("signer.key");
    if (es_sm2_key_generate(&enc1_key) != ES_OK || es_sm2_key_generate(&key3) != ES_OK)
        die("generate");
    es_sm2_key_pub(maker_key, maker_pub);
    es_sm2_key_pub(signer_key, signer_pub);
    es_sm2_key_pub(enc1_key, enc1_pub);
    es_sm2_key_pub(key3, pub3);
    provision(maker_key, "sign1.key", PASS1);
    provision_pub(maker_key, "sign1.pub");
    provision(enc1_key, "enc1.key", PASS1);
    provision(signer_key, "sign2.key", PASS2);
    provision_pub(signer_key, "sign2.pub");
    provision(key3, "sign3.key", PASS3);
}

static void teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[1024];
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(dir);
    es_sm2_key_free(maker_key);
    es_sm2_key_free(signer_key);
    es_sm2_key_free(enc1_key);
    es_sm2_key_free(key3);
}

static void ref_of(char *out, size_t n, const char *library, unsigned index)
{
    snprintf(out, n, "sdf:%s#%u", library, index);
}

static void digest_of(const char *msg, const uint8_t pub[ES_SM2_PUB_LEN], uint8_t e[32])
{
    if (es_sm2_digest(pub, ES_SM2_DEFAULT_ID, 16, msg, strlen(msg), e) != ES_OK) die("digest");
}

/* --- the ABI of libsoftsdf.so, called directly --- */

typedef struct abi {
    void *h;
    SDF_OpenDevice_fn OpenDevice;
    SDF_CloseDevice_fn CloseDevice;
    SDF_OpenSession_fn OpenSession;
    SDF_CloseSession_fn CloseSession;
    SDF_GetDeviceInfo_fn GetDeviceInfo;
    SDF_GenerateRandom_fn GenerateRandom;
    SDF_GetPrivateKeyAccessRight_fn GetPrivateKeyAccessRight;
    SDF_ReleasePrivateKeyAccessRight_fn ReleasePrivateKeyAccessRight;
    SDF_ExportSignPublicKey_ECC_fn ExportSignPublicKey_ECC;
    SDF_ExportEncPublicKey_ECC_fn ExportEncPublicKey_ECC;
    SDF_InternalSign_ECC_fn InternalSign_ECC;
    SDF_ExternalVerify_ECC_fn ExternalVerify_ECC;
    SDF_ExternalEncrypt_ECC_fn ExternalEncrypt_ECC;
    SDF_InternalDecrypt_ECC_fn InternalDecrypt_ECC;
} abi;

static void *sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p) die(name);
    return p;
}

#define LOAD(a, n) memcpy(&(a)->n, &(void *){sym((a)->h, "SDF_" #n)}, sizeof(void *))

static void abi_load(abi *a)
{
    memset(a, 0, sizeof *a);
    a->h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!a->h) die(dlerror());
    LOAD(a, OpenDevice);
    LOAD(a, CloseDevice);
    LOAD(a, OpenSession);
    LOAD(a, CloseSession);
    LOAD(a, GetDeviceInfo);
    LOAD(a, GenerateRandom);
    LOAD(a, GetPrivateKeyAccessRight);
    LOAD(a, ReleasePrivateKeyAccessRight);
    LOAD(a, ExportSignPublicKey_ECC);
    LOAD(a, ExportEncPublicKey_ECC);
    LOAD(a, InternalSign_ECC);
    LOAD(a, ExternalVerify_ECC);
    LOAD(a, ExternalEncrypt_ECC);
    LOAD(a, InternalDecrypt_ECC);
}

static int right_aligned(const unsigned char f[ECCref_MAX_LEN])
{
    for (int i = 0; i < ECCref_MAX_LEN - 32; i++)
        if (f[i]) return 0;
    return 1;
}

static int ref_is(const ECCrefPublicKey *pk, const uint8_t pub[ES_SM2_PUB_LEN])
{
    return pk->bits == 256 && right_aligned(pk->x) && right_aligned(pk->y) &&
           memcmp(pk->x + 32, pub + 1, 32) == 0 && memcmp(pk->y + 32, pub + 33, 32) == 0;
}

static int access_right(abi *a, void *sess, unsigned index, const char *pass)
{
    return a->GetPrivateKeyAccessRight(sess, index, (unsigned char *)pass, (unsigned)strlen(pass));
}

static void test_abi_device(abi *a)
{
    void *dev = NULL, *sess = NULL;
    /* The device is SOFTSDF_DIR: unset, or not a directory, is no device. */
    unsetenv("SOFTSDF_DIR");
    ok(a->OpenDevice(&dev) == (int)SDR_OPENDEVICE && !dev, "abi: no SOFTSDF_DIR");
    setenv("SOFTSDF_DIR", "/nonexistent/softsdf", 1);
    ok(a->OpenDevice(&dev) == (int)SDR_OPENDEVICE, "abi: missing SOFTSDF_DIR");
    setenv("SOFTSDF_DIR", t_path("ESEAL_TESTDATA", "maker.crt"), 1);
    ok(a->OpenDevice(&dev) == (int)SDR_OPENDEVICE, "abi: SOFTSDF_DIR is a file");
    setenv("SOFTSDF_DIR", dir, 1);
    ok(a->OpenDevice(NULL) == (int)SDR_INARGERR, "abi: NULL handle pointer");

    ok(a->OpenDevice(&dev) == SDR_OK && dev, "abi: open device");
    ok(a->OpenSession(dev, &sess) == SDR_OK && sess, "abi: open session");
    ok(a->OpenSession(NULL, &sess) == (int)SDR_INARGERR, "abi: session needs a device");

    DEVICEINFO di;
    memset(&di, 0xee, sizeof di);
    ok(a->GetDeviceInfo(sess, &di) == SDR_OK, "abi: device info");
    ok(memcmp(di.IssuerName, "eseal\0", 6) == 0 && memcmp(di.DeviceName, "softsdf\0", 8) == 0,
       "abi: issuer and name");
    ok(di.AsymAlgAbility[0] == (SGD_SM2_1 | SGD_SM2_3) && di.AsymAlgAbility[1] == 256,
       "abi: SM2 abilities");
    ok(sizeof(DEVICEINFO) == 40 + 16 + 16 + 4 * 7, "abi: DEVICEINFO is packed");
    ok(sizeof(ECCrefPublicKey) == 132 && sizeof(ECCSignature) == 128 &&
           offsetof(ECCCipher, L) == 160 && offsetof(ECCCipher, C) == 164,
       "abi: ECC structure layout");

    unsigned char r1[32], r2[32];
    memset(r1, 0, sizeof r1);
    memset(r2, 0, sizeof r2);
    ok(a->GenerateRandom(sess, 32, r1) == SDR_OK && a->GenerateRandom(sess, 32, r2) == SDR_OK &&
           memcmp(r1, r2, 32) != 0,
       "abi: random");
    ok(a->GenerateRandom(sess, 32, NULL) == (int)SDR_INARGERR, "abi: random into NULL");

    ok(a->CloseSession(sess) == SDR_OK, "abi: close session");
    ok(a->CloseDevice(dev) == SDR_OK, "abi: close device");
}

static void test_abi_keys(abi *a)
{
    void *dev = NULL, *s1 = NULL, *s2 = NULL;
    ECCrefPublicKey pk;
    ECCSignature sig;
    uint8_t e[32];
    if (a->OpenDevice(&dev) != SDR_OK || a->OpenSession(dev, &s1) != SDR_OK ||
        a->OpenSession(dev, &s2) != SDR_OK)
        die("abi: open");
    digest_of("abi message", maker_pub, e);

    /* Public keys export without an access right (from sign1.pub). */
    memset(&pk, 0xee, sizeof pk);
    ok(a->ExportSignPublicKey_ECC(s1, 1, &pk) == SDR_OK && ref_is(&pk, maker_pub),
       "abi: export sign public key 1, right-aligned, 256 bits");
    ok(a->ExportSignPublicKey_ECC(s1, 9, &pk) == (int)SDR_KEYNOTEXIST, "abi: no key 9");
    ok(a->ExportSignPublicKey_ECC(s1, 0, &pk) == (int)SDR_KEYNOTEXIST, "abi: no key 0");
    ok(a->ExportSignPublicKey_ECC(s1, 1, NULL) == (int)SDR_INARGERR, "abi: export to NULL");
    /* Index 3 has no .pub: without the right the device will not say. */
    ok(a->ExportSignPublicKey_ECC(s1, 3, &pk) == (int)SDR_PARDENY, "abi: key 3 needs a right");
    ok(!file_exists("sign3.pub"), "abi: no sign3.pub yet");
    ok(a->ExportEncPublicKey_ECC(s1, 2, &pk) == (int)SDR_KEYNOTEXIST, "abi: no enc key 2");
    ok(a->ExportEncPublicKey_ECC(s1, 1, &pk) == (int)SDR_PARDENY && !file_exists("enc1.pub"),
       "abi: enc key 1 has no .pub yet: needs a right");

    /* Signing needs the access right. */
    ok(a->InternalSign_ECC(s1, 1, e, 32, &sig) == (int)SDR_PARDENY, "abi: sign without right");
    ok(access_right(a, s1, 1, "wrong password") == (int)SDR_PARDENY, "abi: wrong password");
    ok(a->InternalSign_ECC(s1, 1, e, 32, &sig) == (int)SDR_PARDENY, "abi: still no right");
    ok(access_right(a, s1, 1, "") == (int)SDR_PARDENY, "abi: empty password");
    ok(access_right(a, s1, 9, PASS1) == (int)SDR_KEYNOTEXIST, "abi: right on missing index");
    ok(access_right(a, s1, 2, PASS1) == (int)SDR_PARDENY, "abi: password of another index");
    ok(a->GetPrivateKeyAccessRight(s1, 1, (unsigned char *)"maker\0access-1", 14) ==
           (int)SDR_PARDENY,
       "abi: password with a NUL");
    ok(access_right(a, s1, 1, PASS1) == SDR_OK, "abi: right on index 1");
    ok(access_right(a, s1, 1, PASS1) == SDR_OK, "abi: right again on index 1");

    memset(&sig, 0xee, sizeof sig);
    ok(a->InternalSign_ECC(s1, 1, e, 32, &sig) == SDR_OK, "abi: sign");
    ok(right_aligned(sig.r) && right_aligned(sig.s), "abi: r and s right-aligned");
    ok(es_sm2_verify_digest(maker_pub, e, sig.r + 32, sig.s + 32) == ES_OK,
       "abi: signature verifies in software");
    ok(a->InternalSign_ECC(s1, 1, e, 31, &sig) == (int)SDR_INARGERR, "abi: 31-byte digest");
    ok(a->InternalSign_ECC(s1, 1, e, 33, &sig) == (int)SDR_INARGERR, "abi: 33-byte digest");
    ok(a->InternalSign_ECC(s1, 1, NULL, 32, &sig) == (int)SDR_INARGERR, "abi: NULL digest");

    /* External verification. */
    if (a->InternalSign_ECC(s1, 1, e, 32, &sig) != SDR_OK ||
        a->ExportSignPublicKey_ECC(s1, 1, &pk) != SDR_OK)
        die("abi: sign");
    ok(a->ExternalVerify_ECC(s2, SGD_SM2_1, &pk, e, 32, &sig) == SDR_OK, "abi: external verify");
    ok(a->ExternalVerify_ECC(s2, SGD_SM2_3, &pk, e, 32, &sig) == (int)SDR_ALGNOTSUPPORT,
       "abi: verify with the encryption algorithm");
    ok(a->ExternalVerify_ECC(s2, SGD_SM2_1, &pk, e, 31, &sig) == (int)SDR_INARGERR,
       "abi: verify a short digest");
    e[5] ^= 1;
    ok(a->ExternalVerify_ECC(s2, SGD_SM2_1, &pk, e, 32, &sig) == (int)SDR_VERIFYERR,
       "abi: verify another digest");
    e[5] ^= 1;
    sig.s[63] ^= 1;
    ok(a->ExternalVerify_ECC(s2, SGD_SM2_1, &pk, e, 32, &sig) == (int)SDR_VERIFYERR,
       "abi: verify a tampered s");
    sig.s[63] ^= 1;
    sig.r[0] = 1;
    ok(a->ExternalVerify_ECC(s2, SGD_SM2_1, &pk, e, 32, &sig) == (int)SDR_VERIFYERR,
       "abi: verify r that is not right-aligned");

    /* Sessions are independent: s2 has no right on index 1. */
    ok(a->InternalSign_ECC(s2, 1, e, 32, &sig) == (int)SDR_PARDENY,
       "abi: another session has no right");

    /* Encryption key of index 1: export, encrypt outside, decrypt inside. */
    ok(file_exists("enc1.pub"), "abi: the right wrote enc1.pub");
    ok(a->ExportEncPublicKey_ECC(s2, 1, &pk) == SDR_OK && ref_is(&pk, enc1_pub),
       "abi: another session exports enc key 1 from enc1.pub");
    static const char msg[] = "a session key, say";
    size_t clen = sizeof msg - 1;
    ECCCipher *c = calloc(1, offsetof(ECCCipher, C) + clen);
    unsigned char plain[64];
    unsigned plen = 0;
    if (!c) die("calloc");
    ok(a->ExternalEncrypt_ECC(s2, SGD_SM2_3, &pk, (unsigned char *)msg, (unsigned)clen, c) ==
           SDR_OK,
       "abi: external encrypt");
    ok(c->L == clen && right_aligned(c->x) && right_aligned(c->y), "abi: cipher layout");
    ok(a->ExternalEncrypt_ECC(s2, SGD_SM2_1, &pk, (unsigned char *)msg, (unsigned)clen, c) ==
           (int)SDR_ALGNOTSUPPORT,
       "abi: encrypt with the signature algorithm");
    ok(a->InternalDecrypt_ECC(s2, 1, SGD_SM2_3, c, plain, &plen) == (int)SDR_PARDENY,
       "abi: decrypt without right");
    ok(a->InternalDecrypt_ECC(s1, 1, SGD_SM2_3, c, plain, &plen) == SDR_OK && plen == clen &&
           memcmp(plain, msg, clen) == 0,
       "abi: internal decrypt");
    ok(a->InternalDecrypt_ECC(s1, 1, SGD_SM2_1, c, plain, &plen) == (int)SDR_ENCDATAERR,
       "abi: decrypt with the signing key");
    ok(a->InternalDecrypt_ECC(s1, 1, SGD_SM4_ECB, c, plain, &plen) == (int)SDR_ALGNOTSUPPORT,
       "abi: decrypt with SM4");
    c->M[0] ^= 1;
    ok(a->InternalDecrypt_ECC(s1, 1, SGD_SM2_3, c, plain, &plen) == (int)SDR_ENCDATAERR,
       "abi: decrypt a tampered C3");
    free(c);

    /* Index 3: the first right writes sign3.pub; then it exports without a right. */
    ok(access_right(a, s2, 3, PASS3) == SDR_OK, "abi: right on index 3");
    ok(file_exists("sign3.pub"), "abi: sign3.pub written");
    ok(a->ExportSignPublicKey_ECC(s1, 3, &pk) == SDR_OK && ref_is(&pk, pub3),
       "abi: key 3 exports without a right now");

    /* Release. */
    ok(a->ReleasePrivateKeyAccessRight(s1, 1) == SDR_OK, "abi: release");
    digest_of("abi message", maker_pub, e);
    ok(a->InternalSign_ECC(s1, 1, e, 32, &sig) == (int)SDR_PARDENY, "abi: no right after release");
    ok(a->ReleasePrivateKeyAccessRight(s1, 1) == SDR_OK, "abi: release twice");
    ok(a->InternalSign_ECC(s2, 3, e, 32, &sig) == SDR_OK && right_aligned(sig.r) &&
           es_sm2_verify_digest(pub3, e, sig.r + 32, sig.s + 32) == ES_OK,
       "abi: index 3 signs in its own session");

    /* A .pub that belongs to another key is refused at the right. */
    provision_pub(signer_key, "sign3.pub");
    ok(access_right(a, s1, 3, PASS3) == (int)SDR_KEYERR, "abi: sign3.pub of another key");
    ok(a->ExportSignPublicKey_ECC(s1, 3, &pk) == SDR_OK && ref_is(&pk, signer_pub),
       "abi: without a right, export reads the file as it is");
    {
        char path[512];
        path_in_dir(path, sizeof path, "sign3.pub");
        unlink(path);
    }
    ok(access_right(a, s1, 3, PASS3) == SDR_OK && file_exists("sign3.pub"),
       "abi: a deleted .pub is written again at the next right");

    /* An unencrypted key file is refused: a password must protect it. */
    {
        char path[512];
        es_buf pem;
        es_buf_init(&pem, ES_MAX_KEY_FILE);
        path_in_dir(path, sizeof path, "sign7.key");
        if (es_sm2_key_to_pem(key3, NULL, &pem) != ES_OK ||
            es_file_write_mode(path, pem.p, pem.len, 0600) != ES_OK)
            die("sign7.key");
        es_buf_cleanup_secret(&pem);
        ok(access_right(a, s1, 7, "anything") == (int)SDR_KEYERR, "abi: plaintext key refused");
        unlink(path);
    }

    ok(a->CloseSession(s1) == SDR_OK && a->CloseSession(s2) == SDR_OK,
       "abi: close sessions holding rights");
    ok(a->CloseDevice(dev) == SDR_OK, "abi: close device");
}

/* --- the sdf: backend --- */

static void test_open_info(void)
{
    char ref[1200];
    es_keyref kr;
    es_keydev *d = NULL;
    es_keydev_info info;
    ref_of(ref, sizeof ref, lib, 1);
    ok(es_keyref_parse(ref, &kr) == ES_OK && kr.kind == ES_KEYDEV_SDF && kr.index == 1,
       "keyref parses");
    ok(es_keydev_open(&kr, &d) == ES_OK, "open %s", ref);
    if (!d) return;
    ok(es_keydev_info_get(d, &info) == ES_OK, "info");
    ok(strcmp(info.kind, "sdf") == 0 && strcmp(info.manufacturer, "eseal") == 0 &&
           strcmp(info.label, "softsdf") == 0 && strlen(info.serial) == 16,
       "info: kind %s, manufacturer %s, label %s, serial %s", info.kind, info.manufacturer,
       info.label, info.serial);
    /* softsdf exports the vendor import extension SDF_ImportKeyPair_ECC (eseal/sdf.h). */
    ok(info.can_decrypt == 1 && info.can_generate == 0 && info.can_import == 1,
       "info: decrypt and import yes, generate no");
    es_keydev_close(d);
}

static void test_login(void)
{
    char ref[1200];
    es_keyref kr, k9;
    es_keydev *d = NULL;
    es_secret_src good = t_pin(PASS1), bad = t_pin("not the password"), none = {NULL, NULL};
    int retries = 5;
    uint8_t pub[ES_SM2_PUB_LEN], e[32], r[32], s[32];
    ref_of(ref, sizeof ref, lib, 1);
    if (es_keyref_parse(ref, &kr) != ES_OK || es_keydev_open(&kr, &d) != ES_OK) {
        ok(0, "open for login");
        return;
    }
    ref_of(ref, sizeof ref, lib, 9);
    if (es_keyref_parse(ref, &k9) != ES_OK) die("keyref 9");
    digest_of("login test", maker_pub, e);

    ok(es_keydev_public_key(d, &kr, pub) == ES_OK && memcmp(pub, maker_pub, sizeof pub) == 0,
       "public key without login");
    ok(es_keydev_sign(d, &kr, e, r, s) == ES_ERR_LOGIN, "sign before login: ES_ERR_LOGIN");
    ok(es_keydev_login(d, &kr, &bad, &retries) == ES_ERR_PIN, "wrong password: ES_ERR_PIN");
    ok(retries == -1, "no retry counter in SDF");
    ok(strstr(es_keydev_last_error(), "SDR_PARDENY") != NULL, "last error names SDR_PARDENY: %s",
       es_keydev_last_error());
    ok(es_keydev_login(d, &kr, &none, NULL) == ES_ERR_PIN, "no PIN source: ES_ERR_PIN");
    ok(es_keydev_login(d, &k9, &good, NULL) == ES_ERR_NO_KEY, "missing index: ES_ERR_NO_KEY");
    ok(es_keydev_public_key(d, &k9, pub) == ES_ERR_NO_KEY, "public key of index 9: none");
    ok(es_keydev_sign(d, &k9, e, r, s) == ES_ERR_LOGIN, "sign with index 9: no right");
    ok(es_keydev_login(d, &kr, &good, NULL) == ES_OK, "right password");
    ok(es_keydev_login(d, &kr, &good, NULL) == ES_OK, "login twice");

    memset(r, 0, sizeof r);
    ok(es_keydev_sign(d, &kr, e, r, s) == ES_OK, "sign");
    ok(es_sm2_verify_digest(pub, e, r, s) == ES_OK, "signature verifies with the exported key");
    e[0] ^= 1;
    ok(es_sm2_verify_digest(pub, e, r, s) == ES_ERR_VERIFY, "but not over another digest");
    ok(es_sm2_verify_digest(signer_pub, e, r, s) == ES_ERR_VERIFY, "nor with another key");

    /* What SDF cannot do. */
    es_buf b;
    es_buf_init(&b, 1 << 16);
    ok(es_keydev_generate(d, &kr, &good, pub) == ES_ERR_UNSUPPORTED, "generate: unsupported");
    /* Envelope import is the vendor extension (tests/test_package.c imports real ones). */
    ok(es_keydev_import_envelope(d, &kr, (const uint8_t *)"x", 1) == ES_ERR_FORMAT,
       "import envelope: one byte is not an envelope");
    ok(es_keydev_put_cert(d, &kr, es_slice_make("x", 1)) == ES_ERR_UNSUPPORTED,
       "put cert: unsupported");
    ok(es_keydev_get_cert(d, &kr, &b) == ES_ERR_UNSUPPORTED, "get cert: unsupported");
    es_buf_cleanup(&b);
    es_keydev_close(d);
}

static void test_list(void)
{
    char ref[1200];
    es_keyref kr;
    es_keydev *d = NULL;
    es_buf b;
    es_buf_init(&b, 1 << 16);
    ref_of(ref, sizeof ref, lib, 1);
    if (es_keyref_parse(ref, &kr) != ES_OK || es_keydev_open(&kr, &d) != ES_OK) {
        ok(0, "open for list");
        return;
    }
    ok(es_keydev_list(d, &b) == ES_OK && es_buf_nul(&b) == ES_OK, "list");
    /* Index 3 has had its .pub written by the ABI tests; 7 and 9 have no key. */
    ok(b.len == 6 && memcmp(b.p, "1\n2\n3\n", 6) == 0, "list is 1, 2, 3: \"%.*s\"", (int)b.len,
       (const char *)b.p);
    es_buf_cleanup(&b);
    es_keydev_close(d);
}

static void test_list_hidden(void)
{
    /* Before anyone took the right on index 3 (no sign3.pub), the list does not show it. */
    char ref[1200];
    es_keyref kr;
    es_keydev *d = NULL;
    es_buf b;
    es_buf_init(&b, 1 << 16);
    ref_of(ref, sizeof ref, lib, 2);
    if (es_keyref_parse(ref, &kr) != ES_OK || es_keydev_open(&kr, &d) != ES_OK) {
        ok(0, "open for list");
        return;
    }
    ok(es_keydev_list(d, &b) == ES_OK, "list before index 3 has a .pub");
    ok(b.len == 4 && memcmp(b.p, "1\n2\n", 4) == 0, "list is 1, 2: \"%.*s\"", (int)b.len,
       (const char *)b.p);
    es_buf_cleanup(&b);
    es_keydev_close(d);
}

static void test_decrypt(void)
{
    char ref[1200];
    es_keyref kr, k2;
    es_keydev *d = NULL;
    es_secret_src good = t_pin(PASS1), good2 = t_pin(PASS2);
    es_buf ct, pt;
    static const char msg[] = "SM4 key 0123456789abcdef, wrapped for the device";
    es_buf_init(&ct, 1 << 16);
    es_buf_init(&pt, 1 << 16);
    ref_of(ref, sizeof ref, lib, 1);
    if (es_keyref_parse(ref, &kr) != ES_OK || es_keydev_open(&kr, &d) != ES_OK) {
        ok(0, "open for decrypt");
        return;
    }
    ref_of(ref, sizeof ref, lib, 2);
    if (es_keyref_parse(ref, &k2) != ES_OK) die("keyref 2");
    if (es_sm2_encrypt(enc1_pub, (const uint8_t *)msg, sizeof msg - 1, &ct) != ES_OK)
        die("encrypt");
    ok(es_keydev_decrypt(d, &kr, ct.p, ct.len, &pt) == ES_ERR_LOGIN, "decrypt before login");
    if (es_keydev_login(d, &kr, &good, NULL) != ES_OK) die("login 1");
    ok(es_keydev_decrypt(d, &kr, ct.p, ct.len, &pt) == ES_OK && pt.len == sizeof msg - 1 &&
           memcmp(pt.p, msg, pt.len) == 0,
       "decrypt round trip (es_sm2_encrypt to the encryption key of index 1)");
    es_buf_cleanup(&pt);
    ok(es_keydev_decrypt(d, &kr, ct.p, ct.len - 1, &pt) == ES_ERR_FORMAT, "truncated ciphertext");
    ok(es_keydev_decrypt(d, &kr, (const uint8_t *)"\x30\x00", 2, &pt) == ES_ERR_FORMAT,
       "empty SEQUENCE");
    /* C2 is the last bytes of the DER: flip one and C3 no longer matches. */
    ct.p[ct.len - 1] ^= 1;
    ok(es_keydev_decrypt(d, &kr, ct.p, ct.len, &pt) == ES_ERR_VERIFY, "tampered C2: ES_ERR_VERIFY");
    ct.p[ct.len - 1] ^= 1;
    /* Index 2 has no encryption key. */
    if (es_keydev_login(d, &k2, &good2, NULL) != ES_OK) die("login 2");
    ok(es_keydev_decrypt(d, &k2, ct.p, ct.len, &pt) == ES_ERR_NO_KEY,
       "index 2 has no encryption key");
    /* Encrypted to the signing key of index 1: the encryption key cannot open it. */
    es_buf_cleanup(&ct);
    if (es_sm2_encrypt(maker_pub, (const uint8_t *)msg, sizeof msg - 1, &ct) != ES_OK)
        die("encrypt");
    ok(es_keydev_decrypt(d, &kr, ct.p, ct.len, &pt) == ES_ERR_VERIFY,
       "ciphertext for the signing key");
    ok(pt.len == 0, "nothing written on failure");
    es_buf_cleanup(&ct);
    es_buf_cleanup(&pt);
    es_keydev_close(d);
}

/* --- seals and signatures made through sdf: signers --- */

static void test_seal(void)
{
    char ref1[1200], ref2[1200];
    es_secret_src p1 = t_pin(PASS1), p2 = t_pin(PASS2), bad = t_pin("nope");
    es_signer *maker = NULL, *signer = NULL, *x = NULL;
    es_buf maker_cert = t_cert("maker.crt"), signer_cert = t_cert("signer.crt");
    es_buf png = t_read(t_path("ESEAL_TESTDATA", "seal.png"));
    es_buf rootpem = t_read(t_path("ESEAL_TESTDATA", "root.crt"));
    es_buf seal, sig;
    es_trust *trust = NULL;
    int added = 0;
    es_buf_init(&seal, ES_MAX_SEAL_DER);
    es_buf_init(&sig, ES_MAX_SEAL_DER);
    if (es_trust_new(&trust) != ES_OK ||
        es_trust_add(trust, rootpem.p, rootpem.len, &added) != ES_OK || added != 1)
        die("trust");
    ref_of(ref1, sizeof ref1, lib, 1);
    ref_of(ref2, sizeof ref2, lib, 2);

    ok(es_keydev_signer(ref1, &bad, &x) == ES_ERR_PIN && !x, "signer with a wrong password");
    ok(es_keydev_signer(ref1, &p1, &maker) == ES_OK && maker, "maker signer %s", ref1);
    ok(es_keydev_signer(ref2, &p2, &signer) == ES_OK && signer, "signer signer %s", ref2);
    if (!maker || !signer) goto out;
    ok(memcmp(maker->pub, maker_pub, ES_SM2_PUB_LEN) == 0, "maker signer's public key");
    ok(es_cert_matches_pub(sl(&maker_cert), maker->pub) == ES_OK, "maker.crt matches index 1");

    es_time now = es_time_now();
    es_slice certs[1] = {sl(&signer_cert)};
    es_seal_params sp;
    memset(&sp, 0, sizeof sp);
    sp.vid = "eseal-test";
    sp.es_id = "37030000001721";
    sp.type = 1;
    sp.name = "某某市人力资源和社会保障局";
    sp.signer_certs = certs;
    sp.n_signer_certs = 1;
    sp.create_date = now;
    sp.valid_start = now - 3600;
    sp.valid_end = now + 86400 * 365;
    sp.picture = sl(&png);
    sp.width_mm = 40;
    sp.height_mm = 40;
    sp.maker_cert = sl(&maker_cert);
    ok(es_seal_make(&sp, maker, &seal) == ES_OK, "seal made through sdf:#1");

    es_verify_opts o;
    es_report rep;
    memset(&o, 0, sizeof o);
    o.trust = trust;
    o.now = ES_TIME_NONE;
    es_report_init(&rep);
    ok(es_seal_verify(sl(&seal), &o, &rep) == ES_OK, "seal verify runs");
    es_report_finish(&rep);
    ok(rep.n_entries == 1 && rep.indication == ES_PASSED, "seal verifies (PASSED)");
    es_report_cleanup(&rep);

    /* The maker key signing as the seal's signer is refused (its certificate is not listed). */
    uint8_t h[ES_SM3_LEN];
    if (es_sm3("document", 8, h) != ES_OK) die("sm3");
    es_sign_params gp = {.seal = sl(&seal),
                         .time = ES_TIME_NONE,
                         .data_hash = h,
                         .property_info = "/Doc_0/Signs/Sign_0/Signature.xml",
                         .signer_cert = sl(&signer_cert)};
    es_buf wrong;
    es_buf_init(&wrong, ES_MAX_SEAL_DER);
    ok(es_signature_make(&gp, maker, &wrong) != ES_OK, "signature with the wrong device key");
    es_buf_cleanup(&wrong);
    ok(es_signature_make(&gp, signer, &sig) == ES_OK, "signature made through sdf:#2");
    o.data_sm3 = h;
    es_report_init(&rep);
    ok(es_signature_verify(sl(&sig), &o, &rep) == ES_OK, "signature verify runs");
    es_report_finish(&rep);
    ok(rep.n_entries == 1 && rep.indication == ES_PASSED, "signature verifies (PASSED)");
    es_report_cleanup(&rep);
    h[0] ^= 1;
    es_report_init(&rep);
    ok(es_signature_verify(sl(&sig), &o, &rep) == ES_OK, "verify against other data runs");
    es_report_finish(&rep);
    ok(rep.indication == ES_FAILED, "other data: FAILED");
    es_report_cleanup(&rep);
out:
    es_signer_free(maker);
    es_signer_free(signer);
    es_trust_free(trust);
    es_buf_cleanup(&maker_cert);
    es_buf_cleanup(&signer_cert);
    es_buf_cleanup(&png);
    es_buf_cleanup(&rootpem);
    es_buf_cleanup(&seal);
    es_buf_cleanup(&sig);
}

/* --- separate sessions on separate threads --- */

typedef struct worker {
    const char *ref;
    const char *pass;
    const uint8_t *pub;
    int good;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    es_secret_src src = t_pin(w->pass);
    es_signer *s = NULL;
    uint8_t e[32], r[32], sv[32];
    w->good = 0;
    if (es_keydev_signer(w->ref, &src, &s) != ES_OK) return NULL;
    int n = 0;
    for (int i = 0; i < 8; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "message %d", i);
        if (es_sm2_digest(w->pub, ES_SM2_DEFAULT_ID, 16, msg, strlen(msg), e) == ES_OK &&
            es_signer_sign_digest(s, e, r, sv) == ES_OK &&
            es_sm2_verify_digest(w->pub, e, r, sv) == ES_OK)
            n++;
    }
    es_signer_free(s);
    w->good = n;
    return NULL;
}

static void test_threads(void)
{
    char ref1[1200], ref2[1200];
    pthread_t t[4];
    worker w[4];
    ref_of(ref1, sizeof ref1, lib, 1);
    ref_of(ref2, sizeof ref2, lib, 2);
    for (int i = 0; i < 4; i++) {
        w[i].ref = i % 2 ? ref2 : ref1;
        w[i].pass = i % 2 ? PASS2 : PASS1;
        w[i].pub = i % 2 ? signer_pub : maker_pub;
        if (pthread_create(&t[i], NULL, work, &w[i]) != 0) die("pthread_create");
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) ok(w[i].good == 8, "thread %d: %d of 8 signatures", i, w[i].good);
}

/* --- a card whose signature does not verify (softsdf's SOFTSDF_BROKEN_SIGN) --- */

/* The signature is withheld: ES_ERR_SIGNER, a message saying why, r and s wiped; the same
 * signer signs again once the card is sound. */
static void test_broken_sign(void)
{
    char ref[1200];
    es_secret_src src = t_pin(PASS1);
    es_signer *s = NULL;
    uint8_t e[32], r[32], sv[32];
    ref_of(ref, sizeof ref, lib, 1);
    if (es_keydev_signer(ref, &src, &s) != ES_OK ||
        es_sm2_digest(maker_pub, ES_SM2_DEFAULT_ID, 16, "contract", 8, e) != ES_OK) {
        ok(0, "broken card: a signer on index 1: %s", es_keydev_last_error());
        es_signer_free(s);
        return;
    }
    setenv("SOFTSDF_BROKEN_SIGN", "1", 1);
    memset(r, 0xAA, sizeof r);
    memset(sv, 0xAA, sizeof sv);
    es_err rv = es_signer_sign_digest(s, e, r, sv);
    unsetenv("SOFTSDF_BROKEN_SIGN");
    static const uint8_t zero[32];
    uint8_t untouched[32];
    memset(untouched, 0xAA, sizeof untouched);
    ok(rv == ES_ERR_SIGNER, "a signature that does not verify is refused (%s)", es_err_str(rv));
    ok(strstr(es_keydev_last_error(), "does not verify") != NULL, "and says so: %s",
       es_keydev_last_error());
    ok((memcmp(r, zero, 32) == 0 || memcmp(r, untouched, 32) == 0) &&
           es_sm2_verify_digest(maker_pub, e, r, sv) != ES_OK,
       "nothing of it is given out (r wiped or untouched)");
    ok(es_signer_sign_digest(s, e, r, sv) == ES_OK &&
           es_sm2_verify_digest(maker_pub, e, r, sv) == ES_OK,
       "the sound card signs again");
    es_signer_free(s);
}

/* --- failures --- */

static void test_failures(void)
{
    char ref[1200];
    es_keyref kr;
    es_keydev *d = NULL;
    es_signer *s = NULL;
    es_secret_src p1 = t_pin(PASS1);

    /* A file that is not a library. */
    ref_of(ref, sizeof ref, t_path("ESEAL_TESTDATA", "maker.crt"), 1);
    ok(es_keyref_parse(ref, &kr) == ES_OK, "keyref to a certificate");
    ok(es_keydev_open(&kr, &d) == ES_ERR_LOAD && !d, "not a library: ES_ERR_LOAD");
    ok(*es_keydev_last_error() != 0, "the loader said why: %s", es_keydev_last_error());
    ok(es_keydev_signer(ref, &p1, &s) == ES_ERR_LOAD && !s, "signer: ES_ERR_LOAD");

    /* A library that does not exist. */
    ref_of(ref, sizeof ref, "/nonexistent/libvendor_sdf.so", 1);
    ok(es_keyref_parse(ref, &kr) == ES_OK && es_keydev_open(&kr, &d) == ES_ERR_LOAD,
       "missing library: ES_ERR_LOAD");
    ok(strstr(es_keydev_last_error(), "libvendor_sdf.so") != NULL, "error names it: %s",
       es_keydev_last_error());

    /* A library without the functions eseal requires. */
    ref_of(ref, sizeof ref, broken, 1);
    ok(es_keyref_parse(ref, &kr) == ES_OK && es_keydev_open(&kr, &d) == ES_ERR_SYMBOL && !d,
       "library without SDF_CloseDevice: ES_ERR_SYMBOL");
    ok(strstr(es_keydev_last_error(), "SDF_CloseDevice") != NULL, "error names it: %s",
       es_keydev_last_error());

    /* The library loads, but there is no device. */
    ref_of(ref, sizeof ref, lib, 1);
    unsetenv("SOFTSDF_DIR");
    ok(es_keyref_parse(ref, &kr) == ES_OK && es_keydev_open(&kr, &d) == ES_ERR_DEVICE && !d,
       "no device: ES_ERR_DEVICE");
    ok(strstr(es_keydev_last_error(), "SDR_OPENDEVICE") != NULL, "error names it: %s",
       es_keydev_last_error());
    setenv("SOFTSDF_DIR", dir, 1);
    ok(es_keydev_open(&kr, &d) == ES_OK && *es_keydev_last_error() == 0,
       "an open clears the last error");
    es_keydev_close(d);

    /* Bad key references. */
    static const char *const bad[] = {
        "sdf:%s#0",  "sdf:%s#abc",   "sdf:%s#", "sdf:#1",   "sdf:%s#1x",
        "sdf:%s#-1", "sdf:%s#65536", "sdf:%s",  "sdf %s#1", "sdf:%s#1/2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(ref, sizeof ref, bad[i], lib);
        ok(es_keyref_parse(ref, &kr) == ES_ERR_KEYREF, "bad reference %s", ref);
        ok(es_keydev_signer(ref, &p1, &s) == ES_ERR_KEYREF && !s, "signer refuses %s", ref);
    }
    /* Canonical text round trip. */
    char back[2 * ES_KEYREF_MAX_PATH];
    ref_of(ref, sizeof ref, lib, 42);
    ok(es_keyref_parse(ref, &kr) == ES_OK, "parse %s", ref);
    es_keyref_format(&kr, back, sizeof back);
    ok(strcmp(ref, back) == 0, "format gives back %s", back);
}

int main(void)
{
    abi a;
    setup();
    abi_load(&a);
    test_abi_device(&a);
    test_list_hidden();
    test_abi_keys(&a);
    dlclose(a.h);
    test_open_info();
    test_login();
    test_list();
    test_decrypt();
    test_seal();
    test_threads();
    test_broken_sign();
    test_failures();
    teardown();
    return t_done();
}
