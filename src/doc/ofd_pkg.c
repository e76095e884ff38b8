/* The OFD package reader: the zip directory checked against limits, normalised lookup of
 * paths, streamed SM3 of entries, and XML parsing without network, entities or DTDs.
 *
 * Zip bombs are stopped three ways: the directory's declared sizes (per entry, in total, and
 * the ratio to the compressed size) are checked before anything is inflated; an entry that
 * inflates past its declared size is cut off at that size; and whole-entry reads (XML,
 * signature values) have their own small maxima.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "doc/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

void es_ofd_limits_default(es_ofd_limits *l)
{
    l->max_entries = ES_OFD_MAX_ENTRIES;
    l->max_entry_size = ES_OFD_MAX_ENTRY_SIZE;
    l->max_total_size = ES_OFD_MAX_TOTAL_SIZE;
    l->max_ratio = ES_OFD_MAX_RATIO;
    l->ratio_floor = ES_OFD_RATIO_FLOOR;
    l->max_xml = ES_OFD_MAX_XML;
    l->max_xml_depth = ES_OFD_MAX_XML_DEPTH;
    l->max_signatures = ES_OFD_MAX_SIGNATURES;
    l->max_references = ES_OFD_MAX_REFERENCES;
}

es_err ofd_fail(char *why, size_t whylen, es_err rv, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return rv;
}

char *ofd_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *ofd_path_join(const char *base, const char *ref, es_quirks *q)
{
    if (!ref) return NULL;
    while (is_space((unsigned char)*ref)) ref++;
    size_t rl = strlen(ref);
    while (rl && is_space((unsigned char)ref[rl - 1])) rl--;
    if (rl == 0) return NULL;

    int absolute = ref[0] == '/' || ref[0] == '\\';
    size_t bl = 0;
    if (!absolute && base) {
        const char *slash = strrchr(base, '/');
        bl = slash ? (size_t)(slash - base) + 1 : 0; /* the directory, with its slash */
    }
    char *in = malloc(bl + rl + 1);
    char *out = malloc(bl + rl + 2);
    if (!in || !out) {
        free(in);
        free(out);
        return NULL;
    }
    if (bl) memcpy(in, base, bl);
    memcpy(in + bl, ref, rl);
    in[bl + rl] = 0;

    /* Quirks are about what the producer wrote, so look at ref only: "//x", "a//b", '\'. */
    for (size_t i = 0; i < rl; i++) {
        if (ref[i] == '\\' || (i + 1 < rl && ref[i] == '/' && ref[i + 1] == '/')) {
            if (q) *q |= ES_QUIRK(ES_QUIRK_OFD_PATH_SLASHES);
            break;
        }
    }

    /* Segments; out holds the normalised name, with where each segment began for "..". */
    size_t o = 0;
    size_t starts[512];
    size_t depth = 0;
    char *p = in;
    while (*p) {
        char *seg = p;
        while (*p && *p != '/' && *p != '\\') p++;
        size_t sl = (size_t)(p - seg);
        if (*p) p++;
        if (sl == 0 || (sl == 1 && seg[0] == '.')) continue;
        if (sl == 2 && seg[0] == '.' && seg[1] == '.') {
            if (depth == 0) goto bad; /* above the package root */
            o = starts[--depth];
            continue;
        }
        if (depth == sizeof starts / sizeof starts[0]) goto bad;
        starts[depth++] = o; /* ".." returns here, dropping "/seg" */
        if (o) out[o++] = '/';
        memcpy(out + o, seg, sl);
        o += sl;
    }
    if (o == 0) goto bad;
    out[o] = 0;
    free(in);
    return out;
bad:
    free(in);
    free(out);
    return NULL;
}

typedef struct name_idx {
    const char *name;
    size_t idx;
} name_idx;

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const name_idx *)a)->name, ((const name_idx *)b)->name);
}

