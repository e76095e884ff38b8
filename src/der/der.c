/* Bounded DER/BER reader and canonical DER writer (see include/eseal/der.h). */
#include <stdio.h>
#include <string.h>

#include "eseal/der.h"

static void note(es_quirks *q, int bit)
{
    if (q) *q |= ES_QUIRK(bit);
}

void es_der_init(es_der *d, es_slice in, es_quirks *quirks)
{
    d->p = in.p;
    /* ES_SLICE_NULL is a valid empty input, and NULL + 0 is undefined in C. */
    d->end = in.len ? in.p + in.len : in.p;
    d->depth = 0;
    d->indefinite = 0;
    d->quirks = quirks;
}

int es_der_more(const es_der *d)
{
    return d->p < d->end;
}

int es_der_peek(const es_der *d)
{
    return d->p < d->end ? d->p[0] : -1;
}

/* Reads one element starting at p (bounded by end) at nesting depth. */
static es_err read_tlv(const uint8_t *p, const uint8_t *end, int depth, es_quirks *q,
                       es_der_tlv *out)
{
    if (depth > ES_DER_MAX_DEPTH) return ES_ERR_DER_DEPTH;
    if (end - p < 2) return ES_ERR_DER;
    unsigned tag = p[0];
    /* Tag 0 is end-of-contents, valid only where read_tlv's caller looks for it; high tag
     * numbers appear in no structure eseal reads. */
    if (tag == 0 || (tag & 0x1f) == 0x1f) return ES_ERR_DER;
    const uint8_t *q0 = p + 2;
    size_t len = 0;
    int indefinite = 0;
    uint8_t l0 = p[1];
    if (l0 < 0x80) {
        len = l0;
    } else if (l0 == 0x80) {
        if (!(tag & ES_DER_CONSTRUCTED)) return ES_ERR_DER;
        indefinite = 1;
    } else {
        size_t n = l0 & 0x7f;
        if (n > 4 || (size_t)(end - q0) < n) return ES_ERR_DER;
        for (size_t i = 0; i < n; i++) len = len << 8 | q0[i];
        if (q0[0] == 0 || len < 0x80) note(q, ES_QUIRK_NONMINIMAL_LENGTH);
        q0 += n;
    }
    out->tag = tag;
    out->indefinite = indefinite;
    if (!indefinite) {
        if (len > (size_t)(end - q0)) return ES_ERR_DER;
        out->val = es_slice_make(q0, len);
        out->raw = es_slice_make(p, (size_t)(q0 + len - p));
        return ES_OK;
    }
    /* BER indefinite length: the contents run until an end-of-contents octet pair at this
     * level; walk the children to find it. */
    note(q, ES_QUIRK_BER_INDEFINITE);
    const uint8_t *c = q0;
    for (;;) {
        if (end - c >= 2 && c[0] == 0 && c[1] == 0) break;
        es_der_tlv child;
        es_err rv = read_tlv(c, end, depth + 1, q, &child);
        if (rv != ES_OK) return rv;
        c = child.raw.p + child.raw.len;
    }
    out->val = es_slice_make(q0, (size_t)(c - q0));
    out->raw = es_slice_make(p, (size_t)(c + 2 - p));
    return ES_OK;
}

es_err es_der_read(es_der *d, es_der_tlv *out)
{
    es_err rv = read_tlv(d->p, d->end, d->depth, d->quirks, out);
    if (rv == ES_OK) d->p = out->raw.p + out->raw.len;
    return rv;
}

es_err es_der_expect(es_der *d, unsigned tag, es_der_tlv *out)
{
    if (es_der_peek(d) < 0) return ES_ERR_FORMAT;
    if ((unsigned)es_der_peek(d) != tag) return ES_ERR_DER_TAG;
    return es_der_read(d, out);
}

es_err es_der_enter(const es_der *parent, const es_der_tlv *t, es_der *child)
{
    if (!(t->tag & ES_DER_CONSTRUCTED)) return ES_ERR_DER_TAG;
    if (parent->depth + 1 > ES_DER_MAX_DEPTH) return ES_ERR_DER_DEPTH;
    child->p = t->val.p;
    child->end = t->val.p + t->val.len;
    child->depth = parent->depth + 1;
    child->indefinite = t->indefinite;
    child->quirks = parent->quirks;
    return ES_OK;
}

