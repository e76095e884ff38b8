/* libsoftskf.so: a GB/T 35291 (SKF) smart cryptographic key in files, for tests and for
 * trying eseal without a USBKey. It exports the standard C ABI (include/eseal/skf.h) and
 * nothing else, and is loaded with dlopen exactly as a vendor's library is.
 *
 * Files (every one written atomically, mode 0600 for secrets):
 *   $SOFTSKF_DIR/                     the "USB bus": each subdirectory is a device
 *     DEV/device                      serial number and the device secret (32 random bytes)
 *     DEV/.lock                       serialises state changes between processes
 *     DEV/APP/app                     the SO and user PINs: retry counters and scrypt hashes
 *     DEV/APP/CON/sign.key, enc.key   key pairs: public key, private key encrypted (SM4-CTR)
 *                                     under a storage key derived from the device secret
 *     DEV/APP/CON/sign.crt, enc.crt   certificates (DER)
 *     DEV/APP/.files/NAME             the application's files (7.4): a 12-byte header (size,
 *                                     read rights, write rights: 32-bit little-endian) and
 *                                     exactly size bytes
 * A device is plugged in by creating its directory (mkdir $SOFTSKF_DIR/TOKEN1); the first
 * SKF_ConnectDev formats it. SOFTSKF_DIR is required.
 *
 * PINs: scrypt hashes with a random salt, never the PIN. A retry counter is decremented and
 * written to disk before the PIN is checked, and restored after a correct one, so killing the
 * process during a check cannot give a try back. A counter at 0 locks the PIN
 * (SAR_PIN_LOCKED); SKF_UnblockPIN with the SO PIN sets a new user PIN.
 *
 * Key import (SKF_ImportECCKeyPair): the envelope's symmetric key is decrypted with the
 * container's signing private key, the private key with that, and it must match the
 * envelope's public key. Where it is stored is SOFTSKF_IMPORT: "sign" (default) replaces the
 * container's signing key pair, so that an imported seal key signs (a seal token); "enc"
 * stores it as the encryption key pair, as GM/T 0016 describes the mechanism.
 *
 * A faulty device for tests: with SOFTSKF_BROKEN_SIGN=1 in the environment, SKF_ECCSignData
 * flips one bit of every signature's s (a signature that does not verify), so that a test can
 * show eseal withholds it (src/keydev/skf.c).
 *
 * Files: creating, deleting and writing need the user PIN (softskf ignores the application's
 * create-file rights and a file's write rights beyond that); reading needs it when the file's
 * read rights are not SECURE_ANYONE_ACCOUNT.
 *
 * Not implemented: device authentication (SKF_DevAuth: the file system's permissions are the
 * only guard of device administration), RSA, session keys, hashing on the device.
 * The threat model is in docs/keydev.md ("SKF"): whoever can read DEV/ can read the keys.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eseal/crypto.h"
#include "eseal/skf.h"
#include "eseal/util.h"
#include "keydev/internal.h"

#define SOFT_PATH_MAX     4096
#define SOFT_NAME_MAX     64
#define SOFT_LIST_MAX     256 /* devices, applications or containers listed */
#define SOFT_MAX_CERT     (64u * 1024)
#define SOFT_MAX_PLAIN    (64u * 1024)
#define SOFT_PIN_MIN      6
#define SOFT_PIN_MAX      32
#define SOFT_USER_RETRIES 6
#define SOFT_SO_RETRIES   10
#define SOFT_SCRYPT_N     16384 /* 16 MiB, a few tens of milliseconds a check */
#define SOFT_SCRYPT_R     8
#define SOFT_SCRYPT_P     1

enum { OBJ_DEV = 1, OBJ_APP, OBJ_CON };
#define LOGIN_NONE (-1)

/* A handle: a connected device, an open application or an open container. Handles are
 * checked against the list of live ones before use, so a closed or forged handle is
 * SAR_INVALIDHANDLEERR rather than a crash. */
typedef struct obj {
    int kind;
    struct obj *parent;
    struct obj *next;
    char name[SOFT_NAME_MAX + 1];
    char path[SOFT_PATH_MAX];
    uint8_t skey[16]; /* OBJ_DEV: the storage key */
    int login;        /* OBJ_APP: LOGIN_NONE, USER_TYPE or ADMIN_TYPE */
} obj;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static obj *g_objs;

/* Every entry point runs under one process-wide mutex; the device's lock file orders
 * processes. */
#define LOCKED(call)                                                                               \
    do {                                                                                           \
        pthread_mutex_lock(&g_mu);                                                                 \
        ULONG rc_ = (call);                                                                        \
        pthread_mutex_unlock(&g_mu);                                                               \
        return rc_;                                                                                \
    } while (0)

/* --- handles --- */

static obj *find(const void *h, int kind)
{
    for (obj *o = g_objs; o; o = o->next)
        if ((const void *)o == h && o->kind == kind) return o;
    return NULL;
}

static obj *obj_new(int kind, obj *parent, const char *name, const char *path)
{
    obj *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->kind = kind;
    o->parent = parent;
    o->login = LOGIN_NONE;
    snprintf(o->name, sizeof o->name, "%s", name);
    snprintf(o->path, sizeof o->path, "%s", path);
    o->next = g_objs;
    g_objs = o;
    return o;
}

/* Frees o and every handle opened under it. */
static void obj_drop(obj *o)
{
    for (int again = 1; again;) {
        again = 0;
        for (obj *c = g_objs; c; c = c->next)
            if (c->parent == o) {
                obj_drop(c);
                again = 1;
                break;
            }
    }
    for (obj **pp = &g_objs; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            break;
        }
    es_wipe(o->skey, sizeof o->skey);
    free(o);
}

__attribute__((destructor)) static void unload(void)
{
    while (g_objs) obj_drop(g_objs);
}

static obj *dev_of(obj *o)
{
    while (o && o->kind != OBJ_DEV) o = o->parent;
    return o;
}

/* --- names, paths, files --- */

/* A name that is one directory entry: 1..64 bytes, no '/', no control character, not
 * starting with '.'. */
static int name_ok(const char *s)
{
    if (!s || !s[0] || s[0] == '.') return 0;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
        if (*p == '/' || *p < 0x20 || *p == 0x7f || n >= SOFT_NAME_MAX) return 0;
    return 1;
}

static int join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, SOFT_PATH_MAX, "%s/%s", dir, name);
    return n > 0 && n < SOFT_PATH_MAX;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Takes the device's lock file (a POSIX record lock, released by unlock or process exit). */
static int lock_dev(const obj *dev)
{
    char path[SOFT_PATH_MAX];
    if (!join(path, dev->path, ".lock")) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    while (fcntl(fd, F_SETLKW, &fl) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void unlock_dev(int fd)
{
    if (fd >= 0) close(fd);
}

/* Reads a small text file, NUL-terminated. */
static ULONG read_text(const char *path, es_buf *b, ULONG missing)
{
    es_buf_init(b, 64 * 1024);
    es_err rv = es_file_read(path, b);
    if (rv == ES_OK) rv = es_buf_nul(b);
    if (rv == ES_OK) return SAR_OK;
    es_buf_cleanup(b);
    return rv == ES_ERR_NOT_FOUND ? missing : SAR_READFILEERR;
}

/* The value of "key value" at a line start, up to the end of the line. */
static int kv(const char *text, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, kl) != 0 || p[kl] != ' ') continue;
        const char *v = p + kl + 1, *e = strchr(v, '\n');
        size_t n = e ? (size_t)(e - v) : strlen(v);
        if (n >= cap) return 0;
        memcpy(out, v, n);
        out[n] = 0;
        return 1;
    }
    return 0;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n) return 0;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) return 0;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return 1;
}

static int ct_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= a[i] ^ b[i];
    return d == 0;
}

/* Sorted names of the subdirectories of dir (those holding the file need, when given), as a
 * multi-string in out / *size (the size needed when out is NULL). */
