/* der: the bounded DER/BER reader, typed readers, OIDs, the canonical writer and
 * es_der_canonical. Inputs are hand-built byte arrays; each is copied into a heap block of
 * exactly its size so that the sanitizer build catches any read past the end. */
#include "test.h"

#include <limits.h>

#include "eseal/der.h"

#define Q(bit) ES_QUIRK(bit)

/* An exact-size heap copy of p (so that a read past len is a sanitizer error). */
static es_slice dup_slice(const void *p, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    if (!c) exit(2);
    if (len) memcpy(c, p, len);
    return es_slice_make(c, len);
}

static void free_slice(es_slice s)
{
    free((void *)s.p);
}

static int slice_is(es_slice s, const void *p, size_t n)
{
    return s.len == n && (n == 0 || memcmp(s.p, p, n) == 0);
}

static int buf_is(const es_buf *b, const void *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->p, p, n) == 0);
}

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
    fprintf(stderr, "  %s (%zu):", what, n);
    for (size_t i = 0; i < n && i < 64; i++) fprintf(stderr, " %02x", p[i]);
    fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

/* Reads every element below d, descending into constructed ones; the first error. */
static es_err walk(es_der *d, int *count)
{
    while (es_der_more(d)) {
        es_der_tlv t;
        es_err rv = es_der_read(d, &t);
        if (rv != ES_OK) return rv;
        (*count)++;
        if (t.tag & ES_DER_CONSTRUCTED) {
            es_der child;
            if ((rv = es_der_enter(d, &t, &child)) != ES_OK) return rv;
            if ((rv = walk(&child, count)) != ES_OK) return rv;
            if ((rv = es_der_done(&child)) != ES_OK) return rv;
        }
    }
    return ES_OK;
}

/* Exactly one top-level element, walked completely. */
static es_err walk_one(es_slice in, es_quirks *q, int *count)
{
    es_der d;
    es_der_tlv t;
    es_der_init(&d, in, q);
    *count = 0;
    es_err rv = es_der_read(&d, &t);
    if (rv != ES_OK) return rv;
    (*count)++;
    if ((rv = es_der_done(&d)) != ES_OK) return rv;
    if (t.tag & ES_DER_CONSTRUCTED) {
        es_der child;
        if ((rv = es_der_enter(&d, &t, &child)) != ES_OK) return rv;
        if ((rv = walk(&child, count)) != ES_OK) return rv;
        rv = es_der_done(&child);
    }
    return rv;
}

static void test_definite(void)
{
    static const uint8_t in[] = {0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa};
    es_slice s = dup_slice(in, sizeof in);
    es_quirks q = 0;
    es_der d, c;
    es_der_tlv t;
    es_der_init(&d, s, &q);
    ok(es_der_more(&d) && es_der_peek(&d) == 0x30, "peek sees the SEQUENCE");
    ok(es_der_read(&d, &t) == ES_OK, "read a definite SEQUENCE");
    ok(t.tag == 0x30 && !t.indefinite && t.raw.p == s.p && t.raw.len == 8 && t.val.p == s.p + 2 &&
           t.val.len == 6,
       "tag, raw and contents slices");
    ok(!es_der_more(&d) && es_der_peek(&d) == -1 && es_der_done(&d) == ES_OK, "at the end");
    ok(es_der_read(&d, &t) == ES_ERR_DER, "reading past the end is ES_ERR_DER");
    ok(es_der_enter(&d, &t, &c) == ES_OK, "enter");
    long v = 0;
    es_slice o;
    ok(es_der_read_long(&c, &v) == ES_OK && v == 5, "INTEGER 5 inside");
    ok(es_der_read_octets(&c, &o) == ES_OK && o.len == 1 && o.p[0] == 0xaa, "OCTET STRING inside");
    ok(es_der_done(&c) == ES_OK, "child done");
    ok(q == 0, "no quirks in DER (%llx)", (unsigned long long)q);

    /* es_der_open and a tag mismatch that leaves the cursor alone. */
    es_der_init(&d, s, NULL);
    ok(es_der_expect(&d, ES_DER_SET, &t) == ES_ERR_DER_TAG, "expect SET on a SEQUENCE");
    ok(d.p == s.p, "the cursor did not move");
    ok(es_der_open(&d, ES_DER_SEQUENCE, &t, &c) == ES_OK && c.depth == 1, "open the SEQUENCE");
    ok(es_der_read_octets(&c, &o) == ES_ERR_DER_TAG, "OCTET STRING where the INTEGER is");
    ok(es_der_read_long(&c, &v) == ES_OK && v == 5, "then the INTEGER still reads");
    ok(es_der_enter(&c, &(es_der_tlv){.tag = 0x04, .val = o}, &d) == ES_ERR_DER_TAG,
       "entering a primitive is refused");
    free_slice(s);

    /* Empty input. */
    es_der_init(&d, ES_SLICE_NULL, NULL);
    ok(!es_der_more(&d) && es_der_peek(&d) == -1 && es_der_done(&d) == ES_OK, "empty input");
    ok(es_der_read(&d, &t) == ES_ERR_DER, "nothing to read in empty input");
    ok(es_der_expect(&d, 0x30, &t) != ES_OK, "nothing to expect in empty input");
}

static void test_indefinite(void)
{
    static const uint8_t in[] = {0x30, 0x80, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa, 0x00, 0x00};
    es_slice s = dup_slice(in, sizeof in);
    es_quirks q = 0;
    es_der d, c;
    es_der_tlv t;
    es_der_init(&d, s, &q);
    ok(es_der_read(&d, &t) == ES_OK, "read an indefinite SEQUENCE");
    ok(t.indefinite && t.raw.len == 10 && t.val.p == s.p + 2 && t.val.len == 6,
       "raw includes the end-of-contents, contents do not (raw %zu, val %zu)", t.raw.len,
       t.val.len);
    ok(q == Q(ES_QUIRK_BER_INDEFINITE), "quirk ber_indefinite set (%llx)", (unsigned long long)q);
    ok(es_der_done(&d) == ES_OK, "the end-of-contents was consumed");
    long v = 0;
    es_slice o;
    ok(es_der_enter(&d, &t, &c) == ES_OK && es_der_read_long(&c, &v) == ES_OK && v == 5 &&
           es_der_read_octets(&c, &o) == ES_OK && o.p[0] == 0xaa && es_der_done(&c) == ES_OK,
       "children of the indefinite SEQUENCE");
    free_slice(s);

    /* Nested: SEQUENCE(indef) { SEQUENCE(indef) { INTEGER 1 } [0](indef) { OCTET bb } } */
    static const uint8_t nested[] = {0x30, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00,
                                     0xa0, 0x80, 0x04, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x00};
    s = dup_slice(nested, sizeof nested);
    q = 0;
    int count = 0;
    ok(walk_one(s, &q, &count) == ES_OK && count == 5, "nested indefinite walks (%d elements)",
       count);
    es_der_init(&d, s, NULL);
    es_der c3;
    es_der_tlv t2, t3;
    ok(es_der_read(&d, &t) == ES_OK && t.raw.len == sizeof nested && t.val.len == 14,
       "outer spans everything");
    ok(es_der_enter(&d, &t, &c) == ES_OK && es_der_read(&c, &t2) == ES_OK && t2.indefinite &&
           t2.raw.len == 7 && t2.val.len == 3,
       "inner indefinite SEQUENCE");
    ok(es_der_read(&c, &t3) == ES_OK && t3.tag == ES_DER_CTX(0) && t3.indefinite &&
           t3.raw.len == 7 && es_der_enter(&c, &t3, &c3) == ES_OK,
       "[0] indefinite");
    es_slice o2;
    ok(es_der_read_octets(&c3, &o2) == ES_OK && o2.len == 1 && o2.p[0] == 0xbb, "OCTET inside [0]");
    ok(es_der_done(&c) == ES_OK, "outer contents end exactly at the end-of-contents");
    free_slice(s);

    static const struct {
        const char *what;
        uint8_t b[12];
        size_t n;
    } bad[] = {
        {"no end-of-contents", {0x30, 0x80, 0x02, 0x01, 0x05}, 5},
        {"half an end-of-contents", {0x30, 0x80, 0x02, 0x01, 0x05, 0x00}, 6},
        {"nothing after the header", {0x30, 0x80}, 2},
        {"indefinite primitive", {0x04, 0x80, 0xaa, 0x00, 0x00}, 5},
        {"inner one unterminated", {0x30, 0x80, 0x30, 0x80, 0x05, 0x00, 0x00, 0x00}, 8},
        {"child runs past the input", {0x30, 0x80, 0x04, 0x05, 0xaa, 0x00, 0x00}, 7},
        {"tag 0 with a length inside", {0x30, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00}, 7},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = dup_slice(bad[i].b, bad[i].n);
        es_der_init(&d, s, NULL);
        ok(es_der_read(&d, &t) == ES_ERR_DER, "indefinite: %s refused", bad[i].what);
        free_slice(s);
    }
}

