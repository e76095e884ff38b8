/* eseal der: a bounded DER/BER reader and a canonical DER writer.
 *
 * Reader: a cursor over borrowed bytes. Every returned slice points into the input given to
 * es_der_init; nothing is allocated. Lengths past the input, nesting deeper than
 * ES_DER_MAX_DEPTH, high tag numbers and constructed string encodings are refused. BER
 * indefinite lengths and non-minimal length octets are accepted and recorded as quirks.
 *
 * Writer: appends canonical DER to an es_buf. Constructed elements are opened with
 * es_der_w_begin and closed with es_der_w_end, which writes the minimal length.
 *
 * Thread safety: none needed; no global state.
 */
#ifndef ESEAL_DER_H
#define ESEAL_DER_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/err.h"
#include "eseal/quirk.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

#define ES_DER_MAX_DEPTH       32
#define ES_DER_MAX_WRITE_DEPTH 32

/* Identifier octets (low tag number form only). */
#define ES_DER_BOOLEAN      0x01
#define ES_DER_INTEGER      0x02
#define ES_DER_BIT_STRING   0x03
#define ES_DER_OCTET_STRING 0x04
#define ES_DER_NULL         0x05
#define ES_DER_OID          0x06
#define ES_DER_UTF8_STRING  0x0c
#define ES_DER_PRINTABLE    0x13
#define ES_DER_T61_STRING   0x14
#define ES_DER_IA5_STRING   0x16
#define ES_DER_UTC_TIME     0x17
#define ES_DER_GEN_TIME     0x18
#define ES_DER_VISIBLE      0x1a
#define ES_DER_BMP_STRING   0x1e
#define ES_DER_SEQUENCE     0x30
#define ES_DER_SET          0x31
#define ES_DER_CONSTRUCTED  0x20
#define ES_DER_CONTEXT      0x80
#define ES_DER_CTX(n)       (0xa0 | (n)) /* constructed context tag [n] */
#define ES_DER_CTX_PRIM(n)  (0x80 | (n)) /* primitive context tag [n] */

/* One element as read. */
typedef struct es_der_tlv {
    unsigned tag;   /* identifier octet */
    es_slice raw;   /* the whole element: identifier, length, contents (and end-of-contents) */
    es_slice val;   /* the contents only */
    int indefinite; /* 1 when encoded with BER indefinite length */
} es_der_tlv;

/* A read cursor. quirks may be NULL; when set, tolerated deviations are OR-ed into it. */
typedef struct es_der {
    const uint8_t *p;
    const uint8_t *end;
    int depth;
    int indefinite; /* contents of an indefinite-length element */
    es_quirks *quirks;
} es_der;

void es_der_init(es_der *d, es_slice in, es_quirks *quirks);
/* 1 while elements remain. */
int es_der_more(const es_der *d);
/* Identifier octet of the next element, or -1 at the end. Consumes nothing. */
int es_der_peek(const es_der *d);
/* Reads the next element. ES_ERR_DER when malformed or when the cursor is at its end. */
es_err es_der_read(es_der *d, es_der_tlv *out) ES_MUST_CHECK;
/* Reads the next element and requires its identifier to be tag (ES_ERR_DER_TAG otherwise;
 * the cursor is not moved then). */
es_err es_der_expect(es_der *d, unsigned tag, es_der_tlv *out) ES_MUST_CHECK;
/* Opens a cursor over the contents of a constructed element read from parent. */
es_err es_der_enter(const es_der *parent, const es_der_tlv *t, es_der *child) ES_MUST_CHECK;
/* es_der_expect(tag) then es_der_enter: the usual way into a SEQUENCE. */
es_err es_der_open(es_der *d, unsigned tag, es_der_tlv *t, es_der *child) ES_MUST_CHECK;
/* ES_OK when the cursor is at its end, ES_ERR_DER_TRAILING otherwise. */
es_err es_der_done(const es_der *d) ES_MUST_CHECK;

