/* Bounded buffers, hex and base64. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/util.h"
#include "util/internal.h"

int es_slice_eq(es_slice a, es_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int es_slice_eq_str(es_slice s, const char *str)
{
    return es_slice_eq(s, es_slice_make(str, strlen(str)));
}

void es_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--) *v++ = 0;
}

void es_buf_init(es_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void es_buf_cleanup(es_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void es_buf_cleanup_secret(es_buf *b)
{
    if (b->p) es_wipe(b->p, b->cap);
    es_buf_cleanup(b);
}

void (*buf_release_hook)(const uint8_t *p, size_t n);

/* Makes room for n more bytes plus a NUL. A buffer may hold a secret (a key file, a PIN, a
 * decrypted envelope) without knowing it, so it never leaves an old block behind unwiped:
 * realloc may move the bytes and free the old block as it was. Growth is allocate, copy, wipe,
 * free instead; capacity doubles, so the copies cost at most twice the final size. */
static es_err reserve(es_buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n) return ES_ERR_LIMIT;
    size_t need = b->len + n + 1;
    if (need <= b->cap) return ES_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = malloc(cap);
    if (!p) return ES_ERR_NOMEM;
    if (b->p) {
        memcpy(p, b->p, b->cap);
        es_wipe(b->p, b->cap);
        if (buf_release_hook) buf_release_hook(b->p, b->cap);
        free(b->p);
    }
    b->p = p;
    b->cap = cap;
    return ES_OK;
}

es_err es_buf_reserve(es_buf *b, size_t n)
{
    return reserve(b, n);
}

es_err es_buf_append(es_buf *b, const void *p, size_t n)
{
    es_err rv = reserve(b, n);
    if (rv != ES_OK) return rv;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return ES_OK;
}

es_err es_buf_append_str(es_buf *b, const char *s)
{
    return es_buf_append(b, s, strlen(s));
}

es_err es_buf_append_byte(es_buf *b, uint8_t c)
{
    return es_buf_append(b, &c, 1);
}

es_err es_buf_printf(es_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return ES_ERR_ARG;
    es_err rv = reserve(b, (size_t)n);
    if (rv != ES_OK) return rv;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return ES_OK;
}

es_err es_buf_nul(es_buf *b)
{
    es_err rv = reserve(b, 0);
    /* reserve only makes room; a fresh or truncated buffer has no NUL there yet. */
    if (rv == ES_OK) b->p[b->len] = 0;
    return rv;
}

uint8_t *es_buf_steal(es_buf *b, size_t *len)
{
    uint8_t *p = b->p;
    if (len) *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

static const char hexd[] = "0123456789abcdef";

void es_hex_encode(const uint8_t *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hexd[in[i] >> 4];
        out[2 * i + 1] = hexd[in[i] & 15];
    }
    out[2 * len] = 0;
}

es_err es_buf_append_hex(es_buf *b, const uint8_t *in, size_t len)
{
    if (len > (b->max - b->len) / 2) return ES_ERR_LIMIT;
    es_err rv = reserve(b, 2 * len);
    if (rv != ES_OK) return rv;
    es_hex_encode(in, len, (char *)b->p + b->len);
    b->len += 2 * len;
    return ES_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

es_err es_hex_decode(const char *in, size_t len, es_buf *b)
{
    if (len % 2) return ES_ERR_HEX;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(in[i]), lo = hexval(in[i + 1]);
        if (hi < 0 || lo < 0) return ES_ERR_HEX;
        es_err rv = es_buf_append_byte(b, (uint8_t)(hi << 4 | lo));
        if (rv != ES_OK) return rv;
    }
    return ES_OK;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

es_err es_base64_encode(const uint8_t *in, size_t len, es_buf *b)
{
    es_err rv = ES_OK;
    for (size_t i = 0; i < len && rv == ES_OK; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) v |= in[i + 2];
        char q[4] = {b64[v >> 18], b64[(v >> 12) & 63], i + 1 < len ? b64[(v >> 6) & 63] : '=',
                     i + 2 < len ? b64[v & 63] : '='};
        rv = es_buf_append(b, q, 4);
    }
    return rv;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

es_err es_base64_decode(const char *in, size_t len, es_buf *b)
{
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64val(c);
        if (v < 0 || pad) return ES_ERR_BASE64;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            es_err rv = es_buf_append_byte(b, (uint8_t)(acc >> bits));
            if (rv != ES_OK) return rv;
        }
    }
    /* RFC 4648 3.2: padding, when present, completes the last group exactly (two '=' after
     * two characters, one after three); missing padding is tolerated. */
    if (bits >= 6 || (pad && pad != (bits == 4 ? 2 : bits == 2 ? 1 : -1))) return ES_ERR_BASE64;
    return ES_OK;
}
