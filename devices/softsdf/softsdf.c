/* libsoftsdf.so: a software crypto device with the standard GB/T 36322 (SDF) C ABI
 * (include/eseal/sdf.h), for tests and for trying eseal without a card. It is loaded by
 * dlopen like any vendor library, so the path a real card takes is the path tests take.
 * Not for production keys: the keys are files, protected only by their passwords.
 *
 * Storage. The device is the directory named by the environment variable SOFTSDF_DIR, read
 * at SDF_OpenDevice (which fails with SDR_OPENDEVICE when it is unset or not a directory).
 * Key index N (1..65535) is:
 *   signN.key   the signing private key    PKCS#8 EncryptedPrivateKeyInfo, PEM, encrypted
 *   encN.key    the encryption private key   under the key-access password of index N
 *   signN.pub   the signing public key     PEM SubjectPublicKeyInfo, plaintext
 *   encN.pub    the encryption public key
 * The .key files are exactly eseal's soft key store format, so `soft:$SOFTSDF_DIR#sign3`
 * (eseal key generate) provisions the signing key of index 3; the soft store's passphrase is
 * the access password. Unencrypted key files are refused (SDR_KEYERR): a password must
 * protect them.
 *
 * Access rights. SDF_GetPrivateKeyAccessRight(N, password) decrypts whichever of signN.key
 * and encN.key exist (SDR_KEYNOTEXIST when neither does, SDR_PARDENY when one does not
 * decrypt) and keeps them in the session until SDF_ReleasePrivateKeyAccessRight or
 * SDF_CloseSession. Private-key operations need the right (SDR_PARDENY without it).
 *
 * Public keys export without an access right, as a card's do: from the session's key when it
 * holds the right, otherwise from signN.pub / encN.pub. softsdf writes a missing .pub at the
 * first access right, and refuses the right (SDR_KEYERR) when an existing .pub does not
 * belong to the key: delete it when replacing a key. Without a .pub and without the right,
 * export fails with SDR_PARDENY (SDR_KEYNOTEXIST when there is no key either).
 *
 * Sessions are independent: each holds its own rights and keys, nothing is global, so
 * separate sessions may be used from separate threads (one session by one thread at a time).
 *
 * Key import (SDF_ImportKeyPair_ECC, the vendor extension of eseal/sdf.h): the envelope's
 * symmetric key is decrypted with encN.key, the private key with that, inside the device; it
 * must match the envelope's public key, and becomes signN.key, encrypted under the access
 * password of index N as the other key files are (the session keeps that password while it
 * holds the right, and wipes it at release). An index that has signN.key is refused.
 *
 * A faulty card for tests: with SOFTSDF_BROKEN_SIGN=1 in the environment, SDF_InternalSign_ECC
 * flips one bit of every signature's s (a signature that does not verify), so that a test can
 * show eseal withholds it (src/keydev/sdf.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define SDF_API __attribute__((visibility("default")))
#include "eseal/crypto.h"
#include "eseal/der.h"
#include "eseal/sdf.h"
#include "eseal/skf.h" /* the ENVELOPEDKEYBLOB layout (GB/T 35291 6.4.10) */
#include "eseal/util.h"
#include "keydev/internal.h" /* sm2_cipher_from_der / _to_der */

#define DEV_MAGIC    0x53444644u /* "SDFD" */
#define SESS_MAGIC   0x53444653u /* "SDFS" */
#define MAX_INDEX    65535u
#define MAX_RIGHTS   16
#define MAX_PASSWORD 255
#define MAX_PLAIN    (64u * 1024) /* longest SM2 plaintext */
#define MAX_PUB_FILE (8u * 1024)
#define MAX_DIR      4096

typedef struct softdev {
    uint32_t magic;
    char dir[MAX_DIR];
} softdev;

typedef struct right {
    unsigned index;
    es_sm2_key *sign; /* NULL when signN.key does not exist */
    es_sm2_key *enc;
    char pass[MAX_PASSWORD + 1]; /* protects a key imported at the index (wiped at release) */
} right;

