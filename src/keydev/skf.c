/* skf:LIB#DEVICE/APPLICATION/CONTAINER: a GB/T 35291 (SKF) smart cryptographic key (USBKey)
 * through its vendor library, loaded with dlopen exactly as the standard ABI
 * (include/eseal/skf.h) defines it; and the token administration of eseal/token.h.
 *
 * One handle is one connected device (SKF_ConnectDev), with at most one application and one
 * container open at a time; a reference naming another one closes the previous (and so
 * clears the security state of the previous application). A login is SKF_VerifyPIN with the
 * user PIN of the reference's application (7.2.6). Signing sends the 32-byte digest e to
 * SKF_ECCSignData (7.6.13); the signature is checked against the container's signing public
 * key before it is returned, which also catches a vendor that places r and s differently.
 * Decryption uses the vendor extension SKF_ECCDecrypt when the library has it.
 *
 * Key import: see eseal/token.h and docs/keydev.md ("SKF"). The envelope is addressed to the
 * container's signing key (GB/T 35291 6.4.10); the import succeeds for es_keydev only when the
 * device then reports the imported key as the container's signing key.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/skf.h"
#include "eseal/token.h"
#include "keydev/internal.h"

#define SKF_MAX_LIST  (64u * 1024) /* the longest name list taken from a library */
#define SKF_MAX_PLAIN (64u * 1024) /* the longest SM2 plaintext decrypted through a device */
#define SKF_MAX_WRAP  1024u        /* the longest wrapped key in an envelope */

typedef struct skf_fns {
    SKF_EnumDev_fn EnumDev;
    SKF_ConnectDev_fn ConnectDev;
    SKF_DisConnectDev_fn DisConnectDev;
    SKF_GetDevInfo_fn GetDevInfo;
    SKF_EnumApplication_fn EnumApplication;
    SKF_OpenApplication_fn OpenApplication;
    SKF_CloseApplication_fn CloseApplication;
    SKF_VerifyPIN_fn VerifyPIN;
    SKF_EnumContainer_fn EnumContainer;
    SKF_OpenContainer_fn OpenContainer;
    SKF_CloseContainer_fn CloseContainer;
    SKF_ExportPublicKey_fn ExportPublicKey;
    SKF_ECCSignData_fn ECCSignData;
    /* optional: the operations that need them say so (ES_ERR_SYMBOL) */
    SKF_ClearSecureState_fn ClearSecureState;
    SKF_CreateApplication_fn CreateApplication;
    SKF_GetPINInfo_fn GetPINInfo;
    SKF_ChangePIN_fn ChangePIN;
    SKF_UnblockPIN_fn UnblockPIN;
    SKF_DevAuth_fn DevAuth;
    SKF_CreateContainer_fn CreateContainer;
    SKF_GetContainerType_fn GetContainerType;
    SKF_GenECCKeyPair_fn GenECCKeyPair;
    SKF_ImportECCKeyPair_fn ImportECCKeyPair;
    SKF_ECCVerify_fn ECCVerify;
    SKF_ImportCertificate_fn ImportCertificate;
    SKF_ExportCertificate_fn ExportCertificate;
    SKF_ECCDecrypt_fn ECCDecrypt; /* vendor extension */
    SKF_CreateFile_fn CreateFile;
    SKF_DeleteFile_fn DeleteFile;
    SKF_EnumFiles_fn EnumFiles;
    SKF_GetFileInfo_fn GetFileInfo;
    SKF_ReadFile_fn ReadFile;
    SKF_WriteFile_fn WriteFile;
} skf_fns;

/* dlsym returns a data pointer; POSIX guarantees it converts to a function pointer. */
_Static_assert(sizeof(void *) == sizeof(SKF_EnumDev_fn), "function pointers are data-sized");
/* The layout every vendor header has (32-bit ULONG, packed). */
_Static_assert(sizeof(ECCPUBLICKEYBLOB) == 132, "ECCPUBLICKEYBLOB is 132 bytes");
_Static_assert(sizeof(ECCSIGNATUREBLOB) == 128, "ECCSIGNATUREBLOB is 128 bytes");
_Static_assert(offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.Cipher) == 372, "ENVELOPEDKEYBLOB");

static const es_keydev_sym symbols[] = {
#define SYM(n, req)                                                                                \
    {                                                                                              \
        "SKF_" #n, offsetof(skf_fns, n), req                                                       \
    }
    SYM(EnumDev, 1),           SYM(ConnectDev, 1),        SYM(DisConnectDev, 1),
    SYM(GetDevInfo, 1),        SYM(EnumApplication, 1),   SYM(OpenApplication, 1),
    SYM(CloseApplication, 1),  SYM(VerifyPIN, 1),         SYM(EnumContainer, 1),
    SYM(OpenContainer, 1),     SYM(CloseContainer, 1),    SYM(ExportPublicKey, 1),
    SYM(ECCSignData, 1),       SYM(ClearSecureState, 0),  SYM(CreateApplication, 0),
    SYM(GetPINInfo, 0),        SYM(ChangePIN, 0),         SYM(UnblockPIN, 0),
    SYM(DevAuth, 0),           SYM(CreateContainer, 0),   SYM(GetContainerType, 0),
    SYM(GenECCKeyPair, 0),     SYM(ImportECCKeyPair, 0),  SYM(ECCVerify, 0),
    SYM(ImportCertificate, 0), SYM(ExportCertificate, 0), SYM(ECCDecrypt, 0),
    SYM(CreateFile, 0),        SYM(DeleteFile, 0),        SYM(EnumFiles, 0),
    SYM(GetFileInfo, 0),       SYM(ReadFile, 0),          SYM(WriteFile, 0),
#undef SYM
};

struct es_token {
    void *lib;
    char lib_path[ES_KEYREF_MAX_PATH];
    skf_fns f;
    DEVHANDLE dev;
    char device[ES_KEYREF_MAX_NAME];
    HAPPLICATION app;
    char app_name[ES_KEYREF_MAX_NAME];
    HCONTAINER con;
    char con_name[ES_KEYREF_MAX_NAME];
    int have_pub; /* pub: the open container's signing public key */
    uint8_t pub[ES_SM2_PUB_LEN];
};

