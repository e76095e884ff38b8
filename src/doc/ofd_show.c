/* What an OFD package holds, for people: pages, signatures and their stamps; and its seals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

static double fin(double v)
{
    return isfinite(v) ? v : 0;
}

static es_err json_kv_str(es_buf *b, const char *key, const char *v, int comma)
{
    es_err rv = es_buf_printf(b, "%s\"%s\":", comma ? "," : "", key);
    if (rv == ES_OK) rv = es_json_str(b, v ? v : "", v ? strlen(v) : 0);
    return rv;
}

/* ,"key":"/path" (or null) for a normalised path; only the value when key is NULL. */
static es_err json_path(es_buf *b, const char *key, const char *norm)
{
    es_err rv = key ? es_buf_printf(b, ",\"%s\":", key) : ES_OK;
    if (rv != ES_OK || !norm) return rv == ES_OK ? es_buf_append_str(b, "null") : rv;
    size_t l = strlen(norm);
    char *p = malloc(l + 2);
    if (!p) return ES_ERR_NOMEM;
    p[0] = '/';
    memcpy(p + 1, norm, l + 1);
    rv = es_json_str(b, p, l + 1);
    free(p);
    return rv;
}

/* The first value of key in an entry's seal or signer list, or "". */
static const char *kv(const es_entry *e, int seal, const char *key)
{
    return es_kv_get(seal ? &e->seal : &e->signer, key);
}

static es_err print_text(const es_report *rep, const es_ofd_result *r, es_buf *b)
{
    es_err rv;
    CHECK(es_buf_printf(b, "pages: %zu\n", r->n_pages));
    for (size_t i = 0; i < r->n_pages; i++) {
        const es_ofd_page *p = &r->pages[i];
        CHECK(es_buf_printf(b, "  %-4zu ID %-6s %g x %g mm  /%s\n", i + 1, p->id, fin(p->box[2]),
                            fin(p->box[3]), p->path ? p->path : "(no content)"));
    }
    CHECK(es_buf_printf(b, "signatures: %zu\n", r->n_sigs));
    for (size_t i = 0; i < r->n_sigs; i++) {
        const es_ofd_sig *s = &r->sigs[i];
        const es_entry *e = &rep->entries[s->entry];
        const char *name = kv(e, 1, "name"), *esid = kv(e, 1, "es_id");
        CHECK(es_buf_printf(b, "  %s (%s) %s: %s\n", s->id, s->type, e->kind,
                            es_result_name(e->indication)));
        CHECK(es_buf_printf(b, "    %-14s %s\n", "signature.xml",
                            s->signature_xml ? s->signature_xml : "(missing)"));
        CHECK(es_buf_printf(b, "    %-14s %s\n", "signer",
                            *kv(e, 0, "subject") ? kv(e, 0, "subject") : "(unknown)"));
        if (*name) CHECK(es_buf_printf(b, "    %-14s %s (esID %s)\n", "seal", name, esid));
        CHECK(es_buf_printf(b, "    %-14s %s%s%s%s\n", "time",
                            *kv(e, 0, "signing_time") ? kv(e, 0, "signing_time") : "unknown",
                            s->date_time ? " (SignatureDateTime \"" : "",
                            s->date_time ? s->date_time : "", s->date_time ? "\")" : ""));
        if (s->provider) CHECK(es_buf_printf(b, "    %-14s %s\n", "provider", s->provider));
        for (size_t k = 0; k < s->n_stamps; k++) {
            const es_ofd_stamp *st = &s->stamps[k];
            const double *bx = st->boundary;
            if (st->page)
                CHECK(es_buf_printf(b, "    %-14s page %ld", "stamp", st->page));
            else
                CHECK(es_buf_printf(b, "    %-14s page ID %s (no such page)", "stamp",
                                    st->page_ref ? st->page_ref : "?"));
            CHECK(es_buf_printf(b, ": x %g y %g, %g x %g mm", fin(bx[0]), fin(bx[1]), fin(bx[2]),
                                fin(bx[3])));
            if (st->has_clip)
                CHECK(es_buf_printf(b, ", clip %g %g %g %g", fin(st->clip[0]), fin(st->clip[1]),
                                    fin(st->clip[2]), fin(st->clip[3])));
            CHECK(es_buf_append_str(b, "\n"));
        }
    }
    if (r->n_uncovered) {
        CHECK(es_buf_printf(b, "covered by no signature: %zu\n", r->n_uncovered));
        for (size_t i = 0; i < r->n_uncovered; i++)
            CHECK(es_buf_printf(b, "  /%s\n", r->uncovered[i]));
    }
out:
    return rv;
}

