/* libFuzzer target: SES_Signature parsing, printing and verification on arbitrary bytes,
 * with and without the data's SM3 at hand. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/seal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void print_signature(const es_signature *s)
{
    es_buf out;
    es_buf_init(&out, ES_MAX_REPORT);
    if (es_signature_print(s, &out) != ES_OK) abort();
    es_buf_cleanup(&out);
    if (es_signature_print_json(s, &out) != ES_OK) abort();
    es_buf_cleanup(&out);
}

static void verify(es_slice in, const es_verify_opts *o)
{
    es_report rep;
    es_report_init(&rep);
    if (es_report_set_file(&rep, "fuzz") != ES_OK) abort();
    if (es_signature_verify(in, o, &rep) != ES_OK) abort(); /* only memory errors may fail */
    if (rep.n_entries != 1) abort();
    fuzz_render_report(&rep);
    es_report_cleanup(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_slice in = es_slice_make(data, size);
    es_signature s;
    es_verify_opts o = {0};
    uint8_t sm3[ES_SM3_LEN];

    es_err strict = es_signature_from_der(in, 0, &s);
    es_err tolerant = es_signature_from_der(in, 1, &s);
    if (tolerant == ES_OK)
        print_signature(&s);
    else if (strict == ES_OK)
        abort();

    o.now = FUZZ_NOW;
    verify(in, &o);

    /* With data: the stored hash when it has the right size (data_hash PASSED), else any. */
    if (tolerant == ES_OK && s.data_hash.len == ES_SM3_LEN)
        memcpy(sm3, s.data_hash.p, ES_SM3_LEN);
    else if (es_sm3(data, size, sm3) != ES_OK)
        abort();
    o.data_sm3 = sm3;
    o.data = in;
    verify(in, &o);
    return 0;
}