long ofd_lookup(const es_ofd *o, const char *name, es_quirks *q)
{
    if (!name) return -1;
    size_t lo = 0, hi = o->n_sorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, o->e[o->sorted[mid]].name);
        if (c == 0) return (long)o->sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    /* Case as stored decides; a name that matches only without case is accepted when no
     * other entry matches it too. */
    long found = -1;
    for (size_t i = 0; i < o->n_sorted; i++) {
        if (strcasecmp(name, o->e[o->sorted[i]].name) != 0) continue;
        if (found >= 0) return -1;
        found = (long)o->sorted[i];
    }
    if (found >= 0 && q) *q |= ES_QUIRK(ES_QUIRK_OFD_PATH_CASE);
    return found;
}

long ofd_resolve(const es_ofd *o, const char *base, const char *ref, char **norm, es_quirks *q)
{
    if (norm) *norm = NULL;
    es_quirks local = 0;
    char *n1 = ofd_path_join(base, ref, &local);
    if (!n1) return -1;
    long i = ofd_lookup(o, n1, &local);
    const char *r = ref;
    while (is_space((unsigned char)*r)) r++;
    int relative = *r != '/' && *r != '\\';
    if (i < 0 && relative && base && strchr(base, '/')) {
        /* "Doc_0/Signs/Sign_0/SignedValue.dat" written in Signature.xml: root-relative. */
        char *n2 = ofd_path_join(NULL, ref, &local);
        long j = n2 ? ofd_lookup(o, n2, &local) : -1;
        free(n2);
        if (j >= 0) {
            local |= ES_QUIRK(ES_QUIRK_OFD_PATH_ROOT);
            i = j;
        }
    }
    if (q) *q |= local;
    if (norm) {
        if (i >= 0) {
            free(n1);
            *norm = strdup(o->e[i].name);
        } else {
            *norm = n1;
        }
        return i;
    }
    free(n1);
    return i;
}

static es_err zip_msg(char *why, size_t whylen, es_err rv, const char *what, int code)
{
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    ofd_fail(why, whylen, rv, "%s: %s", what, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return rv;
}

static es_err load_directory(es_ofd *o, char *why, size_t whylen)
{
    zip_int64_t n = zip_get_num_entries(o->z, 0);
    if (n < 0) return ofd_fail(why, whylen, ES_ERR_FORMAT, "cannot read the zip directory");
    if ((uint64_t)n > o->lim.max_entries)
        return ofd_fail(why, whylen, ES_ERR_LIMIT,
                        "%lld files in the package, more than the %zu "
                        "allowed",
                        (long long)n, o->lim.max_entries);
    if (n == 0) return ofd_fail(why, whylen, ES_ERR_FORMAT, "the zip holds no file");
    o->e = calloc((size_t)n, sizeof *o->e);
    o->sorted = calloc((size_t)n, sizeof *o->sorted);
    if (!o->e || !o->sorted) return ES_ERR_NOMEM;
    uint64_t total = 0;
    for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++) {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(o->z, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) ||
            !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
            return ofd_fail(why, whylen, ES_ERR_FORMAT, "zip entry %llu cannot be read",
                            (unsigned long long)i);
        ofd_entry *e = &o->e[o->n++];
        e->index = i;
        e->size = st.size;
        e->comp = st.comp_size;
        size_t nl = strlen(st.name);
        e->is_dir = nl > 0 && (st.name[nl - 1] == '/' || st.name[nl - 1] == '\\');
        e->name = ofd_path_join(NULL, st.name, NULL);
        if (!e->name) {
            if (e->is_dir) continue; /* "/" or "./": nothing to look up */
            return ofd_fail(why, whylen, ES_ERR_FORMAT, "zip entry name '%s' leaves the package",
                            st.name);
        }
        if (e->size > o->lim.max_entry_size)
            return ofd_fail(why, whylen, ES_ERR_LIMIT,
                            "/%s: %llu bytes uncompressed, more than the %llu allowed", e->name,
                            (unsigned long long)e->size, (unsigned long long)o->lim.max_entry_size);
        if (e->size > o->lim.ratio_floor && (e->comp == 0 || e->size / e->comp >= o->lim.max_ratio))
            return ofd_fail(why, whylen, ES_ERR_LIMIT,
                            "/%s: %llu bytes compressed to %llu, a ratio past %u:1 (zip bomb)",
                            e->name, (unsigned long long)e->size, (unsigned long long)e->comp,
                            o->lim.max_ratio);
        total += e->size;
        if (total > o->lim.max_total_size)
            return ofd_fail(why, whylen, ES_ERR_LIMIT,
                            "the files inflate to more than the %llu bytes allowed (zip bomb)",
                            (unsigned long long)o->lim.max_total_size);
        if (!e->is_dir) o->sorted[o->n_sorted++] = o->n - 1;
    }
    /* qsort has no context argument: sort (name, index) pairs. */
    name_idx *ni = malloc((o->n_sorted ? o->n_sorted : 1) * sizeof *ni);
    if (!ni) return ES_ERR_NOMEM;
    for (size_t i = 0; i < o->n_sorted; i++) {
        ni[i].name = o->e[o->sorted[i]].name;
        ni[i].idx = o->sorted[i];
    }
    qsort(ni, o->n_sorted, sizeof *ni, cmp_name);
    for (size_t i = 0; i < o->n_sorted; i++) o->sorted[i] = ni[i].idx;
    free(ni);
    for (size_t i = 1; i < o->n_sorted; i++)
        if (strcmp(o->e[o->sorted[i - 1]].name, o->e[o->sorted[i]].name) == 0)
            /* Two entries, one name: a verifier and a viewer could read different ones. */
            return ofd_fail(why, whylen, ES_ERR_FORMAT, "two zip entries are named /%s",
                            o->e[o->sorted[i]].name);
    return ES_OK;
}

