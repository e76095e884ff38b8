/* eseal ofd: OFD documents (GB/T 33190-2016, chapter 18) signed with GB/T 38540 seals:
 * read a package, verify every signature in it, add signatures, list pages and seals.
 *
 * A package is a zip file. It is read with libzip and its XML with libxml2, within limits
 * (es_ofd_limits) that hold against zip bombs and oversized XML: entry count, declared and
 * actual uncompressed sizes, compression ratio, XML size and nesting depth; XML is parsed
 * without network access, without entity substitution and without DTDs (a DOCTYPE is
 * refused). Entries are hashed as streams: no entry is held in memory just to hash it, so
 * memory does not grow with the document.
 *
 * Unlike the layers below, this layer reads and writes files itself (through libzip), because
 * a package is streamed rather than held.
 *
 * Paths inside the package are normalised before lookup: absolute ("/Doc_0/x"), relative to
 * the file that names them ("Sign_0/Signature.xml" in Signatures.xml), doubled slashes and
 * backslashes; the case stored in the zip decides, and a name that matches only when case is
 * ignored is accepted (once, unambiguously) as a quirk. Reported paths are absolute
 * ("/Doc_0/Signs/Sign_0/Signature.xml").
 *
 * Thread safety: an es_ofd is used by one thread at a time; distinct packages may be used from
 * distinct threads once libxml2 is initialised (es_ofd_open does it; call it first from the
 * main thread in a threaded program).
 */
#ifndef ESEAL_OFD_H
#define ESEAL_OFD_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/err.h"
#include "eseal/report.h"
#include "eseal/seal.h"
#include "eseal/signer.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* Default limits (es_ofd_limits_default). */
#define ES_OFD_MAX_ENTRIES    100000               /* files in a package */
#define ES_OFD_MAX_ENTRY_SIZE ((uint64_t)4 << 30)  /* uncompressed bytes of one file */
#define ES_OFD_MAX_TOTAL_SIZE ((uint64_t)64 << 30) /* uncompressed bytes of all files */
#define ES_OFD_MAX_RATIO      200                  /* uncompressed : compressed, per file ... */
#define ES_OFD_RATIO_FLOOR    ((uint64_t)1 << 20)  /* ... for files larger than this */
#define ES_OFD_MAX_XML        (16u * 1024 * 1024)  /* an XML file that is parsed */
#define ES_OFD_MAX_XML_DEPTH  64                   /* element nesting of a parsed XML file */
#define ES_OFD_MAX_SIGNATURES 1000                 /* signatures in a package */
#define ES_OFD_MAX_REFERENCES 100000               /* References of one signature */
#define ES_OFD_MAX_PAGES      100000

/* The namespace of the OFD schemas (GB/T 33190 annex A). */
#define ES_OFD_NS "http://www.ofdspec.org/2016"

typedef struct es_ofd_limits {
    size_t max_entries;
    uint64_t max_entry_size;
    uint64_t max_total_size;
    uint32_t max_ratio;
    uint64_t ratio_floor;
    size_t max_xml;
    int max_xml_depth;
    size_t max_signatures;
    size_t max_references;
} es_ofd_limits;

/* Fills l with the ES_OFD_MAX_* defaults. */
void es_ofd_limits_default(es_ofd_limits *l);

/* An opened package (owned; es_ofd_free). */
typedef struct es_ofd es_ofd;

/* Opens the package at path (es_ofd_open) or in memory (es_ofd_open_mem: p is borrowed and
 * must outlive the package). lim may be NULL for the defaults. Checks the zip's directory
 * against the limits before anything is read.
 * Returns ES_ERR_NOT_FOUND / ES_ERR_IO for the file, ES_ERR_FORMAT when it is not a zip (or a
 * truncated or inconsistent one, or two entries with one name), ES_ERR_LIMIT when a limit is
 * exceeded; why (may be NULL) receives one sentence for the user. */
es_err es_ofd_open(const char *path, const es_ofd_limits *lim, es_ofd **out, char *why,
                   size_t whylen) ES_MUST_CHECK;
