/* API clients (business systems) on both backends: registration with a certificate of the
 * site CA and its refusals, the Authorization header parser, the string to sign, signed
 * requests (replay, staleness, tampering, state of the client), concurrent replays, the
 * nonce table pruned, listing and management; refusals audited, the trail verifies. */
#include <pthread.h>

#include "test.h"

#include "eseal/accounts.h"
#include "eseal/audit.h"
#include "eseal/clients.h"
#include "eseal/pki.h"
#include "store_test.h"

#define SKEW    300
#define DAY     86400
#define THREADS 8

/* SM3("") and SM3("abc") (GB/T 32905 A.1). */
#define SM3_EMPTY "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
#define SM3_ABC   "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"

/* A self-signed P-256 certificate (openssl req -x509 -newkey ec:P-256): not an SM2 key. */
static const char p256_pem[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIBgzCCASmgAwIBAgIUCpHnisJVzCVYKndJoMGsjAi70DIwCgYIKoZIzj0EAwIw\n"
                               "FjEUMBIGA1UEAwwLcDI1NiBjbGllbnQwIBcNMjYxMTI2MTkxMDA4WhgPMjEyNjEx\n"
                               "MDIxOTEwMDhaMBYxFDASBgNVBAMMC3AyNTYgY2xpZW50MFkwEwYHKoZIzj0CAQYI\n"
                               "KoZIzj0DAQcDQgAE4lE673UPbs4AfdXJB2xmONTDUP/u2sWUM8PY5B5tMjrksTD7\n"
                               "xP7F+OPey6kZ79NeokFzWhqRHU/eDBkDGHQK56NTMFEwHQYDVR0OBBYEFCg3mTx5\n"
                               "4HmYHiKBt9TZ1o1xGO3wMB8GA1UdIwQYMBaAFCg3mTx54HmYHiKBt9TZ1o1xGO3w\n"
                               "MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgQ4fIZo1yV/Jm85+B\n"
                               "/7uHcYEQJAj30rzK3YmHh/n/n7QCIQDsj1s+1mkpPxqmTPuYgEJrXte6Opy/+n6L\n"
                               "Z5T+HRrW9w==\n"
                               "-----END CERTIFICATE-----\n";

static es_profiles g_profiles;

/* --- store helpers --- */

static int64_t count(es_store *s, const char *sql)
{
    int64_t n = -1;
    if (es_store_query_int(s, sql, NULL, 0, &n) != ES_OK) return -1;
    return n;
}

static int64_t head_seq(es_store *s)
{
    es_audit_head h;
    return es_audit_head_get(s, &h) == ES_OK ? h.tip_seq : -1;
}

typedef struct audit_rec {
    char actor[96], action[64], object[96], detail[512];
} audit_rec;

static es_err rec_row(void *ctx, const es_row *r)
{
    audit_rec *a = ctx;
    snprintf(a->actor, sizeof a->actor, "%s", es_row_text(r, 0, NULL));
    snprintf(a->action, sizeof a->action, "%s", es_row_text(r, 1, NULL));
    snprintf(a->object, sizeof a->object, "%s", es_row_text(r, 2, NULL));
    snprintf(a->detail, sizeof a->detail, "%s", es_row_text(r, 3, NULL));
    return ES_OK;
}

/* The newest audit record (empty fields when there is none). */
static audit_rec last_audit(es_store *s)
{
    audit_rec a;
    memset(&a, 0, sizeof a);
    if (es_store_query(s,
                       "SELECT actor, action, object, detail FROM audit ORDER BY seq DESC LIMIT 1",
                       NULL, 0, rec_row, &a) != ES_OK)
        strcpy(a.action, "?");
    return a;
}

/* --- certificates --- */

static es_name name_of(const char *text)
{
    es_name n;
    char why[200];
    if (es_pki_name_parse(text, &n, why, sizeof why) != ES_OK) st_die("name %s: %s", text, why);
    return n;
}

typedef struct t_ca {
    es_signer *key;
    es_buf name; /* subject DER */
    es_buf cert;
} t_ca;

static unsigned g_serial;

/* A certificate for pub under profile prof, signed by key in the name of issuer_name; the
 * serial's first octet is serial0 (0x80 and up: a sign octet in the DER). */
static es_buf make_cert(const es_profile *prof, const char *subject, const uint8_t pub[65],
                        es_slice issuer_name, es_signer *key, es_time nb, es_time na,
                        uint8_t serial0)
{
    es_pki_tbs t;
    es_name n = name_of(subject);
    es_buf out;
    memset(&t, 0, sizeof t);
    t.profile = prof;
    t.subject = &n;
    memcpy(t.pub, pub, 65);
    t.issuer = issuer_name;
    if (es_pki_key_id(key->pub, t.issuer_key_id) != ES_OK) st_die("key id");
    t.issuer_key_id_len = ES_PKI_KEY_ID_LEN;
    t.not_before = nb;
    t.not_after = na;
    t.serial_len = ES_PKI_SERIAL_LEN;
    t.serial[0] = serial0;
    g_serial++;
    for (size_t i = 1; i < t.serial_len; i++) t.serial[i] = (uint8_t)(g_serial * 31u + i);
    es_buf_init(&out, ES_MAX_CERT_DER);
    if (es_pki_cert_make(&t, key, &out) != ES_OK) st_die("cannot make a certificate");
    return out;
}

static const es_profile *profile(const char *name)
{
    const es_profile *p = es_pki_profile_find(&g_profiles, name);
    if (!p) st_die("no profile %s", name);
    return p;
}

/* A self-signed root named subject over key. */
static void ca_make(t_ca *ca, const char *subject, es_signer *key, es_time now)
{
    es_name n = name_of(subject);
    ca->key = key;
    es_buf_init(&ca->name, 4096);
    if (es_pki_name_to_der(&n, &ca->name) != ES_OK) st_die("name DER");
    ca->cert =
        make_cert(profile("root"), subject, key->pub, es_slice_make(ca->name.p, ca->name.len), key,
                  now - DAY, now + 20 * 365 * DAY, 0x11);
}

static void ca_cleanup(t_ca *ca)
{
    es_buf_cleanup(&ca->name);
    es_buf_cleanup(&ca->cert);
    es_signer_free(ca->key);
}

/* A client certificate from ca with the user profile, valid [nb, na]. */
static es_buf client_cert(const t_ca *ca, const char *cn, const uint8_t pub[65], es_time nb,
                          es_time na, uint8_t serial0)
{
    char subj[128];
    snprintf(subj, sizeof subj, "/C=CN/O=eseal test/CN=%s", cn);
    return make_cert(profile("user"), subj, pub, es_slice_make(ca->name.p, ca->name.len), ca->key,
                     nb, na, serial0);
}

static es_slice sl(const es_buf *b)
{
    return es_slice_make(b->p, b->len);
}

/* --- signed headers --- */

/* The header of a request signed by key as client, in hdr (NUL-terminated). */
static void sign_hdr(es_signer *key, const char *client, const char *method, const char *target,
                     const char *body, const char *ts, const char *nonce, char *hdr, size_t cap)
{
    es_buf b;
    es_buf_init(&b, ES_CLIENT_HEADER_MAX);
    if (es_client_sign_request(key, client, method, target, es_slice_make(body, strlen(body)), ts,
                               nonce, &b) != ES_OK ||
        b.len >= cap)
        st_die("cannot sign a request");
    memcpy(hdr, b.p, b.len);
    hdr[b.len] = 0;
    es_buf_cleanup(&b);
}

/* hdr with the first occurrence of from replaced by to, in out. */
static void replace(const char *hdr, const char *from, const char *to, char *out, size_t cap)
{
    const char *at = strstr(hdr, from);
    if (!at) st_die("%s not in %s", from, hdr);
    snprintf(out, cap, "%.*s%s%s", (int)(at - hdr), hdr, to, at + strlen(from));
}

static void iso(es_time t, char out[32])
{
    es_time_format_iso(t, out);
}

/* --- the parser and the string to sign (no store) --- */

static es_err parse(const char *h, es_client_auth *out, const char **why)
{
    return es_client_auth_parse(h, out, why);
}

static void test_roles(void)
{
    const char *why = "x";
    ok(es_client_roles_check(0, &why) == ES_ERR_ARG && why && strstr(why, "at least one"),
       "roles: the empty set refused: %s", why ? why : "");
    static const es_role allowed[] = {ES_ROLE_OPERATOR, ES_ROLE_APPROVER, ES_ROLE_REVIEWER,
                                      ES_ROLE_SEAL_ISSUER};
    static const es_role forbidden[] = {ES_ROLE_SYSTEM_ADMIN, ES_ROLE_AUDIT_ADMIN,
                                        ES_ROLE_BUSINESS_ADMIN, ES_ROLE_SEAL_KEEPER};
    es_roles all = 0;
    for (size_t i = 0; i < 4; i++) {
        why = "x";
        ok(es_client_roles_check(ES_ROLE_BIT(allowed[i]), &why) == ES_OK && why == NULL,
           "roles: %s allowed", es_role_name(allowed[i]));
        all |= ES_ROLE_BIT(allowed[i]);
    }
    ok(es_client_roles_check(all, &why) == ES_OK && all == ES_CLIENT_ROLES,
       "roles: all four together");
    ok(es_client_roles_check(ES_ROLE_BIT(ES_ROLE_OPERATOR), NULL) == ES_OK &&
           es_client_roles_check(0, NULL) == ES_ERR_ARG,
       "roles: why may be NULL");
    for (size_t i = 0; i < 4; i++) {
        why = NULL;
        ok(es_client_roles_check(ES_ROLE_BIT(forbidden[i]), &why) == ES_ERR_ARG && why &&
               strstr(why, "console"),
           "roles: %s refused", es_role_name(forbidden[i]));
        ok(es_client_roles_check(ES_ROLE_BIT(forbidden[i]) | ES_ROLE_BIT(ES_ROLE_OPERATOR), &why) ==
               ES_ERR_ARG,
           "roles: %s with operator refused", es_role_name(forbidden[i]));
    }
    ok(es_client_roles_check((es_roles)1 << 20, &why) == ES_ERR_ARG, "roles: an unknown bit");
}

static void test_parse(void)
{
    es_client_auth h;
    const char *why = NULL;
    uint8_t r[32], s[32], raw[65];
    es_buf der, b64, rawb64, b64_63, b64_65, big;
    for (int i = 0; i < 32; i++) {
        r[i] = (uint8_t)(i + 1);
        s[i] = (uint8_t)(0x80 + i);
    }
    es_buf_init(&der, 128);
    es_buf_init(&b64, 256);
    es_buf_init(&rawb64, 256);
    es_buf_init(&b64_63, 256);
    es_buf_init(&b64_65, 256);
    memcpy(raw, r, 32);
    memcpy(raw + 32, s, 32);
    raw[64] = 0;
    uint8_t zeros[65] = {0};
    if (es_sm2_sig_encode(r, s, &der) != ES_OK || es_base64_encode(der.p, der.len, &b64) != ES_OK ||
        es_buf_nul(&b64) != ES_OK || es_base64_encode(raw, 64, &rawb64) != ES_OK ||
        es_buf_nul(&rawb64) != ES_OK || es_base64_encode(zeros, 63, &b64_63) != ES_OK ||
        es_buf_nul(&b64_63) != ES_OK || es_base64_encode(zeros, 65, &b64_65) != ES_OK ||
        es_buf_nul(&b64_65) != ES_OK)
        st_die("signature fixtures");
    const char *sig = (const char *)b64.p;
    char hd[2048];

    snprintf(hd, sizeof hd,
             "ESEAL-SM2 client=\"app1\", timestamp=\"2026-11-26T19:00:00Z\", "
             "nonce=\"0123456789abcdef\", signature=\"%s\"",
             sig);
    ok(parse(hd, &h, &why) == ES_OK && why == NULL && strcmp(h.client, "app1") == 0 &&
           strcmp(h.timestamp, "2026-11-26T19:00:00Z") == 0 &&
           strcmp(h.nonce, "0123456789abcdef") == 0 && memcmp(h.r, r, 32) == 0 &&
           memcmp(h.s, s, 32) == 0,
       "parse: quoted values: %s", why ? why : "");
    ok(es_client_auth_is_signed(hd) == 1, "is_signed: a good header");

    snprintf(hd, sizeof hd,
             "ESEAL-SM2 \t  signature=%s ,nonce=0123456789abcdef_-XYZ ,  "
             "client=app-2.x,\ttimestamp=2026-11-26T19:00:00+08:00   ",
             sig);
    ok(parse(hd, &h, &why) == ES_OK && strcmp(h.client, "app-2.x") == 0 &&
           strcmp(h.timestamp, "2026-11-26T19:00:00+08:00") == 0 &&
           strcmp(h.nonce, "0123456789abcdef_-XYZ") == 0 && memcmp(h.r, r, 32) == 0 &&
           memcmp(h.s, s, 32) == 0,
       "parse: bare values, any order, extra spaces and tabs: %s", why ? why : "");

    snprintf(hd, sizeof hd,
             "ESEAL-SM2\tclient=\"app1\",timestamp=\"t\",nonce=\"0123456789abcdef\","
             "signature=\"%s\",",
             (const char *)rawb64.p);
    ok(parse(hd, &h, &why) == ES_OK && memcmp(h.r, r, 32) == 0 && memcmp(h.s, s, 32) == 0,
       "parse: raw r||s accepted (tab after the scheme, trailing comma): %s", why ? why : "");

    /* Each parameter missing. */
    static const char *const params[4] = {"client=\"app1\"", "timestamp=\"2026-11-26T19:00:00Z\"",
                                          "nonce=\"0123456789abcdef\"", "signature=\"SIG\""};
    for (int miss = 0; miss < 4; miss++) {
        char sigp[300];
        snprintf(sigp, sizeof sigp, "signature=\"%s\"", sig);
        int n = snprintf(hd, sizeof hd, "ESEAL-SM2 ");
        int first = 1;
        for (int i = 0; i < 4; i++) {
            if (i == miss) continue;
            n += snprintf(hd + n, sizeof hd - (size_t)n, "%s%s", first ? "" : ", ",
                          i == 3 ? sigp : params[i]);
            first = 0;
        }
        why = NULL;
        ok(parse(hd, &h, &why) == ES_ERR_FORMAT && why && strstr(why, "needs"),
           "parse: without %.*s refused: %s", (int)(strchr(params[miss], '=') - params[miss]),
           params[miss], why ? why : "");
    }

    struct {
        const char *fmt; /* %s: the base64 DER signature */
        const char *why; /* in *why */
        const char *what;
    } bad[] = {
        {"ESEAL-SM2 client=\"a\", client=\"b\", timestamp=\"t\", nonce=\"0123456789abcdef\", "
         "signature=\"%s\"",
         "repeats", "a repeated client"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", "
         "signature=\"%s\", nonce=\"0123456789abcdeg\"",
         "repeats", "a repeated nonce"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", realm=\"x\", nonce=\"0123456789abcdef\", "
         "signature=\"%s\"",
         "unknown parameter", "an unknown parameter"},
        {"ESEAL-SM2 client=\"a\", Timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s\"",
         "unknown parameter", "a parameter in another case"},
        {"ESEAL-SM2 client =\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s\"",
         "unknown parameter", "a space before ="},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcde\", signature=\"%s\"",
         "nonce", "a 15-character nonce"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcde!\", signature=\"%s\"",
         "nonce", "a nonce with !"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcde.\", signature=\"%s\"",
         "nonce", "a nonce with ."},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"01234567 89abcdef\", signature=\"%s\"",
         "nonce", "a nonce with a space"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\xc3\xa9\", "
         "signature=\"%s\"",
         "nonce", "a nonce with UTF-8"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s!\"",
         "signature", "bad base64"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"\"%s",
         "", "an empty signature then garbage"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s",
         "quoted", "an unterminated quote"},
        {"ESEAL-SM2 client=\"a\\\"b\", timestamp=\"t\", nonce=\"0123456789abcdef\", "
         "signature=\"%s\"",
         "quoted", "a backslash in a quoted value"},
        {"ESEAL-SM2 client=\"a\x01\", timestamp=\"t\", nonce=\"0123456789abcdef\", "
         "signature=\"%s\"",
         "quoted", "a control character"},
        {"ESEAL-SM2 client=\"a\" x, timestamp=\"t\", nonce=\"0123456789abcdef\", "
         "signature=\"%s\"",
         "", "garbage after a value"},
        {"ESEAL-SM2 client=\"a\", timestamp, nonce=\"0123456789abcdef\", signature=\"%s\"", "",
         "a parameter without ="},
        {"ESEAL-SM2 client=\"a\",, timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s\"",
         "", "two commas"},
        {"ESEAL-SM2 =\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s\"",
         "unknown parameter", "an empty key"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s\", "
         "client=\"b\"",
         "repeats", "a repeat after the signature"},
        {"ESEAL-SM2 client=\"abcdefghijabcdefghijabcdefghijabc\", timestamp=\"t\", "
         "nonce=\"0123456789abcdef\", signature=\"%s\"",
         "too long", "a 33-character client"},
        {"ESEAL-SM2 client=\"a\", timestamp=\"2026-11-26T19:00:00.12345678901234567890Z\", "
         "nonce=\"0123456789abcdef\", signature=\"%s\"",
         "too long", "a 40-character timestamp"},
        {"Bearer %s", "", "another scheme"},
        {"ESEAL-SM3 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s\"",
         "", "ESEAL-SM3"},
        {"ESEAL-SM2client=\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s\"", "",
         "no space after the scheme"},
        {" ESEAL-SM2 client=\"a\", timestamp=\"t\", nonce=\"0123456789abcdef\", signature=\"%s\"",
         "", "a space before the scheme"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(hd, sizeof hd, bad[i].fmt, sig);
        why = NULL;
        es_err rv = parse(hd, &h, &why);
        ok(rv == ES_ERR_FORMAT && why && strstr(why, bad[i].why), "parse: %s refused (%s): %s",
           bad[i].what, es_err_str(rv), why ? why : "(no why)");
    }

    /* Nonce lengths: 16 and 64 are in, 65 is out. */
    char n64[65], n65[66];
    memset(n64, 'a', 64);
    n64[64] = 0;
    memset(n65, 'Z', 65);
    n65[65] = 0;
    snprintf(hd, sizeof hd, "ESEAL-SM2 client=a1, timestamp=t, nonce=%s, signature=%s", n64, sig);
    ok(parse(hd, &h, &why) == ES_OK && strcmp(h.nonce, n64) == 0, "parse: a 64-character nonce");
    snprintf(hd, sizeof hd, "ESEAL-SM2 client=a1, timestamp=t, nonce=%s, signature=%s", n65, sig);
    ok(parse(hd, &h, &why) == ES_ERR_FORMAT, "parse: a 65-character nonce refused: %s",
       why ? why : "");

    /* Signatures that are neither DER nor 64 bytes. */
    snprintf(hd, sizeof hd,
             "ESEAL-SM2 client=a1, timestamp=t, nonce=0123456789abcdef, signature=%s",
             (const char *)b64_63.p);
    ok(parse(hd, &h, &why) == ES_ERR_FORMAT && strstr(why, "signature"),
       "parse: 63 bytes of signature refused");
    snprintf(hd, sizeof hd,
             "ESEAL-SM2 client=a1, timestamp=t, nonce=0123456789abcdef, signature=%s",
             (const char *)b64_65.p);
    ok(parse(hd, &h, &why) == ES_ERR_FORMAT && strstr(why, "signature"),
       "parse: 65 bytes of signature refused");
    /* DER with a trailing byte: not DER, not 64 bytes. */
    es_buf der1, b64d1;
    es_buf_init(&der1, 128);
    es_buf_init(&b64d1, 256);
    if (es_buf_append(&der1, der.p, der.len) != ES_OK || es_buf_append_byte(&der1, 0) != ES_OK ||
        es_base64_encode(der1.p, der1.len, &b64d1) != ES_OK || es_buf_nul(&b64d1) != ES_OK)
        st_die("der1");
    snprintf(hd, sizeof hd,
             "ESEAL-SM2 client=a1, timestamp=t, nonce=0123456789abcdef, signature=%s",
             (const char *)b64d1.p);
    ok(parse(hd, &h, &why) == ES_ERR_FORMAT && strstr(why, "signature"),
       "parse: DER with a trailing byte (%zu bytes) refused", der1.len);
    es_buf_cleanup(&der1);
    es_buf_cleanup(&b64d1);

    /* The length limit: ES_CLIENT_HEADER_MAX bytes pass, one more does not. */
    es_buf_init(&big, 4096);
    if (es_buf_printf(&big,
                      "ESEAL-SM2 client=a1, timestamp=t, nonce=0123456789abcdef, "
                      "signature=%s",
                      sig) != ES_OK)
        st_die("big");
    while (big.len < ES_CLIENT_HEADER_MAX)
        if (es_buf_append_byte(&big, ' ') != ES_OK) st_die("big");
    if (es_buf_nul(&big) != ES_OK) st_die("big");
    ok(strlen((char *)big.p) == ES_CLIENT_HEADER_MAX && parse((char *)big.p, &h, &why) == ES_OK,
       "parse: a header of exactly %d bytes", ES_CLIENT_HEADER_MAX);
    if (es_buf_append_byte(&big, ' ') != ES_OK || es_buf_nul(&big) != ES_OK) st_die("big");
    ok(parse((char *)big.p, &h, &why) == ES_ERR_FORMAT, "parse: one byte more refused");
    es_buf_cleanup(&big);

    ok(parse(NULL, &h, &why) == ES_ERR_FORMAT && parse("", &h, &why) == ES_ERR_FORMAT &&
           parse("ESEAL-SM2", &h, &why) == ES_ERR_FORMAT &&
           parse("ESEAL-SM2 ", &h, &why) == ES_ERR_FORMAT && strstr(why, "needs"),
       "parse: NULL, empty, the scheme alone");
    ok(!es_client_auth_is_signed(NULL) && !es_client_auth_is_signed("") &&
           !es_client_auth_is_signed("ESEAL-SM2") && es_client_auth_is_signed("ESEAL-SM2 ") &&
           es_client_auth_is_signed("ESEAL-SM2\tx") && !es_client_auth_is_signed("ESEAL-SM2x") &&
           !es_client_auth_is_signed("Bearer abc") && !es_client_auth_is_signed("ESEAL-SM"),
       "is_signed: the scheme and a space or tab");

    es_buf_cleanup(&der);
    es_buf_cleanup(&b64);
    es_buf_cleanup(&rawb64);
    es_buf_cleanup(&b64_63);
    es_buf_cleanup(&b64_65);
}

