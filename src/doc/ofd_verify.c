/* OFD verification (GB/T 33190-2016 18.2): every signature of the signature list, with the
 * seal core's checks over its SignedValue and the package's own: the References, changes
 * made after signing (by a later signature or not), and files that no signature covers.
 *
 * What binds the document to a signature: each Reference's CheckValue is SM3 of a file's
 * bytes as stored, TBS_Sign.dataHash (or the SignedData's hash) is SM3 of the raw bytes of
 * Signature.xml, and the SignedValue signs that. No XML canonicalisation is involved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doc/internal.h"
#include "eseal/der.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

/* How many file names a check's detail lists before "and N more". */
#define DETAIL_MAX_FILES 64

typedef struct ref_w {
    long idx; /* entry, or -1 */
} ref_w;

/* One signature while it is being verified. */
typedef struct sig_w {
    es_ofd_sig pub;
    size_t pos; /* position in the signature lists */
    char *list; /* normalised name of its signature list */
    long list_idx;
    long xml_idx; /* Signature.xml entry, -1 when missing */
    long sv_idx;
    long seal_idx;
    es_buf xml; /* raw Signature.xml */
    uint8_t xml_sm3[ES_SM3_LEN];
    int xml_read; /* the bytes were read */
    int xml_ok;   /* and parse as a Signature */
    char xml_err[256];
    es_buf sv;              /* the SignedValue bytes */
    es_slice embedded_seal; /* the seal inside sv, when it is an SES_Signature */
    int refs_checked;
    char refs_why[256]; /* why the references could not be checked */
    ref_w *rw;
    es_quirks q;
    int has_entry;
} sig_w;

void es_ofd_result_init(es_ofd_result *r)
{
    memset(r, 0, sizeof *r);
}

static void sig_pub_cleanup(es_ofd_sig *s)
{
    free(s->id);
    free(s->type);
    free(s->signature_xml);
    free(s->signed_value);
    free(s->seal_file);
    free(s->provider);
    free(s->date_time);
    for (size_t i = 0; i < s->n_refs; i++) free(s->refs[i].path);
    free(s->refs);
    for (size_t i = 0; i < s->n_later; i++) free(s->later[i]);
    free(s->later);
    for (size_t i = 0; i < s->n_stamps; i++) {
        free(s->stamps[i].id);
        free(s->stamps[i].page_ref);
    }
    free(s->stamps);
    memset(s, 0, sizeof *s);
}

void es_ofd_result_cleanup(es_ofd_result *r)
{
    for (size_t i = 0; i < r->n_sigs; i++) sig_pub_cleanup(&r->sigs[i]);
    free(r->sigs);
    for (size_t i = 0; i < r->n_uncovered; i++) free(r->uncovered[i]);
    free(r->uncovered);
    ofd_pages_free(r->pages, r->n_pages);
    es_ofd_result_init(r);
}

static void sig_w_cleanup(sig_w *w)
{
    sig_pub_cleanup(&w->pub);
    free(w->list);
    es_buf_cleanup(&w->xml);
    es_buf_cleanup(&w->sv);
    free(w->rw);
}

static char *slash_path(const char *norm)
{
    size_t n = strlen(norm);
    char *p = malloc(n + 2);
    if (!p) return NULL;
    p[0] = '/';
    memcpy(p + 1, norm, n + 1);
    return p;
}

/* ------------------------------------------------------------------------------------------ */
/* Signature.xml */

/* XSD order of SignedInfo's children (GB/T 33190 18.2.2, figure 87). */
static int signed_info_rank(const xmlNode *n)
{
    static const char *order[] = {"Provider",   "SignatureMethod", "SignatureDateTime",
                                  "References", "StampAnnot",      "Seal"};
    for (int i = 0; i < 6; i++)
        if (ofd_xml_is(n, order[i])) return i;
    return -1;
}

static es_err read_provider(const xmlNode *p, sig_w *w)
{
    char *name = ofd_xml_attr(p, "ProviderName");
    char *ver = ofd_xml_attr(p, "Version");
    char *comp = ofd_xml_attr(p, "Company");
    if (!name && !ver && !comp && p->children) {
        /* dms360 writes <Provider><ProviderName>…</ProviderName>…</Provider>. */
        xmlNode *c;
        if ((c = ofd_xml_child(p, "ProviderName"))) name = ofd_xml_text(c);
        if ((c = ofd_xml_child(p, "Version"))) ver = ofd_xml_text(c);
        if ((c = ofd_xml_child(p, "Company"))) comp = ofd_xml_text(c);
        if (name || ver || comp) w->q |= ES_QUIRK(ES_QUIRK_OFD_PROVIDER_CHILD);
    }
    es_buf b;
    es_buf_init(&b, 4096);
    es_err rv =
        es_buf_printf(&b, "%s%s%s%s%s%s", name ? name : "", ver && *ver ? " " : "", ver ? ver : "",
                      comp && *comp ? " (" : "", comp ? comp : "", comp && *comp ? ")" : "");
    if (rv == ES_OK) rv = es_buf_nul(&b);
    if (rv == ES_OK) w->pub.provider = strdup(b.p ? (char *)b.p : "");
    es_buf_cleanup(&b);
    free(name);
    free(ver);
    free(comp);
    return rv == ES_OK && !w->pub.provider ? ES_ERR_NOMEM : rv;
}

/* CheckMethod: the SM3 OID; "SM3"/"sm3" (tongz, Suwell, 12306, ofdrw); "1.2.156.10197.1.401.2"
 * (dms360); absent (the XSD default is MD5, but every value is then 32 bytes). 1: SM3. */