static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ULONG list_dirs(const char *dir, const char *need, LPSTR out, ULONG *size)
{
    char *names[SOFT_LIST_MAX], path[SOFT_PATH_MAX], sub[SOFT_PATH_MAX];
    size_t n = 0, total = 1;
    ULONG rc = SAR_OK;
    if (!size) return SAR_INVALIDPARAMERR;
    DIR *d = opendir(dir);
    if (!d) return SAR_FILEERR;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!name_ok(de->d_name) || !join(path, dir, de->d_name) || !is_dir(path)) continue;
        if (need && (!join(sub, path, need) || !is_file(sub))) continue;
        if (n == SOFT_LIST_MAX || (names[n] = strdup(de->d_name)) == NULL) {
            rc = SAR_MEMORYERR;
            break;
        }
        total += strlen(names[n++]) + 1;
    }
    closedir(d);
    if (rc == SAR_OK) {
        qsort(names, n, sizeof names[0], cmp_names);
        if (out && *size < total) {
            rc = SAR_BUFFER_TOO_SMALL;
        } else if (out) {
            char *p = out;
            for (size_t i = 0; i < n; i++) {
                size_t l = strlen(names[i]) + 1;
                memcpy(p, names[i], l);
                p += l;
            }
            *p = 0;
        }
        *size = (ULONG)total;
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    return rc;
}

/* --- the device: its secret and storage key --- */

/* Formats a fresh device directory (first connection) or reads its secret. */
static ULONG dev_load(obj *dev)
{
    char path[SOFT_PATH_MAX], hex[128];
    uint8_t secret[32], h[ES_SM3_LEN];
    es_buf b;
    ULONG rc = SAR_OK;
    if (!join(path, dev->path, "device")) return SAR_NAMELENERR;
    int fd = lock_dev(dev);
    if (fd < 0) return SAR_FILEERR;
    if (!is_file(path)) {
        uint8_t serial[8];
        char shex[17], khex[65], text[256];
        if (es_random(serial, sizeof serial) != ES_OK ||
            es_random(secret, sizeof secret) != ES_OK) {
            rc = SAR_GENRANDERR;
            goto out;
        }
        es_hex_encode(serial, sizeof serial, shex);
        es_hex_encode(secret, sizeof secret, khex);
        int n = snprintf(text, sizeof text, "softskf-device 1\nserial %s\nsecret %s\n", shex, khex);
        if (es_file_write_mode(path, text, (size_t)n, 0600) != ES_OK) rc = SAR_WRITEFILEERR;
        es_wipe(khex, sizeof khex);
        es_wipe(text, sizeof text);
        if (rc != SAR_OK) goto out;
    }
    if ((rc = read_text(path, &b, SAR_FILEERR)) != SAR_OK) goto out;
    if (!kv((char *)b.p, "secret", hex, sizeof hex) || !unhex(hex, secret, sizeof secret))
        rc = SAR_FILEERR;
    es_buf_cleanup_secret(&b);
    es_wipe(hex, sizeof hex);
    if (rc != SAR_OK) goto out;
    /* The storage key: SM3 over a label and the secret, its first 16 bytes an SM4 key. */
    es_sm3_ctx *c = NULL;
    static const char label[] = "softskf storage key v1";
    if (es_sm3_new(&c) != ES_OK || es_sm3_update(c, label, sizeof label - 1) != ES_OK ||
        es_sm3_update(c, secret, sizeof secret) != ES_OK || es_sm3_final(c, h) != ES_OK)
        rc = SAR_FAIL;
    es_sm3_free(c);
    memcpy(dev->skey, h, sizeof dev->skey);
out:
    es_wipe(secret, sizeof secret);
    es_wipe(h, sizeof h);
    unlock_dev(fd);
    return rc;
}

static ULONG dev_serial(const obj *dev, char out[33])
{
    char path[SOFT_PATH_MAX];
    es_buf b;
    out[0] = 0;
    if (!join(path, dev->path, "device")) return SAR_NAMELENERR;
    ULONG rc = read_text(path, &b, SAR_FILEERR);
    if (rc != SAR_OK) return rc;
    if (!kv((char *)b.p, "serial", out, 33)) rc = SAR_FILEERR;
    es_buf_cleanup_secret(&b);
    return rc;
}

/* --- applications: PINs --- */

typedef struct pinrec {
    unsigned max, left;
    uint8_t salt[16];
    uint8_t hash[32];
} pinrec;

typedef struct appst {
    pinrec pin[2]; /* [ADMIN_TYPE] the SO PIN, [USER_TYPE] the user PIN */
} appst;

static ULONG pin_hash(const char *pin, const uint8_t salt[16], uint8_t out[32])
{
    return es_scrypt(pin, strlen(pin), salt, 16, SOFT_SCRYPT_N, SOFT_SCRYPT_R, SOFT_SCRYPT_P, out,
                     32) == ES_OK
               ? SAR_OK
               : SAR_FAIL;
}

static ULONG pin_set(pinrec *p, const char *pin)
{
    if (es_random(p->salt, sizeof p->salt) != ES_OK) return SAR_GENRANDERR;
    return pin_hash(pin, p->salt, p->hash);
}

static int pin_len_ok(const char *pin)
{
    size_t n = pin ? strlen(pin) : 0;
    return n >= SOFT_PIN_MIN && n <= SOFT_PIN_MAX;
}

static ULONG app_read(const obj *app, appst *st)
{
    char path[SOFT_PATH_MAX], line[256], salt[64], hash[128];
    static const char *const keys[2] = {"so", "user"};
    es_buf b;
    if (!join(path, app->path, "app")) return SAR_NAMELENERR;
    ULONG rc = read_text(path, &b, SAR_APPLICATION_NOT_EXISTS);
    if (rc != SAR_OK) return rc;
    for (int i = 0; i < 2 && rc == SAR_OK; i++) {
        pinrec *p = &st->pin[i];
        if (!kv((char *)b.p, keys[i], line, sizeof line) ||
            sscanf(line, "%u %u %63s %127s", &p->max, &p->left, salt, hash) != 4 || p->max > 255 ||
            p->left > p->max || !unhex(salt, p->salt, sizeof p->salt) ||
            !unhex(hash, p->hash, sizeof p->hash))
            rc = SAR_FILEERR;
    }
    es_buf_cleanup(&b);
    return rc;
}

static ULONG app_write(const char *dir, const appst *st)
{
    char path[SOFT_PATH_MAX], text[512], salt[2][33], hash[2][65];
    if (!join(path, dir, "app")) return SAR_NAMELENERR;
    for (int i = 0; i < 2; i++) {
        es_hex_encode(st->pin[i].salt, 16, salt[i]);
        es_hex_encode(st->pin[i].hash, 32, hash[i]);
    }
    int n = snprintf(
        text, sizeof text, "softskf-app 1\nkdf scrypt %u %u %u\nso %u %u %s %s\nuser %u %u %s %s\n",
        SOFT_SCRYPT_N, SOFT_SCRYPT_R, SOFT_SCRYPT_P, st->pin[ADMIN_TYPE].max,
        st->pin[ADMIN_TYPE].left, salt[ADMIN_TYPE], hash[ADMIN_TYPE], st->pin[USER_TYPE].max,
        st->pin[USER_TYPE].left, salt[USER_TYPE], hash[USER_TYPE]);
    if (n <= 0 || (size_t)n >= sizeof text) return SAR_FAIL;
    return es_file_write_mode(path, text, (size_t)n, 0600) == ES_OK ? SAR_OK : SAR_WRITEFILEERR;
}

enum { PIN_CHECK, PIN_CHANGE, PIN_UNBLOCK };

/* Checks the PIN of type and, when it is right, applies the action (PIN_CHANGE: this PIN
 * becomes newpin; PIN_UNBLOCK: the user PIN becomes newpin with a full counter). */
