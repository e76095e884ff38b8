/* sdf:LIB#INDEX: a GB/T 36322 (SDF) crypto device through its vendor library, loaded with
 * dlopen exactly as the standard ABI (include/eseal/sdf.h) defines it.
 *
 * One handle is one device handle and one session. A login is
 * SDF_GetPrivateKeyAccessRight(INDEX, PIN); the rights obtained are released when the handle
 * closes. Signing sends the 32-byte digest e to SDF_InternalSign_ECC and checks the result
 * against the index's exported public key before returning it; decryption sends the
 * ciphertext to SDF_InternalDecrypt_ECC with the encryption key pair (SGD_SM2_3) at INDEX,
 * since SM2 devices keep a signing and an encryption key pair under each index.
 *
 * Not offered, because standard SDF has no function for it: generating a key pair that the
 * device keeps at an index (SDF_GenerateKeyPair_ECC returns the private key to the caller),
 * and storing certificates. Keys are installed with the vendor's management tool. Importing a
 * key pair at an index goes through the vendor extension SDF_ImportKeyPair_ECC when the
 * library has it (eseal/sdf.h: a GB/T 35291 envelope addressed to the index's encryption
 * key, opened inside the device); ES_ERR_SYMBOL otherwise.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/sdf.h"
#include "eseal/skf.h" /* the ENVELOPEDKEYBLOB layout */
#include "keydev/internal.h"

#define SDF_MAX_RIGHTS 16           /* key indices one handle logs in to */
#define SDF_LIST_MAX   64           /* es_keydev_list probes indices 1..SDF_LIST_MAX */
#define SDF_MAX_PLAIN  (64u * 1024) /* the longest SM2 plaintext decrypted through a device */

typedef struct sdf_fns {
    SDF_OpenDevice_fn OpenDevice;
    SDF_CloseDevice_fn CloseDevice;
    SDF_OpenSession_fn OpenSession;
    SDF_CloseSession_fn CloseSession;
    SDF_GetDeviceInfo_fn GetDeviceInfo;
    SDF_GetPrivateKeyAccessRight_fn GetPrivateKeyAccessRight;
    SDF_ReleasePrivateKeyAccessRight_fn ReleasePrivateKeyAccessRight;
    SDF_ExportSignPublicKey_ECC_fn ExportSignPublicKey_ECC;
    SDF_InternalSign_ECC_fn InternalSign_ECC;
    /* optional */
    SDF_InternalDecrypt_ECC_fn InternalDecrypt_ECC;
    SDF_ExportEncPublicKey_ECC_fn ExportEncPublicKey_ECC;
    SDF_ImportKeyPair_ECC_fn ImportKeyPair_ECC; /* vendor extension */
} sdf_fns;

/* dlsym returns a data pointer; POSIX guarantees it converts to a function pointer. */
_Static_assert(sizeof(void *) == sizeof(SDF_OpenDevice_fn), "function pointers are data-sized");

static const es_keydev_sym symbols[] = {
#define SYM(n, req)                                                                                \
    {                                                                                              \
        "SDF_" #n, offsetof(sdf_fns, n), req                                                       \
    }
    SYM(OpenDevice, 1),
    SYM(CloseDevice, 1),
    SYM(OpenSession, 1),
    SYM(CloseSession, 1),
    SYM(GetDeviceInfo, 1),
    SYM(GetPrivateKeyAccessRight, 1),
    SYM(ReleasePrivateKeyAccessRight, 1),
    SYM(ExportSignPublicKey_ECC, 1),
    SYM(InternalSign_ECC, 1),
    SYM(InternalDecrypt_ECC, 0),
    SYM(ExportEncPublicKey_ECC, 0),
    SYM(ImportKeyPair_ECC, 0),
#undef SYM
};

typedef struct sdf {
    void *lib;
    sdf_fns f;
    void *dev;
    void *sess;
    struct {
        unsigned index; /* holds an access right */
        int has_pub;
        uint8_t pub[ES_SM2_PUB_LEN]; /* its signing public key, once exported */
    } rights[SDF_MAX_RIGHTS];
    size_t n_rights;
} sdf;

