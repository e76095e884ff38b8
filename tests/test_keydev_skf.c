/* keydev over SKF (GB/T 35291): the skf: backend and the token administration of
 * eseal/token.h against libsoftskf.so, loaded with dlopen as a vendor library is; the
 * ENVELOPEDKEYBLOB eseal builds, checked field by field; softskf's own ABI behaviour (sizes,
 * handles, logins); libraries that do not load or lack a function; bad references.
 *
 * Environment (CTest sets it): ESEAL_SOFTSKF, ESEAL_SKF_BROKEN, ESEAL_TESTDATA. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#include "eseal/keydev.h"
#include "eseal/seal.h"
#include "eseal/skf.h"
#include "eseal/token.h"
#include "keydev/internal.h"

#define USER_PIN "12345678"
#define SO_PIN   "so-pin-87654321"

static const char *lib;
static char root[] = "/tmp/eseal-skf-XXXXXX";

static void die(const char *what)
{
    fprintf(stderr, "setup: %s (%s)\n", what, es_keydev_last_error());
    exit(2);
}

/* "skf:LIB#rest" parsed, or the test stops. */
static es_keyref ref_of(const char *rest)
{
    char text[4300];
    es_keyref r;
    snprintf(text, sizeof text, "skf:%s#%s", lib, rest);
    if (es_keyref_parse(text, &r) != ES_OK) die(text);
    return r;
}

static es_keydev *open_dev(const char *rest)
{
    es_keyref r = ref_of(rest);
    es_keydev *d = NULL;
    if (es_keydev_open(&r, &d) != ES_OK) die("es_keydev_open");
    return d;
}

static void make_device(const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", root, name);
    if (mkdir(path, 0700) != 0) die(path);
}

static int file_has(const char *path, const void *needle, size_t n)
{
    es_buf b = t_read(path);
    int found = 0;
    for (size_t i = 0; i + n <= b.len && !found; i++) found = memcmp(b.p + i, needle, n) == 0;
    es_buf_cleanup(&b);
    return found;
}

static unsigned remaining(const char *app, int so)
{
    es_keyref r = ref_of("TOKEN1/x/y");
    es_token *t = NULL;
    es_token_pin p = {0, 99, 0};
    if (es_token_open(&r, &t) != ES_OK || es_token_pin_info(t, app, so, &p) != ES_OK)
        die("pin info");
    es_token_close(t);
    return p.remaining;
}

/* --- loading --- */

static void test_load(void)
{
    es_keyref r;
    es_keydev *d = NULL;
    ok(es_keyref_parse("skf:/nonexistent/libnothing.so#TOKEN1/SEAL/CON", &r) == ES_OK &&
           es_keydev_open(&r, &d) == ES_ERR_LOAD && d == NULL,
       "a library that does not exist: ES_ERR_LOAD");
    ok(strstr(es_keydev_last_error(), "libnothing.so") != NULL, "the loader's message is kept: %s",
       es_keydev_last_error());
    char text[4300];
    snprintf(text, sizeof text, "skf:%s#TOKEN1/SEAL/CON", t_path("ESEAL_TESTDATA", "signer.crt"));
    ok(es_keyref_parse(text, &r) == ES_OK && es_keydev_open(&r, &d) == ES_ERR_LOAD,
       "a file that is not a library: ES_ERR_LOAD");
    const char *broken = getenv("ESEAL_SKF_BROKEN");
    ok(broken != NULL, "ESEAL_SKF_BROKEN is set");
    if (broken) {
        snprintf(text, sizeof text, "skf:%s#TOKEN1/SEAL/CON", broken);
        ok(es_keyref_parse(text, &r) == ES_OK && es_keydev_open(&r, &d) == ES_ERR_SYMBOL,
           "a library without SKF_ECCSignData: ES_ERR_SYMBOL");
        ok(strstr(es_keydev_last_error(), "SKF_ECCSignData") != NULL,
           "the missing function is named: %s", es_keydev_last_error());
        es_buf names;
        es_buf_init(&names, 4096);
        ok(es_token_devices(broken, &names) == ES_ERR_SYMBOL, "listing with it: ES_ERR_SYMBOL");
        es_buf_cleanup(&names);
    }
    es_signer *s = NULL;
    es_secret_src p = t_pin(USER_PIN);
    ok(es_keydev_signer("skf:/nonexistent/libnothing.so#A/B/C", &p, &s) == ES_ERR_LOAD && !s,
       "a signer over a missing library: ES_ERR_LOAD");
}

/* --- references and devices --- */