static ULONG pin_op(obj *app, ULONG type, const char *pin, ULONG *retry, int action,
                    const char *newpin)
{
    appst st;
    uint8_t h[32];
    ULONG rc;
    int fd = lock_dev(dev_of(app));
    if (fd < 0) return SAR_FILEERR;
    if ((rc = app_read(app, &st)) != SAR_OK) goto out;
    pinrec *p = &st.pin[type];
    if (p->left == 0) {
        if (retry) *retry = 0;
        rc = SAR_PIN_LOCKED;
        goto out;
    }
    /* The try counts before it is checked: a process killed during the check has used it. */
    p->left--;
    if ((rc = app_write(app->path, &st)) != SAR_OK) goto out;
    if ((rc = pin_hash(pin, p->salt, h)) != SAR_OK) goto out;
    if (!ct_eq(h, p->hash, sizeof h)) {
        if (retry) *retry = p->left;
        rc = p->left ? SAR_PIN_INCORRECT : SAR_PIN_LOCKED;
        goto out;
    }
    p->left = p->max;
    if (action == PIN_CHANGE) rc = pin_set(p, newpin);
    if (action == PIN_UNBLOCK) {
        rc = pin_set(&st.pin[USER_TYPE], newpin);
        st.pin[USER_TYPE].left = st.pin[USER_TYPE].max;
    }
    if (rc == SAR_OK) rc = app_write(app->path, &st);
    if (retry) *retry = p->left;
out:
    es_wipe(h, sizeof h);
    unlock_dev(fd);
    return rc;
}

static int logged_in(const obj *con_or_app)
{
    const obj *app = con_or_app->kind == OBJ_CON ? con_or_app->parent : con_or_app;
    return app && app->login == USER_TYPE;
}

/* --- key files --- */

static const char *slot_file(int sign, const char *ext)
{
    if (strcmp(ext, "key") == 0) return sign ? "sign.key" : "enc.key";
    return sign ? "sign.crt" : "enc.crt";
}

/* SM4-CTR over n (<= 256 blocks) bytes. */
static ULONG ctr(const uint8_t key[16], const uint8_t nonce[16], const uint8_t *in, uint8_t *out,
                 size_t n)
{
    uint8_t blk[16], ks[16];
    ULONG rc = SAR_OK;
    for (size_t off = 0, i = 0; off < n && rc == SAR_OK; off += 16, i++) {
        memcpy(blk, nonce, 16);
        blk[15] ^= (uint8_t)i;
        if (es_sm4_ecb(1, key, blk, 16, ks) != ES_OK) rc = SAR_FAIL;
        for (size_t j = 0; j < 16 && off + j < n; j++) out[off + j] = in[off + j] ^ ks[j];
    }
    es_wipe(ks, sizeof ks);
    return rc;
}

static ULONG key_write(const obj *con, int sign, const es_sm2_key *k)
{
    const obj *dev = dev_of((obj *)con);
    char path[SOFT_PATH_MAX], text[512], pubhex[2 * ES_SM2_PUB_LEN + 1], nhex[33], chex[65];
    uint8_t d[32], c[32], nonce[16], pub[ES_SM2_PUB_LEN];
    ULONG rc = SAR_OK;
    if (!join(path, con->path, slot_file(sign, "key"))) return SAR_NAMELENERR;
    es_sm2_key_pub(k, pub);
    if (es_sm2_key_private(k, d) != ES_OK || es_random(nonce, sizeof nonce) != ES_OK) rc = SAR_FAIL;
    if (rc == SAR_OK) rc = ctr(dev->skey, nonce, d, c, sizeof d);
    if (rc == SAR_OK) {
        es_hex_encode(pub, sizeof pub, pubhex);
        es_hex_encode(nonce, sizeof nonce, nhex);
        es_hex_encode(c, sizeof c, chex);
        int n = snprintf(text, sizeof text, "softskf-key 1\npub %s\nnonce %s\npriv %s\n", pubhex,
                         nhex, chex);
        if (es_file_write_mode(path, text, (size_t)n, 0600) != ES_OK) rc = SAR_WRITEFILEERR;
    }
    es_wipe(d, sizeof d);
    return rc;
}

static ULONG key_pub(const obj *con, int sign, uint8_t pub[ES_SM2_PUB_LEN])
{
    char path[SOFT_PATH_MAX], hex[2 * ES_SM2_PUB_LEN + 2];
    es_buf b;
    if (!join(path, con->path, slot_file(sign, "key"))) return SAR_NAMELENERR;
    ULONG rc = read_text(path, &b, SAR_KEYNOTFOUNTERR);
    if (rc != SAR_OK) return rc;
    if (!kv((char *)b.p, "pub", hex, sizeof hex) || !unhex(hex, pub, ES_SM2_PUB_LEN) ||
        pub[0] != 0x04)
        rc = SAR_FILEERR;
    es_buf_cleanup(&b);
    return rc;
}

/* Decrypts a key pair; it must match its stored public key. */
static ULONG key_read(const obj *con, int sign, es_sm2_key **out)
{
    const obj *dev = dev_of((obj *)con);
    char path[SOFT_PATH_MAX], hex[2 * ES_SM2_PUB_LEN + 2];
    uint8_t pub[ES_SM2_PUB_LEN], got[ES_SM2_PUB_LEN], nonce[16], c[32], d[32];
    es_buf b;
    if (!join(path, con->path, slot_file(sign, "key"))) return SAR_NAMELENERR;
    ULONG rc = read_text(path, &b, SAR_KEYNOTFOUNTERR);
    if (rc != SAR_OK) return rc;
    if (!kv((char *)b.p, "pub", hex, sizeof hex) || !unhex(hex, pub, sizeof pub) ||
        !kv((char *)b.p, "nonce", hex, sizeof hex) || !unhex(hex, nonce, sizeof nonce) ||
        !kv((char *)b.p, "priv", hex, sizeof hex) || !unhex(hex, c, sizeof c))
        rc = SAR_FILEERR;
    es_buf_cleanup(&b);
    if (rc == SAR_OK) rc = ctr(dev->skey, nonce, c, d, sizeof d);
    es_sm2_key *k = NULL;
    if (rc == SAR_OK && es_sm2_key_from_private(d, &k) != ES_OK) rc = SAR_FILEERR;
    es_wipe(d, sizeof d);
    if (rc != SAR_OK) return rc;
    es_sm2_key_pub(k, got);
    if (!ct_eq(got, pub, sizeof pub)) {
        es_sm2_key_free(k);
        return SAR_FILEERR;
    }
    *out = k;
    return SAR_OK;
}

static void blob_pub(const uint8_t pub[ES_SM2_PUB_LEN], ECCPUBLICKEYBLOB *b)
{
    memset(b, 0, sizeof *b);
    b->BitLen = 256;
    memcpy(b->XCoordinate + 32, pub + 1, 32);
    memcpy(b->YCoordinate + 32, pub + 33, 32);
}

static int pub_blob(const ECCPUBLICKEYBLOB *b, uint8_t pub[ES_SM2_PUB_LEN])
{
    static const uint8_t zero[32];
    if (b->BitLen != 256 || memcmp(b->XCoordinate, zero, 32) || memcmp(b->YCoordinate, zero, 32))
        return 0;
    pub[0] = 0x04;
    memcpy(pub + 1, b->XCoordinate + 32, 32);
    memcpy(pub + 33, b->YCoordinate + 32, 32);
    return 1;
}

static void drop_file(const obj *con, const char *file)
{
    char path[SOFT_PATH_MAX];
    if (join(path, con->path, file)) unlink(path);
}

/* --- 7.1 devices --- */

static ULONG enum_dev(LPSTR list, ULONG *size)
{
    const char *root = getenv("SOFTSKF_DIR");
    if (!root || !root[0]) return SAR_NOTINITIALIZEERR;
    return list_dirs(root, NULL, list, size);
}

