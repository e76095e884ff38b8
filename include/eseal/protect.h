/* eseal protect: personal and important data at rest (LD/T 01.1 9.1, GB/T 39786 level 3),
 * docs/protect.md.
 *
 * Envelope encryption: records are sealed with SM4 (CBC, then HMAC-SM3 over header, IV,
 * ciphertext and aad: encrypt-then-MAC) under data keys of 128 bits made at random; a data key
 * is kept in the store (table protect_keys, migration 10) only wrapped by the key-encryption
 * key (KEK): SM2-encrypted to the KEK's public key, unwrapped by es_keydev_decrypt inside the
 * key device that holds the KEK's private key. The KEK never leaves its device.
 *
 * A sealed blob names its format and data key, so a key rotation needs no downtime: a new
 * data key becomes current, blobs under older keys still open, and a background pass
 * (es_protect_reencrypt, the node's job "protect-reencrypt") rewrites the registered columns
 * (es_protect_register) under the current key. Rotating the KEK (es_protect_rekek) rewraps
 * the keys only. The index key (keyed SM3 for exact search) and the MAC key (record
 * integrity) never rotate silently: every stored index value and MAC would break.
 *
 * aad binds a blob to its place ("applications/42/idno"): a blob moved to another row or
 * column does not open (ES_ERR_VERIFY), nor a truncated or altered one.
 *
 * Thread safety: an es_protect is shared by the threads of a node (its key cache and device
 * are behind a mutex); each thread passes its own store connection.
 */
#ifndef ESEAL_PROTECT_H
#define ESEAL_PROTECT_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/err.h"
#include "eseal/keydev.h"
#include "eseal/store.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* The largest plaintext a blob holds (materials included). */
#define ES_PROTECT_MAX_PLAIN (64u * 1024 * 1024)
/* Format 1: version (1), algorithm (1), data key id (4, big-endian), IV (16), SM4-CBC
 * ciphertext with PKCS#7 padding (16 * k, k >= 1), HMAC-SM3 tag (32). */
#define ES_PROTECT_V1           1
#define ES_PROTECT_ALG_CBC_HMAC 1 /* SM4-CBC + HMAC-SM3, encrypt-then-MAC */
#define ES_PROTECT_HEADER       6
#define ES_PROTECT_IV           16
#define ES_PROTECT_TAG          32
#define ES_PROTECT_MIN_BLOB     (ES_PROTECT_HEADER + ES_PROTECT_IV + 16 + ES_PROTECT_TAG)
#define ES_PROTECT_MAX_BLOB     (ES_PROTECT_MIN_BLOB + ES_PROTECT_MAX_PLAIN)
#define ES_PROTECT_MAX_AAD      1024

typedef struct es_protect es_protect; /* made at node start from the config's key device */

/* Opens the KEK at kek_ref (a key reference, keydev.h) and logs in with a PIN from pin. With
 * create, a soft KEK that does not exist yet is generated (first start, as the other soft keys
 * of a site). The device must be able to decrypt (es_keydev_info.can_decrypt) and the public
 * key es_keydev_public_key gives must be the one it decrypts for: soft keys; an SDF index
 * whose encryption key pair is its signing key pair (docs/protect.md). ES_ERR_NO_KEY (no such
 * key), ES_ERR_PIN, ES_ERR_UNSUPPORTED (the device cannot decrypt), with a sentence in why. */
es_err es_protect_new(const char *kek_ref, const es_secret_src *pin, int create, es_protect **out,
                      char *why, size_t whylen) ES_MUST_CHECK;
/* Wipes the cached keys and closes the device. NULL is a no-op. */
void es_protect_free(es_protect *p);
/* The KEK's identity: 64 hex digits of SM3 of its public key (borrowed, lives with p). */
const char *es_protect_kek_id(const es_protect *p);

/* Makes the first data, index and MAC keys when the store has none (its own transaction; two
 * daemons starting at once make one set), then loads the index and MAC keys. ES_ERR_PROTECT_KEK
 * when the store's keys are wrapped by another KEK. Call once at start, before the others. */
