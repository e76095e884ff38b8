/* Data at rest (include/eseal/protect.h, docs/protect.md): the KEK, the keys in the store,
 * sealing and opening, the keyed index, record MACs and masks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/protect/internal.h"

/* What a wrapped key holds: a label, the purpose, the row id and the key, so that a wrapped
 * key copied to another row or purpose does not unwrap as that row's. */
#define WRAP_LABEL     "eseal-protect-key-v1"
#define WRAP_LABEL_LEN (sizeof WRAP_LABEL) /* with its NUL */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static char purpose_byte(const char *purpose)
{
    return strcmp(purpose, "data") == 0 ? 'D' : strcmp(purpose, "index") == 0 ? 'I' : 'M';
}

int protect_ident_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* ---- The KEK. */

es_err es_protect_new(const char *kek_ref, const es_secret_src *pin, int create, es_protect **out,
                      char *why, size_t whylen)
{
    char scratch[8];
    es_keydev_info info;
    uint8_t h[ES_SM3_LEN];
    int retries = -1;
    es_err rv;
    if (!why || whylen == 0) {
        why = scratch;
        whylen = sizeof scratch;
    }
    why[0] = 0;
    if (!out || !kek_ref || !pin) return ES_ERR_ARG;
    *out = NULL;
    es_protect *p = calloc(1, sizeof *p);
    if (!p) return ES_ERR_NOMEM;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return ES_ERR_NOMEM;
    }
    if ((rv = es_keyref_parse(kek_ref, &p->ref)) != ES_OK) {
        snprintf(why, whylen, "the key-encryption key reference '%s' cannot be read", kek_ref);
        goto out;
    }
    if ((rv = es_keydev_open(&p->ref, &p->dev)) != ES_OK) {
        snprintf(why, whylen, "cannot open the key-encryption key %s: %s", kek_ref, es_err_str(rv));
        goto out;
    }
    if ((rv = es_keydev_info_get(p->dev, &info)) != ES_OK || !info.can_decrypt) {
        snprintf(why, whylen, "the key-encryption key %s is in a device that cannot decrypt",
                 kek_ref);
        rv = rv == ES_OK ? ES_ERR_UNSUPPORTED : rv;
        goto out;
    }
    rv = es_keydev_login(p->dev, &p->ref, pin, &retries);
    if (rv == ES_ERR_NO_KEY && create && p->ref.kind == ES_KEYDEV_SOFT) {
        if ((rv = es_keydev_generate(p->dev, &p->ref, pin, p->pub)) == ES_OK)
            rv = es_keydev_login(p->dev, &p->ref, pin, &retries);
    }
    if (rv != ES_OK) {
        snprintf(why, whylen, "cannot log in to the key-encryption key %s: %s", kek_ref,
                 es_err_str(rv));
        goto out;
    }
    if ((rv = es_keydev_public_key(p->dev, &p->ref, p->pub)) != ES_OK ||
        (rv = es_sm3(p->pub, sizeof p->pub, h)) != ES_OK) {
        snprintf(why, whylen, "the key-encryption key %s has no public key: %s", kek_ref,
                 es_err_str(rv));
        goto out;
    }
    es_hex_encode(h, sizeof h, p->kek_id);
    *out = p;
    return ES_OK;
out:
    es_protect_free(p);
    return rv;
}

void es_protect_free(es_protect *p)
{
    if (!p) return;
    es_keydev_close(p->dev);
    pthread_mutex_destroy(&p->mu);
    es_wipe(p, sizeof *p);
    free(p);
}

const char *es_protect_kek_id(const es_protect *p)
{
    return p ? p->kek_id : "";
}