static const char *sdr_name(int rc)
{
    static const char *const names[] = {
        "SDR_OK",          "SDR_UNKNOWERR",     "SDR_NOTSUPPORT",       "SDR_COMMFAIL",
        "SDR_HARDFAIL",    "SDR_OPENDEVICE",    "SDR_OPENSESSION",      "SDR_PARDENY",
        "SDR_KEYNOTEXIST", "SDR_ALGNOTSUPPORT", "SDR_ALGMODNOTSUPPORT", "SDR_PKOPERR",
        "SDR_SKOPERR",     "SDR_SIGNERR",       "SDR_VERIFYERR",        "SDR_SYMOPERR",
        "SDR_STEPERR",     "SDR_FILESIZEERR",   "SDR_FILENOEXIST",      "SDR_FILEOFSERR",
        "SDR_KEYTYPEERR",  "SDR_KEYERR",        "SDR_ENCDATAERR",       "SDR_RANDERR",
        "SDR_PRKRERR",     "SDR_MACERR",        "SDR_FILEEXSITS",       "SDR_FILEWERR",
        "SDR_NOBUFFER",    "SDR_INARGERR",      "SDR_OUTARGERR",
    };
    unsigned u = (unsigned)rc;
    if (u == SDR_OK) return names[0];
    if (u > SDR_BASE && u - SDR_BASE < sizeof names / sizeof names[0]) return names[u - SDR_BASE];
    return "vendor code";
}

/* Records what the device said and returns code (the eseal error it maps to). */
static es_err device_error(const char *fn, int rc, es_err code)
{
    keydev_set_error("%s: 0x%08x (%s)", fn, (unsigned)rc, sdr_name(rc));
    return code;
}

/* Maps the return code of an operation on a key. */
static es_err key_error(const char *fn, int rc)
{
    switch ((unsigned)rc) {
    case SDR_OK:
        return ES_OK;
    case SDR_PARDENY:
        return device_error(fn, rc, ES_ERR_LOGIN);
    case SDR_KEYNOTEXIST:
        return device_error(fn, rc, ES_ERR_NO_KEY);
    default:
        return device_error(fn, rc, ES_ERR_DEVICE);
    }
}

static void sdf_close(void *state)
{
    sdf *s = state;
    if (!s) return;
    if (s->sess) {
        for (size_t i = 0; i < s->n_rights; i++)
            (void)s->f.ReleasePrivateKeyAccessRight(s->sess, s->rights[i].index);
        (void)s->f.CloseSession(s->sess);
    }
    if (s->dev) (void)s->f.CloseDevice(s->dev);
    if (s->lib) dlclose(s->lib);
    free(s);
}

static es_err sdf_open(const es_keyref *ref, void **state)
{
    es_err rv = ES_OK;
    int rc;
    sdf *s = calloc(1, sizeof *s);
    if (!s) return ES_ERR_NOMEM;
    const char *missing = NULL;
    rv = keydev_dlopen(ref->path, symbols, sizeof symbols / sizeof symbols[0], &s->f, &s->lib,
                       &missing);
    if (rv == ES_ERR_SYMBOL) keydev_set_error("%s: no %s", ref->path, missing);
    if (rv != ES_OK) goto out;
    if ((rc = s->f.OpenDevice(&s->dev)) != SDR_OK) {
        s->dev = NULL;
        rv = device_error("SDF_OpenDevice", rc, ES_ERR_DEVICE);
        goto out;
    }
    if ((rc = s->f.OpenSession(s->dev, &s->sess)) != SDR_OK) {
        s->sess = NULL;
        rv = device_error("SDF_OpenSession", rc, ES_ERR_DEVICE);
        goto out;
    }
out:
    if (rv != ES_OK)
        sdf_close(s);
    else
        *state = s;
    return rv;
}