static const char *sar_name(ULONG rc)
{
    static const char *const names[] = {
        "SAR_OK",
        "SAR_FAIL",
        "SAR_UNKNOWNERR",
        "SAR_NOTSUPPORTYETERR",
        "SAR_FILEERR",
        "SAR_INVALIDHANDLEERR",
        "SAR_INVALIDPARAMERR",
        "SAR_READFILEERR",
        "SAR_WRITEFILEERR",
        "SAR_NAMELENERR",
        "SAR_KEYUSAGEERR",
        "SAR_MODULUSLENERR",
        "SAR_NOTINITIALIZEERR",
        "SAR_OBJERR",
        "SAR_MEMORYERR",
        "SAR_TIMEOUTERR",
        "SAR_INDATALENERR",
        "SAR_INDATAERR",
        "SAR_GENRANDERR",
        "SAR_HASHOBJERR",
        "SAR_HASHERR",
        "SAR_GENRSAKEYERR",
        "SAR_RSAMODULUSLENERR",
        "SAR_CSPIMPRTPUBKEYERR",
        "SAR_RSAENCERR",
        "SAR_RSADECERR",
        "SAR_HASHNOTEQUALERR",
        "SAR_KEYNOTFOUNTERR",
        "SAR_CERTNOTFOUNTERR",
        "SAR_NOTEXPORTERR",
        "SAR_DECRYPTPADERR",
        "SAR_MACLENERR",
        "SAR_BUFFER_TOO_SMALL",
        "SAR_KEYINFOTYPEERR",
        "SAR_NOT_EVENTERR",
        "SAR_DEVICE_REMOVED",
        "SAR_PIN_INCORRECT",
        "SAR_PIN_LOCKED",
        "SAR_PIN_INVALID",
        "SAR_PIN_LEN_RANGE",
        "SAR_USER_ALREADY_LOGGED_IN",
        "SAR_USER_PIN_NOT_INITIALIZED",
        "SAR_USER_TYPE_INVALID",
        "SAR_APPLICATION_NAME_INVALID",
        "SAR_APPLICATION_EXISTS",
        "SAR_USER_NOT_LOGGED_IN",
        "SAR_APPLICATION_NOT_EXISTS",
        "SAR_FILE_ALREADY_EXIST",
        "SAR_NO_ROOM",
        "SAR_FILE_NOT_EXIST",
        "SAR_REACH_MAX_CONTAINER_COUNT",
    };
    if (rc == SAR_OK) return names[0];
    if (rc > 0x0A000000u && rc - 0x0A000000u < sizeof names / sizeof names[0])
        return names[rc - 0x0A000000u];
    return "vendor code";
}

/* Records what the library said and returns the eseal error the code maps to. */
static es_err sar_error(const char *fn, ULONG rc)
{
    es_err code;
    switch (rc) {
    case SAR_OK:
        return ES_OK;
    case SAR_USER_NOT_LOGGED_IN:
        code = ES_ERR_LOGIN;
        break;
    case SAR_PIN_INCORRECT:
    case SAR_PIN_INVALID:
    case SAR_PIN_LEN_RANGE:
        code = ES_ERR_PIN;
        break;
    case SAR_PIN_LOCKED:
        code = ES_ERR_PIN_LOCKED;
        break;
    case SAR_KEYNOTFOUNTERR:
    case SAR_CERTNOTFOUNTERR:
    case SAR_FILE_NOT_EXIST:
        code = ES_ERR_NO_KEY;
        break;
    case SAR_APPLICATION_NOT_EXISTS:
        code = ES_ERR_NOT_FOUND;
        break;
    case SAR_APPLICATION_EXISTS:
    case SAR_FILE_ALREADY_EXIST:
        code = ES_ERR_EXISTS;
        break;
    case SAR_BUFFER_TOO_SMALL:
        code = ES_ERR_BUFFER;
        break;
    case SAR_NOTSUPPORTYETERR:
        code = ES_ERR_UNSUPPORTED;
        break;
    default:
        code = ES_ERR_DEVICE;
        break;
    }
    keydev_set_error("%s: 0x%08lx (%s)", fn, (unsigned long)rc, sar_name(rc));
    return code;
}

/* The result of a PIN check (VerifyPIN, ChangePIN, UnblockPIN): the tries left are reported
 * with SAR_PIN_INCORRECT; a counter at 0 is a locked PIN whichever code the device chose. */
static es_err pin_result(const char *fn, ULONG rc, ULONG left, int *retries)
{
    if (rc == SAR_PIN_INCORRECT || rc == SAR_PIN_LOCKED) {
        if (retries) *retries = rc == SAR_PIN_LOCKED ? 0 : (int)(left > 255 ? 255 : left);
        es_err code = sar_error(fn, rc);
        return rc == SAR_PIN_LOCKED || left == 0 ? ES_ERR_PIN_LOCKED : code;
    }
    return sar_error(fn, rc);
}

/* An optional function the operation needs. */
static es_err need(const es_token *t, const void *fn, const char *name)
{
    if (fn) return ES_OK;
    keydev_set_error("%s is not exported by %s", name, t->lib_path);
    return ES_ERR_SYMBOL;
}

static es_err load(const char *path, es_token *t)
{
    snprintf(t->lib_path, sizeof t->lib_path, "%s", path);
    if (!path[0]) {
        keydev_set_error("no library named");
        return ES_ERR_LOAD;
    }
    const char *missing = NULL;
    es_err rv =
        keydev_dlopen(path, symbols, sizeof symbols / sizeof symbols[0], &t->f, &t->lib, &missing);
    if (rv == ES_ERR_SYMBOL) keydev_set_error("%s does not export %s", path, missing);
    return rv;
}

/* --- name lists (multi-strings) --- */

enum { LIST_DEV, LIST_APP, LIST_CON, LIST_FILE };

static ULONG list_call(const es_token *t, int what, void *h, LPSTR buf, ULONG *size)
{
    switch (what) {
    case LIST_DEV:
        return t->f.EnumDev(TRUE, buf, size);
    case LIST_APP:
        return t->f.EnumApplication(h, buf, size);
    case LIST_FILE:
        return t->f.EnumFiles(h, buf, size);
    default:
        return t->f.EnumContainer(h, buf, size);
    }
}

/* Reads a name list into out, ended by two NULs whatever the library wrote, so that the
 * names can be walked with strlen. */