static void test_lengths(void)
{
    uint8_t big[4 + 300];
    /* Long form where short would do: 04 81 03, 04 82 00 03, 04 84 00 00 00 03. */
    static const struct {
        uint8_t b[10];
        size_t n;
        size_t vlen;
        int nonmin;
    } v[] = {
        {{0x04, 0x03, 0xaa, 0xbb, 0xcc}, 5, 3, 0},
        {{0x04, 0x81, 0x03, 0xaa, 0xbb, 0xcc}, 6, 3, 1},
        {{0x04, 0x82, 0x00, 0x03, 0xaa, 0xbb, 0xcc}, 7, 3, 1},
        {{0x04, 0x84, 0x00, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc}, 9, 3, 1},
        {{0x04, 0x81, 0x00}, 3, 0, 1},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        es_slice s = dup_slice(v[i].b, v[i].n);
        es_quirks q = 0;
        es_der d;
        es_der_tlv t;
        es_der_init(&d, s, &q);
        es_err rv = es_der_read(&d, &t);
        ok(rv == ES_OK && t.val.len == v[i].vlen && t.raw.len == v[i].n && es_der_done(&d) == ES_OK,
           "length form %zu reads (%s)", i, es_err_name(rv));
        ok(q == (v[i].nonmin ? Q(ES_QUIRK_NONMINIMAL_LENGTH) : 0),
           "length form %zu: nonminimal_length %s", i, v[i].nonmin ? "set" : "not set");
        free_slice(s);
    }
    /* Minimal long forms: 128 and 300 bytes. */
    big[0] = 0x04;
    big[1] = 0x81;
    big[2] = 0x80;
    memset(big + 3, 0x5a, 128);
    es_slice s = dup_slice(big, 3 + 128);
    es_quirks q = 0;
    es_der d;
    es_der_tlv t;
    es_der_init(&d, s, &q);
    ok(es_der_read(&d, &t) == ES_OK && t.val.len == 128 && q == 0, "04 81 80 is minimal");
    free_slice(s);
    big[1] = 0x82;
    big[2] = 0x01;
    big[3] = 0x2c;
    memset(big + 4, 0x5a, 300);
    s = dup_slice(big, sizeof big);
    q = 0;
    es_der_init(&d, s, &q);
    ok(es_der_read(&d, &t) == ES_OK && t.val.len == 300 && q == 0, "04 82 01 2c is minimal");
    free_slice(s);
    big[2] = 0x00;
    big[3] = 0xff;
    s = dup_slice(big, 4 + 255);
    q = 0;
    es_der_init(&d, s, &q);
    ok(es_der_read(&d, &t) == ES_OK && t.val.len == 255 && q == Q(ES_QUIRK_NONMINIMAL_LENGTH),
       "04 82 00 ff is not minimal");
    free_slice(s);

    static const struct {
        const char *what;
        uint8_t b[10];
        size_t n;
    } bad[] = {
        {"length past input", {0x04, 0x05, 0xaa, 0xbb}, 4},
        {"length one past input", {0x04, 0x03, 0xaa, 0xbb}, 4},
        {"long length past input", {0x04, 0x81, 0x03, 0xaa}, 4},
        {"huge length", {0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0xaa}, 7},
        {"five length octets", {0x04, 0x85, 0x00, 0x00, 0x00, 0x00, 0x01, 0xaa}, 8},
        {"eight length octets", {0x04, 0x88, 0, 0, 0, 0, 0, 0, 0, 1}, 10},
        {"length octets cut", {0x04, 0x82, 0x01}, 3},
        {"0xff length", {0x04, 0xff, 0x00}, 3},
        {"identifier only", {0x04}, 1},
        {"tag 0", {0x00, 0x00}, 2},
        {"tag 0 with contents", {0x00, 0x01, 0xaa}, 3},
        {"high tag number, universal", {0x1f, 0x01, 0x00}, 3},
        {"high tag number, context", {0x9f, 0x20, 0x01, 0xaa}, 4},
        {"high tag number, constructed", {0xbf, 0x81, 0x00, 0x00}, 4},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = dup_slice(bad[i].b, bad[i].n);
        es_der_init(&d, s, NULL);
        ok(es_der_read(&d, &t) == ES_ERR_DER, "%s refused", bad[i].what);
        ok(d.p == s.p, "%s: cursor not moved", bad[i].what);
        free_slice(s);
    }
}

/* A structure mixing definite, indefinite and long-form elements; the truncation test cuts
 * it at every length. */
static const uint8_t mixed[] = {
    0x30, 0x80,                                             /* SEQUENCE, indefinite */
    0x02, 0x01, 0x05,                                       /* INTEGER 5 */
    0x30, 0x0a,                                             /* SEQUENCE */
    0x06, 0x03, 0x2a, 0x03, 0x04,                           /* OID 1.2.3.4 */
    0x01, 0x01, 0xff,                                       /* BOOLEAN TRUE */
    0x05, 0x00,                                             /* NULL */
    0xa0, 0x80,                                             /* [0], indefinite */
    0x04, 0x81, 0x03, 0xaa, 0xbb, 0xcc,                     /* OCTET STRING, long form */
    0x18, 0x0f, '2',  '0',  '2',  '6',  '0', '1', '0', '1', /* GeneralizedTime */
    '0',  '8',  '0',  '0',  '0',  '0',  'Z',                /* */
    0x00, 0x00,                                             /* end of [0] */
    0x03, 0x02, 0x00, 0xff,                                 /* BIT STRING */
    0x00, 0x00,                                             /* end of SEQUENCE */
};
/* Its DER form. */
static const uint8_t mixed_der[] = {
    0x30, 0x2b, 0x02, 0x01, 0x05, 0x30, 0x0a, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x01, 0x01, 0xff,
    0x05, 0x00, 0xa0, 0x16, 0x04, 0x03, 0xaa, 0xbb, 0xcc, 0x18, 0x0f, '2',  '0',  '2',  '6',
    '0',  '1',  '0',  '1',  '0',  '8',  '0',  '0',  '0',  '0',  'Z',  0x03, 0x02, 0x00, 0xff,
};

static void test_truncation(void)
{
    es_slice s = dup_slice(mixed, sizeof mixed);
    es_quirks q = 0;
    int count = 0;
    ok(walk_one(s, &q, &count) == ES_OK && count == 10, "mixed structure walks (%d)", count);
    ok(q == (Q(ES_QUIRK_BER_INDEFINITE) | Q(ES_QUIRK_NONMINIMAL_LENGTH)),
       "mixed structure quirks %llx", (unsigned long long)q);
    free_slice(s);

    static const struct {
        const uint8_t *p;
        size_t n;
    } inputs[] = {{mixed, sizeof mixed}, {mixed_der, sizeof mixed_der}};
    for (size_t k = 0; k < 2; k++) {
        int refused = 1, canon_refused = 1;
        for (size_t n = 0; n < inputs[k].n; n++) {
            s = dup_slice(inputs[k].p, n);
            es_err rv = walk_one(s, NULL, &count);
            if (rv == ES_OK) {
                refused = 0;
                fprintf(stderr, "  prefix of %zu bytes accepted\n", n);
            }
            es_buf out;
            es_buf_init(&out, 4096);
            /* An empty input is zero elements, which es_der_canonical accepts. */
            if (n > 0 && es_der_canonical(s, &out) == ES_OK) canon_refused = 0;
            es_buf_cleanup(&out);
            free_slice(s);
        }
        ok(refused, "%s: every proper prefix refused", k ? "DER" : "BER");
        ok(canon_refused, "%s: es_der_canonical refuses every proper prefix", k ? "DER" : "BER");
    }
}

/* n nested SEQUENCEs around a NULL, definite or indefinite. */
static es_slice nested(int n, int indefinite)
{
    size_t len = 2 + (size_t)n * (indefinite ? 4 : 4);
    uint8_t *p = malloc(len);
    if (!p) exit(2);
    if (indefinite) {
        for (int i = 0; i < n; i++) {
            p[2 * i] = 0x30;
            p[2 * i + 1] = 0x80;
        }
        p[2 * n] = 0x05;
        p[2 * n + 1] = 0x00;
        memset(p + 2 * n + 2, 0, 2 * (size_t)n);
        return es_slice_make(p, 2 + 4 * (size_t)n);
    }
    /* Build from the inside out at the end of the block; lengths stay short up to 63 levels,
     * long form beyond. */
    size_t pos = len;
    p[--pos] = 0x00;
    p[--pos] = 0x05;
    for (int i = 0; i < n; i++) {
        size_t clen = len - pos;
        if (clen < 0x80) {
            p[--pos] = (uint8_t)clen;
        } else {
            p[--pos] = (uint8_t)clen;
            p[--pos] = (uint8_t)(clen >> 8);
            p[--pos] = 0x82;
        }
        p[--pos] = 0x30;
    }
    memmove(p, p + pos, len - pos);
    return es_slice_make(p, len - pos);
}

