/* libFuzzer target: the OFD package reader on arbitrary bytes (a zip in memory): directory
 * limits, path normalisation, XML parsing, verification of every signature, printing and seal
 * extraction. Limits are lowered so that one input stays fast; a package refused with a reason
 * is fine, anything else (a crash, a leak, an unexpected error) is a bug. */
#include <stdint.h>
#include <stdlib.h>

#include "eseal/ofd.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int refused(es_err rv)
{
    return rv == ES_ERR_FORMAT || rv == ES_ERR_LIMIT || rv == ES_ERR_NOT_FOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_ofd_limits lim;
    es_ofd_limits_default(&lim);
    lim.max_entries = 2048;
    lim.max_entry_size = 8u << 20;
    lim.max_total_size = 32u << 20;
    lim.max_xml = 1u << 20;
    lim.max_signatures = 64;
    lim.max_references = 4096;

    es_ofd *o = NULL;
    char why[512];
    es_err rv = es_ofd_open_mem(data, size, &lim, &o, why, sizeof why);
    if (rv != ES_OK) {
        if (!refused(rv) || o) abort();
        return 0;
    }

    es_report rep;
    es_ofd_result res;
    es_verify_opts vo = {0};
    vo.now = FUZZ_NOW;
    es_report_init(&rep);
    es_ofd_result_init(&res);
    rv = es_ofd_verify(o, &vo, &rep, &res, why, sizeof why);
    if (rv == ES_OK) {
        /* One entry per signature, each pointing at its own entry. */
        if (rep.n_entries != res.n_sigs) abort();
        for (size_t i = 0; i < res.n_sigs; i++)
            if (res.sigs[i].entry >= rep.n_entries) abort();
        fuzz_render_report(&rep);
    } else if (!refused(rv)) {
        abort();
    }
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);

    es_buf out;
    for (int json = 0; json < 2; json++) {
        es_buf_init(&out, ES_MAX_REPORT);
        rv = es_ofd_print(o, json, &out, why, sizeof why);
        if (rv != ES_OK && !refused(rv)) abort();
        es_buf_cleanup(&out);
    }
    es_ofd_seal_item *items = NULL;
    size_t n = 0;
    rv = es_ofd_seals(o, &items, &n, why, sizeof why);
    if (rv != ES_OK && !refused(rv)) abort();
    es_ofd_seals_free(items, n);
    es_ofd_free(o);
    return 0;
}