static ULONG connect_dev(const char *name, DEVHANDLE *ph)
{
    const char *root = getenv("SOFTSKF_DIR");
    char path[SOFT_PATH_MAX];
    if (!root || !root[0]) return SAR_NOTINITIALIZEERR;
    if (!ph || !name_ok(name)) return SAR_INVALIDPARAMERR;
    if (!join(path, root, name)) return SAR_NAMELENERR;
    if (!is_dir(path)) return SAR_DEVICE_REMOVED;
    obj *d = obj_new(OBJ_DEV, NULL, name, path);
    if (!d) return SAR_MEMORYERR;
    ULONG rc = dev_load(d);
    if (rc != SAR_OK) {
        obj_drop(d);
        return rc;
    }
    *ph = d;
    return SAR_OK;
}

static ULONG disconnect_dev(DEVHANDLE h)
{
    obj *d = find(h, OBJ_DEV);
    if (!d) return SAR_INVALIDHANDLEERR;
    obj_drop(d);
    return SAR_OK;
}

static ULONG get_dev_info(DEVHANDLE h, DEVINFO *info)
{
    obj *d = find(h, OBJ_DEV);
    char serial[33];
    if (!d) return SAR_INVALIDHANDLEERR;
    if (!info) return SAR_INVALIDPARAMERR;
    ULONG rc = dev_serial(d, serial);
    if (rc != SAR_OK) return rc;
    memset(info, 0, sizeof *info);
    info->Version.major = 1;
    info->Version.minor = 0;
    snprintf(info->Manufacturer, sizeof info->Manufacturer, "eseal softskf");
    snprintf(info->Issuer, sizeof info->Issuer, "eseal");
    snprintf(info->Label, sizeof info->Label, "%.31s", d->name);
    snprintf(info->SerialNumber, sizeof info->SerialNumber, "%.31s", serial);
    info->HWVersion.major = 1;
    info->FirmwareVersion.major = 1;
    info->AlgSymCap = SGD_SM4_ECB;
    info->AlgAsymCap = SGD_SM2_1 | SGD_SM2_3;
    info->AlgHashCap = SGD_SM3;
    info->DevAuthAlgId = 0; /* no device authentication */
    info->TotalSpace = 1u << 20;
    info->FreeSpace = 1u << 20;
    info->MaxECCBufferSize = SOFT_MAX_PLAIN;
    info->MaxBufferSize = SOFT_MAX_PLAIN;
    return SAR_OK;
}

/* --- 7.2 access control --- */

static ULONG verify_pin(HAPPLICATION h, ULONG type, const char *pin, ULONG *retry)
{
    obj *a = find(h, OBJ_APP);
    if (!a) return SAR_INVALIDHANDLEERR;
    if (type != USER_TYPE && type != ADMIN_TYPE) return SAR_USER_TYPE_INVALID;
    if (!pin) return SAR_INVALIDPARAMERR;
    a->login = LOGIN_NONE;
    ULONG rc = pin_op(a, type, pin, retry, PIN_CHECK, NULL);
    if (rc == SAR_OK) a->login = (int)type;
    return rc;
}

static ULONG change_pin(HAPPLICATION h, ULONG type, const char *old, const char *newpin,
                        ULONG *retry)
{
    obj *a = find(h, OBJ_APP);
    if (!a) return SAR_INVALIDHANDLEERR;
    if (type != USER_TYPE && type != ADMIN_TYPE) return SAR_USER_TYPE_INVALID;
    if (!old || !newpin) return SAR_INVALIDPARAMERR;
    if (!pin_len_ok(newpin)) return SAR_PIN_LEN_RANGE;
    return pin_op(a, type, old, retry, PIN_CHANGE, newpin);
}

static ULONG unblock_pin(HAPPLICATION h, const char *so, const char *newpin, ULONG *retry)
{
    obj *a = find(h, OBJ_APP);
    if (!a) return SAR_INVALIDHANDLEERR;
    if (!so || !newpin) return SAR_INVALIDPARAMERR;
    if (!pin_len_ok(newpin)) return SAR_PIN_LEN_RANGE;
    return pin_op(a, ADMIN_TYPE, so, retry, PIN_UNBLOCK, newpin);
}

static ULONG get_pin_info(HAPPLICATION h, ULONG type, ULONG *max, ULONG *left, BOOL *def)
{
    obj *a = find(h, OBJ_APP);
    appst st;
    if (!a) return SAR_INVALIDHANDLEERR;
    if (type != USER_TYPE && type != ADMIN_TYPE) return SAR_USER_TYPE_INVALID;
    ULONG rc = app_read(a, &st);
    if (rc != SAR_OK) return rc;
    if (max) *max = st.pin[type].max;
    if (left) *left = st.pin[type].left;
    if (def) *def = FALSE;
    return SAR_OK;
}

static ULONG clear_secure_state(HAPPLICATION h)
{
    obj *a = find(h, OBJ_APP);
    if (!a) return SAR_INVALIDHANDLEERR;
    a->login = LOGIN_NONE;
    return SAR_OK;
}

/* --- 7.3 applications --- */

static ULONG create_app(DEVHANDLE h, const char *name, const char *so, DWORD so_retries,
                        const char *user, DWORD user_retries, HAPPLICATION *ph)
{
    obj *d = find(h, OBJ_DEV);
    char path[SOFT_PATH_MAX], file[SOFT_PATH_MAX];
    appst st;
    if (!d) return SAR_INVALIDHANDLEERR;
    if (!ph) return SAR_INVALIDPARAMERR;
    if (!name_ok(name)) return SAR_APPLICATION_NAME_INVALID;
    if (!pin_len_ok(so) || !pin_len_ok(user)) return SAR_PIN_LEN_RANGE;
    if (so_retries > 255 || user_retries > 255) return SAR_INVALIDPARAMERR;
    if (!join(path, d->path, name) || !join(file, path, "app")) return SAR_NAMELENERR;
    memset(&st, 0, sizeof st);
    st.pin[ADMIN_TYPE].max = st.pin[ADMIN_TYPE].left = so_retries ? so_retries : SOFT_SO_RETRIES;
    st.pin[USER_TYPE].max = st.pin[USER_TYPE].left =
        user_retries ? user_retries : SOFT_USER_RETRIES;
    ULONG rc;
    int fd = lock_dev(d);
    if (fd < 0) return SAR_FILEERR;
    if (is_file(file)) {
        rc = SAR_APPLICATION_EXISTS;
    } else if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        rc = SAR_FILEERR;
    } else if ((rc = pin_set(&st.pin[ADMIN_TYPE], so)) == SAR_OK &&
               (rc = pin_set(&st.pin[USER_TYPE], user)) == SAR_OK) {
        rc = app_write(path, &st);
    }
    unlock_dev(fd);
    if (rc != SAR_OK) return rc;
    obj *a = obj_new(OBJ_APP, d, name, path);
    if (!a) return SAR_MEMORYERR;
    *ph = a;
    return SAR_OK;
}

static ULONG enum_app(DEVHANDLE h, LPSTR list, ULONG *size)
{
    obj *d = find(h, OBJ_DEV);
    if (!d) return SAR_INVALIDHANDLEERR;
    return list_dirs(d->path, "app", list, size);
}

static ULONG open_app(DEVHANDLE h, const char *name, HAPPLICATION *ph)
{
    obj *d = find(h, OBJ_DEV);
    char path[SOFT_PATH_MAX], file[SOFT_PATH_MAX];
    if (!d) return SAR_INVALIDHANDLEERR;
    if (!ph || !name) return SAR_INVALIDPARAMERR;
    if (!name_ok(name) || !join(path, d->path, name) || !join(file, path, "app") || !is_file(file))
        return SAR_APPLICATION_NOT_EXISTS;
    obj *a = obj_new(OBJ_APP, d, name, path);
    if (!a) return SAR_MEMORYERR;
    *ph = a;
    return SAR_OK;
}