/* Enters n levels one by one; the first error, or ES_OK at the NULL. */
static es_err descend(es_slice in, int *levels)
{
    es_der d[ES_DER_MAX_DEPTH + 8];
    es_der_tlv t;
    es_der_init(&d[0], in, NULL);
    *levels = 0;
    for (int i = 0;; i++) {
        es_err rv = es_der_read(&d[i], &t);
        if (rv != ES_OK) return rv;
        if (t.tag == ES_DER_NULL) return ES_OK;
        if (i + 1 >= (int)(sizeof d / sizeof d[0])) return ES_ERR_ARG;
        if ((rv = es_der_enter(&d[i], &t, &d[i + 1])) != ES_OK) return rv;
        (*levels)++;
    }
}

static void test_depth(void)
{
    for (int indef = 0; indef <= 1; indef++) {
        const char *form = indef ? "indefinite" : "definite";
        int levels = 0;
        es_slice s = nested(ES_DER_MAX_DEPTH, indef);
        es_err rv = descend(s, &levels);
        ok(rv == ES_OK && levels == ES_DER_MAX_DEPTH, "%s: %d levels accepted (%s)", form,
           ES_DER_MAX_DEPTH, es_err_name(rv));
        es_buf out;
        es_buf_init(&out, 1 << 16);
        ok(es_der_canonical(s, &out) == ES_OK, "%s: canonical at the depth limit", form);
        es_buf_cleanup(&out);
        free_slice(s);

        s = nested(ES_DER_MAX_DEPTH + 1, indef);
        rv = descend(s, &levels);
        ok(rv == ES_ERR_DER_DEPTH, "%s: %d levels refused with der_depth (%s)", form,
           ES_DER_MAX_DEPTH + 1, es_err_name(rv));
        es_buf_init(&out, 1 << 16);
        rv = es_der_canonical(s, &out);
        ok(rv == ES_ERR_DER_DEPTH, "%s: canonical past the limit: %s", form, es_err_name(rv));
        es_buf_cleanup(&out);
        free_slice(s);

        /* Far deeper: refused without exhausting the stack. */
        s = nested(5000, indef);
        rv = descend(s, &levels);
        ok(rv == ES_ERR_DER_DEPTH, "%s: 5000 levels refused (%s)", form, es_err_name(rv));
        int count = 0;
        rv = walk_one(s, NULL, &count);
        ok(rv == ES_ERR_DER_DEPTH, "%s: 5000 levels refused by the walker (%s)", form,
           es_err_name(rv));
        free_slice(s);
    }
}

static void test_done_trailing(void)
{
    static const uint8_t two[] = {0x02, 0x01, 0x05, 0x02, 0x01, 0x06};
    es_slice s = dup_slice(two, sizeof two);
    es_der d;
    long v;
    es_der_init(&d, s, NULL);
    ok(es_der_read_long(&d, &v) == ES_OK && v == 5, "first INTEGER");
    ok(es_der_done(&d) == ES_ERR_DER_TRAILING, "a second element is trailing");
    ok(es_der_read_long(&d, &v) == ES_OK && v == 6 && es_der_done(&d) == ES_OK, "then done");
    free_slice(s);

    /* Trailing bytes inside a SEQUENCE. */
    static const uint8_t seq[] = {0x30, 0x05, 0x02, 0x01, 0x05, 0x05, 0x00};
    s = dup_slice(seq, sizeof seq);
    es_der c;
    es_der_tlv t;
    es_der_init(&d, s, NULL);
    ok(es_der_open(&d, ES_DER_SEQUENCE, &t, &c) == ES_OK && es_der_read_long(&c, &v) == ES_OK &&
           es_der_done(&c) == ES_ERR_DER_TRAILING && es_der_done(&d) == ES_OK,
       "trailing NULL inside the SEQUENCE");
    free_slice(s);

    /* One stray byte after an element. */
    static const uint8_t stray[] = {0x05, 0x00, 0x00};
    s = dup_slice(stray, sizeof stray);
    es_der_init(&d, s, NULL);
    ok(es_der_read(&d, &t) == ES_OK && es_der_done(&d) == ES_ERR_DER_TRAILING &&
           es_der_read(&d, &t) == ES_ERR_DER,
       "a stray byte is trailing and not an element");
    free_slice(s);
}

static es_err read_long_from(const uint8_t *b, size_t n, long *v)
{
    es_slice s = dup_slice(b, n);
    es_der d;
    es_der_init(&d, s, NULL);
    es_err rv = es_der_read_long(&d, v);
    if (rv == ES_OK && es_der_done(&d) != ES_OK) rv = ES_ERR_DER_TRAILING;
    free_slice(s);
    return rv;
}