typedef struct softsess {
    uint32_t magic;
    char dir[MAX_DIR];
    right rights[MAX_RIGHTS];
    size_t n;
} softsess;

static softsess *session(void *h)
{
    softsess *s = h;
    return s && s->magic == SESS_MAGIC ? s : NULL;
}

static right *find_right(softsess *s, unsigned index)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->rights[i].index == index) return &s->rights[i];
    return NULL;
}

static void right_clear(right *r)
{
    es_sm2_key_free(r->sign);
    es_sm2_key_free(r->enc);
    es_wipe(r, sizeof *r);
}

/* DIR/<kind><index>.<ext>; 0 when it does not fit. */
static int key_file(const softsess *s, const char *kind, unsigned index, const char *ext, char *out,
                    size_t n)
{
    int k = snprintf(out, n, "%s/%s%u.%s", s->dir, kind, index, ext);
    return k > 0 && (size_t)k < n;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void put_field(unsigned char f[ECCref_MAX_LEN], const uint8_t v[32])
{
    memset(f, 0, ECCref_MAX_LEN - 32);
    memcpy(f + ECCref_MAX_LEN - 32, v, 32);
}

/* 1 when the field holds a right-aligned 256-bit number. */
static int right_aligned(const unsigned char f[ECCref_MAX_LEN])
{
    for (size_t i = 0; i < ECCref_MAX_LEN - 32; i++)
        if (f[i]) return 0;
    return 1;
}

static void pub_to_ref(const uint8_t pub[ES_SM2_PUB_LEN], ECCrefPublicKey *pk)
{
    pk->bits = 256;
    put_field(pk->x, pub + 1);
    put_field(pk->y, pub + 33);
}

static int pub_from_ref(const ECCrefPublicKey *pk, uint8_t pub[ES_SM2_PUB_LEN])
{
    if (pk->bits != 256 || !right_aligned(pk->x) || !right_aligned(pk->y)) return 0;
    pub[0] = 0x04;
    memcpy(pub + 1, pk->x + ECCref_MAX_LEN - 32, 32);
    memcpy(pub + 33, pk->y + ECCref_MAX_LEN - 32, 32);
    return 1;
}

/* Loads and decrypts one key file: SDR_OK, SDR_KEYNOTEXIST, SDR_KEYERR (not an encrypted
 * PKCS#8 file), SDR_PARDENY (does not decrypt with pass). */
static int load_key(const softsess *s, const char *kind, unsigned index, const char *pass,
                    es_sm2_key **out)
{
    char path[MAX_DIR + 32];
    static const char label[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    if (!key_file(s, kind, index, "key", path, sizeof path)) return SDR_KEYNOTEXIST;
    if (!exists(path)) return SDR_KEYNOTEXIST;
    es_buf b;
    es_buf_init(&b, ES_MAX_KEY_FILE);
    int rc = SDR_OK;
    if (es_file_read(path, &b) != ES_OK)
        rc = SDR_FILENOEXIST;
    else if (b.len < sizeof label - 1 || es_buf_nul(&b) != ES_OK ||
             !strstr((const char *)b.p, label))
        rc = SDR_KEYERR;
    else if (es_sm2_key_from_pem(b.p, b.len, pass, out) != ES_OK)
        rc = SDR_PARDENY;
    es_buf_cleanup_secret(&b);
    return rc;
}

/* Reads DIR/<kind><index>.pub (PEM SubjectPublicKeyInfo, id-ecPublicKey with the SM2 curve):
 * SDR_OK, SDR_FILENOEXIST, SDR_KEYERR. */
static int read_pub(const softsess *s, const char *kind, unsigned index,
                    uint8_t pub[ES_SM2_PUB_LEN])
{
    static const char begin[] = "-----BEGIN PUBLIC KEY-----", end[] = "-----END PUBLIC KEY-----";
    char path[MAX_DIR + 32];
    es_buf text, der, oid_ec, oid_sm2;
    int rc = SDR_KEYERR;
    if (!key_file(s, kind, index, "pub", path, sizeof path) || !exists(path))
        return SDR_FILENOEXIST;
    es_buf_init(&text, MAX_PUB_FILE);
    es_buf_init(&der, MAX_PUB_FILE);
    es_buf_init(&oid_ec, 64);
    es_buf_init(&oid_sm2, 64);
    if (es_file_read(path, &text) != ES_OK || es_buf_nul(&text) != ES_OK) goto out;
    const char *b = strstr((const char *)text.p, begin);
    const char *e = b ? strstr(b, end) : NULL;
    if (!e) goto out;
    b += sizeof begin - 1;
    if (es_base64_decode(b, (size_t)(e - b), &der) != ES_OK ||
        es_oid_from_text("1.2.840.10045.2.1", &oid_ec) != ES_OK ||
        es_oid_from_text(ES_OID_SM2, &oid_sm2) != ES_OK)
        goto out;
    /* SubjectPublicKeyInfo ::= SEQUENCE { SEQUENCE { algorithm, parameters }, BIT STRING } */
    es_der d, spki, alg;
    es_der_tlv t;
    es_slice a, p, bits;
    uint8_t unused = 0;
    es_der_init(&d, es_slice_make(der.p, der.len), NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &spki) != ES_OK || es_der_done(&d) != ES_OK ||
        es_der_open(&spki, ES_DER_SEQUENCE, &t, &alg) != ES_OK ||
        es_der_read_oid(&alg, &a) != ES_OK || es_der_read_oid(&alg, &p) != ES_OK ||
        es_der_done(&alg) != ES_OK || es_der_read_bits(&spki, &bits, &unused) != ES_OK ||
        es_der_done(&spki) != ES_OK)
        goto out;
    if (!es_slice_eq(a, es_slice_make(oid_ec.p, oid_ec.len)) ||
        !es_slice_eq(p, es_slice_make(oid_sm2.p, oid_sm2.len)) || unused != 0 ||
        bits.len != ES_SM2_PUB_LEN || bits.p[0] != 0x04)
        goto out;
    memcpy(pub, bits.p, ES_SM2_PUB_LEN);
    rc = SDR_OK;
out:
    es_buf_cleanup(&text);
    es_buf_cleanup(&der);
    es_buf_cleanup(&oid_ec);
    es_buf_cleanup(&oid_sm2);
    return rc;
}

/* Makes sure <kind><index>.pub belongs to k: writes it when missing (a read-only directory is
 * not an error: the key still works), SDR_KEYERR when it holds another key. */
static int check_pub(const softsess *s, const char *kind, unsigned index, const es_sm2_key *k)
{
    uint8_t have[ES_SM2_PUB_LEN], want[ES_SM2_PUB_LEN];
    char path[MAX_DIR + 32];
    es_sm2_key_pub(k, want);
    int rc = read_pub(s, kind, index, have);
    if (rc == SDR_OK) return memcmp(have, want, sizeof want) == 0 ? SDR_OK : SDR_KEYERR;
    if (rc != SDR_FILENOEXIST) return rc;
    if (!key_file(s, kind, index, "pub", path, sizeof path)) return SDR_OK;
    es_buf pem;
    es_buf_init(&pem, MAX_PUB_FILE);
    if (es_sm2_key_pub_pem(k, &pem) == ES_OK &&
        es_file_write_mode(path, pem.p, pem.len, 0644) != ES_OK) {
        /* read-only storage: export then needs the access right */
    }
    es_buf_cleanup(&pem);
    return SDR_OK;
}

/* --- 6.2 device management --- */

SDF_API int SDF_OpenDevice(void **phDeviceHandle)
{
    struct stat st;
    if (!phDeviceHandle) return SDR_INARGERR;
    *phDeviceHandle = NULL;
    const char *dir = getenv("SOFTSDF_DIR");
    if (!dir || !*dir || strlen(dir) >= MAX_DIR || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return SDR_OPENDEVICE;
    softdev *d = calloc(1, sizeof *d);
    if (!d) return SDR_NOBUFFER;
    d->magic = DEV_MAGIC;
    memcpy(d->dir, dir, strlen(dir) + 1);
    *phDeviceHandle = d;
    return SDR_OK;
}

SDF_API int SDF_CloseDevice(void *hDeviceHandle)
{
    softdev *d = hDeviceHandle;
    if (!d || d->magic != DEV_MAGIC) return SDR_INARGERR;
    d->magic = 0;
    free(d);
    return SDR_OK;
}

SDF_API int SDF_OpenSession(void *hDeviceHandle, void **phSessionHandle)
{
    softdev *d = hDeviceHandle;
    if (!d || d->magic != DEV_MAGIC || !phSessionHandle) return SDR_INARGERR;
    *phSessionHandle = NULL;
    softsess *s = calloc(1, sizeof *s);
    if (!s) return SDR_OPENSESSION;
    s->magic = SESS_MAGIC;
    memcpy(s->dir, d->dir, sizeof s->dir);
    *phSessionHandle = s;
    return SDR_OK;
}

SDF_API int SDF_CloseSession(void *hSessionHandle)
{
    softsess *s = session(hSessionHandle);
    if (!s) return SDR_INARGERR;
    for (size_t i = 0; i < s->n; i++) right_clear(&s->rights[i]);
    s->magic = 0;
    free(s);
    return SDR_OK;
}

SDF_API int SDF_GetDeviceInfo(void *hSessionHandle, DEVICEINFO *pstDeviceInfo)
{
    softsess *s = session(hSessionHandle);
    uint8_t h[ES_SM3_LEN];
    char hex[2 * ES_SM3_LEN + 1];
    if (!s || !pstDeviceInfo) return SDR_INARGERR;
    memset(pstDeviceInfo, 0, sizeof *pstDeviceInfo);
    memcpy(pstDeviceInfo->IssuerName, "eseal", 5);
    memcpy(pstDeviceInfo->DeviceName, "softsdf", 7);
    /* A serial that tells key directories apart: the start of SM3(directory). */
    if (es_sm3(s->dir, strlen(s->dir), h) != ES_OK) return SDR_UNKNOWERR;
    es_hex_encode(h, sizeof h, hex);
    memcpy(pstDeviceInfo->DeviceSerial, hex, sizeof pstDeviceInfo->DeviceSerial);
    pstDeviceInfo->DeviceVersion = 1;
    pstDeviceInfo->StandardVersion = 1;
    pstDeviceInfo->AsymAlgAbility[0] = SGD_SM2_1 | SGD_SM2_3;
    pstDeviceInfo->AsymAlgAbility[1] = 256;
    pstDeviceInfo->BufferSize = MAX_PLAIN;
    return SDR_OK;
}

SDF_API int SDF_GenerateRandom(void *hSessionHandle, unsigned int uiLength,
                               unsigned char *pucRandom)
{
    if (!session(hSessionHandle) || (!pucRandom && uiLength)) return SDR_INARGERR;
    return uiLength == 0 || es_random(pucRandom, uiLength) == ES_OK ? SDR_OK : SDR_RANDERR;
}

/* --- 6.3 key management --- */

SDF_API int SDF_GetPrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex,
                                         unsigned char *pucPassword, unsigned int uiPwdLength)
{
    softsess *s = session(hSessionHandle);
    char pass[MAX_PASSWORD + 1];
    es_sm2_key *sk = NULL, *ek = NULL;
    if (!s || (!pucPassword && uiPwdLength)) return SDR_INARGERR;
    if (uiKeyIndex == 0 || uiKeyIndex > MAX_INDEX) return SDR_KEYNOTEXIST;
    /* A password is text: it may not be longer than we keep or hold a NUL. */
    if (uiPwdLength > MAX_PASSWORD || (uiPwdLength && memchr(pucPassword, 0, uiPwdLength)))
        return SDR_PARDENY;
    right *r = find_right(s, uiKeyIndex);
    if (!r && s->n == MAX_RIGHTS) return SDR_NOBUFFER;
    if (uiPwdLength) memcpy(pass, pucPassword, uiPwdLength);
    pass[uiPwdLength] = 0;
    int rs = load_key(s, "sign", uiKeyIndex, pass, &sk);
    int re = load_key(s, "enc", uiKeyIndex, pass, &ek);
    int rc = SDR_OK;
    if (rs == SDR_KEYNOTEXIST && re == SDR_KEYNOTEXIST)
        rc = SDR_KEYNOTEXIST;
    else if (rs != SDR_OK && rs != SDR_KEYNOTEXIST)
        rc = rs;
    else if (re != SDR_OK && re != SDR_KEYNOTEXIST)
        rc = re;
    if (rc == SDR_OK && sk) rc = check_pub(s, "sign", uiKeyIndex, sk);
    if (rc == SDR_OK && ek) rc = check_pub(s, "enc", uiKeyIndex, ek);
    if (rc != SDR_OK) {
        /* A right this session already holds stays: a failed attempt takes nothing away. */
        es_sm2_key_free(sk);
        es_sm2_key_free(ek);
        es_wipe(pass, sizeof pass);
        return rc;
    }
    if (r)
        right_clear(r);
    else
        r = &s->rights[s->n++];
    r->index = uiKeyIndex;
    r->sign = sk;
    r->enc = ek;
    memcpy(r->pass, pass, sizeof r->pass);
    es_wipe(pass, sizeof pass);
    return SDR_OK;
}

SDF_API int SDF_ReleasePrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex)
{
    softsess *s = session(hSessionHandle);
    if (!s) return SDR_INARGERR;
    right *r = find_right(s, uiKeyIndex);
    if (!r) return SDR_OK; /* releasing what is not held is not an error */
    right_clear(r);
    *r = s->rights[--s->n];
    memset(&s->rights[s->n], 0, sizeof s->rights[s->n]);
    return SDR_OK;
}