/* Typed readers: each reads one element of the named type from d. */
/* INTEGER into a long; ES_ERR_FORMAT when it does not fit. */
es_err es_der_read_long(es_der *d, long *out) ES_MUST_CHECK;
/* INTEGER as its content octets (borrowed, two's complement as stored). */
es_err es_der_read_int_bytes(es_der *d, es_slice *out) ES_MUST_CHECK;
es_err es_der_read_oid(es_der *d, es_slice *out) ES_MUST_CHECK; /* content octets */
es_err es_der_read_octets(es_der *d, es_slice *out) ES_MUST_CHECK;
/* BIT STRING: content after the unused-bits octet, and that octet. */
es_err es_der_read_bits(es_der *d, es_slice *out, uint8_t *unused) ES_MUST_CHECK;
/* BOOLEAN; any non-zero octet is TRUE (0xFF is DER; others are recorded as a quirk). */
es_err es_der_read_bool(es_der *d, int *out) ES_MUST_CHECK;
/* Any character string type (UTF8, IA5, Printable, Visible, T61); *tag_out may be NULL. */
es_err es_der_read_string(es_der *d, es_slice *out, unsigned *tag_out) ES_MUST_CHECK;
/* GeneralizedTime or UTCTime, tolerant of the forms real producers write (see der.c). */
es_err es_der_read_time(es_der *d, es_time *out, unsigned *tag_out) ES_MUST_CHECK;
/* Parses time text as found in GeneralizedTime/UTCTime contents (tag says which). */
es_err es_der_parse_time(es_slice text, unsigned tag, es_time *out,
                         es_quirks *quirks) ES_MUST_CHECK;

/* Reads an INTEGER's content octets as an unsigned big-endian number into a 32-byte
 * right-aligned field. Tolerates a missing sign octet and zero padding (recorded as quirks).
 * ES_ERR_FORMAT when the value needs more than 32 bytes or is empty. */
es_err es_der_uint32_bytes(es_slice content, uint8_t out[32], es_quirks *quirks) ES_MUST_CHECK;

/* --- The OID table: every OID eseal names, once, as {id, name, der} ---
 *
 * The dotted forms below are what writers take (es_der_w_oid_text) and what reports print;
 * the table (src/der/oid.c) holds each one's id, short name and content octets, so readers
 * compare bytes (es_oid_is) instead of converting to text. A new OID is one macro, one id and
 * one row; test_der checks that every row's octets encode its dotted form. */
