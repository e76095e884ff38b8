/* People's signing keys and signed decisions over the store (include/eseal/decision.h,
 * docs/decisions.md; LD/T 01.1 §9.4). Tables signing_keys and decisions (migration 9). */
#include <argon2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/audit.h"
#include "eseal/castore.h"
#include "eseal/decision.h"
#include "eseal/der.h"
#include "svc/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

#define SALT_LEN 16
#define KDEV_LEN 32
/* What the node's key device decrypts: a label, the account's id and the device half, so that
 * a row copied to another account does not open as that account's. */
#define DEV_LABEL     "eseal-decision-dev-v1"
#define DEV_LABEL_LEN (sizeof DEV_LABEL - 1)
#define KEK_LABEL     "eseal-decision-kek-v1"
/* The keyed scheme (rows with kdf_m = kdf_t = 0, docs/decisions.md "How a PIN key is held"):
 * no slow hash; the PIN is checked by an HMAC-SM3 tag under a key that needs the device half. */
#define KEK2_LABEL "eseal-decision-kek-v2"
#define TAG2_LABEL "eseal-decision-tag-v2"
#define WRAP2_LEN  64 /* SM4 of the scalar (32) || tag (32) */
/* Device halves kept decrypted in memory (as svc/protect keeps its data keys): one SM2
 * decryption per key and process, not per decision. */
#define KDEV_CACHE 64

typedef struct kdev_slot {
    int64_t id, user_id;          /* 0: free */
    uint8_t wrap_sm3[ES_SM3_LEN]; /* the dev_wrap it came from: a PIN change makes a new one */
    uint8_t kdev[KDEV_LEN];
    unsigned long used;
} kdev_slot;

struct es_decisions {
    es_keydev *dev;
    es_keyref ref;
    uint8_t pub[ES_SM2_PUB_LEN];
    pthread_mutex_t mu; /* one decryption at a time on the device */
    es_ca *ca;
    es_signer *audit;
    es_time (*now)(void);
    uint32_t kdf_m, kdf_t;
    int legacy; /* tests: enrol with argon2id (the scheme before the keyed one) */
    kdev_slot cache[KDEV_CACHE];
    unsigned long tick, dev_decrypts;
};

static void say(char *why, size_t whylen, const char *fmt, const char *arg)
{
    if (why && whylen) snprintf(why, whylen, fmt, arg ? arg : "");
}

static es_time now_of(const es_decisions *ds)
{
    return ds->now ? ds->now() : es_time_now();
}

int es_decision_roles(es_roles roles)
{
    return (roles & (ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN) | ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER) |
                     ES_ROLE_BIT(ES_ROLE_REVIEWER) | ES_ROLE_BIT(ES_ROLE_APPROVER) |
                     ES_ROLE_BIT(ES_ROLE_OPERATOR) | ES_ROLE_BIT(ES_ROLE_SEAL_KEEPER))) != 0;
}

/* ---- The mark of a signature made or checked here (es_decision_sig.mark). */

static pthread_once_t g_mark_once = PTHREAD_ONCE_INIT;
static uint8_t g_mark_key[32];
static int g_mark_ok;

static void mark_init(void)
{
    g_mark_ok = es_random(g_mark_key, sizeof g_mark_key) == ES_OK;
}