static void test_refs(void)
{
    es_keydev *d = NULL;
    es_keyref r;
    es_secret_src p = t_pin(USER_PIN);
    es_signer *s = NULL;
    static const char *const bad[] = {"TOKEN1/SEAL", "TOKEN1/SEAL/", "TOKEN1//CON",
                                      "TOKEN1/SEAL/CON/X", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[4300];
        snprintf(text, sizeof text, "skf:%s#%s", lib, bad[i]);
        ok(es_keyref_parse(text, &r) == ES_ERR_KEYREF, "refused: #%s", bad[i]);
        ok(es_keydev_signer(text, &p, &s) == ES_ERR_KEYREF && !s, "no signer for #%s", bad[i]);
    }
    r = ref_of("NODEVICE/SEAL/CON");
    ok(es_keydev_open(&r, &d) == ES_ERR_NOT_FOUND && !d, "a device not present: ES_ERR_NOT_FOUND");
    ok(strstr(es_keydev_last_error(), "NODEVICE") != NULL, "and named: %s", es_keydev_last_error());

    es_buf names;
    es_buf_init(&names, 4096);
    ok(es_token_devices(lib, &names) == ES_OK && es_buf_nul(&names) == ES_OK &&
           strcmp((char *)names.p, "TOKEN1\nTOKEN2\n") == 0,
       "the devices, sorted: %s", names.p ? (char *)names.p : "");
    es_buf_cleanup(&names);

    /* SOFTSKF_DIR is softskf's bus: without it there are no devices. */
    unsetenv("SOFTSKF_DIR");
    r = ref_of("/SEAL/CON");
    ok(es_keydev_open(&r, &d) == ES_ERR_DEVICE && strstr(es_keydev_last_error(), "SKF_EnumDev"),
       "no SOFTSKF_DIR: the library's error is reported (%s)", es_keydev_last_error());
    setenv("SOFTSKF_DIR", root, 1);

    es_token *t = NULL;
    es_token_info ti;
    r = ref_of("/SEAL/CON");
    ok(es_token_open(&r, &t) == ES_OK && es_token_info_get(t, &ti) == ES_OK &&
           strcmp(ti.device, "TOKEN1") == 0 && strcmp(ti.label, "TOKEN1") == 0 &&
           strcmp(ti.manufacturer, "eseal softskf") == 0 && strlen(ti.serial) == 16 &&
           ti.can_generate && ti.can_import && ti.can_decrypt && ti.can_admin,
       "the device \"\" is the first one listed; its information");
    es_token_close(t);
}

/* --- applications and PINs --- */

static void test_init(void)
{
    es_keyref r = ref_of("TOKEN1/SEAL/CON");
    es_token *t = NULL;
    es_secret_src so = t_pin(SO_PIN), user = t_pin(USER_PIN), shortpin = t_pin("123"),
                  none = t_pin(NULL);
    if (es_token_open(&r, &t) != ES_OK) die("open TOKEN1");
    ok(es_token_app_create(t, "SEAL", &so, 0, &user, 0) == ES_OK, "create an application");
    ok(es_token_app_create(t, "SEAL", &so, 0, &user, 0) == ES_ERR_EXISTS,
       "the same name again: ES_ERR_EXISTS");
    ok(es_token_app_create(t, "SHORT", &so, 0, &shortpin, 0) == ES_ERR_PIN,
       "a 3-character PIN refused: ES_ERR_PIN");
    ok(es_token_app_create(t, "NOPIN", &none, 0, &user, 0) == ES_ERR_PIN, "no SO PIN: ES_ERR_PIN");
    ok(es_token_app_create(t, "../x", &so, 0, &user, 0) == ES_ERR_DEVICE &&
           strstr(es_keydev_last_error(), "SAR_APPLICATION_NAME_INVALID"),
       "a name with a slash refused by the device (%s)", es_keydev_last_error());
    ok(es_token_app_create(t, "SMALL", &so, 2, &user, 3) == ES_OK,
       "an application with 2 SO and 3 user tries");
    es_token_pin p;
    ok(es_token_pin_info(t, "SEAL", 0, &p) == ES_OK && p.max_retries == 6 && p.remaining == 6,
       "user PIN: 6 tries by default");
    ok(es_token_pin_info(t, "SEAL", 1, &p) == ES_OK && p.max_retries == 10 && p.remaining == 10,
       "SO PIN: 10 tries by default");
    ok(es_token_pin_info(t, "SMALL", 0, &p) == ES_OK && p.max_retries == 3, "3 user tries");
    ok(es_token_pin_info(t, "NOAPP", 0, &p) == ES_ERR_NOT_FOUND, "no such application");
    es_buf list;
    es_buf_init(&list, 4096);
    ok(es_token_list(t, 1, &list) == ES_OK && es_buf_nul(&list) == ES_OK &&
           strcmp((char *)list.p, "TOKEN1/SEAL/\nTOKEN1/SMALL/\n") == 0,
       "applications listed: %s", list.p ? (char *)list.p : "");
    es_buf_cleanup(&list);
    es_token_close(t);

    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/TOKEN1/SEAL/app", root);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the PIN file is 0600");
    ok(!file_has(path, USER_PIN, strlen(USER_PIN)) && !file_has(path, SO_PIN, strlen(SO_PIN)),
       "no PIN in clear in it");
    snprintf(path, sizeof path, "%s/TOKEN1/device", root);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the device secret is 0600");
}

