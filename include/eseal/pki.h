/* eseal pki: the certification authority of the seal system (LD/T 01.1-2022 §6, §7.2 d and g,
 * §7.3.2-7.3.3): X.509 v3 certificates and v2 CRLs in canonical DER, signed through an
 * es_signer (SM2 with SM3, 1.2.156.10197.1.501, e = SM3(Z || TBS) with the GB/T 35276 default
 * ID, the GM/T 0015 convention), certificate profiles read from a file, PKCS#10 requests,
 * lint before signing, and a CA whose state is kept behind an interface (docs/ca.md).
 *
 * Layers: pki sits on der, crypto and keydev; it calls no OpenSSL function itself.
 *
 * Ownership: parsed structures (es_pki_cert, es_pki_csr) hold borrowed slices into the DER
 * they were parsed from; es_pki_crl owns its entry array (es_pki_crl_cleanup). Output goes to
 * caller-provided es_buf (appended).
 *
 * Thread safety: the builders and parsers keep no global state. es_ca: see below.
 */
#ifndef ESEAL_PKI_H
#define ESEAL_PKI_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/crypto.h"
#include "eseal/err.h"
#include "eseal/keydev.h"
#include "eseal/signer.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* Limits. */
#define ES_PKI_SERIAL_MAX        20  /* RFC 5280 4.1.2.2: at most 20 octets */
#define ES_PKI_SERIAL_LEN        16  /* what this CA issues: 16 octets, 126 random bits */
#define ES_PKI_KEY_ID_LEN        20  /* SM3 of the public key, leftmost 160 bits (RFC 7093) */
#define ES_PKI_NAME_MAX          16  /* attributes in a distinguished name */
#define ES_PKI_VALUE_MAX         256 /* bytes of one attribute value or SAN entry */
#define ES_PKI_SAN_MAX           16
#define ES_PKI_PROFILES_MAX      32
#define ES_PKI_LINT_MAX          32
#define ES_PKI_MAX_PROFILES_FILE (256u * 1024)
#define ES_PKI_MAX_CRL           (64u * 1024 * 1024)
#define ES_PKI_MAX_CRL_ENTRIES   1000000u

/* OIDs (ES_OID_*): the one table is in der.h. */

/* Key usage bits not in crypto.h (named bits of RFC 5280 4.2.1.3, first octet). */
#define ES_KU_KEY_ENCIPHERMENT  0x20
#define ES_KU_DATA_ENCIPHERMENT 0x10
#define ES_KU_KEY_AGREEMENT     0x08

/* Extended key usages (bits of our own; RFC 5280 4.2.1.12 OIDs). */
#define ES_EKU_SERVER_AUTH  0x01 /* 1.3.6.1.5.5.7.3.1 */
#define ES_EKU_CLIENT_AUTH  0x02 /* 1.3.6.1.5.5.7.3.2 */
#define ES_EKU_CODE_SIGNING 0x04 /* 1.3.6.1.5.5.7.3.3 */
#define ES_EKU_EMAIL        0x08 /* 1.3.6.1.5.5.7.3.4 */
#define ES_EKU_TIME_STAMP   0x10 /* 1.3.6.1.5.5.7.3.8 */
#define ES_EKU_OCSP_SIGNING 0x20 /* 1.3.6.1.5.5.7.3.9 */

/* 印章来源 (LD/T 01.1 §7.2 g): the seal's certificate names where the seal comes from. */
typedef enum es_seal_source {
    ES_SEAL_SOURCE_NONE = 0,
    ES_SEAL_SOURCE_GOVERNMENT = 1, /* 政府: a government seal (national platform code) */
    ES_SEAL_SOURCE_HRSS = 2,       /* 人社行业: issued inside the HR & social security sector */
} es_seal_source;

/* "government", "hrss" (or NULL); and back (ES_SEAL_SOURCE_NONE when unknown). */
const char *es_pki_seal_source_name(int source);
int es_pki_seal_source_from_name(const char *name);

/* RFC 5280 5.3.1 CRLReason. */
typedef enum es_crl_reason {
    ES_REASON_UNSPECIFIED = 0,
    ES_REASON_KEY_COMPROMISE = 1,
    ES_REASON_CA_COMPROMISE = 2,
    ES_REASON_AFFILIATION_CHANGED = 3,
    ES_REASON_SUPERSEDED = 4,
    ES_REASON_CESSATION = 5,
    ES_REASON_CERTIFICATE_HOLD = 6,
    ES_REASON_REMOVE_FROM_CRL = 8,
    ES_REASON_PRIVILEGE_WITHDRAWN = 9,
    ES_REASON_AA_COMPROMISE = 10,
} es_crl_reason;