static int export_pub(void *hSessionHandle, const char *kind, unsigned index, ECCrefPublicKey *pk)
{
    softsess *s = session(hSessionHandle);
    uint8_t pub[ES_SM2_PUB_LEN];
    char path[MAX_DIR + 32];
    if (!s || !pk) return SDR_INARGERR;
    if (index == 0 || index > MAX_INDEX) return SDR_KEYNOTEXIST;
    right *r = find_right(s, index);
    es_sm2_key *k = !r ? NULL : kind[0] == 's' ? r->sign : r->enc;
    if (k) {
        es_sm2_key_pub(k, pub);
    } else {
        int rc = read_pub(s, kind, index, pub);
        if (rc == SDR_FILENOEXIST)
            return key_file(s, kind, index, "key", path, sizeof path) && exists(path)
                       ? SDR_PARDENY
                       : SDR_KEYNOTEXIST;
        if (rc != SDR_OK) return rc;
    }
    memset(pk, 0, sizeof *pk);
    pub_to_ref(pub, pk);
    return SDR_OK;
}

SDF_API int SDF_ExportSignPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                        ECCrefPublicKey *pucPublicKey)
{
    return export_pub(hSessionHandle, "sign", uiKeyIndex, pucPublicKey);
}

SDF_API int SDF_ExportEncPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                       ECCrefPublicKey *pucPublicKey)
{
    return export_pub(hSessionHandle, "enc", uiKeyIndex, pucPublicKey);
}