static es_err mark_put(es_hmac_sm3 *c, const void *p, size_t len)
{
    uint8_t n[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    es_err rv = es_hmac_sm3_update(c, n, sizeof n);
    return rv == ES_OK && len ? es_hmac_sm3_update(c, p, len) : rv;
}

/* HMAC-SM3(process key, tbs, sig, serial, pub), each with its length; ES_ERR_UNAVAILABLE when
 * the process has no key (then every signature is verified). */
static es_err mark_of(const es_decision_sig *s, const char *serial,
                      const uint8_t pub[ES_SM2_PUB_LEN], uint8_t out[ES_SM3_LEN])
{
    es_hmac_sm3 *c = NULL;
    es_err rv;
    pthread_once(&g_mark_once, mark_init);
    if (!g_mark_ok) return ES_ERR_UNAVAILABLE;
    if ((rv = es_hmac_sm3_new(g_mark_key, sizeof g_mark_key, &c)) != ES_OK) return rv;
    if ((rv = mark_put(c, "eseal-decision-mark", 19)) == ES_OK &&
        (rv = mark_put(c, s->tbs.p, s->tbs.len)) == ES_OK &&
        (rv = mark_put(c, s->sig.p, s->sig.len)) == ES_OK &&
        (rv = mark_put(c, serial, strlen(serial))) == ES_OK &&
        (rv = mark_put(c, pub, ES_SM2_PUB_LEN)) == ES_OK)
        rv = es_hmac_sm3_final(c, out);
    es_hmac_sm3_free(c);
    return rv;
}

/* ---- The context. */

es_err es_decisions_new(const char *ref, const es_secret_src *pin, int create, es_ca *ca,
                        es_signer *audit, es_decisions **out, char *why, size_t whylen)
{
    es_decisions *ds = calloc(1, sizeof *ds);
    es_keydev_info info;
    int retries = -1;
    es_err rv;
    *out = NULL;
    if (!ds) return ES_ERR_NOMEM;
    if (pthread_mutex_init(&ds->mu, NULL) != 0) {
        free(ds);
        return ES_ERR_NOMEM;
    }
    ds->ca = ca;
    ds->audit = audit;
    ds->kdf_m = ES_DECISION_KDF_M;
    ds->kdf_t = ES_DECISION_KDF_T;
    if ((rv = es_keyref_parse(ref, &ds->ref)) != ES_OK) {
        say(why, whylen, "the decisions key reference '%s' cannot be read", ref);
        goto out;
    }
    if ((rv = es_keydev_open(&ds->ref, &ds->dev)) != ES_OK) {
        say(why, whylen, "cannot open the decisions key %s", ref);
        goto out;
    }
    if ((rv = es_keydev_info_get(ds->dev, &info)) != ES_OK || !info.can_decrypt) {
        say(why, whylen, "the decisions key %s is in a device that cannot decrypt", ref);
        rv = rv == ES_OK ? ES_ERR_UNSUPPORTED : rv;
        goto out;
    }
    rv = es_keydev_login(ds->dev, &ds->ref, pin, &retries);
    if (rv == ES_ERR_NO_KEY && create && ds->ref.kind == ES_KEYDEV_SOFT) {
        if ((rv = es_keydev_generate(ds->dev, &ds->ref, pin, ds->pub)) == ES_OK)
            rv = es_keydev_login(ds->dev, &ds->ref, pin, &retries);
    }
    if (rv != ES_OK) {
        say(why, whylen, "cannot log in to the decisions key %s", ref);
        goto out;
    }
    if ((rv = es_keydev_public_key(ds->dev, &ds->ref, ds->pub)) != ES_OK) {
        say(why, whylen, "the decisions key %s has no public key", ref);
        goto out;
    }
    *out = ds;
    return ES_OK;
out:
    es_decisions_free(ds);
    return rv;
}

void es_decisions_free(es_decisions *ds)
{
    if (!ds) return;
    es_keydev_close(ds->dev);
    pthread_mutex_destroy(&ds->mu);
    es_wipe(ds, sizeof *ds);
    free(ds);
}

void es_decisions_set_clock(es_decisions *ds, es_time (*now)(void))
{
    ds->now = now;
}

void es_decisions_set_kdf(es_decisions *ds, uint32_t m_kib, uint32_t t)
{
    ds->kdf_m = m_kib ? m_kib : ES_DECISION_KDF_M;
    ds->kdf_t = t ? t : ES_DECISION_KDF_T;
}

void es_decisions_set_legacy(es_decisions *ds, int on)
{
    ds->legacy = on;
}

unsigned long es_decisions_device_decrypts(es_decisions *ds)
{
    pthread_mutex_lock(&ds->mu);
    unsigned long n = ds->dev_decrypts;
    pthread_mutex_unlock(&ds->mu);
    return n;
}

void es_decision_sig_init(es_decision_sig *s)
{
    memset(s, 0, sizeof *s);
    es_buf_init(&s->tbs, ES_DECISION_TBS_MAX);
    es_buf_init(&s->sig, 128);
}

void es_decision_sig_free(es_decision_sig *s)
{
    if (!s) return;
    es_buf_cleanup(&s->tbs);
    es_buf_cleanup(&s->sig);
}

void es_decision_rec_init(es_decision_rec *r)
{
    memset(r, 0, sizeof *r);
    es_buf_init(&r->tbs, ES_DECISION_TBS_MAX);
    es_buf_init(&r->sig, 128);
    es_buf_init(&r->cert, 16384);
}

void es_decision_rec_free(es_decision_rec *r)
{
    if (!r) return;
    es_buf_cleanup(&r->tbs);
    es_buf_cleanup(&r->sig);
    es_buf_cleanup(&r->cert);
}

/* ---- Audit records (the accounts service's helpers on the caller's connection). */

static es_accounts acc_of(es_store *st, es_signer *audit)
{
    es_accounts a;
    memset(&a, 0, sizeof a);
    a.store = st;
    a.audit = audit;
    return a;
}

static es_err audit_alone(es_decisions *ds, es_store *st, const es_actor *by, const char *action,
                          const char *object, const char *detail)
{
    if (!ds->audit) return ES_OK;
    es_accounts a = acc_of(st, ds->audit);
    return svc_audit_alone(&a, by, action, object, detail);
}

static es_err deny(es_decisions *ds, es_store *st, const es_actor *by, const char *what)
{
    es_err rv = ES_OK;
    if (ds->audit) {
        es_accounts a = acc_of(st, ds->audit);
        rv = es_acct_audit_denied(&a, by, what);
    }
    return rv == ES_OK ? ES_ERR_DENIED : rv;
}

/* ---- Key rows. */

typedef struct key_row {
    int64_t id, user_id;
    char kind[8], state[12], serial[64], name[ES_ACCOUNT_NAME_MAX + 1];
    uint8_t pub[ES_SM2_PUB_LEN];
    int failures;
    int64_t created_at;
    uint32_t kdf_m, kdf_t;
    es_buf cert, wrapped, dev_wrap, salt;
    int found;
} key_row;

#define KEY_COLS                                                                                   \
    "k.id, k.user_id, k.kind, k.state, k.serial, k.pub, k.cert, k.wrapped, k.dev_wrap, k.salt, "   \
    "k.kdf_m, k.kdf_t, k.failures, k.created_at, u.name"

static void key_init(key_row *k)
{
    memset(k, 0, sizeof *k);
    es_buf_init(&k->cert, 16384);
    es_buf_init(&k->wrapped, 64);
    es_buf_init(&k->dev_wrap, 512);
    es_buf_init(&k->salt, 64);
}

static void key_free(key_row *k)
{
    es_buf_cleanup(&k->cert);
    es_buf_cleanup(&k->wrapped);
    es_buf_cleanup(&k->dev_wrap);
    es_buf_cleanup(&k->salt);
}

static es_err copy_blob(es_buf *b, const es_row *r, int col)
{
    es_slice s = es_row_blob(r, col);
    b->len = 0;
    return s.p ? es_buf_append(b, s.p, s.len) : ES_OK;
}

static es_err key_cb(void *ctx, const es_row *r)
{
    key_row *k = ctx;
    es_slice pub;
    es_err rv;
    if (k->found) return ES_OK;
    k->found = 1;
    k->id = es_row_int(r, 0);
    k->user_id = es_row_int(r, 1);
    snprintf(k->kind, sizeof k->kind, "%s", es_row_text(r, 2, NULL));
    snprintf(k->state, sizeof k->state, "%s", es_row_text(r, 3, NULL));
    snprintf(k->serial, sizeof k->serial, "%s", es_row_text(r, 4, NULL));
    pub = es_row_blob(r, 5);
    if (pub.len != ES_SM2_PUB_LEN) return ES_ERR_INTERNAL;
    memcpy(k->pub, pub.p, ES_SM2_PUB_LEN);
    if ((rv = copy_blob(&k->cert, r, 6)) != ES_OK || (rv = copy_blob(&k->wrapped, r, 7)) != ES_OK ||
        (rv = copy_blob(&k->dev_wrap, r, 8)) != ES_OK || (rv = copy_blob(&k->salt, r, 9)) != ES_OK)
        return rv;
    k->kdf_m = (uint32_t)es_row_int(r, 10);
    k->kdf_t = (uint32_t)es_row_int(r, 11);
    k->failures = (int)es_row_int(r, 12);
    k->created_at = es_row_int(r, 13);
    snprintf(k->name, sizeof k->name, "%s", es_row_text(r, 14, NULL));
    return ES_OK;
}

/* The account's active key, else (latest) its newest; found 0 when it never had one. */
static es_err key_load(es_store *st, int64_t user_id, int active_only, key_row *k)
{
    es_value p[1] = {es_v_int(user_id)};
    k->found = 0;
    return es_store_query(st,
                          active_only ? "SELECT " KEY_COLS " FROM signing_keys k JOIN users u ON "
                                        "u.id = k.user_id WHERE k.user_id = ? AND k.state = "
                                        "'active'"
                                      : "SELECT " KEY_COLS " FROM signing_keys k JOIN users u ON "
                                        "u.id = k.user_id WHERE k.user_id = ? ORDER BY "
                                        "(k.state = 'active') DESC, k.id DESC LIMIT 1",
                          p, 1, key_cb, k);
}

static es_err key_by_serial(es_store *st, const char *serial, key_row *k)
{
    es_value p[1] = {es_v_text(serial)};
    k->found = 0;
    return es_store_query(st,
                          "SELECT " KEY_COLS " FROM signing_keys k JOIN users u ON u.id = "
                          "k.user_id WHERE k.serial = ?",
                          p, 1, key_cb, k);
}

static es_err user_id_of(es_store *st, const char *name, int64_t *id)
{
    es_value p[1] = {es_v_text(name)};
    return es_store_query_int(st, "SELECT id FROM users WHERE name = ?", p, 1, id);
}

/* 1 when the CA's index says the certificate is revoked. */
static int ca_revoked(es_store *st, const char *serial)
{
    int64_t n = 0;
    es_value p[1] = {es_v_text(serial)};
    if (es_store_query_int(st, "SELECT COUNT(*) FROM ca_certs WHERE serial = ? AND status = 'R'", p,
                           1, &n) != ES_OK)
        return 0;
    return n > 0;
}

/* ---- Wrapping (docs/decisions.md "How the key is held"). */

/* kek = SM3(label || argon2id(PIN, salt) || kdev || user_id || pub): the SM4 key is its first
 * 16 bytes. Neither half alone gives it. */
static es_err kek_of(es_decisions *ds, const char *pin, es_slice salt, uint32_t m, uint32_t t,
                     const uint8_t kdev[KDEV_LEN], int64_t user_id,
                     const uint8_t pub[ES_SM2_PUB_LEN], uint8_t kek[ES_SM3_LEN])
{
    uint8_t kpin[32], buf[sizeof KEK_LABEL - 1 + 32 + KDEV_LEN + 8 + ES_SM2_PUB_LEN];
    size_t n = 0;
    (void)ds;
    if (argon2id_hash_raw(t, m, 1, pin, strlen(pin), salt.p, salt.len, kpin, sizeof kpin) !=
        ARGON2_OK)
        return ES_ERR_CRYPTO;
    memcpy(buf, KEK_LABEL, sizeof KEK_LABEL - 1);
    n += sizeof KEK_LABEL - 1;
    memcpy(buf + n, kpin, 32);
    n += 32;
    memcpy(buf + n, kdev, KDEV_LEN);
    n += KDEV_LEN;
    for (int i = 7; i >= 0; i--) buf[n++] = (uint8_t)((uint64_t)user_id >> (8 * i));
    memcpy(buf + n, pub, ES_SM2_PUB_LEN);
    n += ES_SM2_PUB_LEN;
    es_err rv = es_sm3(buf, n, kek);
    es_wipe(kpin, sizeof kpin);
    es_wipe(buf, sizeof buf);
    return rv;
}

/* The keyed scheme's two keys: enc (SM4, 16 bytes) and mac (HMAC-SM3, 32 bytes), from
 * HMAC-SM3(kdev, label || salt || user_id || pub || PIN). */
static es_err keys2_of(const char *pin, es_slice salt, const uint8_t kdev[KDEV_LEN],
                       int64_t user_id, const uint8_t pub[ES_SM2_PUB_LEN], uint8_t enc[16],
                       uint8_t mac[ES_SM3_LEN])
{
    uint8_t h[ES_SM3_LEN], t[ES_SM3_LEN], uid[8];
    es_hmac_sm3 *c = NULL;
    es_err rv;
    for (int i = 0; i < 8; i++) uid[i] = (uint8_t)((uint64_t)user_id >> (56 - 8 * i));
    CHECK(es_hmac_sm3_new(kdev, KDEV_LEN, &c));
    CHECK(es_hmac_sm3_update(c, KEK2_LABEL, sizeof KEK2_LABEL)); /* with its NUL */
    CHECK(es_hmac_sm3_update(c, salt.p, salt.len));
    CHECK(es_hmac_sm3_update(c, uid, sizeof uid));
    CHECK(es_hmac_sm3_update(c, pub, ES_SM2_PUB_LEN));
    CHECK(es_hmac_sm3_update(c, pin, strlen(pin)));
    CHECK(es_hmac_sm3_final(c, h));
    CHECK(es_hmac_sm3_once(h, sizeof h, "enc", 3, t));
    memcpy(enc, t, 16);
    CHECK(es_hmac_sm3_once(h, sizeof h, "mac", 3, mac));
out:
    es_hmac_sm3_free(c);
    es_wipe(h, sizeof h);
    es_wipe(t, sizeof t);
    return rv;
}

/* The tag over what a row binds: user_id, pub and the wrapped scalar. */
static es_err tag2_of(const uint8_t mac[ES_SM3_LEN], int64_t user_id,
                      const uint8_t pub[ES_SM2_PUB_LEN], const uint8_t ct[32],
                      uint8_t tag[ES_SM3_LEN])
{
    uint8_t buf[sizeof TAG2_LABEL + 8 + ES_SM2_PUB_LEN + 32];
    size_t n = sizeof TAG2_LABEL;
    memcpy(buf, TAG2_LABEL, sizeof TAG2_LABEL);
    for (int i = 0; i < 8; i++) buf[n++] = (uint8_t)((uint64_t)user_id >> (56 - 8 * i));
    memcpy(buf + n, pub, ES_SM2_PUB_LEN);
    n += ES_SM2_PUB_LEN;
    memcpy(buf + n, ct, 32);
    n += 32;
    return es_hmac_sm3_once(mac, ES_SM3_LEN, buf, n, tag);
}

typedef struct wrapped {
    uint8_t salt[SALT_LEN];
    uint8_t ct[WRAP2_LEN]; /* keyed: SM4 of the scalar || tag; legacy: the first 32 bytes */
    size_t ct_len;
    uint32_t kdf_m, kdf_t; /* 0, 0: keyed */
    es_buf dev;            /* SM2 ciphertext of label || user_id || kdev */
} wrapped;

/* Wraps the private key of k for user_id under pin and a fresh device half. */
static es_err wrap_key(es_decisions *ds, const es_sm2_key *k, int64_t user_id, const char *pin,
                       int legacy, wrapped *w)
{
    uint8_t d[32], kdev[KDEV_LEN], kek[ES_SM3_LEN], pub[ES_SM2_PUB_LEN];
    uint8_t plain[DEV_LABEL_LEN + 8 + KDEV_LEN];
    es_err rv;
    es_sm2_key_pub(k, pub);
    CHECK(es_sm2_key_private(k, d));
    CHECK(es_random(w->salt, SALT_LEN));
    CHECK(es_random(kdev, KDEV_LEN));
    memcpy(plain, DEV_LABEL, DEV_LABEL_LEN);
    for (int i = 0; i < 8; i++)
        plain[DEV_LABEL_LEN + i] = (uint8_t)((uint64_t)user_id >> (56 - 8 * i));
    memcpy(plain + DEV_LABEL_LEN + 8, kdev, KDEV_LEN);
    w->dev.len = 0;
    CHECK(es_sm2_encrypt(ds->pub, plain, sizeof plain, &w->dev));
    if (legacy) {
        w->kdf_m = ds->kdf_m;
        w->kdf_t = ds->kdf_t;
        w->ct_len = 32;
        CHECK(kek_of(ds, pin, es_slice_make(w->salt, SALT_LEN), ds->kdf_m, ds->kdf_t, kdev, user_id,
                     pub, kek));
        CHECK(es_sm4_ecb(1, kek, d, 32, w->ct));
    } else {
        uint8_t mac[ES_SM3_LEN];
        w->kdf_m = w->kdf_t = 0;
        w->ct_len = WRAP2_LEN;
        rv = keys2_of(pin, es_slice_make(w->salt, SALT_LEN), kdev, user_id, pub, kek, mac);
        if (rv == ES_OK) rv = es_sm4_ecb(1, kek, d, 32, w->ct);
        if (rv == ES_OK) rv = tag2_of(mac, user_id, pub, w->ct, w->ct + 32);
        es_wipe(mac, sizeof mac);
        if (rv != ES_OK) goto out;
    }
out:
    es_wipe(d, sizeof d);
    es_wipe(kdev, sizeof kdev);
    es_wipe(kek, sizeof kek);
    es_wipe(plain, sizeof plain);
    return rv;
}

/* The device half of k: from the cache, else decrypted by the node's device (and cached).
 * ES_ERR_SIGNING_KEY_DAMAGED when it does not decrypt as this account's. */
static es_err kdev_of(es_decisions *ds, const key_row *k, uint8_t kdev[KDEV_LEN])
{
    uint8_t h[ES_SM3_LEN];
    es_buf plain;
    es_err rv;
    kdev_slot *slot = NULL;
    if ((rv = es_sm3(k->dev_wrap.p, k->dev_wrap.len, h)) != ES_OK) return rv;
    es_buf_init(&plain, 256);
    pthread_mutex_lock(&ds->mu);
    ds->tick++;
    for (int i = 0; i < KDEV_CACHE; i++) {
        kdev_slot *c = &ds->cache[i];
        if (c->id == k->id && c->user_id == k->user_id && !memcmp(c->wrap_sm3, h, sizeof h)) {
            memcpy(kdev, c->kdev, KDEV_LEN);
            c->used = ds->tick;
            pthread_mutex_unlock(&ds->mu);
            es_buf_cleanup(&plain);
            return ES_OK;
        }
        if (!slot || c->used < slot->used) slot = c;
    }
    ds->dev_decrypts++;
    rv = es_keydev_decrypt(ds->dev, &ds->ref, k->dev_wrap.p, k->dev_wrap.len, &plain);
    int64_t uid = 0;
    if (rv == ES_OK && plain.len == DEV_LABEL_LEN + 8 + KDEV_LEN &&
        memcmp(plain.p, DEV_LABEL, DEV_LABEL_LEN) == 0) {
        for (int i = 0; i < 8; i++)
            uid = (int64_t)(((uint64_t)uid << 8) | plain.p[DEV_LABEL_LEN + i]);
    } else {
        rv = ES_ERR_SIGNING_KEY_DAMAGED;
    }
    if (rv == ES_OK && uid != k->user_id) rv = ES_ERR_SIGNING_KEY_DAMAGED;
    if (rv == ES_OK) {
        memcpy(kdev, plain.p + DEV_LABEL_LEN + 8, KDEV_LEN);
        es_wipe(slot, sizeof *slot);
        slot->id = k->id;
        slot->user_id = k->user_id;
        memcpy(slot->wrap_sm3, h, sizeof h);
        memcpy(slot->kdev, kdev, KDEV_LEN);
        slot->used = ds->tick;
    }
    pthread_mutex_unlock(&ds->mu);
    es_buf_cleanup_secret(&plain);
    return rv;
}

static int keyed(const key_row *k)
{
    return k->kdf_m == 0 && k->kdf_t == 0;
}

/* Opens k's key with pin: ES_ERR_PIN when it does not open to k's public key,
 * ES_ERR_SIGNING_KEY_DAMAGED when the device half does not decrypt as this account's. */
static es_err unwrap_key(es_decisions *ds, const key_row *k, const char *pin, es_sm2_key **out)
{
    uint8_t kdev[KDEV_LEN], kek[ES_SM3_LEN], mac[ES_SM3_LEN], tag[ES_SM3_LEN], d[32];
    uint8_t pub[ES_SM2_PUB_LEN];
    es_sm2_key *key = NULL;
    es_err rv;
    *out = NULL;
    /* Bounds on what the row says argon2id costs: a tampered row must not make the daemon
     * allocate gigabytes (at most 1 GiB, 16 passes). */
    if (k->salt.len != SALT_LEN ||
        (keyed(k) ? k->wrapped.len != WRAP2_LEN
                  : k->wrapped.len != 32 || k->kdf_m < 8 || k->kdf_m > (1u << 20) || k->kdf_t < 1 ||
                        k->kdf_t > 16)) {
        rv = ES_ERR_SIGNING_KEY_DAMAGED;
        goto out;
    }
    CHECK(kdev_of(ds, k, kdev));
    if (keyed(k)) {
        /* The tag is the PIN check: a keyed hash, not a slow one; the retry counter and the
         * device half are what protect the PIN (docs/decisions.md). */
        CHECK(keys2_of(pin, es_slice_make(k->salt.p, k->salt.len), kdev, k->user_id, k->pub, kek,
                       mac));
        CHECK(tag2_of(mac, k->user_id, k->pub, k->wrapped.p, tag));
        if (!es_ct_equal(tag, k->wrapped.p + 32, ES_SM3_LEN)) {
            rv = ES_ERR_PIN;
            goto out;
        }
    } else {
        CHECK(kek_of(ds, pin, es_slice_make(k->salt.p, k->salt.len), k->kdf_m, k->kdf_t, kdev,
                     k->user_id, k->pub, kek));
    }
    CHECK(es_sm4_ecb(0, kek, k->wrapped.p, 32, d));
    /* A wrong PIN gives another scalar: its public key is not the certified one (the legacy
     * scheme's only check; with the tag, a row whose scalar does not match is damaged). */
    if (keyed(k)) {
        /* The tag authenticates the wrapped scalar together with the certified point, and only
         * enrolment, which takes the point from the scalar, can make a tag: no d*G here (as
         * dear as the signature the key is opened for). */
        if (es_sm2_key_from_pair(d, k->pub, &key) != ES_OK)
            rv = ES_ERR_SIGNING_KEY_DAMAGED;
        else
            *out = key, key = NULL;
        goto out;
    }
    if (es_sm2_key_from_private(d, &key) != ES_OK) {
        rv = keyed(k) ? ES_ERR_SIGNING_KEY_DAMAGED : ES_ERR_PIN;
        goto out;
    }
    es_sm2_key_pub(key, pub);
    if (memcmp(pub, k->pub, ES_SM2_PUB_LEN) != 0) {
        rv = keyed(k) ? ES_ERR_SIGNING_KEY_DAMAGED : ES_ERR_PIN;
        goto out;
    }
    *out = key;
    key = NULL;
out:
    es_sm2_key_free(key);
    es_wipe(kdev, sizeof kdev);
    es_wipe(kek, sizeof kek);
    es_wipe(mac, sizeof mac);
    es_wipe(d, sizeof d);
    return rv;
}

/* ---- The PIN: reserved before it is checked (as src/svc/accounts reserves a sign-in's failure),
 * so that parallel guesses cannot check more than ES_DECISION_PIN_LIMIT of them; each attempt
 * is its own transaction, committed before the caller's: a wrong PIN counts even when the
 * caller then rolls back. */

/* Rewraps k (opened with pin as key) in the keyed scheme, resets its count and audits it, in
 * one transaction; a row changed meanwhile (a PIN change) is left as it is. */
static es_err migrate_key(es_decisions *ds, es_store *st, const es_actor *by, key_row *k,
                          const char *pin, const es_sm2_key *key)
{
    wrapped w;
    svc_rec ar;
    char object[64], detail[160];
    es_accounts a = acc_of(st, ds->audit);
    es_err rv;
    memset(&w, 0, sizeof w);
    es_buf_init(&w.dev, 512);
    rv = wrap_key(ds, key, k->user_id, pin, 0, &w);
    if (rv != ES_OK) goto done;
    snprintf(object, sizeof object, "user:%s", k->name);
    snprintf(detail, sizeof detail, "serial=%s rewrapped: argon2id to keyed", k->serial);
    if (ds->audit &&
        (rv = svc_audit_prepare(&a, by, "decision.key_rewrap", object, detail, &ar)) != ES_OK)
        goto done;
    int64_t changes = 0;
    es_value p[5] = {es_v_blob(w.ct, w.ct_len), es_v_blob(w.dev.p, w.dev.len),
                     es_v_blob(w.salt, SALT_LEN), es_v_int(k->id),
                     es_v_blob(k->wrapped.p, k->wrapped.len)};
    CHECK(es_store_begin(st));
    CHECK(es_store_exec(st,
                        "UPDATE signing_keys SET wrapped = ?, dev_wrap = ?, salt = ?, kdf_m = 0, "
                        "kdf_t = 0, failures = 0 WHERE id = ? AND wrapped = ?",
                        p, 5, &changes));
    if (changes == 1 && ds->audit) CHECK(svc_audit_append(&a, &ar));
    if (changes != 1) {
        /* Changed meanwhile: only the count of this right PIN goes back. */
        es_value q[1] = {es_v_int(k->id)};
        CHECK(es_store_exec(st, "UPDATE signing_keys SET failures = 0 WHERE id = ?", q, 1, NULL));
    }
    CHECK(es_store_commit(st));
    goto done;
out:
    es_store_rollback(st);
done:
    es_buf_cleanup(&w.dev);
    es_wipe(&w, sizeof w);
    return rv;
}

static es_err pin_open(es_decisions *ds, es_store *st, const es_actor *by, key_row *k,
                       const char *pin, es_sm2_key **key, char *why, size_t whylen)
{
    int64_t changes = 0;
    char object[64], detail[128];
    es_err rv;
    *key = NULL;
    if (!pin || !*pin || strlen(pin) > ES_DECISION_PIN_MAX) {
        say(why, whylen, "pin: %s", "missing or longer than the longest PIN");
        return ES_ERR_ARG;
    }
    es_value p[2] = {es_v_int(k->id), es_v_int(ES_DECISION_PIN_LIMIT)};
    if (keyed(k)) {
        /* The keyed check costs microseconds. The right PIN of a key with no failures (k as
         * just loaded) writes nothing: no transaction, no commit in the decision's way. A
         * wrong PIN, or a right one after failures, is settled in one transaction holding the
         * key's row, so that the count is exact (argon2id keys below still reserve a failure
         * before their slow check). The right PIN at the instant a guesser's last wrong one
         * locks the key may still pass: the owner knows it. */
        int64_t failures = -1;
        if (k->failures >= ES_DECISION_PIN_LIMIT) {
            say(why, whylen, "%s",
                "the signing key is locked after too many wrong PINs: the system "
                "administrator unlocks it");
            return ES_ERR_PIN_LOCKED;
        }
        rv = unwrap_key(ds, k, pin, key);
        if (rv == ES_OK && k->failures == 0) return ES_OK;
        if (rv != ES_OK && rv != ES_ERR_PIN) {
            say(why, whylen, "%s",
                "the stored signing key does not open with this site's key device");
            return rv;
        }
        es_err verdict = rv;
        CHECK(es_store_begin(st));
        rv = es_store_query_int(st,
                                "UPDATE signing_keys SET failures = failures WHERE id = ? AND "
                                "state = 'active' RETURNING failures",
                                p, 1, &failures);
        if (rv == ES_ERR_NOT_FOUND) {
            es_store_rollback(st);
            es_sm2_key_free(*key);
            *key = NULL;
            say(why, whylen, "the signing certificate %s is revoked: enrol a new key", k->serial);
            return ES_ERR_REVOKED;
        }
        if (rv != ES_OK) goto out;
        if (failures >= ES_DECISION_PIN_LIMIT) {
            es_store_rollback(st);
            es_sm2_key_free(*key);
            *key = NULL;
            say(why, whylen, "%s",
                "the signing key is locked after too many wrong PINs: the system "
                "administrator unlocks it");
            return ES_ERR_PIN_LOCKED;
        }
        if (verdict == ES_OK) {
            if (failures > 0)
                CHECK(es_store_exec(st, "UPDATE signing_keys SET failures = 0 WHERE id = ?", p, 1,
                                    NULL));
            CHECK(es_store_commit(st));
            return ES_OK;
        }
        CHECK(es_store_exec(st, "UPDATE signing_keys SET failures = failures + 1 WHERE id = ?", p,
                            1, NULL));
        CHECK(es_store_commit(st));
        rv = ES_ERR_PIN;
        snprintf(object, sizeof object, "user:%s", k->name);
        goto wrong;
    }
    CHECK(es_store_begin(st));
    CHECK(es_store_exec(st,
                        "UPDATE signing_keys SET failures = failures + 1 WHERE id = ? AND "
                        "state = 'active' AND failures < ?",
                        p, 2, &changes));
    CHECK(es_store_commit(st));
    if (changes != 1) {
        int64_t active = 0;
        es_value q[1] = {es_v_int(k->id)};
        if ((rv = es_store_query_int(st,
                                     "SELECT COUNT(*) FROM signing_keys WHERE id = ? AND state = "
                                     "'active'",
                                     q, 1, &active)) != ES_OK)
            return rv;
        if (!active) {
            say(why, whylen, "the signing certificate %s is revoked: enrol a new key", k->serial);
            return ES_ERR_REVOKED;
        }
        say(why, whylen, "%s",
            "the signing key is locked after too many wrong PINs: the system "
            "administrator unlocks it");
        return ES_ERR_PIN_LOCKED;
    }
    snprintf(object, sizeof object, "user:%s", k->name);
    rv = unwrap_key(ds, k, pin, key);
    /* A key of the argon2id scheme moves to the keyed one now that its PIN is known (it also
     * resets the count); when that fails the key stays as it is and the count is reset below. */
    if (rv == ES_OK && !keyed(k) && migrate_key(ds, st, by, k, pin, *key) == ES_OK) return ES_OK;
    if (rv == ES_OK) {
        es_value q[1] = {es_v_int(k->id)};
        CHECK(es_store_begin(st));
        CHECK(es_store_exec(st, "UPDATE signing_keys SET failures = 0 WHERE id = ?", q, 1, NULL));
        CHECK(es_store_commit(st));
        return ES_OK;
    }
    if (rv == ES_ERR_PIN) {
    wrong:;
        int64_t failures = 0;
        es_value q[1] = {es_v_int(k->id)};
        es_err r2 = es_store_query_int(st, "SELECT failures FROM signing_keys WHERE id = ?", q, 1,
                                       &failures);
        if (r2 != ES_OK) return r2;
        snprintf(detail, sizeof detail, "serial=%s wrong PIN %lld of %d", k->serial,
                 (long long)failures, ES_DECISION_PIN_LIMIT);
        if ((r2 = audit_alone(ds, st, by, "decision.pin_failed", object, detail)) != ES_OK)
            return r2;
        if (failures >= ES_DECISION_PIN_LIMIT) {
            snprintf(detail, sizeof detail, "serial=%s locked after %d wrong PINs", k->serial,
                     ES_DECISION_PIN_LIMIT);
            if ((r2 = audit_alone(ds, st, by, "decision.key_locked", object, detail)) != ES_OK)
                return r2;
        }
        if (why && whylen)
            snprintf(why, whylen, "wrong signing PIN: %lld of %d; the key locks at %d",
                     (long long)failures, ES_DECISION_PIN_LIMIT, ES_DECISION_PIN_LIMIT);
        return ES_ERR_PIN;
    }
    say(why, whylen, "%s", "the stored signing key does not open with this site's key device");
    return rv;
out:
    es_store_rollback(st);
    es_sm2_key_free(*key);
    *key = NULL;
    return rv;
}

static es_err pin_policy(const char *pin, const char *name, char *why, size_t whylen)
{
    size_t n = pin ? strlen(pin) : 0;
    if (n < ES_DECISION_PIN_MIN || n > ES_DECISION_PIN_MAX) {
        if (why && whylen)
            snprintf(why, whylen, "pin: %d to %d characters", ES_DECISION_PIN_MIN,
                     ES_DECISION_PIN_MAX);
        return ES_ERR_ARG;
    }
    if (!es_utf8_valid(pin, n)) {
        say(why, whylen, "%s", "pin: not UTF-8 text");
        return ES_ERR_ARG;
    }
    size_t same = 1;
    while (same < n && pin[same] == pin[0]) same++;
    if (same == n) {
        say(why, whylen, "%s", "pin: one character repeated");
        return ES_ERR_ARG;
    }
    if (name && strstr(pin, name)) {
        say(why, whylen, "%s", "pin: contains the account name");
        return ES_ERR_ARG;
    }
    return ES_OK;
}

/* ---- Enrolment. */

static void key_info(const key_row *k, es_signing_key *out)
{
    es_cert_info ci;
    memset(out, 0, sizeof *out);
    snprintf(out->kind, sizeof out->kind, "%s", k->kind);
    snprintf(out->state, sizeof out->state, "%s", k->state);
    snprintf(out->serial, sizeof out->serial, "%s", k->serial);
    out->failures = k->failures;
    out->locked = k->failures >= ES_DECISION_PIN_LIMIT;
    out->created_at = k->created_at;
    memset(&ci, 0, sizeof ci);
    if (es_cert_parse(es_slice_make(k->cert.p, k->cert.len), &ci) == ES_OK) {
        snprintf(out->subject, sizeof out->subject, "%s", ci.subject ? ci.subject : "");
        out->not_before = ci.not_before;
        out->not_after = ci.not_after;
    }
    es_cert_info_cleanup(&ci);
}

/* Who may hold a key: a person (not the daemon) with a decision-taking role. */
static es_err may_enrol(es_decisions *ds, es_store *st, const es_actor *by, const char *what)
{
    if (!by || by->is_system || by->user_id <= 0) return ES_ERR_ARG;
    if (!es_decision_roles(by->roles)) return deny(ds, st, by, what);
    return ES_OK;
}

/* The previous key's PIN when there is one (a PIN key), and its lock. */
static es_err previous_ok(es_decisions *ds, es_store *st, const es_actor *by, key_row *prev,
                          const char *old_pin, char *why, size_t whylen)
{
    es_sm2_key *key = NULL;
    if (!prev->found) return ES_OK;
    if (prev->failures >= ES_DECISION_PIN_LIMIT) {
        say(why, whylen, "%s",
            "the signing key is locked: the system administrator unlocks it "
            "before a new one is enrolled");
        return ES_ERR_PIN_LOCKED;
    }
    if (strcmp(prev->kind, "pin") != 0) return ES_OK;
    if (!old_pin) {
        say(why, whylen, "%s", "old_pin: the current signing PIN is needed to replace the key");
        return ES_ERR_ARG;
    }
    es_err rv = pin_open(ds, st, by, prev, old_pin, &key, why, whylen);
    es_sm2_key_free(key);
    return rv;
}

typedef struct enrol_req {
    const char *kind;
    es_ca_request ca;
    const wrapped *w; /* NULL for a token */
    uint8_t pub[ES_SM2_PUB_LEN];
} enrol_req;

static es_err enrol(es_decisions *ds, es_store *st, const es_actor *by, key_row *prev, enrol_req *r,
                    es_signing_key *out, es_buf *cert, es_pki_lint *lint, char *why, size_t whylen)
{
    char serial[2 * ES_PKI_SERIAL_MAX + 1], object[64], detail[256], role[256];
    es_buf der;
    es_err rv;
    key_row now_row;
    svc_rec ar;
    es_accounts a = acc_of(st, ds->audit);
    es_buf_init(&der, 16384);
    key_init(&now_row);
    if (!ds->ca) {
        rv = ES_ERR_UNAVAILABLE;
        say(why, whylen, "%s", "no CA to issue the signing certificate");
        goto done;
    }
    svc_roles_text(by->roles, role, sizeof role);
    snprintf(object, sizeof object, "user:%s", by->name);
    snprintf(detail, sizeof detail, "kind=%s%s%s", r->kind, prev->found ? " supersedes " : "",
             prev->found ? prev->serial : "");
    if (ds->audit) CHECK(svc_audit_prepare(&a, by, "decision.key_enrol", object, detail, &ar));
    es_castore cs = {st, ds->audit, by->name, role};
    es_ca_state cst = es_castore_joined_state(&cs);
    /* One transaction holding the CA's lock: the old certificate revoked, the new one issued,
     * the key row and the audit records commit together or not at all. */
    CHECK(es_castore_begin_joined(&cs, ds->ca));
    {
        /* The account's row, held until commit: a disable (es_acct_set_disabled) that looked
         * for an active key before this one commits waits for it, then sees the key and revokes
         * it; one that came first leaves the account disabled, and nothing is enrolled. */
        int64_t live = 0;
        es_value p[1] = {es_v_int(by->user_id)};
        CHECK(es_store_exec(
            st, "UPDATE users SET disabled = disabled WHERE id = ? AND disabled = 0", p, 1, &live));
        if (live != 1) {
            rv = ES_ERR_DENIED;
            say(why, whylen, "%s", "the account is disabled");
            goto out;
        }
    }
    if (prev->found) {
        es_value p[2] = {es_v_int(now_of(ds)), es_v_int(prev->id)};
        CHECK(es_store_exec(st,
                            "UPDATE signing_keys SET state = 'superseded', ended_at = ? WHERE id = "
                            "? AND state = 'active'",
                            p, 2, NULL));
        rv = es_ca_revoke_in(ds->ca, &cst, prev->serial, ES_REASON_SUPERSEDED, ES_TIME_NONE);
        if (rv == ES_ERR_REVOKED || rv == ES_ERR_NOT_FOUND) rv = ES_OK;
        if (rv != ES_OK) goto out;
    }
    CHECK(es_ca_issue_in(ds->ca, &cst, &r->ca, lint, &der, serial));
    {
        es_value p[11] = {es_v_int(by->user_id),
                          es_v_text(r->kind),
                          es_v_text(serial),
                          es_v_blob(r->pub, ES_SM2_PUB_LEN),
                          es_v_blob(der.p, der.len),
                          r->w ? es_v_blob(r->w->ct, r->w->ct_len) : es_v_null(),
                          r->w ? es_v_blob(r->w->dev.p, r->w->dev.len) : es_v_null(),
                          r->w ? es_v_blob(r->w->salt, SALT_LEN) : es_v_null(),
                          es_v_int(r->w ? r->w->kdf_m : ds->kdf_m),
                          es_v_int(r->w ? r->w->kdf_t : ds->kdf_t),
                          es_v_int(now_of(ds))};
        rv = es_store_exec(st,
                           "INSERT INTO signing_keys (user_id, kind, state, serial, pub, cert, "
                           "wrapped, dev_wrap, salt, kdf_m, kdf_t, failures, created_at) VALUES "
                           "(?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                           p, 11, NULL);
        if (rv == ES_ERR_EXISTS) {
            /* Another enrolment of this account won the race, or the key is certified. */
            say(why, whylen, "%s", "a signing key of this account or this public key exists");
            goto out;
        }
        if (rv != ES_OK) goto out;
    }
    if (ds->audit) CHECK(svc_audit_append(&a, &ar));
    CHECK(es_store_commit(st));
    CHECK(key_load(st, by->user_id, 1, &now_row));
    if (!now_row.found) {
        rv = ES_ERR_INTERNAL;
        goto done;
    }
    if (out) key_info(&now_row, out);
    if (cert) {
        cert->len = 0;
        CHECK(es_buf_append(cert, der.p, der.len));
    }
    goto done;
out:
    es_store_rollback(st);
done:
    key_free(&now_row);
    es_buf_cleanup(&der);
    return rv;
}

static es_err subject_of(const char *name, es_name *n)
{
    char text[96], why[128];
    snprintf(text, sizeof text, "/C=CN/CN=%s", name);
    return es_pki_name_parse(text, n, why, sizeof why);
}

es_err es_signing_key_enrol_pin(es_decisions *ds, es_store *st, const es_actor *by, const char *pin,
                                const char *old_pin, es_signing_key *out, es_buf *cert, char *why,
                                size_t whylen)
{
    key_row prev;
    es_sm2_key *k = NULL;
    wrapped w;
    es_name subject;
    es_pki_lint lint;
    es_err rv;
    memset(&lint, 0, sizeof lint);
    memset(&w, 0, sizeof w);
    es_buf_init(&w.dev, 512);
    key_init(&prev);
    if (!ds || !st) return ES_ERR_ARG;
    CHECK(may_enrol(ds, st, by, "decision.key_enrol"));
    CHECK(pin_policy(pin, by->name, why, whylen));
    CHECK(key_load(st, by->user_id, 1, &prev));
    CHECK(previous_ok(ds, st, by, &prev, old_pin, why, whylen));
    CHECK(es_sm2_key_generate(&k));
    CHECK(wrap_key(ds, k, by->user_id, pin, ds->legacy, &w));
    CHECK(subject_of(by->name, &subject));
    enrol_req r;
    memset(&r, 0, sizeof r);
    r.kind = "pin";
    r.w = &w;
    es_sm2_key_pub(k, r.pub);
    r.ca.profile = "user";
    r.ca.subject = &subject;
    r.ca.pub = r.pub;
    r.ca.not_before = ES_TIME_NONE;
    rv = enrol(ds, st, by, &prev, &r, out, cert, &lint, why, whylen);
out:
    es_sm2_key_free(k);
    es_buf_cleanup(&w.dev);
    es_wipe(&w, sizeof w);
    key_free(&prev);
    return rv;
}

es_err es_signing_key_enrol_csr(es_decisions *ds, es_store *st, const es_actor *by, es_slice csr,
                                const char *old_pin, es_signing_key *out, es_buf *cert,
                                es_pki_lint *lint, char *why, size_t whylen)
{
    key_row prev;
    es_name subject;
    es_pki_csr req;
    es_buf csr_der;
    es_err rv;
    int64_t taken = 0;
    key_init(&prev);
    memset(&req, 0, sizeof req);
    es_buf_init(&csr_der, 65536);
    if (!ds || !st || !lint) return ES_ERR_ARG;
    memset(lint, 0, sizeof *lint);
    CHECK(may_enrol(ds, st, by, "decision.key_enrol"));
    if ((rv = es_pki_csr_parse(csr.p, csr.len, &csr_der, &req)) != ES_OK) {
        say(why, whylen, "%s", "csr: not a PKCS#10 certificate request (PEM or DER)");
        goto out;
    }
    if ((rv = es_pki_csr_verify(&req)) != ES_OK) {
        say(why, whylen, "%s", "csr: the request's signature does not verify");
        goto out;
    }
    es_value p[1] = {es_v_blob(req.pub, ES_SM2_PUB_LEN)};
    CHECK(es_store_query_int(st, "SELECT COUNT(*) FROM signing_keys WHERE pub = ?", p, 1, &taken));
    if (taken) {
        say(why, whylen, "%s", "csr: this public key is certified already (a new key each time)");
        rv = ES_ERR_EXISTS;
        goto out;
    }
    CHECK(key_load(st, by->user_id, 1, &prev));
    CHECK(previous_ok(ds, st, by, &prev, old_pin, why, whylen));
    CHECK(subject_of(by->name, &subject));
    enrol_req r;
    memset(&r, 0, sizeof r);
    r.kind = "token";
    memcpy(r.pub, req.pub, ES_SM2_PUB_LEN);
    r.ca.profile = "user";
    r.ca.subject = &subject;
    r.ca.csr = csr.p;
    r.ca.csr_len = csr.len;
    r.ca.not_before = ES_TIME_NONE;
    rv = enrol(ds, st, by, &prev, &r, out, cert, lint, why, whylen);
out:
    es_buf_cleanup(&csr_der);
    key_free(&prev);
    return rv;
}

es_err es_signing_key_pin_change(es_decisions *ds, es_store *st, const es_actor *by,
                                 const char *old_pin, const char *new_pin, char *why, size_t whylen)
{
    key_row k;
    es_sm2_key *key = NULL;
    wrapped w;
    svc_rec ar;
    char object[64];
    int64_t changes = 0;
    es_accounts a = acc_of(st, ds->audit);
    es_err rv;
    memset(&w, 0, sizeof w);
    es_buf_init(&w.dev, 512);
    key_init(&k);
    if (!by || by->is_system) {
        rv = ES_ERR_ARG;
        goto done;
    }
    if ((rv = key_load(st, by->user_id, 1, &k)) != ES_OK) goto done;
    if (!k.found) {
        rv = ES_ERR_NO_KEY;
        say(why, whylen, "%s", "no signing key is enrolled");
        goto done;
    }
    if (strcmp(k.kind, "pin") != 0) {
        rv = ES_ERR_SIGNING_KEY_KIND;
        say(why, whylen, "%s", "the signing key is in a USBKey: its PIN is the token's");
        goto done;
    }
    if ((rv = pin_policy(new_pin, by->name, why, whylen)) != ES_OK) goto done;
    if ((rv = pin_open(ds, st, by, &k, old_pin, &key, why, whylen)) != ES_OK) goto done;
    if ((rv = wrap_key(ds, key, by->user_id, new_pin, ds->legacy, &w)) != ES_OK) goto done;
    snprintf(object, sizeof object, "user:%s", by->name);
    if (ds->audit &&
        (rv = svc_audit_prepare(&a, by, "decision.pin_change", object, k.serial, &ar)) != ES_OK)
        goto done;
    es_value p[6] = {es_v_blob(w.ct, w.ct_len),   es_v_blob(w.dev.p, w.dev.len),
                     es_v_blob(w.salt, SALT_LEN), es_v_int(w.kdf_m),
                     es_v_int(w.kdf_t),           es_v_int(k.id)};
    CHECK(es_store_begin(st));
    CHECK(es_store_exec(st,
                        "UPDATE signing_keys SET wrapped = ?, dev_wrap = ?, salt = ?, kdf_m = ?, "
                        "kdf_t = ?, failures = 0 WHERE id = ? AND state = 'active'",
                        p, 6, &changes));
    if (changes != 1) {
        rv = ES_ERR_REVOKED;
        goto out;
    }
    if (ds->audit) CHECK(svc_audit_append(&a, &ar));
    CHECK(es_store_commit(st));
    goto done;
out:
    es_store_rollback(st);
done:
    es_sm2_key_free(key);
    es_buf_cleanup(&w.dev);
    es_wipe(&w, sizeof w);
    key_free(&k);
    return rv;
}

/* Who may read keys and decisions of others: business roles (they work on them), the audit
 * administrator (tracing, §9.4) and the system administrator (keys only, to unlock). */
static int may_read(const es_actor *by)
{
    return by && (by->is_system || es_decision_roles(by->roles) ||
                  es_roles_allow(by->roles, ES_PERM_AUDIT));
}

es_err es_signing_key_get(es_decisions *ds, es_store *st, const es_actor *by, const char *name,
                          es_signing_key *out, es_buf *cert)
{
    key_row k;
    int64_t uid = 0;
    es_err rv;
    if (!by || !name) return ES_ERR_ARG;
    if (strcmp(by->name, name) != 0 && !may_read(by) &&
        !es_roles_allow(by->roles, ES_PERM_ACCOUNTS))
        return deny(ds, st, by, "decision.key_get");
    if ((rv = user_id_of(st, name, &uid)) != ES_OK)
        return rv == ES_ERR_NOT_FOUND ? ES_ERR_NO_KEY : rv;
    key_init(&k);
    CHECK(key_load(st, uid, 0, &k));
    if (!k.found) {
        rv = ES_ERR_NO_KEY;
        goto out;
    }
    if (out) key_info(&k, out);
    if (cert) {
        cert->len = 0;
        CHECK(es_buf_append(cert, k.cert.p, k.cert.len));
    }
out:
    key_free(&k);
    return rv;
}

es_err es_signing_key_unlock(es_decisions *ds, es_store *st, const es_actor *by, const char *name)
{
    key_row k;
    int64_t uid = 0;
    char object[64], detail[128];
    svc_rec ar;
    es_accounts a = acc_of(st, ds->audit);
    es_err rv;
    if (!by || !name) return ES_ERR_ARG;
    /* The system administrator only (separation of duties: the one who manages accounts takes
     * no decisions), and never for themselves. */
    if (!(by->is_system || es_roles_allow(by->roles, ES_PERM_ACCOUNTS)) ||
        strcmp(by->name, name) == 0)
        return deny(ds, st, by, "decision.key_unlock");
    if ((rv = user_id_of(st, name, &uid)) != ES_OK)
        return rv == ES_ERR_NOT_FOUND ? ES_ERR_NO_KEY : rv;
    key_init(&k);
    CHECK(key_load(st, uid, 1, &k));
    if (!k.found) {
        rv = ES_ERR_NO_KEY;
        goto done;
    }
    snprintf(object, sizeof object, "user:%s", name);
    snprintf(detail, sizeof detail, "serial=%s after %d wrong PINs", k.serial, k.failures);
    if (ds->audit) CHECK(svc_audit_prepare(&a, by, "decision.key_unlock", object, detail, &ar));
    es_value p[1] = {es_v_int(k.id)};
    CHECK(es_store_begin(st));
    CHECK(es_store_exec(st, "UPDATE signing_keys SET failures = 0 WHERE id = ?", p, 1, NULL));
    if (ds->audit) CHECK(svc_audit_append(&a, &ar));
    CHECK(es_store_commit(st));
    goto done;
out:
    es_store_rollback(st);
done:
    key_free(&k);
    return rv;
}

es_err es_signing_key_revoke_in(es_store *st, es_ca *ca, es_signer *audit, const char *actor,
                                int64_t user_id, int reason, int *revoked)
{
    key_row k;
    char object[64], detail[160];
    es_err rv;
    if (revoked) *revoked = 0;
    key_init(&k);
    CHECK(key_load(st, user_id, 1, &k));
    if (!k.found) goto out;
    es_value p[2] = {es_v_int(es_time_now()), es_v_int(k.id)};
    CHECK(es_store_exec(st, "UPDATE signing_keys SET state = 'revoked', ended_at = ? WHERE id = ?",
                        p, 2, NULL));
    if (ca) {
        es_castore cs = {st, audit, actor, NULL};
        es_ca_state cst = es_castore_joined_state(&cs);
        rv = es_ca_revoke_in(ca, &cst, k.serial, reason, ES_TIME_NONE);
        if (rv == ES_ERR_REVOKED || rv == ES_ERR_NOT_FOUND) rv = ES_OK;
        if (rv != ES_OK) goto out;
    }
    if (audit) {
        es_accounts a = acc_of(st, audit);
        es_actor by = {actor ? actor : "system", 0, 0, actor == NULL};
        snprintf(object, sizeof object, "user:%s", k.name);
        snprintf(detail, sizeof detail, "serial=%s reason=%s", k.serial,
                 es_pki_reason_name(reason) ? es_pki_reason_name(reason) : "unspecified");
        CHECK(svc_audit(&a, &by, "decision.key_revoke", object, detail));
    }
    if (revoked) *revoked = 1;
out:
    key_free(&k);
    return rv;
}

/* ---- Signing and storing decisions. */

static es_err sig_verify(const uint8_t pub[ES_SM2_PUB_LEN], es_slice tbs, es_slice sig)
{
    uint8_t r[32], s[32], e[ES_SM3_LEN];
    es_err rv = es_sm2_sig_decode(sig, r, s, NULL);
    if (rv != ES_OK) return ES_ERR_VERIFY;
    if ((rv = es_sm2_digest(pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), tbs.p, tbs.len,
                            e)) != ES_OK)
        return rv;
    return es_sm2_verify_digest(pub, e, r, s);
}

es_err es_decision_sign(es_decisions *ds, es_store *st, const es_actor *by, const es_decision *d,
                        const es_decision_proof *p, es_decision_sig *out, char *why, size_t whylen)
{
    key_row k;
    es_sm2_key *key = NULL;
    es_cert_info ci;
    es_err rv;
    memset(&ci, 0, sizeof ci);
    if (!ds || !st || !by || !d || !p || !out) return ES_ERR_ARG;
    key_init(&k);
    out->tbs.len = out->sig.len = 0;
    memset(out->mark, 0, sizeof out->mark);
    out->cert_serial[0] = out->actor[0] = 0;
    if (!p->pin == !p->signature.len) {
        say(why, whylen, "%s", "give either the signing PIN or a signature, not both");
        rv = ES_ERR_ARG;
        goto out;
    }
    if (by->is_system || by->user_id <= 0) {
        rv = ES_ERR_NO_KEY;
        say(why, whylen, "%s", "the daemon takes no decisions");
        goto out;
    }
    if ((rv = es_decision_tbs(d, by->name, &out->tbs)) != ES_OK) {
        say(why, whylen, "%s", "decision: a field is missing, too long or not UTF-8");
        goto out;
    }
    CHECK(key_load(st, by->user_id, 0, &k));
    if (!k.found) {
        rv = ES_ERR_NO_KEY;
        say(why, whylen, "%s", "no signing key is enrolled: enrol one (我的签名密钥)");
        goto out;
    }
    if (strcmp(k.name, by->name) != 0) {
        rv = ES_ERR_DENIED;
        goto out;
    }
    if (strcmp(k.state, "active") != 0 || ca_revoked(st, k.serial)) {
        rv = ES_ERR_REVOKED;
        say(why, whylen, "the signing certificate %s is revoked: enrol a new key", k.serial);
        goto out;
    }
    CHECK(es_cert_parse(es_slice_make(k.cert.p, k.cert.len), &ci));
    if (now_of(ds) < ci.not_before || now_of(ds) > ci.not_after) {
        rv = ES_ERR_REVOKED;
        say(why, whylen, "the signing certificate %s is outside its validity", k.serial);
        goto out;
    }
    if (p->pin) {
        if (strcmp(k.kind, "pin") != 0) {
            rv = ES_ERR_SIGNING_KEY_KIND;
            say(why, whylen, "%s", "the signing key is in a USBKey: sign the decision with it");
            goto out;
        }
        CHECK(pin_open(ds, st, by, &k, p->pin, &key, why, whylen));
        uint8_t e[ES_SM3_LEN], r[32], s[32];
        CHECK(es_sm2_digest(k.pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), out->tbs.p,
                            out->tbs.len, e));
        CHECK(es_sm2_key_sign_digest(key, e, r, s));
        CHECK(es_sm2_sig_encode(r, s, &out->sig));
    } else {
        if ((rv = sig_verify(k.pub, es_slice_make(out->tbs.p, out->tbs.len), p->signature)) !=
            ES_OK) {
            say(why, whylen, "%s",
                "signature: does not verify over the decision with the signing certificate");
            goto out;
        }
        CHECK(es_buf_append(&out->sig, p->signature.p, p->signature.len));
    }
    snprintf(out->cert_serial, sizeof out->cert_serial, "%s", k.serial);
    snprintf(out->actor, sizeof out->actor, "%s", by->name);
    /* Made with the key whose public key is k.pub (PIN), or verified under it (token). */
    if (mark_of(out, k.serial, k.pub, out->mark) != ES_OK) memset(out->mark, 0, sizeof out->mark);
out:
    if (rv != ES_OK) {
        out->tbs.len = out->sig.len = 0;
        memset(out->mark, 0, sizeof out->mark);
    }
    es_sm2_key_free(key);
    es_cert_info_cleanup(&ci);
    key_free(&k);
    return rv;
}