/* Copies a fixed-size, possibly unterminated device string, printable ASCII only. */
static void copy_field(char *out, size_t cap, const unsigned char *in, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && in[i] && k + 1 < cap; i++)
        out[k++] = in[i] >= 0x20 && in[i] < 0x7f ? (char)in[i] : '?';
    while (k > 0 && out[k - 1] == ' ') k--;
    out[k] = 0;
}

static es_err sdf_info(void *state, es_keydev_info *out)
{
    sdf *s = state;
    DEVICEINFO di;
    memset(&di, 0, sizeof di);
    int rc = s->f.GetDeviceInfo(s->sess, &di);
    if (rc != SDR_OK) return device_error("SDF_GetDeviceInfo", rc, ES_ERR_DEVICE);
    copy_field(out->manufacturer, sizeof out->manufacturer, di.IssuerName, sizeof di.IssuerName);
    copy_field(out->label, sizeof out->label, di.DeviceName, sizeof di.DeviceName);
    copy_field(out->serial, sizeof out->serial, di.DeviceSerial, sizeof di.DeviceSerial);
    out->can_generate = 0;
    out->can_import = s->f.ImportKeyPair_ECC != NULL;
    out->can_decrypt = s->f.InternalDecrypt_ECC != NULL;
    return ES_OK;
}

static es_err sdf_login(void *state, const es_keyref *ref, const char *pin, int *retries)
{
    sdf *s = state;
    unsigned char pwd[ES_SECRET_MAX];
    size_t n = strlen(pin);
    (void)retries; /* SDF reports no retry counter */
    if (n >= sizeof pwd) return ES_ERR_LIMIT;
    int held = 0;
    for (size_t i = 0; i < s->n_rights; i++) held |= s->rights[i].index == ref->index;
    if (!held && s->n_rights == SDF_MAX_RIGHTS) return ES_ERR_LIMIT;
    /* The ABI takes a non-const buffer. */
    memcpy(pwd, pin, n);
    int rc = s->f.GetPrivateKeyAccessRight(s->sess, ref->index, pwd, (unsigned)n);
    es_wipe(pwd, sizeof pwd);
    switch ((unsigned)rc) {
    case SDR_OK:
        if (!held) {
            s->rights[s->n_rights].index = ref->index;
            s->rights[s->n_rights++].has_pub = 0;
        }
        return ES_OK;
    case SDR_PARDENY:
        return device_error("SDF_GetPrivateKeyAccessRight", rc, ES_ERR_PIN);
    case SDR_KEYNOTEXIST:
        return device_error("SDF_GetPrivateKeyAccessRight", rc, ES_ERR_NO_KEY);
    default:
        return device_error("SDF_GetPrivateKeyAccessRight", rc, ES_ERR_DEVICE);
    }
}

/* 1 when the 64-byte field holds a 256-bit number right-aligned (GB/T 36322 5.3). */
static int right_aligned(const unsigned char f[ECCref_MAX_LEN])
{
    for (size_t i = 0; i < ECCref_MAX_LEN - 32; i++)
        if (f[i]) return 0;
    return 1;
}

static void put_field(unsigned char f[ECCref_MAX_LEN], const uint8_t v[32])
{
    memset(f, 0, ECCref_MAX_LEN - 32);
    memcpy(f + ECCref_MAX_LEN - 32, v, 32);
}

static es_err export_any(sdf *s, unsigned index, int sign, uint8_t pub[ES_SM2_PUB_LEN])
{
    ECCrefPublicKey pk;
    const char *fn = sign ? "SDF_ExportSignPublicKey_ECC" : "SDF_ExportEncPublicKey_ECC";
    memset(&pk, 0, sizeof pk);
    if (!sign && !s->f.ExportEncPublicKey_ECC) {
        keydev_set_error("no SDF_ExportEncPublicKey_ECC");
        return ES_ERR_SYMBOL;
    }
    int rc = sign ? s->f.ExportSignPublicKey_ECC(s->sess, index, &pk)
                  : s->f.ExportEncPublicKey_ECC(s->sess, index, &pk);
    if (rc != SDR_OK) return key_error(fn, rc);
    if (pk.bits != 256 || !right_aligned(pk.x) || !right_aligned(pk.y)) {
        keydev_set_error("%s: not a right-aligned 256-bit key (bits %u)", fn, pk.bits);
        return ES_ERR_DEVICE;
    }
    pub[0] = 0x04;
    memcpy(pub + 1, pk.x + ECCref_MAX_LEN - 32, 32);
    memcpy(pub + 33, pk.y + ECCref_MAX_LEN - 32, 32);
    return ES_OK;
}