/* --- 6.4 asymmetric operations --- */

SDF_API int SDF_InternalSign_ECC(void *hSessionHandle, unsigned int uiISKIndex,
                                 unsigned char *pucData, unsigned int uiDataLength,
                                 ECCSignature *pucSignature)
{
    softsess *s = session(hSessionHandle);
    uint8_t r[32], sv[32];
    if (!s || !pucData || !pucSignature) return SDR_INARGERR;
    /* GB/T 36322: the input is the digest e = SM3(Z || M), never the message. */
    if (uiDataLength != ES_SM3_LEN) return SDR_INARGERR;
    right *rt = find_right(s, uiISKIndex);
    if (!rt) return SDR_PARDENY;
    if (!rt->sign) return SDR_KEYNOTEXIST;
    if (es_sm2_key_sign_digest(rt->sign, pucData, r, sv) != ES_OK) return SDR_SIGNERR;
    const char *broken = getenv("SOFTSDF_BROKEN_SIGN");
    if (broken && strcmp(broken, "1") == 0) sv[31] ^= 1; /* the faulty card of the header */
    put_field(pucSignature->r, r);
    put_field(pucSignature->s, sv);
    return SDR_OK;
}

SDF_API int SDF_ExternalVerify_ECC(void *hSessionHandle, unsigned int uiAlgID,
                                   ECCrefPublicKey *pucPublicKey, unsigned char *pucDataInput,
                                   unsigned int uiInputLength, ECCSignature *pucSignature)
{
    uint8_t pub[ES_SM2_PUB_LEN];
    if (!session(hSessionHandle) || !pucPublicKey || !pucDataInput || !pucSignature)
        return SDR_INARGERR;
    if (uiAlgID != SGD_SM2_1) return SDR_ALGNOTSUPPORT;
    if (uiInputLength != ES_SM3_LEN || !pub_from_ref(pucPublicKey, pub)) return SDR_INARGERR;
    if (!right_aligned(pucSignature->r) || !right_aligned(pucSignature->s)) return SDR_VERIFYERR;
    return es_sm2_verify_digest(pub, pucDataInput, pucSignature->r + ECCref_MAX_LEN - 32,
                                pucSignature->s + ECCref_MAX_LEN - 32) == ES_OK
               ? SDR_OK
               : SDR_VERIFYERR;
}