es_err es_protect_setup(es_protect *p, es_store *st, char *why, size_t whylen) ES_MUST_CHECK;

/* Seals plain for the place aad under the current data key; appends the blob to out
 * (self-describing: names its data key). Inside or outside the caller's transaction.
 * ES_ERR_PROTECT_NO_KEY before es_protect_setup, ES_ERR_LIMIT past ES_PROTECT_MAX_PLAIN. */
es_err es_protect_seal(es_protect *p, es_store *st, es_slice plain, es_slice aad,
                       es_buf *out) ES_MUST_CHECK;
/* Opens a blob sealed for aad; appends the plaintext to plain. ES_ERR_VERIFY when it was
 * tampered with, truncated, moved to another place (aad) or names no key of the store;
 * ES_ERR_PROTECT_KEK when its data key is wrapped by another KEK. */
es_err es_protect_open(es_protect *p, es_store *st, es_slice sealed, es_slice aad,
                       es_buf *plain) ES_MUST_CHECK;
/* Keyed SM3 (HMAC-SM3 with the index key) of a normalised value for exact search: purpose
 * separates the spaces ("idno", "mobile"; letters, digits, '_', '.', 1 to 32); out: 64 hex
 * digits + NUL. Normalisation: surrounding white space dropped; "idno": ASCII letters upper
 * case; "mobile": spaces and '-' dropped, a leading "+86" or "0086" dropped. ES_ERR_ARG for a
 * bad purpose, ES_ERR_PROTECT_NO_KEY before setup. */
es_err es_protect_index(es_protect *p, const char *purpose, es_slice value,
                        char out[65]) ES_MUST_CHECK;
/* Integrity of a record's canonical bytes (HMAC-SM3 with the MAC key; use es_protect_record
 * for rows the check command verifies): 64 hex digits + NUL; check returns ES_ERR_VERIFY on
 * mismatch. */
es_err es_protect_mac(es_protect *p, es_slice record, char out[65]) ES_MUST_CHECK;
es_err es_protect_mac_check(es_protect *p, es_slice record, const char *mac) ES_MUST_CHECK;

/* The canonical bytes of a record for es_protect_mac: the label "eseal-record-v1", the table,
 * the id, then each column's name, type and value (sealed columns by their plaintext, so that
 * a re-encryption leaves the MAC as it was). Appended to out. ES_ERR_ARG for a bad name. */
es_err es_protect_record(const char *table, int64_t id, const char *const *names,
                         const es_value *values, size_t n, es_buf *out) ES_MUST_CHECK;

/* Masked forms for lists: "4403**********123X", "138****5678", "广东省深圳市***". out gets a
 * NUL-terminated string (cut on a character boundary when n is short); "" for NULL in. */
void es_mask_idno(const char *in, char *out, size_t n);
void es_mask_mobile(const char *in, char *out, size_t n);
void es_mask_text(const char *in, char *out, size_t n);

/* ---- Registration: what the background pass and the check command go over. */

#define ES_PROTECT_MAX_COLUMNS 16
/* A table holding sealed columns (BLOB / BYTEA, NULL allowed), keyed by an integer column.
 * aad: the pattern of each blob's place, with {table}, {id}, {column}; NULL:
 * "{table}/{id}/{column}". mac_column (NULL: none): a TEXT column with es_protect_mac of
 * es_protect_record(table, id, mac_over...) over the columns mac_over in that order. Names are
 * SQL identifiers ([a-z_][a-z0-9_]*, at most 63). */
typedef struct es_protect_table {
    const char *table;
    const char *id_column;
    const char *const *sealed;
    size_t n_sealed;
    const char *aad;
    const char *mac_column;
    const char *const *mac_over;
    size_t n_mac_over;
} es_protect_table;
/* Records (or replaces) the registration of t->table in the store, in its own transaction;
 * idempotent. ES_ERR_ARG with the reason in why for a bad name or pattern. */
es_err es_protect_register(es_store *st, const es_protect_table *t, char *why,
                           size_t whylen) ES_MUST_CHECK;
