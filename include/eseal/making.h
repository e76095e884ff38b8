/* eseal making: the seal making system (制作系统, LD/T 01.1 7.4-7.10; docs/making.md).
 *
 * Applications of eight kinds (apply, change, loss, cancel, renew, replace, suspend, restore)
 * move through the states
 *
 *   draft -> submitted -> approved | rejected
 *   approved -> made -> delivered            (apply, change, replace, renew: a seal is made)
 *   approved -> made                         (loss, cancel, suspend, restore: a state change)
 *
 * (national scope adds code_assigned, certified and filed between approved and made: see
 * "National scope" below). Every transition is checked inside this service (es_roles_allow:
 * ES_PERM_SEAL_APPLY to enter and submit, ES_PERM_SEAL_REVIEW to review, ES_PERM_SEAL_MAKE to
 * execute and deliver; refusals audited), is decided by a person whose decision is signed
 * before the transaction (es_decision_sign) and stored inside it, and commits with its audit
 * record (and, for a seal, its certificate, its seal and its status event) in ONE transaction.
 * The reviewer is never the one who entered the application (ES_ERR_MK_FOUR_EYES).
 *
 * Field errors: ES_ERR_ARG with *field (the JSON name) and *why (English and Chinese).
 *
 * Thread safety: an es_making is a binding of one thread's store connection (through a), like
 * es_accounts; the CA is used by one thread at a time: execution holds ca_lock (when set)
 * around the transaction that uses it, not around the decision's signature.
 */
#ifndef ESEAL_MAKING_H
#define ESEAL_MAKING_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "eseal/accounts.h"
#include "eseal/decision.h"
#include "eseal/err.h"
#include "eseal/national.h"
#include "eseal/pki.h"
#include "eseal/protect.h"
#include "eseal/signer.h"
#include "eseal/upstream.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* Limits of the fields (bytes of UTF-8). */
#define ES_MK_NAME_MAX     200 /* unit, seal, agent, approving unit names */
#define ES_MK_ADDRESS_MAX  400
#define ES_MK_OPINION_MAX  1000
#define ES_MK_CSR_MAX      16384
#define ES_MK_PICTURE_MAX  (2u << 20)
#define ES_MK_MATERIAL_MAX (20u << 20) /* the largest any table row may allow */
#define ES_MK_PAGE_MAX     200
#define ES_MK_IDEM_KEY_MAX 128   /* an Idempotency-Key: 1 to 128 printable ASCII characters */
#define ES_MK_IDEM_TTL     86400 /* seconds a create's key answers its retries */

/* What the making system works with, for one thread. Nothing is owned. */
typedef struct es_making {
    es_accounts *a;          /* the store connection and the audit key */
    es_ca *ca;               /* the seal root, logged in (execution only; NULL: unavailable) */
    es_signer *maker;        /* the making system's key (signs seals) */
    es_slice maker_cert;     /* its maker-system certificate (DER) */
    const es_tables *tables; /* LD/T 01.1 Tables 1-6, seal types, unit types */
    es_decisions *decisions; /* people's signing keys (decision.h) */
    es_protect *protect;     /* personal data at rest (protect.h) */
    es_upstream *upstream;   /* the parent tier (upstream.h) */
    /* Held around the transaction that uses ca when threads share it (may be NULL). */
    pthread_mutex_t *ca_lock;
} es_making;

/* The fields a person enters (NULL: not given; on update: unchanged). Strings are UTF-8. */
typedef struct es_application_input {
    const char *kind;      /* create only */
    const char *scope;     /* "national" | "industry" */
    const char *carrier;   /* "usbkey" | "server" */
    const char *seal_code; /* create only, lifecycle kinds: the seal it changes */
    const char *uscc, *division, *unit_type, *unit_name, *agent_name, *agent_idno, *agent_mobile,
        *unit_address, *approver_name, *approver_division, *seal_name;
    int has_seal_type;
    int seal_type;
    const char *reason;       /* why (lifecycle kinds) */
    es_slice csr;             /* usbkey: PKCS#10 (PEM or DER) of the holder's token key */
    es_slice package_request; /* server: the application system's request package (DER) */
} es_application_input;