static void test_pins(void)
{
    es_keyref r = ref_of("TOKEN1/SEAL/CON");
    es_secret_src wrong = t_pin("00000000"), right = t_pin(USER_PIN), none = t_pin(NULL);
    int retries = 99;
    es_keydev *d = open_dev("TOKEN1/SEAL/CON");
    ok(es_keydev_login(d, &r, &wrong, &retries) == ES_ERR_PIN && retries == 5,
       "a wrong PIN: ES_ERR_PIN, 5 tries left (got %d)", retries);
    ok(es_keydev_login(d, &r, &wrong, &retries) == ES_ERR_PIN && retries == 4,
       "again: 4 left (got %d)", retries);
    ok(es_keydev_login(d, &r, &none, &retries) == ES_ERR_PIN && retries == -1,
       "no PIN at all: ES_ERR_PIN, nothing sent, no try used");
    es_keydev_close(d);
    ok(remaining("SEAL", 0) == 4, "the counter survives closing and reopening the library");

    /* A process that dies without closing anything has still used its try. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        es_keydev *cd = open_dev("TOKEN1/SEAL/CON");
        int rr;
        _exit(es_keydev_login(cd, &r, &wrong, &rr) == ES_ERR_PIN ? 0 : 1);
    }
    int status = 0;
    ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a child process tries a wrong PIN and exits without closing");
    ok(remaining("SEAL", 0) == 3, "its try counted: 3 left");

    d = open_dev("TOKEN1/SEAL/CON");
    ok(es_keydev_login(d, &r, &right, &retries) == ES_OK, "the right PIN");
    es_keydev_close(d);
    ok(remaining("SEAL", 0) == 6, "a right PIN restores the counter");

    /* Locking: SMALL has 3 user tries and 2 SO tries. */
    es_keyref small = ref_of("TOKEN1/SMALL/CON");
    d = open_dev("TOKEN1/SMALL/CON");
    ok(es_keydev_login(d, &small, &wrong, &retries) == ES_ERR_PIN && retries == 2, "2 left");
    ok(es_keydev_login(d, &small, &wrong, &retries) == ES_ERR_PIN && retries == 1, "1 left");
    ok(es_keydev_login(d, &small, &wrong, &retries) == ES_ERR_PIN_LOCKED && retries == 0,
       "the third wrong PIN locks it: ES_ERR_PIN_LOCKED (retries %d)", retries);
    ok(es_keydev_login(d, &small, &right, &retries) == ES_ERR_PIN_LOCKED,
       "locked: even the right PIN is refused");
    es_keydev_close(d);
    ok(remaining("SMALL", 0) == 0, "the lock is on disk");

    es_token *t = NULL;
    es_secret_src so = t_pin(SO_PIN), badso = t_pin("not-the-so-pin"),
                  newpin = t_pin("new-pin-2468");
    if (es_token_open(&small, &t) != ES_OK) die("open");
    ok(es_token_unblock(t, "SMALL", &badso, &newpin, &retries) == ES_ERR_PIN && retries == 1,
       "unlock with a wrong SO PIN: ES_ERR_PIN, 1 SO try left");
    ok(es_token_unblock(t, "SMALL", &so, &newpin, &retries) == ES_OK, "unlock with the SO PIN");
    ok(es_token_login(t, "SMALL", &right, &retries) == ES_ERR_PIN && retries == 2,
       "the old user PIN no longer works");
    ok(es_token_login(t, "SMALL", &newpin, &retries) == ES_OK, "the new one does");
    ok(es_token_change_pin(t, "SMALL", 0, &wrong, &right, &retries) == ES_ERR_PIN && retries == 2,
       "change PIN with a wrong old PIN: ES_ERR_PIN");
    ok(es_token_change_pin(t, "SMALL", 0, &newpin, &right, &retries) == ES_OK, "change PIN back");
    ok(es_token_login(t, "SMALL", &right, &retries) == ES_OK, "the changed PIN works");
    /* The SO PIN locks too; then nothing unlocks the user PIN. */
    ok(es_token_unblock(t, "SMALL", &badso, &newpin, &retries) == ES_ERR_PIN && retries == 1,
       "a wrong SO PIN");
    ok(es_token_unblock(t, "SMALL", &badso, &newpin, &retries) == ES_ERR_PIN_LOCKED,
       "another: the SO PIN is locked");
    ok(es_token_unblock(t, "SMALL", &so, &newpin, &retries) == ES_ERR_PIN_LOCKED,
       "a locked SO PIN refuses the right one");
    es_token_close(t);
}

/* --- keys --- */