static int check_method_sm3(const char *m, es_quirks *q)
{
    if (m && strcmp(m, ES_OID_SM3) == 0) return 1;
    if (!m || strcasecmp(m, "SM3") == 0 ||
        strncmp(m, ES_OID_SM3 ".", strlen(ES_OID_SM3) + 1) == 0) {
        *q |= ES_QUIRK(ES_QUIRK_OFD_CHECK_METHOD);
        return 1;
    }
    return 0;
}

static es_err add_ref(sig_w *w, char *path, es_ofd_ref_state st, long idx)
{
    es_ofd_ref *nr = realloc(w->pub.refs, (w->pub.n_refs + 1) * sizeof *nr);
    ref_w *nw = realloc(w->rw, (w->pub.n_refs + 1) * sizeof *nw);
    if (nr) w->pub.refs = nr;
    if (nw) w->rw = nw;
    if (!nr || !nw) {
        free(path);
        return ES_ERR_NOMEM;
    }
    nr[w->pub.n_refs].path = path;
    nr[w->pub.n_refs].state = st;
    nr[w->pub.n_refs].by_later = 0;
    nw[w->pub.n_refs].idx = idx;
    w->pub.n_refs++;
    if (st != ES_OFD_REF_OK) w->pub.n_bad++;
    return ES_OK;
}

static es_err read_references(es_ofd *o, sig_w *w, const xmlNode *refs)
{
    es_err rv = ES_OK;
    char *method = ofd_xml_attr(refs, "CheckMethod");
    int sm3 = check_method_sm3(method, &w->q);
    size_t count = 0;
    es_buf cv;
    es_buf_init(&cv, 1024);
    for (xmlNode *r = ofd_xml_child(refs, "Reference"); r; r = ofd_xml_next(r, "Reference")) {
        if (++count > o->lim.max_references) {
            snprintf(w->refs_why, sizeof w->refs_why, "more than %zu References: not checked",
                     o->lim.max_references);
            goto out;
        }
        char *fileref = ofd_xml_attr(r, "FileRef");
        char *norm = NULL;
        long idx = fileref ? ofd_resolve(o, w->pub.signature_xml + 1, fileref, &norm, &w->q) : -1;
        free(fileref);
        char *path = slash_path(norm ? norm : "(no FileRef)");
        free(norm);
        if (!path) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
        if (w->list && strcmp(path + 1, w->list) == 0) w->q |= ES_QUIRK(ES_QUIRK_OFD_COVERS_LIST);
        es_ofd_ref_state st = ES_OFD_REF_OK;
        char *text = ofd_xml_text(ofd_xml_child(r, "CheckValue"));
        es_buf_cleanup(&cv);
        uint8_t h[ES_SM3_LEN];
        if (!sm3) {
            st = ES_OFD_REF_UNSUPPORTED;
        } else if (!text || es_base64_decode(text, strlen(text), &cv) != ES_OK ||
                   cv.len != ES_SM3_LEN) {
            st = ES_OFD_REF_BAD_VALUE;
        } else if (idx < 0) {
            st = ES_OFD_REF_MISSING;
        } else {
            es_err hr = ofd_entry_sm3(o, (size_t)idx, h);
            if (hr == ES_ERR_NOMEM || hr == ES_ERR_CRYPTO) {
                free(text);
                free(path);
                rv = hr;
                goto out;
            }
            st = hr != ES_OK                        ? ES_OFD_REF_UNREADABLE
                 : memcmp(h, cv.p, ES_SM3_LEN) != 0 ? ES_OFD_REF_CHANGED
                                                    : ES_OFD_REF_OK;
        }
        free(text);
        if ((rv = add_ref(w, path, st, idx)) != ES_OK) goto out;
    }
    w->refs_checked = 1;
    if (!sm3)
        snprintf(w->refs_why, sizeof w->refs_why,
                 "CheckMethod '%s' is not supported (SM3 only): %zu files not checked",
                 method ? method : "", w->pub.n_refs);
out:
    es_buf_cleanup(&cv);
    free(method);
    return rv;
}

static es_err add_stamp(es_ofd_sig *s, const xmlNode *n, const es_ofd_page *pages, size_t np)
{
    es_ofd_stamp *ns = realloc(s->stamps, (s->n_stamps + 1) * sizeof *ns);
    if (!ns) return ES_ERR_NOMEM;
    s->stamps = ns;
    es_ofd_stamp *st = &ns[s->n_stamps++];
    memset(st, 0, sizeof *st);
    st->id = ofd_xml_attr(n, "ID");
    st->page_ref = ofd_xml_attr(n, "PageRef");
    char *b = ofd_xml_attr(n, "Boundary");
    char *c = ofd_xml_attr(n, "Clip");
    ofd_parse_box(b, st->boundary);
    st->has_clip = ofd_parse_box(c, st->clip);
    free(b);
    free(c);
    for (size_t i = 0; st->page_ref && i < np; i++)
        if (strcmp(pages[i].id, st->page_ref) == 0) {
            st->page = (long)i + 1;
            break;
        }
    return ES_OK;
}