/* pucEncData must have room for uiDataLength bytes of C (include/eseal/sdf.h). */
SDF_API int SDF_ExternalEncrypt_ECC(void *hSessionHandle, unsigned int uiAlgID,
                                    ECCrefPublicKey *pucPublicKey, unsigned char *pucData,
                                    unsigned int uiDataLength, ECCCipher *pucEncData)
{
    uint8_t pub[ES_SM2_PUB_LEN];
    es_sm2_cipher_parts parts;
    if (!session(hSessionHandle) || !pucPublicKey || !pucData || !pucEncData) return SDR_INARGERR;
    if (uiAlgID != SGD_SM2_3) return SDR_ALGNOTSUPPORT;
    if (uiDataLength == 0 || uiDataLength > MAX_PLAIN || !pub_from_ref(pucPublicKey, pub))
        return SDR_INARGERR;
    es_buf der;
    es_buf_init(&der, MAX_PLAIN + 256);
    int rc = SDR_PKOPERR;
    if (es_sm2_encrypt(pub, pucData, uiDataLength, &der) == ES_OK &&
        sm2_cipher_from_der(es_slice_make(der.p, der.len), &parts) == ES_OK &&
        parts.c.len == uiDataLength) {
        put_field(pucEncData->x, parts.x);
        put_field(pucEncData->y, parts.y);
        memcpy(pucEncData->M, parts.hash, sizeof pucEncData->M);
        pucEncData->L = uiDataLength;
        memcpy((unsigned char *)pucEncData + offsetof(ECCCipher, C), parts.c.p, parts.c.len);
        rc = SDR_OK;
    }
    es_buf_cleanup(&der);
    return rc;
}