static void test_long(void)
{
    static const struct {
        uint8_t b[12];
        size_t n;
        long v;
    } good[] = {
        {{0x02, 0x01, 0x00}, 3, 0},
        {{0x02, 0x01, 0x7f}, 3, 127},
        {{0x02, 0x02, 0x00, 0x80}, 4, 128},
        {{0x02, 0x02, 0x01, 0x00}, 4, 256},
        {{0x02, 0x01, 0x80}, 3, -128},
        {{0x02, 0x01, 0xff}, 3, -1},
        {{0x02, 0x02, 0xff, 0x7f}, 4, -129},
        {{0x02, 0x02, 0xff, 0x00}, 4, -256},
        {{0x02, 0x03, 0x00, 0x00, 0x05}, 5, 5},  /* redundant sign octets are tolerated */
        {{0x02, 0x03, 0xff, 0xff, 0xfe}, 5, -2}, /* redundant sign octets are tolerated */
        {{0x02, 0x04, 0x7f, 0xff, 0xff, 0xff}, 6, 2147483647L},
        {{0x02, 0x04, 0x80, 0x00, 0x00, 0x00}, 6, -2147483647L - 1},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        long v = 12345;
        es_err rv = read_long_from(good[i].b, good[i].n, &v);
        ok(rv == ES_OK && v == good[i].v, "INTEGER %zu -> %ld (%s), expected %ld", i, v,
           es_err_name(rv), good[i].v);
    }
    long v;
    if (sizeof(long) == 8) {
        static const uint8_t max[] = {0x02, 0x08, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        static const uint8_t min[] = {0x02, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0};
        static const uint8_t over[] = {0x02, 0x09, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0};
        static const uint8_t under[] = {0x02, 0x09, 0xff, 0x7f, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0xff};
        static const uint8_t nine[] = {0x02, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
        ok(read_long_from(max, sizeof max, &v) == ES_OK && v == LONG_MAX, "LONG_MAX");
        ok(read_long_from(min, sizeof min, &v) == ES_OK && v == LONG_MIN, "LONG_MIN");
        ok(read_long_from(over, sizeof over, &v) == ES_ERR_FORMAT, "LONG_MAX + 1 refused");
        ok(read_long_from(under, sizeof under, &v) == ES_ERR_FORMAT, "LONG_MIN - 1 refused");
        ok(read_long_from(nine, sizeof nine, &v) == ES_ERR_FORMAT, "2^64 refused");
    }
    static const uint8_t twenty[] = {0x02, 0x14, 1,  2,  3,  4,  5,  6,  7,  8,  9,
                                     10,   11,   12, 13, 14, 15, 16, 17, 18, 19, 20};
    ok(read_long_from(twenty, sizeof twenty, &v) == ES_ERR_FORMAT, "20-byte INTEGER refused");
    static const uint8_t empty[] = {0x02, 0x00};
    ok(read_long_from(empty, sizeof empty, &v) == ES_ERR_DER, "empty INTEGER refused");
    static const uint8_t octet[] = {0x04, 0x01, 0x05};
    ok(read_long_from(octet, sizeof octet, &v) == ES_ERR_DER_TAG, "OCTET STRING is not INTEGER");

    static const uint8_t ib[] = {0x02, 0x03, 0x00, 0x80, 0x01};
    es_slice s = dup_slice(ib, sizeof ib), out;
    es_der d;
    es_der_init(&d, s, NULL);
    ok(es_der_read_int_bytes(&d, &out) == ES_OK && out.p == s.p + 2 && out.len == 3,
       "int_bytes borrows the content octets as stored");
    free_slice(s);
}

static void test_typed(void)
{
    es_der d;
    es_slice s, out;
    es_quirks q;

    /* OID */
    static const uint8_t oid[] = {0x06, 0x03, 0x2a, 0x03, 0x04};
    s = dup_slice(oid, sizeof oid);
    es_der_init(&d, s, NULL);
    ok(es_der_read_oid(&d, &out) == ES_OK && slice_is(out, "\x2a\x03\x04", 3), "OID contents");
    free_slice(s);
    static const uint8_t oid_empty[] = {0x06, 0x00}, oid_cont[] = {0x06, 0x02, 0x2a, 0x83};
    s = dup_slice(oid_empty, 2);
    es_der_init(&d, s, NULL);
    ok(es_der_read_oid(&d, &out) == ES_ERR_DER, "empty OID refused");
    free_slice(s);
    s = dup_slice(oid_cont, 4);
    es_der_init(&d, s, NULL);
    ok(es_der_read_oid(&d, &out) == ES_ERR_DER, "OID ending inside a sub-identifier refused");
    free_slice(s);

    /* BIT STRING */
    uint8_t unused = 99;
    static const uint8_t bits6[] = {0x03, 0x02, 0x06, 0xc0};
    s = dup_slice(bits6, sizeof bits6);
    es_der_init(&d, s, NULL);
    ok(es_der_read_bits(&d, &out, &unused) == ES_OK && unused == 6 && out.len == 1 &&
           out.p[0] == 0xc0,
       "BIT STRING with 6 unused bits");
    free_slice(s);
    static const uint8_t bits0[] = {0x03, 0x03, 0x00, 0xde, 0xad};
    s = dup_slice(bits0, sizeof bits0);
    es_der_init(&d, s, NULL);
    ok(es_der_read_bits(&d, &out, &unused) == ES_OK && unused == 0 && slice_is(out, "\xde\xad", 2),
       "BIT STRING with 0 unused bits");
    free_slice(s);
    static const uint8_t bits_empty[] = {0x03, 0x01, 0x00};
    s = dup_slice(bits_empty, sizeof bits_empty);
    es_der_init(&d, s, NULL);
    ok(es_der_read_bits(&d, &out, &unused) == ES_OK && out.len == 0 && unused == 0,
       "empty BIT STRING");
    free_slice(s);
    static const uint8_t bits8[] = {0x03, 0x02, 0x08, 0x00}, bits_none[] = {0x03, 0x00};
    s = dup_slice(bits8, sizeof bits8);
    es_der_init(&d, s, NULL);
    ok(es_der_read_bits(&d, &out, &unused) == ES_ERR_DER, "8 unused bits refused");
    free_slice(s);
    s = dup_slice(bits_none, sizeof bits_none);
    es_der_init(&d, s, NULL);
    ok(es_der_read_bits(&d, &out, &unused) == ES_ERR_DER, "BIT STRING without its octet refused");
    free_slice(s);

    /* BOOLEAN */
    static const struct {
        uint8_t b[4];
        size_t n;
        es_err rv;
        int v;
        es_quirks q;
    } bools[] = {
        {{0x01, 0x01, 0xff}, 3, ES_OK, 1, 0},
        {{0x01, 0x01, 0x00}, 3, ES_OK, 0, 0},
        {{0x01, 0x01, 0x01}, 3, ES_OK, 1, Q(ES_QUIRK_DER_BOOLEAN)},
        {{0x01, 0x01, 0x80}, 3, ES_OK, 1, Q(ES_QUIRK_DER_BOOLEAN)},
        {{0x01, 0x02, 0xff, 0xff}, 4, ES_ERR_DER, 0, 0},
        {{0x01, 0x00}, 2, ES_ERR_DER, 0, 0},
        {{0x02, 0x01, 0xff}, 3, ES_ERR_DER_TAG, 0, 0},
    };
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        s = dup_slice(bools[i].b, bools[i].n);
        q = 0;
        int v = -1;
        es_der_init(&d, s, &q);
        es_err rv = es_der_read_bool(&d, &v);
        ok(rv == bools[i].rv && (rv != ES_OK || v == bools[i].v) && q == bools[i].q,
           "BOOLEAN case %zu: %s v=%d quirks=%llx", i, es_err_name(rv), v, (unsigned long long)q);
        free_slice(s);
    }

    /* Strings */
    static const struct {
        uint8_t b[10];
        size_t n;
        es_err rv;
    } strs[] = {
        {{0x0c, 0x06, 0xe4, 0xb8, 0xad, 0xe6, 0x96, 0x87}, 8, ES_OK}, /* UTF8String "中文" */
        {{0x13, 0x02, 'A', 'B'}, 4, ES_OK},                           /* PrintableString */
        {{0x16, 0x03, 'a', '@', 'b'}, 5, ES_OK},                      /* IA5String */
        {{0x1a, 0x01, 'v'}, 3, ES_OK},                                /* VisibleString */
        {{0x14, 0x01, 't'}, 3, ES_OK},                                /* T61String */
        {{0x0c, 0x00}, 2, ES_OK},                                     /* empty */
        {{0x04, 0x02, 'A', 'B'}, 4, ES_ERR_DER_TAG},                  /* OCTET STRING */
        {{0x02, 0x01, 0x05}, 3, ES_ERR_DER_TAG},                      /* INTEGER */
        {{0x0c, 0x05, 'A', 'B'}, 4, ES_ERR_DER},                      /* past the input */
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        s = dup_slice(strs[i].b, strs[i].n);
        unsigned tag = 0;
        es_der_init(&d, s, NULL);
        es_err rv = es_der_read_string(&d, &out, &tag);
        ok(rv == strs[i].rv &&
               (rv != ES_OK || (tag == strs[i].b[0] && slice_is(out, s.p + 2, s.len - 2))),
           "string case %zu: %s", i, es_err_name(rv));
        free_slice(s);
    }
    s = dup_slice(strs[0].b, strs[0].n);
    es_der_init(&d, s, NULL);
    ok(es_der_read_string(&d, &out, NULL) == ES_OK && slice_is(out, "中文", 6),
       "string with tag_out NULL");
    free_slice(s);
}

static void test_time(void)
{
    static const struct {
        unsigned tag;
        const char *text;
        int64_t t;
        es_quirks q;
    } good[] = {
        {ES_DER_GEN_TIME, "20260101080000Z", 1767254400, 0},
        {ES_DER_GEN_TIME, "20260101080000", 1767254400, Q(ES_QUIRK_TIME_NO_Z)},
        {ES_DER_GEN_TIME, "220725214639Z", 1658785599, Q(ES_QUIRK_TIME_2DIGIT_YEAR)},
        {ES_DER_GEN_TIME, "220725214639", 1658785599,
         Q(ES_QUIRK_TIME_2DIGIT_YEAR) | Q(ES_QUIRK_TIME_NO_Z)},
        {ES_DER_GEN_TIME, "20260101080000.123Z", 1767254400, Q(ES_QUIRK_TIME_FRACTION)},
        {ES_DER_GEN_TIME, "20260101080000,5Z", 1767254400, Q(ES_QUIRK_TIME_FRACTION)},
        {ES_DER_GEN_TIME, "20260101080000.999", 1767254400,
         Q(ES_QUIRK_TIME_FRACTION) | Q(ES_QUIRK_TIME_NO_Z)},
        {ES_DER_GEN_TIME, "20260101160000+0800", 1767254400, 0},
        {ES_DER_GEN_TIME, "20260101030000-0500", 1767254400, 0},
        {ES_DER_GEN_TIME, "20260101083000+0030", 1767254400, 0},
        {ES_DER_GEN_TIME, "20240229235959Z", 1709251199, 0},
        {ES_DER_GEN_TIME, "19700101000000Z", 0, 0},
        {ES_DER_UTC_TIME, "260101080000Z", 1767254400, 0},
        {ES_DER_UTC_TIME, "2601010800Z", 1767254400, 0},
        {ES_DER_UTC_TIME, "500101000000Z", -631152000, 0},     /* 1950 */
        {ES_DER_UTC_TIME, "491231235959Z", 2524607999, 0},     /* 2049 */
        {ES_DER_UTC_TIME, "220725214639Z", 1658785599, 0},     /* same text, UTCTime */
        {ES_DER_UTC_TIME, "260101160000+0800", 1767254400, 0}, /* offsets */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t n = strlen(good[i].text);
        uint8_t enc[40];
        enc[0] = (uint8_t)good[i].tag;
        enc[1] = (uint8_t)n;
        memcpy(enc + 2, good[i].text, n);
        es_slice s = dup_slice(enc, n + 2);
        es_quirks q = 0;
        es_time t = ES_TIME_NONE;
        unsigned tag = 0;
        es_der d;
        es_der_init(&d, s, &q);
        es_err rv = es_der_read_time(&d, &t, &tag);
        ok(rv == ES_OK && t == good[i].t && tag == good[i].tag && q == good[i].q,
           "%s '%s' -> %s %lld quirks %llx (expected %lld quirks %llx)",
           good[i].tag == ES_DER_UTC_TIME ? "UTCTime" : "GeneralizedTime", good[i].text,
           es_err_name(rv), (long long)t, (unsigned long long)q, (long long)good[i].t,
           (unsigned long long)good[i].q);
        free_slice(s);
    }
    static const struct {
        unsigned tag;
        const char *text;
    } bad[] = {
        {ES_DER_GEN_TIME, ""},
        {ES_DER_GEN_TIME, "Z"},
        {ES_DER_GEN_TIME, "2026"},
        {ES_DER_GEN_TIME, "2026010108000Z"},
        {ES_DER_GEN_TIME, "20261301080000Z"},
        {ES_DER_GEN_TIME, "20260230080000Z"},
        {ES_DER_GEN_TIME, "20260101250000Z"},
        {ES_DER_GEN_TIME, "20260101086000Z"},
        {ES_DER_GEN_TIME, "20260101080000ZZ"},
        {ES_DER_GEN_TIME, "20260101080000Zjunk"},
        {ES_DER_GEN_TIME, "20260101080000."},
        {ES_DER_GEN_TIME, "20260101080000.Z"},
        {ES_DER_GEN_TIME, "20260101080000+08"},
        {ES_DER_GEN_TIME, "20260101080000+2400"},
        {ES_DER_GEN_TIME, "20260101080000+0860"},
        {ES_DER_GEN_TIME, "2026-01-01T08:00:00Z"},
        {ES_DER_GEN_TIME, " 20260101080000Z"},
        {ES_DER_UTC_TIME, "20260101080000Z"},
        {ES_DER_UTC_TIME, "26010108"},
        {ES_DER_UTC_TIME, "260101080000Zx"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        es_slice s = dup_slice(bad[i].text, strlen(bad[i].text));
        es_time t = 0;
        es_err rv = es_der_parse_time(s, bad[i].tag, &t, NULL);
        ok(rv == ES_ERR_TIME, "%s '%s' refused (%s)",
           bad[i].tag == ES_DER_UTC_TIME ? "UTCTime" : "GeneralizedTime", bad[i].text,
           es_err_name(rv));
        free_slice(s);
    }
    static const uint8_t octet_time[] = {0x04, 0x02, '2', '6'};
    es_slice s = dup_slice(octet_time, sizeof octet_time);
    es_der d;
    es_time t;
    es_der_init(&d, s, NULL);
    ok(es_der_read_time(&d, &t, NULL) == ES_ERR_DER_TAG, "OCTET STRING is not a time");
    free_slice(s);
}

static void test_uint32(void)
{
    uint8_t v[40], out[32], expect[32];
    es_quirks q;
    es_slice s;

    /* 32 bytes, high bit clear: canonical without a sign octet. */
    for (int i = 0; i < 32; i++) v[i] = (uint8_t)(0x40 + i);
    s = dup_slice(v, 32);
    q = 0;
    ok(es_der_uint32_bytes(s, out, &q) == ES_OK && memcmp(out, v, 32) == 0 && q == 0,
       "32 bytes, high bit clear");
    free_slice(s);

    /* 0x00 + 32 bytes with the high bit set: canonical. */
    v[0] = 0x00;
    for (int i = 1; i <= 32; i++) v[i] = (uint8_t)(0xc0 + i);
    s = dup_slice(v, 33);
    q = 0;
    ok(es_der_uint32_bytes(s, out, &q) == ES_OK && memcmp(out, v + 1, 32) == 0 && q == 0,
       "sign octet + 32 bytes");
    free_slice(s);

    /* The same value without its sign octet. */
    s = dup_slice(v + 1, 32);
    q = 0;
    ok(es_der_uint32_bytes(s, out, &q) == ES_OK && memcmp(out, v + 1, 32) == 0 &&
           q == Q(ES_QUIRK_INT_NO_SIGN_OCTET),
       "missing sign octet: value read as unsigned, quirk set (%llx)", (unsigned long long)q);
    free_slice(s);

    /* Zero padding: 00 00 + 31 bytes (high bit clear). */
    v[0] = v[1] = 0x00;
    for (int i = 2; i < 33; i++) v[i] = (uint8_t)i;
    s = dup_slice(v, 33);
    q = 0;
    memset(expect, 0, 32);
    memcpy(expect + 1, v + 2, 31);
    ok(es_der_uint32_bytes(s, out, &q) == ES_OK && memcmp(out, expect, 32) == 0 &&
           q == Q(ES_QUIRK_INT_PADDED),
       "zero padded to 33 bytes: right-aligned, quirk set (%llx)", (unsigned long long)q);
    free_slice(s);

    /* A sign octet the value does not need (00 7f). */
    static const uint8_t pad1[] = {0x00, 0x7f};
    s = dup_slice(pad1, 2);
    q = 0;
    memset(expect, 0, 32);
    expect[31] = 0x7f;
    ok(es_der_uint32_bytes(s, out, &q) == ES_OK && memcmp(out, expect, 32) == 0 &&
           q == Q(ES_QUIRK_INT_PADDED),
       "00 7f is padded");
    free_slice(s);
    /* 00 00 80: one zero is the sign octet, the other padding. */
    static const uint8_t pad2[] = {0x00, 0x00, 0x80};
    s = dup_slice(pad2, 3);
    q = 0;
    expect[31] = 0x80;
    ok(es_der_uint32_bytes(s, out, &q) == ES_OK && memcmp(out, expect, 32) == 0 &&
           q == Q(ES_QUIRK_INT_PADDED),
       "00 00 80 is padded");
    free_slice(s);
    /* Small canonical values. */
    static const uint8_t small[] = {0x05}, small80[] = {0x00, 0x80}, zero[] = {0x00};
    s = dup_slice(small, 1);
    q = 0;
    expect[31] = 0x05;
    ok(es_der_uint32_bytes(s, out, &q) == ES_OK && memcmp(out, expect, 32) == 0 && q == 0,
       "05 right-aligned");
    free_slice(s);
    s = dup_slice(small80, 2);
    q = 0;
    expect[31] = 0x80;
    ok(es_der_uint32_bytes(s, out, &q) == ES_OK && memcmp(out, expect, 32) == 0 && q == 0,
       "00 80 is canonical");
    free_slice(s);
    s = dup_slice(zero, 1);
    q = 0;
    memset(out, 0xee, 32);
    memset(expect, 0, 32);
    ok(es_der_uint32_bytes(s, out, &q) == ES_OK && memcmp(out, expect, 32) == 0 && q == 0,
       "00 is zero, canonical (quirks %llx)", (unsigned long long)q);
    free_slice(s);

    /* 33-byte values are refused, however they are written. */
    v[0] = 0x01;
    for (int i = 1; i < 33; i++) v[i] = 0xff;
    s = dup_slice(v, 33);
    ok(es_der_uint32_bytes(s, out, NULL) == ES_ERR_FORMAT, "33-byte value refused");
    free_slice(s);
    v[0] = 0x00;
    v[1] = 0x01;
    for (int i = 2; i < 34; i++) v[i] = 0xff;
    s = dup_slice(v, 34);
    ok(es_der_uint32_bytes(s, out, NULL) == ES_ERR_FORMAT, "00 + 33-byte value refused");
    free_slice(s);
    ok(es_der_uint32_bytes(ES_SLICE_NULL, out, NULL) == ES_ERR_FORMAT, "empty refused");
}

static void test_oid_text(void)
{
    static const struct {
        const char *text;
        const char *der;
        size_t n;
    } v[] = {
        {"1.2.156.10197.1.501", "\x2a\x81\x1c\xcf\x55\x01\x83\x75", 8},
        {"1.2.156.10197.1.301", "\x2a\x81\x1c\xcf\x55\x01\x82\x2d", 8},
        {"1.2.840.113549.1.7.2", "\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 9},
        {"2.5.4.3", "\x55\x04\x03", 3},
        {"0.0", "\x00", 1},
        {"0.39", "\x27", 1},
        {"1.0", "\x28", 1},
        {"2.47", "\x7f", 1},
        {"2.48", "\x81\x00", 2},
        {"2.999.3", "\x88\x37\x03", 3},
        {"1.2.127.128.16383.16384", "\x2a\x7f\x81\x00\xff\x7f\x81\x80\x00", 9},
        {"1.3.6.1.4.1.311.2.1.4", "\x2b\x06\x01\x04\x01\x82\x37\x02\x01\x04", 10},
    };
    es_buf b;
    es_buf_init(&b, 256);
    char text[128];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        b.len = 0;
        es_err rv = es_oid_from_text(v[i].text, &b);
        ok(rv == ES_OK && buf_is(&b, v[i].der, v[i].n), "oid_from_text %s (%s)", v[i].text,
           es_err_name(rv));
        if (rv == ES_OK && !buf_is(&b, v[i].der, v[i].n)) hexdump("got", b.p, b.len);
        es_slice s = dup_slice(v[i].der, v[i].n);
        rv = es_oid_to_text(s, text, sizeof text);
        ok(rv == ES_OK && strcmp(text, v[i].text) == 0, "oid_to_text %s -> %s", v[i].text, text);
        free_slice(s);
    }
    if (sizeof(unsigned long) == 8) {
        b.len = 0;
        /* 2^63 takes ten sub-identifier octets: 81 80 80 80 80 80 80 80 80 00. */
        ok(es_oid_from_text("1.2.9223372036854775808", &b) == ES_OK && b.len == 11 &&
               b.p[1] == 0x81 && b.p[2] == 0x80 && b.p[9] == 0x80 && b.p[10] == 0x00,
           "a 64-bit arc encodes");
        es_slice s = dup_slice(b.p, b.len);
        ok(es_oid_to_text(s, text, sizeof text) == ES_OK &&
               strcmp(text, "1.2.9223372036854775808") == 0,
           "a 64-bit arc decodes: %s", text);
        free_slice(s);
    }

    static const char *bad[] = {"",
                                "1",
                                "1.",
                                ".1.2",
                                "1..2",
                                "1.2.",
                                "3.1",
                                "1.40",
                                "0.40",
                                "1.2.a",
                                "1.2 ",
                                " 1.2",
                                "-1.2",
                                "1.-2",
                                "1,2",
                                "1.2.99999999999999999999999",
                                "2.18446744073709551615",
                                "2.18446744073709551600"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b.len = 0;
        ok(es_oid_from_text(bad[i], &b) != ES_OK, "oid_from_text '%s' refused", bad[i]);
    }
    static const uint8_t cont[] = {0x2a, 0x81};
    es_slice s = dup_slice(cont, sizeof cont);
    ok(es_oid_to_text(s, text, sizeof text) == ES_ERR_FORMAT, "OID ending in 0x81 refused");
    free_slice(s);
    static const uint8_t huge[] = {0x2a, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80,
                                   0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    s = dup_slice(huge, sizeof huge);
    ok(es_oid_to_text(s, text, sizeof text) == ES_ERR_FORMAT, "arc past 64 bits refused");
    free_slice(s);
    s = dup_slice(v[0].der, v[0].n);
    ok(es_oid_to_text(s, text, 8) == ES_ERR_BUFFER, "small output buffer: ES_ERR_BUFFER");
    ok(es_oid_to_text(s, text, 20) == ES_OK && strcmp(text, "1.2.156.10197.1.501") == 0,
       "exactly enough room (19 + NUL)");
    ok(es_oid_to_text(s, text, 19) == ES_ERR_BUFFER, "one byte short: ES_ERR_BUFFER");
    free_slice(s);
    ok(es_oid_to_text(ES_SLICE_NULL, text, sizeof text) != ES_OK, "empty OID refused");
    es_buf_cleanup(&b);
}

/* Decodes base-128 arcs of any size to dotted text, digit by digit (the test's own decoder, for
 * the UUID arc that es_oid_to_text's 64-bit arcs cannot hold). */
static void big_oid_text(const char *der, size_t n, char *out, size_t cap)
{
    uint8_t dec[200]; /* decimal digits, least significant first */
    size_t nd = 0, pos = 0;
    int first = 1;
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned carry = (uint8_t)der[i] & 0x7f;
        for (size_t k = 0; k < nd; k++) { /* dec = dec * 128 + carry */
            unsigned v = dec[k] * 128u + carry;
            dec[k] = (uint8_t)(v % 10);
            carry = v / 10;
        }
        while (carry && nd < sizeof dec) {
            dec[nd++] = (uint8_t)(carry % 10);
            carry /= 10;
        }
        if ((uint8_t)der[i] & 0x80) continue;
        if (first) { /* first sub-identifier 40 * a + b: only arc 2 here (value >= 80) */
            unsigned v = 0;
            for (size_t k = nd; k-- > 0;) v = v * 10 + dec[k];
            pos += (size_t)snprintf(out + pos, cap - pos, "%u.%u", v < 80 ? v / 40 : 2,
                                    v < 80 ? v % 40 : v - 80);
            first = 0;
        } else {
            out[pos++] = '.';
            if (nd == 0) out[pos++] = '0';
            for (size_t k = nd; k-- > 0;) out[pos++] = (char)('0' + dec[k]);
            out[pos] = 0;
        }
        nd = 0;
    }
}

static void test_oid_table(void)
{
    int rows_ok = 1, find_ok = 1, text_ok = 1, from_ok = 1, names_ok = 1;
    for (int id = ES_OID_ID_NONE + 1; id < ES_OID_ID_COUNT; id++) {
        const es_oid_info *o = es_oid_info_of((es_oid_id)id);
        if (!o || o->id != (es_oid_id)id || !o->name || !o->dotted || o->der_len == 0) {
            rows_ok = 0;
            fprintf(stderr, "row %d is not its id's\n", id);
            continue;
        }
        es_slice d = es_slice_make(o->der, o->der_len);
        if (es_oid_find(d) != o || !es_oid_is(d, o->id) ||
            es_oid_der(o->id).p != (const uint8_t *)o->der)
            find_ok = 0;
        char txt[128];
        if (es_oid_to_text(d, txt, sizeof txt) != ES_OK)
            big_oid_text(o->der, o->der_len, txt, sizeof txt);
        if (strcmp(txt, o->dotted) != 0) {
            text_ok = 0;
            fprintf(stderr, "%s: octets read %s, dotted says %s\n", o->name, txt, o->dotted);
        }
        es_buf b;
        es_buf_init(&b, 64);
        if (es_oid_from_text(o->dotted, &b) == ES_OK &&
            (b.len != o->der_len || memcmp(b.p, o->der, b.len) != 0))
            from_ok = 0;
        es_buf_cleanup(&b);
        for (int j = id + 1; j < ES_OID_ID_COUNT; j++) {
            const es_oid_info *q = es_oid_info_of((es_oid_id)j);
            if (q && (strcmp(q->name, o->name) == 0 || strcmp(q->dotted, o->dotted) == 0))
                names_ok = 0;
        }
    }
    ok(rows_ok, "every row sits at its id");
    ok(find_ok, "every row is found by its octets");
    ok(text_ok, "every row's octets decode to its dotted form");
    ok(from_ok, "every dotted form es_oid_from_text can hold encodes to the row's octets");
    ok(names_ok, "names and dotted forms are unique");
    ok(strcmp(es_oid_info_of(ES_OID_ID_SEAL_SOURCE)->dotted, ES_OID_SEAL_SOURCE) == 0 &&
           es_oid_der(ES_OID_ID_SEAL_SOURCE).len == 22,
       "the seal source's 128-bit arc is in the table (22 octets)");
    ok(es_oid_info_of(ES_OID_ID_NONE) == NULL && es_oid_info_of(ES_OID_ID_COUNT) == NULL &&
           es_oid_info_of((es_oid_id)-1) == NULL,
       "ids outside the table have no row");
    ok(es_oid_der(ES_OID_ID_NONE).len == 0, "no octets for ES_OID_ID_NONE");
    /* Lookups compare whole OIDs: a prefix or an extension of a row is not that row. */
    es_slice sm2 = es_oid_der(ES_OID_ID_SM2), sm2_1 = es_oid_der(ES_OID_ID_SM2_1);
    ok(!es_oid_is(es_slice_make(sm2.p, sm2.len - 1), ES_OID_ID_SM2) &&
           !es_oid_is(sm2_1, ES_OID_ID_SM2) && !es_oid_is(sm2, ES_OID_ID_SM2_1) &&
           es_oid_find(es_slice_make(sm2.p, sm2.len - 1)) == NULL &&
           !es_oid_is(ES_SLICE_NULL, ES_OID_ID_SM2) && es_oid_find(ES_SLICE_NULL) == NULL,
       "prefixes, extensions and the empty OID do not match");
    const es_oid_info *cn = es_oid_info_of(ES_OID_ID_AT_CN);
    ok(cn && strcmp(cn->name, "CN") == 0 && strcmp(cn->dotted, "2.5.4.3") == 0, "CN is 2.5.4.3");
    /* The writer: an OID of the table, and an id outside it is a sticky error. */
    es_buf out;
    es_buf_init(&out, 64);
    es_der_w w;
    es_der_w_init(&w, &out);
    es_der_w_oid(&w, ES_OID_ID_SM2_SM3);
    ok(es_der_w_finish(&w) == ES_OK && out.len == 10 && out.p[0] == ES_DER_OID && out.p[1] == 8 &&
           es_oid_is(es_slice_make(out.p + 2, 8), ES_OID_ID_SM2_SM3),
       "es_der_w_oid writes the row's octets");
    out.len = 0;
    es_der_w_init(&w, &out);
    es_der_w_oid(&w, ES_OID_ID_NONE);
    ok(es_der_w_finish(&w) == ES_ERR_ARG, "es_der_w_oid of an unknown id: ES_ERR_ARG");
    es_buf_cleanup(&out);
}

static void test_writer(void)
{
    es_buf b;
    es_der_w w;
    es_buf_init(&b, 1 << 20);

    /* SEQUENCE { INTEGER 5, OCTET STRING (200 bytes), BOOLEAN TRUE, NULL }: 211 content
     * bytes, so the SEQUENCE takes the one-octet long form and the OCTET STRING too. */
    uint8_t oct[300];
    memset(oct, 0x11, sizeof oct);
    es_der_w_init(&w, &b);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, 5);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, oct, 200);
    es_der_w_bool(&w, 1);
    es_der_w_prim(&w, ES_DER_NULL, NULL, 0);
    es_der_w_end(&w);
    uint8_t exp1[3 + 211];
    size_t k = 0;
    exp1[k++] = 0x30, exp1[k++] = 0x81, exp1[k++] = 0xd3;
    exp1[k++] = 0x02, exp1[k++] = 0x01, exp1[k++] = 0x05;
    exp1[k++] = 0x04, exp1[k++] = 0x81, exp1[k++] = 0xc8;
    memset(exp1 + k, 0x11, 200);
    k += 200;
    exp1[k++] = 0x01, exp1[k++] = 0x01, exp1[k++] = 0xff;
    exp1[k++] = 0x05, exp1[k++] = 0x00;
    ok(es_der_w_finish(&w) == ES_OK && buf_is(&b, exp1, sizeof exp1),
       "SEQUENCE of 211 bytes: 30 81 d3 ...");
    if (!buf_is(&b, exp1, sizeof exp1)) hexdump("got", b.p, b.len);

    /* Two length octets: SEQUENCE { OCTET STRING (300 bytes) }. */
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, oct, 300);
    es_der_w_end(&w);
    static const uint8_t hdr2[] = {0x30, 0x82, 0x01, 0x30, 0x04, 0x82, 0x01, 0x2c};
    ok(es_der_w_finish(&w) == ES_OK && b.len == 8 + 300 && memcmp(b.p, hdr2, 8) == 0 &&
           memcmp(b.p + 8, oct, 300) == 0,
       "SEQUENCE of 304 bytes: 30 82 01 30 04 82 01 2c ...");

    /* Nested ends: the inner SEQUENCE grows from short to long form while the outer one is
     * open. */
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_begin(&w, ES_DER_CTX(1));
    es_der_w_prim(&w, ES_DER_OCTET_STRING, oct, 126);
    es_der_w_end(&w);
    es_der_w_end(&w);
    static const uint8_t hdr3[] = {0x30, 0x81, 0x83, 0xa1, 0x81, 0x80, 0x04, 0x7e};
    ok(es_der_w_finish(&w) == ES_OK && b.len == 8 + 126 && memcmp(b.p, hdr3, 8) == 0,
       "nested long forms: 30 81 83 a1 81 80 04 7e ...");

    /* Length boundaries, primitive and constructed. */
    static const struct {
        size_t n;
        uint8_t len[4];
        size_t ln;
    } lb[] = {{0, {0x00}, 1},
              {1, {0x01}, 1},
              {127, {0x7f}, 1},
              {128, {0x81, 0x80}, 2},
              {255, {0x81, 0xff}, 2},
              {256, {0x82, 0x01, 0x00}, 3},
              {65535, {0x82, 0xff, 0xff}, 3},
              {65536, {0x83, 0x01, 0x00, 0x00}, 4}};
    uint8_t *content = calloc(1, 65536);
    if (!content) exit(2);
    for (size_t i = 0; i < sizeof lb / sizeof lb[0]; i++) {
        b.len = 0;
        es_der_w_init(&w, &b);
        es_der_w_prim(&w, ES_DER_OCTET_STRING, content, lb[i].n);
        ok(es_der_w_finish(&w) == ES_OK && b.len == 1 + lb[i].ln + lb[i].n && b.p[0] == 0x04 &&
               memcmp(b.p + 1, lb[i].len, lb[i].ln) == 0,
           "primitive of %zu bytes: minimal length", lb[i].n);
        b.len = 0;
        es_der_w_init(&w, &b);
        es_der_w_begin(&w, ES_DER_SET);
        es_der_w_raw(&w, content, lb[i].n);
        es_der_w_end(&w);
        ok(es_der_w_finish(&w) == ES_OK && b.len == 1 + lb[i].ln + lb[i].n && b.p[0] == 0x31 &&
               memcmp(b.p + 1, lb[i].len, lb[i].ln) == 0,
           "constructed of %zu bytes: minimal length", lb[i].n);
        /* The reader takes it back without quirks. */
        es_quirks q = 0;
        es_der d;
        es_der_tlv t;
        es_der_init(&d, es_slice_make(b.p, b.len), &q);
        ok(es_der_read(&d, &t) == ES_OK && t.val.len == lb[i].n && q == 0 &&
               es_der_done(&d) == ES_OK,
           "reader takes %zu bytes back, no quirks", lb[i].n);
    }
    free(content);

    /* Integers. */
    static const struct {
        long v;
        uint8_t der[12];
        size_t n;
    } longs[] = {{0, {0x02, 0x01, 0x00}, 3},           {127, {0x02, 0x01, 0x7f}, 3},
                 {128, {0x02, 0x02, 0x00, 0x80}, 4},   {256, {0x02, 0x02, 0x01, 0x00}, 4},
                 {-1, {0x02, 0x01, 0xff}, 3},          {-128, {0x02, 0x01, 0x80}, 3},
                 {-129, {0x02, 0x02, 0xff, 0x7f}, 4},  {65535, {0x02, 0x03, 0x00, 0xff, 0xff}, 5},
                 {-32768, {0x02, 0x02, 0x80, 0x00}, 4}};
    for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
        b.len = 0;
        es_der_w_init(&w, &b);
        es_der_w_long(&w, longs[i].v);
        ok(es_der_w_finish(&w) == ES_OK && buf_is(&b, longs[i].der, longs[i].n), "w_long(%ld)",
           longs[i].v);
    }
    long lv[] = {LONG_MIN, LONG_MIN + 1, -65537, -65536, 65536, LONG_MAX - 1, LONG_MAX};
    int rt = 1;
    for (size_t i = 0; i < sizeof lv / sizeof lv[0]; i++) {
        b.len = 0;
        es_der_w_init(&w, &b);
        es_der_w_long(&w, lv[i]);
        long back = 0;
        if (es_der_w_finish(&w) != ES_OK || read_long_from(b.p, b.len, &back) != ES_OK ||
            back != lv[i])
            rt = 0;
    }
    ok(rt, "w_long / read_long round trips at the extremes");

    static const struct {
        uint8_t in[4];
        size_t n;
        uint8_t der[6];
        size_t dn;
    } uints[] = {
        {{0x80}, 1, {0x02, 0x02, 0x00, 0x80}, 4},
        {{0x00, 0x00, 0x01}, 3, {0x02, 0x01, 0x01}, 3},
        {{0x00, 0x00, 0x00}, 3, {0x02, 0x01, 0x00}, 3},
        {{0x7f}, 1, {0x02, 0x01, 0x7f}, 3},
        {{0x00, 0xff}, 2, {0x02, 0x02, 0x00, 0xff}, 4},
        {{0x00, 0x00, 0x80, 0x01}, 4, {0x02, 0x03, 0x00, 0x80, 0x01}, 5},
    };
    for (size_t i = 0; i < sizeof uints / sizeof uints[0]; i++) {
        b.len = 0;
        es_der_w_init(&w, &b);
        es_der_w_uint(&w, uints[i].in, uints[i].n);
        ok(es_der_w_finish(&w) == ES_OK && buf_is(&b, uints[i].der, uints[i].dn), "w_uint case %zu",
           i);
    }
    uint8_t ff[32];
    memset(ff, 0xff, 32);
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_uint(&w, ff, 32);
    ok(es_der_w_finish(&w) == ES_OK && b.len == 35 && b.p[0] == 0x02 && b.p[1] == 0x21 &&
           b.p[2] == 0x00 && memcmp(b.p + 3, ff, 32) == 0,
       "w_uint of 32 x ff: 02 21 00 ff...");
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_uint(&w, ff, 0);
    ok(es_der_w_finish(&w) != ES_OK, "w_uint of nothing is an error");

    /* BIT STRING, OID, GeneralizedTime, BOOLEAN FALSE, context tags. */
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_bits(&w, "\xaa\xbb", 2);
    es_der_w_oid_text(&w, "1.2.156.10197.1.501");
    es_der_w_gentime(&w, 1767254400);
    es_der_w_bool(&w, 0);
    es_der_w_prim(&w, ES_DER_CTX_PRIM(2), "x", 1);
    static const uint8_t exp_misc[] = {0x03, 0x03, 0x00, 0xaa, 0xbb, 0x06, 0x08, 0x2a, 0x81, 0x1c,
                                       0xcf, 0x55, 0x01, 0x83, 0x75, 0x18, 0x0f, '2',  '0',  '2',
                                       '6',  '0',  '1',  '0',  '1',  '0',  '8',  '0',  '0',  '0',
                                       '0',  'Z',  0x01, 0x01, 0x00, 0x82, 0x01, 'x'};
    ok(es_der_w_finish(&w) == ES_OK && buf_is(&b, exp_misc, sizeof exp_misc),
       "bits, oid, gentime, bool, [2] primitive");
    if (!buf_is(&b, exp_misc, sizeof exp_misc)) hexdump("got", b.p, b.len);
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_oid_text(&w, "1.2.x");
    es_der_w_prim(&w, ES_DER_NULL, NULL, 0);
    ok(es_der_w_finish(&w) != ES_OK, "a bad OID text fails the writer");

    /* Unbalanced begin/end and depth. */
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_long(&w, 1);
    ok(es_der_w_finish(&w) != ES_OK, "begin without end: error");
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_long(&w, 1);
    es_der_w_end(&w);
    ok(es_der_w_finish(&w) != ES_OK, "end without begin: error");
    b.len = 0;
    es_der_w_init(&w, &b);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_end(&w);
    es_der_w_end(&w);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_end(&w);
    ok(es_der_w_finish(&w) != ES_OK, "one end too many, later balanced: still an error");
    b.len = 0;
    es_der_w_init(&w, &b);
    for (int i = 0; i < ES_DER_MAX_WRITE_DEPTH; i++) es_der_w_begin(&w, ES_DER_SEQUENCE);
    for (int i = 0; i < ES_DER_MAX_WRITE_DEPTH; i++) es_der_w_end(&w);
    ok(es_der_w_finish(&w) == ES_OK && b.len == 2 * ES_DER_MAX_WRITE_DEPTH,
       "writer nests to its limit");
    b.len = 0;
    es_der_w_init(&w, &b);
    for (int i = 0; i <= ES_DER_MAX_WRITE_DEPTH; i++) es_der_w_begin(&w, ES_DER_SEQUENCE);
    for (int i = 0; i <= ES_DER_MAX_WRITE_DEPTH; i++) es_der_w_end(&w);
    ok(es_der_w_finish(&w) == ES_ERR_DER_DEPTH, "writer refuses to nest past its limit");
    es_buf_cleanup(&b);

    /* The buffer's limit reaches the writer. */
    es_buf small;
    es_buf_init(&small, 10);
    es_der_w_init(&w, &small);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, oct, 20);
    es_der_w_end(&w);
    ok(es_der_w_finish(&w) == ES_ERR_LIMIT, "writer past the buffer limit: ES_ERR_LIMIT");
    ok(small.len <= 10, "nothing past the limit");
    es_buf_cleanup(&small);
}