unsigned long es_protect_unwraps(es_protect *p)
{
    pthread_mutex_lock(&p->mu);
    unsigned long n = p->unwraps;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void protect_cache_clear(es_protect *p)
{
    pthread_mutex_lock(&p->mu);
    es_wipe(p->cache, sizeof p->cache);
    pthread_mutex_unlock(&p->mu);
}

static size_t wrap_plain(int64_t id, const char *purpose, const uint8_t *key, size_t len,
                         uint8_t *buf)
{
    memcpy(buf, WRAP_LABEL, WRAP_LABEL_LEN);
    buf[WRAP_LABEL_LEN] = (uint8_t)purpose_byte(purpose);
    put_be64(buf + WRAP_LABEL_LEN + 1, (uint64_t)id);
    memcpy(buf + WRAP_LABEL_LEN + 9, key, len);
    return WRAP_LABEL_LEN + 9 + len;
}

/* Under p->mu. */
static es_err unwrap_locked(es_protect *p, int64_t id, const char *purpose, es_slice wrapped,
                            uint8_t key[PROTECT_KEY_LEN], size_t *len)
{
    es_buf plain;
    es_buf_init(&plain, 256);
    es_err rv = es_keydev_decrypt(p->dev, &p->ref, wrapped.p, wrapped.len, &plain);
    p->unwraps++;
    if (rv == ES_OK) {
        size_t klen = plain.len >= WRAP_LABEL_LEN + 9 ? plain.len - WRAP_LABEL_LEN - 9 : 0;
        uint8_t want[WRAP_LABEL_LEN + 9 + PROTECT_KEY_LEN], zero[PROTECT_KEY_LEN] = {0};
        size_t wl = wrap_plain(id, purpose, zero, 0, want);
        if ((klen != PROTECT_DK_LEN && klen != PROTECT_KEY_LEN) ||
            (strcmp(purpose, "data") == 0) != (klen == PROTECT_DK_LEN) ||
            memcmp(plain.p, want, wl) != 0)
            rv = ES_ERR_VERIFY; /* a wrapped key of another row or purpose */
        else {
            memcpy(key, plain.p + wl, klen);
            *len = klen;
        }
    }
    es_buf_cleanup_secret(&plain);
    return rv;
}

es_err protect_unwrap(es_protect *p, int64_t id, const char *purpose, es_slice wrapped,
                      uint8_t key[PROTECT_KEY_LEN], size_t *len)
{
    pthread_mutex_lock(&p->mu);
    es_err rv = unwrap_locked(p, id, purpose, wrapped, key, len);
    pthread_mutex_unlock(&p->mu);
    return rv;
}

es_err protect_wrap(es_protect *p, int64_t id, const char *purpose, const uint8_t *key, size_t len,
                    es_buf *out)
{
    uint8_t plain[WRAP_LABEL_LEN + 9 + PROTECT_KEY_LEN], back[PROTECT_KEY_LEN];
    size_t blen = 0;
    es_buf ct;
    es_err rv;
    if (len > PROTECT_KEY_LEN) return ES_ERR_ARG;
    es_buf_init(&ct, PROTECT_WRAP_MAX);
    size_t n = wrap_plain(id, purpose, key, len, plain);
    if ((rv = es_sm2_encrypt(p->pub, plain, n, &ct)) != ES_OK) goto out;
    /* The public key es_keydev_public_key gave must be the one the device decrypts for. */
    rv = protect_unwrap(p, id, purpose, es_slice_make(ct.p, ct.len), back, &blen);
    if (rv == ES_OK && (blen != len || memcmp(back, key, len) != 0)) rv = ES_ERR_KEY_MISMATCH;
    if (rv == ES_ERR_VERIFY) rv = ES_ERR_KEY_MISMATCH;
    if (rv == ES_OK) rv = es_buf_append(out, ct.p, ct.len);
out:
    es_wipe(plain, sizeof plain);
    es_wipe(back, sizeof back);
    es_buf_cleanup(&ct);
    return rv;
}

/* ---- Keys in the store. */

typedef struct key_row {
    int found;
    int64_t id;
    char purpose[8], state[12], kek[65];
    uint8_t wrapped[PROTECT_WRAP_MAX];
    size_t wrapped_len;
} key_row;

static es_err key_row_cb(void *ctx, const es_row *r)
{
    key_row *k = ctx;
    es_slice w = es_row_blob(r, 4);
    if (k->found) return ES_OK; /* the first */
    k->found = 1;
    k->id = es_row_int(r, 0);
    snprintf(k->purpose, sizeof k->purpose, "%s", es_row_text(r, 1, NULL));
    snprintf(k->state, sizeof k->state, "%s", es_row_text(r, 2, NULL));
    snprintf(k->kek, sizeof k->kek, "%s", es_row_text(r, 3, NULL));
    if (!w.p || w.len > sizeof k->wrapped) return ES_ERR_FORMAT;
    memcpy(k->wrapped, w.p, w.len);
    k->wrapped_len = w.len;
    return ES_OK;
}

#define KEY_COLS "SELECT id, purpose, state, kek, wrapped FROM protect_keys "

static es_err current_key(es_store *st, const char *purpose, key_row *k)
{
    es_value v[1] = {es_v_text(purpose)};
    memset(k, 0, sizeof *k);
    es_err rv =
        es_store_query(st, KEY_COLS "WHERE purpose = ? AND state = 'current'", v, 1, key_row_cb, k);
    if (rv == ES_OK && !k->found) rv = ES_ERR_PROTECT_NO_KEY;
    return rv;
}

static es_err key_by_id(es_store *st, int64_t id, key_row *k)
{
    es_value v[1] = {es_v_int(id)};
    memset(k, 0, sizeof *k);
    es_err rv = es_store_query(st, KEY_COLS "WHERE id = ?", v, 1, key_row_cb, k);
    if (rv == ES_OK && !k->found) rv = ES_ERR_NOT_FOUND;
    return rv;
}

/* A new key of purpose at the next id, wrapped, inserted as current (caller's transaction). */
static es_err insert_key(es_protect *p, es_store *st, const char *purpose, int64_t *id_out)
{
    uint8_t key[PROTECT_KEY_LEN];
    size_t len = strcmp(purpose, "data") == 0 ? PROTECT_DK_LEN : PROTECT_KEY_LEN;
    int64_t id = 0;
    es_buf w;
    es_err rv;
    es_buf_init(&w, PROTECT_WRAP_MAX);
    if ((rv = es_store_query_int(st, "SELECT coalesce(max(id), 0) + 1 FROM protect_keys", NULL, 0,
                                 &id)) != ES_OK)
        goto out;
    if (id > (int64_t)UINT32_MAX) {
        rv = ES_ERR_LIMIT;
        goto out;
    }
    if ((rv = es_random(key, len)) != ES_OK ||
        (rv = protect_wrap(p, id, purpose, key, len, &w)) != ES_OK)
        goto out;
    es_value v[5] = {es_v_int(id), es_v_text(purpose), es_v_text(p->kek_id), es_v_blob(w.p, w.len),
                     es_v_int(es_time_now())};
    rv = es_store_exec(st,
                       "INSERT INTO protect_keys (id, purpose, state, kek, wrapped, created_at) "
                       "VALUES (?, ?, 'current', ?, ?, ?)",
                       v, 5, NULL);
    if (rv == ES_OK && id_out) *id_out = id;
out:
    es_wipe(key, sizeof key);
    es_buf_cleanup(&w);
    return rv;
}

static es_err load_fixed(es_protect *p, es_store *st, const char *purpose, uint8_t out[32],
                         int *have)
{
    key_row k;
    uint8_t key[PROTECT_KEY_LEN];
    size_t len = 0;
    es_err rv = current_key(st, purpose, &k);
    if (rv != ES_OK) return rv;
    if (strcmp(k.kek, p->kek_id) != 0) return ES_ERR_PROTECT_KEK;
    rv = protect_unwrap(p, k.id, purpose, es_slice_make(k.wrapped, k.wrapped_len), key, &len);
    if (rv == ES_OK && len != PROTECT_KEY_LEN) rv = ES_ERR_VERIFY;
    if (rv == ES_OK) {
        pthread_mutex_lock(&p->mu);
        memcpy(out, key, PROTECT_KEY_LEN);
        *have = 1;
        pthread_mutex_unlock(&p->mu);
    }
    es_wipe(key, sizeof key);
    return rv;
}

es_err es_protect_setup(es_protect *p, es_store *st, char *why, size_t whylen)
{
    static const char *const purposes[] = {"data", "index", "mac"};
    char scratch[8];
    es_err rv = ES_OK;
    if (!why || whylen == 0) {
        why = scratch;
        whylen = sizeof scratch;
    }
    why[0] = 0;
    if (!p || !st) return ES_ERR_ARG;
    for (size_t i = 0; i < 3 && rv == ES_OK; i++) {
        key_row k;
        rv = current_key(st, purposes[i], &k);
        if (rv != ES_ERR_PROTECT_NO_KEY) continue;
        if ((rv = es_store_begin(st)) != ES_OK) break;
        rv = current_key(st, purposes[i], &k); /* again, inside the write transaction */
        if (rv == ES_ERR_PROTECT_NO_KEY) rv = insert_key(p, st, purposes[i], NULL);
        if (rv == ES_OK) rv = es_store_commit(st);
        es_store_rollback(st);
        /* Another daemon made it first: the unique index on the current key refused ours. */
        if (rv == ES_ERR_EXISTS) rv = current_key(st, purposes[i], &k);
    }
    if (rv != ES_OK) {
        snprintf(why, whylen, "cannot make the data protection keys: %s (%s)", es_err_str(rv),
                 es_store_last_error(st));
        return rv;
    }
    if ((rv = load_fixed(p, st, "index", p->index_key, &p->have_index)) == ES_OK)
        rv = load_fixed(p, st, "mac", p->mac_key, &p->have_mac);
    if (rv == ES_ERR_PROTECT_KEK)
        snprintf(why, whylen,
                 "the store's data protection keys are wrapped by another key-encryption key "
                 "than %s (KEK id %.16s...)",
                 p->ref.path, p->kek_id);
    else if (rv != ES_OK)
        snprintf(why, whylen, "cannot unwrap the index and MAC keys: %s", es_err_str(rv));
    return rv;
}

/* The subkeys of a data key. */
es_err protect_derive(const uint8_t dk[PROTECT_DK_LEN], protect_dk *slot)
{
    static const char enc_label[] = "eseal protect v1 enc", mac_label[] = "eseal protect v1 mac";
    uint8_t t[ES_SM3_LEN];
    es_err rv = es_hmac_sm3_once(dk, PROTECT_DK_LEN, enc_label, sizeof enc_label - 1, t);
    if (rv == ES_OK) {
        memcpy(slot->enc, t, sizeof slot->enc);
        rv = es_hmac_sm3_once(dk, PROTECT_DK_LEN, mac_label, sizeof mac_label - 1, slot->mac);
    }
    es_wipe(t, sizeof t);
    return rv;
}

/* The subkeys of data key row k, from the cache or unwrapped now; copied to *out. */
static es_err data_key(es_protect *p, const key_row *k, protect_dk *out)
{
    uint8_t h[ES_SM3_LEN], dk[PROTECT_KEY_LEN];
    size_t len = 0;
    es_err rv;
    if (strcmp(k->purpose, "data") != 0) return ES_ERR_VERIFY;
    if (strcmp(k->kek, p->kek_id) != 0) return ES_ERR_PROTECT_KEK;
    if ((rv = es_sm3(k->wrapped, k->wrapped_len, h)) != ES_OK) return rv;
    pthread_mutex_lock(&p->mu);
    protect_dk *slot = NULL, *oldest = &p->cache[0];
    for (size_t i = 0; i < PROTECT_CACHE; i++) {
        protect_dk *c = &p->cache[i];
        if (c->id == k->id && memcmp(c->wrapped_sm3, h, sizeof h) == 0) {
            slot = c;
            break;
        }
        if (c->used < oldest->used) oldest = c;
    }
    if (!slot) {
        rv = unwrap_locked(p, k->id, "data", es_slice_make(k->wrapped, k->wrapped_len), dk, &len);
        if (rv == ES_OK) {
            slot = oldest;
            es_wipe(slot, sizeof *slot);
            if ((rv = protect_derive(dk, slot)) == ES_OK) {
                slot->id = k->id;
                memcpy(slot->wrapped_sm3, h, sizeof h);
            } else {
                es_wipe(slot, sizeof *slot);
                slot = NULL;
            }
        }
    }
    if (slot) {
        slot->used = ++p->tick;
        *out = *slot;
    }
    pthread_mutex_unlock(&p->mu);
    es_wipe(dk, sizeof dk);
    return rv;
}

/* ---- Sealing. */

static es_err blob_mac(const protect_dk *k, es_slice header, es_slice iv, es_slice ct, es_slice aad,
                       uint8_t tag[ES_PROTECT_TAG])
{
    uint8_t alen[8];
    es_hmac_sm3 *h = NULL;
    put_be64(alen, (uint64_t)aad.len);
    es_err rv = es_hmac_sm3_new(k->mac, sizeof k->mac, &h);
    if (rv == ES_OK) rv = es_hmac_sm3_update(h, header.p, header.len);
    if (rv == ES_OK) rv = es_hmac_sm3_update(h, iv.p, iv.len);
    if (rv == ES_OK) rv = es_hmac_sm3_update(h, ct.p, ct.len);
    if (rv == ES_OK) rv = es_hmac_sm3_update(h, aad.p, aad.len);
    if (rv == ES_OK) rv = es_hmac_sm3_update(h, alen, sizeof alen);
    if (rv == ES_OK) rv = es_hmac_sm3_final(h, tag);
    es_hmac_sm3_free(h);
    return rv;
}

es_err es_protect_blob_parse(es_slice sealed, es_protect_blob *out)
{
    if (!out || (!sealed.p && sealed.len)) return ES_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (sealed.len < ES_PROTECT_MIN_BLOB || sealed.len > ES_PROTECT_MAX_BLOB) return ES_ERR_VERIFY;
    size_t ctlen = sealed.len - ES_PROTECT_HEADER - ES_PROTECT_IV - ES_PROTECT_TAG;
    if (sealed.p[0] != ES_PROTECT_V1 || sealed.p[1] != ES_PROTECT_ALG_CBC_HMAC || ctlen % 16)
        return ES_ERR_VERIFY;
    out->version = sealed.p[0];
    out->alg = sealed.p[1];
    out->key_id = get_be32(sealed.p + 2);
    if (out->key_id == 0) return ES_ERR_VERIFY;
    out->header = es_slice_make(sealed.p, ES_PROTECT_HEADER);
    out->iv = es_slice_make(sealed.p + ES_PROTECT_HEADER, ES_PROTECT_IV);
    out->ct = es_slice_make(out->iv.p + ES_PROTECT_IV, ctlen);
    out->tag = es_slice_make(out->ct.p + ctlen, ES_PROTECT_TAG);
    return ES_OK;
}

es_err protect_seal_dk(const protect_dk *dk, uint32_t key_id, es_slice plain, es_slice aad,
                       es_buf *out)
{
    uint8_t header[ES_PROTECT_HEADER], iv[ES_PROTECT_IV], tag[ES_PROTECT_TAG];
    es_err rv;
    if (!dk || !key_id || !out || (!plain.p && plain.len) || (!aad.p && aad.len)) return ES_ERR_ARG;
    if (plain.len > ES_PROTECT_MAX_PLAIN || aad.len > ES_PROTECT_MAX_AAD) return ES_ERR_LIMIT;
    size_t pad = 16 - plain.len % 16, ctlen = plain.len + pad, start = out->len;
    header[0] = ES_PROTECT_V1;
    header[1] = ES_PROTECT_ALG_CBC_HMAC;
    put_be32(header + 2, key_id);
    if ((rv = es_random(iv, sizeof iv)) != ES_OK ||
        (rv = es_buf_reserve(out, ES_PROTECT_HEADER + ES_PROTECT_IV + ctlen + ES_PROTECT_TAG)) !=
            ES_OK)
        return rv;
    uint8_t *w = out->p + start;
    memcpy(w, header, sizeof header);
    memcpy(w + ES_PROTECT_HEADER, iv, sizeof iv);
    uint8_t *ct = w + ES_PROTECT_HEADER + ES_PROTECT_IV;
    if (plain.len) memcpy(ct, plain.p, plain.len);
    memset(ct + plain.len, (int)pad, pad); /* PKCS#7 */
    if ((rv = es_sm4_cbc(1, dk->enc, iv, ct, ctlen, ct)) != ES_OK ||
        (rv = blob_mac(dk, es_slice_make(header, sizeof header), es_slice_make(iv, sizeof iv),
                       es_slice_make(ct, ctlen), aad, tag)) != ES_OK) {
        es_wipe(ct, ctlen); /* the plaintext copied in, perhaps not yet encrypted */
        return rv;
    }
    memcpy(ct + ctlen, tag, sizeof tag);
    out->len = start + ES_PROTECT_HEADER + ES_PROTECT_IV + ctlen + ES_PROTECT_TAG;
    return ES_OK;
}

es_err es_protect_seal(es_protect *p, es_store *st, es_slice plain, es_slice aad, es_buf *out)
{
    key_row k;
    protect_dk dk;
    es_err rv;
    if (!p || !st || !out || (!plain.p && plain.len) || (!aad.p && aad.len)) return ES_ERR_ARG;
    if (plain.len > ES_PROTECT_MAX_PLAIN || aad.len > ES_PROTECT_MAX_AAD) return ES_ERR_LIMIT;
    memset(&dk, 0, sizeof dk);
    if ((rv = current_key(st, "data", &k)) == ES_OK && (rv = data_key(p, &k, &dk)) == ES_OK)
        rv = protect_seal_dk(&dk, (uint32_t)k.id, plain, aad, out);
    es_wipe(&dk, sizeof dk);
    return rv;
}

es_err protect_open_dk(const protect_dk *dk, const es_protect_blob *b, es_slice aad, es_buf *plain)
{
    uint8_t tag[ES_PROTECT_TAG];
    es_err rv;
    if ((rv = blob_mac(dk, b->header, b->iv, b->ct, aad, tag)) != ES_OK) return rv;
    if (!es_ct_equal(tag, b->tag.p, sizeof tag)) return ES_ERR_VERIFY;
    size_t start = plain->len;
    if ((rv = es_buf_reserve(plain, b->ct.len)) != ES_OK) return rv;
    uint8_t *w = plain->p + start;
    if ((rv = es_sm4_cbc(0, dk->enc, b->iv.p, b->ct.p, b->ct.len, w)) == ES_OK) {
        /* The MAC held, so the padding is ours; checked all the same. */
        uint8_t pad = w[b->ct.len - 1];
        int bad = pad == 0 || pad > 16;
        for (size_t i = 0; !bad && i < pad; i++) bad |= w[b->ct.len - 1 - i] != pad;
        if (!bad) {
            plain->len = start + b->ct.len - pad;
            return ES_OK;
        }
        rv = ES_ERR_VERIFY;
    }
    es_wipe(w, b->ct.len);
    return rv;
}

es_err es_protect_open(es_protect *p, es_store *st, es_slice sealed, es_slice aad, es_buf *plain)
{
    es_protect_blob b;
    key_row k;
    protect_dk dk;
    es_err rv;
    if (!p || !st || !plain || (!aad.p && aad.len)) return ES_ERR_ARG;
    if ((rv = es_protect_blob_parse(sealed, &b)) != ES_OK) return rv;
    memset(&dk, 0, sizeof dk);
    rv = key_by_id(st, b.key_id, &k);
    if (rv == ES_ERR_NOT_FOUND) rv = ES_ERR_VERIFY; /* names no key of this store */
    if (rv == ES_OK && (rv = data_key(p, &k, &dk)) == ES_OK)
        rv = protect_open_dk(&dk, &b, aad, plain);
    es_wipe(&dk, sizeof dk);
    return rv;
}

/* ---- The keyed index and record MACs. */

static int purpose_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 32) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '.'))
            return 0;
    return 1;
}

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* The normalised value (docs/protect.md) into out (as long as value). */
static size_t normalise(const char *purpose, es_slice v, uint8_t *out)
{
    size_t a = 0, b = v.len, n = 0;
    while (a < b && is_space(v.p[a])) a++;
    while (b > a && is_space(v.p[b - 1])) b--;
    if (strcmp(purpose, "mobile") == 0) {
        if (b - a >= 3 && memcmp(v.p + a, "+86", 3) == 0)
            a += 3;
        else if (b - a >= 4 && memcmp(v.p + a, "0086", 4) == 0)
            a += 4;
        for (size_t i = a; i < b; i++)
            if (v.p[i] != '-' && !is_space(v.p[i])) out[n++] = v.p[i];
        return n;
    }
    for (size_t i = a; i < b; i++) {
        uint8_t c = v.p[i];
        if (strcmp(purpose, "idno") == 0 && c >= 'a' && c <= 'z') c = (uint8_t)(c - 'a' + 'A');
        out[n++] = c;
    }
    return n;
}

