/* eseal decision: people's signed decisions (LD/T 01.1 §9.4
 * "关键操作应采用数字签名技术进行签名确认"; ARCHITECTURE.md "Who signs what"; docs/decisions.md).
 *
 * A person who takes decisions (submit, review verdict, carry-out, delivery, grant) holds a
 * personal SM2 key and a `user` certificate of the site CA bound to their account:
 *   - "pin": the key is generated here and kept wrapped under a key derived (HMAC-SM3) from
 *     the person's signing PIN and a device half that only the node's key device decrypts, so
 *     that neither a copy of the database nor the PIN alone gives it (rows of the argon2id
 *     scheme before are read and rewrapped on use; docs/decisions.md); it is used only when
 *     the person enters the PIN at that moment. Wrong PINs are counted and lock the key as a
 * USBKey's PIN does (ES_DECISION_PIN_LIMIT); only the system administrator unlocks it, and
 * unlocking signs nothing;
 *   - "token": the person's USBKey holds the key; the certificate is issued for their CSR and the
 *     server holds no private key; they sign es_decision_tbs elsewhere (`eseal decision sign`).
 * Re-enrolment revokes the previous certificate (superseded); disabling the account or taking
 * its last decision-taking role revokes it (cessationOfOperation).
 *
 * Signing happens BEFORE the caller's write transaction (a wrong PIN counts even when the caller
 * then rolls back); storing happens INSIDE it (es_decision_store_in).
 *
 * Thread safety: an es_decisions is shared by every worker (its key device is serialised inside);
 * each call takes the caller's own store connection.
 */
#ifndef ESEAL_DECISION_H
#define ESEAL_DECISION_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/accounts.h"
#include "eseal/crypto.h"
#include "eseal/err.h"
#include "eseal/keydev.h"
#include "eseal/pki.h"
#include "eseal/signer.h"
#include "eseal/store.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* Wrong PINs in a row before the key locks (as a USBKey's user PIN). */
#define ES_DECISION_PIN_LIMIT 5
#define ES_DECISION_PIN_MIN   6
#define ES_DECISION_PIN_MAX   64
/* Text fields of a decision (bytes of UTF-8). */
#define ES_DECISION_ACTION_MAX  64
#define ES_DECISION_OBJECT_MAX  128
#define ES_DECISION_VERDICT_MAX 32
#define ES_DECISION_OPINION_MAX 4096
/* A canonical decision, and an export bundle with its certificates, at most. */
#define ES_DECISION_TBS_MAX    8192
#define ES_DECISION_BUNDLE_MAX (64u << 10)

typedef struct es_decisions es_decisions; /* the context: store URL/CA/keys, made at node start */

typedef struct es_decision {
    const char *action;      /* "application.submit", "application.review",
                                "application.execute", "seal.deliver", ... */
    const char *object;      /* "application:42", "seal:RS44030500000001" */
    const char *verdict;     /* "approve", "reject", or "" */
    const char *opinion;     /* free text, "" when none */
    uint8_t subject_sm3[32]; /* SM3 of the canonical bytes of what is decided on */
    int64_t at;              /* Unix seconds */
} es_decision;

/* Proof from the person: the signing PIN (the key is held server-side and used only now),
 * or a signature made elsewhere (USBKey, `eseal decision sign`) over es_decision_tbs,
 * DER SM2 signature with the default ID; exactly one of the two. */
typedef struct es_decision_proof {
    const char *pin;
    es_slice signature;
    /* With a signature: the time inside the bytes that were signed (the canonical bytes were
     * fetched before, GET /api/v1/applications/{id}/decision-tbs); 0: now. */
    es_time at;
} es_decision_proof;

/* The canonical DER the person signs (actor = account name): docs/decisions.md
 *   Decision ::= SEQUENCE { version INTEGER (1), action UTF8String, object UTF8String,
 *     verdict UTF8String, opinion UTF8String, subject OCTET STRING (SIZE (32)),
 *     time GeneralizedTime, actor UTF8String }
 * ES_ERR_ARG for a NULL or over-long field, text that is not UTF-8, or a time before 1970. */
es_err es_decision_tbs(const es_decision *d, const char *actor, es_buf *der) ES_MUST_CHECK;

