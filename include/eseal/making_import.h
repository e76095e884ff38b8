/* eseal making: bulk import of seals already issued by another vendor's system into the
 * registry (issue 10; docs/making.md "Import of other vendors' seals"), so that the status
 * publishing system publishes their status too.
 *
 * A batch names the vendor (the source system), its seal files (.esl: GB/T 38540 v4 and v5,
 * GM/T 0031 v1/v2, as src/seal reads them), optional certificate files (the holder's
 * certificate of a seal whose certificate list holds digests) and the trust roots the maker
 * certificates are checked against. Each file is checked (structure, maker signature, maker
 * chain, code format, validity, holder certificate, duplicates by file, code and certificate
 * serial) and either imported in ONE transaction of its own (the application that stands for
 * it, the seal and its certificate rows, source imported, its status event, the file's outcome
 * and the audit record: never half a seal) or recorded as a duplicate or refused with its
 * reason. The batch is the importer's decision, signed before its first transaction and
 * stored in it (decision.h). A batch is resumed by naming it again with the same files: the
 * files already recorded are not done again.
 *
 * Thread safety: as es_making (one thread's store connection).
 */
#ifndef ESEAL_MAKING_IMPORT_H
#define ESEAL_MAKING_IMPORT_H

#include "eseal/making.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

#define ES_IMPORT_FILES_MAX  500        /* files of one batch (one request) */
#define ES_IMPORT_FILE_MAX   (1u << 20) /* bytes of one seal or certificate file */
#define ES_IMPORT_ROOTS_MAX  32
#define ES_IMPORT_CERTS_MAX  500
#define ES_IMPORT_VENDOR_MAX 100 /* bytes of UTF-8 */
#define ES_IMPORT_NAME_MAX   255

typedef struct es_import_file {
    const char *name; /* the file's name as the importer knows it (report only) */
    es_slice bytes;
} es_import_file;

typedef struct es_import_request {
    const char *vendor; /* the source system, e.g. "山东省政府统一电子印章制作系统" */
    const es_import_file *files;
    size_t n_files;
    const es_slice *certs; /* DER certificates (holder certificates named by digest) */
    size_t n_certs;
    const es_slice *roots; /* DER trust roots for the maker certificates */
    size_t n_roots;
    int allow_unverified; /* import a seal whose maker chain cannot be checked (recorded) */
    int64_t resume;       /* 0: a new batch; else the batch to go on with */
} es_import_request;

/* The outcome of one file. reason: "" when imported; otherwise one of
 *   duplicate: "same_file", "same_code", "same_certificate";
 *   refused: "empty", "too_large", "format", "maker_signature", "maker_chain", "code_format",
 *            "code_reserved", "validity", "holder_certificate", "serial_collision",
 *            "data" (a name or field too long for the registry). */
typedef struct es_import_outcome {
    char name[ES_IMPORT_NAME_MAX + 1];
    char sm3[65];
    char outcome[16]; /* "imported" | "duplicate" | "refused" */
    char code[ES_SEAL_CODE_MAX];
    char reason[32];
    char message[400], message_zh[400];
    int verified;  /* imported: the maker chain was checked against the roots */
    int expired;   /* imported: the seal's validity has ended (its state stays active) */
    int64_t index; /* the file's place in the request that did it */
} es_import_outcome;
typedef es_err (*es_import_cb)(void *ctx, size_t i, size_t n, const es_import_outcome *o);

typedef struct es_import_batch {
    int64_t id;
    char vendor[ES_IMPORT_VENDOR_MAX + 1];
    int allow_unverified;
    int64_t files; /* in the request */
    int64_t imported, duplicates, refused;
    char created_by[ES_ACCOUNT_NAME_MAX + 8];
    int64_t created_at, updated_at;
    int64_t decision;
} es_import_batch;

/* Imports a batch (ES_PERM_SEAL_MAKE), signed as by's decision "seal.import" on
 * "import:ID" (proof: decision.h). cb (may be NULL) is called after each file with its
 * outcome (progress). ES_ERR_ARG (*field, *why) for a bad request (no vendor, no files, too
 * many, a root that is not a certificate); ES_ERR_NOT_FOUND for a resumed batch that does not
 * exist; ES_ERR_MK_IMPORT_BATCH for one that is another person's or whose files differ. The
 * outcome of each file is in the batch's report (es_making_import_get) whatever it is. */
es_err es_making_import(es_making *m, const es_actor *by, const es_import_request *rq,
                        const es_decision_proof *proof, int64_t *id, es_import_cb cb, void *ctx,
                        const char **field, es_reason *why) ES_MUST_CHECK;

/* A batch and its files' outcomes in the order they were done (any of the three making
 * permissions). ES_ERR_NOT_FOUND. */
es_err es_making_import_get(es_making *m, const es_actor *by, int64_t id, es_import_batch *out,
                            es_import_cb cb, void *ctx) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