/* Reads what Signature.xml says; sets xml_ok, or xml_err when it is not a Signature. */
static es_err read_signature_xml(es_ofd *o, sig_w *w, xmlDoc *doc, const es_ofd_page *pages,
                                 size_t np)
{
    es_err rv = ES_OK;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!ofd_xml_is(root, "Signature")) {
        snprintf(w->xml_err, sizeof w->xml_err, "the root element is <%s>, not <Signature>",
                 root && root->name ? (const char *)root->name : "?");
        return ES_OK;
    }
    ofd_xml_check_ns(root, &w->q);
    xmlNode *si = ofd_xml_child(root, "SignedInfo");
    if (!si) {
        snprintf(w->xml_err, sizeof w->xml_err, "no SignedInfo element");
        return ES_OK;
    }
    /* ofdrw writes SignedValue first and Seal/StampAnnot before References. */
    int last = -1, top = 0;
    for (xmlNode *c = root->children; c; c = c->next) {
        if (ofd_xml_is(c, "SignedInfo")) top = 1;
        if (ofd_xml_is(c, "SignedValue") && !top) w->q |= ES_QUIRK(ES_QUIRK_OFD_ELEMENT_ORDER);
    }
    for (xmlNode *c = si->children; c; c = c->next) {
        int rk = signed_info_rank(c);
        if (rk < 0) continue;
        if (rk < last) w->q |= ES_QUIRK(ES_QUIRK_OFD_ELEMENT_ORDER);
        last = rk;
    }
    xmlNode *n;
    if ((n = ofd_xml_child(si, "Provider")) && (rv = read_provider(n, w)) != ES_OK) return rv;
    if ((n = ofd_xml_child(si, "SignatureDateTime")) && !(w->pub.date_time = ofd_xml_text(n)))
        return ES_ERR_NOMEM;
    for (n = ofd_xml_child(si, "StampAnnot"); n; n = ofd_xml_next(n, "StampAnnot"))
        if ((rv = add_stamp(&w->pub, n, pages, np)) != ES_OK) return rv;
    if ((n = ofd_xml_child(ofd_xml_child(si, "Seal"), "BaseLoc"))) {
        char *t = ofd_xml_text(n);
        if (t && *t)
            w->seal_idx = ofd_resolve(o, w->pub.signature_xml + 1, t, &w->pub.seal_file, &w->q);
        free(t);
    }
    if ((n = ofd_xml_child(root, "SignedValue"))) {
        char *t = ofd_xml_text(n);
        if (t && *t)
            w->sv_idx = ofd_resolve(o, w->pub.signature_xml + 1, t, &w->pub.signed_value, &w->q);
        free(t);
    }
    if ((n = ofd_xml_child(si, "References"))) {
        if ((rv = read_references(o, w, n)) != ES_OK) return rv;
    } else {
        w->refs_checked = 1; /* a signature over no file: said in the check */
    }
    w->xml_ok = 1;
    return ES_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Entries */

static es_err set_id(es_entry *e, const char *id)
{
    char *d = strdup(id && *id ? id : "-");
    if (!d) return ES_ERR_NOMEM;
    free(e->id);
    e->id = d;
    return ES_OK;
}

static int is_bare_sm2(es_slice in)
{
    es_der d, seq;
    es_der_tlv t;
    es_slice r, s;
    es_der_init(&d, in, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK ||
        es_der_read_int_bytes(&seq, &r) != ES_OK || es_der_read_int_bytes(&seq, &s) != ES_OK ||
        es_der_done(&seq) != ES_OK || es_der_done(&d) != ES_OK)
        return 0;
    return r.len && r.len <= 33 && s.len && s.len <= 33;
}

static es_err bare_sm2_entry(es_report *rep, sig_w *w, es_entry **out)
{
    es_entry *e;
    es_err rv;
    CHECK(es_report_add_entry(rep, w->pub.id, "sm2_signature", &e));
    CHECK(es_entry_set(e, ES_CHECK_FORMAT, ES_PASSED,
                       "%s: a bare SM2 signature value SEQUENCE{r, s} (older ofdrw Type=\"Sign\"), "
                       "without certificate or signed hash",
                       w->pub.signed_value));
    CHECK(es_entry_set(e, ES_CHECK_DATA_HASH, ES_SKIPPED,
                       "the value carries no hash to compare with SM3 of %s",
                       w->pub.signature_xml));
    CHECK(es_entry_set(e, ES_CHECK_SIGNATURE, ES_INDETERMINATE,
                       "no certificate to verify the bare SM2 value with"));
    CHECK(es_entry_set(e, ES_CHECK_SEAL_SIGNATURE, ES_SKIPPED, "not a seal signature"));
    CHECK(es_entry_set(e, ES_CHECK_SIGNER_CERT_VALIDITY, ES_INDETERMINATE, "no certificate"));
    CHECK(es_entry_set(e, ES_CHECK_CHAIN_TRUST, ES_INDETERMINATE, "no certificate"));
    CHECK(es_entry_set(e, ES_CHECK_STATUS, ES_SKIPPED, "not a seal signature"));
    *out = e;
out:
    return rv;
}

/* Rewrites a core check's detail to name the OFD files it is about. */
static es_err name_files(es_entry *e, const sig_w *w)
{
    es_err rv = ES_OK;
    const es_check *c = es_entry_get(e, ES_CHECK_DATA_HASH);
    if (c && c->result == ES_PASSED)
        CHECK(es_entry_set(e, ES_CHECK_DATA_HASH, ES_PASSED,
                           "SM3 of the bytes of %s equals the signed hash", w->pub.signature_xml));
    else if (c && c->result == ES_FAILED) {
        char *d = strdup(c->detail);
        if (!d) return ES_ERR_NOMEM;
        rv = es_entry_set(e, ES_CHECK_DATA_HASH, ES_FAILED, "%s changed after signing: %s",
                          w->pub.signature_xml, d);
        free(d);
        if (rv != ES_OK) goto out;
    }
    /* Every other check of the seal core is about the signature value file. */
    for (size_t i = 0; i < e->n_checks; i++) {
        c = &e->checks[i];
        if (c->result != ES_FAILED || strcmp(c->name, ES_CHECK_DATA_HASH) == 0) continue;
        char *d = strdup(c->detail), *name = strdup(c->name);
        if (!d || !name) {
            free(d);
            free(name);
            return ES_ERR_NOMEM;
        }
        rv = es_entry_set(e, name, ES_FAILED, "%s: %s", w->pub.signed_value, d);
        free(d);
        free(name);
        if (rv != ES_OK) goto out;
    }
out:
    return rv;
}