#define ES_OID_SM2                  "1.2.156.10197.1.301"
#define ES_OID_SM2_1                "1.2.156.10197.1.301.1"
#define ES_OID_SM3                  "1.2.156.10197.1.401"
#define ES_OID_SM2_SM3              "1.2.156.10197.1.501"
#define ES_OID_GM_DATA              "1.2.156.10197.6.1.4.2.1"
#define ES_OID_GM_SIGNED            "1.2.156.10197.6.1.4.2.2"
#define ES_OID_PKCS7_DATA           "1.2.840.113549.1.7.1"
#define ES_OID_PKCS7_SIGNED         "1.2.840.113549.1.7.2"
#define ES_OID_CONTENT_TYPE         "1.2.840.113549.1.9.3"
#define ES_OID_MSG_DIGEST           "1.2.840.113549.1.9.4"
#define ES_OID_SIGNING_TIME         "1.2.840.113549.1.9.5"
#define ES_OID_EXT_REQUEST          "1.2.840.113549.1.9.14"
#define ES_OID_EC_PUBLIC_KEY        "1.2.840.10045.2.1"
#define ES_OID_CE_SKI               "2.5.29.14"
#define ES_OID_CE_KU                "2.5.29.15"
#define ES_OID_CE_SAN               "2.5.29.17"
#define ES_OID_CE_BC                "2.5.29.19"
#define ES_OID_CE_CRL_NUMBER        "2.5.29.20"
#define ES_OID_CE_DELTA_CRL         "2.5.29.27"
#define ES_OID_CE_REASON            "2.5.29.21"
#define ES_OID_CE_CRL_DP            "2.5.29.31"
#define ES_OID_CE_AKI               "2.5.29.35"
#define ES_OID_CE_EKU               "2.5.29.37"
#define ES_OID_KP_SERVER_AUTH       "1.3.6.1.5.5.7.3.1"
#define ES_OID_KP_CLIENT_AUTH       "1.3.6.1.5.5.7.3.2"
#define ES_OID_KP_CODE_SIGNING      "1.3.6.1.5.5.7.3.3"
#define ES_OID_KP_EMAIL             "1.3.6.1.5.5.7.3.4"
#define ES_OID_KP_TIME_STAMPING     "1.3.6.1.5.5.7.3.8"
#define ES_OID_KP_OCSP_SIGNING      "1.3.6.1.5.5.7.3.9"
#define ES_OID_AT_CN                "2.5.4.3"
#define ES_OID_AT_SN                "2.5.4.4"
#define ES_OID_AT_SERIAL            "2.5.4.5"
#define ES_OID_AT_C                 "2.5.4.6"
#define ES_OID_AT_L                 "2.5.4.7"
#define ES_OID_AT_ST                "2.5.4.8"
#define ES_OID_AT_STREET            "2.5.4.9"
#define ES_OID_AT_O                 "2.5.4.10"
#define ES_OID_AT_OU                "2.5.4.11"
#define ES_OID_AT_TITLE             "2.5.4.12"
#define ES_OID_AT_DESCRIPTION       "2.5.4.13"
#define ES_OID_AT_BUSINESS_CATEGORY "2.5.4.15"
#define ES_OID_AT_POSTAL_CODE       "2.5.4.17"
#define ES_OID_AT_GN                "2.5.4.42"
#define ES_OID_AT_INITIALS          "2.5.4.43"
#define ES_OID_AT_DN_QUALIFIER      "2.5.4.46"
#define ES_OID_AT_PSEUDONYM         "2.5.4.65"
#define ES_OID_AT_ORG_ID            "2.5.4.97"
#define ES_OID_AT_EMAIL             "1.2.840.113549.1.9.1"
#define ES_OID_AT_DC                "0.9.2342.19200300.100.1.25"
#define ES_OID_AT_UID               "0.9.2342.19200300.100.1.1"
/* eseal's own arc: a UUID-derived OID (ITU-T X.667, arc 2.25), which needs no registration
 * and cannot collide with anyone's. A PLACEHOLDER of our own until the template of ZWFW C
 * 0122-2018 appendix D (LD/T 01.1 §7.2 g) can be followed; see docs/ca.md. */
#define ES_OID_ESEAL_ARC "2.25.97887270171616313188964068687311209419"
/* arc.1 certificate extensions; arc.1.1 the seal source (印章来源), ENUMERATED. */
#define ES_OID_SEAL_SOURCE "2.25.97887270171616313188964068687311209419.1.1"

typedef enum es_oid_id {
    ES_OID_ID_NONE = 0, /* not in the table */
    ES_OID_ID_SM2,
    ES_OID_ID_SM2_1,
    ES_OID_ID_SM3,
    ES_OID_ID_SM2_SM3,
    ES_OID_ID_GM_DATA,
    ES_OID_ID_GM_SIGNED,
    ES_OID_ID_PKCS7_DATA,
    ES_OID_ID_PKCS7_SIGNED,
    ES_OID_ID_CONTENT_TYPE,
    ES_OID_ID_MSG_DIGEST,
    ES_OID_ID_SIGNING_TIME,
    ES_OID_ID_EXT_REQUEST,
    ES_OID_ID_EC_PUBLIC_KEY,
    ES_OID_ID_CE_SKI,
    ES_OID_ID_CE_KU,
    ES_OID_ID_CE_SAN,
    ES_OID_ID_CE_BC,
    ES_OID_ID_CE_CRL_NUMBER,
    ES_OID_ID_CE_DELTA_CRL,
    ES_OID_ID_CE_REASON,
    ES_OID_ID_CE_CRL_DP,
    ES_OID_ID_CE_AKI,
    ES_OID_ID_CE_EKU,
    ES_OID_ID_KP_SERVER_AUTH,
    ES_OID_ID_KP_CLIENT_AUTH,
    ES_OID_ID_KP_CODE_SIGNING,
    ES_OID_ID_KP_EMAIL,
    ES_OID_ID_KP_TIME_STAMPING,
    ES_OID_ID_KP_OCSP_SIGNING,
    ES_OID_ID_AT_CN, /* X.520 attribute types: AT_CN to AT_UID stay together (names print by them)
                      */
    ES_OID_ID_AT_SN,
    ES_OID_ID_AT_SERIAL,
    ES_OID_ID_AT_C,
    ES_OID_ID_AT_L,
    ES_OID_ID_AT_ST,
    ES_OID_ID_AT_STREET,
    ES_OID_ID_AT_O,
    ES_OID_ID_AT_OU,
    ES_OID_ID_AT_TITLE,
    ES_OID_ID_AT_DESCRIPTION,
    ES_OID_ID_AT_BUSINESS_CATEGORY,
    ES_OID_ID_AT_POSTAL_CODE,
    ES_OID_ID_AT_GN,
    ES_OID_ID_AT_INITIALS,
    ES_OID_ID_AT_DN_QUALIFIER,
    ES_OID_ID_AT_PSEUDONYM,
    ES_OID_ID_AT_ORG_ID,
    ES_OID_ID_AT_EMAIL,
    ES_OID_ID_AT_DC,
    ES_OID_ID_AT_UID,
    ES_OID_ID_SEAL_SOURCE,
    ES_OID_ID_COUNT
} es_oid_id;

