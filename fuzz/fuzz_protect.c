/* libFuzzer target: the sealed-blob format of data at rest (include/eseal/protect.h) on
 * arbitrary bytes. Invariants: a blob that parses has its parts laid end to end over the whole
 * input, a known version and algorithm, a key id other than 0 and whole cipher blocks; no
 * input opens under a fixed data key unless it is a blob sealed by it (a forged tag would be a
 * bug); the input sealed as plaintext (aad: its first bytes) opens back to itself, and fails
 * with one bit changed or under another aad. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/protect.h"
#include "svc/protect/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t fixed[PROTECT_DK_LEN] = {0x45, 0x53, 0x45, 0x41, 0x4c, 0x2d, 0x46, 0x55,
                                                  0x5a, 0x5a, 0x2d, 0x4b, 0x45, 0x59, 0x2d, 0x31};
    protect_dk dk;
    es_protect_blob b;
    es_buf plain, sealed, back;
    es_slice in = es_slice_make(data, size);
    if (size > 1u << 20) return 0;
    memset(&dk, 0, sizeof dk);
    if (protect_derive(fixed, &dk) != ES_OK) abort();
    es_buf_init(&plain, 2u << 20);
    es_buf_init(&sealed, 2u << 20);
    es_buf_init(&back, 2u << 20);
    if (es_protect_blob_parse(in, &b) == ES_OK) {
        if (b.version != ES_PROTECT_V1 || b.alg != ES_PROTECT_ALG_CBC_HMAC || b.key_id == 0 ||
            b.header.p != data || b.iv.p != data + b.header.len || b.ct.p != b.iv.p + b.iv.len ||
            b.tag.p != b.ct.p + b.ct.len ||
            b.header.len + b.iv.len + b.ct.len + b.tag.len != size || b.ct.len % 16 ||
            b.ct.len == 0)
            abort();
        /* Random bytes never carry a valid tag under the fixed key. */
        if (protect_open_dk(&dk, &b, es_slice_make(data, size < 8 ? size : 8), &plain) !=
                ES_ERR_VERIFY ||
            plain.len != 0)
            abort();
    }
    /* The round trip with the input as plaintext. */
    es_slice aad = es_slice_make(data, size < 16 ? size : 16);
    if (protect_seal_dk(&dk, 7, in, aad, &sealed) != ES_OK) abort();
    if (es_protect_blob_parse(es_slice_make(sealed.p, sealed.len), &b) != ES_OK || b.key_id != 7)
        abort();
    if (protect_open_dk(&dk, &b, aad, &back) != ES_OK || back.len != size ||
        (size && memcmp(back.p, data, size) != 0))
        abort();
    back.len = 0;
    uint8_t other[17];
    memcpy(other, aad.p, aad.len);
    other[aad.len] = 'x';
    if (protect_open_dk(&dk, &b, es_slice_make(other, aad.len + 1), &back) != ES_ERR_VERIFY)
        abort();
    sealed.p[size % sealed.len] ^= 0x01;
    back.len = 0;
    if (es_protect_blob_parse(es_slice_make(sealed.p, sealed.len), &b) == ES_OK &&
        protect_open_dk(&dk, &b, aad, &back) != ES_ERR_VERIFY)
        abort();
    es_buf_cleanup(&plain);
    es_buf_cleanup(&sealed);
    es_buf_cleanup(&back);
    return 0;
}