static ULONG close_app(HAPPLICATION h)
{
    obj *a = find(h, OBJ_APP);
    if (!a) return SAR_INVALIDHANDLEERR;
    obj_drop(a);
    return SAR_OK;
}

/* --- 7.4 files --- */

#define SOFT_FILE_NAME_MAX 32            /* MAX_FILE_NAME_SIZE */
#define SOFT_FILE_MAX      (256u * 1024) /* the largest file a software token holds */
#define SOFT_FILE_HDR      12

/* APP/.files (the leading dot keeps it out of the container list) and APP/.files/NAME. */
static ULONG file_path(const obj *a, const char *name, char *dir, char *path)
{
    if (!name || !name_ok(name) || strlen(name) > SOFT_FILE_NAME_MAX) return SAR_INVALIDPARAMERR;
    if (!join(dir, a->path, ".files") || !join(path, dir, name)) return SAR_NAMELENERR;
    return SAR_OK;
}

static void put32(uint8_t *p, ULONG v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static ULONG get32(const uint8_t *p)
{
    return (ULONG)p[0] | (ULONG)p[1] << 8 | (ULONG)p[2] << 16 | (ULONG)p[3] << 24;
}

/* Reads a whole file: header fields and data. SAR_FILE_NOT_EXIST, SAR_FILEERR. */
static ULONG file_load(const char *path, es_buf *b, ULONG *size, ULONG *rd, ULONG *wr)
{
    es_buf_init(b, SOFT_FILE_HDR + SOFT_FILE_MAX);
    es_err rv = es_file_read(path, b);
    if (rv == ES_ERR_NOT_FOUND) return SAR_FILE_NOT_EXIST;
    if (rv != ES_OK || b->len < SOFT_FILE_HDR || get32(b->p) != b->len - SOFT_FILE_HDR) {
        es_buf_cleanup(b);
        return SAR_FILEERR;
    }
    *size = get32(b->p);
    *rd = get32(b->p + 4);
    *wr = get32(b->p + 8);
    return SAR_OK;
}

static ULONG create_file(HAPPLICATION h, const char *name, ULONG size, ULONG rd, ULONG wr)
{
    obj *a = find(h, OBJ_APP);
    char dir[SOFT_PATH_MAX], path[SOFT_PATH_MAX];
    if (!a) return SAR_INVALIDHANDLEERR;
    ULONG rc = file_path(a, name, dir, path);
    if (rc != SAR_OK) return rc;
    if (size > SOFT_FILE_MAX) return SAR_NO_ROOM;
    if (!logged_in(a)) return SAR_USER_NOT_LOGGED_IN;
    uint8_t *buf = calloc(1, SOFT_FILE_HDR + (size_t)size);
    if (!buf) return SAR_MEMORYERR;
    put32(buf, size);
    put32(buf + 4, rd);
    put32(buf + 8, wr);
    int fd = lock_dev(dev_of(a));
    if (fd < 0) {
        free(buf);
        return SAR_FILEERR;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = SAR_FILEERR;
    else if (is_file(path))
        rc = SAR_FILE_ALREADY_EXIST;
    else if (es_file_write_mode(path, buf, SOFT_FILE_HDR + (size_t)size, 0600) != ES_OK)
        rc = SAR_WRITEFILEERR;
    unlock_dev(fd);
    free(buf);
    return rc;
}

static ULONG delete_file(HAPPLICATION h, const char *name)
{
    obj *a = find(h, OBJ_APP);
    char dir[SOFT_PATH_MAX], path[SOFT_PATH_MAX];
    if (!a) return SAR_INVALIDHANDLEERR;
    ULONG rc = file_path(a, name, dir, path);
    if (rc != SAR_OK) return rc;
    if (!logged_in(a)) return SAR_USER_NOT_LOGGED_IN;
    int fd = lock_dev(dev_of(a));
    if (fd < 0) return SAR_FILEERR;
    rc = !is_file(path) ? SAR_FILE_NOT_EXIST : unlink(path) == 0 ? SAR_OK : SAR_FILEERR;
    unlock_dev(fd);
    return rc;
}

static ULONG enum_files(HAPPLICATION h, LPSTR list, ULONG *size)
{
    obj *a = find(h, OBJ_APP);
    char dir[SOFT_PATH_MAX], path[SOFT_PATH_MAX];
    char *names[SOFT_LIST_MAX];
    size_t n = 0, total = 1;
    ULONG rc = SAR_OK;
    if (!a) return SAR_INVALIDHANDLEERR;
    if (!size) return SAR_INVALIDPARAMERR;
    if (!join(dir, a->path, ".files")) return SAR_NAMELENERR;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!name_ok(de->d_name) || strlen(de->d_name) > SOFT_FILE_NAME_MAX ||
                !join(path, dir, de->d_name) || !is_file(path))
                continue;
            if (n == SOFT_LIST_MAX || (names[n] = strdup(de->d_name)) == NULL) {
                rc = SAR_MEMORYERR;
                break;
            }
            total += strlen(names[n++]) + 1;
        }
        closedir(d);
    }
    if (rc == SAR_OK) {
        qsort(names, n, sizeof names[0], cmp_names);
        if (list && *size < total) {
            rc = SAR_BUFFER_TOO_SMALL;
        } else if (list) {
            char *p = list;
            for (size_t i = 0; i < n; i++) {
                size_t l = strlen(names[i]) + 1;
                memcpy(p, names[i], l);
                p += l;
            }
            *p = 0;
        }
        *size = (ULONG)total;
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    return rc;
}

static ULONG get_file_info(HAPPLICATION h, const char *name, FILEATTRIBUTE *info)
{
    obj *a = find(h, OBJ_APP);
    char dir[SOFT_PATH_MAX], path[SOFT_PATH_MAX];
    es_buf b;
    ULONG size, rd, wr;
    if (!a) return SAR_INVALIDHANDLEERR;
    if (!info) return SAR_INVALIDPARAMERR;
    ULONG rc = file_path(a, name, dir, path);
    if (rc == SAR_OK) rc = file_load(path, &b, &size, &rd, &wr);
    if (rc != SAR_OK) return rc;
    es_buf_cleanup(&b);
    memset(info, 0, sizeof *info);
    memcpy(info->FileName, name, strlen(name)); /* at most 32 bytes: no NUL when full */
    info->FileSize = size;
    info->ReadRights = rd;
    info->WriteRights = wr;
    return SAR_OK;
}

static ULONG read_file(HAPPLICATION h, const char *name, ULONG off, ULONG want, BYTE *out,
                       ULONG *got)
{
    obj *a = find(h, OBJ_APP);
    char dir[SOFT_PATH_MAX], path[SOFT_PATH_MAX];
    es_buf b;
    ULONG size, rd, wr;
    if (!a) return SAR_INVALIDHANDLEERR;
    if (!out || !got) return SAR_INVALIDPARAMERR;
    ULONG rc = file_path(a, name, dir, path);
    if (rc == SAR_OK) rc = file_load(path, &b, &size, &rd, &wr);
    if (rc != SAR_OK) return rc;
    if (rd != SECURE_ANYONE_ACCOUNT && !logged_in(a))
        rc = SAR_USER_NOT_LOGGED_IN;
    else if (off > size)
        rc = SAR_INVALIDPARAMERR;
    else {
        ULONG n = size - off < want ? size - off : want;
        memcpy(out, b.p + SOFT_FILE_HDR + off, n);
        *got = n;
    }
    es_buf_cleanup(&b);
    return rc;
}