static es_err ofd_new(const es_ofd_limits *lim, es_ofd **out)
{
    es_ofd *o = calloc(1, sizeof *o);
    if (!o) return ES_ERR_NOMEM;
    if (lim)
        o->lim = *lim;
    else
        es_ofd_limits_default(&o->lim);
    o->chunk = malloc(OFD_CHUNK);
    if (!o->chunk) {
        free(o);
        return ES_ERR_NOMEM;
    }
    xmlInitParser();
    *out = o;
    return ES_OK;
}

es_err es_ofd_open(const char *path, const es_ofd_limits *lim, es_ofd **out, char *why,
                   size_t whylen)
{
    es_ofd *o = NULL;
    es_err rv;
    *out = NULL;
    if (!path) return ES_ERR_ARG;
    if ((rv = ofd_new(lim, &o)) != ES_OK) return rv;
    int err = 0;
    o->z = zip_open(path, ZIP_RDONLY, &err);
    if (!o->z) {
        rv = err == ZIP_ER_NOENT                                              ? ES_ERR_NOT_FOUND
             : err == ZIP_ER_OPEN || err == ZIP_ER_READ || err == ZIP_ER_SEEK ? ES_ERR_IO
                                                                              : ES_ERR_FORMAT;
        zip_msg(why, whylen, rv,
                rv == ES_ERR_FORMAT ? "not an OFD package (a zip file), or a truncated one"
                                    : "cannot open",
                err);
        goto out;
    }
    CHECK(load_directory(o, why, whylen));
    *out = o;
    o = NULL;
out:
    es_ofd_free(o);
    return rv;
}