typedef struct es_oid_info {
    es_oid_id id;
    const char *name;   /* short name: "CN", "serverAuth", "basicConstraints" */
    const char *dotted; /* the ES_OID_* text */
    const char *der;    /* content octets (not NUL-terminated; der_len of them) */
    size_t der_len;
} es_oid_info;

/* The row of id; NULL for ES_OID_ID_NONE or an id out of range. Static storage, thread-safe. */
const es_oid_info *es_oid_info_of(es_oid_id id);
/* The row whose octets are oid (content octets, as es_der_read_oid gives them); NULL when the
 * OID is not in the table. */
const es_oid_info *es_oid_find(es_slice oid);
/* 1 when oid (content octets) is the OID id. */
int es_oid_is(es_slice oid, es_oid_id id);
/* The content octets of id (borrowed, static); empty for an unknown id. */
es_slice es_oid_der(es_oid_id id);

/* OIDs: dotted text to content octets and back. */
es_err es_oid_from_text(const char *text, es_buf *out) ES_MUST_CHECK;
/* Writes dotted text into out (NUL-terminated); ES_ERR_BUFFER when outlen is too small. */
es_err es_oid_to_text(es_slice oid, char *out, size_t outlen) ES_MUST_CHECK;

/* Re-encodes BER as DER: definite minimal lengths everywhere; primitive contents are copied
 * as they are. Appends to out. */
es_err es_der_canonical(es_slice in, es_buf *out) ES_MUST_CHECK;

/* Writer. */
typedef struct es_der_w {
    es_buf *b;
    size_t stack[ES_DER_MAX_WRITE_DEPTH];
    int depth;
    es_err err; /* first error; later calls do nothing once set */
} es_der_w;

void es_der_w_init(es_der_w *w, es_buf *b);
void es_der_w_begin(es_der_w *w, unsigned tag);
void es_der_w_end(es_der_w *w);
/* A primitive element with the given contents. */
void es_der_w_prim(es_der_w *w, unsigned tag, const void *p, size_t len);
void es_der_w_long(es_der_w *w, long v);
/* INTEGER from an unsigned big-endian magnitude (leading zeros stripped, sign octet added). */
void es_der_w_uint(es_der_w *w, const uint8_t *p, size_t len);
void es_der_w_bits(es_der_w *w, const void *p, size_t len); /* BIT STRING, 0 unused bits */
void es_der_w_oid_text(es_der_w *w, const char *dotted);
void es_der_w_oid(es_der_w *w, es_oid_id id); /* an OID of the table */
void es_der_w_gentime(es_der_w *w, es_time t);
void es_der_w_bool(es_der_w *w, int v);
/* Appends bytes that are already an encoded element. */
void es_der_w_raw(es_der_w *w, const void *p, size_t len);
/* ES_OK when everything was written and every begin has its end. */
es_err es_der_w_finish(es_der_w *w) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