static void test_string_to_sign(void)
{
    es_buf b;
    static const char want[] = "ESEAL-SM2\n"
                               "erp\n"
                               "POST\n"
                               "/api/v1/seals?page=2&q=a%20b\n"
                               "2026-11-26T19:00:00Z\n"
                               "0123456789abcdef\n" SM3_EMPTY;
    es_buf_init(&b, 4096);
    ok(es_client_string_to_sign("erp", "POST", "/api/v1/seals?page=2&q=a%20b",
                                "2026-11-26T19:00:00Z", "0123456789abcdef", ES_SLICE_NULL,
                                &b) == ES_OK &&
           b.len == sizeof want - 1 && memcmp(b.p, want, b.len) == 0,
       "string to sign: exact bytes for an empty body (%.*s)", (int)b.len, (char *)b.p);
    ok(b.len > 0 && b.p[b.len - 1] != '\n', "string to sign: no trailing newline");
    int lines = 1;
    for (size_t i = 0; i < b.len; i++) lines += b.p[i] == '\n';
    ok(lines == 7, "string to sign: seven lines (%d)", lines);

    static const char want2[] = "X"
                                "ESEAL-SM2\n"
                                "hr.portal\n"
                                "get\n"
                                "/\n"
                                "2026-11-26T19:00:00+08:00\n"
                                "nonce_nonce-0000\n" SM3_ABC;
    b.len = 0;
    ok(es_buf_append(&b, "X", 1) == ES_OK &&
           es_client_string_to_sign("hr.portal", "get", "/", "2026-11-26T19:00:00+08:00",
                                    "nonce_nonce-0000", es_slice_make("abc", 3), &b) == ES_OK &&
           b.len == sizeof want2 - 1 && memcmp(b.p, want2, b.len) == 0,
       "string to sign: appends; method as sent; SM3 of the body \"abc\"");
    es_buf_cleanup(&b);

    es_buf small;
    es_buf_init(&small, 40);
    ok(es_client_string_to_sign("c1", "POST", "/", "t", "0123456789abcdef", ES_SLICE_NULL,
                                &small) == ES_ERR_LIMIT,
       "string to sign: the buffer's limit holds");
    es_buf_cleanup(&small);
}