static void test_generate(void)
{
    es_keyref r = ref_of("TOKEN1/SEAL/GEN");
    es_secret_src right = t_pin(USER_PIN);
    uint8_t pub[ES_SM2_PUB_LEN], pub2[ES_SM2_PUB_LEN], e[32] = {0x5a, 1, 2}, rr[32], ss[32];
    es_keydev *d = open_dev("TOKEN1/SEAL/GEN");
    es_keydev_info info;
    ok(es_keydev_info_get(d, &info) == ES_OK && strcmp(info.kind, "skf") == 0 &&
           strcmp(info.manufacturer, "eseal softskf") == 0 && info.can_generate &&
           info.can_import && info.can_decrypt,
       "keydev info");
    ok(es_keydev_public_key(d, &r, pub) == ES_ERR_NO_KEY, "no container yet: ES_ERR_NO_KEY");
    ok(es_keydev_generate(d, &r, NULL, pub) == ES_ERR_LOGIN, "generating needs a login");
    ok(es_keydev_login(d, &r, &right, NULL) == ES_OK, "login");
    ok(es_keydev_generate(d, &r, NULL, pub) == ES_OK && pub[0] == 4, "generate (container made)");
    ok(es_keydev_generate(d, &r, NULL, pub2) == ES_ERR_EXISTS, "never overwrites a signing key");
    ok(es_keydev_public_key(d, &r, pub2) == ES_OK && memcmp(pub, pub2, sizeof pub) == 0,
       "its public key");
    ok(es_keydev_sign(d, &r, e, rr, ss) == ES_OK && es_sm2_verify_digest(pub, e, rr, ss) == ES_OK,
       "sign, and the signature verifies");
    e[0] ^= 1;
    ok(es_sm2_verify_digest(pub, e, rr, ss) == ES_ERR_VERIFY, "not over another digest");
    es_buf list;
    es_buf_init(&list, 4096);
    ok(es_keydev_list(d, &list) == ES_OK && es_buf_nul(&list) == ES_OK &&
           strcmp((char *)list.p, "TOKEN1/SEAL/GEN\n") == 0,
       "list: %s", list.p ? (char *)list.p : "");
    es_buf_cleanup(&list);
    es_buf ct, pt;
    es_buf_init(&ct, 4096);
    es_buf_init(&pt, 4096);
    ok(es_sm2_encrypt(pub, (const uint8_t *)"x", 1, &ct) == ES_OK &&
           es_keydev_decrypt(d, &r, ct.p, ct.len, &pt) == ES_ERR_NO_KEY,
       "decrypt: no encryption key pair in the container");
    es_buf_cleanup(&ct);
    es_buf_cleanup(&pt);
    es_keydev_close(d);

    /* A new handle: the public key is readable, signing needs the PIN again. */
    d = open_dev("TOKEN1/SEAL/GEN");
    ok(es_keydev_public_key(d, &r, pub2) == ES_OK && memcmp(pub, pub2, sizeof pub) == 0,
       "the key persists; its public key needs no login");
    ok(es_keydev_sign(d, &r, e, rr, ss) == ES_ERR_LOGIN, "signing does");
    es_keyref other = ref_of("TOKEN1/SEAL/NOCON");
    ok(es_keydev_public_key(d, &other, pub2) == ES_ERR_NO_KEY, "no such container");
    es_keyref noapp = ref_of("TOKEN1/NOAPP/GEN");
    ok(es_keydev_login(d, &noapp, &right, NULL) == ES_ERR_NOT_FOUND, "no such application");
    es_keydev_close(d);
}

/* The ENVELOPEDKEYBLOB eseal makes, opened with the wrapping key outside any device. */
static void test_envelope_layout(void)
{
    es_sm2_key *key = NULL, *wrap = NULL;
    uint8_t wpub[ES_SM2_PUB_LEN], pub[ES_SM2_PUB_LEN], d[32], symm[16], plain[64];
    es_buf blob, der, pt;
    es_buf_init(&blob, 4096);
    es_buf_init(&der, 4096);
    es_buf_init(&pt, 64);
    if (es_sm2_key_generate(&key) != ES_OK || es_sm2_key_generate(&wrap) != ES_OK) die("keys");
    es_sm2_key_pub(wrap, wpub);
    es_sm2_key_pub(key, pub);
    ok(envelope_make(key, wpub, &blob) == ES_OK && blob.len == 372 + 16,
       "an envelope of 372 + 16 bytes (got %zu)", blob.len);
    if (blob.len == 388) {
        ENVELOPEDKEYBLOB env;
        memcpy(&env, blob.p, sizeof env);
        ok(env.Version == 1 && env.ulSymmAlgID == SGD_SM4_ECB && env.ulBits == 256,
           "Version 1, SGD_SM4_ECB, 256 bits");
        ok(env.PubKey.BitLen == 256 && memcmp(env.PubKey.XCoordinate + 32, pub + 1, 32) == 0 &&
               memcmp(env.PubKey.YCoordinate + 32, pub + 33, 32) == 0,
           "PubKey right-aligned");
        const ECCCIPHERBLOB *cb = (const ECCCIPHERBLOB *)(blob.p + 12 + 64 + 132);
        ok(cb->CipherLen == 16, "ECCCipherBlob holds a 16-byte key");
        ok(sm2_cipher_to_der(cb->XCoordinate + 32, cb->YCoordinate + 32, cb->HASH, cb->Cipher, 16,
                             &der) == ES_OK &&
               es_sm2_key_decrypt(wrap, der.p, der.len, &pt) == ES_OK && pt.len == 16,
           "the wrapping key decrypts it");
        if (pt.len == 16) memcpy(symm, pt.p, 16);
        ok(es_sm4_ecb(0, symm, env.cbEncryptedPriKey, 64, plain) == ES_OK &&
               es_sm2_key_private(key, d) == ES_OK && memcmp(plain + 32, d, 32) == 0,
           "cbEncryptedPriKey is the 64-byte right-aligned private key, SM4-ECB");
        static const uint8_t zero[32];
        ok(memcmp(plain, zero, 32) == 0, "its first 32 bytes are the zero padding");
        es_wipe(d, sizeof d);
        es_wipe(plain, sizeof plain);
    }
    blob.len = 0;
    uint8_t notapoint[ES_SM2_PUB_LEN] = {4};
    ok(envelope_make(key, notapoint, &blob) != ES_OK && blob.len == 0,
       "no envelope to a public key that is not a point");
    es_sm2_key_free(key);
    es_sm2_key_free(wrap);
    es_buf_cleanup(&blob);
    es_buf_cleanup(&der);
    es_buf_cleanup_secret(&pt);
}