static ULONG write_file(HAPPLICATION h, const char *name, ULONG off, const BYTE *data, ULONG n)
{
    obj *a = find(h, OBJ_APP);
    char dir[SOFT_PATH_MAX], path[SOFT_PATH_MAX];
    es_buf b;
    ULONG size, rd, wr;
    if (!a) return SAR_INVALIDHANDLEERR;
    if (!data && n) return SAR_INVALIDPARAMERR;
    ULONG rc = file_path(a, name, dir, path);
    if (rc != SAR_OK) return rc;
    if (!logged_in(a)) return SAR_USER_NOT_LOGGED_IN;
    int fd = lock_dev(dev_of(a));
    if (fd < 0) return SAR_FILEERR;
    if ((rc = file_load(path, &b, &size, &rd, &wr)) == SAR_OK) {
        if (off > size || n > size - off)
            rc = SAR_INDATALENERR;
        else {
            if (n) memcpy(b.p + SOFT_FILE_HDR + off, data, n);
            if (es_file_write_mode(path, b.p, b.len, 0600) != ES_OK) rc = SAR_WRITEFILEERR;
        }
        es_buf_cleanup(&b);
    }
    unlock_dev(fd);
    return rc;
}

/* --- 7.5 containers --- */

static ULONG create_con(HAPPLICATION h, const char *name, HCONTAINER *ph)
{
    obj *a = find(h, OBJ_APP);
    char path[SOFT_PATH_MAX];
    if (!a) return SAR_INVALIDHANDLEERR;
    if (!ph || !name_ok(name)) return SAR_INVALIDPARAMERR;
    if (!logged_in(a)) return SAR_USER_NOT_LOGGED_IN;
    if (!join(path, a->path, name)) return SAR_NAMELENERR;
    int fd = lock_dev(dev_of(a));
    if (fd < 0) return SAR_FILEERR;
    ULONG rc = mkdir(path, 0700) == 0 ? SAR_OK
               : errno == EEXIST      ? SAR_FILE_ALREADY_EXIST
                                      : SAR_FILEERR;
    unlock_dev(fd);
    if (rc != SAR_OK) return rc;
    obj *c = obj_new(OBJ_CON, a, name, path);
    if (!c) return SAR_MEMORYERR;
    *ph = c;
    return SAR_OK;
}

static ULONG open_con(HAPPLICATION h, const char *name, HCONTAINER *ph)
{
    obj *a = find(h, OBJ_APP);
    char path[SOFT_PATH_MAX];
    if (!a) return SAR_INVALIDHANDLEERR;
    if (!ph || !name) return SAR_INVALIDPARAMERR;
    if (!name_ok(name) || !join(path, a->path, name) || !is_dir(path)) return SAR_FILE_NOT_EXIST;
    obj *c = obj_new(OBJ_CON, a, name, path);
    if (!c) return SAR_MEMORYERR;
    *ph = c;
    return SAR_OK;
}

static ULONG close_con(HCONTAINER h)
{
    obj *c = find(h, OBJ_CON);
    if (!c) return SAR_INVALIDHANDLEERR;
    obj_drop(c);
    return SAR_OK;
}

static ULONG enum_con(HAPPLICATION h, LPSTR list, ULONG *size)
{
    obj *a = find(h, OBJ_APP);
    if (!a) return SAR_INVALIDHANDLEERR;
    return list_dirs(a->path, NULL, list, size);
}

static ULONG get_con_type(HCONTAINER h, ULONG *type)
{
    obj *c = find(h, OBJ_CON);
    uint8_t pub[ES_SM2_PUB_LEN];
    if (!c) return SAR_INVALIDHANDLEERR;
    if (!type) return SAR_INVALIDPARAMERR;
    *type = key_pub(c, 1, pub) == SAR_OK || key_pub(c, 0, pub) == SAR_OK ? CONTAINER_TYPE_ECC
                                                                         : CONTAINER_TYPE_UNDEF;
    return SAR_OK;
}

static ULONG import_cert(HCONTAINER h, BOOL sign, const BYTE *cert, ULONG len)
{
    obj *c = find(h, OBJ_CON);
    char path[SOFT_PATH_MAX];
    if (!c) return SAR_INVALIDHANDLEERR;
    if (!cert || len == 0 || len > SOFT_MAX_CERT) return SAR_INVALIDPARAMERR;
    if (!logged_in(c)) return SAR_USER_NOT_LOGGED_IN;
    if (!join(path, c->path, slot_file(sign != FALSE, "crt"))) return SAR_NAMELENERR;
    int fd = lock_dev(dev_of(c));
    if (fd < 0) return SAR_FILEERR;
    ULONG rc = es_file_write_mode(path, cert, len, 0644) == ES_OK ? SAR_OK : SAR_WRITEFILEERR;
    unlock_dev(fd);
    return rc;
}

static ULONG export_cert(HCONTAINER h, BOOL sign, BYTE *cert, ULONG *len)
{
    obj *c = find(h, OBJ_CON);
    char path[SOFT_PATH_MAX];
    es_buf b;
    if (!c) return SAR_INVALIDHANDLEERR;
    if (!len) return SAR_INVALIDPARAMERR;
    if (!join(path, c->path, slot_file(sign != FALSE, "crt"))) return SAR_NAMELENERR;
    es_buf_init(&b, SOFT_MAX_CERT);
    es_err rv = es_file_read(path, &b);
    ULONG rc = rv == ES_OK              ? SAR_OK
               : rv == ES_ERR_NOT_FOUND ? SAR_CERTNOTFOUNTERR
                                        : SAR_READFILEERR;
    if (rc == SAR_OK) {
        if (cert && *len < b.len)
            rc = SAR_BUFFER_TOO_SMALL;
        else if (cert)
            memcpy(cert, b.p, b.len);
        *len = (ULONG)b.len;
    }
    es_buf_cleanup(&b);
    return rc;
}

/* --- 7.6 cryptographic services --- */

static ULONG gen_ecc(HCONTAINER h, ULONG alg, ECCPUBLICKEYBLOB *blob)
{
    obj *c = find(h, OBJ_CON);
    uint8_t pub[ES_SM2_PUB_LEN];
    if (!c) return SAR_INVALIDHANDLEERR;
    if (!blob) return SAR_INVALIDPARAMERR;
    /* SGD_SM2_1 by GM/T 0006; older vendor headers call the same thing SGD_SM2. */
    if (alg != SGD_SM2_1 && alg != SGD_SM2) return SAR_NOTSUPPORTYETERR;
    if (!logged_in(c)) return SAR_USER_NOT_LOGGED_IN;
    es_sm2_key *k = NULL;
    if (es_sm2_key_generate(&k) != ES_OK) return SAR_FAIL;
    int fd = lock_dev(dev_of(c));
    ULONG rc = fd < 0 ? SAR_FILEERR : key_write(c, 1, k);
    /* A certificate of the key this one replaces no longer belongs here. */
    if (rc == SAR_OK) drop_file(c, "sign.crt");
    unlock_dev(fd);
    if (rc == SAR_OK) {
        es_sm2_key_pub(k, pub);
        blob_pub(pub, blob);
    }
    es_sm2_key_free(k);
    return rc;
}

/* The private key of an envelope: its wrapped symmetric key decrypted with the container's
 * signing key, then cbEncryptedPriKey with that. The scalar is read right-aligned (GB/T 35291,
 * whether the whole 64-byte field or only its last 32 bytes were encrypted), and, failing
 * that, from the first 32 bytes, where some producers put it; it must match PubKey. */