/* "keyCompromise" etc. (RFC 5280 spelling), NULL for an unknown value. */
const char *es_pki_reason_name(int reason);
/* The value of an RFC 5280 name (case-insensitive) or -1. */
int es_pki_reason_from_name(const char *name);

/* --- distinguished names --- */

typedef enum es_name_type {
    ES_NAME_C = 0,  /* countryName 2.5.4.6, PrintableString */
    ES_NAME_ST,     /* stateOrProvinceName 2.5.4.8 */
    ES_NAME_L,      /* localityName 2.5.4.7 */
    ES_NAME_O,      /* organizationName 2.5.4.10 */
    ES_NAME_OU,     /* organizationalUnitName 2.5.4.11 */
    ES_NAME_CN,     /* commonName 2.5.4.3 */
    ES_NAME_SERIAL, /* serialNumber 2.5.4.5, PrintableString */
    ES_NAME_EMAIL,  /* emailAddress 1.2.840.113549.1.9.1, IA5String */
    ES_NAME_TYPES,
    ES_NAME_OTHER = ES_NAME_TYPES, /* read from DER; oid says which */
} es_name_type;

#define ES_NAME_BIT(t) (1u << (t))

typedef struct es_name_attr {
    int type;                         /* es_name_type */
    char value[ES_PKI_VALUE_MAX + 1]; /* UTF-8, NUL-terminated */
    char oid[64];                     /* dotted, for ES_NAME_OTHER */
} es_name_attr;

/* A Name as a sequence of single-attribute RDNs, in encoding order (C first, CN last, as
 * `openssl req -subj` writes them). */
typedef struct es_name {
    size_t n;
    es_name_attr a[ES_PKI_NAME_MAX];
} es_name;

/* Short name ("C", "CN", "serialNumber", ...) of a type; NULL for ES_NAME_OTHER. */
const char *es_pki_name_type_str(int type);
/* Parses "/C=CN/O=.../CN=..." (the `openssl req -subj` form; '\' escapes '/', '=' and '\').
 * Types are the short or long names, case-insensitive. ES_ERR_FORMAT with the reason in why
 * (may be NULL) when the text cannot be read. */
es_err es_pki_name_parse(const char *text, es_name *out, char *why, size_t whylen) ES_MUST_CHECK;
/* Reads a DER Name (the whole SEQUENCE). Unknown attribute types are kept as ES_NAME_OTHER;
 * multi-valued RDNs are read attribute by attribute. */
es_err es_pki_name_from_der(es_slice der, es_name *out) ES_MUST_CHECK;
/* Appends the DER Name: one RDN per attribute, C, serialNumber as PrintableString,
 * emailAddress as IA5String, everything else UTF8String. */
es_err es_pki_name_to_der(const es_name *n, es_buf *out) ES_MUST_CHECK;
/* Appends the "/C=CN/O=..." form (escaping '/' and '\'). */
es_err es_pki_name_print(const es_name *n, es_buf *out) ES_MUST_CHECK;
/* The first value of a type, or NULL. Borrowed from n. */
const char *es_pki_name_get(const es_name *n, int type);
/* Appends an attribute; ES_ERR_LIMIT when the name is full, ES_ERR_ARG when too long. */
es_err es_pki_name_add(es_name *n, int type, const char *value) ES_MUST_CHECK;

/* --- unified social credit codes and seal codes --- */

/* GB 32100-2015 统一社会信用代码: 18 characters of "0123456789ABCDEFGHJKLMNPQRTUWXY", positions
 * 3-8 a GB/T 2260 division code (digits), 9-17 the GB 11714 organisation code with its own
 * check character, 18 the check character (weights 3^(i-1) mod 31). code is the first 18
 * bytes of s. ES_OK when valid; ES_ERR_FORMAT with *why (static text) otherwise. */
es_err es_pki_uscc_check(const char *code, size_t len, const char **why) ES_MUST_CHECK;
/* The GB 32100 check character of the first 17 characters, or 0 when one is not allowed. */
char es_pki_uscc_check_char(const char first17[17]);
/* 1 when s is a national seal code: 14 digits (6-digit division code + 8-digit serial,
 * spec/national.md). */
int es_pki_seal_code_is_national(const char *s);

/* --- profiles (etc/profiles.conf, docs/ca.md) --- */