static es_buf envelope_for(const es_sm2_key *key, const uint8_t wrap_pub[ES_SM2_PUB_LEN])
{
    es_buf b;
    es_buf_init(&b, 4096);
    if (es_token_envelope(key, wrap_pub, &b) != ES_OK) die("envelope");
    return b;
}

static void test_import(void)
{
    es_keyref r = ref_of("TOKEN1/SEAL/IMP");
    es_secret_src right = t_pin(USER_PIN);
    uint8_t tpub[ES_SM2_PUB_LEN], kpub[ES_SM2_PUB_LEN], got[ES_SM2_PUB_LEN], e[32] = {7};
    uint8_t rr[32], ss[32], d[32];
    es_sm2_key *key = NULL, *stranger = NULL;
    if (es_sm2_key_generate(&key) != ES_OK || es_sm2_key_generate(&stranger) != ES_OK) die("keys");
    es_sm2_key_pub(key, kpub);
    es_keydev *dev = open_dev("TOKEN1/SEAL/IMP");
    es_buf blob = envelope_for(key, kpub); /* to any key: the container does not exist */
    ok(es_keydev_login(dev, &r, &right, NULL) == ES_OK, "login");
    ok(es_keydev_import_envelope(dev, &r, blob.p, blob.len) == ES_ERR_NO_KEY,
       "no container: ES_ERR_NO_KEY");
    es_buf_cleanup(&blob);

    /* The token makes the key the envelope is addressed to (a transport key). */
    ok(es_keydev_generate(dev, &r, NULL, tpub) == ES_OK, "a transport key pair on the token");
    uint8_t spub[ES_SM2_PUB_LEN];
    es_sm2_key_pub(stranger, spub);
    blob = envelope_for(key, spub);
    ok(es_keydev_import_envelope(dev, &r, blob.p, blob.len) == ES_ERR_DEVICE &&
           strstr(es_keydev_last_error(), "SAR_INDATAERR"),
       "an envelope for another key does not open (%s)", es_keydev_last_error());
    es_buf_cleanup(&blob);

    blob = envelope_for(key, tpub);
    ok(es_keydev_import_envelope(dev, &r, blob.p, blob.len - 1) == ES_ERR_FORMAT,
       "a truncated envelope: ES_ERR_FORMAT");
    ok(es_keydev_import_envelope(dev, &r, blob.p, 100) == ES_ERR_FORMAT,
       "a short one: ES_ERR_FORMAT");
    es_buf longer;
    es_buf_init(&longer, 4096);
    ok(es_buf_append(&longer, blob.p, blob.len) == ES_OK &&
           es_buf_append_byte(&longer, 0) == ES_OK &&
           es_keydev_import_envelope(dev, &r, longer.p, longer.len) == ES_ERR_FORMAT,
       "a trailing byte: ES_ERR_FORMAT");
    longer.p[0] = 2;
    ok(es_keydev_import_envelope(dev, &r, longer.p, blob.len) == ES_ERR_FORMAT,
       "Version 2: ES_ERR_FORMAT");
    es_buf_cleanup(&longer);
    blob.p[12 + 40] ^= 1; /* a byte of the encrypted private key */
    ok(es_keydev_import_envelope(dev, &r, blob.p, blob.len) != ES_OK,
       "a tampered private key does not match PubKey");
    blob.p[12 + 40] ^= 1;
    ok(es_keydev_public_key(dev, &r, got) == ES_OK && memcmp(got, tpub, sizeof got) == 0,
       "after the failures the transport key is still there");

    ok(es_keydev_import_envelope(dev, &r, blob.p, blob.len) == ES_OK, "import (%s)",
       es_keydev_last_error());
    ok(es_keydev_public_key(dev, &r, got) == ES_OK && memcmp(got, kpub, sizeof got) == 0,
       "the container's signing public key is the imported one");
    ok(es_keydev_sign(dev, &r, e, rr, ss) == ES_OK &&
           es_sm2_verify_digest(kpub, e, rr, ss) == ES_OK,
       "it signs, and the signature verifies with the key made outside");
    ok(es_keydev_import_envelope(dev, &r, blob.p, blob.len) == ES_ERR_DEVICE,
       "the same envelope again: the transport key that opened it is gone");
    es_keydev_close(dev);

    char path[4200];
    snprintf(path, sizeof path, "%s/TOKEN1/SEAL/IMP/sign.key", root);
    char dhex[65];
    ok(es_sm2_key_private(key, d) == ES_OK, "private scalar");
    es_hex_encode(d, sizeof d, dhex);
    ok(!file_has(path, d, sizeof d) && !file_has(path, dhex, 64),
       "the private key is not in clear on disk");
    es_wipe(d, sizeof d);
    es_wipe(dhex, sizeof dhex);

    /* GM/T 0016 literally: the imported pair becomes the encryption pair. eseal's import
     * says the key cannot sign there; the pair is usable for decryption. */
    setenv("SOFTSKF_IMPORT", "enc", 1);
    es_keyref r2 = ref_of("TOKEN1/SEAL/ENC");
    es_sm2_key *ekey = NULL;
    uint8_t epub[ES_SM2_PUB_LEN];
    if (es_sm2_key_generate(&ekey) != ES_OK) die("key");
    es_sm2_key_pub(ekey, epub);
    dev = open_dev("TOKEN1/SEAL/ENC");
    es_token *t = NULL;
    ok(es_keydev_login(dev, &r2, &right, NULL) == ES_OK &&
           es_keydev_generate(dev, &r2, NULL, tpub) == ES_OK,
       "a container with a signing key");
    es_buf_cleanup(&blob);
    blob = envelope_for(ekey, tpub);
    ok(es_keydev_import_envelope(dev, &r2, blob.p, blob.len) == ES_ERR_UNSUPPORTED &&
           strstr(es_keydev_last_error(), "encryption key pair"),
       "imported as the encryption pair: ES_ERR_UNSUPPORTED for signing (%s)",
       es_keydev_last_error());
    ok(es_keydev_public_key(dev, &r2, got) == ES_OK && memcmp(got, tpub, sizeof got) == 0,
       "the signing key is unchanged");
    es_buf ct, pt;
    es_buf_init(&ct, 4096);
    es_buf_init(&pt, 4096);
    ok(es_sm2_encrypt(epub, (const uint8_t *)"seal package key", 16, &ct) == ES_OK &&
           es_keydev_decrypt(dev, &r2, ct.p, ct.len, &pt) == ES_OK && pt.len == 16 &&
           memcmp(pt.p, "seal package key", 16) == 0,
       "SKF_ECCDecrypt with the imported encryption pair");
    ct.p[ct.len - 1] ^= 1;
    pt.len = 0;
    ok(es_keydev_decrypt(dev, &r2, ct.p, ct.len, &pt) != ES_OK, "a tampered ciphertext refused");
    es_buf_cleanup(&ct);
    es_buf_cleanup_secret(&pt);
    es_keydev_close(dev);
    if (es_token_open(&r2, &t) == ES_OK) {
        ok(es_token_public_key(t, &r2, 0, got) == ES_OK && memcmp(got, epub, sizeof got) == 0,
           "the encryption public key is the imported one");
        es_token_close(t);
    }
    unsetenv("SOFTSKF_IMPORT");
    es_sm2_key_free(ekey);
    es_sm2_key_free(key);
    es_sm2_key_free(stranger);
    es_buf_cleanup(&blob);
}