es_err es_protect_index(es_protect *p, const char *purpose, es_slice value, char out[65])
{
    uint8_t key[PROTECT_KEY_LEN], mac[ES_SM3_LEN];
    es_hmac_sm3 *h = NULL;
    es_err rv;
    if (!p || !out || !purpose_ok(purpose) || (!value.p && value.len)) return ES_ERR_ARG;
    if (value.len > ES_PROTECT_MAX_AAD * 4) return ES_ERR_LIMIT;
    uint8_t *norm = malloc(value.len + 1);
    if (!norm) return ES_ERR_NOMEM;
    size_t n = normalise(purpose, value, norm);
    pthread_mutex_lock(&p->mu);
    int have = p->have_index;
    memcpy(key, p->index_key, sizeof key);
    pthread_mutex_unlock(&p->mu);
    if (!have) {
        rv = ES_ERR_PROTECT_NO_KEY;
        goto out;
    }
    /* purpose NUL value: the spaces never meet. */
    if ((rv = es_hmac_sm3_new(key, sizeof key, &h)) == ES_OK &&
        (rv = es_hmac_sm3_update(h, purpose, strlen(purpose) + 1)) == ES_OK &&
        (rv = es_hmac_sm3_update(h, norm, n)) == ES_OK && (rv = es_hmac_sm3_final(h, mac)) == ES_OK)
        es_hex_encode(mac, sizeof mac, out);
out:
    es_hmac_sm3_free(h);
    es_wipe(norm, value.len + 1);
    free(norm);
    es_wipe(key, sizeof key);
    return rv;
}