/* --- signed requests against a store --- */

typedef struct env {
    const char *kind;
    const char *url;
    es_store *s;
    es_accounts a;
    es_time now;
    int nonce_n;
} env;

static void next_nonce(env *e, char out[40])
{
    snprintf(out, 40, "n-%s-%06d-abcdefgh", e->kind, ++e->nonce_n);
}

/* A refusal of a known client: ES_ERR_AUTH, one client.auth_failed record by that client
 * whose detail says reason, and no nonce used up. */
static void refused(env *e, const char *what, const char *hdr, const char *method,
                    const char *target, const char *body, es_time now, const char *client,
                    const char *reason)
{
    int64_t seq0 = head_seq(e->s), n0 = count(e->s, "SELECT COUNT(*) FROM nonces");
    const char *why = NULL;
    es_client c;
    char who[64];
    es_err rv = es_client_authenticate(
        &e->a, hdr, method, target, es_slice_make(body, strlen(body)), now, SKEW, NULL, &c, &why);
    audit_rec r = last_audit(e->s);
    snprintf(who, sizeof who, "client:%s", client);
    ok(rv == ES_ERR_AUTH && why && strstr(why, reason), "%s: %s refused (%s): %s", e->kind, what,
       es_err_str(rv), why ? why : "(no why)");
    ok(head_seq(e->s) == seq0 + 1 && strcmp(r.action, "client.auth_failed") == 0 &&
           strcmp(r.actor, who) == 0 && strcmp(r.object, who) == 0 && why &&
           strcmp(r.detail, why) == 0,
       "%s: %s: one client.auth_failed record (%lld new, %s by %s: %s)", e->kind, what,
       (long long)(head_seq(e->s) - seq0), r.action, r.actor, r.detail);
    ok(count(e->s, "SELECT COUNT(*) FROM nonces") == n0, "%s: %s: no nonce stored", e->kind, what);
}

