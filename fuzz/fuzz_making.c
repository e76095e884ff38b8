/* libFuzzer target: what the making system reads from outside besides JSON (which
 * es_http_req_json checks): the material type sniffer over uploaded bytes, the field checks of
 * an application (citizen ID number, mobile, credit code, division) and the masks of personal
 * fields, on arbitrary bytes. Invariants: the sniffer names one of its four types or none, and
 * "pdf", "png", "jpeg", "ofd" only for bytes that start with their signatures; a citizen ID
 * number or mobile number accepted has the shape its rule states; a refused field comes with a
 * reason in English and Chinese; a mask never grows past its buffer and is NUL-terminated. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/making.h"
#include "eseal/national.h"
#include "eseal/protect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_type(const uint8_t *data, size_t size)
{
    const char *t = es_making_material_type(es_slice_make(data, size));
    if (!t) return;
    if (!strcmp(t, "pdf")) {
        if (size < 5 || memcmp(data, "%PDF-", 5)) abort();
    } else if (!strcmp(t, "png")) {
        if (size < 8 || memcmp(data, "\x89PNG", 4)) abort();
    } else if (!strcmp(t, "jpeg")) {
        if (size < 3 || memcmp(data, "\xff\xd8\xff", 3)) abort();
    } else if (!strcmp(t, "ofd")) {
        if (size < 30 || memcmp(data, "PK\x03\x04", 4)) abort();
    } else {
        abort();
    }
}

static void check_reason(es_err rv, const es_reason *why)
{
    if (rv == ES_OK) return;
    if (!why->en || !why->zh || !why->en[0] || !why->zh[0]) abort();
}

static void check_mask(void (*fn)(const char *, char *, size_t), const char *in)
{
    char out[24];
    memset(out, 'Z', sizeof out);
    fn(in, out, 16);
    if (!memchr(out, 0, 16) || out[16] != 'Z') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_type(data, size);
    char s[64];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = 0;
    es_reason why = {NULL, NULL};
    es_err rv = es_idno_check(s, &why);
    check_reason(rv, &why);
    if (rv == ES_OK && (strlen(s) != 18 || !(s[17] == 'X' || (s[17] >= '0' && s[17] <= '9'))))
        abort();
    why = (es_reason){NULL, NULL};
    rv = es_mobile_check(s, &why);
    check_reason(rv, &why);
    if (rv == ES_OK && (strlen(s) != 11 || s[0] != '1')) abort();
    why = (es_reason){NULL, NULL};
    check_reason(es_uscc_check(s, &why), &why);
    es_division dv;
    why = (es_reason){NULL, NULL};
    rv = es_division_find(s, &dv, &why);
    if (rv == ES_OK && (strlen(dv.code) != 6 || strncmp(dv.code, s, 6))) abort();
    if (rv != ES_OK) check_reason(rv, &why);
    check_mask(es_mask_idno, s);
    check_mask(es_mask_mobile, s);
    check_mask(es_mask_text, s);
    return 0;
}