static es_err record_mac(es_protect *p, es_slice record, uint8_t mac[ES_SM3_LEN])
{
    uint8_t key[PROTECT_KEY_LEN];
    if (!p || (!record.p && record.len)) return ES_ERR_ARG;
    pthread_mutex_lock(&p->mu);
    int have = p->have_mac;
    memcpy(key, p->mac_key, sizeof key);
    pthread_mutex_unlock(&p->mu);
    es_err rv =
        have ? es_hmac_sm3_once(key, sizeof key, record.p, record.len, mac) : ES_ERR_PROTECT_NO_KEY;
    es_wipe(key, sizeof key);
    return rv;
}

es_err es_protect_mac(es_protect *p, es_slice record, char out[65])
{
    uint8_t mac[ES_SM3_LEN];
    if (!out) return ES_ERR_ARG;
    es_err rv = record_mac(p, record, mac);
    if (rv == ES_OK) es_hex_encode(mac, sizeof mac, out);
    return rv;
}

es_err es_protect_mac_check(es_protect *p, es_slice record, const char *mac)
{
    uint8_t want[ES_SM3_LEN];
    char hex[65];
    if (!mac) return ES_ERR_ARG;
    es_err rv = record_mac(p, record, want);
    if (rv != ES_OK) return rv;
    es_hex_encode(want, sizeof want, hex);
    /* Lower-case hex as es_protect_mac writes it; anything else does not match. */
    return strlen(mac) == 64 && es_ct_equal(hex, mac, 64) ? ES_OK : ES_ERR_VERIFY;
}