static void test_certs(void)
{
    es_keyref r = ref_of("TOKEN1/SEAL/GEN");
    es_secret_src right = t_pin(USER_PIN);
    es_buf pem = t_read(t_path("ESEAL_TESTDATA", "signer.crt")), der, got;
    es_buf_init(&der, ES_MAX_CERT_DER);
    es_buf_init(&got, ES_MAX_CERT_DER);
    if (es_cert_to_der(pem.p, pem.len, &der) != ES_OK) die("cert");
    es_slice c = es_slice_make(der.p, der.len);
    es_keydev *d = open_dev("TOKEN1/SEAL/GEN");
    ok(es_keydev_get_cert(d, &r, &got) == ES_ERR_NO_KEY, "no certificate yet: ES_ERR_NO_KEY");
    ok(es_keydev_put_cert(d, &r, c) == ES_ERR_LOGIN, "storing one needs a login");
    ok(es_keydev_login(d, &r, &right, NULL) == ES_OK && es_keydev_put_cert(d, &r, c) == ES_OK,
       "store it");
    ok(es_keydev_get_cert(d, &r, &got) == ES_OK && got.len == der.len &&
           memcmp(got.p, der.p, der.len) == 0,
       "read it back, byte for byte");
    es_keydev_close(d);

    es_token *t = NULL;
    if (es_token_open(&r, &t) != ES_OK) die("open");
    got.len = 0;
    ok(es_token_get_cert(t, &r, 0, &got) == ES_ERR_NO_KEY, "the encryption slot is empty");
    ok(es_token_login(t, "SEAL", &right, NULL) == ES_OK &&
           es_token_put_cert(t, &r, 0, es_slice_make(der.p, 10)) == ES_OK &&
           es_token_get_cert(t, &r, 0, &got) == ES_OK && got.len == 10,
       "the encryption slot is a slot of its own");
    got.len = 0;
    ok(es_token_get_cert(t, &r, 1, &got) == ES_OK && got.len == der.len, "the signing one stays");
    ok(es_token_put_cert(t, &r, 1, es_slice_make(der.p, 0)) == ES_ERR_ARG, "an empty one refused");
    es_token_close(t);
    es_buf_cleanup(&pem);
    es_buf_cleanup(&der);
    es_buf_cleanup(&got);
}

/* The required path of LD/T 01.1 decentralised use: a seal key made outside the token,
 * wrapped per GB/T 35291, imported, then used through es_keydev_signer to sign a seal. */
