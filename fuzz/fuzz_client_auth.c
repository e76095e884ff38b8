/* libFuzzer target: the Authorization header of signed requests (include/eseal/clients.h) and
 * the string to sign, on arbitrary bytes. Invariants: a header that parses names the scheme,
 * has NUL-terminated fields within their sizes and a nonce of 16 to 64 allowed characters,
 * and, written again with quoted values and a DER signature, parses back to the same fields;
 * the string to sign is the six lines of its pieces, the last the SM3 of the body in hex;
 * a request signed over pieces of the input parses and verifies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/clients.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int nonce_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < ES_CLIENT_NONCE_MIN || len > ES_CLIENT_NONCE_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", n[i]))
            return 0;
    return 1;
}

/* 1 when s can be written as a quoted value (no quote, backslash or control character). */
static int quotable(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) return 0;
    return 1;
}

static void check_fields(const es_client_auth *h)
{
    if (!memchr(h->client, 0, sizeof h->client) || !memchr(h->timestamp, 0, sizeof h->timestamp) ||
        !memchr(h->nonce, 0, sizeof h->nonce) || !nonce_ok(h->nonce))
        abort();
}

/* Writes the parsed header again (quoted values, DER signature) and parses it back. */
static void round_trip(const es_client_auth *h)
{
    es_buf der, b64, hd;
    es_client_auth back;
    const char *why = NULL;
    if (!quotable(h->client) || !quotable(h->timestamp)) return;
    es_buf_init(&der, 128);
    es_buf_init(&b64, 256);
    es_buf_init(&hd, 4 * ES_CLIENT_HEADER_MAX);
    if (es_sm2_sig_encode(h->r, h->s, &der) != ES_OK ||
        es_base64_encode(der.p, der.len, &b64) != ES_OK ||
        es_buf_printf(&hd,
                      ES_CLIENT_SCHEME " client=\"%s\", timestamp=\"%s\", nonce=\"%s\", "
                                       "signature=\"%.*s\"",
                      h->client, h->timestamp, h->nonce, (int)b64.len,
                      (const char *)b64.p) != ES_OK ||
        es_buf_nul(&hd) != ES_OK)
        abort();
    if (es_client_auth_parse((const char *)hd.p, &back, &why) != ES_OK || why != NULL ||
        strcmp(back.client, h->client) != 0 || strcmp(back.timestamp, h->timestamp) != 0 ||
        strcmp(back.nonce, h->nonce) != 0 || memcmp(back.r, h->r, 32) != 0 ||
        memcmp(back.s, h->s, 32) != 0)
        abort();
    es_buf_cleanup(&der);
    es_buf_cleanup(&b64);
    es_buf_cleanup(&hd);
}

/* The string to sign of pieces: exactly the seven lines, the SM3 of the body last. */
static void string_to_sign(const char *p[5], es_slice body)
{
    es_buf out, want;
    uint8_t h[ES_SM3_LEN];
    es_buf_init(&out, 1 << 20);
    es_buf_init(&want, 1 << 20);
    if (es_client_string_to_sign(p[0], p[1], p[2], p[3], p[4], body, &out) != ES_OK ||
        es_sm3(body.len ? body.p : (const uint8_t *)"", body.len, h) != ES_OK ||
        es_buf_printf(&want, "%s\n%s\n%s\n%s\n%s\n%s\n", ES_CLIENT_SCHEME, p[0], p[1], p[2], p[3],
                      p[4]) != ES_OK ||
        es_buf_append_hex(&want, h, sizeof h) != ES_OK)
        abort();
    if (out.len != want.len || memcmp(out.p, want.p, out.len) != 0 || out.p[out.len - 1] == '\n')
        abort();
    es_buf_cleanup(&out);
    es_buf_cleanup(&want);
}

static es_signer *key(void)
{
    static es_signer *k;
    if (!k) {
        es_sm2_key *sk = NULL;
        if (es_sm2_key_generate(&sk) != ES_OK || es_signer_from_key(sk, &k) != ES_OK) abort();
    }
    return k;
}

/* A request signed over the pieces: its header parses and its signature verifies. */
static void sign_and_check(const char *method, const char *target, es_slice body)
{
    es_buf hd, msg;
    es_client_auth h;
    const char *why = NULL;
    uint8_t e[ES_SM3_LEN];
    es_buf_init(&hd, ES_CLIENT_HEADER_MAX);
    es_buf_init(&msg, 1 << 20);
    if (es_client_sign_request(key(), "fuzz", method, target, body, "2024-01-01T00:00:00Z",
                               "0123456789abcdef", &hd) != ES_OK ||
        es_buf_nul(&hd) != ES_OK || es_client_auth_parse((const char *)hd.p, &h, &why) != ES_OK ||
        es_client_string_to_sign(h.client, method, target, h.timestamp, h.nonce, body, &msg) !=
            ES_OK ||
        es_sm2_digest(key()->pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), msg.p, msg.len,
                      e) != ES_OK ||
        es_sm2_verify_digest(key()->pub, e, h.r, h.s) != ES_OK)
        abort();
    es_buf_cleanup(&hd);
    es_buf_cleanup(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;

    /* The whole input (up to its first NUL) as a header. */
    es_client_auth h;
    const char *why = NULL;
    int signed_ = es_client_auth_is_signed(text);
    es_err rv = es_client_auth_parse(text, &h, &why);
    if (rv == ES_OK) {
        if (why != NULL || !signed_ || strlen(text) > ES_CLIENT_HEADER_MAX) abort();
        check_fields(&h);
        round_trip(&h);
    } else if (rv != ES_ERR_FORMAT || why == NULL) {
        abort();
    }

    /* Pieces: lines of the input (client, method, target, timestamp, nonce), the rest the
     * body. */
    const char *p[5] = {"", "", "", "", ""};
    char *cur = text;
    size_t used = 0;
    for (int i = 0; i < 5 && used < size; i++) {
        char *nl = memchr(cur, '\n', size - used);
        if (!nl) break;
        *nl = 0;
        p[i] = cur;
        used += (size_t)(nl - cur) + 1;
        cur = nl + 1;
    }
    es_slice body = es_slice_make(data + used, size - used);
    /* Pieces with a NUL inside end there: that is what a C string says. */
    string_to_sign(p, body);
    if (size < 4096 && size && (data[0] & 7) == 0) sign_and_check(p[1], p[2], body);
    free(text);
    return 0;
}