es_err es_der_open(es_der *d, unsigned tag, es_der_tlv *t, es_der *child)
{
    es_err rv = es_der_expect(d, tag, t);
    return rv != ES_OK ? rv : es_der_enter(d, t, child);
}

es_err es_der_done(const es_der *d)
{
    return d->p == d->end ? ES_OK : ES_ERR_DER_TRAILING;
}

es_err es_der_read_int_bytes(es_der *d, es_slice *out)
{
    es_der_tlv t;
    es_err rv = es_der_expect(d, ES_DER_INTEGER, &t);
    if (rv != ES_OK) return rv;
    if (t.val.len == 0) return ES_ERR_DER;
    *out = t.val;
    return ES_OK;
}

es_err es_der_read_long(es_der *d, long *out)
{
    es_slice v;
    es_err rv = es_der_read_int_bytes(d, &v);
    if (rv != ES_OK) return rv;
    /* Allow redundant leading sign octets (non-minimal) but not values past a long. */
    size_t i = 0;
    while (i + 1 < v.len &&
           ((v.p[i] == 0 && !(v.p[i + 1] & 0x80)) || (v.p[i] == 0xff && (v.p[i + 1] & 0x80))))
        i++;
    if (v.len - i > sizeof(long)) return ES_ERR_FORMAT;
    unsigned long u = (v.p[i] & 0x80) ? ~0UL : 0;
    for (; i < v.len; i++) u = u << 8 | v.p[i];
    *out = (long)u;
    return ES_OK;
}

es_err es_der_read_oid(es_der *d, es_slice *out)
{
    es_der_tlv t;
    es_err rv = es_der_expect(d, ES_DER_OID, &t);
    if (rv != ES_OK) return rv;
    if (t.val.len == 0 || (t.val.p[t.val.len - 1] & 0x80)) return ES_ERR_DER;
    *out = t.val;
    return ES_OK;
}

es_err es_der_read_octets(es_der *d, es_slice *out)
{
    es_der_tlv t;
    es_err rv = es_der_expect(d, ES_DER_OCTET_STRING, &t);
    if (rv == ES_OK) *out = t.val;
    return rv;
}

es_err es_der_read_bits(es_der *d, es_slice *out, uint8_t *unused)
{
    es_der_tlv t;
    es_err rv = es_der_expect(d, ES_DER_BIT_STRING, &t);
    if (rv != ES_OK) return rv;
    if (t.val.len == 0 || t.val.p[0] > 7) return ES_ERR_DER;
    *unused = t.val.p[0];
    *out = es_slice_make(t.val.p + 1, t.val.len - 1);
    return ES_OK;
}

es_err es_der_read_bool(es_der *d, int *out)
{
    es_der_tlv t;
    es_err rv = es_der_expect(d, ES_DER_BOOLEAN, &t);
    if (rv != ES_OK) return rv;
    if (t.val.len != 1) return ES_ERR_DER;
    if (t.val.p[0] != 0 && t.val.p[0] != 0xff) note(d->quirks, ES_QUIRK_DER_BOOLEAN);
    *out = t.val.p[0] != 0;
    return ES_OK;
}

static int is_string_tag(unsigned tag)
{
    return tag == ES_DER_UTF8_STRING || tag == ES_DER_IA5_STRING || tag == ES_DER_PRINTABLE ||
           tag == ES_DER_VISIBLE || tag == ES_DER_T61_STRING;
}

es_err es_der_read_string(es_der *d, es_slice *out, unsigned *tag_out)
{
    int tag = es_der_peek(d);
    if (tag < 0) return ES_ERR_FORMAT;
    if (!is_string_tag((unsigned)tag)) return ES_ERR_DER_TAG;
    es_der_tlv t;
    es_err rv = es_der_read(d, &t);
    if (rv != ES_OK) return rv;
    *out = t.val;
    if (tag_out) *tag_out = t.tag;
    return ES_OK;
}