/* The seal_file check: Seal.esl against the seal inside the signature. */
static es_err check_seal_file(es_ofd *o, es_entry *e, sig_w *w)
{
    if (!w->pub.seal_file) return ES_OK;
    if (w->seal_idx < 0)
        return es_entry_set(e, ES_CHECK_SEAL_FILE, ES_WARNING,
                            "%s is named but not in the package (the seal inside the signature "
                            "is the one verified)",
                            w->pub.seal_file);
    if (!w->embedded_seal.len)
        return es_entry_set(e, ES_CHECK_SEAL_FILE, ES_WARNING,
                            "%s is named, but the signature value carries no seal to compare it "
                            "with",
                            w->pub.seal_file);
    es_buf b;
    es_buf_init(&b, ES_MAX_SEAL_DER);
    es_err rv = ofd_entry_read(o, (size_t)w->seal_idx, ES_MAX_SEAL_DER, &b);
    int same = rv == ES_OK && es_slice_eq(es_slice_make(b.p, b.len), w->embedded_seal);
    es_buf_cleanup(&b);
    if (rv == ES_ERR_NOMEM) return rv;
    if (same)
        return es_entry_set(e, ES_CHECK_SEAL_FILE, ES_PASSED,
                            "%s is byte for byte the seal inside the signature", w->pub.seal_file);
    w->q |= ES_QUIRK(ES_QUIRK_OFD_SEAL_FILE);
    return es_entry_set(e, ES_CHECK_SEAL_FILE, ES_WARNING,
                        "%s %s the seal inside the signature, which is the one verified",
                        w->pub.seal_file,
                        rv == ES_OK ? "differs from" : "cannot be read; it is not");
}

static int looks_like_path(es_slice p)
{
    if (p.len < 5 || p.len > 4096) return 0;
    for (size_t i = 0; i < p.len; i++)
        if (p.p[i] < 0x21 || p.p[i] > 0x7e || p.p[i] == '{') return 0;
    return memchr(p.p, '/', p.len) != NULL;
}