/* A success: the client, exactly one nonce stored (this one, at now), nothing audited. */
static void accepted(env *e, const char *what, const char *hdr, const char *method,
                     const char *target, const char *body, es_time now, const char *client)
{
    int64_t seq0 = head_seq(e->s), n0 = count(e->s, "SELECT COUNT(*) FROM nonces");
    const char *why = "x";
    es_client c;
    es_client_auth h;
    const char *pw = NULL;
    memset(&c, 0, sizeof c);
    es_err rv = es_client_authenticate(
        &e->a, hdr, method, target, es_slice_make(body, strlen(body)), now, SKEW, NULL, &c, &why);
    ok(rv == ES_OK && why == NULL && strcmp(c.name, client) == 0, "%s: %s accepted (%s): %s",
       e->kind, what, es_err_str(rv), why ? why : "");
    int64_t n = -1;
    if (parse(hdr, &h, &pw) == ES_OK) {
        es_value p[3] = {es_v_text(h.nonce), es_v_int(c.id), es_v_int(now)};
        if (es_store_query_int(e->s,
                               "SELECT COUNT(*) FROM nonces WHERE nonce = ? AND client_id = ? AND "
                               "seen_at = ?",
                               p, 3, &n) != ES_OK)
            n = -1;
    }
    ok(count(e->s, "SELECT COUNT(*) FROM nonces") == n0 + 1 && n == 1,
       "%s: %s: exactly one nonce stored", e->kind, what);
    ok(head_seq(e->s) == seq0, "%s: %s: a success writes no audit record", e->kind, what);
}

static es_err auth(env *e, const char *hdr, const char *method, const char *target,
                   const char *body, es_time now, const char **why)
{
    es_client c;
    return es_client_authenticate(&e->a, hdr, method, target, es_slice_make(body, strlen(body)),
                                  now, SKEW, NULL, &c, why);
}

/* --- concurrency --- */

typedef struct race {
    const char *url;
    es_signer *audit;
    const char *hdr;
    pthread_barrier_t *go;
    es_err rv;
    const char *why;
} race;

static void *race_one(void *arg)
{
    race *r = arg;
    es_store *s = st_open(r->url);
    es_accounts a = {s, r->audit, 30, 3, 15};
    es_client c;
    pthread_barrier_wait(r->go);
    r->rv = es_client_authenticate(&a, r->hdr, "POST", "/api/v1/race", es_slice_make("{}", 2),
                                   es_time_now(), SKEW, NULL, &c, &r->why);
    es_store_close(s);
    return NULL;
}

/* --- listing --- */

typedef struct names {
    int n;
    char v[16][ES_CLIENT_NAME_MAX + 1];
} names;

static es_err collect(void *ctx, const es_client *c)
{
    names *l = ctx;
    if (l->n < 16) snprintf(l->v[l->n], sizeof l->v[0], "%s", c->name);
    l->n++;
    return ES_OK;
}

static int names_are(const names *l, const char *want)
{
    char got[600] = "";
    for (int i = 0; i < l->n && i < 16; i++) {
        if (i) strcat(got, ",");
        strcat(got, l->v[i]);
    }
    return strcmp(got, want) == 0;
}