typedef struct es_decision_sig {
    es_buf tbs;           /* es_decision_tbs */
    es_buf sig;           /* DER SM2 signature */
    char cert_serial[64]; /* hex serial of the person's certificate */
    char actor[65];
    /* Private: es_decision_sign's mark (a MAC under a key that lives only in this process's
     * memory) over what it signed or checked, so that es_decision_store_in need not verify
     * the signature a second time; anything else (changed, copied from elsewhere) is
     * verified. */
    uint8_t mark[32];
} es_decision_sig;
void es_decision_sig_init(es_decision_sig *s);
void es_decision_sig_free(es_decision_sig *s);

/* Signs d as by (or checks the given signature against by's current certificate). Runs its
 * own short transactions on st (PIN failure count, lock). ES_ERR_PIN (wrong PIN, counted),
 * ES_ERR_PIN_LOCKED, ES_ERR_NO_KEY (no signing key enrolled), ES_ERR_VERIFY (a given
 * signature that does not verify), ES_ERR_REVOKED (the person's certificate). Also
 * ES_ERR_SIGNING_KEY_KIND (a PIN for a key held in a USBKey), ES_ERR_ARG (both proofs or
 * none, or a bad field of d; why names it). */
es_err es_decision_sign(es_decisions *ds, es_store *st, const es_actor *by, const es_decision *d,
                        const es_decision_proof *p, es_decision_sig *out, char *why,
                        size_t whylen) ES_MUST_CHECK;
/* Stores a signed decision inside the caller's write transaction; *id its row. Checks again
 * that the signature verifies under the certificate of cert_serial, that this certificate is
 * actor's and that the decision's actor field is actor (ES_ERR_DECISION_SIGNER otherwise:
 * a decision A signed is never stored as B's); ES_ERR_VERIFY, ES_ERR_FORMAT for a tbs that is
 * not a Decision. */
es_err es_decision_store_in(es_store *st, const es_decision_sig *s, int64_t *id) ES_MUST_CHECK;

/* ---- The context. */

/* Opens the node's wrapping key (an SM2 key in a key device that can decrypt: ref, logged in
 * with pin; a soft key that does not exist is generated when create is set). ca (not owned;
 * NULL: no enrolment) issues and revokes the `user` certificates; audit (not owned; NULL: no
 * audit records) signs the audit records of enrolment, PIN changes, failures, locks and
 * unlocks. why gets a sentence on failure. */
es_err es_decisions_new(const char *ref, const es_secret_src *pin, int create, es_ca *ca,
                        es_signer *audit, es_decisions **out, char *why,
                        size_t whylen) ES_MUST_CHECK;
void es_decisions_free(es_decisions *ds);
/* Tests: the clock (NULL: es_time_now) and the argon2id memory in KiB (0: ES_DECISION_KDF_M) of
 * the legacy scheme (es_decisions_set_legacy). */
#define ES_DECISION_KDF_M 65536
#define ES_DECISION_KDF_T 3
void es_decisions_set_clock(es_decisions *ds, es_time (*now)(void));
void es_decisions_set_kdf(es_decisions *ds, uint32_t m_kib, uint32_t t);
/* Tests: on, enrolments and PIN changes wrap with argon2id (the scheme of the rows written
 * before the keyed one, kdf_m and kdf_t from es_decisions_set_kdf), so that the migration on
 * use is tested; off (the default): the keyed scheme (docs/decisions.md). */
void es_decisions_set_legacy(es_decisions *ds, int on);
/* How many times the node's device decrypted a device half (the rest came from memory). */
unsigned long es_decisions_device_decrypts(es_decisions *ds);

/* 1 when an account holding roles takes decisions (any business role: business_admin,
 * seal_issuer, reviewer, approver, operator, seal_keeper). */
int es_decision_roles(es_roles roles);

/* ---- Enrolment (the signed-in person, for themselves). */

typedef struct es_signing_key {
    char kind[8];   /* "pin" or "token" */
    char state[12]; /* "active", "superseded", "revoked" */
    char serial[64];
    char subject[256];
    es_time not_before, not_after;
    int failures; /* wrong PINs in a row */
    int locked;   /* failures reached ES_DECISION_PIN_LIMIT */
    int64_t created_at;
} es_signing_key;