typedef struct es_application {
    int64_t id;
    char kind[16], state[16], scope[16], carrier[16];
    char seal_code[ES_SEAL_CODE_MAX], made_code[ES_SEAL_CODE_MAX];
    char uscc[24], division[8], unit_type[16];
    char unit_name[ES_MK_NAME_MAX + 1], agent_name[ES_MK_NAME_MAX + 1];
    /* Personal fields: masked unless read whole (es_making_get with whole = 1). */
    char agent_idno[24], agent_mobile[24], unit_address[ES_MK_ADDRESS_MAX + 1];
    char approver_name[ES_MK_NAME_MAX + 1], approver_division[8];
    char seal_name[ES_MK_NAME_MAX + 1];
    int seal_type;
    char reason[ES_MK_OPINION_MAX + 1];
    int has_csr, has_package_request, has_picture;
    int width_mm, height_mm;
    char created_by[ES_ACCOUNT_NAME_MAX + 8];
    int64_t created_at, updated_at, version;
    char submitted_by[ES_ACCOUNT_NAME_MAX + 8], reviewed_by[ES_ACCOUNT_NAME_MAX + 8],
        executed_by[ES_ACCOUNT_NAME_MAX + 8];
    int64_t submitted_at, reviewed_at, executed_at; /* 0: not yet */
    char verdict[16], opinion[ES_MK_OPINION_MAX + 1];
    int64_t submit_decision, review_decision, execute_decision; /* 0: none stored */
} es_application;

/* The canonical bytes (es_decision_tbs) of the decision `by` is about to take on application
 * id, for a USBKey holder to sign (`eseal decision sign --key skf:...`) and hand in with the
 * signature and *at (es_decision_proof.at) within ES_MK_SIGN_WINDOW seconds. step: "submit",
 * "review" (verdict "approve" / "reject", opinion) or "execute"; the step's permission
 * (ES_ERR_DENIED, audited), ES_ERR_ARG (*field) for a bad step or verdict, ES_ERR_NOT_FOUND,
 * ES_ERR_MK_INTEGRITY. Changes nothing. */
#define ES_MK_SIGN_WINDOW 600
es_err es_making_decision_tbs(es_making *m, const es_actor *by, int64_t id, const char *step,
                              const char *verdict, const char *opinion, es_time *at, es_buf *tbs,
                              const char **field) ES_MUST_CHECK;

/* The canonical bytes of the delivery decision (seal.deliver on seal:CODE, to as its
 * opinion) `by` is about to take, as es_making_decision_tbs gives them for an application's
 * steps; handed in to es_making_deliver with the signature and *at. ES_ERR_DENIED (audited),
 * ES_ERR_ARG (to), ES_ERR_NOT_FOUND. Changes nothing. */
es_err es_making_deliver_tbs(es_making *m, const es_actor *by, const char *code, const char *to,
                             es_time *at, es_buf *tbs) ES_MUST_CHECK;

/* Registers the making tables' sealed columns with data protection (es_protect_register):
 * applications (agent_idno, agent_mobile, unit_address at "applications/ID/COLUMN") and
 * application_materials (bytes at "application_materials/ID/bytes"), so that the
 * re-encryption pass and `eseal protect check` cover them. Idempotent; the node calls it at
 * every start. ES_ERR_ARG with why on a registration refused. */
es_err es_making_protect_register(es_store *st, char *why, size_t whylen) ES_MUST_CHECK;

/* Creates a draft entered by `by` (ES_PERM_SEAL_APPLY). Every given field is checked; a
 * lifecycle kind needs seal_code of a seal in a state the kind applies to and takes the
 * fields it does not give from the application that made that seal. ES_ERR_ARG (*field,
 * *why), ES_ERR_NOT_FOUND (the seal), ES_ERR_MK_SEAL_STATE, ES_ERR_UNSUPPORTED (server
 * carrier until the delivery part is merged). *id the new application. */
es_err es_making_create(es_making *m, const es_actor *by, const es_application_input *in,
                        int64_t *id, const char **field, es_reason *why) ES_MUST_CHECK;
