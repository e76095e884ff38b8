/* eseal upstream: the link to the parent tier (LD/T 01.1 7.2 a, e; 7.4; 7.5), and the national
 * platform simulator that stands in for the real platform (docs/upstream.md).
 *
 * The parent tier is the ministry's national platform (here: the labelled simulator, an
 * esealsd of tier national-simulator); at a province or city it will be the parent tier's making
 * system, which forwards. The caller never talks to it directly: it queues a request in the
 * durable outbox (the store's upstream_outbox table) inside its own write transaction; the
 * node's scheduler job "upstream" sends what is due, signed with the site's system key as a
 * registered business system of the parent (ESEAL-SM2, docs/api-clients.md), idempotent by
 * key; when the answer arrives the handler the caller registered runs inside the write
 * transaction that records the answer. Network errors, 5xx, 401, 408 and 429 are retried with
 * exponential backoff and jitter; any other 4xx is a refusal: the request is "failed" with the
 * reason and never sent again. Several daemons on one store share the outbox: a row is sent by
 * the daemon that holds its lease (ES_UPSTREAM_LEASE_MS), never by two at once.
 *
 * The wire (our own convention, documented in docs/upstream.md, until ZWFW C 0122 is public):
 *   POST PATH  {"key": KEY, "body": BODY}     PATH by kind: code.assign /api/v1/national/codes,
 *                                             seal.file /api/v1/national/filings, seal.status
 *                                             /api/v1/national/status
 * The same key with the same body gives the same answer (a retried request never makes two
 * codes); the same key with another body is 409 idempotency_conflict.
 *
 * Thread safety: an es_upstream may be shared by threads (its handler table is locked); an
 * es_store is one connection, used by one thread at a time.
 */
#ifndef ESEAL_UPSTREAM_H
#define ESEAL_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/accounts.h"
#include "eseal/err.h"
#include "eseal/signer.h"
#include "eseal/store.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* Limits: a request body as queued (a seal with its picture fits), a key, an answer read. */
#define ES_UPSTREAM_MAX_BODY   (4u << 20)
#define ES_UPSTREAM_KEY_MAX    128
#define ES_UPSTREAM_MAX_ANSWER (64u << 10)
/* A claimed row is this daemon's for this long (longer than one exchange: 5 s to connect, 10 s
 * for the answer); a daemon that dies while sending gives it back when the lease ends. */
#define ES_UPSTREAM_LEASE_MS 60000
/* Rows sent by one run of the job at most. */
#define ES_UPSTREAM_BATCH 32

/* The kinds and their paths at the parent. */
#define ES_UPSTREAM_CODE_ASSIGN "code.assign"
#define ES_UPSTREAM_SEAL_FILE   "seal.file"
#define ES_UPSTREAM_SEAL_STATUS "seal.status"
#define ES_NATIONAL_CODES       "/api/v1/national/codes"
#define ES_NATIONAL_FILINGS     "/api/v1/national/filings"
#define ES_NATIONAL_STATUS      "/api/v1/national/status"
#define ES_NATIONAL_SEALS       "/api/v1/national/seals"

typedef struct es_upstream es_upstream;

/* kind: "code.assign" (body: the application data; answer: {"code": "14 digits",
 * "police_key": base64, "police_info": base64}), "seal.file" (body: code, certificate,
 * seal in base64; answer: {"filed_at": ...}), "seal.status" (body: code, state, reason, at).
 * key: the idempotency key (the application's or event's id as text). A second enqueue of
 * the same kind+key is a no-op (ES_OK).
 * Inside the caller's write transaction on st. ES_ERR_ARG for an unknown kind, a key that is
 * empty, longer than ES_UPSTREAM_KEY_MAX or not printable ASCII, or a body that is not one
 * JSON object; ES_ERR_LIMIT for a body over ES_UPSTREAM_MAX_BODY. The row is due at once. */
es_err es_upstream_enqueue_in(es_store *st, const char *kind, const char *key,
                              es_slice body_json) ES_MUST_CHECK;

/* Called in the write transaction that records the answer; an error rolls the answer back
 * and the request is retried later. */
typedef es_err (*es_upstream_done_fn)(void *ctx, es_store *st, const char *kind, const char *key,
                                      es_slice answer_json);
/* Registers fn for kind (one handler per kind: a second registration replaces the first).
 * ES_ERR_ARG for an unknown kind. A kind without a handler is recorded done all the same. */
es_err es_upstream_on_done(es_upstream *u, const char *kind, es_upstream_done_fn fn,
                           void *ctx) ES_MUST_CHECK;

typedef struct es_upstream_state {
    char state[16]; /* "pending", "done", "failed" (refused by upstream: not retried) */
    int attempts;
    int64_t next_at; /* next attempt, Unix seconds (pending) */
    char last_error[256];
} es_upstream_state;
es_err es_upstream_state_get(es_store *st, const char *kind, const char *key,
                             es_upstream_state *out) ES_MUST_CHECK; /* ES_ERR_NOT_FOUND */

