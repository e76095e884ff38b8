/* libFuzzer target: the signed status answer (include/eseal/status.h, docs/status.md), read from
 * arbitrary bytes as `eseal status verify` reads a file. Invariants: the strict reader never
 * reads past the input (ASan); what it accepts has its parts inside the input, at most 64
 * changes and states in range, prints as JSON, and is never accepted by the verifier without a
 * trust anchor. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(es_slice s, const uint8_t *data, size_t size)
{
    return s.len == 0 || (s.p >= data && s.p + s.len <= data + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static es_status_answer a;
    es_slice in = es_slice_make(size ? data : NULL, size);
    if (es_status_answer_parse(in, &a) != ES_OK) return 0;
    if (!inside(a.tbs, data, size) || !inside(a.sig, data, size) || !inside(a.nonce, data, size) ||
        a.r.n_history > ES_STATUS_HISTORY_MAX || a.r.state_now < 0 ||
        a.r.state_now > ES_STATUS_STATE_MAX || a.r.state_at < 0 ||
        a.r.state_at > ES_STATUS_STATE_MAX || a.n_certs > 4)
        abort();
    for (size_t i = 0; i < a.n_certs; i++)
        if (!inside(a.certs[i], data, size)) abort();
    es_buf js;
    es_buf_init(&js, 1u << 20);
    if (es_status_answer_json(&a, &js) != ES_OK || js.len == 0) abort();
    es_buf_cleanup(&js);
    char why[200];
    if (es_status_answer_verify(in, NULL, NULL, &a, why, sizeof why) == ES_OK) abort();
    return 0;
}