/* es_making_create with an idempotency key (the Idempotency-Key header; NULL: none) and the
 * SM3 (64 hex) of the request's body: a retry by the same account with the same key and body
 * within ES_MK_IDEM_TTL gives the application the first made (*replayed 1, audited
 * application.create_repeated), another body with that key ES_ERR_IDEMPOTENCY (*field
 * "Idempotency-Key"). The key is recorded in the create's transaction: concurrent creates
 * with one key make one application. A key that is not 1 to ES_MK_IDEM_KEY_MAX printable
 * ASCII characters is ES_ERR_ARG. */
es_err es_making_create_idem(es_making *m, const es_actor *by, const es_application_input *in,
                             const char *key, const char *body_sm3, int64_t *id, int *replayed,
                             const char **field, es_reason *why) ES_MUST_CHECK;
/* Changes a draft's fields (ES_PERM_SEAL_APPLY) when version is its current version
 * (ES_ERR_MK_VERSION otherwise); ES_ERR_MK_STATE when it is no longer a draft. */
es_err es_making_update(es_making *m, const es_actor *by, int64_t id, int64_t version,
                        const es_application_input *in, const char **field,
                        es_reason *why) ES_MUST_CHECK;
/* One application (any of the three making permissions). whole: the personal fields in
 * full, audited as application.view; otherwise masked. ES_ERR_MK_INTEGRITY when the record's
 * integrity check fails (changed outside the system, or a sealed field moved). */
es_err es_making_get(es_making *m, const es_actor *by, int64_t id, int whole,
                     es_application *out) ES_MUST_CHECK;

typedef struct es_application_filter {
    const char *state, *kind, *uscc, *seal_code; /* NULL or "": any */
    const char *agent_idno;                      /* exact, through the keyed index */
    int64_t after_id;                            /* paging: ids after this one (0: first) */
    int64_t limit;                               /* at most ES_MK_PAGE_MAX */
} es_application_filter;
typedef es_err (*es_application_cb)(void *ctx, const es_application *app);
/* Applications in id order, masked (any of the three making permissions). */
es_err es_making_list(es_making *m, const es_actor *by, const es_application_filter *f,
                      es_application_cb cb, void *ctx) ES_MUST_CHECK;

/* Stores a material of a draft (ES_PERM_SEAL_APPLY): name must be one of the kind's table
 * rows; its type is sniffed from the bytes (PDF, OFD, JPEG, PNG) and must be one the row
 * accepts, its size within the row's limit (ES_ERR_ARG field "material" otherwise). A second
 * upload of the same name replaces the first. */
es_err es_making_material_put(es_making *m, const es_actor *by, int64_t id, const char *name,
                              es_slice bytes, es_reason *why) ES_MUST_CHECK;
typedef struct es_material {
    char name[64];
    char media_type[48];
    char sm3[65];
    int64_t size;
    char uploaded_by[ES_ACCOUNT_NAME_MAX + 8];
    int64_t uploaded_at;
} es_material;
/* A material's bytes (appended to bytes; may be NULL for the metadata only). Any of the three
 * making permissions; audited as application.material_view when bytes are read. */
es_err es_making_material_get(es_making *m, const es_actor *by, int64_t id, const char *name,
                              es_material *out, es_buf *bytes) ES_MUST_CHECK;
typedef es_err (*es_material_cb)(void *ctx, const es_material *mat);
es_err es_making_material_list(es_making *m, const es_actor *by, int64_t id, es_material_cb cb,
                               void *ctx) ES_MUST_CHECK;
/* The seal picture of a draft: a PNG (es_picture_sniff), printed at width_mm x height_mm
 * (10..100 each). */
es_err es_making_picture_put(es_making *m, const es_actor *by, int64_t id, es_slice png,
                             int width_mm, int height_mm, const char **field,
                             es_reason *why) ES_MUST_CHECK;

/* Decisions. proof: the person's PIN or signature (decision.h). why (may be NULL) receives
 * a sentence for a refusal. */
