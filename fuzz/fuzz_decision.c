/* libFuzzer target: what a signed decision's readers take from outside (docs/decisions.md): a
 * canonical Decision (es_decision_parse), an export bundle as DER or as the JSON of
 * GET /api/v1/decisions/{id} (es_decision_bundle_parse), an application's export
 * (es_decision_export_each), and their offline verification. Invariants:
 * a Decision that parses is written again, byte for byte, by es_decision_tbs from what was read;
 * every slice a bundle gives lies inside the input or the decoded buffer; nothing an arbitrary
 * input holds verifies against an empty trust store. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/decision.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static es_trust *ctx_trust(void)
{
    static es_trust *empty;
    if (!empty && es_trust_new(&empty) != ES_OK) abort();
    return empty;
}

static int inside(es_slice s, const uint8_t *p, size_t n)
{
    return !s.len || (s.p >= p && s.p + s.len <= p + n);
}

static void decision_round_trip(es_slice in)
{
    es_decision_view v;
    if (es_decision_parse(in, &v) != ES_OK) return;
    char *f[5];
    es_slice sl[5] = {v.action, v.object, v.verdict, v.opinion, v.actor};
    for (int i = 0; i < 5; i++) {
        f[i] = malloc(sl[i].len + 1);
        if (!f[i]) abort();
        memcpy(f[i], sl[i].p, sl[i].len);
        f[i][sl[i].len] = 0;
    }
    es_decision d = {f[0], f[1], f[2], f[3], {0}, (int64_t)v.at};
    memcpy(d.subject_sm3, v.subject_sm3, 32);
    es_buf b;
    es_buf_init(&b, ES_DECISION_TBS_MAX);
    if (es_decision_tbs(&d, f[4], &b) != ES_OK || !es_slice_eq(es_slice_make(b.p, b.len), in))
        abort();
    es_buf_cleanup(&b);
    for (int i = 0; i < 5; i++) free(f[i]);
}

/* Each decision of an export: given in order, parsed or refused with a reason, never
 * verified against an empty trust store. */
static es_err export_cb(void *ctx, size_t i, int64_t application, const es_decision_bundle_view *b,
                        es_err parse_rv, const char *why)
{
    size_t *next = ctx;
    es_decision_view v;
    char w[256];
    if (i != (*next)++ || application <= 0 || (!b && (parse_rv == ES_OK || !why))) abort();
    if (b && b->n_certs >= 1 && es_decision_verify(b, ctx_trust(), &v, w, sizeof w) == ES_OK)
        abort();
    return ES_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_trust *empty = ctx_trust();
    es_slice in = es_slice_make(data, size);
    decision_round_trip(in);
    es_buf keep;
    es_decision_bundle_view b;
    es_decision_view v;
    char why[256];
    es_buf_init(&keep, ES_DECISION_BUNDLE_MAX);
    if (es_decision_bundle_parse(in, &keep, &b, why, sizeof why) == ES_OK) {
        const uint8_t *base = keep.len ? keep.p : data;
        size_t n = keep.len ? keep.len : size;
        if (!inside(b.tbs, base, n) || !inside(b.sig, base, n) || b.n_certs < 1 || b.n_certs > 4)
            abort();
        for (size_t i = 0; i < b.n_certs; i++)
            if (!inside(b.certs[i], base, n)) abort();
        decision_round_trip(b.tbs);
        if (es_decision_verify(&b, empty, &v, why, sizeof why) == ES_OK) abort();
    }
    es_buf_cleanup(&keep);
    size_t next = 0;
    char ewhy[256] = "";
    es_err erv = es_decision_export_each(in, export_cb, &next, ewhy, sizeof ewhy);
    if (erv == ES_OK && next == 0) abort(); /* an export holds at least one decision */
    return 0;
}
