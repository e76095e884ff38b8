/* Printing every field of a seal or signature (eseal seal show, eseal inspect). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/der.h"
#include "eseal/seal.h"
#include "seal/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

static es_err add_hex(es_kvlist *l, const char *k, es_slice v, size_t max)
{
    es_buf b;
    es_buf_init(&b, 4 * max + 16);
    es_err rv = es_buf_append_hex(&b, v.p, v.len > max ? max : v.len);
    if (rv == ES_OK && v.len > max) rv = es_buf_printf(&b, "... (%zu bytes)", v.len);
    if (rv == ES_OK) rv = es_buf_nul(&b);
    if (rv == ES_OK) rv = es_kv_add(l, k, (const char *)b.p);
    es_buf_cleanup(&b);
    return rv;
}

static es_err add_oid(es_kvlist *l, const char *k, es_slice oid)
{
    char txt[128];
    if (es_oid_to_text(oid, txt, sizeof txt) != ES_OK) snprintf(txt, sizeof txt, "(invalid)");
    return es_kv_add(l, k, txt);
}

static es_err add_cert(es_kvlist *l, const char *k, es_slice der)
{
    es_cert_info ci;
    if (es_cert_parse(der, &ci) != ES_OK) return add_hex(l, k, der, 32);
    char a[32], b[32], buf[64];
    es_time_format_iso(ci.not_before, a);
    es_time_format_iso(ci.not_after, b);
    es_err rv;
    snprintf(buf, sizeof buf, "%s.subject", k);
    CHECK(es_kv_add(l, buf, ci.subject));
    snprintf(buf, sizeof buf, "%s.issuer", k);
    CHECK(es_kv_add(l, buf, ci.issuer));
    snprintf(buf, sizeof buf, "%s.serial", k);
    CHECK(es_kv_add(l, buf, ci.serial));
    snprintf(buf, sizeof buf, "%s.not_before", k);
    CHECK(es_kv_add(l, buf, a));
    snprintf(buf, sizeof buf, "%s.not_after", k);
    CHECK(es_kv_add(l, buf, b));
    snprintf(buf, sizeof buf, "%s.key", k);
    CHECK(es_kv_add(l, buf, ci.is_sm2 ? "SM2" : "not SM2"));
out:
    es_cert_info_cleanup(&ci);
    return rv;
}

static int printable(es_slice v)
{
    for (size_t i = 0; i < v.len; i++)
        if (v.p[i] < 0x20 && v.p[i] != '\n' && v.p[i] != '\t') return 0;
    return v.len > 0;
}

static es_err ext_fields(es_kvlist *l, const char *prefix, const es_ext *exts, size_t n)
{
    es_err rv = ES_OK;
    char k[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(k, sizeof k, "%s[%zu].oid", prefix, i + 1);
        CHECK(add_oid(l, k, exts[i].oid));
        snprintf(k, sizeof k, "%s[%zu].critical", prefix, i + 1);
        CHECK(es_kv_add(l, k, exts[i].critical ? "true" : "false"));
        snprintf(k, sizeof k, "%s[%zu].value", prefix, i + 1);
        CHECK(printable(exts[i].value) ? es_kv_add_slice(l, k, exts[i].value)
                                       : add_hex(l, k, exts[i].value, 64));
    }
out:
    return rv;
}

static es_err quirk_field(es_kvlist *l, es_quirks q)
{
    es_buf b;
    es_buf_init(&b, 4096);
    es_err rv = ES_OK;
    for (int i = 0; i < ES_QUIRK_COUNT && rv == ES_OK; i++)
        if (q & ES_QUIRK(i)) rv = es_buf_printf(&b, "%s%s", b.len ? " " : "", es_quirk_name(i));
    if (rv == ES_OK) rv = es_buf_nul(&b);
    if (rv == ES_OK) rv = es_kv_add(l, "quirks", b.len ? (const char *)b.p : "");
    es_buf_cleanup(&b);
    return rv;
}

static es_err seal_fields(const es_seal *s, es_kvlist *l, const char *pre)
{
    es_err rv;
    char k[64];
#define K(name) (snprintf(k, sizeof k, "%s%s", pre, name), k)
    CHECK(es_kv_add(l, K("layout"), es_layout_name(s->layout)));
    CHECK(es_kv_add_num(l, K("version"), s->version));
    CHECK(es_kv_add_slice(l, K("vid"), s->vid));
    CHECK(es_kv_add_slice(l, K("es_id"), s->es_id));
    CHECK(es_kv_add_num(l, K("type"), s->type));
    CHECK(es_kv_add_slice(l, K("name"), s->name));
    CHECK(es_kv_add_num(l, K("cert_list_type"), s->cert_list_type));
    for (size_t i = 0; i < s->n_certs; i++) {
        char ck[64];
        snprintf(ck, sizeof ck, "%scert_list[%zu]", pre, i + 1);
        if (s->cert_list_type == 2) {
            char tk[80];
            snprintf(tk, sizeof tk, "%s.type", ck);
            CHECK(es_kv_add_slice(l, tk, s->cert_digest_type[i]));
            snprintf(tk, sizeof tk, "%s.digest", ck);
            CHECK(add_hex(l, tk, s->certs[i], 64));
        } else {
            CHECK(add_cert(l, ck, s->certs[i]));
        }
    }
    CHECK(es_kv_add_time(l, K("create_date"), s->create_date));
    CHECK(es_kv_add_time(l, K("valid_start"), s->valid_start));
    CHECK(es_kv_add_time(l, K("valid_end"), s->valid_end));
    CHECK(es_kv_add_slice(l, K("picture.type"), s->picture_type));
    CHECK(es_kv_add_num(l, K("picture.bytes"), (long long)s->picture.len));
    CHECK(es_kv_add_num(l, K("picture.width_mm"), s->picture_width));
    CHECK(es_kv_add_num(l, K("picture.height_mm"), s->picture_height));
    char ep[64];
    snprintf(ep, sizeof ep, "%sext", pre);
    CHECK(ext_fields(l, ep, s->exts, s->n_exts));
    CHECK(add_cert(l, K("maker_cert"), s->maker_cert));
    CHECK(add_oid(l, K("sign_alg"), s->sign_alg));
    if (s->has_signature)
        CHECK(add_hex(l, K("signed_value"), s->signed_value, 80));
    else
        CHECK(es_kv_add(l, K("signed_value"), "(none)"));
    if (s->timestamp.len) CHECK(add_hex(l, K("timestamp"), s->timestamp, 32));
#undef K
out:
    return rv;
}

static es_err render(const es_kvlist *l, int json, es_buf *out)
{
    es_err rv = ES_OK;
    if (json) {
        CHECK(es_buf_append_byte(out, '{'));
        for (size_t i = 0; i < l->n; i++) {
            if (i) CHECK(es_buf_append_byte(out, ','));
            CHECK(es_json_str(out, l->items[i].key, strlen(l->items[i].key)));
            CHECK(es_buf_append_byte(out, ':'));
            if (l->items[i].is_number)
                CHECK(es_buf_append_str(out, l->items[i].value));
            else
                CHECK(es_json_str(out, l->items[i].value, strlen(l->items[i].value)));
        }
        CHECK(es_buf_append_str(out, "}\n"));
    } else {
        for (size_t i = 0; i < l->n; i++)
            CHECK(es_buf_printf(out, "%-28s %s\n", l->items[i].key, l->items[i].value));
    }
out:
    return rv;
}

static void kv_free(es_kvlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].value);
    }
    free(l->items);
}

static es_err print_seal(const es_seal *s, int json, es_buf *out)
{
    es_kvlist l = {0};
    es_err rv = es_kv_add(&l, "kind", "seal");
    if (rv == ES_OK) rv = seal_fields(s, &l, "");
    if (rv == ES_OK) rv = quirk_field(&l, s->quirks);
    if (rv == ES_OK) rv = render(&l, json, out);
    kv_free(&l);
    return rv;
}

es_err es_seal_print(const es_seal *s, es_buf *out)
{
    return print_seal(s, 0, out);
}

es_err es_seal_print_json(const es_seal *s, es_buf *out)
{
    return print_seal(s, 1, out);
}

static es_err print_signature(const es_signature *s, int json, es_buf *out)
{
    es_kvlist l = {0};
    es_err rv;
    CHECK(es_kv_add(&l, "kind", "signature"));
    CHECK(es_kv_add(&l, "layout", es_layout_name(s->layout)));
    CHECK(es_kv_add_num(&l, "version", s->version));
    CHECK(es_kv_add_time(&l, "time_info", s->time_info));
    CHECK(es_kv_add_slice(&l, "time_info_raw", s->time_info_raw));
    CHECK(add_hex(&l, "data_hash", s->data_hash, 64));
    CHECK(es_kv_add_slice(&l, "property_info", s->property_info));
    CHECK(ext_fields(&l, "ext", s->exts, s->n_exts));
    CHECK(add_cert(&l, "signer_cert", s->cert));
    CHECK(add_oid(&l, "sign_alg", s->sign_alg));
    CHECK(add_hex(&l, "signature", s->signature, 80));
    if (s->timestamp.len) CHECK(add_hex(&l, "timestamp", s->timestamp, 32));
    CHECK(seal_fields(&s->seal, &l, "seal."));
    CHECK(quirk_field(&l, s->quirks | s->seal.quirks));
    CHECK(render(&l, json, out));
out:
    kv_free(&l);
    return rv;
}

es_err es_signature_print(const es_signature *s, es_buf *out)
{
    return print_signature(s, 0, out);
}

es_err es_signature_print_json(const es_signature *s, es_buf *out)
{
    return print_signature(s, 1, out);
}