static ULONG unwrap(const obj *c, const ENVELOPEDKEYBLOB *env, es_sm2_key **out)
{
    uint8_t want[ES_SM2_PUB_LEN], got[ES_SM2_PUB_LEN], symm[16], plain[64];
    es_sm2_key *sk = NULL, *k = NULL;
    es_buf der, pt;
    ULONG rc = SAR_OK;
    static const uint8_t zero[32];
    es_buf_init(&der, 4096);
    es_buf_init(&pt, 64);
    if (env->Version != SKF_ENVELOPEDKEYBLOB_VERSION || env->ulBits != 256 ||
        !pub_blob(&env->PubKey, want) || env->ECCCipherBlob.CipherLen != sizeof symm ||
        memcmp(env->ECCCipherBlob.XCoordinate, zero, 32) ||
        memcmp(env->ECCCipherBlob.YCoordinate, zero, 32))
        return SAR_INDATAERR;
    if (env->ulSymmAlgID != SGD_SM4_ECB) return SAR_NOTSUPPORTYETERR; /* no SM1 here */
    if ((rc = key_read(c, 1, &sk)) != SAR_OK) return rc;
    if (sm2_cipher_to_der(env->ECCCipherBlob.XCoordinate + 32, env->ECCCipherBlob.YCoordinate + 32,
                          env->ECCCipherBlob.HASH, env->ECCCipherBlob.Cipher,
                          env->ECCCipherBlob.CipherLen, &der) != ES_OK ||
        es_sm2_key_decrypt(sk, der.p, der.len, &pt) != ES_OK || pt.len != sizeof symm) {
        rc = SAR_INDATAERR;
        goto out;
    }
    memcpy(symm, pt.p, sizeof symm);
    if (es_sm4_ecb(0, symm, env->cbEncryptedPriKey, sizeof plain, plain) != ES_OK) {
        rc = SAR_FAIL;
        goto out;
    }
    rc = SAR_INDATAERR;
    for (int half = 1; half >= 0 && rc != SAR_OK; half--) {
        if (es_sm2_key_from_private(plain + 32 * half, &k) != ES_OK) continue;
        es_sm2_key_pub(k, got);
        if (ct_eq(got, want, sizeof got)) {
            *out = k;
            rc = SAR_OK;
        } else {
            es_sm2_key_free(k);
        }
        k = NULL;
    }
out:
    es_wipe(symm, sizeof symm);
    es_wipe(plain, sizeof plain);
    es_buf_cleanup_secret(&pt);
    es_buf_cleanup(&der);
    es_sm2_key_free(sk);
    return rc;
}

static ULONG import_ecc(HCONTAINER h, const ENVELOPEDKEYBLOB *env)
{
    obj *c = find(h, OBJ_CON);
    if (!c) return SAR_INVALIDHANDLEERR;
    if (!env) return SAR_INVALIDPARAMERR;
    if (!logged_in(c)) return SAR_USER_NOT_LOGGED_IN;
    const char *mode = getenv("SOFTSKF_IMPORT");
    int sign = !mode || !mode[0] || strcmp(mode, "sign") == 0;
    if (!sign && strcmp(mode, "enc") != 0) return SAR_NOTSUPPORTYETERR;
    es_sm2_key *k = NULL;
    ULONG rc = unwrap(c, env, &k);
    if (rc != SAR_OK) return rc;
    int fd = lock_dev(dev_of(c));
    rc = fd < 0 ? SAR_FILEERR : key_write(c, sign, k);
    if (rc == SAR_OK) drop_file(c, slot_file(sign, "crt"));
    unlock_dev(fd);
    es_sm2_key_free(k);
    return rc;
}

static ULONG sign_data(HCONTAINER h, const BYTE *digest, ULONG len, ECCSIGNATUREBLOB *sig)
{
    obj *c = find(h, OBJ_CON);
    uint8_t r[32], s[32];
    if (!c) return SAR_INVALIDHANDLEERR;
    if (!digest || !sig) return SAR_INVALIDPARAMERR;
    /* 7.6.13: the input is the digest e = SM3(Z || M). */
    if (len != ES_SM3_LEN) return SAR_INDATALENERR;
    if (!logged_in(c)) return SAR_USER_NOT_LOGGED_IN;
    es_sm2_key *k = NULL;
    ULONG rc = key_read(c, 1, &k);
    if (rc != SAR_OK) return rc;
    if (es_sm2_key_sign_digest(k, digest, r, s) != ES_OK) rc = SAR_FAIL;
    es_sm2_key_free(k);
    if (rc != SAR_OK) return rc;
    const char *broken = getenv("SOFTSKF_BROKEN_SIGN");
    if (broken && strcmp(broken, "1") == 0) s[31] ^= 1; /* the faulty device of the header */
    memset(sig, 0, sizeof *sig);
    memcpy(sig->r + 32, r, 32);
    memcpy(sig->s + 32, s, 32);
    return SAR_OK;
}

static ULONG ecc_verify(DEVHANDLE h, const ECCPUBLICKEYBLOB *blob, const BYTE *data, ULONG len,
                        const ECCSIGNATUREBLOB *sig)
{
    uint8_t pub[ES_SM2_PUB_LEN];
    static const uint8_t zero[32];
    if (!find(h, OBJ_DEV)) return SAR_INVALIDHANDLEERR;
    if (!blob || !data || !sig) return SAR_INVALIDPARAMERR;
    if (len != ES_SM3_LEN) return SAR_INDATALENERR;
    if (!pub_blob(blob, pub) || memcmp(sig->r, zero, 32) || memcmp(sig->s, zero, 32))
        return SAR_INDATAERR;
    return es_sm2_verify_digest(pub, data, sig->r + 32, sig->s + 32) == ES_OK ? SAR_OK : SAR_FAIL;
}

static ULONG export_pub(HCONTAINER h, BOOL sign, BYTE *out, ULONG *len)
{
    obj *c = find(h, OBJ_CON);
    uint8_t pub[ES_SM2_PUB_LEN];
    ECCPUBLICKEYBLOB b;
    if (!c) return SAR_INVALIDHANDLEERR;
    if (!len) return SAR_INVALIDPARAMERR;
    ULONG rc = key_pub(c, sign != FALSE, pub);
    if (rc != SAR_OK) return rc;
    if (out && *len < sizeof b) {
        *len = sizeof b;
        return SAR_BUFFER_TOO_SMALL;
    }
    blob_pub(pub, &b);
    if (out) memcpy(out, &b, sizeof b);
    *len = sizeof b;
    return SAR_OK;
}

static ULONG ecc_decrypt(HCONTAINER h, const ECCCIPHERBLOB *cb, BYTE *plain, ULONG *len)
{
    obj *c = find(h, OBJ_CON);
    static const uint8_t zero[32];
    if (!c) return SAR_INVALIDHANDLEERR;
    if (!cb || !len) return SAR_INVALIDPARAMERR;
    if (!logged_in(c)) return SAR_USER_NOT_LOGGED_IN;
    if (cb->CipherLen == 0 || cb->CipherLen > SOFT_MAX_PLAIN) return SAR_INDATALENERR;
    if (memcmp(cb->XCoordinate, zero, 32) || memcmp(cb->YCoordinate, zero, 32))
        return SAR_INDATAERR;
    if (!plain) {
        *len = cb->CipherLen;
        return SAR_OK;
    }
    if (*len < cb->CipherLen) {
        *len = cb->CipherLen;
        return SAR_BUFFER_TOO_SMALL;
    }
    /* The vendor extension decrypts with the encryption key pair. */
    es_sm2_key *k = NULL;
    ULONG rc = key_read(c, 0, &k);
    if (rc != SAR_OK) return rc;
    es_buf der, pt;
    es_buf_init(&der, SOFT_MAX_PLAIN + 4096);
    es_buf_init(&pt, SOFT_MAX_PLAIN);
    if (sm2_cipher_to_der(cb->XCoordinate + 32, cb->YCoordinate + 32, cb->HASH, cb->Cipher,
                          cb->CipherLen, &der) != ES_OK ||
        es_sm2_key_decrypt(k, der.p, der.len, &pt) != ES_OK || pt.len > *len) {
        rc = SAR_INDATAERR;
    } else {
        memcpy(plain, pt.p, pt.len);
        *len = (ULONG)pt.len;
    }
    es_buf_cleanup_secret(&pt);
    es_buf_cleanup(&der);
    es_sm2_key_free(k);
    return rc;
}

/* --- the exported ABI --- */

