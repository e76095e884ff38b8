/* eseal seal: electronic seals (SESeal, .esl) and seal signatures (SES_Signature) as
 * GB/T 38540-2020 and GM/T 0031 define them: parse, make, print, verify.
 *
 * Reading decides the layout by structure, not by the version number (real producers
 * mislabel): an SESeal of 2 elements is GM/T 0031; of 4 or 5 is GB/T 38540 (v4) or its
 * version-5 successor. Writing always emits GB/T 38540 v4 in canonical DER.
 *
 * Parsed structures borrow: every es_slice points into the input passed to the parser,
 * which must outlive the structure. No I/O, no OpenSSL types.
 */
#ifndef ESEAL_SEAL_H
#define ESEAL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/crypto.h"
#include "eseal/err.h"
#include "eseal/quirk.h"
#include "eseal/report.h"
#include "eseal/signer.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef enum es_layout {
    ES_LAYOUT_GMT0031 = 1, /* GM/T 0031-2014: SESeal{SealInfo, SignInfo} */
    ES_LAYOUT_V4 = 4,      /* GB/T 38540-2020 */
    ES_LAYOUT_V5 = 5,      /* GM/T 0031-2025 (header version 5, optional seal timestamp) */
} es_layout;

#define ES_SEAL_MAX_CERTS 16
#define ES_SEAL_MAX_EXTS  32

typedef struct es_ext {
    es_slice oid; /* content octets */
    int critical;
    es_slice value;
} es_ext;

typedef struct es_seal {
    es_layout layout;
    es_slice raw;       /* the whole SESeal element */
    es_slice seal_info; /* the SES_SealInfo element as stored (what v4/v5 sign) */
    /* SES_Header */
    es_slice header_id; /* "ES" */
    long version;
    es_slice vid;
    es_slice es_id;
    /* SES_ESPropertyInfo */
    long type;
    es_slice name;
    long cert_list_type; /* 1 certs, 2 digests; 0 for GM/T 0031 (no field) */
    size_t n_certs;
    es_slice certs[ES_SEAL_MAX_CERTS];            /* DER certs, or digest values for type 2 */
    es_slice cert_digest_type[ES_SEAL_MAX_CERTS]; /* type 2 only */
    es_time create_date;
    es_time valid_start;
    es_time valid_end;
    /* SES_ESPictrueInfo */
    es_slice picture_type;
    es_slice picture;
    long picture_width;
    long picture_height;
    size_t n_exts;
    es_ext exts[ES_SEAL_MAX_EXTS];
    /* maker's signature */
    int has_signature;
    es_slice maker_cert;         /* DER */
    es_slice sign_alg;           /* OID content octets */
    es_slice signed_value;       /* BIT STRING content after the unused-bits octet */
    es_slice sign_info_cert_tlv; /* GM/T 0031: cert element as stored (for the signed message) */
    es_slice sign_alg_tlv;       /* the signAlgID element as stored */
    es_slice timestamp;          /* v5 [0] timestamp, may be empty */
    int property_v4;             /* the property info has GB/T 38540's certListType */
    int ext_tagged;              /* extDatas: -1 absent, 0 untagged, 1 tagged */
    es_quirks quirks;
} es_seal;

/* Parses an SESeal. On error *out is unspecified. ES_ERR_DER / ES_ERR_FORMAT on bad input.
 * Trailing bytes after the element are tolerated (quirk) only when allow_trailing. */
es_err es_seal_from_der(es_slice in, int allow_trailing, es_seal *out) ES_MUST_CHECK;

typedef struct es_signature {
    es_layout layout;
    es_slice raw;
    es_slice tbs; /* TBS_Sign element as stored: what the signer signed */
    long version;
    es_seal seal;
    es_time time_info;
    es_slice time_info_raw; /* contents as stored (text for GM/T 0031) */
    es_slice data_hash;
    es_slice property_info;
    es_slice cert;      /* signer certificate DER */
    es_slice sign_alg;  /* OID content octets */
    es_slice signature; /* BIT STRING content after the unused-bits octet */
    es_slice timestamp; /* [0] timestamp, may be empty */
    size_t n_exts;
    es_ext exts[ES_SEAL_MAX_EXTS];
    es_quirks quirks;
} es_signature;

/* Parses an SES_Signature of any layout. */
es_err es_signature_from_der(es_slice in, int allow_trailing, es_signature *out) ES_MUST_CHECK;

/* What a file looks like, by structure. */
typedef enum es_kind {
    ES_KIND_UNKNOWN = 0,
    ES_KIND_SEAL,
    ES_KIND_SIGNATURE,
    ES_KIND_CERT,
    ES_KIND_CMS,
} es_kind;
es_kind es_detect(es_slice in);
/* "GM/T 0031-2014", "GB/T 38540-2020 v4", "GM/T 0031-2025 v5". */
const char *es_layout_name(es_layout l);
const char *es_kind_name(es_kind k);

/* --- Making --- */
typedef struct es_seal_params {
    const char *vid;   /* vendor id; default "eseal" */
    const char *es_id; /* seal code */
    long type;
    const char *name;             /* UTF-8 */
    const es_slice *signer_certs; /* DER, at least one */
    size_t n_signer_certs;
    es_time create_date; /* ES_TIME_NONE: now */
    es_time valid_start;
    es_time valid_end;
    const char *picture_type; /* NULL: sniffed from the bytes */
    es_slice picture;
    long width_mm;
    long height_mm;
    const es_ext *exts;
    size_t n_exts;
    es_slice maker_cert; /* DER; its key must be the maker signer's */
    const char *sm2_id;  /* NULL: the default ID */
} es_seal_params;

