/* libFuzzer target: the self-service renewal request's canonical text (include/eseal/renewal.h,
 * docs/making.md "Self-service renewal"), read from arbitrary bytes as POST /api/v1/renewals
 * does. Invariants: a refusal names the line at fault and gives its reason in English and
 * Chinese; an accepted text is written back (es_renewal_text) to a text that reads again to the
 * same fields; no read past the input (ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/renewal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_renewal_req a, b;
    const char *field = NULL;
    es_reason why = {NULL, NULL};
    es_renewal_req_init(&a);
    es_renewal_req_init(&b);
    es_err rv = es_renewal_parse(es_slice_make(data, size), &a, &field, &why);
    if (rv != ES_OK) {
        if (rv != ES_ERR_RENEWAL_FORMAT || !field || !why.en || !why.zh || !why.en[0] || !why.zh[0])
            abort();
    } else {
        es_buf t;
        es_buf_init(&t, 2 * ES_RENEWAL_MAX);
        if (es_renewal_text(&a, &t) != ES_OK ||
            es_renewal_parse(es_slice_make(t.p, t.len), &b, &field, &why) != ES_OK ||
            strcmp(a.code, b.code) || strcmp(a.serial, b.serial) || strcmp(a.nonce, b.nonce) ||
            strcmp(a.contact, b.contact) || a.time != b.time || a.valid_until != b.valid_until ||
            a.csr.len != b.csr.len || memcmp(a.csr.p, b.csr.p, a.csr.len) != 0)
            abort();
        es_buf_cleanup(&t);
    }
    es_renewal_req_free(&a);
    es_renewal_req_free(&b);
    return 0;
}