es_err es_decision_store_in(es_store *st, const es_decision_sig *s, int64_t *id)
{
    es_decision_view v;
    key_row k;
    es_err rv;
    char action[ES_DECISION_ACTION_MAX + 1], object[ES_DECISION_OBJECT_MAX + 1];
    if (!st || !s || !es_store_in_tx(st)) return ES_ERR_ARG;
    es_slice tbs = es_slice_make(s->tbs.p, s->tbs.len);
    if ((rv = es_decision_parse(tbs, &v)) != ES_OK) return rv;
    if (!es_slice_eq_str(v.actor, s->actor)) return ES_ERR_DECISION_SIGNER;
    key_init(&k);
    CHECK(key_by_serial(st, s->cert_serial, &k));
    /* The certificate must be the actor's own: a decision A signed is never B's. */
    if (!k.found || strcmp(k.name, s->actor) != 0) {
        rv = ES_ERR_DECISION_SIGNER;
        goto out;
    }
    {
        /* Signed or checked by es_decision_sign in this process under this very key: not
         * verified twice (an SM2 verification inside the caller's transaction). */
        uint8_t mark[ES_SM3_LEN];
        if (mark_of(s, k.serial, k.pub, mark) != ES_OK || !es_ct_equal(mark, s->mark, sizeof mark))
            CHECK(sig_verify(k.pub, tbs, es_slice_make(s->sig.p, s->sig.len)));
        es_wipe(mark, sizeof mark);
    }
    memcpy(action, v.action.p, v.action.len);
    action[v.action.len] = 0;
    memcpy(object, v.object.p, v.object.len);
    object[v.object.len] = 0;
    es_value p[7] = {es_v_text(s->actor),
                     es_v_text(action),
                     es_v_text(object),
                     es_v_blob(s->tbs.p, s->tbs.len),
                     es_v_blob(s->sig.p, s->sig.len),
                     es_v_text(k.serial),
                     es_v_int(v.at)};
    /* The row's id from the insert itself: no second statement, no scan of decisions by sig
     * (which has no index). */
    int64_t rid = 0;
    CHECK(es_store_query_int(st,
                             "INSERT INTO decisions (actor, action, object, tbs, sig, cert_serial, "
                             "at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                             p, 7, &rid));
    if (id) *id = rid;
out:
    key_free(&k);
    return rv;
}

static es_err rec_cb(void *ctx, const es_row *r)
{
    es_decision_rec *d = ctx;
    es_err rv;
    d->id = es_row_int(r, 0);
    snprintf(d->actor, sizeof d->actor, "%s", es_row_text(r, 1, NULL));
    snprintf(d->action, sizeof d->action, "%s", es_row_text(r, 2, NULL));
    snprintf(d->object, sizeof d->object, "%s", es_row_text(r, 3, NULL));
    snprintf(d->cert_serial, sizeof d->cert_serial, "%s", es_row_text(r, 6, NULL));
    d->at = es_row_int(r, 7);
    if ((rv = copy_blob(&d->tbs, r, 4)) != ES_OK || (rv = copy_blob(&d->sig, r, 5)) != ES_OK ||
        (rv = copy_blob(&d->cert, r, 8)) != ES_OK)
        return rv;
    return ES_OK;
}

es_err es_decision_get(es_decisions *ds, es_store *st, const es_actor *by, int64_t id,
                       es_decision_rec *out)
{
    if (!by || !out) return ES_ERR_ARG;
    if (by->is_system ||
        !(es_decision_roles(by->roles) || es_roles_allow(by->roles, ES_PERM_AUDIT)))
        return deny(ds, st, by, "decision.get");
    es_value p[1] = {es_v_int(id)};
    out->id = 0;
    es_err rv = es_store_query(st,
                               "SELECT d.id, d.actor, d.action, d.object, d.tbs, d.sig, "
                               "d.cert_serial, d.at, k.cert FROM decisions d JOIN signing_keys k "
                               "ON k.serial = d.cert_serial WHERE d.id = ?",
                               p, 1, rec_cb, out);
    if (rv == ES_OK && !out->id) rv = ES_ERR_NOT_FOUND;
    return rv;
}

typedef struct list_ctx {
    es_decision_rec rec;
    es_decision_cb cb;
    void *cbctx;
} list_ctx;

static es_err list_cb(void *ctx, const es_row *r)
{
    list_ctx *x = ctx;
    x->rec.tbs.len = x->rec.sig.len = x->rec.cert.len = 0;
    es_err rv = rec_cb(&x->rec, r);
    return rv == ES_OK ? x->cb(x->cbctx, &x->rec) : rv;
}

es_err es_decision_list(es_decisions *ds, es_store *st, const es_actor *by,
                        const es_decision_filter *f, es_decision_cb cb, void *ctx)
{
    if (!by || !f || !cb || f->limit < 1 || f->limit > ES_DECISION_PAGE_MAX) return ES_ERR_ARG;
    int auditor = !by->is_system && es_roles_allow(by->roles, ES_PERM_AUDIT);
    int maker = !by->is_system && (es_roles_allow(by->roles, ES_PERM_SEAL_APPLY) ||
                                   es_roles_allow(by->roles, ES_PERM_SEAL_REVIEW));
    /* The audit administrator lists any; the making roles the decisions about an application
     * (as they read the application) or their own (docs/accounts.md). */
    int own = f->actor && strcmp(f->actor, by->name) == 0;
    if (!auditor && !maker) return deny(ds, st, by, "decision.list");
    if (!auditor && f->application <= 0 && !f->actor) return ES_ERR_ARG; /* which? */
    if (!auditor && f->application <= 0 && !own) return deny(ds, st, by, "decision.list");
    if (f->application > 0) {
        int64_t n = 0;
        es_value pa[] = {es_v_int(f->application)};
        es_err rv =
            es_store_query_int(st, "SELECT COUNT(*) FROM applications WHERE id = ?", pa, 1, &n);
        if (rv != ES_OK) return rv;
        if (!n) return ES_ERR_NOT_FOUND;
    }
    char object[64];
    snprintf(object, sizeof object, "application:%lld", (long long)f->application);
    es_value p[] = {es_v_int(f->after),
                    es_v_int(f->application),
                    es_v_text(object),
                    es_v_int(f->application),
                    es_v_text(f->actor ? f->actor : ""),
                    es_v_text(f->actor ? f->actor : ""),
                    es_v_int(f->limit)};
    list_ctx x = {.cb = cb, .cbctx = ctx};
    es_decision_rec_init(&x.rec);
    /* An application's decisions: those about it, and the delivery of the seal it made. */
    es_err rv = es_store_query(
        st,
        "SELECT d.id, d.actor, d.action, d.object, d.tbs, d.sig, d.cert_serial, d.at, k.cert "
        "FROM decisions d JOIN signing_keys k ON k.serial = d.cert_serial WHERE d.id > ? AND "
        "(? = 0 OR d.object = ? OR d.id IN (SELECT deliver_decision FROM seals WHERE "
        "application_id = ? AND deliver_decision IS NOT NULL)) AND (? = '' OR d.actor = ?) "
        "ORDER BY d.id LIMIT ?",
        p, sizeof p / sizeof p[0], list_cb, &x);
    es_decision_rec_free(&x.rec);
    return rv;
}