es_err es_ofd_open_mem(const void *p, size_t len, const es_ofd_limits *lim, es_ofd **out, char *why,
                       size_t whylen)
{
    es_ofd *o = NULL;
    es_err rv;
    *out = NULL;
    if (!p && len) return ES_ERR_ARG;
    if ((rv = ofd_new(lim, &o)) != ES_OK) return rv;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(len ? p : "", len, 0, &ze);
    if (src) {
        o->z = zip_open_from_source(src, ZIP_RDONLY, &ze);
        if (!o->z) zip_source_free(src);
    }
    if (!o->z) {
        rv = ES_ERR_FORMAT;
        ofd_fail(why, whylen, rv, "not an OFD package (a zip file), or a truncated one: %s",
                 zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto out;
    }
    zip_error_fini(&ze);
    CHECK(load_directory(o, why, whylen));
    *out = o;
    o = NULL;
out:
    es_ofd_free(o);
    return rv;
}

void es_ofd_free(es_ofd *o)
{
    if (!o) return;
    if (o->z) zip_discard(o->z);
    for (size_t i = 0; i < o->n; i++) free(o->e[i].name);
    free(o->e);
    free(o->sorted);
    free(o->chunk);
    free(o);
}

size_t es_ofd_entry_count(const es_ofd *o)
{
    return o ? o->n : 0;
}

/* Streams an entry through fn, never past its declared size. */
static es_err stream_entry(es_ofd *o, size_t i, es_err (*fn)(void *, const uint8_t *, size_t),
                           void *arg)
{
    ofd_entry *e = &o->e[i];
    zip_file_t *f = zip_fopen_index(o->z, e->index, 0);
    if (!f) return ES_ERR_FORMAT; /* encrypted, unknown compression, corrupt header */
    es_err rv = ES_OK;
    uint64_t total = 0;
    for (;;) {
        zip_int64_t n = zip_fread(f, o->chunk, OFD_CHUNK);
        if (n < 0) {
            rv = ES_ERR_FORMAT; /* inflate or CRC error */
            break;
        }
        if (n == 0) break;
        total += (uint64_t)n;
        if (total > e->size) {
            rv = ES_ERR_LIMIT; /* inflates past what the directory declares */
            break;
        }
        if ((rv = fn(arg, o->chunk, (size_t)n)) != ES_OK) break;
    }
    if (rv == ES_OK && total != e->size) rv = ES_ERR_FORMAT;
    zip_fclose(f);
    return rv;
}

static es_err sm3_cb(void *arg, const uint8_t *p, size_t n)
{
    return es_sm3_update(arg, p, n);
}

es_err ofd_entry_sm3(es_ofd *o, size_t i, uint8_t out[ES_SM3_LEN])
{
    ofd_entry *e = &o->e[i];
    if (e->hashed == 1) {
        memcpy(out, e->sm3, ES_SM3_LEN);
        return ES_OK;
    }
    if (e->hashed == -1) return e->err;
    es_sm3_ctx *c = NULL;
    es_err rv = es_sm3_new(&c);
    if (rv == ES_OK) rv = stream_entry(o, i, sm3_cb, c);
    if (rv == ES_OK) rv = es_sm3_final(c, e->sm3);
    es_sm3_free(c);
    if (rv == ES_ERR_NOMEM || rv == ES_ERR_CRYPTO) return rv; /* not the entry's fault */
    e->hashed = rv == ES_OK ? 1 : -1;
    e->err = rv;
    if (rv == ES_OK) memcpy(out, e->sm3, ES_SM3_LEN);
    return rv;
}

static es_err buf_cb(void *arg, const uint8_t *p, size_t n)
{
    return es_buf_append(arg, p, n);
}

es_err ofd_entry_read(es_ofd *o, size_t i, size_t max, es_buf *b)
{
    if (o->e[i].size > max) return ES_ERR_LIMIT;
    if (b->max < max) b->max = max;
    es_err rv = stream_entry(o, i, buf_cb, b);
    if (rv != ES_OK) es_buf_cleanup(b);
    return rv;
}

/* ------------------------------------------------------------------------------------------ */
/* XML */

static int depth_ok(xmlNode *root, int max)
{
    xmlNode *n = root;
    int d = 1;
    while (n) {
        if (n->type == XML_ELEMENT_NODE && d > max) return 0;
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            d++;
            continue;
        }
        while (n != root && !n->next) {
            n = n->parent;
            d--;
        }
        if (n == root) break;
        n = n->next;
    }
    return 1;
}

