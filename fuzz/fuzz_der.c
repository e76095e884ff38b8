/* libFuzzer target: the DER/BER reader on arbitrary bytes. Walks every element recursively
 * with the generic and the typed readers, converts OIDs and times, and checks two
 * invariants: canonicalisation is idempotent, and OID text converts back to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/der.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void oid_round_trip(es_slice oid)
{
    char small[8], text[512], again[512];
    es_buf b;
    (void)es_oid_to_text(oid, small, sizeof small);
    if (es_oid_to_text(oid, text, sizeof text) != ES_OK) return;
    es_buf_init(&b, 1024);
    if (es_oid_from_text(text, &b) == ES_OK) {
        if (es_oid_to_text(es_slice_make(b.p, b.len), again, sizeof again) != ES_OK ||
            strcmp(text, again) != 0)
            abort();
    }
    es_buf_cleanup(&b);
}

/* The typed readers, each on its own copy of the cursor. */
static void typed(const es_der *d)
{
    es_der c;
    es_slice s;
    es_time t;
    long l;
    int b;
    uint8_t u, n32[32];
    unsigned tag;
    es_quirks q = 0;
    c = *d;
    if (es_der_read_long(&c, &l) == ES_OK) (void)l;
    c = *d;
    if (es_der_read_int_bytes(&c, &s) == ES_OK) (void)es_der_uint32_bytes(s, n32, &q);
    c = *d;
    if (es_der_read_oid(&c, &s) == ES_OK) oid_round_trip(s);
    c = *d;
    (void)es_der_read_octets(&c, &s);
    c = *d;
    (void)es_der_read_bits(&c, &s, &u);
    c = *d;
    (void)es_der_read_bool(&c, &b);
    c = *d;
    (void)es_der_read_string(&c, &s, &tag);
    c = *d;
    (void)es_der_read_time(&c, &t, &tag);
    c = *d;
    es_der_tlv tlv;
    es_der child;
    (void)es_der_open(&c, ES_DER_SEQUENCE, &tlv, &child);
}

static void walk(es_der *d)
{
    while (es_der_more(d)) {
        es_der_tlv t;
        typed(d);
        if (es_der_read(d, &t) != ES_OK) return;
        if (t.raw.p + t.raw.len != d->p || t.val.p < t.raw.p ||
            t.val.p + t.val.len > t.raw.p + t.raw.len)
            abort();
        if (t.tag & ES_DER_CONSTRUCTED) {
            es_der child;
            if (es_der_enter(d, &t, &child) == ES_OK) walk(&child);
            continue;
        }
        es_time tm;
        es_quirks q = 0;
        switch (t.tag) {
        case ES_DER_OID:
            oid_round_trip(t.val);
            break;
        case ES_DER_UTC_TIME:
        case ES_DER_GEN_TIME:
            if (es_der_parse_time(t.val, t.tag, &tm, &q) == ES_OK) {
                char iso[32];
                es_time_format_iso(tm, iso);
            }
            break;
        case ES_DER_INTEGER: {
            uint8_t n32[32];
            if (t.val.len) (void)es_der_uint32_bytes(t.val, n32, &q);
            break;
        }
        default:
            break;
        }
    }
    (void)es_der_done(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_slice in = es_slice_make(data, size);
    es_quirks q = 0;
    es_der d;
    es_time t;
    es_buf a, b;

    es_der_init(&d, in, &q);
    walk(&d);

    /* The time and OID parsers on the raw bytes as well. */
    (void)es_der_parse_time(in, ES_DER_GEN_TIME, &t, &q);
    (void)es_der_parse_time(in, ES_DER_UTC_TIME, &t, NULL);
    if (size) oid_round_trip(in);
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = 0;
    es_buf_init(&a, 4096);
    (void)es_oid_from_text(text, &a);
    es_buf_cleanup(&a);
    free(text);

    /* Canonical DER is a fixed point: re-encoding it changes nothing. */
    es_buf_init(&a, ES_MAX_SEAL_DER);
    es_buf_init(&b, ES_MAX_SEAL_DER);
    if (es_der_canonical(in, &a) == ES_OK) {
        if (es_der_canonical(es_slice_make(a.p, a.len), &b) != ES_OK || a.len != b.len ||
            (a.len && memcmp(a.p, b.p, a.len) != 0))
            abort();
    }
    es_buf_cleanup(&a);
    es_buf_cleanup(&b);
    return 0;
}