static int take(const uint8_t **s, const uint8_t *end, int n, int *out)
{
    int v = 0;
    if (end - *s < n) return 0;
    for (int i = 0; i < n; i++) {
        uint8_t c = (*s)[i];
        if (c < '0' || c > '9') return 0;
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return 1;
}

es_err es_der_parse_time(es_slice text, unsigned tag, es_time *out, es_quirks *quirks)
{
    const uint8_t *s = text.p, *end = text.p + text.len;
    int y, mo, d, h, mi, se = 0;
    /* Count the leading digits: 12 (or 10) means a 2-digit year, 14 a 4-digit one. */
    size_t nd = 0;
    while (nd < text.len && s[nd] >= '0' && s[nd] <= '9') nd++;
    int two_digit = tag == ES_DER_UTC_TIME ? 1 : (nd == 12 || nd == 10);
    if (tag == ES_DER_GEN_TIME && two_digit) note(quirks, ES_QUIRK_TIME_2DIGIT_YEAR);
    if (two_digit) {
        if (!take(&s, end, 2, &y)) return ES_ERR_TIME;
        y += y < 50 ? 2000 : 1900; /* RFC 5280 4.1.2.5.1 */
    } else if (!take(&s, end, 4, &y)) {
        return ES_ERR_TIME;
    }
    if (!take(&s, end, 2, &mo) || !take(&s, end, 2, &d) || !take(&s, end, 2, &h) ||
        !take(&s, end, 2, &mi))
        return ES_ERR_TIME;
    if (s < end && *s >= '0' && *s <= '9' && !take(&s, end, 2, &se)) return ES_ERR_TIME;
    if (s < end && (*s == '.' || *s == ',')) {
        note(quirks, ES_QUIRK_TIME_FRACTION);
        s++;
        if (s >= end || *s < '0' || *s > '9') return ES_ERR_TIME;
        while (s < end && *s >= '0' && *s <= '9') s++;
    }
    long off = 0;
    if (s < end && *s == 'Z') {
        s++;
    } else if (s < end && (*s == '+' || *s == '-')) {
        int sign = *s++ == '-' ? -1 : 1, oh, om;
        if (!take(&s, end, 2, &oh) || !take(&s, end, 2, &om) || oh > 23 || om > 59)
            return ES_ERR_TIME;
        off = sign * (oh * 3600L + om * 60L);
    } else {
        note(quirks, ES_QUIRK_TIME_NO_Z);
    }
    if (s != end) return ES_ERR_TIME;
    es_err rv = es_time_from_fields(y, mo, d, h, mi, se, out);
    if (rv == ES_OK) *out -= off;
    return rv;
}

es_err es_der_read_time(es_der *d, es_time *out, unsigned *tag_out)
{
    int tag = es_der_peek(d);
    if (tag < 0) return ES_ERR_FORMAT;
    if (tag != ES_DER_GEN_TIME && tag != ES_DER_UTC_TIME) return ES_ERR_DER_TAG;
    es_der_tlv t;
    es_err rv = es_der_read(d, &t);
    if (rv != ES_OK) return rv;
    if (tag_out) *tag_out = t.tag;
    return es_der_parse_time(t.val, t.tag, out, d->quirks);
}

es_err es_der_uint32_bytes(es_slice v, uint8_t out[32], es_quirks *quirks)
{
    if (v.len == 0) return ES_ERR_FORMAT;
    if (v.p[0] & 0x80) note(quirks, ES_QUIRK_INT_NO_SIGN_OCTET);
    size_t i = 0;
    while (i < v.len && v.p[i] == 0) i++;
    /* One leading zero is the sign octet a value with its high bit set needs; more, or one
     * before a value that does not need it, is padding. A lone 00 is zero, canonical. */
    if (i > 1 || (i == 1 && v.len > 1 && !(v.p[1] & 0x80))) note(quirks, ES_QUIRK_INT_PADDED);
    if (v.len - i > 32) return ES_ERR_FORMAT;
    memset(out, 0, 32);
    memcpy(out + 32 - (v.len - i), v.p + i, v.len - i);
    return ES_OK;
}

es_err es_oid_from_text(const char *text, es_buf *out)
{
    unsigned long arcs[64];
    int n = 0;
    const char *s = text;
    while (*s) {
        if (n == 64 || *s < '0' || *s > '9') return ES_ERR_ARG;
        unsigned long v = 0;
        while (*s >= '0' && *s <= '9') {
            if (v > (~0UL - 9) / 10) return ES_ERR_ARG;
            v = v * 10 + (unsigned long)(*s++ - '0');
        }
        arcs[n++] = v;
        if (*s == '.') {
            s++;
            if (!*s) return ES_ERR_ARG;
        } else if (*s) {
            return ES_ERR_ARG;
        }
    }
    if (n < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) || arcs[1] > ~0UL - 80)
        return ES_ERR_ARG; /* the first two arcs share one sub-identifier: 40 * a + b */
    arcs[1] += arcs[0] * 40;
    for (int i = 1; i < n; i++) {
        uint8_t tmp[10];
        int k = 0;
        unsigned long v = arcs[i];
        do {
            tmp[k++] = (uint8_t)(v & 0x7f);
            v >>= 7;
        } while (v);
        while (k--) {
            es_err rv = es_buf_append_byte(out, (uint8_t)(tmp[k] | (k ? 0x80 : 0)));
            if (rv != ES_OK) return rv;
        }
    }
    return ES_OK;
}