es_err es_protect_record(const char *table, int64_t id, const char *const *names,
                         const es_value *values, size_t n, es_buf *out)
{
    static const char label[] = "eseal-record-v1";
    uint8_t b[8];
    es_err rv;
    if (!protect_ident_ok(table) || !out || (n && (!names || !values))) return ES_ERR_ARG;
    for (size_t i = 0; i < n; i++)
        if (!protect_ident_ok(names[i])) return ES_ERR_ARG;
    /* Each string with its length first: no two different records have the same bytes. */
    rv = es_buf_append(out, label, sizeof label);
    put_be32(b, (uint32_t)strlen(table));
    if (rv == ES_OK) rv = es_buf_append(out, b, 4);
    if (rv == ES_OK) rv = es_buf_append_str(out, table);
    put_be64(b, (uint64_t)id);
    if (rv == ES_OK) rv = es_buf_append(out, b, 8);
    put_be32(b, (uint32_t)n);
    if (rv == ES_OK) rv = es_buf_append(out, b, 4);
    for (size_t i = 0; i < n && rv == ES_OK; i++) {
        const es_value *v = &values[i];
        put_be32(b, (uint32_t)strlen(names[i]));
        if ((rv = es_buf_append(out, b, 4)) != ES_OK ||
            (rv = es_buf_append_str(out, names[i])) != ES_OK)
            break;
        switch (v->type) {
        case ES_V_NULL:
            rv = es_buf_append_byte(out, 'N');
            break;
        case ES_V_INT:
            put_be64(b, (uint64_t)v->i);
            if ((rv = es_buf_append_byte(out, 'I')) == ES_OK) rv = es_buf_append(out, b, 8);
            break;
        case ES_V_TEXT:
        case ES_V_BLOB:
            if (!v->p && v->len) return ES_ERR_ARG;
            put_be64(b, (uint64_t)v->len);
            if ((rv = es_buf_append_byte(out, v->type == ES_V_TEXT ? 'T' : 'B')) == ES_OK &&
                (rv = es_buf_append(out, b, 8)) == ES_OK)
                rv = es_buf_append(out, v->p, v->len);
            break;
        default:
            rv = ES_ERR_ARG;
        }
    }
    return rv;
}