static void test_seal_signer(void)
{
    es_keyref r = ref_of("TOKEN1/SEAL/SIGNER");
    es_secret_src right = t_pin(USER_PIN), wrong = t_pin("87654321");
    uint8_t tpub[ES_SM2_PUB_LEN];
    es_buf kpem = t_read(t_path("ESEAL_TESTDATA", "signer.key"));
    es_buf scpem = t_read(t_path("ESEAL_TESTDATA", "signer.crt"));
    es_buf mcpem = t_read(t_path("ESEAL_TESTDATA", "maker.crt"));
    es_buf mkpem = t_read(t_path("ESEAL_TESTDATA", "maker.key"));
    es_buf img = t_read(t_path("ESEAL_TESTDATA", "seal.png"));
    es_buf scert, mcert, seal, sig;
    es_buf_init(&scert, ES_MAX_CERT_DER);
    es_buf_init(&mcert, ES_MAX_CERT_DER);
    es_buf_init(&seal, 1 << 20);
    es_buf_init(&sig, 1 << 20);
    es_sm2_key *key = NULL, *mkey = NULL;
    es_signer *maker = NULL, *signer = NULL;
    if (es_sm2_key_from_pem(kpem.p, kpem.len, NULL, &key) != ES_OK ||
        es_sm2_key_from_pem(mkpem.p, mkpem.len, NULL, &mkey) != ES_OK ||
        es_signer_from_key(mkey, &maker) != ES_OK ||
        es_cert_to_der(scpem.p, scpem.len, &scert) != ES_OK ||
        es_cert_to_der(mcpem.p, mcpem.len, &mcert) != ES_OK)
        die("fixtures");
    es_token *t = NULL;
    if (es_token_open(&r, &t) != ES_OK) die("open");
    ok(es_token_login(t, "SEAL", &right, NULL) == ES_OK && es_token_generate(t, &r, tpub) == ES_OK,
       "a transport key in the container");
    es_buf blob = envelope_for(key, tpub);
    ok(es_token_import(t, &r, blob.p, blob.len) == ES_OK, "tests/data/signer.key imported");
    ok(es_token_put_cert(t, &r, 1, es_slice_make(scert.p, scert.len)) == ES_OK,
       "with its certificate");
    es_token_close(t);
    es_buf_cleanup(&blob);

    char text[4300];
    snprintf(text, sizeof text, "skf:%s#TOKEN1/SEAL/SIGNER", lib);
    ok(es_keydev_signer(text, &wrong, &signer) == ES_ERR_PIN && !signer,
       "a signer with a wrong PIN: ES_ERR_PIN");
    snprintf(text, sizeof text, "skf:%s#/SEAL/SIGNER", lib);
    ok(es_keydev_signer(text, &right, &signer) == ES_OK && signer,
       "a signer on the first device (%s)", es_keydev_last_error());
    if (signer) {
        ok(es_cert_matches_pub(es_slice_make(scert.p, scert.len), signer->pub) == ES_OK,
           "tests/data/signer.crt matches the token's key");
        es_slice certs[1] = {es_slice_make(scert.p, scert.len)};
        es_seal_params p = {.es_id = "37030000009998",
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
                            .maker_cert = es_slice_make(mcert.p, mcert.len)};
        uint8_t h[ES_SM3_LEN];
        ok(es_seal_make(&p, maker, &seal) == ES_OK && es_sm3("contract", 8, h) == ES_OK,
           "a seal listing signer.crt");
        es_sign_params sp = {.seal = es_slice_make(seal.p, seal.len),
                             .time = ES_TIME_NONE,
                             .data_hash = h,
                             .property_info = "contract.pdf",
                             .signer_cert = es_slice_make(scert.p, scert.len)};
        ok(es_signature_make(&sp, signer, &sig) == ES_OK, "an SES_Signature signed on the token");
        es_report rep;
        es_report_init(&rep);
        es_verify_opts o = {.now = ES_TIME_NONE, .data_sm3 = h};
        ok(es_signature_verify(es_slice_make(sig.p, sig.len), &o, &rep) == ES_OK &&
               rep.n_entries == 1 &&
               es_entry_get(&rep.entries[0], ES_CHECK_SIGNATURE)->result == ES_PASSED &&
               es_entry_get(&rep.entries[0], ES_CHECK_SIGNER_CERT_MATCH)->result == ES_PASSED,
           "its signature verifies and matches signer.crt");
        es_report_cleanup(&rep);
    }
    es_signer_free(signer);
    es_signer_free(maker);
    es_sm2_key_free(key);
    es_buf_cleanup_secret(&kpem);
    es_buf_cleanup_secret(&mkpem);
    es_buf_cleanup(&scpem);
    es_buf_cleanup(&mcpem);
    es_buf_cleanup(&img);
    es_buf_cleanup(&scert);
    es_buf_cleanup(&mcert);
    es_buf_cleanup(&seal);
    es_buf_cleanup(&sig);
}

/* --- softskf at the ABI, as a vendor library is tested --- */