/* Writes L bytes to pucData (*puiDataLength is output only, as in GM/T 0018). */
SDF_API int SDF_InternalDecrypt_ECC(void *hSessionHandle, unsigned int uiISKIndex,
                                    unsigned int uiAlgID, ECCCipher *pucEncData,
                                    unsigned char *pucData, unsigned int *puiDataLength)
{
    softsess *s = session(hSessionHandle);
    if (!s || !pucEncData || !pucData || !puiDataLength) return SDR_INARGERR;
    if (uiAlgID != SGD_SM2_3 && uiAlgID != SGD_SM2_1) return SDR_ALGNOTSUPPORT;
    unsigned len = pucEncData->L;
    if (len == 0 || len > MAX_PLAIN || !right_aligned(pucEncData->x) ||
        !right_aligned(pucEncData->y))
        return SDR_INARGERR;
    right *r = find_right(s, uiISKIndex);
    if (!r) return SDR_PARDENY;
    es_sm2_key *k = uiAlgID == SGD_SM2_3 ? r->enc : r->sign;
    if (!k) return SDR_KEYNOTEXIST;
    es_buf der, plain;
    es_buf_init(&der, MAX_PLAIN + 256);
    es_buf_init(&plain, MAX_PLAIN);
    int rc = SDR_ENCDATAERR;
    if (sm2_cipher_to_der(pucEncData->x + ECCref_MAX_LEN - 32, pucEncData->y + ECCref_MAX_LEN - 32,
                          pucEncData->M, (const unsigned char *)pucEncData + offsetof(ECCCipher, C),
                          len, &der) != ES_OK)
        rc = SDR_NOBUFFER;
    else if (es_sm2_key_decrypt(k, der.p, der.len, &plain) == ES_OK && plain.len == len) {
        memcpy(pucData, plain.p, plain.len);
        *puiDataLength = (unsigned)plain.len;
        rc = SDR_OK;
    }
    es_buf_cleanup(&der);
    es_buf_cleanup_secret(&plain);
    return rc;
}