static es_err print_json(const es_report *rep, const es_ofd_result *r, es_buf *b)
{
    es_err rv;
    CHECK(es_buf_append_str(b, "{\"pages\":["));
    for (size_t i = 0; i < r->n_pages; i++) {
        const es_ofd_page *p = &r->pages[i];
        CHECK(es_buf_printf(b, "%s{\"number\":%zu", i ? "," : "", i + 1));
        CHECK(json_kv_str(b, "id", p->id, 1));
        CHECK(json_path(b, "content", p->path));
        CHECK(
            es_buf_printf(b, ",\"width_mm\":%g,\"height_mm\":%g}", fin(p->box[2]), fin(p->box[3])));
    }
    CHECK(es_buf_append_str(b, "],\"signatures\":["));
    for (size_t i = 0; i < r->n_sigs; i++) {
        const es_ofd_sig *s = &r->sigs[i];
        const es_entry *e = &rep->entries[s->entry];
        CHECK(es_buf_append_str(b, i ? ",{" : "{"));
        CHECK(json_kv_str(b, "id", s->id, 0));
        CHECK(json_kv_str(b, "type", s->type, 1));
        CHECK(json_kv_str(b, "kind", e->kind, 1));
        CHECK(json_kv_str(b, "indication", es_result_name(e->indication), 1));
        CHECK(json_kv_str(b, "signature_xml", s->signature_xml, 1));
        CHECK(json_kv_str(b, "signer", kv(e, 0, "subject"), 1));
        CHECK(json_kv_str(b, "seal_name", kv(e, 1, "name"), 1));
        CHECK(json_kv_str(b, "es_id", kv(e, 1, "es_id"), 1));
        CHECK(json_kv_str(b, "signing_time", kv(e, 0, "signing_time"), 1));
        CHECK(json_kv_str(b, "signature_date_time", s->date_time, 1));
        CHECK(json_kv_str(b, "provider", s->provider, 1));
        CHECK(es_buf_append_str(b, ",\"stamps\":["));
        for (size_t k = 0; k < s->n_stamps; k++) {
            const es_ofd_stamp *st = &s->stamps[k];
            CHECK(es_buf_printf(b, "%s{\"page\":%ld", k ? "," : "", st->page));
            CHECK(json_kv_str(b, "page_ref", st->page_ref, 1));
            CHECK(json_kv_str(b, "id", st->id, 1));
            CHECK(es_buf_printf(b, ",\"x\":%g,\"y\":%g,\"w\":%g,\"h\":%g", fin(st->boundary[0]),
                                fin(st->boundary[1]), fin(st->boundary[2]), fin(st->boundary[3])));
            if (st->has_clip)
                CHECK(es_buf_printf(b, ",\"clip\":[%g,%g,%g,%g]", fin(st->clip[0]),
                                    fin(st->clip[1]), fin(st->clip[2]), fin(st->clip[3])));
            CHECK(es_buf_append_str(b, "}"));
        }
        CHECK(es_buf_append_str(b, "]}"));
    }
    CHECK(es_buf_append_str(b, "],\"uncovered\":["));
    for (size_t i = 0; i < r->n_uncovered; i++) {
        CHECK(es_buf_append_str(b, i ? "," : ""));
        CHECK(json_path(b, NULL, r->uncovered[i]));
    }
    CHECK(es_buf_append_str(b, "]}\n"));
out:
    return rv;
}

