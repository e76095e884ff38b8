/* libFuzzer target: the national link's outside input (include/eseal/upstream.h): the parent
 * tier's answers (es_upstream_answer_parse) and the simulator's requests
 * (es_national_request_check), on arbitrary bytes. The first byte picks the kind.
 * Invariants: every refusal names why (and a refused request the field); an accepted
 * code.assign answer holds a 14-digit code and police blobs of 1 to 4096 bytes, and written
 * again from its fields parses back to the same fields; an accepted seal.file answer holds a
 * code and a time. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/upstream.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {ES_UPSTREAM_CODE_ASSIGN, ES_UPSTREAM_SEAL_FILE,
                                    ES_UPSTREAM_SEAL_STATUS};

static int digits14(const char *s)
{
    return strlen(s) == 14 && strspn(s, "0123456789") == 14;
}

/* The answer written again from what was parsed, and parsed back. */
static void round_trip(const es_upstream_answer *a)
{
    es_buf k, i, out;
    es_buf_init(&k, 8192);
    es_buf_init(&i, 8192);
    es_buf_init(&out, 32768);
    if (es_base64_encode(a->police_key.p, a->police_key.len, &k) != ES_OK ||
        es_base64_encode(a->police_info.p, a->police_info.len, &i) != ES_OK ||
        es_buf_printf(&out, "{\"code\":\"%s\",\"police_key\":\"%.*s\",\"police_info\":\"%.*s\"%s}",
                      a->code, (int)k.len, (const char *)k.p, (int)i.len, (const char *)i.p,
                      a->simulator ? ",\"simulator\":true" : "") != ES_OK)
        abort();
    es_upstream_answer b;
    es_upstream_answer_init(&b);
    char why[200];
    if (es_upstream_answer_parse(ES_UPSTREAM_CODE_ASSIGN, es_slice_make(out.p, out.len), &b, why,
                                 sizeof why) != ES_OK ||
        strcmp(a->code, b.code) != 0 || a->police_key.len != b.police_key.len ||
        memcmp(a->police_key.p, b.police_key.p, b.police_key.len) != 0 ||
        a->police_info.len != b.police_info.len ||
        memcmp(a->police_info.p, b.police_info.p, b.police_info.len) != 0 ||
        a->simulator != b.simulator)
        abort();
    es_upstream_answer_cleanup(&b);
    es_buf_cleanup(&k);
    es_buf_cleanup(&i);
    es_buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256 * 1024) return 0;
    const char *kind = kinds[data[0] % 3];
    es_slice in = es_slice_make(data + 1, size - 1);
    char why[300];

    es_upstream_answer a;
    es_upstream_answer_init(&a);
    why[0] = 0;
    es_err rv = es_upstream_answer_parse(kind, in, &a, why, sizeof why);
    if (rv == ES_OK) {
        if (strcmp(kind, ES_UPSTREAM_CODE_ASSIGN) == 0) {
            if (!digits14(a.code) || a.police_key.len < 1 || a.police_key.len > 4096 ||
                a.police_info.len < 1 || a.police_info.len > 4096)
                abort();
            round_trip(&a);
        } else if (strcmp(kind, ES_UPSTREAM_SEAL_FILE) == 0) {
            if (!digits14(a.code)) abort();
        }
    } else if (rv != ES_ERR_UPSTREAM_ANSWER || !why[0]) {
        abort();
    }
    es_upstream_answer_cleanup(&a);

    const char *field = NULL;
    why[0] = 0;
    rv = es_national_request_check(kind, in, &field, why, sizeof why);
    if (rv != ES_OK && (rv != ES_ERR_ARG || !field || !why[0])) abort();
    return 0;
}
