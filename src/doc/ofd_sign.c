/* Signing an OFD package (GB/T 33190-2016 18.2): a new Signs/Sign_N with Signature.xml,
 * Seal.esl and SignedValue.dat, the stamp annotations, and the updated signature list.
 *
 * What is written follows the careful producers (Koal, GOMAIN, KingGrid) and the XSD:
 *   - References over every file of the package but the signature list, absolute paths,
 *     CheckMethod = the SM3 OID, CheckValue = base64(SM3(file bytes)); so later signatures can
 *     be added without breaking this one (the list is the only file they change);
 *   - elements in XSD order, SignatureMethod 1.2.156.10197.1.501, SignatureDateTime as
 *     GeneralizedTime equal to TBS_Sign.timeInfo;
 *   - SignedValue.dat = a GB/T 38540 v4 SES_Signature with dataHash = SM3(Signature.xml as
 *     written) and propertyInfo = the absolute path of Signature.xml.
 * The package is rewritten through libzip: new and replaced entries are added, every other
 * entry is copied as it is stored (its compressed bytes), into a temporary file that is
 * renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "doc/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

#define PROVIDER_NAME    "eseal"
#define PROVIDER_VERSION "0.1.0"
#define DEFAULT_STAMP_MM 40 /* a seal picture without a size */

/* IDs of the signature list: "1", "2" (most vendors) or "s001" (ofdrw). New IDs continue the
 * largest number seen, in the style seen. */
typedef struct idgen {
    long max;
    int s_style;
    int width;
} idgen;

static void id_seen(idgen *g, const char *id)
{
    if (!id) return;
    const char *p = id;
    while (*p && (*p < '0' || *p > '9')) p++;
    if (!*p) return;
    if (p == id + 1 && (id[0] == 's' || id[0] == 'S')) {
        g->s_style = 1;
        if ((int)strlen(p) > g->width) g->width = (int)strlen(p);
    }
    char *end;
    long v = strtol(p, &end, 10);
    if (*end == 0 && v > g->max && v < 1000000000) g->max = v;
}

static void id_make(const idgen *g, long v, char out[32])
{
    int wd = g->width > 0 && g->width < 10 ? g->width : 3;
    if (g->s_style)
        snprintf(out, 32, "s%0*ld", wd & 15, v % 1000000000);
    else
        snprintf(out, 32, "%ld", v % 1000000000);
}

static es_err xml_escape(es_buf *b, const char *s)
{
    es_err rv = ES_OK;
    for (; *s && rv == ES_OK; s++) {
        switch (*s) {
        case '&':
            rv = es_buf_append_str(b, "&amp;");
            break;
        case '<':
            rv = es_buf_append_str(b, "&lt;");
            break;
        case '>':
            rv = es_buf_append_str(b, "&gt;");
            break;
        case '"':
            rv = es_buf_append_str(b, "&quot;");
            break;
        default:
            rv = es_buf_append_byte(b, (uint8_t)*s);
        }
    }
    return rv;
}

/* Millimetres as OFD writes them: up to 3 decimals, no trailing zeros. */
static void fmt_mm(double v, char out[32])
{
    snprintf(out, 32, "%.3f", v);
    char *dot = strchr(out, '.');
    if (!dot) return;
    char *e = out + strlen(out) - 1;
    while (e > dot && *e == '0') *e-- = 0;
    if (e == dot) *e = 0;
    if (strcmp(out, "-0") == 0) strcpy(out, "0");
}

static es_err fmt_box(es_buf *b, const double v[4])
{
    char a[4][32];
    for (int i = 0; i < 4; i++) fmt_mm(v[i], a[i]);
    return es_buf_printf(b, "%s %s %s %s", a[0], a[1], a[2], a[3]);
}

typedef struct stamp_w {
    char id[32];
    const char *page_id;
    double box[4];
    int has_clip;
    double clip[4];
} stamp_w;

static char *dir_of(const char *name)
{
    const char *s = strrchr(name, '/');
    size_t n = s ? (size_t)(s - name) : 0;
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, name, n);
    d[n] = 0;
    return d;
}

static es_err dump_xml(xmlDoc *doc, es_buf *out)
{
    xmlChar *mem = NULL;
    int len = 0;
    xmlDocDumpMemoryEnc(doc, &mem, &len, "UTF-8");
    if (!mem) return ES_ERR_NOMEM;
    es_err rv = es_buf_append(out, mem, (size_t)len);
    xmlFree(mem);
    return rv;
}