/* Verifies one signature value into a new entry of rep. */
static es_err verify_one(es_ofd *o, sig_w *w, const es_verify_opts *opts, es_report *rep,
                         const es_ofd_page *pages, size_t np)
{
    es_err rv = ES_OK;
    es_entry *e = NULL;
    char why[256];
    xmlDoc *doc = NULL;
    char *named_missing = NULL; /* a SignedValue path that names no file */

    if (w->xml_idx < 0) {
        CHECK(es_report_add_entry(rep, w->pub.id, "ofd_signature", &e));
        CHECK(es_entry_set(e, ES_CHECK_FORMAT, ES_FAILED,
                           "%s, named by the signature list, is not in the package",
                           w->pub.signature_xml ? w->pub.signature_xml : "(no BaseLoc)"));
        goto entry_done;
    }
    es_buf_init(&w->xml, o->lim.max_xml);
    rv = ofd_entry_read(o, (size_t)w->xml_idx, o->lim.max_xml, &w->xml);
    if (rv == ES_ERR_NOMEM) goto out;
    if (rv != ES_OK) {
        CHECK(es_report_add_entry(rep, w->pub.id, "ofd_signature", &e));
        CHECK(es_entry_set(e, ES_CHECK_FORMAT, ES_FAILED, "%s cannot be read: %s",
                           w->pub.signature_xml,
                           rv == ES_ERR_LIMIT ? "larger than allowed" : "corrupt zip entry"));
        rv = ES_OK;
        goto entry_done;
    }
    w->xml_read = 1;
    CHECK(es_sm3(w->xml.p, w->xml.len, w->xml_sm3));
    rv = ofd_xml_parse(o, w->xml.p, w->xml.len, w->pub.signature_xml + 1, &doc, why, sizeof why);
    if (rv == ES_ERR_NOMEM) goto out;
    if (rv == ES_OK) {
        CHECK(read_signature_xml(o, w, doc, pages, np));
    } else {
        snprintf(w->xml_err, sizeof w->xml_err, "%s", why);
        rv = ES_OK;
    }
    if (!w->xml_ok && !w->refs_why[0])
        snprintf(w->refs_why, sizeof w->refs_why,
                 "%s cannot be read, so neither can its References", w->pub.signature_xml);
    if (w->sv_idx < 0) {
        /* Without a usable SignedValue path (Signature.xml unreadable or changed), look where
         * producers put the value, so that the signature still says what changed. */
        static const char *const names[] = {"SignedValue.dat", "SignValue.dat"};
        named_missing = w->pub.signed_value;
        w->pub.signed_value = NULL;
        for (size_t i = 0; i < 2 && w->sv_idx < 0; i++) {
            free(w->pub.signed_value);
            w->sv_idx =
                ofd_resolve(o, w->pub.signature_xml + 1, names[i], &w->pub.signed_value, NULL);
        }
        if (w->sv_idx < 0 && named_missing) {
            free(w->pub.signed_value);
            w->pub.signed_value = named_missing;
            named_missing = NULL;
        } else if (w->sv_idx < 0) {
            free(w->pub.signed_value);
            w->pub.signed_value = ofd_path_join(w->pub.signature_xml + 1, names[0], NULL);
        }
    }
    {
        char *p = slash_path(w->pub.signed_value ? w->pub.signed_value : "(no SignedValue)");
        if (!p) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
        free(w->pub.signed_value);
        w->pub.signed_value = p;
        if (w->pub.seal_file) {
            p = slash_path(w->pub.seal_file);
            if (!p) {
                rv = ES_ERR_NOMEM;
                goto out;
            }
            free(w->pub.seal_file);
            w->pub.seal_file = p;
        }
    }
    es_buf_init(&w->sv, ES_MAX_SEAL_DER);
    es_err svr = w->sv_idx < 0 ? ES_ERR_NOT_FOUND
                               : ofd_entry_read(o, (size_t)w->sv_idx, ES_MAX_SEAL_DER, &w->sv);
    if (svr == ES_ERR_NOMEM) {
        rv = svr;
        goto out;
    }
    if (svr != ES_OK) {
        CHECK(es_report_add_entry(rep, w->pub.id, "ofd_signature", &e));
        CHECK(es_entry_set(e, ES_CHECK_FORMAT, ES_FAILED, "%s %s", w->pub.signed_value,
                           svr == ES_ERR_NOT_FOUND ? "is not in the package"
                           : svr == ES_ERR_LIMIT   ? "is larger than a signature can be"
                                                   : "cannot be read (corrupt zip entry)"));
        goto entry_done;
    }
    es_slice sv = es_slice_make(w->sv.p, w->sv.len);
    if (is_bare_sm2(sv)) {
        CHECK(bare_sm2_entry(rep, w, &e));
        goto entry_done;
    }
    es_verify_opts vo;
    if (opts)
        vo = *opts;
    else {
        memset(&vo, 0, sizeof vo);
        vo.now = ES_TIME_NONE;
    }
    vo.data_sm3 = w->xml_sm3; /* GB/T 38540 / GM/T 0099: dataHash = SM3(Signature.xml) */
    vo.data = es_slice_make(w->xml.p, w->xml.len);
    size_t before = rep->n_entries;
    CHECK(es_signature_verify(sv, &vo, rep));
    if (rep->n_entries != before + 1) {
        rv = ES_ERR_FORMAT;
        goto out;
    }
    e = &rep->entries[rep->n_entries - 1];
    CHECK(set_id(e, w->pub.id));
    CHECK(name_files(e, w));
    {
        es_signature s;
        if (es_signature_from_der(sv, 1, &s) == ES_OK) {
            w->embedded_seal = s.seal.raw;
            if (!looks_like_path(s.property_info)) w->q |= ES_QUIRK(ES_QUIRK_PROPERTY_NOT_PATH);
        }
    }

entry_done:
    if (w->xml_read && !w->xml_ok) {
        const es_check *f = es_entry_get(e, ES_CHECK_FORMAT);
        char *d = f ? strdup(f->detail) : NULL;
        rv = es_entry_set(e, ES_CHECK_FORMAT, ES_FAILED, "%s: %s%s%s", w->pub.signature_xml,
                          w->xml_err, d ? "; the signature value: " : "", d ? d : "");
        free(d);
        if (rv != ES_OK) goto out;
    }
    if (named_missing) {
        const es_check *f = es_entry_get(e, ES_CHECK_FORMAT);
        char *d = f ? strdup(f->detail) : NULL;
        rv = es_entry_set(e, ES_CHECK_FORMAT, f ? f->result : ES_FAILED,
                          "%s names the SignedValue /%s, which is not in the package; the value "
                          "was found at %s%s%s",
                          w->pub.signature_xml, named_missing, w->pub.signed_value, d ? ": " : "",
                          d ? d : "");
        free(d);
        if (rv != ES_OK) goto out;
    }
    CHECK(check_seal_file(o, e, w));
    CHECK(es_kv_add(&e->signer, "signature_xml", w->pub.signature_xml ? w->pub.signature_xml : ""));
    CHECK(es_kv_add(&e->signer, "ofd_type", w->pub.type));
    if (w->pub.provider) CHECK(es_kv_add(&e->signer, "provider", w->pub.provider));
    if (w->pub.date_time) CHECK(es_kv_add(&e->signer, "signature_date_time", w->pub.date_time));
    w->pub.entry = (size_t)(e - rep->entries);
    w->has_entry = 1;
out:
    free(named_missing);
    if (doc) xmlFreeDoc(doc);
    return rv;
}

/* ------------------------------------------------------------------------------------------ */
/* What the signatures say about each other */

static int refs_path(const sig_w *w, const char *path)
{
    if (!path) return 0;
    for (size_t i = 0; i < w->pub.n_refs; i++)
        if (strcmp(w->pub.refs[i].path, path) == 0) return 1;
    return 0;
}

/* B was made after A: B covers A's Signature.xml or SignedValue, or comes later in the list
 * and A covers neither of B's. */
static int made_after(const sig_w *b, const sig_w *a)
{
    if (b == a) return 0;
    if (refs_path(b, a->pub.signature_xml) || refs_path(b, a->pub.signed_value)) return 1;
    if (refs_path(a, b->pub.signature_xml) || refs_path(a, b->pub.signed_value)) return 0;
    return b->pos > a->pos;
}