/* draft -> submitted (ES_PERM_SEAL_APPLY): the kind's required materials present
 * (ES_ERR_MK_MATERIALS, why names the first missing), what execution needs present
 * (ES_ERR_MK_INCOMPLETE), no other open application for the same unit and seal name, or the
 * same seal (ES_ERR_MK_DUPLICATE). */
es_err es_making_submit(es_making *m, const es_actor *by, int64_t id,
                        const es_decision_proof *proof, char *why, size_t whylen) ES_MUST_CHECK;
/* submitted -> approved | rejected (ES_PERM_SEAL_REVIEW; never by the one who entered it:
 * ES_ERR_MK_FOUR_EYES, audited). A rejection needs an opinion. */
es_err es_making_review(es_making *m, const es_actor *by, int64_t id, int approve,
                        const char *opinion, const es_decision_proof *proof, char *why,
                        size_t whylen) ES_MUST_CHECK;
/* Carries out an approved application (ES_PERM_SEAL_MAKE), in one transaction holding the
 * CA's lock: apply (industry scope): a new code (es_code_next_in), the certificate (profile
 * "seal", CN = code, O = credit code + unit name, seal source hrss) for the CSR's key, the
 * GB/T 38540 v4 seal signed by the maker (validity = the certificate's), the seal's rows,
 * its status event, the decision and the audit records. Lifecycle kinds revoke the old
 * certificate (change, replace: superseded; loss: keyCompromise; cancel:
 * cessationOfOperation), change the old seal's state, and (change, replace, renew) make the
 * new seal (renew: the same code). An application already made answers ES_OK with its code
 * (a retry finds the first result). code receives the seal made or changed. ES_ERR_BUSY:
 * another process holds the CA (retry). National scope: see "National scope" below (code
 * empty until the seal is made). */
es_err es_making_execute(es_making *m, const es_actor *by, int64_t id,
                         const es_decision_proof *proof, char code[ES_SEAL_CODE_MAX], char *why,
                         size_t whylen) ES_MUST_CHECK;

/* ---- National scope (LD/T 01.1 7.5; docs/making.md "National scope"). An approved
 * national-scope application that makes a seal (apply, change, replace, renew) is carried out
 * through the upstream link: es_making_execute signs the decision and queues code.assign (renew,
 * which keeps its code: none) in one transaction and answers ES_OK with code empty; the
 * application then moves approved -> code_assigned (the answer's transaction,
 * es_making_national_answer) -> certified (the job, es_making_national_advance: the
 * certificate for the code; seal.file queued) -> filed (the answer) -> made (the job: the seal
 * generated after the filing, its rows, its status event). A request the parent refuses (4xx)
 * leaves the flow at step "refused" with the reason; executing again queues it anew under a new
 * idempotency key (audited application.retry). Every status change of a national seal queues
 * seal.status in the transaction of its status event. */
typedef struct es_national_progress {
    char step[16];  /* code_requested, code_assigned, certified, filed, made, refused */
    char waits[16]; /* the request waited for (code.assign, seal.file), or "" */
    char code[ES_SEAL_CODE_MAX];
    char refusal[256]; /* step refused: the parent's reason */
    int tries;         /* 1, then one more for each retry after a refusal */
    int64_t updated_at;
    es_upstream_state request; /* of the request waited for (state "" when none) */
} es_national_progress;
/* The progress of a national-scope application (any of the three making permissions);
 * ES_ERR_NOT_FOUND when it has none (not national, or not executed yet). */
es_err es_making_national_progress(es_making *m, const es_actor *by, int64_t id,
                                   es_national_progress *out) ES_MUST_CHECK;
/* The upstream answer handler of code.assign and seal.file (es_upstream_on_done), run in the
 * write transaction that records the answer, on m->a->store: records the code, police key and
 * police information (sealed with es_protect when m->protect is set) or the filing, and moves
 * the application on, audited. A key that names no flow, or a flow past that step: ES_OK. */
es_err es_making_national_answer(es_making *m, const char *kind, const char *key,
                                 es_slice answer) ES_MUST_CHECK;