static es_err names(const es_token *t, int what, void *h, es_buf *out)
{
    static const char *const fn[] = {"SKF_EnumDev", "SKF_EnumApplication", "SKF_EnumContainer"};
    ULONG size = 0;
    ULONG rc = list_call(t, what, h, NULL, &size);
    es_err rv;
    if (rc != SAR_OK) return sar_error(fn[what], rc);
    if (size > SKF_MAX_LIST) {
        keydev_set_error("%s: a list of %lu bytes", fn[what], (unsigned long)size);
        return ES_ERR_LIMIT;
    }
    char *buf = calloc(1, (size_t)size + 2);
    if (!buf) return ES_ERR_NOMEM;
    ULONG got = size;
    rc = size ? list_call(t, what, h, buf, &got) : SAR_OK;
    if (rc != SAR_OK) {
        rv = sar_error(fn[what], rc);
    } else {
        if (got > size) got = size;
        rv = es_buf_append(out, buf, got);
        if (rv == ES_OK) rv = es_buf_append(out, "\0\0", 2);
    }
    free(buf);
    return rv;
}

static const char *next_name(const es_buf *b, const char *p)
{
    p += strlen(p) + 1;
    return p < (const char *)b->p + b->len && *p ? p : NULL;
}

static const char *first_name(const es_buf *b)
{
    const char *p = (const char *)b->p;
    return b->len && *p ? p : NULL;
}

static int has_name(const es_buf *b, const char *name)
{
    for (const char *p = first_name(b); p; p = next_name(b, p))
        if (strcmp(p, name) == 0) return 1;
    return 0;
}

/* 1 when the list what (under h) names name; 0 when not or when it cannot be read. */
static int listed(const es_token *t, int what, void *h, const char *name)
{
    es_buf b;
    es_buf_init(&b, SKF_MAX_LIST + 2);
    int yes = names(t, what, h, &b) == ES_OK && has_name(&b, name);
    es_buf_cleanup(&b);
    return yes;
}

/* --- opening what a reference names --- */

static void close_con(es_token *t)
{
    if (t->con) (void)t->f.CloseContainer(t->con);
    t->con = NULL;
    t->con_name[0] = 0;
    t->have_pub = 0;
}

static void close_app(es_token *t)
{
    close_con(t);
    if (t->app) {
        if (t->f.ClearSecureState) (void)t->f.ClearSecureState(t->app);
        (void)t->f.CloseApplication(t->app);
    }
    t->app = NULL;
    t->app_name[0] = 0;
}

static es_err check_name(const char *what, const char *name)
{
    if (!name || !name[0] || strlen(name) >= ES_KEYREF_MAX_NAME) {
        keydev_set_error("no %s named", what);
        return ES_ERR_ARG;
    }
    return ES_OK;
}

static es_err use_app(es_token *t, const char *name)
{
    es_err rv = check_name("application", name);
    if (rv != ES_OK) return rv;
    if (t->app && strcmp(t->app_name, name) == 0) return ES_OK;
    close_app(t);
    char buf[ES_KEYREF_MAX_NAME];
    snprintf(buf, sizeof buf, "%s", name);
    HAPPLICATION h = NULL;
    ULONG rc = t->f.OpenApplication(t->dev, buf, &h);
    if (rc != SAR_OK) {
        rv = sar_error("SKF_OpenApplication", rc);
        /* Vendors differ in the code for a missing application: ask the list. */
        if (!listed(t, LIST_APP, t->dev, name)) {
            keydev_set_error("no application %s on %s", name, t->device);
            rv = ES_ERR_NOT_FOUND;
        }
        return rv;
    }
    t->app = h;
    snprintf(t->app_name, sizeof t->app_name, "%s", name);
    return ES_OK;
}

static es_err use_con(es_token *t, const es_keyref *ref, int create)
{
    es_err rv = use_app(t, ref->application);
    if (rv == ES_OK) rv = check_name("container", ref->container);
    if (rv != ES_OK) return rv;
    if (t->con && strcmp(t->con_name, ref->container) == 0) return ES_OK;
    close_con(t);
    char buf[ES_KEYREF_MAX_NAME];
    snprintf(buf, sizeof buf, "%s", ref->container);
    HCONTAINER h = NULL;
    if (!listed(t, LIST_CON, t->app, ref->container)) {
        if (!create) {
            keydev_set_error("no container %s in %s/%s", ref->container, t->device, t->app_name);
            return ES_ERR_NO_KEY;
        }
        if ((rv = need(t, (const void *)t->f.CreateContainer, "SKF_CreateContainer")) != ES_OK)
            return rv;
        ULONG rc = t->f.CreateContainer(t->app, buf, &h);
        if (rc != SAR_OK) return sar_error("SKF_CreateContainer", rc);
    } else {
        ULONG rc = t->f.OpenContainer(t->app, buf, &h);
        if (rc != SAR_OK) return sar_error("SKF_OpenContainer", rc);
    }
    t->con = h;
    snprintf(t->con_name, sizeof t->con_name, "%s", ref->container);
    return ES_OK;
}

static es_err connect_dev(es_token *t, const char *device)
{
    es_buf b;
    es_buf_init(&b, SKF_MAX_LIST + 2);
    es_err rv = names(t, LIST_DEV, NULL, &b);
    const char *name = NULL;
    if (rv == ES_OK) {
        name = device && device[0] ? (has_name(&b, device) ? device : NULL) : first_name(&b);
        if (!name) {
            if (device && device[0])
                keydev_set_error("no device %s present", device);
            else
                keydev_set_error("no device present");
            rv = ES_ERR_NOT_FOUND;
        } else if (strlen(name) >= sizeof t->device) {
            keydev_set_error("a device name longer than %zu bytes", sizeof t->device - 1);
            rv = ES_ERR_LIMIT;
        }
    }
    if (rv == ES_OK) {
        snprintf(t->device, sizeof t->device, "%s", name);
        ULONG rc = t->f.ConnectDev(t->device, &t->dev);
        if (rc != SAR_OK) {
            rv = sar_error("SKF_ConnectDev", rc);
            if (rc == SAR_DEVICE_REMOVED) rv = ES_ERR_NOT_FOUND;
            t->dev = NULL;
        }
    }
    es_buf_cleanup(&b);
    return rv;
}

void es_token_close(es_token *t)
{
    if (!t) return;
    if (t->dev) {
        close_app(t);
        (void)t->f.DisConnectDev(t->dev);
    }
    if (t->lib) dlclose(t->lib);
    free(t);
}

es_err es_token_open(const es_keyref *ref, es_token **out)
{
    if (!ref || !out) return ES_ERR_ARG;
    es_token *t = calloc(1, sizeof *t);
    if (!t) return ES_ERR_NOMEM;
    es_err rv = load(ref->path, t);
    if (rv == ES_OK) rv = connect_dev(t, ref->device);
    if (rv != ES_OK) {
        es_token_close(t);
        return rv;
    }
    *out = t;
    return ES_OK;
}