es_err es_oid_to_text(es_slice oid, char *out, size_t outlen)
{
    size_t pos = 0;
    unsigned long v = 0;
    int first = 1;
    if (oid.len == 0 || outlen == 0) return ES_ERR_ARG;
    out[0] = 0;
    for (size_t i = 0; i < oid.len; i++) {
        if (v > (~0UL >> 7)) return ES_ERR_FORMAT;
        v = v << 7 | (oid.p[i] & 0x7f);
        if (oid.p[i] & 0x80) continue;
        int n;
        if (first) {
            unsigned long a = v < 80 ? v / 40 : 2;
            n = snprintf(out + pos, outlen - pos, "%lu.%lu", a, v - a * 40);
            first = 0;
        } else {
            n = snprintf(out + pos, outlen - pos, ".%lu", v);
        }
        if (n < 0 || (size_t)n >= outlen - pos) return ES_ERR_BUFFER;
        pos += (size_t)n;
        v = 0;
    }
    return (oid.p[oid.len - 1] & 0x80) ? ES_ERR_FORMAT : ES_OK;
}

/* --- writer --- */

static size_t len_octets(size_t len)
{
    size_t n = 1;
    if (len >= 0x80)
        for (size_t l = len; l; l >>= 8) n++;
    return n;
}

static void put_len(uint8_t *p, size_t len)
{
    size_t n = len_octets(len);
    if (n == 1) {
        p[0] = (uint8_t)len;
        return;
    }
    p[0] = (uint8_t)(0x80 | (n - 1));
    for (size_t i = n - 1; i >= 1; i--, len >>= 8) p[i] = (uint8_t)len;
}

void es_der_w_init(es_der_w *w, es_buf *b)
{
    w->b = b;
    w->depth = 0;
    w->err = ES_OK;
}

static void w_append(es_der_w *w, const void *p, size_t n)
{
    if (w->err == ES_OK) w->err = es_buf_append(w->b, p, n);
}

void es_der_w_begin(es_der_w *w, unsigned tag)
{
    if (w->err != ES_OK) return;
    if (w->depth == ES_DER_MAX_WRITE_DEPTH) {
        w->err = ES_ERR_DER_DEPTH;
        return;
    }
    uint8_t t = (uint8_t)tag;
    w_append(w, &t, 1);
    w->stack[w->depth++] = w->b->len; /* contents start here; length inserted at end */
}

void es_der_w_end(es_der_w *w)
{
    if (w->err != ES_OK) return;
    if (w->depth == 0) {
        w->err = ES_ERR_ARG;
        return;
    }
    size_t start = w->stack[--w->depth];
    size_t clen = w->b->len - start;
    size_t n = len_octets(clen);
    uint8_t hdr[9];
    put_len(hdr, clen);
    /* Grow by n bytes, shift the contents, write the length in front. */
    w_append(w, hdr, n);
    if (w->err != ES_OK) return;
    memmove(w->b->p + start + n, w->b->p + start, clen);
    memcpy(w->b->p + start, hdr, n);
}