es_err es_ofd_open_mem(const void *p, size_t len, const es_ofd_limits *lim, es_ofd **out, char *why,
                       size_t whylen) ES_MUST_CHECK;
/* Closes the package; NULL is a no-op. */
void es_ofd_free(es_ofd *o);
/* Number of zip entries (directories included). */
size_t es_ofd_entry_count(const es_ofd *o);

/* --- Verification --- */

/* Checks an OFD signature entry adds to those of the seal core (docs/ofd.md). */
#define ES_CHECK_REFERENCES "references" /* every Reference's CheckValue = SM3 of the file */
#define ES_CHECK_CHANGES    "changes"    /* changed files: by a later signature or not */
#define ES_CHECK_COVERAGE   "coverage"   /* files of the package that no signature covers */
#define ES_CHECK_SEAL_FILE  "seal_file"  /* Seal.esl is the seal inside the signature */

typedef enum es_ofd_ref_state {
    ES_OFD_REF_OK = 0,
    ES_OFD_REF_CHANGED,     /* SM3 of the file differs from the CheckValue */
    ES_OFD_REF_MISSING,     /* no such file in the package */
    ES_OFD_REF_UNREADABLE,  /* the file cannot be read (CRC error, limits) */
    ES_OFD_REF_BAD_VALUE,   /* the CheckValue is not base64 of a 32-byte SM3 value */
    ES_OFD_REF_UNSUPPORTED, /* CheckMethod is not SM3 (MD5 and SHA1 are not supported) */
} es_ofd_ref_state;

typedef struct es_ofd_ref {
    char *path; /* normalised absolute path ("/Doc_0/Document.xml") */
    es_ofd_ref_state state;
    int by_later; /* changed, and the change is the one adding a later signature makes */
} es_ofd_ref;

typedef struct es_ofd_stamp {
    char *id;
    char *page_ref;     /* the page's ID as written */
    long page;          /* 1-based page number, 0 when no page has that ID */
    double boundary[4]; /* x y w h in mm */
    int has_clip;
    double clip[4];
} es_ofd_stamp;

/* What the package says about one signature, and what verification found. Strings are owned
 * by the result; NULL when absent. */
typedef struct es_ofd_sig {
    char *id;            /* Signature ID attribute in the signature list */
    char *type;          /* "Seal" (the default) or "Sign" */
    char *signature_xml; /* normalised path of its Signature.xml */
    char *signed_value;  /* normalised path of its SignedValue file */
    char *seal_file;     /* normalised path of its Seal.esl */
    char *provider;      /* ProviderName, Version and Company in one line */
    char *date_time;     /* SignatureDateTime as written */
    size_t entry;        /* index of its entry in the report */
    es_ofd_ref *refs;
    size_t n_refs;
    size_t n_bad;         /* refs whose state is not ES_OFD_REF_OK */
    int changed_by_later; /* n_bad > 0 and every bad ref is by_later */
    char **later;         /* IDs of signatures made after this one */
    size_t n_later;
    es_ofd_stamp *stamps;
    size_t n_stamps;
} es_ofd_sig;

typedef struct es_ofd_page {
    char *id;
    char *path;    /* normalised path of its Content.xml */
    double box[4]; /* PhysicalBox in mm (the page's, else the document's, else A4) */
} es_ofd_page;

typedef struct es_ofd_result {
    es_ofd_sig *sigs;
    size_t n_sigs;
    char **uncovered; /* files that no signature covers (normalised paths) */
    size_t n_uncovered;
    es_ofd_page *pages; /* pages of the first document (empty if Document.xml is unreadable) */
    size_t n_pages;
} es_ofd_result;

void es_ofd_result_init(es_ofd_result *r);
void es_ofd_result_cleanup(es_ofd_result *r);