/* The signature list with the new signature added (or a new list). */
static es_err make_list(xmlDoc *old, const char *sig_id, const char *max_id, const char *loc,
                        es_buf *out)
{
    if (!old) {
        es_err rv = es_buf_printf(out,
                                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                  "<ofd:Signatures xmlns:ofd=\"" ES_OFD_NS "\">"
                                  "<ofd:MaxSignId>%s</ofd:MaxSignId>"
                                  "<ofd:Signature ID=\"%s\" Type=\"Seal\" BaseLoc=\"",
                                  max_id, sig_id);
        if (rv == ES_OK) rv = xml_escape(out, loc);
        if (rv == ES_OK) rv = es_buf_append_str(out, "\"/></ofd:Signatures>\n");
        return rv;
    }
    xmlNode *root = xmlDocGetRootElement(old);
    xmlNode *max = ofd_xml_child(root, "MaxSignId");
    if (max) {
        /* ofdrw appends one per signature: keep them all equal to the new maximum. */
        for (xmlNode *m = max; m; m = ofd_xml_next(m, "MaxSignId"))
            xmlNodeSetContent(m, (const xmlChar *)max_id);
    } else {
        max = xmlNewDocNode(old, root->ns, (const xmlChar *)"MaxSignId", (const xmlChar *)max_id);
        if (!max) return ES_ERR_NOMEM;
        if (root->children)
            xmlAddPrevSibling(root->children, max);
        else
            xmlAddChild(root, max);
    }
    xmlNode *s = xmlNewChild(root, root->ns, (const xmlChar *)"Signature", NULL);
    if (!s || !xmlNewProp(s, (const xmlChar *)"ID", (const xmlChar *)sig_id) ||
        !xmlNewProp(s, (const xmlChar *)"Type", (const xmlChar *)"Seal") ||
        !xmlNewProp(s, (const xmlChar *)"BaseLoc", (const xmlChar *)loc))
        return ES_ERR_NOMEM;
    return dump_xml(old, out);
}

/* OFD.xml naming the new signature list in its first DocBody. */
static es_err make_ofd_xml(es_ofd *o, size_t ofd_idx, const char *loc, es_buf *out, char *why,
                           size_t whylen)
{
    xmlDoc *doc = NULL;
    es_err rv = ofd_xml_entry(o, ofd_idx, &doc, why, whylen);
    if (rv != ES_OK) return rv;
    xmlNode *body = ofd_xml_child(xmlDocGetRootElement(doc), "DocBody");
    xmlNode *sg = ofd_xml_child(body, "Signatures");
    if (sg)
        xmlNodeSetContent(sg, (const xmlChar *)loc);
    else if (!body ||
             !xmlNewTextChild(body, body->ns, (const xmlChar *)"Signatures", (const xmlChar *)loc))
        rv = ES_ERR_NOMEM;
    if (rv == ES_OK) rv = dump_xml(doc, out);
    xmlFreeDoc(doc);
    return rv;
}

static es_err add_reference(es_buf *x, const char *name, const uint8_t h[ES_SM3_LEN])
{
    es_err rv = es_buf_append_str(x, "<ofd:Reference FileRef=\"/");
    if (rv == ES_OK) rv = xml_escape(x, name);
    if (rv == ES_OK) rv = es_buf_append_str(x, "\"><ofd:CheckValue>");
    if (rv == ES_OK) rv = es_base64_encode(h, ES_SM3_LEN, x);
    if (rv == ES_OK) rv = es_buf_append_str(x, "</ofd:CheckValue></ofd:Reference>\n");
    return rv;
}

