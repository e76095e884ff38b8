/* libFuzzer target: SESeal parsing, printing and verification on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "eseal/seal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static es_trust *trust; /* empty: chain building runs but finds no anchor */

static void print_seal(const es_seal *s)
{
    es_buf out;
    es_buf_init(&out, ES_MAX_REPORT);
    if (es_seal_print(s, &out) != ES_OK) abort();
    es_buf_cleanup(&out);
    if (es_seal_print_json(s, &out) != ES_OK) abort();
    es_buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_slice in = es_slice_make(data, size);
    es_seal s;
    es_report rep;
    es_verify_opts o = {0};

    if (!trust && es_trust_new(&trust) != ES_OK) abort();

    /* Strict and tolerant parsing must agree on everything but trailing bytes. */
    es_err strict = es_seal_from_der(in, 0, &s);
    if (es_seal_from_der(in, 1, &s) == ES_OK)
        print_seal(&s);
    else if (strict == ES_OK)
        abort();

    o.now = FUZZ_NOW;
    es_report_init(&rep);
    if (es_seal_verify(in, &o, &rep) != ES_OK) abort(); /* only memory errors may fail */
    if (rep.n_entries != 1) abort();
    fuzz_render_report(&rep);
    es_report_cleanup(&rep);

    o.trust = trust;
    o.sm2_id = "";
    es_report_init(&rep);
    if (es_seal_verify(in, &o, &rep) != ES_OK) abort();
    fuzz_render_report(&rep);
    es_report_cleanup(&rep);
    return 0;
}