/* ---- The sending side (the node's job; exported for it and for the tests). */

typedef struct es_upstream_opts {
    es_signer *audit;      /* signs the audit records of answers and refusals (borrowed) */
    unsigned retry_min_ms; /* the first retry waits about this long (0: 1000) */
    unsigned retry_max_ms; /* no wait is longer (0: 3600000) */
    es_signer *answer_key; /* the simulator: signs its answers (borrowed; NULL: unsigned) */
} es_upstream_opts;

/* A new context (handlers none). es_upstream_free(NULL) is a no-op. */
es_err es_upstream_new(const es_upstream_opts *o, es_upstream **out) ES_MUST_CHECK;
/* es_upstream_answer_sign with es_upstream_opts.answer_key, one thread at a time;
 * ES_ERR_UNAVAILABLE when u has none. */
es_err es_upstream_sign(es_upstream *u, unsigned status, es_slice request, es_slice answer,
                        es_buf *value) ES_MUST_CHECK;
void es_upstream_free(es_upstream *u);

/* One claimed row: what to send, and the lease that makes it this caller's. */
typedef struct es_upstream_job {
    int64_t id;
    char kind[16];
    char key[ES_UPSTREAM_KEY_MAX + 1];
    char lease[33]; /* random hex: the claim */
    int attempts;   /* counting this one */
    es_buf body;    /* the wire body {"key":..., "body":...} (owned; es_upstream_job_cleanup) */
} es_upstream_job;
void es_upstream_job_cleanup(es_upstream_job *j);

/* Claims up to max due rows (pending, next attempt reached, no live lease) in a transaction of
 * its own on st: each is leased to this call for ES_UPSTREAM_LEASE_MS and its attempts count
 * one more. Two callers on one store never claim the same row. *n gets how many; jobs[0..n)
 * are initialised (clean each up). now_ms: wall clock, milliseconds. */
es_err es_upstream_claim(es_upstream *u, es_store *st, int64_t now_ms, es_upstream_job *jobs,
                         size_t max, size_t *n) ES_MUST_CHECK;

/* What came back for a claimed row: status 0 when no answer arrived (network error, timeout;
 * why says what), else the HTTP status and its body. */
typedef struct es_upstream_result {
    unsigned status;
    es_slice answer;
    const char *why;
} es_upstream_result;

/* Records the result of job, in one write transaction on st that holds the lease (nothing is
 * recorded when the lease was lost: ES_ERR_BUSY): 2xx with an answer that parses for its kind
 * (es_upstream_answer_parse): done, the answer kept, the kind's handler run, audited
 * "upstream.done"; a refusal (4xx but 401, 408, 429): failed with the reason, audited
 * "upstream.failed"; anything else (or a handler error, or an answer that does not parse):
 * pending again, the next attempt after an exponential backoff with jitter
 * (retry_min_ms * 2^(attempts-1), at most retry_max_ms, times 0.5..1). *state (may be NULL)
 * gets the row's new state ("done", "failed", "pending"). */
es_err es_upstream_complete(es_upstream *u, es_store *st, const es_upstream_job *job,
                            const es_upstream_result *res, int64_t now_ms,
                            const char **state) ES_MUST_CHECK;

/* The parent's path of a kind; NULL for an unknown kind. */
const char *es_upstream_path(const char *kind);

/* ---- Answers (outside input: fuzz/fuzz_upstream.c). */

typedef struct es_upstream_answer {
    char code[15];       /* code.assign, seal.file: the 14-digit national code */
    es_buf police_key;   /* code.assign: opaque bytes (base64 decoded) */
    es_buf police_info;  /* code.assign: opaque bytes */
    int64_t filed_at;    /* seal.file: Unix seconds */
    int64_t recorded_at; /* seal.status: Unix seconds */
    int simulator;       /* the answer says it comes from the simulator */
} es_upstream_answer;
void es_upstream_answer_init(es_upstream_answer *a);
void es_upstream_answer_cleanup(es_upstream_answer *a);
/* Parses and checks the answer of kind: one JSON object (at most ES_UPSTREAM_MAX_ANSWER
 * bytes, no duplicate keys); code.assign: "code" 14 digits, "police_key" and "police_info"
 * base64 of 1 to 4096 bytes each; seal.file: "code" 14 digits, "filed_at" a time;
 * seal.status: "recorded_at" a time. ES_ERR_UPSTREAM_ANSWER with why naming the field. */
es_err es_upstream_answer_parse(const char *kind, es_slice json, es_upstream_answer *out, char *why,
                                size_t whylen) ES_MUST_CHECK;

/* ---- Signed answers (ARCHITECTURE.md "Who signs what": an answer between tiers is signed
 * with the answering system's key). The parent signs each 2xx answer with its system key; the
 * header ES_UPSTREAM_SIG_HEADER carries base64 of the DER SM2 signature (SM3, default ID) over
 *   "ESEAL-SM2-ANSWER\n" STATUS "\n" hex(SM3(request body)) "\n" hex(SM3(answer body))
 * so that an answer verifies only for the request it answers. A client configured with the
 * parent's system certificate ([upstream] parent_cert) takes no 2xx answer without it. */