static void suite(const char *kind, const char *url)
{
    es_store *s = st_open_migrated(url);
    es_signer *audit_key = st_signer();
    env e = {kind, url, s, {s, audit_key, 30, 3, 15}, es_time_now(), 0};
    es_accounts *a = &e.a;
    es_time T = e.now;
    es_actor biz = {"biz", ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN), 2, 0};
    es_actor op = {"op", ES_ROLE_BIT(ES_ROLE_OPERATOR), 3, 0};
    es_actor sysadm = {"root", ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN), 4, 0};
    const char *why = NULL;
    es_client c;
    t_ca ca, other_ca, other_name_ca;
    ca_make(&ca, "/C=CN/O=eseal test/CN=site CA", st_signer(), T);
    ca_make(&other_ca, "/C=CN/O=eseal test/CN=site CA", st_signer(), T); /* same name, other key */
    ca_make(&other_name_ca, "/C=CN/O=eseal test/CN=another CA", st_signer(), T);
    es_slice issuer = sl(&ca.cert);
    es_signer *k1 = st_signer(), *k2 = st_signer(), *k3 = st_signer(), *stranger = st_signer();

    /* --- registration --- */
    es_buf c1 = client_cert(&ca, "app one", k1->pub, T - 3600, T + 10 * 365 * DAY, 0x80);
    es_pki_cert pc1;
    if (es_pki_cert_parse(sl(&c1), &pc1) != ES_OK) st_die("c1");
    char want_serial[41];
    ok(pc1.serial.len == 17 && pc1.serial.p[0] == 0,
       "%s: the fixture's serial has a sign octet (%zu bytes)", kind, pc1.serial.len);
    es_hex_encode(pc1.serial.p + 1, pc1.serial.len - 1, want_serial);

    int64_t seq0 = head_seq(s);
    memset(&c, 0, sizeof c);
    es_time before = es_time_now();
    ok(es_client_register(a, &biz, "app1", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c1), issuer, &c,
                          &why) == ES_OK,
       "%s: a business administrator registers app1: %s", kind, why ? why : "");
    ok(c.id > 0 && strcmp(c.name, "app1") == 0 && c.roles == ES_ROLE_BIT(ES_ROLE_OPERATOR) &&
           strcmp(c.serial, want_serial) == 0 && strlen(c.serial) == 32 &&
           strcmp(c.subject, "/C=CN/O=eseal test/CN=app one") == 0 &&
           c.not_before == pc1.not_before && c.not_after == pc1.not_after &&
           c.not_before == T - 3600 && memcmp(c.pub, k1->pub, 65) == 0 && !c.disabled &&
           !c.revoked && c.created_at >= before && c.created_at <= es_time_now() &&
           strcmp(c.created_by, "biz") == 0,
       "%s: the record (serial %s without 00, subject %s, by %s)", kind, c.serial, c.subject,
       c.created_by);
    audit_rec r = last_audit(s);
    ok(head_seq(s) == seq0 + 1 && strcmp(r.action, "client.register") == 0 &&
           strcmp(r.actor, "biz") == 0 && strcmp(r.object, "client:app1") == 0 &&
           strstr(r.detail, want_serial) && strstr(r.detail, "roles=operator"),
       "%s: registration audited: %s %s %s", kind, r.action, r.object, r.detail);

    /* Refusals: nothing changes (the denied one leaves its record). */
    es_buf c2 = client_cert(&ca, "app two", k2->pub, T - 3600, T + 7200, 0x12);
    int64_t rows0 = count(s, "SELECT COUNT(*) FROM api_clients");
    seq0 = head_seq(s);
    int denied0 = st_audit_count(s, "access.denied");
    ok(es_client_register(a, &op, "app2", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), issuer, &c,
                          &why) == ES_ERR_DENIED,
       "%s: an operator cannot register a client", kind);
    r = last_audit(s);
    ok(head_seq(s) == seq0 + 1 && st_audit_count(s, "access.denied") == denied0 + 1 &&
           strcmp(r.action, "access.denied") == 0 && strcmp(r.actor, "op") == 0 &&
           strcmp(r.object, "client.register") == 0 &&
           count(s, "SELECT COUNT(*) FROM api_clients") == rows0,
       "%s: the refusal is audited (%s %s by %s) and nothing else changed", kind, r.action,
       r.object, r.actor);
    ok(es_client_register(a, &sysadm, "app2", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), issuer, &c,
                          &why) == ES_ERR_DENIED &&
           head_seq(s) == seq0 + 2,
       "%s: a system administrator cannot either (separation of duties)", kind);
    ok(es_client_register(a, NULL, "app2", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), issuer, &c,
                          &why) == ES_ERR_DENIED &&
           head_seq(s) == seq0 + 3 && strcmp(last_audit(s).actor, "anonymous") == 0,
       "%s: nor nobody", kind);

    /* Certificates that cannot identify a client, and other bad arguments. */
    es_buf expired = client_cert(&ca, "old", k3->pub, T - 30 * DAY, T - DAY, 0x21);
    es_buf future = client_cert(&ca, "young", k3->pub, T + DAY, T + 30 * DAY, 0x22);
    es_buf foreign = client_cert(&other_ca, "foreign", k3->pub, T - 3600, T + DAY, 0x23);
    es_buf foreign2 = client_cert(&other_name_ca, "foreign", k3->pub, T - 3600, T + DAY, 0x24);
    char subj[128];
    snprintf(subj, sizeof subj, "/C=CN/O=eseal test/CN=sub CA");
    es_buf cacert = make_cert(profile("intermediate"), subj, k3->pub, sl(&ca.name), ca.key,
                              T - 3600, T + DAY, 0x25);
    es_profile nods = *profile("user");
    nods.key_usage = ES_KU_NON_REPUDIATION;
    es_buf nodsc = make_cert(&nods, "/C=CN/O=eseal test/CN=no ds", k3->pub, sl(&ca.name), ca.key,
                             T - 3600, T + DAY, 0x26);
    es_profile dsonly = *profile("user");
    dsonly.key_usage = ES_KU_DIGITAL_SIGNATURE;
    es_buf dsc = make_cert(&dsonly, "/C=CN/O=eseal test/CN=ds only", k3->pub, sl(&ca.name), ca.key,
                           T - 3600, T + 30 * DAY, 0x27);
    /* Another certificate for app1's key: one key identifies one client. */
    es_buf samekey = client_cert(&ca, "app one again", k1->pub, T - 3600, T + DAY, 0x28);
    es_buf pem, p256, truncated, trailing;
    es_buf_init(&trailing, ES_MAX_CERT_DER);
    es_buf_init(&pem, ES_MAX_CERT_DER);
    es_buf_init(&p256, ES_MAX_CERT_DER);
    es_buf_init(&truncated, ES_MAX_CERT_DER);
    if (es_pki_pem_encode("CERTIFICATE", sl(&c2), &pem) != ES_OK ||
        es_cert_to_der((const uint8_t *)p256_pem, strlen(p256_pem), &p256) != ES_OK ||
        es_buf_append(&truncated, c2.p, c2.len - 1) != ES_OK ||
        es_buf_append(&trailing, c2.p, c2.len) != ES_OK ||
        es_buf_append_byte(&trailing, 0) != ES_OK)
        st_die("fixtures");
    static const char garbage[] = "this is not a certificate at all";
    struct {
        const char *name;
        es_roles roles;
        es_slice cert, issuer;
        es_err want;
        const char *why;
        const char *what;
    } bad[] = {
        {"App2", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), issuer, ES_ERR_ARG, "names",
         "an upper-case name"},
        {"a", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), issuer, ES_ERR_ARG, "names", "a short name"},
        {"2app", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), issuer, ES_ERR_ARG, "names",
         "a name starting with a digit"},
        {"app two", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), issuer, ES_ERR_ARG, "names",
         "a name with a space"},
        {"abcdefghijabcdefghijabcdefghijabc", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), issuer,
         ES_ERR_ARG, "names", "a 33-character name"},
        {"app2", 0, sl(&c2), issuer, ES_ERR_ARG, "at least one", "no roles"},
        {"app2", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), sl(&c2), issuer, ES_ERR_ARG, "console",
         "an audit administrator's role"},
        {"app1", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), issuer, ES_ERR_EXISTS, "registered",
         "a duplicate name"},
        {"app1-again", ES_ROLE_BIT(ES_ROLE_APPROVER), sl(&c1), issuer, ES_ERR_EXISTS, "registered",
         "the same certificate under another name"},
        {"app1-key", ES_ROLE_BIT(ES_ROLE_APPROVER), sl(&samekey), issuer, ES_ERR_EXISTS, "key",
         "another certificate for the same key"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&foreign), issuer, ES_ERR_ARG, "not issued",
         "a certificate of another CA of the same name"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&foreign2), issuer, ES_ERR_ARG, "not issued",
         "a certificate of another CA"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&c2), sl(&other_ca.cert), ES_ERR_ARG,
         "not issued", "a good certificate against another CA"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&ca.cert), issuer, ES_ERR_ARG, "CA certificate",
         "the CA's own certificate"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&cacert), issuer, ES_ERR_ARG, "CA certificate",
         "a sub-CA certificate"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&expired), issuer, ES_ERR_ARG, "not valid now",
         "an expired certificate"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&future), issuer, ES_ERR_ARG, "not valid now",
         "a certificate not yet valid"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&nodsc), issuer, ES_ERR_ARG, "digitalSignature",
         "a certificate without digitalSignature"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), es_slice_make(garbage, sizeof garbage - 1), issuer,
         ES_ERR_ARG, "not an X.509", "garbage bytes"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), ES_SLICE_NULL, issuer, ES_ERR_ARG, "not an X.509",
         "no bytes"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&truncated), issuer, ES_ERR_ARG, "not an X.509",
         "a truncated certificate"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&trailing), issuer, ES_ERR_ARG, "not an X.509",
         "a certificate with a trailing byte"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&pem), issuer, ES_ERR_ARG, "not an X.509",
         "a PEM certificate (the caller converts)"},
        {"app3", ES_ROLE_BIT(ES_ROLE_OPERATOR), sl(&p256), issuer, ES_ERR_ARG, "SM2",
         "a P-256 certificate"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rows0 = count(s, "SELECT COUNT(*) FROM api_clients");
        seq0 = head_seq(s);
        why = NULL;
        es_err rv = es_client_register(a, &biz, bad[i].name, bad[i].roles, bad[i].cert,
                                       bad[i].issuer, &c, &why);
        ok(rv == bad[i].want && why && strstr(why, bad[i].why), "%s: %s refused (%s): %s", kind,
           bad[i].what, es_err_str(rv), why ? why : "(no why)");
        ok(count(s, "SELECT COUNT(*) FROM api_clients") == rows0 && head_seq(s) == seq0,
           "%s: %s: nothing changed", kind, bad[i].what);
    }
    ok(es_client_register(a, &biz, "app2",
                          ES_ROLE_BIT(ES_ROLE_OPERATOR) | ES_ROLE_BIT(ES_ROLE_APPROVER), sl(&c2),
                          issuer, NULL, NULL) == ES_OK,
       "%s: app2 (out and why may be NULL)", kind);
    ok(es_client_register(a, &biz, "app3", ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER), sl(&dsc), issuer, &c,
                          &why) == ES_OK &&
           c.roles == ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER),
       "%s: a certificate with digitalSignature alone: %s", kind, why ? why : "");
    ok(count(s, "SELECT COUNT(*) FROM api_clients") == 3, "%s: three clients", kind);

    /* --- get and list --- */
    es_buf der;
    es_buf_init(&der, ES_MAX_CERT_DER);
    memset(&c, 0, sizeof c);
    ok(es_client_get(a, &biz, "app1", &c, &der) == ES_OK && der.len == c1.len &&
           memcmp(der.p, c1.p, c1.len) == 0 && strcmp(c.serial, want_serial) == 0 &&
           memcmp(c.pub, k1->pub, 65) == 0,
       "%s: get with the certificate", kind);
    memset(&c, 0, sizeof c);
    ok(es_client_get(a, &biz, "app2", &c, NULL) == ES_OK && strcmp(c.name, "app2") == 0 &&
           c.roles == (ES_ROLE_BIT(ES_ROLE_OPERATOR) | ES_ROLE_BIT(ES_ROLE_APPROVER)) &&
           memcmp(c.pub, k2->pub, 65) == 0 && c.not_after == T + 7200 &&
           strcmp(c.subject, "/C=CN/O=eseal test/CN=app two") == 0,
       "%s: get without (roles %s)", kind, "operator,approver");
    ok(es_client_get(a, &biz, "app2", &c, &der) == ES_OK && der.len == c2.len &&
           memcmp(der.p, c2.p, c2.len) == 0,
       "%s: get replaces the buffer's contents", kind);
    ok(es_client_get(a, &biz, "nobody", &c, NULL) == ES_ERR_NOT_FOUND, "%s: get an unknown name",
       kind);
    seq0 = head_seq(s);
    ok(es_client_get(a, &op, "app1", &c, NULL) == ES_ERR_DENIED && head_seq(s) == seq0 + 1 &&
           strcmp(last_audit(s).object, "client.get") == 0,
       "%s: an operator cannot get a client (audited)", kind);
    es_buf_cleanup(&der);

    es_signer *k4 = st_signer();
    es_buf c4 = client_cert(&ca, "batch", k4->pub, T - 3600, T + DAY, 0x31);
    es_signer_free(k4);
    ok(es_client_register(a, &biz, "batch", ES_ROLE_BIT(ES_ROLE_REVIEWER), sl(&c4), issuer, NULL,
                          &why) == ES_OK,
       "%s: batch", kind);
    es_buf_cleanup(&c4);
    names l;
    memset(&l, 0, sizeof l);
    ok(es_client_list(a, &biz, NULL, 0, collect, &l) == ES_OK &&
           names_are(&l, "app1,app2,app3,batch"),
       "%s: list all in name order (%d)", kind, l.n);
    memset(&l, 0, sizeof l);
    ok(es_client_list(a, &biz, NULL, 2, collect, &l) == ES_OK && names_are(&l, "app1,app2"),
       "%s: the first page", kind);
    memset(&l, 0, sizeof l);
    ok(es_client_list(a, &biz, "app2", 2, collect, &l) == ES_OK && names_are(&l, "app3,batch"),
       "%s: the next page after app2", kind);
    memset(&l, 0, sizeof l);
    ok(es_client_list(a, &biz, "batch", 2, collect, &l) == ES_OK && l.n == 0,
       "%s: nothing after the last", kind);
    memset(&l, 0, sizeof l);
    ok(es_client_list(a, &biz, "app", 0, collect, &l) == ES_OK && l.n == 4,
       "%s: after a prefix of every name", kind);
    memset(&l, 0, sizeof l);
    seq0 = head_seq(s);
    ok(es_client_list(a, &op, NULL, 0, collect, &l) == ES_ERR_DENIED && l.n == 0 &&
           head_seq(s) == seq0 + 1 && strcmp(last_audit(s).object, "client.list") == 0,
       "%s: an operator cannot list clients (audited)", kind);

    /* --- signed requests --- */
    char ts[32], nonce[40], hdr[ES_CLIENT_HEADER_MAX + 1], h2[ES_CLIENT_HEADER_MAX + 1];
    const char *body = "{\"document\":\"x\"}";
    const char *target = "/api/v1/sign?mode=pdf";
    iso(T, ts);
    next_nonce(&e, nonce);
    sign_hdr(k1, "app1", "POST", target, body, ts, nonce, hdr, sizeof hdr);

    /* Tampering first: none of it uses the nonce up. */
    refused(&e, "a tampered body", hdr, "POST", target, "{\"document\":\"y\"}", T, "app1",
            "does not verify");
    refused(&e, "an empty body", hdr, "POST", target, "", T, "app1", "does not verify");
    refused(&e, "another method", hdr, "PUT", target, body, T, "app1", "does not verify");
    refused(&e, "the method in lower case", hdr, "post", target, body, T, "app1",
            "does not verify");
    refused(&e, "another path", hdr, "POST", "/api/v1/seal?mode=pdf", body, T, "app1",
            "does not verify");
    refused(&e, "another query", hdr, "POST", "/api/v1/sign?mode=ofd", body, T, "app1",
            "does not verify");
    refused(&e, "no query", hdr, "POST", "/api/v1/sign", body, T, "app1", "does not verify");
    char ts1[32];
    iso(T + 1, ts1);
    replace(hdr, ts, ts1, h2, sizeof h2);
    refused(&e, "another timestamp", h2, "POST", target, body, T, "app1", "does not verify");
    char tsz[40];
    snprintf(tsz, sizeof tsz, "%.19s+00:00", ts);
    replace(hdr, ts, tsz, h2, sizeof h2);
    refused(&e, "the same instant written otherwise", h2, "POST", target, body, T, "app1",
            "does not verify");
    char nonce2[40];
    next_nonce(&e, nonce2);
    replace(hdr, nonce, nonce2, h2, sizeof h2);
    refused(&e, "another nonce", h2, "POST", target, body, T, "app1", "does not verify");
    replace(hdr, "client=\"app1\"", "client=\"app2\"", h2, sizeof h2);
    refused(&e, "the signature of app1 in the name of app2", h2, "POST", target, body, T, "app2",
            "does not verify");

    accepted(&e, "a signed request", hdr, "POST", target, body, T, "app1");
    refused(&e, "the same header again", hdr, "POST", target, body, T, "app1", "replayed");
    refused(&e, "the same header a minute later", hdr, "POST", target, body, T + 60, "app1",
            "replayed");
    {
        /* With an audit limit of 2: four refusals, two audited, two counted. */
        es_ratelimit *rl = NULL;
        es_client lc;
        const char *lwhy = NULL;
        int64_t lseq0 = head_seq(e.s);
        uint64_t un0 = es_client_unaudited_refusals();
        int refusals = 0;
        if (es_ratelimit_new(64, 2, 1, &rl) != ES_OK) st_die("ratelimit");
        for (int i = 0; i < 4; i++)
            refusals +=
                es_client_authenticate(&e.a, hdr, "POST", target, es_slice_make(body, strlen(body)),
                                       T, SKEW, rl, &lc, &lwhy) == ES_ERR_AUTH;
        ok(refusals == 4 && head_seq(e.s) == lseq0 + 2 && es_client_unaudited_refusals() == un0 + 2,
           "%s: an audit limit of 2: 4 refused, 2 audited, 2 counted (%lld, %llu)", e.kind,
           (long long)(head_seq(e.s) - lseq0),
           (unsigned long long)(es_client_unaudited_refusals() - un0));
        es_ratelimit_free(rl);
    }

    /* The header format: a signature made from the string to sign alone, bare values,
     * another order; and raw r||s. */
    {
        es_buf sts, sig, b64;
        uint8_t rr[32], ss[32], raw[64];
        es_buf_init(&sts, 4096);
        es_buf_init(&sig, 128);
        es_buf_init(&b64, 256);
        next_nonce(&e, nonce);
        if (es_client_string_to_sign("app1", "GET", "/api/v1/seals?state=valid&page=1", ts, nonce,
                                     ES_SLICE_NULL, &sts) != ES_OK ||
            es_signer_sign_message(k1, ES_SM2_DEFAULT_ID, sts.p, sts.len, &sig) != ES_OK ||
            es_base64_encode(sig.p, sig.len, &b64) != ES_OK)
            st_die("independent signature");
        snprintf(hdr, sizeof hdr, "ESEAL-SM2   nonce=%s ,signature=%.*s,client=app1,\ttimestamp=%s",
                 nonce, (int)b64.len, (char *)b64.p, ts);
        accepted(&e, "an independently made signature", hdr, "GET",
                 "/api/v1/seals?state=valid&page=1", "", T, "app1");

        next_nonce(&e, nonce);
        sts.len = sig.len = b64.len = 0;
        if (es_client_string_to_sign("app1", "DELETE", "/api/v1/x/1", ts, nonce,
                                     es_slice_make("abc", 3), &sts) != ES_OK ||
            es_signer_sign_message(k1, ES_SM2_DEFAULT_ID, sts.p, sts.len, &sig) != ES_OK ||
            es_sm2_sig_decode(sl(&sig), rr, ss, NULL) != ES_OK)
            st_die("raw signature");
        memcpy(raw, rr, 32);
        memcpy(raw + 32, ss, 32);
        if (es_base64_encode(raw, 64, &b64) != ES_OK) st_die("base64");
        snprintf(hdr, sizeof hdr,
                 "ESEAL-SM2 client=\"app1\", timestamp=\"%s\", nonce=\"%s\", signature=\"%.*s\"",
                 ts, nonce, (int)b64.len, (char *)b64.p);
        accepted(&e, "a raw r||s signature", hdr, "DELETE", "/api/v1/x/1", "abc", T, "app1");
        es_buf_cleanup(&sts);
        es_buf_cleanup(&sig);
        es_buf_cleanup(&b64);
    }

    /* Skew: the edges, both ways. */
    struct {
        es_time d;
        int good;
    } edge[] = {{-SKEW, 1}, {SKEW, 1}, {-SKEW - 1, 0}, {SKEW + 1, 0}, {-DAY, 0}, {DAY, 0}};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        char t2[32], what[80];
        iso(T + edge[i].d, t2);
        next_nonce(&e, nonce);
        sign_hdr(k1, "app1", "GET", "/api/v1/ping", "", t2, nonce, hdr, sizeof hdr);
        snprintf(what, sizeof what, "a timestamp %+lld s from now", (long long)edge[i].d);
        if (edge[i].good)
            accepted(&e, what, hdr, "GET", "/api/v1/ping", "", T, "app1");
        else
            refused(&e, what, hdr, "GET", "/api/v1/ping", "", T, "app1", "stale");
    }
    next_nonce(&e, nonce);
    sign_hdr(k1, "app1", "GET", "/api/v1/ping", "", "yesterday", nonce, hdr, sizeof hdr);
    refused(&e, "a timestamp that is no time", hdr, "GET", "/api/v1/ping", "", T, "app1",
            "ISO 8601");
    {
        char t2[40];
        es_time_format_iso(T + 8 * 3600, t2);
        snprintf(t2 + 19, sizeof t2 - 19, "+08:00");
        next_nonce(&e, nonce);
        sign_hdr(k1, "app1", "GET", "/api/v1/ping", "", t2, nonce, hdr, sizeof hdr);
        accepted(&e, "a timestamp with an offset", hdr, "GET", "/api/v1/ping", "", T, "app1");
    }

    /* Unknown client: refused, not audited. */
    next_nonce(&e, nonce);
    sign_hdr(k1, "nobody", "GET", "/api/v1/ping", "", ts, nonce, hdr, sizeof hdr);
    seq0 = head_seq(s);
    int64_t n0 = count(s, "SELECT COUNT(*) FROM nonces");
    why = NULL;
    ok(auth(&e, hdr, "GET", "/api/v1/ping", "", T, &why) == ES_ERR_AUTH && why &&
           strstr(why, "unknown client") && head_seq(s) == seq0 &&
           count(s, "SELECT COUNT(*) FROM nonces") == n0,
       "%s: an unknown client refused, not audited: %s", kind, why ? why : "");
    why = NULL;
    ok(auth(&e, "ESEAL-SM2 client=app1", "GET", "/", "", T, &why) == ES_ERR_AUTH && why &&
           strstr(why, "needs") && head_seq(s) == seq0,
       "%s: a malformed header refused, not audited: %s", kind, why ? why : "");
    why = NULL;
    ok(auth(&e, "Bearer abc", "GET", "/", "", T, &why) == ES_ERR_AUTH && why && head_seq(s) == seq0,
       "%s: another scheme refused", kind);

    /* Signature by another key. */
    next_nonce(&e, nonce);
    sign_hdr(stranger, "app1", "GET", "/api/v1/ping", "", ts, nonce, hdr, sizeof hdr);
    refused(&e, "a signature by another key", hdr, "GET", "/api/v1/ping", "", T, "app1",
            "does not verify");
    next_nonce(&e, nonce);
    sign_hdr(k2, "app1", "GET", "/api/v1/ping", "", ts, nonce, hdr, sizeof hdr);
    refused(&e, "a signature by another client's key", hdr, "GET", "/api/v1/ping", "", T, "app1",
            "does not verify");

    /* The certificate's validity at now (app2's ends at T + 7200). */
    {
        char t2[32];
        iso(T + 7201, t2);
        next_nonce(&e, nonce);
        sign_hdr(k2, "app2", "GET", "/api/v1/ping", "", t2, nonce, hdr, sizeof hdr);
        refused(&e, "a request after the certificate's notAfter", hdr, "GET", "/api/v1/ping", "",
                T + 7201, "app2", "outside its validity");
        /* (Not through accepted(): a nonce seen at this later time may prune the others.) */
        why = NULL;
        ok(auth(&e, hdr, "GET", "/api/v1/ping", "", T + 7200, &why) == ES_OK,
           "%s: the same header at notAfter accepted: %s", kind, why ? why : "");
        iso(T - 3601, t2);
        next_nonce(&e, nonce);
        sign_hdr(k2, "app2", "GET", "/api/v1/ping", "", t2, nonce, hdr, sizeof hdr);
        refused(&e, "a request before the certificate's notBefore", hdr, "GET", "/api/v1/ping", "",
                T - 3601, "app2", "outside its validity");
    }

    /* Disabled, enabled, revoked. */
    next_nonce(&e, nonce);
    sign_hdr(k1, "app1", "GET", "/api/v1/ping", "", ts, nonce, hdr, sizeof hdr);
    seq0 = head_seq(s);
    ok(es_client_set_disabled(a, &biz, "app1", 1) == ES_OK && head_seq(s) == seq0 + 1,
       "%s: app1 disabled", kind);
    r = last_audit(s);
    ok(strcmp(r.action, "client.disable") == 0 && strcmp(r.actor, "biz") == 0 &&
           strcmp(r.object, "client:app1") == 0,
       "%s: disabling audited (%s %s by %s)", kind, r.action, r.object, r.actor);
    ok(es_client_get(a, &biz, "app1", &c, NULL) == ES_OK && c.disabled && !c.revoked,
       "%s: app1 reads as disabled", kind);
    refused(&e, "a disabled client", hdr, "GET", "/api/v1/ping", "", T, "app1", "disabled");
    seq0 = head_seq(s);
    ok(es_client_set_disabled(a, &op, "app1", 0) == ES_ERR_DENIED && head_seq(s) == seq0 + 1 &&
           strcmp(last_audit(s).object, "client.enable") == 0,
       "%s: an operator cannot enable it (audited)", kind);
    ok(es_client_set_disabled(a, &biz, "nobody", 1) == ES_ERR_NOT_FOUND && head_seq(s) == seq0 + 1,
       "%s: disable an unknown client", kind);
    ok(es_client_set_disabled(a, &biz, "app1", 0) == ES_OK && head_seq(s) == seq0 + 2 &&
           strcmp(last_audit(s).action, "client.enable") == 0,
       "%s: app1 enabled (audited)", kind);
    accepted(&e, "the header refused while disabled, once enabled", hdr, "GET", "/api/v1/ping", "",
             T, "app1");

    next_nonce(&e, nonce);
    sign_hdr(k2, "app2", "GET", "/api/v1/ping", "", ts, nonce, hdr, sizeof hdr);
    seq0 = head_seq(s);
    ok(es_client_revoke(a, &op, "app2", "keyCompromise") == ES_ERR_DENIED &&
           head_seq(s) == seq0 + 1,
       "%s: an operator cannot revoke (audited)", kind);
    ok(es_client_revoke(a, &biz, "app2", "keyCompromise") == ES_OK && head_seq(s) == seq0 + 2,
       "%s: app2 revoked", kind);
    r = last_audit(s);
    ok(strcmp(r.action, "client.revoke") == 0 && strcmp(r.object, "client:app2") == 0 &&
           strstr(r.detail, "reason=keyCompromise") && strstr(r.detail, "serial="),
       "%s: revocation audited: %s", kind, r.detail);
    ok(es_client_get(a, &biz, "app2", &c, NULL) == ES_OK && c.revoked && c.disabled,
       "%s: app2 reads as revoked and disabled", kind);
    refused(&e, "a revoked client", hdr, "GET", "/api/v1/ping", "", T, "app2", "revoked");
    seq0 = head_seq(s);
    ok(es_client_set_disabled(a, &biz, "app2", 0) == ES_ERR_ARG && head_seq(s) == seq0 &&
           es_client_get(a, &biz, "app2", &c, NULL) == ES_OK && c.disabled && c.revoked,
       "%s: a revoked client cannot be enabled again", kind);
    ok(es_client_revoke(a, &biz, "app2", NULL) == ES_ERR_REVOKED && head_seq(s) == seq0,
       "%s: nor revoked twice", kind);
    ok(es_client_revoke(a, &biz, "nobody", NULL) == ES_ERR_NOT_FOUND && head_seq(s) == seq0,
       "%s: revoke an unknown client", kind);
    refused(&e, "a revoked client after the attempt to enable it", hdr, "GET", "/api/v1/ping", "",
            T, "app2", "revoked");

    /* Concurrency: the same header from THREADS connections at once, exactly one passes. */
    {
        pthread_t th[THREADS];
        race rc[THREADS];
        pthread_barrier_t go;
        char rts[32];
        iso(es_time_now(), rts);
        next_nonce(&e, nonce);
        sign_hdr(k1, "app1", "POST", "/api/v1/race", "{}", rts, nonce, hdr, sizeof hdr);
        n0 = count(s, "SELECT COUNT(*) FROM nonces");
        int failed0 = st_audit_count(s, "client.auth_failed");
        pthread_barrier_init(&go, NULL, THREADS);
        for (int i = 0; i < THREADS; i++) {
            rc[i] = (race){url, audit_key, hdr, &go, ES_ERR_ARG, NULL};
            if (pthread_create(&th[i], NULL, race_one, &rc[i]) != 0) st_die("pthread_create");
        }
        int good = 0, replays = 0, other = 0;
        for (int i = 0; i < THREADS; i++) {
            pthread_join(th[i], NULL);
            if (rc[i].rv == ES_OK)
                good++;
            else if (rc[i].rv == ES_ERR_AUTH && rc[i].why && strstr(rc[i].why, "replayed"))
                replays++;
            else {
                other++;
                fprintf(stderr, "%s: race %d: %s %s\n", kind, i, es_err_str(rc[i].rv),
                        rc[i].why ? rc[i].why : "");
            }
        }
        pthread_barrier_destroy(&go);
        ok(good == 1 && replays == THREADS - 1 && other == 0,
           "%s: %d connections at once: %d accepted, %d replays, %d other", kind, THREADS, good,
           replays, other);
        ok(count(s, "SELECT COUNT(*) FROM nonces") == n0 + 1 &&
               st_audit_count(s, "client.auth_failed") == failed0 + THREADS - 1,
           "%s: one nonce stored, %d replays audited", kind, THREADS - 1);
    }

    /* Pruning: after more than NONCE_PRUNE_EVERY (64) requests a day later, the nonces of
     * today are gone (older than twice the skew), today's later ones stay. */
    {
        es_time later = T + DAY;
        char lts[32];
        iso(later, lts);
        es_value p[1] = {es_v_int(later - 2 * SKEW)};
        int64_t old0 = -1, old1 = -1, new1 = -1;
        if (es_store_query_int(s, "SELECT COUNT(*) FROM nonces WHERE seen_at < ?", p, 1, &old0) !=
            ES_OK)
            old0 = -1;
        int good = 0;
        for (int i = 0; i < 65; i++) {
            next_nonce(&e, nonce);
            sign_hdr(k1, "app1", "GET", "/api/v1/ping", "", lts, nonce, hdr, sizeof hdr);
            good += auth(&e, hdr, "GET", "/api/v1/ping", "", later, &why) == ES_OK;
        }
        if (es_store_query_int(s, "SELECT COUNT(*) FROM nonces WHERE seen_at < ?", p, 1, &old1) !=
            ES_OK)
            old1 = -1;
        p[0] = es_v_int(later);
        if (es_store_query_int(s, "SELECT COUNT(*) FROM nonces WHERE seen_at = ?", p, 1, &new1) !=
            ES_OK)
            new1 = -1;
        ok(good == 65 && old0 >= 8 && old1 == 0 && new1 == 65,
           "%s: old nonces pruned (%d accepted; %lld old before, %lld after; %lld new)", kind, good,
           (long long)old0, (long long)old1, (long long)new1);
    }

    /* Everything above is in the audit trail, and it verifies. */
    es_audit_report rep;
    memset(&rep, 0, sizeof rep);
    ok(es_audit_verify_store(s, audit_key->pub, &rep) == ES_OK && rep.n_findings == 0 &&
           rep.records > 30,
       "%s: the audit chain verifies (%lld records)", kind, (long long)rep.records);
    es_audit_report_cleanup(&rep);

    es_buf *bufs[] = {&c1,    &c2,  &expired, &future, &foreign,   &foreign2, &cacert,
                      &nodsc, &dsc, &pem,     &p256,   &truncated, &trailing, &samekey};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) es_buf_cleanup(bufs[i]);
    ca_cleanup(&ca);
    ca_cleanup(&other_ca);
    ca_cleanup(&other_name_ca);
    es_signer_free(k1);
    es_signer_free(k2);
    es_signer_free(k3);
    es_signer_free(stranger);
    es_signer_free(audit_key);
    es_store_close(s);
}

int main(void)
{
    char why[256];
    if (es_pki_profiles_parse(es_pki_profiles_builtin(), &g_profiles, why, sizeof why) != ES_OK)
        st_die("profiles: %s", why);
    test_roles();
    test_parse();
    test_string_to_sign();
    suite("sqlite", st_sqlite_db("clients"));
    if (st_pg_ready()) suite("postgresql", st_pg_db("clients"));
    return t_done();
}