static es_err list_files(es_buf *b, const sig_w *w, int bad_only, int later_only)
{
    es_err rv = ES_OK;
    size_t shown = 0, total = 0;
    for (size_t i = 0; i < w->pub.n_refs && rv == ES_OK; i++) {
        const es_ofd_ref *r = &w->pub.refs[i];
        if (bad_only && r->state == ES_OFD_REF_OK) continue;
        if (later_only >= 0 && r->by_later != later_only) continue;
        total++;
        if (shown == DETAIL_MAX_FILES) continue;
        shown++;
        rv = es_buf_printf(b, "%s%s", shown > 1 ? " " : "", r->path);
    }
    if (rv == ES_OK && total > shown) rv = es_buf_printf(b, " and %zu more", total - shown);
    return rv;
}

static const char *state_text(const es_ofd_ref *r)
{
    switch (r->state) {
    case ES_OFD_REF_CHANGED:
        return r->by_later ? "changed by a later signature" : "changed";
    case ES_OFD_REF_MISSING:
        return "missing";
    case ES_OFD_REF_UNREADABLE:
        return "unreadable";
    case ES_OFD_REF_BAD_VALUE:
        return "bad CheckValue";
    case ES_OFD_REF_UNSUPPORTED:
        return "CheckMethod not supported";
    default:
        return "ok";
    }
}

static es_err later_ids(es_buf *b, const sig_w *w)
{
    es_err rv = ES_OK;
    for (size_t i = 0; i < w->pub.n_later && rv == ES_OK; i++)
        rv = es_buf_printf(b, "%s%s", i ? ", " : "", w->pub.later[i]);
    return rv;
}

static es_err check_references(es_entry *e, const sig_w *w)
{
    es_buf b;
    es_buf_init(&b, 1u << 20);
    es_err rv = ES_OK;
    if (!w->refs_checked || w->refs_why[0]) {
        rv = es_entry_set(e, ES_CHECK_REFERENCES, ES_INDETERMINATE, "%s",
                          w->refs_why[0] ? w->refs_why : "References not read");
        goto out;
    }
    if (w->pub.n_refs == 0) {
        rv = es_entry_set(e, ES_CHECK_REFERENCES, ES_WARNING,
                          "the signature references no file: it protects only %s",
                          w->pub.signature_xml);
        goto out;
    }
    if (w->pub.n_bad == 0) {
        rv = es_entry_set(e, ES_CHECK_REFERENCES, ES_PASSED,
                          "all %zu referenced files match their SM3 CheckValue", w->pub.n_refs);
        goto out;
    }
    /* One group per state, each naming its files: "changed: /a /b; missing: /c". */
    static const es_ofd_ref_state order[] = {ES_OFD_REF_CHANGED, ES_OFD_REF_MISSING,
                                             ES_OFD_REF_UNREADABLE, ES_OFD_REF_BAD_VALUE};
    CHECK(es_buf_printf(&b, "%zu of %zu referenced files fail their SM3 CheckValue", w->pub.n_bad,
                        w->pub.n_refs));
    for (size_t k = 0; k < 4; k++) {
        for (int later = 1; later >= 0; later--) {
            size_t shown = 0, total = 0;
            for (size_t i = 0; i < w->pub.n_refs; i++) {
                const es_ofd_ref *r = &w->pub.refs[i];
                if (r->state != order[k] || r->by_later != later) continue;
                if (total++ == 0) CHECK(es_buf_printf(&b, "; %s:", state_text(r)));
                if (shown == DETAIL_MAX_FILES) continue;
                shown++;
                CHECK(es_buf_printf(&b, " %s", r->path));
            }
            if (total > shown) CHECK(es_buf_printf(&b, " and %zu more", total - shown));
        }
    }
    CHECK(es_buf_nul(&b));
    rv = es_entry_set(e, ES_CHECK_REFERENCES, ES_FAILED, "%s", (char *)b.p);
out:
    es_buf_cleanup(&b);
    return rv;
}