es_err es_token_devices(const char *lib, es_buf *out)
{
    es_token *t = calloc(1, sizeof *t);
    es_buf b;
    es_buf_init(&b, SKF_MAX_LIST + 2);
    if (!t) return ES_ERR_NOMEM;
    es_err rv = load(lib ? lib : "", t);
    if (rv == ES_OK) rv = names(t, LIST_DEV, NULL, &b);
    for (const char *p = rv == ES_OK ? first_name(&b) : NULL; p && rv == ES_OK;
         p = next_name(&b, p))
        rv = es_buf_printf(out, "%s\n", p);
    es_buf_cleanup(&b);
    es_token_close(t);
    return rv;
}

/* A bounded copy of a fixed-size, maybe unterminated character field. */
static void field(char *out, size_t cap, const char *in, size_t n)
{
    size_t l = 0;
    while (l < n && in[l]) l++;
    snprintf(out, cap, "%.*s", (int)l, in);
}

es_err es_token_info_get(es_token *t, es_token_info *out)
{
    DEVINFO di;
    memset(out, 0, sizeof *out);
    memset(&di, 0, sizeof di);
    ULONG rc = t->f.GetDevInfo(t->dev, &di);
    if (rc != SAR_OK) return sar_error("SKF_GetDevInfo", rc);
    snprintf(out->device, sizeof out->device, "%s", t->device);
    field(out->manufacturer, sizeof out->manufacturer, di.Manufacturer, sizeof di.Manufacturer);
    field(out->issuer, sizeof out->issuer, di.Issuer, sizeof di.Issuer);
    field(out->label, sizeof out->label, di.Label, sizeof di.Label);
    field(out->serial, sizeof out->serial, di.SerialNumber, sizeof di.SerialNumber);
    out->version[0] = di.Version.major;
    out->version[1] = di.Version.minor;
    out->hw_version[0] = di.HWVersion.major;
    out->hw_version[1] = di.HWVersion.minor;
    out->fw_version[0] = di.FirmwareVersion.major;
    out->fw_version[1] = di.FirmwareVersion.minor;
    out->alg_sym = di.AlgSymCap;
    out->alg_asym = di.AlgAsymCap;
    out->alg_hash = di.AlgHashCap;
    out->dev_auth_alg = di.DevAuthAlgId;
    out->total_space = di.TotalSpace;
    out->free_space = di.FreeSpace;
    out->can_generate = t->f.CreateContainer && t->f.GenECCKeyPair;
    out->can_import = t->f.ImportECCKeyPair != NULL;
    out->can_decrypt = t->f.ECCDecrypt != NULL;
    out->can_admin = t->f.CreateApplication && t->f.GetPINInfo && t->f.UnblockPIN && t->f.ChangePIN;
    return ES_OK;
}

es_err es_token_list(es_token *t, int apps, es_buf *out)
{
    es_buf al, cl;
    es_buf_init(&al, SKF_MAX_LIST + 2);
    es_buf_init(&cl, SKF_MAX_LIST + 2);
    es_err rv = names(t, LIST_APP, t->dev, &al);
    for (const char *a = rv == ES_OK ? first_name(&al) : NULL; a && rv == ES_OK;
         a = next_name(&al, a)) {
        /* The open application is listed through its handle: some devices refuse a second
         * open of the same application. */
        HAPPLICATION h = t->app && strcmp(a, t->app_name) == 0 ? t->app : NULL;
        int mine = h == NULL;
        if (mine) {
            char buf[ES_KEYREF_MAX_NAME];
            snprintf(buf, sizeof buf, "%s", a);
            ULONG rc = t->f.OpenApplication(t->dev, buf, &h);
            if (rc != SAR_OK) {
                rv = sar_error("SKF_OpenApplication", rc);
                break;
            }
        }
        cl.len = 0;
        rv = names(t, LIST_CON, h, &cl);
        const char *c = rv == ES_OK ? first_name(&cl) : NULL;
        if (rv == ES_OK && !c && apps) rv = es_buf_printf(out, "%s/%s/\n", t->device, a);
        for (; c && rv == ES_OK; c = next_name(&cl, c))
            rv = es_buf_printf(out, "%s/%s/%s\n", t->device, a, c);
        if (mine) (void)t->f.CloseApplication(h);
    }
    es_buf_cleanup(&al);
    es_buf_cleanup(&cl);
    return rv;
}

/* --- PINs --- */

static es_err get_secret(const es_secret_src *src, const char *what, char pin[ES_SECRET_MAX])
{
    es_err rv = src && src->get ? src->get(src->ctx, what, pin, ES_SECRET_MAX) : ES_ERR_PIN;
    if (rv != ES_OK) {
        es_wipe(pin, ES_SECRET_MAX);
        keydev_set_error("no %s given", what);
    }
    return rv;
}

/* The user PIN check both es_token_login and the keydev login use. */
static es_err verify_user(es_token *t, const char *app, const char *pin, int *retries)
{
    char buf[ES_SECRET_MAX];
    if (retries) *retries = -1;
    es_err rv = use_app(t, app);
    if (rv != ES_OK) return rv;
    if (strlen(pin) >= sizeof buf) return ES_ERR_LIMIT;
    snprintf(buf, sizeof buf, "%s", pin);
    ULONG left = 0;
    ULONG rc = t->f.VerifyPIN(t->app, USER_TYPE, buf, &left);
    es_wipe(buf, sizeof buf);
    return pin_result("SKF_VerifyPIN", rc, left, retries);
}

es_err es_token_login(es_token *t, const char *app, const es_secret_src *pin, int *retries)
{
    char p[ES_SECRET_MAX], what[2 * ES_KEYREF_MAX_NAME + 32];
    if (retries) *retries = -1;
    snprintf(what, sizeof what, "user PIN of %s/%s", t->device, app ? app : "");
    es_err rv = get_secret(pin, what, p);
    if (rv == ES_OK) rv = verify_user(t, app, p, retries);
    es_wipe(p, sizeof p);
    return rv;
}