es_err es_ofd_print(es_ofd *o, int json, es_buf *out, char *why, size_t whylen)
{
    es_report rep;
    es_ofd_result res;
    es_verify_opts vo;
    memset(&vo, 0, sizeof vo);
    vo.now = ES_TIME_NONE;
    es_report_init(&rep);
    es_ofd_result_init(&res);
    es_err rv = es_ofd_verify(o, &vo, &rep, &res, why, whylen);
    if (rv != ES_OK) goto out;
    es_report_finish(&rep);
    for (size_t i = 0; i < res.n_pages; i++) ofd_page_box(o, &res.pages[i]);
    rv = json ? print_json(&rep, &res, out) : print_text(&rep, &res, out);
out:
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);
    return rv;
}

void es_ofd_seals_free(es_ofd_seal_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].sig_id);
        free(items[i].source);
        free(items[i].der);
    }
    free(items);
}

static es_err push_seal(es_ofd_seal_item **items, size_t *n, const char *id, const char *src,
                        es_slice der)
{
    es_ofd_seal_item *ni = realloc(*items, (*n + 1) * sizeof *ni);
    if (!ni) return ES_ERR_NOMEM;
    *items = ni;
    es_ofd_seal_item *it = &ni[*n];
    it->sig_id = strdup(id);
    it->source = strdup(src);
    it->der = malloc(der.len ? der.len : 1);
    it->len = der.len;
    if (!it->sig_id || !it->source || !it->der) {
        free(it->sig_id);
        free(it->source);
        free(it->der);
        return ES_ERR_NOMEM;
    }
    memcpy(it->der, der.p, der.len);
    (*n)++;
    return ES_OK;
}

es_err es_ofd_seals(es_ofd *o, es_ofd_seal_item **items, size_t *n, char *why, size_t whylen)
{
    es_report rep;
    es_ofd_result res;
    es_verify_opts vo;
    es_buf sv, sf;
    memset(&vo, 0, sizeof vo);
    vo.now = ES_TIME_NONE;
    *items = NULL;
    *n = 0;
    es_report_init(&rep);
    es_ofd_result_init(&res);
    es_buf_init(&sv, ES_MAX_SEAL_DER);
    es_buf_init(&sf, ES_MAX_SEAL_DER);
    es_err rv = es_ofd_verify(o, &vo, &rep, &res, why, whylen);
    if (rv != ES_OK) goto out;
    for (size_t i = 0; i < res.n_sigs; i++) {
        const es_ofd_sig *s = &res.sigs[i];
        es_slice embedded = ES_SLICE_NULL;
        es_buf_cleanup(&sv);
        es_buf_cleanup(&sf);
        long vi = s->signed_value ? ofd_lookup(o, s->signed_value + 1, NULL) : -1;
        if (vi >= 0 && ofd_entry_read(o, (size_t)vi, ES_MAX_SEAL_DER, &sv) == ES_OK) {
            es_signature sig;
            if (es_signature_from_der(es_slice_make(sv.p, sv.len), 1, &sig) == ES_OK) {
                embedded = sig.seal.raw;
                CHECK(push_seal(items, n, s->id, s->signed_value, embedded));
            }
        }
        long fi = s->seal_file ? ofd_lookup(o, s->seal_file + 1, NULL) : -1;
        if (fi >= 0 && ofd_entry_read(o, (size_t)fi, ES_MAX_SEAL_DER, &sf) == ES_OK &&
            !es_slice_eq(es_slice_make(sf.p, sf.len), embedded)) {
            es_seal seal;
            if (es_seal_from_der(es_slice_make(sf.p, sf.len), 1, &seal) == ES_OK)
                CHECK(push_seal(items, n, s->id, s->seal_file, es_slice_make(sf.p, sf.len)));
        }
    }
out:
    if (rv != ES_OK) {
        es_ofd_seals_free(*items, *n);
        *items = NULL;
        *n = 0;
    }
    es_buf_cleanup(&sv);
    es_buf_cleanup(&sf);
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);
    return rv;
}
