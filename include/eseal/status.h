/* eseal status: the seal status publishing system (状态发布系统, LD/T 01.1 §6, §7.2 f, §8.3;
 * docs/status.md; issue 11, ST1, ST2, ST9, ST10, ST12).
 *
 * The state of a seal (by its code) or of a seal certificate (by its serial) now and at any
 * time T, with its whole history, read from what the making system records in the same
 * transaction as every change (status_events, seals, seal_certs) and from the CA's own
 * revocations (ca_certs: a certificate revoked by the CA's operator). Nothing here writes.
 *
 * A status answer is signed DER (docs/status.md, module ESealStatus):
 *
 *   StatusAnswer ::= SEQUENCE {
 *     tbsAnswer           TBSStatusAnswer,
 *     signatureAlgorithm  OBJECT IDENTIFIER,          -- sm2-with-sm3
 *     signature           BIT STRING,                 -- DER SEQUENCE {r, s}
 *     certs           [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *
 * signed by the status system's key (its status-system certificate, EKU OCSPSigning, chained to
 * the seal root) over the DER of tbsAnswer with the SM2 ID 1234567812345678.
 *
 * Thread safety: the functions that take a store use the caller's connection (one thread's);
 * the encoders and es_status_answer_verify are pure.
 */
#ifndef ESEAL_STATUS_H
#define ESEAL_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/crypto.h"
#include "eseal/der.h"
#include "eseal/err.h"
#include "eseal/signer.h"
#include "eseal/store.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

#define ES_STATUS_CODE_MAX    33          /* a seal code: 1 to 32 of [A-Za-z0-9._-] (+ NUL) */
#define ES_STATUS_SERIAL_MAX  65          /* a certificate serial: 1 to 64 hex digits (+ NUL) */
#define ES_STATUS_HISTORY_MAX 64          /* changes an answer carries (the latest ones) */
#define ES_STATUS_NONCE_MIN   8           /* bytes */
#define ES_STATUS_NONCE_MAX   32          /* bytes */
#define ES_STATUS_ANSWER_MAX  (64u << 10) /* the largest answer DER a verifier reads */
#define ES_STATUS_NEXT_UPDATE 3600        /* seconds from producedAt to nextUpdate */
#define ES_STATUS_VERSION     1
/* The SM2 signer ID of every status answer. */
#define ES_STATUS_SM2_ID "1234567812345678"

/* The states (ENUMERATED SealState in docs/status.md; the numbers are the DER values). */
typedef enum es_status_state {
    ES_STATUS_ACTIVE = 0,        /* 正常 */
    ES_STATUS_SUSPENDED = 1,     /* 停用 */
    ES_STATUS_LOST = 2,          /* 挂失 */
    ES_STATUS_CANCELLED = 3,     /* 注销 */
    ES_STATUS_REVOKED = 4,       /* 吊销: the certificate revoked (CA, or superseded) */
    ES_STATUS_EXPIRED = 5,       /* 过期: past the certificate's validity */
    ES_STATUS_NOT_YET_VALID = 6, /* 未生效: before the seal was made or its certificate began */
    ES_STATUS_UNKNOWN = 7,       /* 未知: not in this registry */
} es_status_state;
#define ES_STATUS_STATE_MAX 7

/* "active", "suspended", ...; NULL out of range. Static. */
const char *es_status_state_name(int state);
/* 正常, 停用, 挂失, 注销, 吊销, 过期, 未生效, 未知; NULL out of range. Static. */
const char *es_status_state_zh(int state);
/* The state of a name; -1 when none. */
int es_status_state_from_name(const char *name);
/* 1 when a signature made at the asked time may be relied on: active only. */
int es_status_state_valid(int state);

/* One change of a seal's history. seq is the status event's number (0: a change the making
 * system did not record: the CA's revocation, the end of validity). */
typedef struct es_status_change {
    int64_t seq;
    int state; /* es_status_state */
    es_time effective_at;
    char reason[64]; /* "made", "renewed", "suspend", "restore", "keyCompromise", ... */
    char cert_serial[ES_STATUS_SERIAL_MAX];
} es_status_change;

/* What was asked. */
typedef enum es_status_by { ES_STATUS_BY_CODE = 0, ES_STATUS_BY_CERT = 1 } es_status_by;

/* The state of a seal or certificate, as the store knows it. */
typedef struct es_status_result {
    int by;                                 /* es_status_by */
    char code[ES_STATUS_CODE_MAX];          /* the seal's code ("" when unknown) */
    char cert_serial[ES_STATUS_SERIAL_MAX]; /* asked (by cert), or the seal's certificate at T */
    es_time at;                             /* the time asked about */
    int state_now, state_at;                /* es_status_state */
    int has_validity;                       /* the certificate at T (else the current one) */
    es_time not_before, not_after;
    size_t n_history;     /* the latest changes, oldest first */
    int history_complete; /* 0: older changes were left out */
    es_status_change history[ES_STATUS_HISTORY_MAX];
    int64_t seq; /* the last status event of the whole log when read (cache key) */
} es_status_result;