/* The job's steps (the node's upstream job, after each pass): refusals noticed
 * (code_requested, certified -> refused), code_assigned -> certified (CA lock), filed -> made
 * (maker key, CA lock), each application in a transaction of its own. *moved (may be NULL)
 * counts the steps made. The first error is returned after the others were tried. */
es_err es_making_national_advance(es_making *m, size_t *moved) ES_MUST_CHECK;

typedef struct es_seal_rec {
    char code[ES_SEAL_CODE_MAX];
    char state[16];
    char cert_serial[41];
    char scope[16], carrier[16];
    char uscc[24], division[8];
    char unit_name[ES_MK_NAME_MAX + 1], seal_name[ES_MK_NAME_MAX + 1];
    int seal_type;
    int64_t valid_start, valid_end;
    int64_t application_id;
    int64_t made_at;
    char made_by[ES_ACCOUNT_NAME_MAX + 8];
    int64_t delivered_at; /* 0: not delivered */
    char delivered_by[ES_ACCOUNT_NAME_MAX + 8], delivered_to[ES_MK_NAME_MAX + 1];
    int has_package;
    char source[16];  /* "made" here, or "imported" from another vendor's system */
    char vendor[101]; /* imported: the source system (making_import.h) */
    int verified;     /* imported: its maker chain was checked against the importer's roots */
} es_seal_rec;

/* Records the delivery of a made seal (ES_PERM_SEAL_MAKE) to `to` (the agent who received
 * it), signed by the one who delivers; the application that made it becomes delivered.
 * ES_ERR_MK_STATE when delivered already. */
es_err es_making_deliver(es_making *m, const es_actor *by, const char *code, const char *to,
                         const es_decision_proof *proof, char *why, size_t whylen) ES_MUST_CHECK;

/* One seal (any of the three making permissions); cert and esl (may be NULL) receive the
 * current certificate and seal DER. ES_ERR_NOT_FOUND. */
es_err es_making_seal_get(es_making *m, const es_actor *by, const char *code, es_seal_rec *out,
                          es_buf *cert, es_buf *esl) ES_MUST_CHECK;
/* The server package of a seal made for the server carrier (ES_PERM_SEAL_MAKE). */
es_err es_making_seal_package(es_making *m, const es_actor *by, const char *code,
                              es_buf *pkg) ES_MUST_CHECK;
typedef struct es_seal_filter {
    const char *code, *name, *uscc, *state; /* NULL or "": any; name: a substring */
    const char *after_code;                 /* paging */
    int64_t limit;
} es_seal_filter;
typedef es_err (*es_seal_cb)(void *ctx, const es_seal_rec *s);
es_err es_making_seal_list(es_making *m, const es_actor *by, const es_seal_filter *f, es_seal_cb cb,
                           void *ctx) ES_MUST_CHECK;

typedef struct es_status_event {
    int64_t seq;
    char code[ES_SEAL_CODE_MAX];
    char cert_serial[41];
    char state[16];
    int64_t effective_at;
    char reason[64];
    int64_t application_id;
} es_status_event;
typedef es_err (*es_status_event_cb)(void *ctx, const es_status_event *e);
/* Status events after seq `after`, in order, at most limit; code (may be NULL) restricts
 * them to one seal (its history). Any of the three making permissions, or ES_PERM_VERIFY. */
es_err es_making_events(es_making *m, const es_actor *by, int64_t after, const char *code,
                        int64_t limit, es_status_event_cb cb, void *ctx) ES_MUST_CHECK;

/* The type of a material by its bytes, as es_making_material_put decides it: "pdf", "ofd" (a
 * zip whose local file headers in its first 64 KiB name OFD.xml), "jpeg", "png"; NULL for
 * anything else. Static strings. */
const char *es_making_material_type(es_slice bytes);

/* Test hook: when the environment variable ESEAL_TEST_MAKING_PAUSE names a file, execution
 * creates that file after the certificate row is written (inside the transaction) and waits
 * until it is removed, so that a test can kill the process there. */
#define ES_MAKING_PAUSE_ENV "ESEAL_TEST_MAKING_PAUSE"

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