es_err ofd_xml_parse(const es_ofd *o, const uint8_t *p, size_t len, const char *name, xmlDoc **out,
                     char *why, size_t whylen)
{
    *out = NULL;
    if (len > o->lim.max_xml || len > 0x7fffffff)
        return ofd_fail(why, whylen, ES_ERR_LIMIT,
                        "/%s: %zu bytes of XML, more than the %zu "
                        "allowed",
                        name, len, o->lim.max_xml);
    xmlParserCtxt *ctxt = xmlNewParserCtxt();
    if (!ctxt) return ES_ERR_NOMEM;
    /* No XML_PARSE_NOENT (entities stay unexpanded), no DTD loading, no network, no HUGE. */
    xmlDoc *doc = xmlCtxtReadMemory(ctxt, (const char *)p, (int)len, name, NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                        XML_PARSE_NOCDATA);
    es_err rv = ES_OK;
    if (!doc) {
        xmlError *err = xmlCtxtGetLastError(ctxt);
        char msg[160] = "not well-formed";
        if (err && err->message) {
            snprintf(msg, sizeof msg, "%s", err->message);
            size_t ml = strlen(msg);
            while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' ')) msg[--ml] = 0;
        }
        rv = ofd_fail(why, whylen, ES_ERR_FORMAT, "/%s: not well-formed XML (line %d: %s)", name,
                      err ? err->line : 0, msg);
    } else if (doc->intSubset || doc->extSubset) {
        rv = ofd_fail(why, whylen, ES_ERR_FORMAT,
                      "/%s: XML with a DOCTYPE is refused (OFD files have none)", name);
    } else if (!xmlDocGetRootElement(doc)) {
        rv = ofd_fail(why, whylen, ES_ERR_FORMAT, "/%s: XML without a root element", name);
    } else if (!depth_ok(xmlDocGetRootElement(doc), o->lim.max_xml_depth)) {
        rv = ofd_fail(why, whylen, ES_ERR_LIMIT, "/%s: XML nested deeper than %d elements", name,
                      o->lim.max_xml_depth);
    }
    xmlFreeParserCtxt(ctxt);
    if (rv != ES_OK) {
        if (doc) xmlFreeDoc(doc);
        return rv;
    }
    *out = doc;
    return ES_OK;
}

es_err ofd_xml_entry(es_ofd *o, size_t i, xmlDoc **out, char *why, size_t whylen)
{
    es_buf b;
    es_buf_init(&b, o->lim.max_xml);
    *out = NULL;
    es_err rv = ofd_entry_read(o, i, o->lim.max_xml, &b);
    if (rv == ES_ERR_LIMIT)
        rv = ofd_fail(why, whylen, rv, "/%s: %llu bytes of XML, more than the %zu allowed",
                      o->e[i].name, (unsigned long long)o->e[i].size, o->lim.max_xml);
    else if (rv != ES_OK)
        rv = ofd_fail(why, whylen, rv, "/%s: cannot be read from the zip (corrupt entry)",
                      o->e[i].name);
    else
        rv = ofd_xml_parse(o, b.p, b.len, o->e[i].name, out, why, whylen);
    es_buf_cleanup(&b);
    return rv;
}

int ofd_xml_is(const xmlNode *n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, local) == 0;
}

xmlNode *ofd_xml_next(const xmlNode *n, const char *local)
{
    for (n = n ? n->next : NULL; n; n = n->next)
        if (ofd_xml_is(n, local)) return (xmlNode *)n;
    return NULL;
}

xmlNode *ofd_xml_child(const xmlNode *n, const char *local)
{
    if (!n) return NULL;
    for (xmlNode *c = n->children; c; c = c->next)
        if (ofd_xml_is(c, local)) return c;
    return NULL;
}