es_err es_token_app_create(es_token *t, const char *app, const es_secret_src *so_pin,
                           unsigned so_retries, const es_secret_src *user_pin,
                           unsigned user_retries)
{
    char so[ES_SECRET_MAX], user[ES_SECRET_MAX], what[2 * ES_KEYREF_MAX_NAME + 48];
    char name[ES_KEYREF_MAX_NAME];
    es_err rv = check_name("application", app);
    memset(so, 0, sizeof so);
    memset(user, 0, sizeof user);
    if (rv == ES_OK) rv = need(t, (const void *)t->f.CreateApplication, "SKF_CreateApplication");
    if (rv != ES_OK) return rv;
    snprintf(name, sizeof name, "%s", app);
    snprintf(what, sizeof what, "SO PIN for the new application %s/%s", t->device, app);
    if ((rv = get_secret(so_pin, what, so)) != ES_OK) goto out;
    snprintf(what, sizeof what, "user PIN for the new application %s/%s", t->device, app);
    if ((rv = get_secret(user_pin, what, user)) != ES_OK) goto out;
    close_app(t);
    HAPPLICATION h = NULL;
    ULONG rc = t->f.CreateApplication(
        t->dev, name, so, so_retries ? so_retries : ES_TOKEN_SO_RETRIES, user,
        user_retries ? user_retries : ES_TOKEN_USER_RETRIES, SECURE_ANYONE_ACCOUNT, &h);
    if (rc != SAR_OK) {
        rv = sar_error("SKF_CreateApplication", rc);
        goto out;
    }
    t->app = h;
    snprintf(t->app_name, sizeof t->app_name, "%s", app);
out:
    es_wipe(so, sizeof so);
    es_wipe(user, sizeof user);
    return rv;
}

es_err es_token_pin_info(es_token *t, const char *app, int so, es_token_pin *out)
{
    memset(out, 0, sizeof *out);
    es_err rv = need(t, (const void *)t->f.GetPINInfo, "SKF_GetPINInfo");
    if (rv == ES_OK) rv = use_app(t, app);
    if (rv != ES_OK) return rv;
    ULONG max = 0, left = 0;
    BOOL def = FALSE;
    ULONG rc = t->f.GetPINInfo(t->app, so ? ADMIN_TYPE : USER_TYPE, &max, &left, &def);
    if (rc != SAR_OK) return sar_error("SKF_GetPINInfo", rc);
    out->max_retries = max;
    out->remaining = left;
    out->is_default = def != FALSE;
    return ES_OK;
}

es_err es_token_change_pin(es_token *t, const char *app, int so, const es_secret_src *old_pin,
                           const es_secret_src *new_pin, int *retries)
{
    char oldp[ES_SECRET_MAX], newp[ES_SECRET_MAX], what[2 * ES_KEYREF_MAX_NAME + 48];
    memset(oldp, 0, sizeof oldp);
    memset(newp, 0, sizeof newp);
    if (retries) *retries = -1;
    es_err rv = need(t, (const void *)t->f.ChangePIN, "SKF_ChangePIN");
    if (rv == ES_OK) rv = use_app(t, app);
    if (rv != ES_OK) return rv;
    snprintf(what, sizeof what, "current %s PIN of %s/%s", so ? "SO" : "user", t->device, app);
    if ((rv = get_secret(old_pin, what, oldp)) != ES_OK) goto out;
    snprintf(what, sizeof what, "new %s PIN of %s/%s", so ? "SO" : "user", t->device, app);
    if ((rv = get_secret(new_pin, what, newp)) != ES_OK) goto out;
    ULONG left = 0;
    ULONG rc = t->f.ChangePIN(t->app, so ? ADMIN_TYPE : USER_TYPE, oldp, newp, &left);
    rv = pin_result("SKF_ChangePIN", rc, left, retries);
out:
    es_wipe(oldp, sizeof oldp);
    es_wipe(newp, sizeof newp);
    return rv;
}

es_err es_token_unblock(es_token *t, const char *app, const es_secret_src *so_pin,
                        const es_secret_src *new_pin, int *retries)
{
    char so[ES_SECRET_MAX], newp[ES_SECRET_MAX], what[2 * ES_KEYREF_MAX_NAME + 48];
    memset(so, 0, sizeof so);
    memset(newp, 0, sizeof newp);
    if (retries) *retries = -1;
    es_err rv = need(t, (const void *)t->f.UnblockPIN, "SKF_UnblockPIN");
    if (rv == ES_OK) rv = use_app(t, app);
    if (rv != ES_OK) return rv;
    snprintf(what, sizeof what, "SO PIN of %s/%s", t->device, app);
    if ((rv = get_secret(so_pin, what, so)) != ES_OK) goto out;
    snprintf(what, sizeof what, "new user PIN of %s/%s", t->device, app);
    if ((rv = get_secret(new_pin, what, newp)) != ES_OK) goto out;
    ULONG left = 0;
    ULONG rc = t->f.UnblockPIN(t->app, so, newp, &left);
    rv = pin_result("SKF_UnblockPIN", rc, left, retries);
out:
    es_wipe(so, sizeof so);
    es_wipe(newp, sizeof newp);
    return rv;
}

/* --- keys --- */

/* An ECCPUBLICKEYBLOB (x, y right-aligned in 64 bytes) as an uncompressed point. */
static es_err blob_to_pub(const char *fn, const ECCPUBLICKEYBLOB *b, uint8_t pub[ES_SM2_PUB_LEN])
{
    static const uint8_t zero[32];
    if (b->BitLen != 256 || memcmp(b->XCoordinate, zero, 32) != 0 ||
        memcmp(b->YCoordinate, zero, 32) != 0) {
        keydev_set_error("%s: not a 256-bit ECC public key (BitLen %lu)", fn,
                         (unsigned long)b->BitLen);
        return ES_ERR_DEVICE;
    }
    pub[0] = 0x04;
    memcpy(pub + 1, b->XCoordinate + 32, 32);
    memcpy(pub + 33, b->YCoordinate + 32, 32);
    return ES_OK;
}

/* The public key of the open container. */
static es_err export_pub(es_token *t, int sign, uint8_t pub[ES_SM2_PUB_LEN])
{
    ECCPUBLICKEYBLOB b;
    ULONG len = sizeof b;
    memset(&b, 0, sizeof b);
    ULONG rc = t->f.ExportPublicKey(t->con, sign ? TRUE : FALSE, (BYTE *)&b, &len);
    if (rc != SAR_OK) {
        es_err rv = sar_error("SKF_ExportPublicKey", rc);
        /* A container without keys may answer with another code: ask its type. */
        ULONG type = CONTAINER_TYPE_ECC;
        if (t->f.GetContainerType && t->f.GetContainerType(t->con, &type) == SAR_OK &&
            type == CONTAINER_TYPE_UNDEF)
            rv = ES_ERR_NO_KEY;
        return rv;
    }
    if (len != sizeof b) {
        keydev_set_error("SKF_ExportPublicKey: %lu bytes, not an ECCPUBLICKEYBLOB",
                         (unsigned long)len);
        return ES_ERR_DEVICE;
    }
    return blob_to_pub("SKF_ExportPublicKey", &b, pub);
}