void es_der_w_prim(es_der_w *w, unsigned tag, const void *p, size_t len)
{
    uint8_t hdr[10];
    hdr[0] = (uint8_t)tag;
    put_len(hdr + 1, len);
    w_append(w, hdr, 1 + len_octets(len));
    w_append(w, p, len);
}

void es_der_w_uint(es_der_w *w, const uint8_t *p, size_t len)
{
    while (len > 1 && p[0] == 0) {
        p++;
        len--;
    }
    uint8_t tmp[65];
    if (len == 0 || len > 64) {
        if (w->err == ES_OK) w->err = ES_ERR_ARG;
        return;
    }
    size_t n = 0;
    if (p[0] & 0x80) tmp[n++] = 0;
    memcpy(tmp + n, p, len);
    es_der_w_prim(w, ES_DER_INTEGER, tmp, n + len);
}

void es_der_w_long(es_der_w *w, long v)
{
    uint8_t tmp[sizeof(long)];
    size_t n = sizeof tmp;
    unsigned long u = (unsigned long)v;
    for (size_t i = n; i-- > 0; u >>= 8) tmp[i] = (uint8_t)u;
    size_t i = 0;
    while (i + 1 < n &&
           ((tmp[i] == 0 && !(tmp[i + 1] & 0x80)) || (tmp[i] == 0xff && (tmp[i + 1] & 0x80))))
        i++;
    es_der_w_prim(w, ES_DER_INTEGER, tmp + i, n - i);
}

void es_der_w_bits(es_der_w *w, const void *p, size_t len)
{
    uint8_t hdr[10];
    hdr[0] = ES_DER_BIT_STRING;
    put_len(hdr + 1, len + 1);
    w_append(w, hdr, 1 + len_octets(len + 1));
    uint8_t zero = 0;
    w_append(w, &zero, 1);
    w_append(w, p, len);
}

void es_der_w_oid_text(es_der_w *w, const char *dotted)
{
    es_buf tmp;
    es_buf_init(&tmp, 256);
    es_err rv = es_oid_from_text(dotted, &tmp);
    if (rv == ES_OK)
        es_der_w_prim(w, ES_DER_OID, tmp.p, tmp.len);
    else if (w->err == ES_OK)
        w->err = rv;
    es_buf_cleanup(&tmp);
}

void es_der_w_gentime(es_der_w *w, es_time t)
{
    char s[16];
    es_time_format_gentime(t, s);
    es_der_w_prim(w, ES_DER_GEN_TIME, s, 15);
}

void es_der_w_bool(es_der_w *w, int v)
{
    uint8_t b = v ? 0xff : 0;
    es_der_w_prim(w, ES_DER_BOOLEAN, &b, 1);
}

void es_der_w_raw(es_der_w *w, const void *p, size_t len)
{
    w_append(w, p, len);
}

es_err es_der_w_finish(es_der_w *w)
{
    if (w->err == ES_OK && w->depth != 0) w->err = ES_ERR_ARG;
    return w->err;
}

/* Canonicalisation: constructed elements are rebuilt from their children. */
static void canon(es_der_w *w, es_der *d)
{
    while (w->err == ES_OK && es_der_more(d)) {
        es_der_tlv t;
        es_err rv = es_der_read(d, &t);
        if (rv != ES_OK) {
            w->err = rv;
            return;
        }
        if (t.tag & ES_DER_CONSTRUCTED) {
            es_der child;
            if ((rv = es_der_enter(d, &t, &child)) != ES_OK) {
                w->err = rv;
                return;
            }
            es_der_w_begin(w, t.tag);
            canon(w, &child);
            es_der_w_end(w);
        } else {
            es_der_w_prim(w, t.tag, t.val.p, t.val.len);
        }
    }
}

es_err es_der_canonical(es_slice in, es_buf *out)
{
    es_der d;
    es_der_w w;
    es_der_init(&d, in, NULL);
    es_der_w_init(&w, out);
    canon(&w, &d);
    return es_der_w_finish(&w);
}
