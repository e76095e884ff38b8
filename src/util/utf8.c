/* UTF-8: the one decoder and encoder (names, seal names, audit text, reports, lint). */
#include <string.h>

#include "eseal/util.h"

size_t es_utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    if (n == 0) return 0;
    uint8_t c = p[0];
    size_t k;
    uint32_t v, min;
    if (c < 0x80) {
        k = 0, v = c, min = 0;
    } else if ((c & 0xe0) == 0xc0) {
        k = 1, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        k = 2, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        k = 3, v = c & 0x07, min = 0x10000;
    } else {
        return 0; /* a continuation byte, or 0xf8..0xff */
    }
    if (n <= k) return 0; /* cut short */
    for (size_t j = 1; j <= k; j++) {
        if ((p[j] & 0xc0) != 0x80) return 0;
        v = v << 6 | (p[j] & 0x3f);
    }
    /* Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8 (RFC 3629 3). */
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    if (cp) *cp = v;
    return k + 1;
}

int es_utf8_valid(const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = es_utf8_next(b + i, n - i, &cp);
        if (k == 0 || cp == 0) return 0;
        i += k;
    }
    return 1;
}

size_t es_utf8_put(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp < 0x110000) {
        out[0] = (uint8_t)(0xf0 | cp >> 18);
        out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (uint8_t)(0x80 | (cp & 0x3f));
        return 4;
    }
    return 0;
}