typedef enum es_presence {
    ES_PRESENCE_NONE = 0, /* must not be present */
    ES_PRESENCE_OPTIONAL = 1,
    ES_PRESENCE_REQUIRED = 2,
} es_presence;

typedef enum es_subject_rule {
    ES_SUBJECT_ANY = 0,
    ES_SUBJECT_SEAL = 1, /* CN = the seal code, O = USCC + unit name */
} es_subject_rule;

#define ES_SAN_EMAIL  1 /* rfc822Name [1] */
#define ES_SAN_DNS    2 /* dNSName [2] */
#define ES_SAN_URI    6 /* uniformResourceIdentifier [6] */
#define ES_SAN_IP     7 /* iPAddress [7] */
#define ES_SAN_BIT(t) (1u << (t))

typedef struct es_profile {
    char name[32];
    char description[256];
    int is_ca;
    int pathlen;               /* CA: -1 for no limit */
    unsigned key_usage;        /* ES_KU_* */
    int key_usage_critical;    /* default yes */
    unsigned ext_key_usage;    /* ES_EKU_* */
    long days;                 /* default validity */
    long max_days;             /* lint: upper bound (0: none) */
    int subject_rule;          /* es_subject_rule */
    unsigned subject_required; /* ES_NAME_BIT() mask */
    unsigned subject_allowed;
    int san;                   /* es_presence */
    unsigned san_types;        /* ES_SAN_BIT() mask */
    int san_port;              /* 1: a URI with an explicit port is required (system address) */
    int seal_source;           /* es_presence */
    int seal_source_default;   /* es_seal_source */
    char seal_source_oid[128]; /* empty: ES_OID_SEAL_SOURCE */
    char code_pattern[256];    /* POSIX ERE for industry seal codes; empty: national codes only */
    int crl_dp;                /* include cRLDistributionPoints when the CA has a CRL URL */
} es_profile;

typedef struct es_profiles {
    size_t n;
    es_profile p[ES_PKI_PROFILES_MAX];
} es_profiles;

/* Parses a profiles file (INI-like, docs/ca.md). Unknown keys, bad values and inconsistent
 * profiles are ES_ERR_CONFIG with "line N: ..." in why. */
es_err es_pki_profiles_parse(es_slice text, es_profiles *out, char *why,
                             size_t whylen) ES_MUST_CHECK;
/* The profiles shipped in etc/profiles.conf, embedded at build time. Static storage. */
es_slice es_pki_profiles_builtin(void);
/* The profile of that name, or NULL. Borrowed. */
const es_profile *es_pki_profile_find(const es_profiles *ps, const char *name);

/* --- lint results --- */

typedef struct es_pki_lint {
    size_t n;
    char msg[ES_PKI_LINT_MAX][256];
} es_pki_lint;

/* --- subject alternative names --- */

typedef struct es_pki_san {
    int type;                         /* ES_SAN_* */
    char value[ES_PKI_VALUE_MAX + 1]; /* text: "10.0.0.1", "https://h:8443/", "a.example" */
} es_pki_san;

/* Parses "IP:10.0.0.1", "DNS:host", "URI:https://host:8443/", "email:a@b". */
es_err es_pki_san_parse(const char *text, es_pki_san *out) ES_MUST_CHECK;
/* Reads a GeneralNames SEQUENCE (whole TLV). Types other than the four above are
 * ES_ERR_UNSUPPORTED. */
es_err es_pki_san_from_der(es_slice der, es_pki_san *out, size_t max, size_t *n) ES_MUST_CHECK;

/* --- certificates --- */

/* Everything a certificate says; the builder takes it all explicitly. */
typedef struct es_pki_tbs {
    const es_profile *profile; /* basicConstraints, keyUsage, extKeyUsage */
    uint8_t serial[ES_PKI_SERIAL_MAX];
    size_t serial_len;
    es_slice issuer; /* the issuer's Name, DER, copied byte for byte */
    const es_name *subject;
    es_time not_before, not_after;
    uint8_t pub[ES_SM2_PUB_LEN];
    uint8_t issuer_key_id[ES_PKI_KEY_ID_LEN]; /* authorityKeyIdentifier */
    size_t issuer_key_id_len;                 /* 0: omitted */
    const es_pki_san *san;
    size_t n_san;
    int seal_source;     /* es_seal_source; NONE: omitted */
    const char *crl_url; /* NULL: no cRLDistributionPoints */
} es_pki_tbs;