ULONG DEVAPI SKF_EnumDev(BOOL bPresent, LPSTR szNameList, ULONG *pulSize)
{
    (void)bPresent; /* every device directory is present */
    LOCKED(enum_dev(szNameList, pulSize));
}

ULONG DEVAPI SKF_ConnectDev(LPSTR szName, DEVHANDLE *phDev)
{
    LOCKED(connect_dev(szName, phDev));
}

ULONG DEVAPI SKF_DisConnectDev(DEVHANDLE hDev)
{
    LOCKED(disconnect_dev(hDev));
}

ULONG DEVAPI SKF_GetDevInfo(DEVHANDLE hDev, DEVINFO *pDevInfo)
{
    LOCKED(get_dev_info(hDev, pDevInfo));
}

ULONG DEVAPI SKF_ChangePIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin,
                           LPSTR szNewPin, ULONG *pulRetryCount)
{
    LOCKED(change_pin(hApplication, ulPINType, szOldPin, szNewPin, pulRetryCount));
}

ULONG DEVAPI SKF_GetPINInfo(HAPPLICATION hApplication, ULONG ulPINType, ULONG *pulMaxRetryCount,
                            ULONG *pulRemainRetryCount, BOOL *pbDefaultPin)
{
    LOCKED(
        get_pin_info(hApplication, ulPINType, pulMaxRetryCount, pulRemainRetryCount, pbDefaultPin));
}

ULONG DEVAPI SKF_VerifyPIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN,
                           ULONG *pulRetryCount)
{
    LOCKED(verify_pin(hApplication, ulPINType, szPIN, pulRetryCount));
}

ULONG DEVAPI SKF_UnblockPIN(HAPPLICATION hApplication, LPSTR szAdminPIN, LPSTR szNewUserPIN,
                            ULONG *pulRetryCount)
{
    LOCKED(unblock_pin(hApplication, szAdminPIN, szNewUserPIN, pulRetryCount));
}

ULONG DEVAPI SKF_ClearSecureState(HAPPLICATION hApplication)
{
    LOCKED(clear_secure_state(hApplication));
}

ULONG DEVAPI SKF_CreateApplication(DEVHANDLE hDev, LPSTR szAppName, LPSTR szAdminPin,
                                   DWORD dwAdminPinRetryCount, LPSTR szUserPin,
                                   DWORD dwUserPinRetryCount, DWORD dwCreateFileRights,
                                   HAPPLICATION *phApplication)
{
    (void)dwCreateFileRights; /* softskf has no files */
    LOCKED(create_app(hDev, szAppName, szAdminPin, dwAdminPinRetryCount, szUserPin,
                      dwUserPinRetryCount, phApplication));
}

ULONG DEVAPI SKF_EnumApplication(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize)
{
    LOCKED(enum_app(hDev, szAppName, pulSize));
}

ULONG DEVAPI SKF_OpenApplication(DEVHANDLE hDev, LPSTR szAppName, HAPPLICATION *phApplication)
{
    LOCKED(open_app(hDev, szAppName, phApplication));
}

ULONG DEVAPI SKF_CloseApplication(HAPPLICATION hApplication)
{
    LOCKED(close_app(hApplication));
}

ULONG DEVAPI SKF_CreateFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulFileSize,
                            ULONG ulReadRights, ULONG ulWriteRights)
{
    LOCKED(create_file(hApplication, szFileName, ulFileSize, ulReadRights, ulWriteRights));
}

ULONG DEVAPI SKF_DeleteFile(HAPPLICATION hApplication, LPSTR szFileName)
{
    LOCKED(delete_file(hApplication, szFileName));
}

ULONG DEVAPI SKF_EnumFiles(HAPPLICATION hApplication, LPSTR szFileList, ULONG *pulSize)
{
    LOCKED(enum_files(hApplication, szFileList, pulSize));
}

ULONG DEVAPI SKF_GetFileInfo(HAPPLICATION hApplication, LPSTR szFileName, FILEATTRIBUTE *pFileInfo)
{
    LOCKED(get_file_info(hApplication, szFileName, pFileInfo));
}

ULONG DEVAPI SKF_ReadFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset, ULONG ulSize,
                          BYTE *pbOutData, ULONG *pulOutLen)
{
    LOCKED(read_file(hApplication, szFileName, ulOffset, ulSize, pbOutData, pulOutLen));
}

ULONG DEVAPI SKF_WriteFile(HAPPLICATION hApplication, LPSTR szFileName, ULONG ulOffset,
                           BYTE *pbData, ULONG ulSize)
{
    LOCKED(write_file(hApplication, szFileName, ulOffset, pbData, ulSize));
}

ULONG DEVAPI SKF_CreateContainer(HAPPLICATION hApplication, LPSTR szContainerName,
                                 HCONTAINER *phContainer)
{
    LOCKED(create_con(hApplication, szContainerName, phContainer));
}

ULONG DEVAPI SKF_OpenContainer(HAPPLICATION hApplication, LPSTR szContainerName,
                               HCONTAINER *phContainer)
{
    LOCKED(open_con(hApplication, szContainerName, phContainer));
}

ULONG DEVAPI SKF_CloseContainer(HCONTAINER hContainer)
{
    LOCKED(close_con(hContainer));
}

ULONG DEVAPI SKF_EnumContainer(HAPPLICATION hApplication, LPSTR szContainerName, ULONG *pulSize)
{
    LOCKED(enum_con(hApplication, szContainerName, pulSize));
}

ULONG DEVAPI SKF_GetContainerType(HCONTAINER hContainer, ULONG *pulContainerType)
{
    LOCKED(get_con_type(hContainer, pulContainerType));
}

ULONG DEVAPI SKF_ImportCertificate(HCONTAINER hContainer, BOOL bExportSignKey, BYTE *pbCert,
                                   ULONG ulCertLen)
{
    LOCKED(import_cert(hContainer, bExportSignKey, pbCert, ulCertLen));
}

ULONG DEVAPI SKF_ExportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert,
                                   ULONG *pulCertLen)
{
    LOCKED(export_cert(hContainer, bSignFlag, pbCert, pulCertLen));
}

ULONG DEVAPI SKF_GenECCKeyPair(HCONTAINER hContainer, ULONG ulAlgId, ECCPUBLICKEYBLOB *pBlob)
{
    LOCKED(gen_ecc(hContainer, ulAlgId, pBlob));
}

ULONG DEVAPI SKF_ImportECCKeyPair(HCONTAINER hContainer, ENVELOPEDKEYBLOB *pEnvelopedKeyBlob)
{
    LOCKED(import_ecc(hContainer, pEnvelopedKeyBlob));
}

ULONG DEVAPI SKF_ECCSignData(HCONTAINER hContainer, BYTE *pbDigest, ULONG ulDigestLen,
                             ECCSIGNATUREBLOB *pSignature)
{
    LOCKED(sign_data(hContainer, pbDigest, ulDigestLen, pSignature));
}

ULONG DEVAPI SKF_ECCVerify(DEVHANDLE hDev, ECCPUBLICKEYBLOB *pECCPubKeyBlob, BYTE *pbData,
                           ULONG ulDataLen, ECCSIGNATUREBLOB *pSignature)
{
    LOCKED(ecc_verify(hDev, pECCPubKeyBlob, pbData, ulDataLen, pSignature));
}

ULONG DEVAPI SKF_ExportPublicKey(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob,
                                 ULONG *pulBlobLen)
{
    LOCKED(export_pub(hContainer, bSignFlag, pbBlob, pulBlobLen));
}

ULONG DEVAPI SKF_ECCDecrypt(HCONTAINER hContainer, ECCCIPHERBLOB *pCipherBlob, BYTE *pbPlainText,
                            ULONG *pulPlainTextLen)
{
    LOCKED(ecc_decrypt(hContainer, pCipherBlob, pbPlainText, pulPlainTextLen));
}