es_err es_token_public_key(es_token *t, const es_keyref *ref, int sign, uint8_t pub[ES_SM2_PUB_LEN])
{
    es_err rv = use_con(t, ref, 0);
    if (rv != ES_OK) return rv;
    if (sign && t->have_pub) {
        memcpy(pub, t->pub, ES_SM2_PUB_LEN);
        return ES_OK;
    }
    if ((rv = export_pub(t, sign, pub)) == ES_OK && sign) {
        memcpy(t->pub, pub, ES_SM2_PUB_LEN);
        t->have_pub = 1;
    }
    return rv;
}

es_err es_token_generate(es_token *t, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN])
{
    uint8_t old[ES_SM2_PUB_LEN];
    es_err rv = need(t, (const void *)t->f.GenECCKeyPair, "SKF_GenECCKeyPair");
    if (rv == ES_OK) rv = use_con(t, ref, 1);
    if (rv != ES_OK) return rv;
    /* Never overwrite a signing key: a seal certificate may certify it. */
    if (export_pub(t, 1, old) == ES_OK) {
        keydev_set_error("%s/%s/%s already holds a signing key", t->device, t->app_name,
                         t->con_name);
        return ES_ERR_EXISTS;
    }
    ECCPUBLICKEYBLOB b;
    memset(&b, 0, sizeof b);
    t->have_pub = 0;
    ULONG rc = t->f.GenECCKeyPair(t->con, SGD_SM2_1, &b);
    if (rc != SAR_OK) return sar_error("SKF_GenECCKeyPair", rc);
    if ((rv = blob_to_pub("SKF_GenECCKeyPair", &b, pub)) != ES_OK) return rv;
    memcpy(t->pub, pub, ES_SM2_PUB_LEN);
    t->have_pub = 1;
    return ES_OK;
}

es_err es_token_envelope(const es_sm2_key *key, const uint8_t wrap_pub[ES_SM2_PUB_LEN], es_buf *out)
{
    return envelope_make(key, wrap_pub, out);
}

es_err es_token_import(es_token *t, const es_keyref *ref, const uint8_t *blob, size_t len)
{
    const size_t fixed = offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.Cipher);
    ENVELOPEDKEYBLOB *env = NULL;
    uint8_t want[ES_SM2_PUB_LEN], got[ES_SM2_PUB_LEN];
    ULONG clen = 0;
    es_err rv = need(t, (const void *)t->f.ImportECCKeyPair, "SKF_ImportECCKeyPair");
    if (rv != ES_OK) return rv;
    /* The envelope as GB/T 35291 6.4.10 lays it out, whole and nothing after it. */
    if (!blob || len < fixed) goto bad;
    memcpy(&clen, blob + offsetof(ENVELOPEDKEYBLOB, ECCCipherBlob.CipherLen), sizeof clen);
    if (clen == 0 || clen > SKF_MAX_WRAP || len != fixed + clen) goto bad;
    env = calloc(1, len > sizeof *env ? len : sizeof *env);
    if (!env) return ES_ERR_NOMEM;
    memcpy(env, blob, len);
    if (env->Version != SKF_ENVELOPEDKEYBLOB_VERSION ||
        blob_to_pub("ENVELOPEDKEYBLOB", &env->PubKey, want) != ES_OK)
        goto bad;
    if ((rv = use_con(t, ref, 0)) != ES_OK) goto out;
    t->have_pub = 0;
    ULONG rc = t->f.ImportECCKeyPair(t->con, env);
    if (rc != SAR_OK) {
        rv = sar_error("SKF_ImportECCKeyPair", rc);
        goto out;
    }
    /* The key is for signing: it must now be the container's signing key. */
    if ((rv = es_token_public_key(t, ref, 1, got)) == ES_OK && memcmp(got, want, sizeof got) == 0)
        goto out;
    if (export_pub(t, 0, got) == ES_OK && memcmp(got, want, sizeof got) == 0) {
        keydev_set_error("the device stored the imported key pair as the encryption key pair "
                         "of %s/%s/%s (GM/T 0016 7.6.12); SKF_ECCSignData signs with the "
                         "signing pair, so the key cannot sign there",
                         t->device, t->app_name, t->con_name);
        rv = ES_ERR_UNSUPPORTED;
    } else {
        keydev_set_error("after SKF_ImportECCKeyPair the container's signing public key is "
                         "not the envelope's");
        rv = ES_ERR_DEVICE;
    }
    goto out;
bad:
    keydev_set_error("not a GB/T 35291 ENVELOPEDKEYBLOB (Version 1, 32-bit ULONG, %zu bytes "
                     "and the wrapped key)",
                     fixed);
    rv = ES_ERR_FORMAT;
out:
    free(env);
    return rv;
}

es_err es_token_put_cert(es_token *t, const es_keyref *ref, int sign, es_slice der)
{
    es_err rv = need(t, (const void *)t->f.ImportCertificate, "SKF_ImportCertificate");
    if (rv == ES_OK && (!der.len || der.len > ES_MAX_CERT_DER)) rv = ES_ERR_ARG;
    if (rv == ES_OK) rv = use_con(t, ref, 0);
    if (rv != ES_OK) return rv;
    BYTE *copy = malloc(der.len);
    if (!copy) return ES_ERR_NOMEM;
    memcpy(copy, der.p, der.len);
    ULONG rc = t->f.ImportCertificate(t->con, sign ? TRUE : FALSE, copy, (ULONG)der.len);
    free(copy);
    return sar_error("SKF_ImportCertificate", rc);
}

es_err es_token_get_cert(es_token *t, const es_keyref *ref, int sign, es_buf *out)
{
    es_err rv = need(t, (const void *)t->f.ExportCertificate, "SKF_ExportCertificate");
    if (rv == ES_OK) rv = use_con(t, ref, 0);
    if (rv != ES_OK) return rv;
    BYTE *buf = malloc(ES_MAX_CERT_DER);
    if (!buf) return ES_ERR_NOMEM;
    ULONG len = ES_MAX_CERT_DER;
    ULONG rc = t->f.ExportCertificate(t->con, sign ? TRUE : FALSE, buf, &len);
    if (rc == SAR_BUFFER_TOO_SMALL) {
        keydev_set_error("SKF_ExportCertificate: larger than %u bytes", ES_MAX_CERT_DER);
        rv = ES_ERR_LIMIT;
    } else if (rc != SAR_OK) {
        rv = sar_error("SKF_ExportCertificate", rc);
    } else if (len == 0 || len > ES_MAX_CERT_DER) {
        /* Some devices answer an empty slot with SAR_OK and no bytes. */
        keydev_set_error("SKF_ExportCertificate: no certificate");
        rv = ES_ERR_NO_KEY;
    } else {
        rv = es_buf_append(out, buf, len);
    }
    free(buf);
    return rv;
}

