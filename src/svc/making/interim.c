/* INTERIM: replaced by branch h10-X at merge; delete this file then. */
/* What the making core calls from the other parts of issue 10 not merged yet (protect,
 * upstream; /work/wt/prompts/s3/interfaces.md), in the simplest honest form until
 * each provider is merged:
 *   - protect (h10-protect): NOTHING IS ENCRYPTED. es_protect_seal keeps the value in the
 *     clear, bound to its place (aad) only; the index and the integrity value are plain,
 *     unkeyed SM3.
 *   - upstream (h10-upstream): nothing is queued: national scope is refused.
 * docs/making.md "Interim parts" says the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/crypto.h"
#include "eseal/pki.h"
#include "eseal/protect.h"
#include "eseal/upstream.h"

/* ---- protect: nothing is encrypted */

/* 'P' '0', the aad's length (2 octets), the aad, the value in the clear. */
es_err es_protect_seal(es_protect *p, es_store *st, es_slice plain, es_slice aad, es_buf *out)
{
    (void)p;
    (void)st;
    if (aad.len > 0xffff) return ES_ERR_LIMIT;
    uint8_t h[4] = {'P', '0', (uint8_t)(aad.len >> 8), (uint8_t)aad.len};
    es_err rv = es_buf_append(out, h, 4);
    if (rv == ES_OK && aad.len) rv = es_buf_append(out, aad.p, aad.len);
    if (rv == ES_OK && plain.len) rv = es_buf_append(out, plain.p, plain.len);
    return rv;
}

es_err es_protect_open(es_protect *p, es_store *st, es_slice sealed, es_slice aad, es_buf *plain)
{
    (void)p;
    (void)st;
    if (sealed.len < 4 || sealed.p[0] != 'P' || sealed.p[1] != '0') return ES_ERR_FORMAT;
    size_t n = ((size_t)sealed.p[2] << 8) | sealed.p[3];
    if (sealed.len < 4 + n || n != aad.len || (n && memcmp(sealed.p + 4, aad.p, n) != 0))
        return ES_ERR_VERIFY;
    return es_buf_append(plain, sealed.p + 4 + n, sealed.len - 4 - n);
}

static es_err sm3_hex(const void *a, size_t alen, const void *b, size_t blen, char out[65])
{
    es_buf t;
    uint8_t h[ES_SM3_LEN];
    es_buf_init(&t, alen + blen + 1);
    es_err rv = es_buf_append(&t, a, alen);
    if (rv == ES_OK) rv = es_buf_append(&t, "", 1);
    if (rv == ES_OK && blen) rv = es_buf_append(&t, b, blen);
    if (rv == ES_OK) rv = es_sm3(t.p, t.len, h);
    es_buf_cleanup(&t);
    if (rv == ES_OK) es_hex_encode(h, sizeof h, out);
    return rv;
}

es_err es_protect_index(es_protect *p, const char *purpose, es_slice value, char out[65])
{
    (void)p;
    return sm3_hex(purpose, strlen(purpose), value.p, value.len, out);
}

es_err es_protect_mac(es_protect *p, es_slice record, char out[65])
{
    (void)p;
    return sm3_hex("record", 6, record.p, record.len, out);
}

es_err es_protect_mac_check(es_protect *p, es_slice record, const char *mac)
{
    char m[65];
    es_err rv = es_protect_mac(p, record, m);
    if (rv != ES_OK) return rv;
    return mac && strcmp(m, mac) == 0 ? ES_OK : ES_ERR_VERIFY;
}

/* Keeps the first `head` and last `tail` characters (bytes: these values are ASCII). */
static void mask_ascii(const char *in, char *out, size_t n, size_t head, size_t tail)
{
    size_t len = strlen(in), k = 0;
    if (!n) return;
    for (size_t i = 0; i < len && k + 1 < n; i++)
        out[k++] = (len <= head + tail || i < head || i >= len - tail) ? in[i] : '*';
    out[k] = 0;
}

void es_mask_idno(const char *in, char *out, size_t n)
{
    mask_ascii(in ? in : "", out, n, 4, 4);
}

void es_mask_mobile(const char *in, char *out, size_t n)
{
    mask_ascii(in ? in : "", out, n, 3, 4);
}

/* The first six characters (UTF-8 aware), then "***". */
void es_mask_text(const char *in, char *out, size_t n)
{
    size_t k = 0, chars = 0;
    if (!n) return;
    in = in ? in : "";
    while (in[k] && chars < 6) {
        size_t c = 1;
        unsigned char b = (unsigned char)in[k];
        if (b >= 0xf0)
            c = 4;
        else if (b >= 0xe0)
            c = 3;
        else if (b >= 0xc0)
            c = 2;
        if (k + c + 4 > n) break;
        k += c;
        chars++;
    }
    snprintf(out, n, "%.*s%s", (int)k, in, in[k] ? "***" : "");
}

/* ---- upstream: nothing is queued */

es_err es_upstream_enqueue_in(es_store *st, const char *kind, const char *key, es_slice body)
{
    (void)st;
    (void)kind;
    (void)key;
    (void)body;
    return ES_ERR_UNSUPPORTED;
}

es_err es_upstream_on_done(es_upstream *u, const char *kind, es_upstream_done_fn fn, void *ctx)
{
    (void)u;
    (void)kind;
    (void)fn;
    (void)ctx;
    return ES_ERR_UNSUPPORTED;
}

es_err es_upstream_state_get(es_store *st, const char *kind, const char *key,
                             es_upstream_state *out)
{
    (void)st;
    (void)kind;
    (void)key;
    (void)out;
    return ES_ERR_NOT_FOUND;
}