static es_err export_pub(sdf *s, unsigned index, uint8_t pub[ES_SM2_PUB_LEN])
{
    return export_any(s, index, 1, pub);
}

static es_err sdf_public_key(void *state, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN])
{
    return export_pub(state, ref->index, pub);
}

static es_err sdf_enc_public_key(void *state, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN])
{
    return export_any(state, ref->index, 0, pub);
}

/* The envelope goes to the device whole; only its frame is checked here (the device checks
 * the rest). The index's cached signing public key is forgotten: it is the imported one now. */
static es_err sdf_import_envelope(void *state, const es_keyref *ref, const uint8_t *blob,
                                  size_t len)
{
    sdf *s = state;
    const size_t fixed = offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.Cipher);
    ULONG clen = 0;
    if (!s->f.ImportKeyPair_ECC) {
        keydev_set_error("no SDF_ImportKeyPair_ECC (a vendor extension; eseal/sdf.h)");
        return ES_ERR_SYMBOL;
    }
    if (!blob || len < fixed) return ES_ERR_FORMAT;
    memcpy(&clen, blob + offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.CipherLen), sizeof clen);
    if (clen == 0 || clen > 1024 || len != fixed + clen) return ES_ERR_FORMAT;
    for (size_t i = 0; i < s->n_rights; i++)
        if (s->rights[i].index == ref->index) s->rights[i].has_pub = 0;
    int rc = s->f.ImportKeyPair_ECC(s->sess, ref->index, SGD_SM2_1, blob, (unsigned)len);
    switch ((unsigned)rc) {
    case SDR_OK:
        return ES_OK;
    case SDR_FILEEXSITS:
        return device_error("SDF_ImportKeyPair_ECC", rc, ES_ERR_EXISTS);
    case SDR_ENCDATAERR:
    case SDR_KEYERR:
        return device_error("SDF_ImportKeyPair_ECC", rc, ES_ERR_VERIFY);
    case SDR_INARGERR:
        return device_error("SDF_ImportKeyPair_ECC", rc, ES_ERR_FORMAT);
    default:
        return key_error("SDF_ImportKeyPair_ECC", rc);
    }
}

static es_err sdf_list(void *state, es_buf *out)
{
    es_err rv = ES_OK;
    uint8_t pub[ES_SM2_PUB_LEN];
    for (unsigned i = 1; rv == ES_OK && i <= SDF_LIST_MAX; i++)
        if (export_pub(state, i, pub) == ES_OK) rv = es_buf_printf(out, "%u\n", i);
    keydev_set_error("%s", "");
    return rv;
}