/* --- files (GB/T 35291 7.4) --- */

#define SKF_FILE_CHUNK 1024u /* bytes one SKF_ReadFile / SKF_WriteFile moves: devices limit it */

static es_err file_name(const char *name, char buf[MAX_FILE_NAME_SIZE + 1])
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > MAX_FILE_NAME_SIZE || strchr(name, '/')) {
        keydev_set_error("a file name of 1 to %d bytes", MAX_FILE_NAME_SIZE);
        return ES_ERR_ARG;
    }
    memcpy(buf, name, n + 1);
    return ES_OK;
}

static es_err need_files(const es_token *t)
{
    es_err rv = need(t, (const void *)t->f.EnumFiles, "SKF_EnumFiles");
    if (rv == ES_OK) rv = need(t, (const void *)t->f.GetFileInfo, "SKF_GetFileInfo");
    if (rv == ES_OK) rv = need(t, (const void *)t->f.ReadFile, "SKF_ReadFile");
    return rv;
}

es_err es_token_files(es_token *t, const char *app, es_buf *out)
{
    es_buf b;
    es_err rv = need_files(t);
    if (rv == ES_OK) rv = use_app(t, app);
    if (rv != ES_OK) return rv;
    es_buf_init(&b, SKF_MAX_LIST + 2);
    rv = names(t, LIST_FILE, t->app, &b);
    for (const char *p = rv == ES_OK ? first_name(&b) : NULL; p && rv == ES_OK;
         p = next_name(&b, p))
        rv = es_buf_printf(out, "%s\n", p);
    es_buf_cleanup(&b);
    return rv;
}

es_err es_token_file_read(es_token *t, const char *app, const char *name, size_t max, es_buf *out)
{
    char fname[MAX_FILE_NAME_SIZE + 1];
    FILEATTRIBUTE fa;
    es_err rv = need_files(t);
    if (rv == ES_OK) rv = file_name(name, fname);
    if (rv == ES_OK) rv = use_app(t, app);
    if (rv != ES_OK) return rv;
    if (!listed(t, LIST_FILE, t->app, fname)) {
        keydev_set_error("no file %s in %s/%s", fname, t->device, t->app_name);
        return ES_ERR_NOT_FOUND;
    }
    memset(&fa, 0, sizeof fa);
    ULONG rc = t->f.GetFileInfo(t->app, fname, &fa);
    if (rc != SAR_OK) return sar_error("SKF_GetFileInfo", rc);
    if (fa.FileSize > max) {
        keydev_set_error("%s/%s/%s: %lu bytes, more than %zu", t->device, t->app_name, fname,
                         (unsigned long)fa.FileSize, max);
        return ES_ERR_LIMIT;
    }
    BYTE *chunk = malloc(SKF_FILE_CHUNK);
    if (!chunk) return ES_ERR_NOMEM;
    size_t start = out->len;
    for (ULONG off = 0; off < fa.FileSize && rv == ES_OK;) {
        ULONG want = fa.FileSize - off < SKF_FILE_CHUNK ? fa.FileSize - off : SKF_FILE_CHUNK;
        ULONG got = want;
        rc = t->f.ReadFile(t->app, fname, off, want, chunk, &got);
        if (rc != SAR_OK)
            rv = sar_error("SKF_ReadFile", rc);
        else if (got == 0 || got > want) {
            keydev_set_error("SKF_ReadFile: %lu bytes for %lu asked at %lu", (unsigned long)got,
                             (unsigned long)want, (unsigned long)off);
            rv = ES_ERR_DEVICE;
        } else {
            rv = es_buf_append(out, chunk, got);
            off += got;
        }
    }
    free(chunk);
    if (rv != ES_OK) out->len = start;
    return rv;
}

es_err es_token_file_delete(es_token *t, const char *app, const char *name)
{
    char fname[MAX_FILE_NAME_SIZE + 1];
    es_err rv = need(t, (const void *)t->f.DeleteFile, "SKF_DeleteFile");
    if (rv == ES_OK) rv = need(t, (const void *)t->f.EnumFiles, "SKF_EnumFiles");
    if (rv == ES_OK) rv = file_name(name, fname);
    if (rv == ES_OK) rv = use_app(t, app);
    if (rv != ES_OK) return rv;
    if (!listed(t, LIST_FILE, t->app, fname)) {
        keydev_set_error("no file %s in %s/%s", fname, t->device, t->app_name);
        return ES_ERR_NOT_FOUND;
    }
    return sar_error("SKF_DeleteFile", t->f.DeleteFile(t->app, fname));
}

es_err es_token_file_write(es_token *t, const char *app, const char *name, es_slice data)
{
    char fname[MAX_FILE_NAME_SIZE + 1];
    es_err rv = need(t, (const void *)t->f.CreateFile, "SKF_CreateFile");
    if (rv == ES_OK) rv = need(t, (const void *)t->f.WriteFile, "SKF_WriteFile");
    if (rv == ES_OK) rv = need(t, (const void *)t->f.DeleteFile, "SKF_DeleteFile");
    if (rv == ES_OK) rv = need(t, (const void *)t->f.EnumFiles, "SKF_EnumFiles");
    if (rv == ES_OK) rv = file_name(name, fname);
    if (rv == ES_OK && (data.len == 0 || data.len > 0xffffffffu)) rv = ES_ERR_ARG;
    if (rv == ES_OK) rv = use_app(t, app);
    if (rv != ES_OK) return rv;
    /* A file keeps the size it was created with: a new content is a new file. */
    if (listed(t, LIST_FILE, t->app, fname)) {
        ULONG rc = t->f.DeleteFile(t->app, fname);
        if (rc != SAR_OK) return sar_error("SKF_DeleteFile", rc);
    }
    ULONG rc =
        t->f.CreateFile(t->app, fname, (ULONG)data.len, SECURE_ANYONE_ACCOUNT, SECURE_USER_ACCOUNT);
    if (rc != SAR_OK) return sar_error("SKF_CreateFile", rc);
    BYTE *chunk = malloc(SKF_FILE_CHUNK);
    if (!chunk) return ES_ERR_NOMEM;
    for (size_t off = 0; off < data.len && rv == ES_OK;) {
        size_t n = data.len - off < SKF_FILE_CHUNK ? data.len - off : SKF_FILE_CHUNK;
        memcpy(chunk, data.p + off, n);
        rc = t->f.WriteFile(t->app, fname, (ULONG)off, chunk, (ULONG)n);
        if (rc != SAR_OK) rv = sar_error("SKF_WriteFile", rc);
        off += n;
    }
    free(chunk);
    /* A half-written file is worse than none. */
    if (rv != ES_OK) (void)t->f.DeleteFile(t->app, fname);
    return rv;
}