/* Enrols a key held here: a fresh SM2 key wrapped under pin (ES_DECISION_PIN_MIN..MAX bytes,
 * not one repeated character, not the account name: ES_ERR_ARG with why) and the node's key,
 * its `user` certificate (CN = the account name) issued in the same transaction as the key row
 * and audited (decision.key_enrol). An existing key: old_pin is required when it is a PIN key
 * (checked and counted as for signing); refused while it is locked (ES_ERR_PIN_LOCKED); its
 * certificate is revoked (superseded) in the same transaction. ES_ERR_DENIED (audited) for an
 * account without a decision-taking role; ES_ERR_BUSY when another holds the CA. cert (may be
 * NULL) gets the DER certificate. */
es_err es_signing_key_enrol_pin(es_decisions *ds, es_store *st, const es_actor *by, const char *pin,
                                const char *old_pin, es_signing_key *out, es_buf *cert, char *why,
                                size_t whylen) ES_MUST_CHECK;
/* Enrols a USBKey: the certificate is issued for csr (PKCS#10, PEM or DER; its subject replaced
 * by CN = the account name) with no key held here. A public key already certified for any
 * account is refused (ES_ERR_EXISTS): one key, one certificate. Otherwise as above (old_pin
 * for a previous PIN key). ES_ERR_LINT (lint has the problems), ES_ERR_VERIFY (the CSR's
 * signature), ES_ERR_FORMAT & co for a CSR that cannot be read. */
es_err es_signing_key_enrol_csr(es_decisions *ds, es_store *st, const es_actor *by, es_slice csr,
                                const char *old_pin, es_signing_key *out, es_buf *cert,
                                es_pki_lint *lint, char *why, size_t whylen) ES_MUST_CHECK;
/* Changes the PIN of by's PIN key: old_pin checked and counted as for signing; the key is
 * wrapped again under the new PIN with a fresh salt and a fresh device key; audited
 * (decision.pin_change). */
es_err es_signing_key_pin_change(es_decisions *ds, es_store *st, const es_actor *by,
                                 const char *old_pin, const char *new_pin, char *why,
                                 size_t whylen) ES_MUST_CHECK;
/* The active (or, without one, the latest) key of the account name: the account itself, the
 * system administrator, or anyone who may read decisions. cert may be NULL. ES_ERR_NO_KEY. */
es_err es_signing_key_get(es_decisions *ds, es_store *st, const es_actor *by, const char *name,
                          es_signing_key *out, es_buf *cert) ES_MUST_CHECK;
/* The system administrator unlocks name's key (failures to 0), audited (decision.key_unlock).
 * Nobody else, and not their own: ES_ERR_DENIED (audited). ES_ERR_NO_KEY. Signs nothing and
 * learns nothing of the PIN. */
es_err es_signing_key_unlock(es_decisions *ds, es_store *st, const es_actor *by,
                             const char *name) ES_MUST_CHECK;
/* Revokes user_id's active key and its certificate (reason an es_crl_reason) inside the
 * caller's write transaction, which must hold the CA's lock when ca is given
 * (es_castore_begin_joined); ca NULL: the key row only. *revoked (may be NULL) 1 when there
 * was one. The accounts service calls it where an account is disabled or loses its last
 * decision-taking role. */
es_err es_signing_key_revoke_in(es_store *st, es_ca *ca, es_signer *audit, const char *actor,
                                int64_t user_id, int reason, int *revoked) ES_MUST_CHECK;

/* ---- Reading and verifying stored decisions. */

typedef struct es_decision_rec {
    int64_t id;
    char actor[65];
    char action[ES_DECISION_ACTION_MAX + 1];
    char object[ES_DECISION_OBJECT_MAX + 1];
    char cert_serial[64];
    int64_t at;
    es_buf tbs, sig, cert; /* cert: DER of the signer's certificate */
} es_decision_rec;
void es_decision_rec_init(es_decision_rec *r);
void es_decision_rec_free(es_decision_rec *r);
/* A stored decision: who may read decisions (business roles and the audit administrator;
 * ES_ERR_DENIED otherwise). ES_ERR_NOT_FOUND. */
es_err es_decision_get(es_decisions *ds, es_store *st, const es_actor *by, int64_t id,
                       es_decision_rec *out) ES_MUST_CHECK;