/* The key identifier of a public key: SM3 of the 65-byte subjectPublicKey (the BIT STRING
 * value without unused-bits octet), leftmost 160 bits (RFC 7093 method 1 with SM3). */
es_err es_pki_key_id(const uint8_t pub[ES_SM2_PUB_LEN],
                     uint8_t out[ES_PKI_KEY_ID_LEN]) ES_MUST_CHECK;
/* Appends SubjectPublicKeyInfo: id-ecPublicKey with the SM2 curve, the 65-byte point. */
es_err es_pki_spki_to_der(const uint8_t pub[ES_SM2_PUB_LEN], es_buf *out) ES_MUST_CHECK;
/* Reads an SM2 SubjectPublicKeyInfo (DER, or PEM "PUBLIC KEY"). ES_ERR_KEY when it is not
 * an SM2 point. */
es_err es_pki_spki_read(const uint8_t *p, size_t len, uint8_t pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;

/* Builds the TBSCertificate, signs it with issuer (e = SM3(Z(issuer->pub, default ID) ||
 * TBS)) and appends the DER Certificate. No lint: es_ca_issue lints first. */
es_err es_pki_cert_make(const es_pki_tbs *t, es_signer *issuer, es_buf *out) ES_MUST_CHECK;

/* A certificate as our DER reader sees it. Slices borrow from the input. */
typedef struct es_pki_cert {
    es_slice tbs;    /* TBSCertificate as encoded: what the signature covers */
    es_slice serial; /* INTEGER contents */
    es_slice issuer; /* Name (whole TLV) */
    es_slice subject;
    es_time not_before, not_after;
    int is_sm2;
    uint8_t pub[ES_SM2_PUB_LEN];
    int has_basic_constraints, is_ca, pathlen; /* pathlen -1: none */
    int has_key_usage;
    unsigned key_usage;     /* ES_KU_* */
    unsigned ext_key_usage; /* ES_EKU_* it names */
    es_slice ski, aki;      /* key identifier octets; empty when absent */
    es_slice san;           /* GeneralNames TLV; empty when absent */
    es_slice crl_url;       /* the first URI of cRLDistributionPoints */
    int seal_source;        /* es_seal_source read from ES_OID_SEAL_SOURCE */
    es_slice sig_alg;       /* OID contents */
    es_slice sig;           /* signatureValue contents (DER SEQUENCE{r, s}) */
} es_pki_cert;

/* Parses a DER certificate. ES_ERR_CERT when it is not one. */
es_err es_pki_cert_parse(es_slice der, es_pki_cert *out) ES_MUST_CHECK;
/* Verifies the certificate's SM2-with-SM3 signature with issuer_pub and the default ID. */
es_err es_pki_cert_verify(const es_pki_cert *c,
                          const uint8_t issuer_pub[ES_SM2_PUB_LEN]) ES_MUST_CHECK;

/* --- PKCS#10 requests --- */

typedef struct es_pki_csr {
    es_slice info;    /* CertificationRequestInfo as encoded */
    es_slice subject; /* Name TLV */
    uint8_t pub[ES_SM2_PUB_LEN];
    es_slice san;     /* GeneralNames TLV from an extensionRequest, or empty */
    es_slice sig_alg; /* OID contents */
    es_slice sig;     /* signature BIT STRING contents */
    int empty_id;     /* set by es_pki_csr_verify: signed with an empty SM2 ID */
} es_pki_csr;

/* Parses a request (DER, or PEM "CERTIFICATE REQUEST"); slices borrow from the DER, which
 * for PEM input is appended to der_out (kept by the caller). ES_ERR_FORMAT when it is not a
 * PKCS#10 request, ES_ERR_KEY when its key is not SM2. */
es_err es_pki_csr_parse(const uint8_t *p, size_t len, es_buf *der_out,
                        es_pki_csr *out) ES_MUST_CHECK;
/* Verifies the request's proof of possession: SM2 with SM3 over CertificationRequestInfo,
 * Z with the default ID (`openssl req -sm3 -sigopt distid:1234567812345678`). A request
 * signed with the empty ID (what OpenSSL 3.0 does without -sigopt) is accepted too and
 * flagged in empty_id: either proves possession of the key. ES_ERR_VERIFY otherwise. */
es_err es_pki_csr_verify(es_pki_csr *c) ES_MUST_CHECK;
/* Appends a DER request for subject, signed by key (default ID), with the SANs (if any) in
 * an extensionRequest. */
es_err es_pki_csr_make(const es_name *subject, const es_pki_san *san, size_t n_san, es_signer *key,
                       es_buf *out) ES_MUST_CHECK;

/* --- CRLs --- */

typedef struct es_pki_revoked {
    uint8_t serial[ES_PKI_SERIAL_MAX];
    size_t serial_len;
    es_time when;
    int reason; /* es_crl_reason; UNSPECIFIED: no reasonCode extension (RFC 5280 5.3.1) */
} es_pki_revoked;

typedef struct es_pki_tbs_crl {
    es_slice issuer; /* the issuer's Name, DER */
    uint8_t issuer_key_id[ES_PKI_KEY_ID_LEN];
    size_t issuer_key_id_len;
    es_time this_update, next_update;
    uint64_t crl_number;
    const es_pki_revoked *revoked;
    size_t n_revoked;
    const char *sm2_id;   /* NULL: the default ID; "" the empty ID (OpenSSL 3.0, docs/ca.md) */
    int delta;            /* a delta CRL (RFC 5280 5.2.4): the changes since base_number */
    uint64_t base_number; /* the complete CRL the delta completes (deltaCRLIndicator) */
} es_pki_tbs_crl;

/* Appends a signed v2 CRL: issuer, thisUpdate, nextUpdate, the revoked certificates with
 * their dates and reasons, authorityKeyIdentifier and cRLNumber. */
es_err es_pki_crl_make(const es_pki_tbs_crl *t, es_signer *issuer, es_buf *out) ES_MUST_CHECK;

typedef struct es_pki_crl {
    es_slice tbs, issuer, aki, sig_alg, sig;
    es_time this_update, next_update; /* next_update ES_TIME_NONE when absent */
    int has_crl_number;
    uint64_t crl_number;
    int delta;            /* a deltaCRLIndicator is present */
    uint64_t base_number; /* its BaseCRLNumber */
    size_t n_revoked;
    es_pki_revoked *revoked; /* owned */
} es_pki_crl;

/* Parses a DER (or PEM "X509 CRL") CRL; slices borrow from the DER, appended to der_out for
 * PEM. es_pki_crl_cleanup frees the entry array. */
es_err es_pki_crl_parse(const uint8_t *p, size_t len, es_buf *der_out,
                        es_pki_crl *out) ES_MUST_CHECK;
/* Verifies the CRL signature with issuer_pub; id NULL means the default ID. */
es_err es_pki_crl_verify(const es_pki_crl *c, const uint8_t issuer_pub[ES_SM2_PUB_LEN],
                         const char *id) ES_MUST_CHECK;
void es_pki_crl_cleanup(es_pki_crl *c);

/* --- PEM --- */

/* Appends PEM (64-column base64) of der under label ("CERTIFICATE", "X509 CRL", ...). */
es_err es_pki_pem_encode(const char *label, es_slice der, es_buf *out) ES_MUST_CHECK;
/* Appends the DER of the first PEM block with that label; when p holds no "-----BEGIN" line
 * it is taken as DER and appended as is. ES_ERR_PEM when the block is broken
 * or empty. */
es_err es_pki_pem_decode(const uint8_t *p, size_t len, const char *label,
                         es_buf *out) ES_MUST_CHECK;

/* --- the CA (docs/ca.md) ---
 *
 * A CA is a directory (config, ca.crt, chain.crt, profiles.conf: what does not change) and a
 * state (every certificate issued, revocations, the CRL number): pki defines the state as an
 * interface (es_ca_state_ops) and keeps no state of its own; the store-backed implementation
 * is svc's (include/eseal/castore.h), where es_ca_open opens a directory CA with its state in
 * DIR/ca.db.
 *
 * Thread safety: an es_ca may be used from several threads at once, each with its own state
 * binding (its own store connection): the CA's key is a pool of device sessions (one per
 * core, at most 4; a device refusing a second session gives one), so certificates are signed
 * in parallel (es_ca_issue_prepare holds no lock), and write units of one es_ca (issue,
 * revoke, CRL) are serialised in the process. The functions without a
 * state argument use the CA's default state (es_ca_set_state), one caller at a time. */

typedef struct es_ca es_ca;

typedef enum es_ca_status {
    ES_CA_VALID = 'V',
    ES_CA_REVOKED = 'R',
} es_ca_status;

/* One certificate the CA issued. Handed to callbacks: borrowed, valid during the call. */
typedef struct es_ca_entry {
    char serial[2 * ES_PKI_SERIAL_MAX + 1]; /* lower-case hex (es_ca_serial_norm form) */
    int status;                             /* es_ca_status */
    es_time not_after;
    es_time revoked_at; /* ES_TIME_NONE unless revoked */
    int reason;         /* when revoked */
    char profile[32];
    const char *subject; /* "/C=CN/O=.../CN=..." */
    es_slice cert;       /* DER; empty when unknown (imported without its certs/ file) */
    es_time issued_at;   /* ES_TIME_NONE when unknown (imported) */
} es_ca_entry;

/* Returns ES_OK to go on; anything else stops the listing and is returned. */
typedef es_err (*es_ca_entry_cb)(void *ctx, const es_ca_entry *e);

/* The state of CAs (docs/ca.md "State"). ca names the CA: es_ca_id (one state may hold
 * several CAs). Every call but begin runs between begin and commit / rollback.
 *
 * begin:      write = 1: a write unit holding the CA's lock, taken WITHOUT waiting:
 *             ES_ERR_BUSY when another process (or connection) holds it. write = 0: a read
 *             over one snapshot, which never waits for a writer.
 * get:        calls cb once for the serial (es_ca_serial_norm form); ES_ERR_NOT_FOUND.
 * list:       calls cb for each certificate in issuing order (revoked_only: only revoked).
 * record:     adds e (status V, e->cert the DER); ES_ERR_EXISTS when the serial is taken.
 * revoke:     sets e's status R, revoked_at and reason (the row must exist); with status V
 *             (a hold released) sets it valid again, without revocation date and reason.
 * crl_next:   takes the next CRL number (1 for a CA never seen) and moves it on.
 * crl_record: keeps the CRL just signed.
 * close:      frees ctx (es_ca_close calls it for an owned default state); may be NULL.
 * An implementation may audit each change (record, revoke, crl_record) in the same unit. */
typedef struct es_ca_state_ops {
    es_err (*begin)(void *ctx, const char *ca, int write);
    es_err (*commit)(void *ctx);
    void (*rollback)(void *ctx);
    es_err (*get)(void *ctx, const char *ca, const char *serial, es_ca_entry_cb cb, void *cbctx);
    es_err (*list)(void *ctx, const char *ca, int revoked_only, es_ca_entry_cb cb, void *cbctx);
    es_err (*record)(void *ctx, const char *ca, const es_ca_entry *e);
    es_err (*revoke)(void *ctx, const char *ca, const es_ca_entry *e);
    es_err (*crl_next)(void *ctx, const char *ca, uint64_t *number);
    es_err (*crl_record)(void *ctx, const char *ca, uint64_t number, es_slice der, es_time at);
    void (*close)(void *ctx);
    /* Delta CRLs (may be NULL: es_ca_delta_crl_in then says ES_ERR_UNSUPPORTED).
     * crl_base:         appends the DER of the last complete CRL kept (crl_record);
     *                   ES_ERR_NOT_FOUND when there is none.
     * crl_delta_record: keeps the record of a delta CRL just signed (number, base, time),
     *                   the complete CRL kept unchanged. */
    es_err (*crl_base)(void *ctx, const char *ca, es_buf *der);
    es_err (*crl_delta_record)(void *ctx, const char *ca, uint64_t number, uint64_t base,
                               es_time at);
} es_ca_state_ops;

/* A state binding: the operations and the caller's context (e.g. its store connection). */
typedef struct es_ca_state {
    const es_ca_state_ops *ops;
    void *ctx;
} es_ca_state;

typedef struct es_ca_init_params {
    const char *dir;          /* created when missing; must not hold a CA yet */
    const char *key_ref;      /* the CA key: soft:DIR#NAME, sdf:..., skf:... */
    const es_secret_src *pin; /* PIN or passphrase of that key */
    int generate_key;         /* generate the key pair at key_ref first */
    const es_name *subject;
    const char *profile; /* NULL: "root", or "intermediate" with a parent */
    long days;           /* 0: the profile's */
    es_slice profiles;   /* the profiles text to keep in DIR; empty: the built-in one */
    es_ca *parent;       /* an open, logged-in CA that signs (and records, in its default
                            state); NULL: self-signed root */
    const char *crl_url; /* NULL or "": no cRLDistributionPoints */
    long crl_days;       /* 0: 7 */
} es_ca_init_params;

/* Creates a CA in p->dir: ca.crt, chain.crt (for an intermediate: the parent's certificates),
 * profiles.conf and config (written last). An intermediate's certificate is issued by the
 * parent (and recorded in the parent's state). ES_ERR_LINT (lint filled) when the CA
 * certificate fails lint, ES_ERR_EXISTS when dir already holds a CA. */
es_err es_ca_init(const es_ca_init_params *p, es_pki_lint *lint) ES_MUST_CHECK;

/* Reads the CA in dir (config, ca.crt, chain.crt, profiles.conf; without its key and without
 * state). ES_ERR_NOT_FOUND when there is none, ES_ERR_CONFIG (why says which file and line)
 * when a file cannot be used. */
es_err es_ca_load(const char *dir, es_ca **out, char *why, size_t whylen) ES_MUST_CHECK;
/* Sets the default state (NULL: none) of the calls without a state argument; when owned,
 * es_ca_close calls st->ops->close(st->ctx). */
void es_ca_set_state(es_ca *ca, const es_ca_state *st, int owned);
/* Opens the CA key (es_keydev_signer) and checks that it belongs to ca.crt
 * (ES_ERR_KEY_MISMATCH). */
es_err es_ca_login(es_ca *ca, const es_secret_src *pin) ES_MUST_CHECK;
void es_ca_close(es_ca *ca);

/* The CA certificate (DER, borrowed), its issuers (PEM text, borrowed, may be empty), its
 * profiles, key reference, directory, and id: the hex of its key identifier, which names it
 * in a state (borrowed). */
es_slice es_ca_cert(const es_ca *ca);
es_slice es_ca_chain(const es_ca *ca);
const es_profiles *es_ca_profiles(const es_ca *ca);
const char *es_ca_key_ref(const es_ca *ca);
const char *es_ca_dir(const es_ca *ca);
const char *es_ca_id(const es_ca *ca);

/* A request to issue. */
typedef struct es_ca_request {
    const char *profile;    /* profile name */
    const es_name *subject; /* NULL: the request's subject */
    const uint8_t *csr;     /* PKCS#10 (DER or PEM), or NULL and: */
    size_t csr_len;
    const uint8_t *pub;    /* a bare SM2 public key (65 bytes) */
    const es_pki_san *san; /* NULL/0: the SANs the request asks for */
    size_t n_san;
    int seal_source;       /* NONE: the profile's default */
    long days;             /* 0: the profile's */
    es_time not_before;    /* ES_TIME_NONE: now */
    const uint8_t *serial; /* NULL: random (normally); else used as given (and linted) */
    size_t serial_len;
} es_ca_request;

/* Lints the request against the profile and the CA (every failure in lint), and when it
 * passes signs the certificate, checks the signature, records it in st (one write unit: a
 * random serial found taken is drawn again) and appends its DER to out; serial (may be
 * NULL) receives the hex. ES_ERR_LINT: refused, nothing issued. ES_ERR_VERIFY: the
 * request's signature is wrong. ES_ERR_NOT_FOUND: no such profile. ES_ERR_BUSY: another
 * process holds the CA. Needs es_ca_login. */
es_err es_ca_issue_in(es_ca *ca, const es_ca_state *st, const es_ca_request *req, es_pki_lint *lint,
                      es_buf *out, char serial[2 * ES_PKI_SERIAL_MAX + 1]) ES_MUST_CHECK;

/* Issuance in two steps, so that the SM2 work holds no lock (issue 10): es_ca_issue_prepare
 * lints the request (as es_ca_issue_in), draws a random serial, signs the certificate and
 * checks its signature, without touching any state; es_ca_issue_record then records it in st
 * inside the caller's write unit (es_castore_begin_joined): ES_ERR_EXISTS when the state
 * holds the serial already: nothing recorded, prepare again (a new serial). A prepared
 * certificate that is never recorded was never issued: discard it (es_ca_issued_free). */
typedef struct es_ca_issued {
    es_buf cert;       /* DER */
    es_buf subject;    /* printed, NUL-terminated */
    es_ca_entry entry; /* what the state records; subject and cert point into the two above */
} es_ca_issued;
void es_ca_issued_init(es_ca_issued *p);
void es_ca_issued_free(es_ca_issued *p);
/* req->serial must be NULL (a given serial is looked up in a state: es_ca_issue_in). Errors as
 * es_ca_issue_in but never ES_ERR_BUSY; ES_ERR_SIGNER when the signature does not verify.
 * Thread-safe. */
es_err es_ca_issue_prepare(es_ca *ca, const es_ca_request *req, es_pki_lint *lint,
                           es_ca_issued *out) ES_MUST_CHECK;
/* Records p (prepared by this ca; ES_ERR_ARG otherwise) with st's record op. */
es_err es_ca_issue_record(es_ca *ca, const es_ca_state *st, const es_ca_issued *p) ES_MUST_CHECK;

/* Marks a certificate revoked (serial: hex, any case, optional "0x" and ':'). A certificate
 * on hold (certificateHold) may be revoked again with another reason (its date stays);
 * otherwise a revoked one is ES_ERR_REVOKED. removeFromCRL releases a certificate on hold
 * (valid again, left out of the next CRL; the state's revoke op gets the entry with status
 * ES_CA_VALID); on a certificate not revoked it is ES_ERR_ARG, on one revoked for another
 * reason ES_ERR_REVOKED. ES_ERR_NOT_FOUND for a serial this CA did not issue, ES_ERR_ARG for
 * a serial that is not hex. at: ES_TIME_NONE means now. ES_ERR_BUSY: another process holds
 * the CA. */
es_err es_ca_revoke_in(es_ca *ca, const es_ca_state *st, const char *serial, int reason,
                       es_time at) ES_MUST_CHECK;

/* Signs a full CRL of every revoked certificate, numbered with the next cRLNumber, valid for
 * days (0: the configured crl_days), with sm2_id (NULL: the configured one, by default the
 * GB/T 35276 ID); the number and the CRL are recorded in the same write unit, and the DER is
 * appended to out once recorded. Needs es_ca_login. ES_ERR_BUSY as above. */
es_err es_ca_crl_in(es_ca *ca, const es_ca_state *st, long days, const char *sm2_id,
                    es_buf *out) ES_MUST_CHECK;

/* Signs a delta CRL (RFC 5280 5.2.4) against the last complete CRL es_ca_crl_in made: the
 * certificates revoked since (with their dates and reasons) and those it lists that are valid
 * again (a hold released: removeFromCRL), numbered from the same sequence, deltaCRLIndicator
 * naming the complete CRL's number. ES_ERR_NOT_FOUND when no complete CRL was made yet,
 * ES_ERR_UNSUPPORTED when the state keeps none. As es_ca_crl_in otherwise. */
es_err es_ca_delta_crl_in(es_ca *ca, const es_ca_state *st, long days, const char *sm2_id,
                          es_buf *out) ES_MUST_CHECK;
es_err es_ca_delta_crl(es_ca *ca, long days, const char *sm2_id, es_buf *out) ES_MUST_CHECK;

/* Calls cb for each certificate in issuing order, from one snapshot (never waits for a
 * writer). st NULL: the default state. */
es_err es_ca_list(es_ca *ca, const es_ca_state *st, es_ca_entry_cb cb, void *ctx) ES_MUST_CHECK;
/* Calls cb once with the certificate of that serial (any form es_ca_revoke takes).
 * ES_ERR_NOT_FOUND, ES_ERR_ARG for a serial that is not hex. st NULL: the default state. */
es_err es_ca_get(es_ca *ca, const es_ca_state *st, const char *serial, es_ca_entry_cb cb,
                 void *ctx) ES_MUST_CHECK;

/* The same four on the CA's default state (ES_ERR_ARG when it has none). */
es_err es_ca_issue(es_ca *ca, const es_ca_request *req, es_pki_lint *lint, es_buf *out,
                   char serial[2 * ES_PKI_SERIAL_MAX + 1]) ES_MUST_CHECK;
es_err es_ca_revoke(es_ca *ca, const char *serial, int reason, es_time at) ES_MUST_CHECK;
es_err es_ca_crl(es_ca *ca, long days, const char *sm2_id, es_buf *out) ES_MUST_CHECK;

/* A serial as the state keeps it: lower-case hex of the INTEGER's content octets, without
 * leading zero octets but with 00 before a first octet >= 0x80 (what `openssl x509 -serial`
 * prints, in lower case). Takes any case, "0x" and ':' separators. 0 when it is not hex or
 * longer than 20 octets. */
int es_ca_serial_norm(const char *in, char out[2 * ES_PKI_SERIAL_MAX + 1]);

/* Reads the index.txt of a CA directory written before the state moved into the store
 * (docs/ca.md "Index format") and calls cb for each line, in order (serials in
 * es_ca_serial_norm form, no cert, issued_at ES_TIME_NONE). ES_ERR_CONFIG with "index.txt
 * line N: ..." in why for a line that cannot be read. */
es_err es_ca_index_read(es_slice text, es_ca_entry_cb cb, void *ctx, char *why,
                        size_t whylen) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