/* Copies in to a new temporary file next to out; returns its malloc'd name. */
static es_err copy_to_temp(const char *in, const char *out, char **tmp_out)
{
    mode_t um = umask(0);
    umask(um);
    char *tmp;
    int ofd;
    es_err rv = es_file_tmp_create(out, 0644 & ~um, &tmp, &ofd);
    if (rv != ES_OK) return rv;
    int ifd = open(in, O_RDONLY | O_CLOEXEC);
    uint8_t *chunk = malloc(OFD_CHUNK);
    rv = !chunk ? ES_ERR_NOMEM : ifd < 0 ? ES_ERR_IO : ES_OK;
    while (rv == ES_OK) {
        ssize_t r = read(ifd, chunk, OFD_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rv = ES_ERR_IO;
        if (r <= 0) break;
        for (ssize_t w = 0; w < r && rv == ES_OK;) {
            ssize_t k = write(ofd, chunk + w, (size_t)(r - w));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0)
                rv = ES_ERR_IO;
            else
                w += k;
        }
    }
    free(chunk);
    if (ifd >= 0) close(ifd);
    if (close(ofd) != 0) rv = ES_ERR_IO;
    if (rv != ES_OK) {
        unlink(tmp);
        free(tmp);
        return rv;
    }
    *tmp_out = tmp;
    return ES_OK;
}

typedef struct new_entry {
    const char *name; /* normalised name for new entries */
    long replace;     /* zip index to replace, or -1 to add */
    const es_buf *data;
} new_entry;

/* Writes the package: in copied to a temporary file, the entries added or replaced there by
 * libzip (which copies the others' compressed bytes), then renamed to out. */
static es_err write_package(const char *in, const char *out, const new_entry *ne, size_t n,
                            char *why, size_t whylen)
{
    char *tmp = NULL;
    es_err rv = copy_to_temp(in, out, &tmp);
    if (rv != ES_OK)
        return ofd_fail(why, whylen, rv, "%s: cannot write next to it: %s", out, strerror(errno));
    int err = 0;
    zip_t *z = zip_open(tmp, 0, &err);
    if (!z) {
        rv = ofd_fail(why, whylen, ES_ERR_IO, "%s: cannot reopen the copy", out);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        zip_source_t *src = zip_source_buffer(z, ne[i].data->p, ne[i].data->len, 0);
        if (!src) {
            rv = ES_ERR_NOMEM;
            goto fail;
        }
        zip_int64_t idx;
        if (ne[i].replace >= 0) {
            idx =
                zip_file_replace(z, (zip_uint64_t)ne[i].replace, src, 0) == 0 ? ne[i].replace : -1;
        } else {
            idx = zip_file_add(z, ne[i].name, src, ZIP_FL_ENC_UTF_8);
        }
        if (idx < 0) {
            zip_source_free(src);
            rv =
                ofd_fail(why, whylen, ES_ERR_IO, "cannot add /%s: %s", ne[i].name, zip_strerror(z));
            goto fail;
        }
        zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 0);
    }
    if (zip_close(z) != 0) {
        rv = ofd_fail(why, whylen, ES_ERR_IO, "%s: cannot write: %s", out, zip_strerror(z));
        goto fail;
    }
    z = NULL;
    if (es_file_tmp_commit(tmp, out) != ES_OK) {
        rv = ofd_fail(why, whylen, ES_ERR_IO, "%s: cannot write: %s", out, strerror(errno));
        goto out;
    }
    free(tmp);
    return ES_OK;
fail:
    if (z) zip_discard(z);
out:
    unlink(tmp);
    free(tmp);
    return rv;
}