/* Makes a GB/T 38540 v4 seal and appends its DER to out. Checks the parameters first
 * (ES_ERR_ARG with no output on a missing field, ES_ERR_KEY_MISMATCH when the maker key
 * is not the maker certificate's). */
es_err es_seal_make(const es_seal_params *p, es_signer *maker, es_buf *out) ES_MUST_CHECK;

typedef struct es_sign_params {
    es_slice seal;            /* the SESeal DER, embedded byte for byte */
    es_time time;             /* ES_TIME_NONE: now */
    const uint8_t *data_hash; /* 32 bytes: SM3 of the protected data */
    const char *property_info;
    es_slice signer_cert; /* DER; must be in the seal's certificate list */
    const char *sm2_id;
} es_sign_params;

/* Makes a GB/T 38540 v4 SES_Signature and appends its DER to out. Refuses a v4 signature
 * over a seal that is not v4/v5, a signer certificate that is not in the seal's list, and
 * a signer key that is not the certificate's. */
es_err es_signature_make(const es_sign_params *p, es_signer *signer, es_buf *out) ES_MUST_CHECK;

/* Guesses the picture format from its bytes: "PNG", "GIF", "JPG", "BMP", "SVG", "ofd", or
 * NULL when unknown. */
const char *es_picture_sniff(es_slice data);

/* --- Verification --- */

/* A seal's status as a status source reports it (LD/T 01.1 8.3: the status system). */
typedef enum es_seal_state {
    ES_SEAL_GOOD = 0,  /* known and in force */
    ES_SEAL_REVOKED,   /* revoked (注销); final */
    ES_SEAL_SUSPENDED, /* reported lost (挂失); may be lifted */
    ES_SEAL_UNKNOWN,   /* the source does not know the seal */
} es_seal_state;

typedef struct es_seal_status {
    es_seal_state state;
    es_time since;   /* REVOKED / SUSPENDED: when it took effect; ES_TIME_NONE when unknown */
    char reason[96]; /* REVOKED / SUSPENDED: why, UTF-8, NUL-terminated; may be empty */
} es_seal_status;

/* A status source. Asked about the seal s (parsed, borrowed for the call; s->es_id is the
 * seal code and s->raw its DER) as of time at, it fills *out (zeroed by the caller, since =
 * ES_TIME_NONE) and returns ES_OK; any other return means it could not answer, and the status
 * check is INDETERMINATE with that code's text. Called from the verifying thread, once per
 * seal; ctx is es_verify_opts.status_ctx. */
typedef es_err (*es_status_fn)(void *ctx, const es_seal *s, es_time at, es_seal_status *out);

/* Which rules the policy check holds a seal to (docs/verification.md "Policy"). */
typedef enum es_policy {
    ES_POLICY_CONVENTIONS = 0, /* any vendor's seal: a broken national convention is a WARNING */
    ES_POLICY_LDT,             /* LD/T 01.1 (seals of our roots): FAILED, and the maker must be
                                  a making system's certificate */
} es_policy;

typedef struct es_verify_opts {
    const char *sm2_id;      /* NULL: default */
    const es_trust *trust;   /* NULL: chain_trust INDETERMINATE */
    es_time now;             /* ES_TIME_NONE: the current time (bare-seal validity) */
    const uint8_t *data_sm3; /* SM3 of the protected data, or NULL: data_hash SKIPPED */
    es_slice data;           /* the data itself when at hand (CMS without signed
                                attributes signs the data directly), else empty */
    es_status_fn status;     /* NULL: status SKIPPED (offline verification) */
    void *status_ctx;        /* passed to status */
    es_time status_at;       /* the time to ask the source about; ES_TIME_NONE: now */
    es_policy policy;        /* the policy check's rules (0: the conventions, warnings) */
} es_verify_opts;

/* The status check (docs/verification.md): with no o->status, SKIPPED. Otherwise the source
 * is asked about the seal as of o->status_at. For a signature (at_is_signing, at = its signing
 * time): revoked or suspended before the signing time FAILED / INDETERMINATE, after it PASSED
 * with a note; for a bare seal any revocation FAILED, a suspension INDETERMINATE. GOOD is
 * PASSED, UNKNOWN and a failing source INDETERMINATE. */

/* Verifies a bare seal; adds one entry to rep. Returns ES_OK whenever a report was made
 * (even a FAILED one); errors only for memory. */
es_err es_seal_verify(es_slice in, const es_verify_opts *o, es_report *rep) ES_MUST_CHECK;
/* Verifies a signature (SES_Signature of any layout or a GB/T 35275 CMS SignedData). */
es_err es_signature_verify(es_slice in, const es_verify_opts *o, es_report *rep) ES_MUST_CHECK;
/* Verifies whatever in holds (seal or signature); ES_ERR_FORMAT added as a FAILED entry. */
es_err es_verify_any(es_slice in, const es_verify_opts *o, es_report *rep) ES_MUST_CHECK;

/* Human-readable description of every field (certificates summarised). */
es_err es_seal_print(const es_seal *s, es_buf *out) ES_MUST_CHECK;
es_err es_seal_print_json(const es_seal *s, es_buf *out) ES_MUST_CHECK;
es_err es_signature_print(const es_signature *s, es_buf *out) ES_MUST_CHECK;
es_err es_signature_print_json(const es_signature *s, es_buf *out) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