/* 1 when code is a well-formed seal code (1 to 32 of A-Z a-z 0-9 . _ -). */
int es_status_code_ok(const char *code);
/* Normalises a certificate serial (1 to 64 hex digits, either case, leading zeros dropped;
 * "00" is "0") into out; 0 when it is not one. */
int es_status_serial_norm(const char *in, char out[ES_STATUS_SERIAL_MAX]);

/* The state of the seal `key` (by code) or certificate `key` (by serial) at time `at` and at
 * `now`, with its history. An unknown seal or certificate is ES_OK with state
 * ES_STATUS_UNKNOWN (an answer, not an error). ES_ERR_ARG for a malformed key; store errors. */
es_err es_status_lookup(es_store *st, int by, const char *key, es_time at, es_time now,
                        es_status_result *out) ES_MUST_CHECK;

/* "Was this seal valid at time T?": 1 when the seal of code was active at `at` (made, not
 * suspended, lost, cancelled, revoked, within its certificate's validity), 0 when not or when
 * unknown; -1 on an error (store). */
int es_status_valid_at(es_store *st, const char *code, es_time at);

/* The version of everything an answer depends on: the last status event's number and the
 * number of certificates the CA revoked for good (a change of either may change an answer).
 * Cheap: two indexed reads. */
es_err es_status_version(es_store *st, int64_t *seq, int64_t *revocations) ES_MUST_CHECK;

/* Every change recorded after seq `after`, in order, at most limit (1 to 10000): the feed
 * that lists, sync and caches build on (public data: no permission). */
typedef es_err (*es_status_change_cb)(void *ctx, const char *code, const es_status_change *c);
es_err es_status_changes(es_store *st, int64_t after, int64_t limit, es_status_change_cb cb,
                         void *ctx) ES_MUST_CHECK;

/* ---- the signed answer */

/* Who signs: the status system's key and its certificate (DER), with the certificates between
 * it and the root (may be NULL/0). Borrowed. */
typedef struct es_status_responder {
    es_signer *key;
    es_slice cert;
    const es_slice *chain;
    size_t n_chain;
} es_status_responder;

/* Encodes and signs the answer for r (produced_at, next_update as given; nonce may be empty)
 * and appends the DER to out. ES_ERR_ARG: a nonce of the wrong size; signer errors. */
es_err es_status_answer_sign(const es_status_result *r, const es_status_responder *resp,
                             es_time produced_at, es_time next_update, es_slice nonce,
                             es_buf *out) ES_MUST_CHECK;

/* A parsed answer. Slices borrow from the DER given to es_status_answer_parse. */
typedef struct es_status_answer {
    long version;
    es_slice responder_serial; /* INTEGER contents of the status certificate's serial */
    es_slice responder_key_id; /* SM3 key identifier of its public key (20 bytes) */
    es_status_result r;        /* by, code, cert_serial, at, states, validity, history, seq */
    es_time produced_at, next_update;
    es_slice nonce; /* empty when absent */
    es_slice tbs;   /* TBSStatusAnswer as encoded: what the signature covers */
    es_slice sig;   /* the DER SEQUENCE {r, s} */
    size_t n_certs;
    es_slice certs[4];
} es_status_answer;

/* Parses answer DER (strictly: DER, bounded, no trailing bytes). ES_ERR_DER*, ES_ERR_FORMAT. */
es_err es_status_answer_parse(es_slice der, es_status_answer *out) ES_MUST_CHECK;

/* What the verifier expects (fields left empty / ES_TIME_NONE are not checked). */
typedef struct es_status_expect {
    const char *code;   /* the seal asked about */
    const char *serial; /* the certificate asked about */
    es_time at;         /* the time asked about */
    es_slice nonce;     /* the nonce sent */
    es_time now;        /* freshness: now within [producedAt - 300 s, nextUpdate] (NONE: now) */
    int no_freshness;   /* 1: do not check nextUpdate (an answer kept as evidence) */
} es_status_expect;

/* Verifies an answer offline: its signature by the certificate it carries (or extra), that
 * certificate's chain to an anchor of trust at producedAt, its status-system profile
 * (digitalSignature, EKU OCSPSigning, no CA) and that its key is the responder named, then
 * that it answers what was asked (exp). Fills out. ES_ERR_VERIFY with a sentence in why
 * ("signature", "chain", "profile", "question", "nonce", "stale"). */
es_err es_status_answer_verify(es_slice der, const es_trust *trust, const es_status_expect *exp,
                               es_status_answer *out, char *why, size_t whylen) ES_MUST_CHECK;

/* The JSON view of an answer (docs/status.md): UTF-8 text appended to out. */
es_err es_status_answer_json(const es_status_answer *a, es_buf *out) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
