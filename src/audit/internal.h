/* audit internals shared by append/export (audit.c) and verification (verify.c). */
#ifndef ESEAL_AUDIT_INTERNAL_H
#define ESEAL_AUDIT_INTERNAL_H

#include "eseal/audit.h"

/* The five texts of a record, in the order they are hashed. */
enum { AF_ACTOR, AF_ROLE, AF_ACTION, AF_OBJECT, AF_DETAIL, AF_COUNT };

/* A record as read back (exact bytes: a tampered text may hold anything). */
typedef struct audit_raw {
    int64_t seq;
    int64_t at;
    es_slice f[AF_COUNT];
    es_slice prev, hash, sig;
    int64_t ver;    /* 1 or 2 */
    es_slice nonce; /* version 2: ES_AUDIT_NONCE_LEN bytes */
} audit_raw;

/* Version 1: hash = SM3(prev || DER SEQUENCE{seq, at, actor, role, action, object, detail}). */
es_err audit_record_hash(const uint8_t *prev, size_t prev_len, int64_t seq, int64_t at,
                         const es_slice f[AF_COUNT], uint8_t out[ES_SM3_LEN]) ES_MUST_CHECK;
/* Version 2: what the record's signature signs, DER SEQUENCE{version 2, nonce, at, actor,
 * role, action, object, detail}, appended to out. */
es_err audit_content_der(const uint8_t *nonce, size_t nonce_len, int64_t at,
                         const es_slice f[AF_COUNT], es_buf *out) ES_MUST_CHECK;
/* Version 2: hash = SM3(prev || DER SEQUENCE{seq, content}) with content as above. */
es_err audit_record_hash2(const uint8_t *prev, size_t prev_len, int64_t seq, const uint8_t *content,
                          size_t content_len, uint8_t out[ES_SM3_LEN]) ES_MUST_CHECK;
/* The hash of r (either version) as if it were stored under seq. */
es_err audit_raw_hash(const audit_raw *r, int64_t seq, uint8_t out[ES_SM3_LEN]) ES_MUST_CHECK;
/* ES_OK when r's signature is the audit key's (version 1: over its hash; version 2: over its
 * content); ES_ERR_VERIFY when not. */
es_err audit_raw_sig_verify(const uint8_t pub[ES_SM2_PUB_LEN], const audit_raw *r) ES_MUST_CHECK;
/* DER SEQUENCE{seq INTEGER, hash OCTET STRING, at INTEGER}: what the head's signature signs. */
es_err audit_head_tbs(int64_t seq, const uint8_t hash[ES_SM3_LEN], int64_t at,
                      es_buf *out) ES_MUST_CHECK;
/* ES_OK when sig is the audit key's SM2 signature over msg (default ID). */
es_err audit_sig_verify(const uint8_t pub[ES_SM2_PUB_LEN], const uint8_t *msg, size_t len,
                        es_slice sig) ES_MUST_CHECK;
/* "2026-01-01T08:00:00.123Z" for at (ms). */
void audit_time_iso(int64_t at, char out[40]);

/* The record columns, in audit_raw order, for SELECT lists. */
#define AUDIT_COLUMNS "seq, at, actor, role, action, object, detail, prev, hash, sig, ver, nonce"
/* Reads a row of AUDIT_COLUMNS. */
void audit_raw_from_row(const es_row *row, audit_raw *out);

#endif