/* Stored decisions in id order, after `after`, at most limit (1 to ES_DECISION_PAGE_MAX):
 * those of an application (application > 0: the decisions about "application:ID" and the
 * delivery of the seal it made) and / or of one actor (actor non-NULL). The audit
 * administrator lists any; the seal issuer and the reviewer list an application's, or their
 * own (actor = their name: another's is ES_ERR_DENIED, neither given ES_ERR_ARG); anyone else
 * ES_ERR_DENIED (audited decision.list). ES_ERR_NOT_FOUND: no such application. cb gets each
 * record (valid during the call only; it must not use st). */
#define ES_DECISION_PAGE_MAX 200
/* The "format" of an application's export (GET /api/v1/applications/{id}/decisions). */
#define ES_DECISION_EXPORT_FORMAT "eseal-decisions-1"
typedef struct es_decision_filter {
    int64_t application; /* 0: any */
    const char *actor;   /* NULL: any */
    int64_t after;       /* ids above this */
    int limit;
} es_decision_filter;
typedef es_err (*es_decision_cb)(void *ctx, const es_decision_rec *r);
es_err es_decision_list(es_decisions *ds, es_store *st, const es_actor *by,
                        const es_decision_filter *f, es_decision_cb cb, void *ctx) ES_MUST_CHECK;

/* A decision read back (borrowed slices into the tbs). */
typedef struct es_decision_view {
    long version;
    es_slice action, object, verdict, opinion, actor;
    uint8_t subject_sm3[32];
    es_time at;
} es_decision_view;
/* Parses a canonical Decision (docs/decisions.md): ES_ERR_FORMAT & co. for anything else,
 * including non-canonical DER. */
es_err es_decision_parse(es_slice tbs, es_decision_view *out) ES_MUST_CHECK;

/* The export of a stored decision, offline-verifiable:
 *   DecisionBundle ::= SEQUENCE { version INTEGER (1), decision Decision,
 *     signature OCTET STRING (the DER SM2 signature), certificates SEQUENCE OF Certificate
 *     (the signer's first, then its chain) }
 * es_decision_bundle appends it; es_decision_bundle_parse reads one (DER, or the JSON of
 * GET /api/v1/decisions/{id}) into borrowed slices (certs: at most 4; JSON input is decoded
 * into keep, which must outlive the result). */
typedef struct es_decision_bundle_view {
    es_slice tbs, sig;
    es_slice certs[4];
    size_t n_certs;
    char cert_serial[64]; /* from JSON: what the server said; DER: "" */
} es_decision_bundle_view;
es_err es_decision_bundle(es_slice tbs, es_slice sig, const es_slice *certs, size_t n,
                          es_buf *out) ES_MUST_CHECK;
es_err es_decision_bundle_parse(es_slice in, es_buf *keep, es_decision_bundle_view *out, char *why,
                                size_t whylen) ES_MUST_CHECK;
/* An application's export (GET /api/v1/applications/{id}/decisions): {"format":
 * ES_DECISION_EXPORT_FORMAT, "application": ID, "decisions": [the JSON of each decision, as
 * GET /api/v1/decisions/{id}]}. Calls cb for each decision in order with the application's
 * id and its bundle (NULL, with parse_rv and why, when it cannot be read); cb's error stops.
 * ES_ERR_NOT_FOUND when in is not an export (no "decisions"): a single decision perhaps;
 * ES_ERR_FORMAT (why) for a wrong format, application or list. */
#define ES_DECISION_EXPORT_MAX (16u << 20)
typedef es_err (*es_decision_export_cb)(void *ctx, size_t index, int64_t application,
                                        const es_decision_bundle_view *b, es_err parse_rv,
                                        const char *why);
es_err es_decision_export_each(es_slice in, es_decision_export_cb cb, void *ctx, char *why,
                               size_t whylen) ES_MUST_CHECK;
/* Verifies a bundle offline: the signer's certificate chains to trust (a `user` certificate:
 * digitalSignature), the stated serial (when given) is that certificate's, the signature over
 * the tbs verifies with its key and the default ID, and the tbs is a canonical Decision whose
 * time is within the certificate's validity. ES_ERR_VERIFY with why naming the check. */
es_err es_decision_verify(const es_decision_bundle_view *b, const es_trust *trust,
                          es_decision_view *out, char *why, size_t whylen) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