/* The place of a column of a registered table's row, by its pattern ("applications/42/idno").
 * ES_ERR_NOT_FOUND when the table is not registered. */
es_err es_protect_aad(es_store *st, const char *table, int64_t id, const char *column, char *out,
                      size_t outlen) ES_MUST_CHECK;

/* ---- Rotation. */

/* A new data key becomes current, inside the caller's write transaction (a rollback leaves
 * the old one current); *id its id (may be NULL). The former current key stays "previous":
 * its blobs still open until the pass rewrites them. Callers serialise rotations themselves
 * (es_protect_rotate does); a racing one fails (ES_ERR_EXISTS, or a deadlock on PostgreSQL). */
es_err es_protect_rotate_in(es_protect *p, es_store *st, int64_t *id) ES_MUST_CHECK;
/* The same in a transaction of its own, holding the store lock "eseal-protect-rotate"
 * (es_store_begin_try): ES_ERR_BUSY when another rotation is under way. */
es_err es_protect_rotate(es_protect *p, es_store *st, int64_t *id) ES_MUST_CHECK;

typedef struct es_protect_pass {
    size_t rewritten; /* blobs sealed again under the current key */
    size_t failed;    /* blobs that did not open (left as they were; es_protect_check lists them) */
    int more;         /* 1: stopped at max_rows, call again */
} es_protect_pass;
/* One pass of the re-encryption: over every registered sealed column, the blobs under another
 * key than the current one are opened and sealed again (one transaction per batch, each row
 * rewritten only if nobody changed it meanwhile). At most max_rows blobs. When a whole pass
 * (more == 0) found no failure, the previous keys are marked retired (they still open: a
 * backup may hold blobs under them). */
es_err es_protect_reencrypt(es_protect *p, es_store *st, size_t max_rows,
                            es_protect_pass *out) ES_MUST_CHECK;

/* Rewraps every key of the store from p's KEK to to's, in one transaction (the data blobs are
 * not touched); keys already under to's KEK are left (a rerun after a crash). Then use to's
 * KEK. ES_ERR_PROTECT_KEK when a key is under neither. */
es_err es_protect_rekek(es_protect *p, es_protect *to, es_store *st, char *why,
                        size_t whylen) ES_MUST_CHECK;

/* ---- Status and check. */

/* Appends the keys (id, purpose, state, KEK, created, blobs under each data key per registered
 * column) and the registrations as text lines. */
es_err es_protect_status(es_protect *p, es_store *st, es_buf *out) ES_MUST_CHECK;

/* Called for each failure of the check: table, row id, column ("" for the record MAC), the
 * code (ES_ERR_VERIFY: does not open or MAC mismatch; ES_ERR_PROTECT_KEK; ...). */
typedef void (*es_protect_fail_fn)(void *ctx, const char *table, int64_t id, const char *column,
                                   es_err rv);
typedef struct es_protect_counts {
    size_t rows, blobs, macs, failures;
} es_protect_counts;
/* Opens every registered sealed column of every row and checks every record MAC, reporting
 * each failure to fn (may be NULL). ES_OK when all pass, ES_ERR_PROTECT_CHECK when any
 * failed; other codes when the store cannot be read. */
es_err es_protect_check(es_protect *p, es_store *st, es_protect_fail_fn fn, void *ctx,
                        es_protect_counts *out) ES_MUST_CHECK;

/* ---- The blob format alone (no key): for the fuzz target and for tools. */

typedef struct es_protect_blob {
    unsigned version, alg;
    uint32_t key_id;
    es_slice header;      /* the 6 header bytes */
    es_slice iv, ct, tag; /* borrowed from the input */
} es_protect_blob;
/* Reads a blob's layout. ES_ERR_VERIFY when it is not one (short, unknown version or
 * algorithm, ciphertext not a whole number of blocks, key id 0). */
es_err es_protect_blob_parse(es_slice sealed, es_protect_blob *out) ES_MUST_CHECK;

/* How many times the KEK's device has unwrapped a key (the cache's misses): for tests. */
unsigned long es_protect_unwraps(es_protect *p);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