static es_err check_changes(es_entry *e, const sig_w *w, const sig_w *all, size_t n)
{
    es_buf b;
    es_buf_init(&b, 1u << 20);
    es_err rv = ES_OK;
    if (!w->refs_checked || w->refs_why[0]) {
        rv = es_entry_set(e, ES_CHECK_CHANGES, ES_SKIPPED, "References not checked");
        goto out;
    }
    if (w->pub.n_bad == 0) {
        if (w->pub.n_later) {
            CHECK(later_ids(&b, w));
            CHECK(es_buf_nul(&b));
        }
        rv = es_entry_set(
            e, ES_CHECK_CHANGES, ES_PASSED, "no covered file changed after signing%s%s",
            w->pub.n_later ? "; signatures added later: " : "", w->pub.n_later ? (char *)b.p : "");
        goto out;
    }
    if (w->pub.changed_by_later) {
        /* Which later signatures vouch for this one as it is now. */
        es_buf who;
        es_buf_init(&who, 1u << 16);
        for (size_t i = 0; i < n && rv == ES_OK; i++)
            if (made_after(&all[i], w) && (refs_path(&all[i], w->pub.signature_xml) ||
                                           refs_path(&all[i], w->pub.signed_value)))
                rv = es_buf_printf(&who, "%s%s", who.len ? ", " : "", all[i].pub.id);
        if (rv == ES_OK) rv = es_buf_nul(&who);
        if (rv == ES_OK) rv = list_files(&b, w, 1, 1);
        if (rv == ES_OK) rv = es_buf_append_str(&b, " is the signature list, rewritten when ");
        if (rv == ES_OK) rv = later_ids(&b, w);
        if (rv == ES_OK) rv = es_buf_printf(&b, " %s added", w->pub.n_later > 1 ? "were" : "was");
        if (rv == ES_OK && who.len)
            rv = es_buf_printf(&b, " (%s %s this signature's files as they are)", (char *)who.p,
                               strchr((char *)who.p, ',') ? "cover" : "covers");
        es_buf_cleanup(&who);
        if (rv == ES_OK) rv = es_buf_nul(&b);
        if (rv != ES_OK) goto out;
        rv = es_entry_set(e, ES_CHECK_CHANGES, ES_WARNING,
                          "modified by a later signature, not tampering: %s", (char *)b.p);
        goto out;
    }
    CHECK(list_files(&b, w, 1, 0));
    /* A later signature that covers a changed file as it is now says when it changed. */
    for (size_t i = 0; i < w->pub.n_refs; i++) {
        const es_ofd_ref *r = &w->pub.refs[i];
        if (r->state != ES_OFD_REF_CHANGED || r->by_later) continue;
        for (size_t j = 0; j < n; j++) {
            if (!made_after(&all[j], w)) continue;
            for (size_t k = 0; k < all[j].pub.n_refs; k++)
                if (all[j].pub.refs[k].state == ES_OFD_REF_OK &&
                    strcmp(all[j].pub.refs[k].path, r->path) == 0) {
                    CHECK(es_buf_printf(&b, "; %s as it is now is covered by later signature %s",
                                        r->path, all[j].pub.id));
                    goto next_ref;
                }
        }
    next_ref:;
    }
    CHECK(es_buf_nul(&b));
    rv = es_entry_set(e, ES_CHECK_CHANGES, ES_INDETERMINATE,
                      "changed after signing, and not by adding a later signature (tampering, "
                      "or an edit saved without signing again): %s",
                      (char *)b.p);
out:
    es_buf_cleanup(&b);
    return rv;
}

static es_err check_coverage(es_entry *e, const sig_w *w, char **unc, size_t n_unc)
{
    size_t own = 0;
    for (size_t i = 0; i < w->pub.n_refs; i++) own += w->rw[i].idx >= 0;
    if (n_unc == 0)
        return es_entry_set(e, ES_CHECK_COVERAGE, ES_PASSED,
                            "every file of the package is covered by a signature (this one "
                            "covers %zu)",
                            own);
    es_buf b;
    es_buf_init(&b, 1u << 20);
    es_err rv = ES_OK;
    for (size_t i = 0; i < n_unc && i < DETAIL_MAX_FILES && rv == ES_OK; i++)
        rv = es_buf_printf(&b, "%s/%s", i ? " " : "", unc[i]);
    if (rv == ES_OK && n_unc > DETAIL_MAX_FILES)
        rv = es_buf_printf(&b, " and %zu more", n_unc - DETAIL_MAX_FILES);
    if (rv == ES_OK) rv = es_buf_nul(&b);
    if (rv == ES_OK)
        rv = es_entry_set(e, ES_CHECK_COVERAGE, ES_WARNING,
                          "%zu %s covered by no signature (this one covers %zu): %s", n_unc,
                          n_unc == 1 ? "file is" : "files are", own, (char *)b.p);
    es_buf_cleanup(&b);
    return rv;
}

/* ------------------------------------------------------------------------------------------ */

static es_err read_list(es_ofd *o, const char *ofd_xml, const char *written, sig_w **ws, size_t *nw,
                        ofd_root *root, char *why, size_t whylen)
{
    char *lname = NULL;
    long li = ofd_resolve(o, ofd_xml, written, &lname, &root->quirks);
    if (li < 0) {
        es_err rv = ofd_fail(why, whylen, ES_ERR_NOT_FOUND,
                             "the signature list /%s named by /OFD.xml is not in the package",
                             lname ? lname : written);
        free(lname);
        return rv;
    }
    xmlDoc *doc = NULL;
    es_err rv = ofd_xml_entry(o, (size_t)li, &doc, why, whylen);
    if (rv != ES_OK) {
        free(lname);
        return rv;
    }
    xmlNode *root_el = xmlDocGetRootElement(doc);
    if (!ofd_xml_is(root_el, "Signatures")) {
        rv = ofd_fail(why, whylen, ES_ERR_FORMAT, "/%s: the root element is <%s>, not <Signatures>",
                      lname, root_el->name ? (const char *)root_el->name : "?");
        goto out;
    }
    for (xmlNode *s = ofd_xml_child(root_el, "Signature"); s; s = ofd_xml_next(s, "Signature")) {
        if (*nw >= o->lim.max_signatures) {
            rv = ofd_fail(why, whylen, ES_ERR_LIMIT, "/%s: more than %zu signatures", lname,
                          o->lim.max_signatures);
            goto out;
        }
        sig_w *n = realloc(*ws, (*nw + 1) * sizeof *n);
        if (!n) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
        *ws = n;
        sig_w *w = &n[(*nw)++];
        memset(w, 0, sizeof *w);
        w->pos = *nw - 1;
        w->xml_idx = w->sv_idx = w->seal_idx = -1;
        w->list_idx = li;
        w->list = strdup(lname);
        w->pub.id = ofd_xml_attr(s, "ID");
        w->pub.type = ofd_xml_attr(s, "Type");
        if (!w->pub.id) w->pub.id = strdup("-");
        if (!w->pub.type) w->pub.type = strdup("Seal"); /* the XSD's default */
        char *base = ofd_xml_attr(s, "BaseLoc");
        char *norm = NULL;
        if (base) w->xml_idx = ofd_resolve(o, lname, base, &norm, &w->q);
        free(base);
        if (norm) {
            w->pub.signature_xml = slash_path(norm);
            free(norm);
            if (!w->pub.signature_xml) {
                rv = ES_ERR_NOMEM;
                goto out;
            }
        }
        if (!w->list || !w->pub.id || !w->pub.type) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
    }
out:
    xmlFreeDoc(doc);
    free(lname);
    return rv;
}