/* --- the es_keydev backend --- */

static es_err skf_open(const es_keyref *ref, void **state)
{
    return es_token_open(ref, (es_token **)state);
}

static void skf_close(void *state)
{
    es_token_close(state);
}

static es_err skf_info(void *state, es_keydev_info *out)
{
    es_token_info ti;
    es_err rv = es_token_info_get(state, &ti);
    if (rv != ES_OK) return rv;
    snprintf(out->manufacturer, sizeof out->manufacturer, "%s", ti.manufacturer);
    snprintf(out->label, sizeof out->label, "%s", ti.label);
    snprintf(out->serial, sizeof out->serial, "%s", ti.serial);
    out->can_generate = ti.can_generate;
    out->can_import = ti.can_import;
    out->can_decrypt = ti.can_decrypt;
    return ES_OK;
}

static es_err skf_login(void *state, const es_keyref *ref, const char *pin, int *retries)
{
    return verify_user(state, ref->application, pin, retries);
}

static es_err skf_list(void *state, es_buf *out)
{
    return es_token_list(state, 0, out);
}

static es_err skf_public_key(void *state, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN])
{
    return es_token_public_key(state, ref, 1, pub);
}

static es_err skf_enc_public_key(void *state, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN])
{
    return es_token_public_key(state, ref, 0, pub);
}

static es_err skf_generate(void *state, const es_keyref *ref, const char *pin,
                           uint8_t pub[ES_SM2_PUB_LEN])
{
    (void)pin; /* the login already happened; the device keeps the key under the user PIN */
    return es_token_generate(state, ref, pub);
}

static es_err skf_sign(void *state, const es_keyref *ref, const uint8_t e[ES_SM3_LEN],
                       uint8_t r[32], uint8_t s[32])
{
    es_token *t = state;
    uint8_t pub[ES_SM2_PUB_LEN], digest[ES_SM3_LEN];
    es_err rv = es_token_public_key(t, ref, 1, pub);
    if (rv != ES_OK) return rv;
    ECCSIGNATUREBLOB sig;
    memset(&sig, 0, sizeof sig);
    memcpy(digest, e, sizeof digest);
    ULONG rc = t->f.ECCSignData(t->con, digest, sizeof digest, &sig);
    if (rc != SAR_OK) return sar_error("SKF_ECCSignData", rc);
    /* r and s right-aligned in 64 bytes (GB/T 35291 6.4.6); a few devices put them in the
     * first 32 bytes. Whichever verifies with the signing key is the signature. */
    memcpy(r, sig.r + 32, 32);
    memcpy(s, sig.s + 32, 32);
    if (es_sm2_verify_digest(pub, e, r, s) == ES_OK) return ES_OK;
    memcpy(r, sig.r, 32);
    memcpy(s, sig.s, 32);
    if (es_sm2_verify_digest(pub, e, r, s) == ES_OK) return ES_OK;
    keydev_set_error("SKF_ECCSignData: the signature does not verify with the signing public "
                     "key of %s/%s/%s",
                     t->device, t->app_name, t->con_name);
    return ES_ERR_SIGNER;
}

static es_err skf_decrypt(void *state, const es_keyref *ref, const uint8_t *in, size_t len,
                          es_buf *out)
{
    es_token *t = state;
    es_sm2_cipher_parts parts;
    if (!t->f.ECCDecrypt) {
        keydev_set_error("%s does not export SKF_ECCDecrypt (a vendor extension)", t->lib_path);
        return ES_ERR_UNSUPPORTED;
    }
    es_err rv = sm2_cipher_from_der(es_slice_make(in, len), &parts);
    if (rv != ES_OK) return rv;
    if (parts.c.len == 0 || parts.c.len > SKF_MAX_PLAIN) return ES_ERR_LIMIT;
    if ((rv = use_con(t, ref, 0)) != ES_OK) return rv;
    size_t blen = offsetof(ECCCIPHERBLOB, Cipher) + parts.c.len;
    ECCCIPHERBLOB *cb = calloc(1, blen > sizeof *cb ? blen : sizeof *cb);
    BYTE *plain = malloc(parts.c.len);
    if (!cb || !plain) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    memcpy(cb->XCoordinate + 32, parts.x, 32);
    memcpy(cb->YCoordinate + 32, parts.y, 32);
    memcpy(cb->HASH, parts.hash, 32);
    cb->CipherLen = (ULONG)parts.c.len;
    memcpy(cb->Cipher, parts.c.p, parts.c.len);
    ULONG plen = (ULONG)parts.c.len;
    ULONG rc = t->f.ECCDecrypt(t->con, cb, plain, &plen);
    if (rc != SAR_OK)
        rv = sar_error("SKF_ECCDecrypt", rc);
    else if (plen > parts.c.len)
        rv = ES_ERR_DEVICE;
    else
        rv = es_buf_append(out, plain, plen);
out:
    if (plain) es_wipe(plain, parts.c.len);
    free(plain);
    free(cb);
    return rv;
}

static es_err skf_import_envelope(void *state, const es_keyref *ref, const uint8_t *blob,
                                  size_t len)
{
    return es_token_import(state, ref, blob, len);
}

static es_err skf_put_cert(void *state, const es_keyref *ref, es_slice der)
{
    return es_token_put_cert(state, ref, 1, der);
}

static es_err skf_get_cert(void *state, const es_keyref *ref, es_buf *out)
{
    return es_token_get_cert(state, ref, 1, out);
}

const es_keydev_ops keydev_skf_ops = {
    .kind = "skf",
    .open = skf_open,
    .info = skf_info,
    .login = skf_login,
    .list = skf_list,
    .public_key = skf_public_key,
    .enc_public_key = skf_enc_public_key,
    .generate = skf_generate,
    .sign = skf_sign,
    .decrypt = skf_decrypt,
    .import_envelope = skf_import_envelope,
    .put_cert = skf_put_cert,
    .get_cert = skf_get_cert,
    .close = skf_close,
};