static void test_canonical(void)
{
    es_buf b;
    es_buf_init(&b, 1 << 20);

    static const uint8_t ber1[] = {0x30, 0x80, 0x02, 0x01, 0x05, 0xa0, 0x80,
                                   0x04, 0x01, 0xaa, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t der1[] = {0x30, 0x08, 0x02, 0x01, 0x05, 0xa0, 0x03, 0x04, 0x01, 0xaa};
    es_slice s = dup_slice(ber1, sizeof ber1);
    ok(es_der_canonical(s, &b) == ES_OK && buf_is(&b, der1, sizeof der1),
       "nested indefinite -> definite");
    free_slice(s);

    s = dup_slice(mixed, sizeof mixed);
    b.len = 0;
    ok(es_der_canonical(s, &b) == ES_OK && buf_is(&b, mixed_der, sizeof mixed_der),
       "mixed structure -> DER");
    if (!buf_is(&b, mixed_der, sizeof mixed_der)) hexdump("got", b.p, b.len);
    free_slice(s);

    /* Already DER: unchanged. */
    s = dup_slice(mixed_der, sizeof mixed_der);
    b.len = 0;
    ok(es_der_canonical(s, &b) == ES_OK && buf_is(&b, mixed_der, sizeof mixed_der),
       "DER is its own canonical form");
    free_slice(s);

    /* Non-minimal lengths shrink. */
    static const uint8_t nonmin[] = {0x30, 0x84, 0x00, 0x00, 0x00, 0x08, 0x04,
                                     0x83, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc};
    static const uint8_t nonmin_der[] = {0x30, 0x05, 0x04, 0x03, 0xaa, 0xbb, 0xcc};
    s = dup_slice(nonmin, sizeof nonmin);
    b.len = 0;
    ok(es_der_canonical(s, &b) == ES_OK && buf_is(&b, nonmin_der, sizeof nonmin_der),
       "non-minimal lengths -> minimal");
    free_slice(s);

    /* Indefinite around 200 bytes: the result needs the long form. */
    uint8_t big[2 + 3 + 200 + 2];
    big[0] = 0x30, big[1] = 0x80, big[2] = 0x04, big[3] = 0x81, big[4] = 0xc8;
    memset(big + 5, 0x77, 200);
    big[205] = 0x00, big[206] = 0x00;
    s = dup_slice(big, sizeof big);
    b.len = 0;
    static const uint8_t bighdr[] = {0x30, 0x81, 0xcb, 0x04, 0x81, 0xc8};
    ok(es_der_canonical(s, &b) == ES_OK && b.len == 6 + 200 && memcmp(b.p, bighdr, 6) == 0 &&
           memcmp(b.p + 6, big + 5, 200) == 0,
       "indefinite around 200 bytes -> 30 81 cb ...");
    free_slice(s);

    /* Two top-level elements: both converted, in order. */
    static const uint8_t two[] = {0x30, 0x80, 0x05, 0x00, 0x00, 0x00, 0x31, 0x80, 0x00, 0x00};
    static const uint8_t two_der[] = {0x30, 0x02, 0x05, 0x00, 0x31, 0x00};
    s = dup_slice(two, sizeof two);
    b.len = 0;
    ok(es_der_canonical(s, &b) == ES_OK && buf_is(&b, two_der, sizeof two_der),
       "two top-level elements");
    free_slice(s);

    /* Garbage is refused. */
    static const uint8_t junk[] = {0x30, 0x80, 0x02, 0x01};
    s = dup_slice(junk, sizeof junk);
    b.len = 0;
    ok(es_der_canonical(s, &b) != ES_OK, "garbage refused");
    free_slice(s);
    static const uint8_t trail[] = {0x05, 0x00, 0xff};
    s = dup_slice(trail, sizeof trail);
    b.len = 0;
    ok(es_der_canonical(s, &b) != ES_OK, "a stray byte after an element refused");
    free_slice(s);

    /* Appends to what is there. */
    b.len = 0;
    ok(es_buf_append(&b, "AB", 2) == ES_OK, "prefix");
    s = dup_slice(ber1, sizeof ber1);
    ok(es_der_canonical(s, &b) == ES_OK && b.len == 2 + sizeof der1 && memcmp(b.p, "AB", 2) == 0 &&
           memcmp(b.p + 2, der1, sizeof der1) == 0,
       "canonical appends");
    free_slice(s);
    es_buf_cleanup(&b);
}

int main(void)
{
    test_definite();
    test_indefinite();
    test_lengths();
    test_truncation();
    test_depth();
    test_done_trailing();
    test_long();
    test_typed();
    test_time();
    test_uint32();
    test_oid_text();
    test_oid_table();
    test_writer();
    test_canonical();
    return t_done();
}