es_err es_ofd_verify(es_ofd *o, const es_verify_opts *opts, es_report *rep, es_ofd_result *res,
                     char *why, size_t whylen)
{
    ofd_root root;
    sig_w *ws = NULL;
    size_t nw = 0;
    es_ofd_page *pages = NULL;
    size_t np = 0;
    char **unc = NULL;
    size_t n_unc = 0;
    uint8_t *covered = NULL;
    es_err rv;
    if (!o || !rep) return ES_ERR_ARG;
    if ((rv = ofd_root_read(o, &root, why, whylen)) != ES_OK) return rv;

    /* Pages map StampAnnot PageRef IDs to page numbers; verification does not need them. */
    if (root.bodies[0].doc_root &&
        ofd_pages_read(o, root.bodies[0].doc_root, &pages, &np, NULL, 0) != ES_OK) {
        pages = NULL;
        np = 0;
    }
    for (size_t b = 0; b < root.n_bodies; b++) {
        if (!root.bodies[b].signatures) continue;
        CHECK(read_list(o, o->e[root.ofd_xml].name, root.bodies[b].signatures, &ws, &nw, &root, why,
                        whylen));
    }
    for (size_t i = 0; i < nw; i++) CHECK(verify_one(o, &ws[i], opts, rep, pages, np));

    /* Later signatures, and changes they explain: adding a signature rewrites the list. */
    for (size_t i = 0; i < nw; i++) {
        sig_w *a = &ws[i];
        for (size_t j = 0; j < nw; j++) {
            if (!made_after(&ws[j], a)) continue;
            char **nl = realloc(a->pub.later, (a->pub.n_later + 1) * sizeof *nl);
            if (!nl) {
                rv = ES_ERR_NOMEM;
                goto out;
            }
            a->pub.later = nl;
            if (!(nl[a->pub.n_later] = strdup(ws[j].pub.id))) {
                rv = ES_ERR_NOMEM;
                goto out;
            }
            a->pub.n_later++;
        }
        size_t explained = 0;
        for (size_t k = 0; k < a->pub.n_refs; k++) {
            es_ofd_ref *r = &a->pub.refs[k];
            if (r->state == ES_OFD_REF_CHANGED && a->pub.n_later && a->rw[k].idx == a->list_idx) {
                r->by_later = 1;
                explained++;
            }
        }
        a->pub.changed_by_later = a->pub.n_bad > 0 && explained == a->pub.n_bad;
    }

    /* Coverage: referenced files, each signature's own files, the lists, and a Seal.esl that
     * is the seal inside its signature. */
    covered = calloc(o->n ? o->n : 1, 1);
    if (!covered) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < nw; i++) {
        sig_w *w = &ws[i];
        for (size_t k = 0; k < w->pub.n_refs; k++)
            if (w->rw[k].idx >= 0) covered[w->rw[k].idx] = 1;
        if (w->xml_idx >= 0) covered[w->xml_idx] = 1;
        if (w->sv_idx >= 0) covered[w->sv_idx] = 1;
        covered[w->list_idx] = 1;
        if (w->seal_idx >= 0 && w->has_entry) {
            const es_check *c = es_entry_get(&rep->entries[w->pub.entry], ES_CHECK_SEAL_FILE);
            if (c && c->result == ES_PASSED) covered[w->seal_idx] = 1;
        }
    }
    for (size_t i = 0; i < o->n; i++) {
        if (o->e[i].is_dir || !o->e[i].name || covered[i]) continue;
        char **nu = realloc(unc, (n_unc + 1) * sizeof *nu);
        if (!nu) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
        unc = nu;
        if (!(unc[n_unc] = strdup(o->e[i].name))) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
        n_unc++;
    }

    for (size_t i = 0; i < nw; i++) {
        sig_w *w = &ws[i];
        if (!w->has_entry) continue;
        es_entry *e = &rep->entries[w->pub.entry];
        CHECK(check_references(e, w));
        CHECK(check_changes(e, w, ws, nw));
        CHECK(check_coverage(e, w, unc, n_unc));
        e->quirks |= w->q | root.quirks;
    }

    if (res) {
        es_ofd_result_cleanup(res);
        res->sigs = calloc(nw ? nw : 1, sizeof *res->sigs);
        if (!res->sigs) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < nw; i++) {
            res->sigs[i] = ws[i].pub;
            memset(&ws[i].pub, 0, sizeof ws[i].pub);
        }
        res->n_sigs = nw;
        res->uncovered = unc;
        res->n_uncovered = n_unc;
        unc = NULL;
        n_unc = 0;
        res->pages = pages;
        res->n_pages = np;
        pages = NULL;
        np = 0;
    }
out:
    for (size_t i = 0; i < nw; i++) sig_w_cleanup(&ws[i]);
    free(ws);
    for (size_t i = 0; i < n_unc; i++) free(unc[i]);
    free(unc);
    free(covered);
    ofd_pages_free(pages, np);
    ofd_root_cleanup(&root);
    return rv;
}