static char *trim_dup(const char *s, size_t len)
{
    while (len && is_space((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && is_space((unsigned char)s[len - 1])) len--;
    char *out = malloc(len + 1);
    if (!out) return NULL;
    memcpy(out, s, len);
    out[len] = 0;
    return out;
}

char *ofd_xml_text(const xmlNode *n)
{
    es_buf b;
    es_buf_init(&b, 1u << 24);
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content &&
            es_buf_append_str(&b, (const char *)c->content) != ES_OK) {
            es_buf_cleanup(&b);
            return NULL;
        }
    }
    char *out = trim_dup(b.p ? (const char *)b.p : "", b.len);
    es_buf_cleanup(&b);
    return out;
}

char *ofd_xml_attr(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp((xmlNode *)n, (const xmlChar *)name);
    if (!v) return NULL;
    char *out = trim_dup((const char *)v, strlen((const char *)v));
    xmlFree(v);
    return out;
}

void ofd_xml_check_ns(const xmlNode *n, es_quirks *q)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (!n->ns || !n->ns->href || strcmp((const char *)n->ns->href, ES_OFD_NS) != 0) {
            *q |= ES_QUIRK(ES_QUIRK_OFD_NAMESPACE);
            return;
        }
        ofd_xml_check_ns(n->children, q);
        if (*q & ES_QUIRK(ES_QUIRK_OFD_NAMESPACE)) return;
    }
}

int ofd_parse_box(const char *s, double out[4])
{
    if (!s) return 0;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        char *end;
        while (is_space((unsigned char)*p) || *p == ',') p++;
        out[i] = strtod(p, &end);
        if (end == p) return 0;
        p = end;
    }
    while (is_space((unsigned char)*p)) p++;
    return *p == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* OFD.xml and Document.xml */

void ofd_root_cleanup(ofd_root *r)
{
    for (size_t i = 0; i < r->n_bodies; i++) {
        free(r->bodies[i].doc_root);
        free(r->bodies[i].signatures);
    }
    free(r->bodies);
    memset(r, 0, sizeof *r);
}

es_err ofd_root_read(es_ofd *o, ofd_root *r, char *why, size_t whylen)
{
    memset(r, 0, sizeof *r);
    long i = ofd_lookup(o, "OFD.xml", &r->quirks);
    if (i < 0)
        return ofd_fail(why, whylen, ES_ERR_NOT_FOUND,
                        "no /OFD.xml: not an OFD package (GB/T 33190 7.4)");
    r->ofd_xml = (size_t)i;
    xmlDoc *doc = NULL;
    es_err rv = ofd_xml_entry(o, (size_t)i, &doc, why, whylen);
    if (rv != ES_OK) return rv;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!ofd_xml_is(root, "OFD")) {
        rv = ofd_fail(why, whylen, ES_ERR_FORMAT, "/OFD.xml: the root element is <%s>, not <OFD>",
                      root && root->name ? (const char *)root->name : "?");
        goto out;
    }
    ofd_xml_check_ns(root, &r->quirks);
    for (xmlNode *b = ofd_xml_child(root, "DocBody"); b; b = ofd_xml_next(b, "DocBody")) {
        ofd_docbody *nb = realloc(r->bodies, (r->n_bodies + 1) * sizeof *nb);
        if (!nb) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
        r->bodies = nb;
        ofd_docbody *d = &r->bodies[r->n_bodies++];
        memset(d, 0, sizeof *d);
        xmlNode *dr = ofd_xml_child(b, "DocRoot");
        xmlNode *sg = ofd_xml_child(b, "Signatures");
        if (dr) {
            char *t = ofd_xml_text(dr);
            if (t && *t) ofd_resolve(o, o->e[i].name, t, &d->doc_root, &r->quirks);
            free(t);
        }
        if (sg) {
            d->signatures = ofd_xml_text(sg);
            if (d->signatures && !*d->signatures) {
                free(d->signatures);
                d->signatures = NULL;
            }
        }
    }
    if (r->n_bodies == 0) rv = ofd_fail(why, whylen, ES_ERR_FORMAT, "/OFD.xml has no DocBody");