/* Verifies every signature of the package and adds one entry per signature to rep (id = the
 * signature's ID, kind as the seal core names it, or "sm2_signature" for a bare SM2 value,
 * "ofd_signature" when no signature value can be found), in the order of the signature list.
 * Each entry has the seal core's checks (data_hash compares the signed hash with SM3 of the
 * raw Signature.xml bytes) and ES_CHECK_REFERENCES, ES_CHECK_CHANGES, ES_CHECK_COVERAGE, and
 * ES_CHECK_SEAL_FILE when a Seal.esl is named. opts->data_sm3 and opts->data are ignored.
 * res (may be NULL) receives the details; it must have been initialised.
 * Returns ES_OK whenever a report was made, even with FAILED entries; a package whose
 * OFD.xml or signature list is missing or unreadable is an error (ES_ERR_FORMAT,
 * ES_ERR_NOT_FOUND, ES_ERR_LIMIT) explained in why. */
es_err es_ofd_verify(es_ofd *o, const es_verify_opts *opts, es_report *rep, es_ofd_result *res,
                     char *why, size_t whylen) ES_MUST_CHECK;

/* Appends a description of the package: pages (number, ID, size) and signatures (ID, type,
 * signer, seal name, time, stamp positions, verdict), as text or JSON. Verifies without trust
 * anchors to learn the signers. Errors as es_ofd_verify. */
es_err es_ofd_print(es_ofd *o, int json, es_buf *out, char *why, size_t whylen) ES_MUST_CHECK;

/* The seals of the package: for each signature, the seal inside its signature value and, when
 * it differs (or the value holds none), the one in its Seal.esl. Owned copies. */
typedef struct es_ofd_seal_item {
    char *sig_id;
    char *source; /* the normalised path the seal was read from */
    uint8_t *der;
    size_t len;
} es_ofd_seal_item;
es_err es_ofd_seals(es_ofd *o, es_ofd_seal_item **items, size_t *n, char *why,
                    size_t whylen) ES_MUST_CHECK;
void es_ofd_seals_free(es_ofd_seal_item *items, size_t n);

/* --- Signing --- */

typedef struct es_ofd_sign_params {
    es_slice seal;        /* SESeal DER (v4/v5), written as Seal.esl and embedded */
    es_slice signer_cert; /* DER; in the seal's certificate list, the signer's key's */
    const char *sm2_id;   /* NULL: the default ID */
    es_time time;         /* ES_TIME_NONE: now */
    long page;            /* 1-based page number of the stamp */
    double x, y;          /* stamp position in mm from the page's top-left corner */
    long riding_from;     /* riding seal (骑缝章) over pages riding_from..riding_to (1-based, */
    long riding_to;       /* inclusive; 0: none): one slice per page at its right edge */
    int riding_has_y;     /* riding seal: y given (else centred vertically) */
} es_ofd_sign_params;

/* Adds a signature to the package at in and writes the result to out (which may be in):
 * Signs/Sign_N/Signature.xml (SM3 References over every file but the signature list, a
 * StampAnnot per stamped page sized from the seal picture), Seal.esl and SignedValue.dat (a
 * GB/T 38540 v4 SES_Signature whose dataHash is SM3 of Signature.xml and whose propertyInfo
 * is its path), and the updated signature list (created, and named in OFD.xml, when absent).
 * Every other entry is copied byte for byte. out is written through a temporary file in its
 * directory and renamed into place: it is either complete or untouched.
 * Errors: ES_ERR_ARG (a page that does not exist, a bad range), the errors of es_ofd_open,
 * ES_ERR_NOT_FOUND / ES_ERR_FORMAT for a package es_ofd_verify would refuse (no Document.xml,
 * a signature list named but missing), the errors of es_signature_make (ES_ERR_CERT,
 * ES_ERR_KEY_MISMATCH, ES_ERR_UNSUPPORTED), ES_ERR_IO; why explains. Not thread-safe with
 * respect to out (one writer per file). */
es_err es_ofd_sign(const char *in, const char *out, const es_ofd_sign_params *p, es_signer *signer,
                   const es_ofd_limits *lim, char *why, size_t whylen) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