#define ES_UPSTREAM_SIG_HEADER "Eseal-Answer-Signature"
/* The string signed (appended to out). */
es_err es_upstream_answer_tbs(unsigned status, es_slice request, es_slice answer,
                              es_buf *out) ES_MUST_CHECK;
/* Appends the header's value (base64 of the DER signature made with key). */
es_err es_upstream_answer_sign(es_signer *key, unsigned status, es_slice request, es_slice answer,
                               es_buf *value) ES_MUST_CHECK;
/* ES_OK when value is a signature of pub over this answer to this request; ES_ERR_VERIFY when
 * missing, malformed or not. */
es_err es_upstream_answer_verify(const uint8_t pub[ES_SM2_PUB_LEN], unsigned status,
                                 es_slice request, es_slice answer,
                                 const char *value) ES_MUST_CHECK;

/* ---- The national platform simulator (tier national-simulator; docs/upstream.md). Every
 * call is one write transaction with its audit record, by the registered business system
 * `client` (the caller checked its signed request). body is the wire body {"key", "body"}.
 * The answer (a JSON object with "simulator": true) is appended to answer; *created is 1 when
 * this call made the record, 0 when it is the answer to an earlier request of the same key.
 * ES_ERR_ARG (why names the field: *field too, static), ES_ERR_IDEMPOTENCY (same key, another
 * body), ES_ERR_NOT_FOUND (a code not assigned to this client), ES_ERR_LIMIT (a division's
 * serials used up). */
es_err es_national_code_assign(es_accounts *a, const es_actor *by, const char *client,
                               es_slice body, es_buf *answer, int *created, const char **field,
                               char *why, size_t whylen) ES_MUST_CHECK;
es_err es_national_file(es_accounts *a, const es_actor *by, const char *client, es_slice body,
                        es_buf *answer, int *created, const char **field, char *why,
                        size_t whylen) ES_MUST_CHECK;
es_err es_national_status(es_accounts *a, const es_actor *by, const char *client, es_slice body,
                          es_buf *answer, int *created, const char **field, char *why,
                          size_t whylen) ES_MUST_CHECK;
/* The checks the three calls above make of a request before anything is read or written
 * (outside input: fuzz/fuzz_upstream.c): the wire body {"key", "body"} and the body's fields
 * for kind (code.assign: approver_division; seal.file: code, certificate naming CN=code,
 * seal; seal.status: code, state, reason, at). ES_ERR_ARG with *field and why. */
es_err es_national_request_check(const char *kind, es_slice body, const char **field, char *why,
                                 size_t whylen) ES_MUST_CHECK;
/* What the simulator holds of one code (any registered client may ask): the assignment, its
 * filings and state changes, as JSON appended to out. ES_ERR_NOT_FOUND. */
es_err es_national_seal_get(es_store *st, const char *code, es_buf *out) ES_MUST_CHECK;

/* ---- Forwarding (a tier with children: ministry, province, city; docs/upstream.md
 * "Forwarding"). The tier serves the national routes to its children (registered business
 * systems with seal_issuer) and passes each request to its own parent, under an idempotency key
 * derived from the child's ("fwd:" + hex SM3 of "client\nkey"), so that a child's retry
 * reaches the parent as the same request: one code anywhere in the chain. */
/* The exchange with the parent: POST path with body (signed as this site), the parent's status
 * (0: no answer; why says what) and its answer (signature checked with [upstream] parent_cert
 * when set: an answer that does not verify is status 0). Set by the node. */
typedef es_err (*es_upstream_forward_fn)(void *ctx, const char *path, es_slice body,
                                         unsigned *status, es_buf *answer, char *why,
                                         size_t whylen);
void es_upstream_set_forward(es_upstream *u, es_upstream_forward_fn fn, void *ctx);
/* ES_ERR_UNAVAILABLE when no forwarder is set. */
es_err es_upstream_forward_send(es_upstream *u, const char *path, es_slice body, unsigned *status,
                                es_buf *answer, char *why, size_t whylen) ES_MUST_CHECK;
/* One forwarded request of kind from the registered child `client` (its wire body {"key",
 * "body"}, checked as the simulator checks it: ES_ERR_ARG with *field): sent to the parent
 * under the derived key, the exchange recorded (upstream_forwards: who asked, the keys, the
 * parent's status, the SM3 of its answer, when) and audited "upstream.forward" in one
 * transaction. *status gets the parent's status (its answer appended to answer) or 0 when the
 * parent was not reached (why says what: the caller answers 503 with Retry-After). */
es_err es_national_forward(es_accounts *a, const es_actor *by, es_upstream *u, const char *client,
                           const char *kind, es_slice body, unsigned *status, es_buf *answer,
                           const char **field, char *why, size_t whylen) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