/* ---- Masks. */

/* Copies s into out (n bytes with the NUL) and returns the length written, cut on a
 * character boundary. */
static size_t put_str(char *out, size_t n, size_t at, const char *s, size_t len)
{
    size_t k = 0;
    while (k < len && at + 1 < n) {
        size_t c = es_utf8_next((const uint8_t *)s + k, len - k, NULL);
        if (c == 0) c = 1; /* not UTF-8: byte by byte */
        if (at + c + 1 > n) break;
        memcpy(out + at, s + k, c);
        at += c;
        k += c;
    }
    if (n) out[at < n ? at : n - 1] = 0;
    return at;
}

static void stars(char *out, size_t n, size_t *at, size_t count)
{
    for (size_t i = 0; i < count && *at + 1 < n; i++) out[(*at)++] = '*';
    if (n) out[*at < n ? *at : n - 1] = 0;
}

/* Keeps the first head and the last tail bytes of an ASCII value, stars between; a value too
 * short to keep anything is all stars. */
static void mask_ends(const char *in, char *out, size_t n, size_t head, size_t tail)
{
    size_t len = in ? strlen(in) : 0, at = 0;
    if (!out || n == 0) return;
    out[0] = 0;
    if (!in) return;
    if (len < head + tail + 2) {
        stars(out, n, &at, len ? len : 0);
        return;
    }
    at = put_str(out, n, 0, in, head);
    stars(out, n, &at, len - head - tail);
    put_str(out, n, at, in + len - tail, tail);
}

void es_mask_idno(const char *in, char *out, size_t n)
{
    mask_ends(in, out, n, 4, 4);
}

void es_mask_mobile(const char *in, char *out, size_t n)
{
    mask_ends(in, out, n, 3, 4);
}

/* The first characters (six at most, half of them for a short text), then "***". */
void es_mask_text(const char *in, char *out, size_t n)
{
    size_t len = in ? strlen(in) : 0, chars = 0, keep, k = 0, at;
    if (!out || n == 0) return;
    out[0] = 0;
    if (!in || !len) return;
    for (size_t i = 0; i < len;) {
        size_t c = es_utf8_next((const uint8_t *)in + i, len - i, NULL);
        i += c ? c : 1;
        chars++;
    }
    keep = chars >= 12 ? 6 : chars / 2;
    for (size_t i = 0; i < keep; i++) {
        size_t c = es_utf8_next((const uint8_t *)in + k, len - k, NULL);
        k += c ? c : 1;
    }
    at = put_str(out, n, 0, in, k);
    if (at < k) return; /* no room for the stars after a cut */
    stars(out, n, &at, 3);
}