es_err es_ofd_sign(const char *in, const char *outp, const es_ofd_sign_params *p, es_signer *signer,
                   const es_ofd_limits *lim, char *why, size_t whylen)
{
    es_ofd *o = NULL;
    ofd_root root;
    es_ofd_page *pages = NULL;
    size_t np = 0;
    xmlDoc *list_doc = NULL;
    char *list_name = NULL, *signs_dir = NULL, *sign_dir = NULL;
    stamp_w *stamps = NULL;
    size_t ns = 0;
    es_buf ofdx, listx, sigx, svx, sealx, path;
    es_seal seal;
    es_err rv;
    memset(&root, 0, sizeof root);
    es_buf_init(&ofdx, ES_OFD_MAX_XML);
    es_buf_init(&listx, ES_OFD_MAX_XML);
    es_buf_init(&sigx, (size_t)ES_OFD_MAX_REFERENCES * 512);
    es_buf_init(&svx, ES_MAX_SEAL_DER + 65536);
    es_buf_init(&sealx, ES_MAX_SEAL_DER);
    es_buf_init(&path, 4096);

    if (!in || !outp || !p || !signer || !p->seal.len || !p->signer_cert.len)
        return ofd_fail(why, whylen, ES_ERR_ARG, "missing argument");
    int riding = p->riding_from > 0 || p->riding_to > 0;
    if (riding && (p->riding_from < 1 || p->riding_to <= p->riding_from))
        return ofd_fail(why, whylen, ES_ERR_ARG,
                        "a riding seal needs a range of at least two pages FROM-TO");
    if (!riding && p->page < 1) return ofd_fail(why, whylen, ES_ERR_ARG, "pages count from 1");
    if (es_seal_from_der(p->seal, 1, &seal) != ES_OK)
        return ofd_fail(why, whylen, ES_ERR_FORMAT, "the seal cannot be read as an SESeal");
    double w = seal.picture_width > 0 && seal.picture_width < 1000 ? (double)seal.picture_width
                                                                   : DEFAULT_STAMP_MM;
    double h = seal.picture_height > 0 && seal.picture_height < 1000 ? (double)seal.picture_height
                                                                     : DEFAULT_STAMP_MM;

    CHECK(es_ofd_open(in, lim, &o, why, whylen));
    CHECK(ofd_root_read(o, &root, why, whylen));
    ofd_docbody *body = &root.bodies[0];
    if (!body->doc_root) {
        rv = ofd_fail(why, whylen, ES_ERR_FORMAT, "/OFD.xml names no document (DocRoot)");
        goto out;
    }
    CHECK(ofd_pages_read(o, body->doc_root, &pages, &np, why, whylen));
    long first = riding ? p->riding_from : p->page, last = riding ? p->riding_to : p->page;
    if ((size_t)last > np) {
        rv = ofd_fail(why, whylen, ES_ERR_ARG, "page %ld does not exist: the document has %zu",
                      last, np);
        goto out;
    }

    /* The signature list: the one OFD.xml names, else Signs/Signatures.xml next to the
     * document (created, and named in OFD.xml). */
    long list_idx = -1;
    int new_list_ref = 0;
    if (body->signatures) {
        list_idx = ofd_resolve(o, o->e[root.ofd_xml].name, body->signatures, &list_name, NULL);
        if (!list_name) {
            rv = ofd_fail(why, whylen, ES_ERR_FORMAT, "/OFD.xml: bad Signatures path '%s'",
                          body->signatures);
            goto out;
        }
        if (list_idx < 0) {
            /* As verification does: the signatures it listed are lost, not to be papered over. */
            rv = ofd_fail(why, whylen, ES_ERR_NOT_FOUND,
                          "the signature list /%s named by /OFD.xml is not in the package",
                          list_name);
            goto out;
        }
    } else {
        char *d = dir_of(body->doc_root);
        if (!d) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
        CHECK(es_buf_printf(&path, "%s%sSigns/Signatures.xml", d, *d ? "/" : ""));
        free(d);
        CHECK(es_buf_nul(&path));
        list_name = strdup((char *)path.p);
        es_buf_cleanup(&path);
        new_list_ref = 1;
        if (!list_name) {
            rv = ES_ERR_NOMEM;
            goto out;
        }
        list_idx = ofd_lookup(o, list_name, NULL);
    }
    idgen g = {0, 0, 0};
    if (list_idx >= 0) {
        CHECK(ofd_xml_entry(o, (size_t)list_idx, &list_doc, why, whylen));
        xmlNode *lr = xmlDocGetRootElement(list_doc);
        if (!ofd_xml_is(lr, "Signatures")) {
            rv = ofd_fail(why, whylen, ES_ERR_FORMAT, "/%s is not a signature list", list_name);
            goto out;
        }
        char *t = ofd_xml_text(ofd_xml_child(lr, "MaxSignId"));
        id_seen(&g, t);
        free(t);
        for (xmlNode *s = ofd_xml_child(lr, "Signature"); s; s = ofd_xml_next(s, "Signature")) {
            char *id = ofd_xml_attr(s, "ID"), *loc = ofd_xml_attr(s, "BaseLoc");
            id_seen(&g, id);
            /* Stamp annotations share the ID space (ofdrw's MaxSignId counts them). */
            long si = loc ? ofd_resolve(o, list_name, loc, NULL, NULL) : -1;
            xmlDoc *sd = NULL;
            if (si >= 0 && ofd_xml_entry(o, (size_t)si, &sd, NULL, 0) == ES_OK) {
                xmlNode *info = ofd_xml_child(xmlDocGetRootElement(sd), "SignedInfo");
                for (xmlNode *a = ofd_xml_child(info, "StampAnnot"); a;
                     a = ofd_xml_next(a, "StampAnnot")) {
                    char *aid = ofd_xml_attr(a, "ID");
                    id_seen(&g, aid);
                    free(aid);
                }
                xmlFreeDoc(sd);
            }
            free(id);
            free(loc);
        }
    }
    signs_dir = dir_of(list_name);
    if (!signs_dir) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    /* Sign_N: the first N with no file under it. */
    for (long n = 0;; n++) {
        es_buf_cleanup(&path);
        CHECK(es_buf_printf(&path, "%s%sSign_%ld/", signs_dir, *signs_dir ? "/" : "", n));
        int used = 0;
        for (size_t i = 0; i < o->n && !used; i++)
            used = o->e[i].name && strncmp(o->e[i].name, (char *)path.p, path.len) == 0;
        if (!used) break;
    }
    path.p[--path.len] = 0; /* drop the slash */
    sign_dir = strdup((char *)path.p);
    es_buf_cleanup(&path);
    if (!sign_dir) {
        rv = ES_ERR_NOMEM;
        goto out;
    }

    char sig_id[32], max_id[32];
    long next = g.max + 1;
    id_make(&g, next++, sig_id);
    ns = (size_t)(last - first + 1);
    stamps = calloc(ns, sizeof *stamps);
    if (!stamps) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    for (size_t k = 0; k < ns; k++) {
        es_ofd_page *pg = &pages[first - 1 + (long)k];
        stamp_w *st = &stamps[k];
        id_make(&g, next++, st->id);
        st->page_id = pg->id;
        if (!*pg->id) {
            rv = ofd_fail(why, whylen, ES_ERR_FORMAT, "page %ld has no ID in /%s", first + (long)k,
                          body->doc_root);
            goto out;
        }
        if (!riding) {
            double b[4] = {p->x, p->y, w, h};
            memcpy(st->box, b, sizeof b);
            continue;
        }
        /* 骑缝章: page k shows slice k of the picture at its right edge (as ofdrw does). */
        ofd_page_box(o, pg);
        double sw = w / (double)ns;
        double y = p->riding_has_y ? p->y : pg->box[1] + (pg->box[3] - h) / 2;
        double b[4] = {pg->box[0] + pg->box[2] - sw * (double)(k + 1), y, w, h};
        double c[4] = {sw * (double)k, 0, sw, h};
        memcpy(st->box, b, sizeof b);
        memcpy(st->clip, c, sizeof c);
        st->has_clip = 1;
    }
    id_make(&g, next - 1, max_id);

    es_time t = p->time == ES_TIME_NONE ? es_time_now() : p->time;
    char gt[16];
    es_time_format_gentime(t, gt);
    char seal_loc[1024], sv_loc[1024], sig_loc[1024];
    snprintf(seal_loc, sizeof seal_loc, "%s/Seal.esl", sign_dir);
    snprintf(sv_loc, sizeof sv_loc, "%s/SignedValue.dat", sign_dir);
    snprintf(sig_loc, sizeof sig_loc, "/%s/Signature.xml", sign_dir);

    if (new_list_ref) {
        char loc[1100];
        snprintf(loc, sizeof loc, "/%s", list_name);
        CHECK(make_ofd_xml(o, root.ofd_xml, loc, &ofdx, why, whylen));
    }
    CHECK(make_list(list_doc, sig_id, max_id, sig_loc, &listx));

    /* Signature.xml, in XSD order. */
    CHECK(es_buf_append_str(&sigx,
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<ofd:Signature xmlns:ofd=\"" ES_OFD_NS "\">\n"
                            "<ofd:SignedInfo>\n"
                            "<ofd:Provider ProviderName=\"" PROVIDER_NAME
                            "\" Version=\"" PROVIDER_VERSION "\" Company=\"" PROVIDER_NAME "\"/>\n"
                            "<ofd:SignatureMethod>" ES_OID_SM2_SM3 "</ofd:SignatureMethod>\n"));
    CHECK(es_buf_printf(&sigx, "<ofd:SignatureDateTime>%s</ofd:SignatureDateTime>\n", gt));
    CHECK(es_buf_append_str(&sigx, "<ofd:References CheckMethod=\"" ES_OID_SM3 "\">\n"));
    for (size_t i = 0; i < o->n; i++) {
        const ofd_entry *e = &o->e[i];
        if (e->is_dir || !e->name || (long)i == list_idx) continue;
        uint8_t hsh[ES_SM3_LEN];
        if (new_list_ref && i == root.ofd_xml) {
            CHECK(es_sm3(ofdx.p, ofdx.len, hsh));
        } else if ((rv = ofd_entry_sm3(o, i, hsh)) != ES_OK) {
            rv = ofd_fail(why, whylen, rv, "/%s cannot be read from the package", e->name);
            goto out;
        }
        CHECK(add_reference(&sigx, e->name, hsh));
    }
    {
        uint8_t hsh[ES_SM3_LEN];
        CHECK(es_sm3(p->seal.p, p->seal.len, hsh));
        CHECK(add_reference(&sigx, seal_loc, hsh));
    }
    CHECK(es_buf_append_str(&sigx, "</ofd:References>\n"));
    for (size_t k = 0; k < ns; k++) {
        CHECK(es_buf_printf(&sigx, "<ofd:StampAnnot ID=\"%s\" PageRef=\"", stamps[k].id));
        CHECK(xml_escape(&sigx, stamps[k].page_id));
        CHECK(es_buf_append_str(&sigx, "\" Boundary=\""));
        CHECK(fmt_box(&sigx, stamps[k].box));
        if (stamps[k].has_clip) {
            CHECK(es_buf_append_str(&sigx, "\" Clip=\""));
            CHECK(fmt_box(&sigx, stamps[k].clip));
        }
        CHECK(es_buf_append_str(&sigx, "\"/>\n"));
    }
    CHECK(es_buf_append_str(&sigx, "<ofd:Seal><ofd:BaseLoc>/"));
    CHECK(xml_escape(&sigx, seal_loc));
    CHECK(es_buf_append_str(&sigx, "</ofd:BaseLoc></ofd:Seal>\n</ofd:SignedInfo>\n"
                                   "<ofd:SignedValue>/"));
    CHECK(xml_escape(&sigx, sv_loc));
    CHECK(es_buf_append_str(&sigx, "</ofd:SignedValue>\n</ofd:Signature>\n"));

    /* The SES_Signature over SM3 of exactly these bytes. */
    uint8_t data_hash[ES_SM3_LEN];
    CHECK(es_sm3(sigx.p, sigx.len, data_hash));
    es_sign_params sp = {
        .seal = p->seal,
        .time = t,
        .data_hash = data_hash,
        .property_info = sig_loc,
        .signer_cert = p->signer_cert,
        .sm2_id = p->sm2_id,
    };
    rv = es_signature_make(&sp, signer, &svx);
    if (rv != ES_OK) {
        ofd_fail(why, whylen, rv, "%s",
                 rv == ES_ERR_CERT           ? "the signer certificate is not in the seal's list"
                 : rv == ES_ERR_KEY_MISMATCH ? "the key does not belong to the signer certificate"
                 : rv == ES_ERR_UNSUPPORTED  ? "only GB/T 38540 (v4/v5) seals can sign"
                                             : es_err_str(rv));
        goto out;
    }
    CHECK(es_buf_append(&sealx, p->seal.p, p->seal.len));

    char sig_name[1024];
    snprintf(sig_name, sizeof sig_name, "%s", sig_loc + 1);
    new_entry ne[5];
    size_t nn = 0;
    ne[nn++] = (new_entry){seal_loc, -1, &sealx};
    ne[nn++] = (new_entry){sig_name, -1, &sigx};
    ne[nn++] = (new_entry){sv_loc, -1, &svx};
    ne[nn++] = (new_entry){list_name, list_idx >= 0 ? (long)o->e[list_idx].index : -1, &listx};
    if (new_list_ref) ne[nn++] = (new_entry){"OFD.xml", (long)o->e[root.ofd_xml].index, &ofdx};
    es_ofd_free(o);
    o = NULL;
    rv = write_package(in, outp, ne, nn, why, whylen);
out:
    if (list_doc) xmlFreeDoc(list_doc);
    es_ofd_free(o);
    ofd_root_cleanup(&root);
    ofd_pages_free(pages, np);
    free(stamps);
    free(list_name);
    free(signs_dir);
    free(sign_dir);
    es_buf_cleanup(&ofdx);
    es_buf_cleanup(&listx);
    es_buf_cleanup(&sigx);
    es_buf_cleanup(&svx);
    es_buf_cleanup(&sealx);
    es_buf_cleanup(&path);
    return rv;
}
