/* Private to the doc layer: the OFD package reader shared by verification and signing. */
#ifndef ESEAL_DOC_INTERNAL_H
#define ESEAL_DOC_INTERNAL_H

#include <libxml/tree.h>
#include <zip.h>

#include "eseal/ofd.h"

typedef struct ofd_entry {
    char *name; /* normalised: no leading slash, '/' separators */
    zip_uint64_t index;
    uint64_t size; /* declared uncompressed size */
    uint64_t comp; /* declared compressed size */
    int is_dir;
    int hashed; /* 1: sm3 valid; -1: reading failed (err says why) */
    uint8_t sm3[ES_SM3_LEN];
    es_err err;
} ofd_entry;

struct es_ofd {
    zip_t *z;
    ofd_entry *e;
    size_t n;
    size_t *sorted; /* indexes into e, sorted by name (directories excluded) */
    size_t n_sorted;
    es_ofd_limits lim;
    uint8_t *chunk; /* streaming buffer */
};

#define OFD_CHUNK (64u * 1024)

/* Writes a sentence into why (may be NULL) and returns rv. */
es_err ofd_fail(char *why, size_t whylen, es_err rv, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Normalises a path: ref relative to the directory of base (a normalised file name; NULL or ""
 * for the root) unless ref is absolute. Collapses "//", "\\" and "./", resolves "..", refuses
 * to leave the root. Returns a malloc'd name without leading slash, or NULL. Sets the
 * ES_QUIRK_OFD_PATH_SLASHES bit in *q (may be NULL) for doubled slashes or backslashes. */
char *ofd_path_join(const char *base, const char *ref, es_quirks *q);
/* Entry index of a normalised name: exact, else case-insensitive when unambiguous (quirk). */
long ofd_lookup(const es_ofd *o, const char *name, es_quirks *q);
/* Resolves a path as written in the file base: relative to base's directory, else to the root
 * (quirk); absolute paths as they are. *norm (may be NULL) receives the malloc'd normalised
 * name of the entry found, or of the path looked for. Returns the entry index or -1. */
long ofd_resolve(const es_ofd *o, const char *base, const char *ref, char **norm, es_quirks *q);

/* SM3 of an entry, streamed and cached. ES_ERR_LIMIT when it inflates past its declared size,
 * ES_ERR_FORMAT for a corrupt entry. */
es_err ofd_entry_sm3(es_ofd *o, size_t i, uint8_t out[ES_SM3_LEN]) ES_MUST_CHECK;
/* Reads an entry into b (which must be empty), at most max bytes (ES_ERR_LIMIT). */
es_err ofd_entry_read(es_ofd *o, size_t i, size_t max, es_buf *b) ES_MUST_CHECK;

/* Parses XML with the limits (size, depth), no network, no entities, no DOCTYPE. On error
 * writes why ("name: reason") and returns ES_ERR_FORMAT (or ES_ERR_LIMIT). */
es_err ofd_xml_parse(const es_ofd *o, const uint8_t *p, size_t len, const char *name, xmlDoc **out,
                     char *why, size_t whylen) ES_MUST_CHECK;
/* Reads and parses an entry. */
es_err ofd_xml_entry(es_ofd *o, size_t i, xmlDoc **out, char *why, size_t whylen) ES_MUST_CHECK;

/* Element helpers: elements are matched by local name (namespaces vary between producers). */
int ofd_xml_is(const xmlNode *n, const char *local);
xmlNode *ofd_xml_child(const xmlNode *n, const char *local);
xmlNode *ofd_xml_next(const xmlNode *n, const char *local); /* next sibling with that name */
/* Trimmed text content of an element (text and CDATA children), malloc'd; "" when empty. */
char *ofd_xml_text(const xmlNode *n);
/* Attribute value (trimmed), malloc'd, or NULL when absent. */
char *ofd_xml_attr(const xmlNode *n, const char *name);
/* Sets ES_QUIRK_OFD_NAMESPACE when an element of the tree is outside ES_OFD_NS. */
void ofd_xml_check_ns(const xmlNode *n, es_quirks *q);

/* "x y w h" into four numbers; 0 when it is not four numbers. */
int ofd_parse_box(const char *s, double out[4]);

/* What OFD.xml and Document.xml say. */
typedef struct ofd_docbody {
    char *doc_root;   /* normalised Document.xml, or NULL */
    char *signatures; /* the signature list as written, or NULL */
} ofd_docbody;

typedef struct ofd_root {
    size_t ofd_xml; /* entry of OFD.xml */
    ofd_docbody *bodies;
    size_t n_bodies;
    es_quirks quirks;
} ofd_root;

/* Reads OFD.xml. Errors when it is missing, not XML or not an OFD root. */
es_err ofd_root_read(es_ofd *o, ofd_root *r, char *why, size_t whylen) ES_MUST_CHECK;
void ofd_root_cleanup(ofd_root *r);
/* Reads the pages of a Document.xml (normalised name): IDs, content paths, boxes. */
es_err ofd_pages_read(es_ofd *o, const char *doc, es_ofd_page **pages, size_t *n, char *why,
                      size_t whylen) ES_MUST_CHECK;
void ofd_pages_free(es_ofd_page *pages, size_t n);
/* Refines a page's box with the Area/PhysicalBox of its Content.xml, when it has one. */
void ofd_page_box(es_ofd *o, es_ofd_page *pg);

/* strdup that returns NULL for NULL. */
char *ofd_strdup(const char *s);

#endif