/* --- vendor extension: key pair import (include/eseal/sdf.h) --- */

/* The private key of an envelope addressed to enc: SDR_OK with *out, SDR_ENCDATAERR when it
 * does not open, SDR_KEYERR when the key inside is not the envelope's public key. */
static int unwrap_envelope(const es_sm2_key *enc, const ENVELOPEDKEYBLOB *env, es_sm2_key **out)
{
    uint8_t want[ES_SM2_PUB_LEN], got[ES_SM2_PUB_LEN], symm[16], plain[64];
    static const uint8_t zero[32];
    es_buf der, pt;
    int rc = SDR_ENCDATAERR;
    es_buf_init(&der, 4096);
    es_buf_init(&pt, 64);
    if (env->ulBits != 256 || env->PubKey.BitLen != 256 ||
        memcmp(env->PubKey.XCoordinate, zero, 32) || memcmp(env->PubKey.YCoordinate, zero, 32) ||
        memcmp(env->ECCCipherBlob.XCoordinate, zero, 32) ||
        memcmp(env->ECCCipherBlob.YCoordinate, zero, 32))
        return SDR_INARGERR;
    want[0] = 0x04;
    memcpy(want + 1, env->PubKey.XCoordinate + 32, 32);
    memcpy(want + 33, env->PubKey.YCoordinate + 32, 32);
    if (sm2_cipher_to_der(env->ECCCipherBlob.XCoordinate + 32, env->ECCCipherBlob.YCoordinate + 32,
                          env->ECCCipherBlob.HASH, env->ECCCipherBlob.Cipher,
                          env->ECCCipherBlob.CipherLen, &der) != ES_OK ||
        es_sm2_key_decrypt(enc, der.p, der.len, &pt) != ES_OK || pt.len != sizeof symm)
        goto out;
    memcpy(symm, pt.p, sizeof symm);
    if (es_sm4_ecb(0, symm, env->cbEncryptedPriKey, sizeof plain, plain) != ES_OK) goto out;
    /* GB/T 35291: the scalar right-aligned in the 64-byte field. */
    rc = SDR_KEYERR;
    es_sm2_key *k = NULL;
    if (es_sm2_key_from_private(plain + 32, &k) == ES_OK) {
        es_sm2_key_pub(k, got);
        if (memcmp(got, want, sizeof got) == 0) {
            *out = k;
            k = NULL;
            rc = SDR_OK;
        }
        es_sm2_key_free(k);
    }
out:
    es_wipe(symm, sizeof symm);
    es_wipe(plain, sizeof plain);
    es_buf_cleanup_secret(&pt);
    es_buf_cleanup(&der);
    return rc;
}