static void test_softskf_abi(void)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    ok(h != NULL, "dlopen libsoftskf.so");
    if (!h) return;
    ok(dlsym(h, "es_sm2_key_generate") == NULL && dlsym(h, "SKF_EnumDev") != NULL,
       "it exports SKF_ functions only");
#define FN(n) SKF_##n##_fn n = (SKF_##n##_fn)dlsym(h, "SKF_" #n)
    FN(EnumDev);
    FN(ConnectDev);
    FN(DisConnectDev);
    FN(OpenApplication);
    FN(CloseApplication);
    FN(VerifyPIN);
    FN(OpenContainer);
    FN(CloseContainer);
    FN(ExportPublicKey);
    FN(ECCSignData);
    FN(ECCVerify);
    FN(GetContainerType);
    FN(EnumContainer);
#undef FN
    ULONG size = 0, rc, left = 0, type = 99;
    rc = EnumDev(TRUE, NULL, &size);
    ok(rc == SAR_OK && size == sizeof "TOKEN1\0TOKEN2\0", "EnumDev: the size first (%lu)",
       (unsigned long)size);
    char list[64];
    ULONG small = 3;
    ok(EnumDev(TRUE, list, &small) == SAR_BUFFER_TOO_SMALL, "a small buffer: BUFFER_TOO_SMALL");
    DEVHANDLE dev = NULL;
    HAPPLICATION app = NULL;
    HCONTAINER con = NULL;
    ok(ConnectDev("TOKEN1", &dev) == SAR_OK && OpenApplication(dev, "SEAL", &app) == SAR_OK &&
           OpenContainer(app, "GEN", &con) == SAR_OK,
       "connect, open the application and the container");
    HCONTAINER evil = NULL;
    ok(OpenContainer(app, "../SMALL", &evil) == SAR_FILE_NOT_EXIST && evil == NULL,
       "a container name with a slash is not a path");
    HCONTAINER nocon = NULL;
    ok(OpenContainer(app, "NOCON", &nocon) == SAR_FILE_NOT_EXIST, "no such container");
    ok(GetContainerType(con, &type) == SAR_OK && type == CONTAINER_TYPE_ECC, "an ECC container");
    ECCPUBLICKEYBLOB pub;
    ULONG plen = 0;
    ok(ExportPublicKey(con, TRUE, NULL, &plen) == SAR_OK && plen == sizeof pub,
       "ExportPublicKey: the size first");
    plen = 10;
    ok(ExportPublicKey(con, TRUE, (BYTE *)&pub, &plen) == SAR_BUFFER_TOO_SMALL && plen == 132,
       "a small buffer");
    plen = sizeof pub;
    ok(ExportPublicKey(con, TRUE, (BYTE *)&pub, &plen) == SAR_OK && pub.BitLen == 256,
       "the public key blob");
    BYTE e[32] = {1}, shortd[31] = {1};
    ECCSIGNATUREBLOB sig;
    ok(ECCSignData(con, e, 32, &sig) == SAR_USER_NOT_LOGGED_IN, "signing needs the user PIN");
    ok(VerifyPIN(app, 7, USER_PIN, &left) == SAR_USER_TYPE_INVALID, "an unknown PIN type");
    ok(VerifyPIN(app, USER_TYPE, USER_PIN, &left) == SAR_OK, "VerifyPIN");
    ok(ECCSignData(con, shortd, 31, &sig) == SAR_INDATALENERR, "a 31-byte digest refused");
    ok(ECCSignData(con, e, 32, &sig) == SAR_OK && ECCVerify(dev, &pub, e, 32, &sig) == SAR_OK,
       "sign, ECCVerify");
    e[0] ^= 1;
    ok(ECCVerify(dev, &pub, e, 32, &sig) != SAR_OK, "ECCVerify refuses another digest");
    /* Closing the application closes its containers. */
    ok(CloseApplication(app) == SAR_OK, "close the application");
    ok(ECCSignData(con, e, 32, &sig) == SAR_INVALIDHANDLEERR &&
           CloseContainer(con) == SAR_INVALIDHANDLEERR,
       "its container handle is no longer valid");
    ok(EnumContainer(app, NULL, &size) == SAR_INVALIDHANDLEERR, "nor its own");
    ok(DisConnectDev(dev) == SAR_OK && DisConnectDev(dev) == SAR_INVALIDHANDLEERR,
       "disconnect, once");
    ok(ConnectDev("../TOKEN1", &dev) != SAR_OK && ConnectDev("NODEV", &dev) == SAR_DEVICE_REMOVED,
       "no device outside SOFTSKF_DIR, none that is absent");
    dlclose(h);
}

int main(void)
{
    lib = getenv("ESEAL_SOFTSKF");
    if (!lib) {
        fprintf(stderr, "ESEAL_SOFTSKF is not set (run through ctest)\n");
        return 2;
    }
    if (!mkdtemp(root)) return 2;
    setenv("SOFTSKF_DIR", root, 1);
    unsetenv("SOFTSKF_IMPORT");
    make_device("TOKEN1");
    make_device("TOKEN2");
    test_load();
    test_refs();
    test_init();
    test_pins();
    test_generate();
    test_envelope_layout();
    test_import();
    test_certs();
    test_seal_signer();
    test_softskf_abi();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return t_done();
}
