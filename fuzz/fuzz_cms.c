/* libFuzzer target: GB/T 35275 SignedData verification (es_signature_verify dispatches CMS
 * by structure) and es_verify_any, on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "eseal/seal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static es_trust *trust; /* empty: chain building runs but finds no anchor */

static void run(es_slice in, const es_verify_opts *o, int any)
{
    es_report rep;
    es_report_init(&rep);
    es_err rv = any ? es_verify_any(in, o, &rep) : es_signature_verify(in, o, &rep);
    if (rv != ES_OK) abort(); /* only memory errors may fail */
    if (rep.n_entries != 1) abort();
    fuzz_render_report(&rep);
    es_report_cleanup(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char detached[] = "eseal fuzz: detached content";
    es_slice in = es_slice_make(data, size);
    es_verify_opts o = {0};
    uint8_t sm3[ES_SM3_LEN];

    if (!trust && es_trust_new(&trust) != ES_OK) abort();
    (void)es_kind_name(es_detect(in));

    o.now = FUZZ_NOW;
    run(in, &o, 0);

    /* The data at hand: detached content, its hash, a trust store. */
    if (es_sm3(detached, sizeof detached - 1, sm3) != ES_OK) abort();
    o.data = es_slice_make(detached, sizeof detached - 1);
    o.data_sm3 = sm3;
    o.trust = trust;
    run(in, &o, 0);
    run(in, &o, 1);
    return 0;
}