/* Writes a key file that must not exist: a temporary file, then link(2), which fails when
 * another session got there first (two imports at once never overwrite each other). */
static int create_new(const char *path, const es_buf *pem)
{
    char tmp[MAX_DIR + 64], hex[17];
    uint8_t r[8];
    if (es_random(r, sizeof r) != ES_OK) return SDR_RANDERR;
    es_hex_encode(r, sizeof r, hex);
    int n = snprintf(tmp, sizeof tmp, "%s.import-%s", path, hex);
    if (n < 0 || (size_t)n >= sizeof tmp) return SDR_INARGERR;
    if (es_file_write_mode(tmp, pem->p, pem->len, 0600) != ES_OK) return SDR_FILEWERR;
    int rc = link(tmp, path) == 0 ? SDR_OK : errno == EEXIST ? SDR_FILEEXSITS : SDR_FILEWERR;
    (void)unlink(tmp);
    return rc;
}

SDF_API int SDF_ImportKeyPair_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                  unsigned int uiAlgID, const unsigned char *pucEnvelopedKeyBlob,
                                  unsigned int uiBlobLength)
{
    softsess *s = session(hSessionHandle);
    const size_t fixed = offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.Cipher);
    char path[MAX_DIR + 32], pubpath[MAX_DIR + 32];
    ULONG clen = 0;
    if (!s || !pucEnvelopedKeyBlob) return SDR_INARGERR;
    if (uiAlgID != SGD_SM2_1) return SDR_ALGNOTSUPPORT;
    if (uiKeyIndex == 0 || uiKeyIndex > MAX_INDEX) return SDR_KEYNOTEXIST;
    if (uiBlobLength < fixed) return SDR_INARGERR;
    memcpy(&clen, pucEnvelopedKeyBlob + offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.CipherLen),
           sizeof clen);
    /* The wrapped key is an SM4 key: 16 bytes, nothing after it. */
    if (clen != 16 || uiBlobLength != fixed + clen) return SDR_INARGERR;
    right *r = find_right(s, uiKeyIndex);
    if (!r) return SDR_PARDENY;
    if (!r->enc) return SDR_KEYNOTEXIST;
    if (!key_file(s, "sign", uiKeyIndex, "key", path, sizeof path) ||
        !key_file(s, "sign", uiKeyIndex, "pub", pubpath, sizeof pubpath))
        return SDR_INARGERR;
    if (r->sign || exists(path)) return SDR_FILEEXSITS;
    ENVELOPEDKEYBLOB *env = calloc(1, sizeof *env + clen);
    if (!env) return SDR_NOBUFFER;
    memcpy(env, pucEnvelopedKeyBlob, uiBlobLength);
    int rc = env->Version != SKF_ENVELOPEDKEYBLOB_VERSION ? SDR_INARGERR
             : env->ulSymmAlgID != SGD_SM4_ECB            ? SDR_ALGMODNOTSUPPORT
                                                          : SDR_OK;
    es_sm2_key *k = NULL;
    if (rc == SDR_OK) rc = unwrap_envelope(r->enc, env, &k);
    free(env);
    if (rc != SDR_OK) return rc;
    es_buf pem;
    es_buf_init(&pem, ES_MAX_KEY_FILE);
    /* The key file as eseal's soft store writes it, under the access password of the index;
     * a stale public key file of a deleted key must not stand in for it. */
    if (es_sm2_key_to_pem(k, r->pass, &pem) != ES_OK)
        rc = SDR_UNKNOWERR;
    else if (unlink(pubpath) != 0 && errno != ENOENT)
        rc = SDR_FILEWERR;
    else
        rc = create_new(path, &pem);
    es_buf_cleanup_secret(&pem);
    if (rc == SDR_OK) rc = check_pub(s, "sign", uiKeyIndex, k);
    if (rc != SDR_OK) {
        es_sm2_key_free(k);
        return rc;
    }
    r->sign = k;
    return SDR_OK;
}