out:
    xmlFreeDoc(doc);
    if (rv != ES_OK) ofd_root_cleanup(r);
    return rv;
}

void ofd_pages_free(es_ofd_page *pages, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(pages[i].id);
        free(pages[i].path);
    }
    free(pages);
}

/* PhysicalBox of an Area element (Document CommonData/PageArea or a page's Area). */
static int area_box(const xmlNode *area, double box[4])
{
    xmlNode *pb = ofd_xml_child(area, "PhysicalBox");
    if (!pb) return 0;
    char *t = ofd_xml_text(pb);
    int ok = ofd_parse_box(t, box) && box[2] > 0 && box[3] > 0;
    free(t);
    return ok;
}

es_err ofd_pages_read(es_ofd *o, const char *docname, es_ofd_page **pages, size_t *n, char *why,
                      size_t whylen)
{
    *pages = NULL;
    *n = 0;
    long di = docname ? ofd_lookup(o, docname, NULL) : -1;
    if (di < 0)
        return ofd_fail(why, whylen, ES_ERR_NOT_FOUND, "the document /%s is not in the package",
                        docname ? docname : "(DocRoot missing)");
    xmlDoc *doc = NULL;
    es_err rv = ofd_xml_entry(o, (size_t)di, &doc, why, whylen);
    if (rv != ES_OK) return rv;
    xmlNode *root = xmlDocGetRootElement(doc);
    double dbox[4] = {0, 0, 210, 297}; /* A4 when the document says nothing */
    xmlNode *cd = ofd_xml_child(root, "CommonData");
    area_box(ofd_xml_child(cd, "PageArea"), dbox);
    xmlNode *pgs = ofd_xml_child(root, "Pages");
    es_ofd_page *out = NULL;
    size_t k = 0;
    for (xmlNode *p = ofd_xml_child(pgs, "Page"); p; p = ofd_xml_next(p, "Page")) {
        if (k == ES_OFD_MAX_PAGES) {
            rv = ofd_fail(why, whylen, ES_ERR_LIMIT, "/%s: more than %d pages", docname,
                          ES_OFD_MAX_PAGES);
            break;
        }
        es_ofd_page *np = realloc(out, (k + 1) * sizeof *np);
        if (!np) {
            rv = ES_ERR_NOMEM;
            break;
        }
        out = np;
        es_ofd_page *pg = &out[k++];
        memset(pg, 0, sizeof *pg);
        memcpy(pg->box, dbox, sizeof dbox);
        pg->id = ofd_xml_attr(p, "ID");
        char *loc = ofd_xml_attr(p, "BaseLoc");
        if (loc) ofd_resolve(o, docname, loc, &pg->path, NULL);
        free(loc);
        if (!pg->id) pg->id = strdup("");
        if (!pg->id) {
            rv = ES_ERR_NOMEM;
            break;
        }
    }
    xmlFreeDoc(doc);
    if (rv != ES_OK) {
        ofd_pages_free(out, k);
        return rv;
    }
    *pages = out;
    *n = k;
    return ES_OK;
}

void ofd_page_box(es_ofd *o, es_ofd_page *pg)
{
    long i = pg->path ? ofd_lookup(o, pg->path, NULL) : -1;
    xmlDoc *doc = NULL;
    if (i < 0 || ofd_xml_entry(o, (size_t)i, &doc, NULL, 0) != ES_OK) return;
    double box[4];
    if (area_box(ofd_xml_child(xmlDocGetRootElement(doc), "Area"), box))
        memcpy(pg->box, box, sizeof box);
    xmlFreeDoc(doc);
}
