/* eseal witness: the audit trail's witness outside the site (docs/audit.md "Witness").
 *
 * A site sends its signed checkpoints to a witness it does not control: an append-only file
 * on another host (es_audit_witness_file_append in audit.h), or the parent tier's esealsd.
 * This header is the second: the service a witness daemon runs (es_witness_accept,
 * es_witness_list: the checkpoints are kept in the witness daemon's own audit trail, which is
 * append-only, signed and chained), and the client a site uses to send and read them over
 * HTTP, with requests signed as a registered business system's are (docs/api-clients.md).
 *
 *   POST /api/v1/witness/checkpoints   body: a witness line (audit.h) with "pub", the hex
 *                                      of the site audit key's public key (04||x||y)
 *   GET  /api/v1/witness/checkpoints   the caller's checkpoints, one witness line each
 *                                      (application/jsonl); ?newest=1: the newest only
 *
 * Thread safety: as the store and the signer given.
 */
#ifndef ESEAL_WITNESS_H
#define ESEAL_WITNESS_H

#include "eseal/accounts.h"
#include "eseal/audit.h"
#include "eseal/err.h"
#include "eseal/signer.h"

ES_API_BEGIN

/* The route of both. */
#define ES_WITNESS_PATH "/api/v1/witness/checkpoints"
/* Largest answer of the witness daemon a client reads (the list of checkpoints). */
#define ES_WITNESS_MAX_ANSWER (256u << 20)

/* The witness daemon's side: a checkpoint from the registered client `client` (its request's
 * signature checked already). The body is a witness line with "pub". The checkpoint must be
 * signed by that key, and the key must be the one of the client's earlier checkpoints. It is
 * kept (an audit record "witness.checkpoint", object "site:CLIENT", detail the witness line)
 * when it is newer than the newest one held; *stored is 0 when it is that one already.
 * ES_ERR_WITNESS when it has the seq of the newest one held with another hash, or is older
 * (the site's trail went back), or another key signed it: the refusal is recorded
 * ("witness.refused") and the caller logs it. ES_ERR_ARG / ES_ERR_VERIFY with why for a
 * body that is no signed checkpoint. */
es_err es_witness_accept(es_accounts *a, const es_actor *by, const char *client,
                         const uint8_t *body, size_t len, int *stored, char *why,
                         size_t whylen) ES_MUST_CHECK;

/* The witness lines held for client, oldest first (newest: only the newest), appended to
 * out. */
es_err es_witness_list(es_store *s, const char *client, int newest, es_buf *out) ES_MUST_CHECK;

/* The site's side: POSTs the signed head h (signed by the key pub) to the witness daemon at
 * base ("http://HOST:PORT/"; plain HTTP: put TLS in front where the network needs it) as the
 * registered client `client`, the request signed with key. ES_OK when the witness holds it;
 * ES_ERR_WITNESS with the witness's reason in why when it refuses it (409); ES_ERR_UNAVAILABLE
 * with why when it cannot be reached or answers anything else (try again later). Waits at
 * most 5 s to connect and 10 s for the answer. */
es_err es_witness_http_send(const char *base, const char *client, es_signer *key,
                            const es_audit_head *h, const uint8_t pub[ES_SM2_PUB_LEN], char *why,
                            size_t whylen) ES_MUST_CHECK;

/* The newest checkpoint the witness daemon at base holds for client (GET ...?newest=1):
 * *found 0 when it holds none. Errors as es_witness_http_fetch. */
es_err es_witness_http_newest(const char *base, const char *client, es_signer *key,
                              es_audit_witnessed *out, int *found, char *why,
                              size_t whylen) ES_MUST_CHECK;

/* Reads the checkpoints the witness daemon at base holds for client (a request signed with
 * key) into w (initialised by the call; clean it up after). ES_ERR_UNAVAILABLE / ES_ERR_AUTH /
 * ES_ERR_FORMAT with why. */
es_err es_witness_http_fetch(const char *base, const char *client, es_signer *key,
                             es_audit_witness *w, char *why, size_t whylen) ES_MUST_CHECK;

ES_API_END

#endif