static es_err sdf_sign(void *state, const es_keyref *ref, const uint8_t e[ES_SM3_LEN],
                       uint8_t r[32], uint8_t s[32])
{
    sdf *d = state;
    unsigned char digest[ES_SM3_LEN];
    ECCSignature sig;
    memset(&sig, 0, sizeof sig);
    memcpy(digest, e, sizeof digest);
    int rc = d->f.InternalSign_ECC(d->sess, ref->index, digest, ES_SM3_LEN, &sig);
    if (rc == (int)SDR_SIGNERR) return device_error("SDF_InternalSign_ECC", rc, ES_ERR_SIGNER);
    if (rc != SDR_OK) return key_error("SDF_InternalSign_ECC", rc);
    if (!right_aligned(sig.r) || !right_aligned(sig.s)) {
        keydev_set_error("SDF_InternalSign_ECC: r or s is not a right-aligned 256-bit number");
        return ES_ERR_DEVICE;
    }
    memcpy(r, sig.r + ECCref_MAX_LEN - 32, 32);
    memcpy(s, sig.s + ECCref_MAX_LEN - 32, 32);
    /* A signature that does not verify must never leave: a faulty device, or one that signs
     * with another key than it exports at the index. The public key is exported once per
     * logged-in index. */
    uint8_t pub[ES_SM2_PUB_LEN];
    es_err rv = ES_OK;
    size_t i = 0;
    while (i < d->n_rights && d->rights[i].index != ref->index) i++;
    if (i < d->n_rights && d->rights[i].has_pub) {
        memcpy(pub, d->rights[i].pub, sizeof pub);
    } else if ((rv = export_pub(d, ref->index, pub)) != ES_OK) {
        return rv;
    } else if (i < d->n_rights) {
        memcpy(d->rights[i].pub, pub, sizeof pub);
        d->rights[i].has_pub = 1;
    }
    if (es_sm2_verify_digest(pub, e, r, s) != ES_OK) {
        keydev_set_error("SDF_InternalSign_ECC: the signature does not verify with the "
                         "public key of index %u",
                         ref->index);
        es_wipe(r, 32);
        es_wipe(s, 32);
        return ES_ERR_SIGNER;
    }
    return ES_OK;
}

static es_err sdf_decrypt(void *state, const es_keyref *ref, const uint8_t *in, size_t len,
                          es_buf *out)
{
    sdf *s = state;
    es_sm2_cipher_parts parts;
    es_err rv = ES_OK;
    if (!s->f.InternalDecrypt_ECC) {
        keydev_set_error("no SDF_InternalDecrypt_ECC");
        return ES_ERR_SYMBOL;
    }
    if ((rv = sm2_cipher_from_der(es_slice_make(in, len), &parts)) != ES_OK) return rv;
    if (parts.c.len == 0) return ES_ERR_FORMAT;
    if (parts.c.len > SDF_MAX_PLAIN) return ES_ERR_LIMIT;
    size_t clen = parts.c.len;
    size_t csize = offsetof(ECCCipher, C) + clen;
    if (csize < sizeof(ECCCipher)) csize = sizeof(ECCCipher);
    ECCCipher *c = calloc(1, csize);
    /* Some devices write a padded block: room for one more SM4 block and then some. */
    size_t cap = clen + 64;
    unsigned char *plain = calloc(1, cap);
    if (!c || !plain) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    put_field(c->x, parts.x);
    put_field(c->y, parts.y);
    memcpy(c->M, parts.hash, sizeof c->M);
    c->L = (unsigned)clen;
    /* C is declared with one element (include/eseal/sdf.h); write through the byte offset. */
    memcpy((unsigned char *)c + offsetof(ECCCipher, C), parts.c.p, clen);
    /* Devices disagree on whether *puiDataLength is read as the capacity: give them both. */
    unsigned plen = (unsigned)cap;
    int rc = s->f.InternalDecrypt_ECC(s->sess, ref->index, SGD_SM2_3, c, plain, &plen);
    if (rc == (int)SDR_ENCDATAERR)
        rv = device_error("SDF_InternalDecrypt_ECC", rc, ES_ERR_VERIFY);
    else if (rc != SDR_OK)
        rv = key_error("SDF_InternalDecrypt_ECC", rc);
    else if (plen != clen) { /* SM2: the plaintext is exactly as long as C2 */
        keydev_set_error("SDF_InternalDecrypt_ECC: %u bytes out of %zu", plen, clen);
        rv = ES_ERR_DEVICE;
    } else
        rv = es_buf_append(out, plain, plen);
out:
    if (plain) es_wipe(plain, cap);
    free(plain);
    free(c);
    return rv;
}

const es_keydev_ops keydev_sdf_ops = {
    .kind = "sdf",
    .open = sdf_open,
    .info = sdf_info,
    .login = sdf_login,
    .list = sdf_list,
    .public_key = sdf_public_key,
    .enc_public_key = sdf_enc_public_key,
    .sign = sdf_sign,
    .decrypt = sdf_decrypt,
    .import_envelope = sdf_import_envelope,
    .close = sdf_close,
};
