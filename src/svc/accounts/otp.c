/* The second factor of staff accounts (include/eseal/otp.h, docs/accounts.md "Second factor"):
 * GM/T 0021 dynamic passwords (SM3 / SM4), SM2 challenge-response, enrolment, drift window,
 * replay refusal, reset by another administrator. Every change is audited in its transaction;
 * no seed and no code is ever written to the audit trail or the log. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/audit.h"
#include "eseal/crypto.h"
#include "eseal/otp.h"
#include "svc/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

/* ---- GM/T 0021 computation. */

const char *es_otp_alg_name(es_otp_alg alg)
{
    return alg == ES_OTP_SM3 ? "sm3" : alg == ES_OTP_SM4 ? "sm4" : NULL;
}

es_err es_otp_alg_parse(const char *name, es_otp_alg *out)
{
    if (name && strcmp(name, "sm3") == 0) {
        *out = ES_OTP_SM3;
        return ES_OK;
    }
    if (name && strcmp(name, "sm4") == 0) {
        *out = ES_OTP_SM4;
        return ES_OK;
    }
    return ES_ERR_ARG;
}

uint64_t es_otp_time_factor(int64_t now, unsigned step)
{
    if (now < 0 || step == 0) return 0;
    return (uint64_t)now / step;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (uint8_t)v;
}

es_err es_otp_compute(es_otp_alg alg, const uint8_t *seed, size_t seedlen, const es_otp_id *id,
                      unsigned digits, char out[ES_OTP_DIGITS_MAX + 1])
{
    /* ID = T (8) || C (4, optional) || Q (optional), zero-padded to 16 bytes at least (and, for
     * SM4, to a whole number of blocks). */
    uint8_t idb[8 + 4 + ES_OTP_Q_MAX + 16], s[ES_SM3_LEN], block[16];
    uint8_t buf[ES_OTP_SEED_MAX + sizeof idb];
    size_t n = 0, qlen = id && id->q ? strlen(id->q) : 0, slen = 0;
    es_err rv = ES_OK;
    if (!seed || !id || !out || digits < ES_OTP_DIGITS_MIN || digits > ES_OTP_DIGITS_MAX)
        return ES_ERR_ARG;
    if (alg == ES_OTP_SM3   ? seedlen < ES_OTP_SEED_MIN || seedlen > ES_OTP_SEED_MAX
        : alg == ES_OTP_SM4 ? seedlen != ES_OTP_SEED_SM4
                            : 1)
        return ES_ERR_ARG;
    if (id->q && (qlen < 4 || qlen > ES_OTP_Q_MAX)) return ES_ERR_ARG;
    for (size_t i = 0; i < qlen; i++)
        if ((unsigned char)id->q[i] < 0x20 || (unsigned char)id->q[i] > 0x7e) return ES_ERR_ARG;
    memset(idb, 0, sizeof idb);
    put_be64(idb, id->t);
    n = 8;
    if (id->has_c) {
        idb[n++] = (uint8_t)(id->c >> 24);
        idb[n++] = (uint8_t)(id->c >> 16);
        idb[n++] = (uint8_t)(id->c >> 8);
        idb[n++] = (uint8_t)id->c;
    }
    memcpy(idb + n, id->q ? id->q : "", qlen);
    n += qlen;
    if (n < 16) n = 16;
    if (alg == ES_OTP_SM3) {
        memcpy(buf, seed, seedlen);
        memcpy(buf + seedlen, idb, n);
        rv = es_sm3(buf, seedlen + n, s);
        slen = ES_SM3_LEN;
    } else {
        /* SM4: E_K over ID; a longer ID is chained (CBC, zero IV) and its last block is S. */
        n = (n + 15) / 16 * 16;
        memset(block, 0, sizeof block);
        for (size_t off = 0; rv == ES_OK && off < n; off += 16) {
            for (int i = 0; i < 16; i++) block[i] ^= idb[off + (size_t)i];
            rv = es_sm4_ecb(1, seed, block, 16, block);
        }
        memcpy(s, block, 16);
        slen = 16;
    }
    if (rv == ES_OK) {
        /* Truncate: OD = S1 + S2 + ... mod 2^32 over the 32-bit big-endian words of S. */
        uint32_t od = 0;
        for (size_t i = 0; i < slen; i += 4)
            od += (uint32_t)s[i] << 24 | (uint32_t)s[i + 1] << 16 | (uint32_t)s[i + 2] << 8 |
                  (uint32_t)s[i + 3];
        /* P = OD mod 10^N, written with its leading zeros. */
        for (unsigned i = digits; i > 0; i--, od /= 10) out[i - 1] = (char)('0' + od % 10);
        out[digits] = 0;
    }
    es_wipe(buf, sizeof buf);
    es_wipe(s, sizeof s);
    es_wipe(block, sizeof block);
    return rv;
}

void es_base32_encode(const uint8_t *in, size_t len, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[k++] = al[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) out[k++] = al[(acc << (5 - bits)) & 31];
    out[k] = 0;
}

/* ---- The site's seeds key. */

struct es_factor_key {
    es_keydev *dev;
    es_keyref ref;
    uint8_t pub[ES_SM2_PUB_LEN];
    pthread_mutex_t mu;
};

es_err es_factor_key_open(const char *ref, const es_secret_src *pin, int create,
                          es_factor_key **out, char *why, size_t whylen)
{
    es_factor_key *k = calloc(1, sizeof *k);
    es_keydev_info info;
    int retries = -1;
    es_err rv;
    *out = NULL;
    if (!k) return ES_ERR_NOMEM;
    if (pthread_mutex_init(&k->mu, NULL) != 0) {
        free(k);
        return ES_ERR_NOMEM;
    }
    if ((rv = es_keyref_parse(ref, &k->ref)) != ES_OK) {
        snprintf(why, whylen, "the seeds key reference '%s' cannot be read", ref);
        goto out;
    }
    if ((rv = es_keydev_open(&k->ref, &k->dev)) != ES_OK) {
        snprintf(why, whylen, "cannot open the seeds key %s: %s", ref, es_err_str(rv));
        goto out;
    }
    if ((rv = es_keydev_info_get(k->dev, &info)) != ES_OK || !info.can_decrypt) {
        snprintf(why, whylen, "the seeds key %s is in a device that cannot decrypt", ref);
        rv = rv == ES_OK ? ES_ERR_UNSUPPORTED : rv;
        goto out;
    }
    rv = es_keydev_login(k->dev, &k->ref, pin, &retries);
    if (rv == ES_ERR_NO_KEY && create && k->ref.kind == ES_KEYDEV_SOFT) {
        if ((rv = es_keydev_generate(k->dev, &k->ref, pin, k->pub)) == ES_OK)
            rv = es_keydev_login(k->dev, &k->ref, pin, &retries);
    }
    if (rv != ES_OK) {
        snprintf(why, whylen, "cannot log in to the seeds key %s: %s", ref, es_err_str(rv));
        goto out;
    }
    if ((rv = es_keydev_public_key(k->dev, &k->ref, k->pub)) != ES_OK) {
        snprintf(why, whylen, "the seeds key %s has no public key: %s", ref, es_err_str(rv));
        goto out;
    }
    *out = k;
    return ES_OK;
out:
    es_factor_key_free(k);
    return rv;
}

void es_factor_key_free(es_factor_key *k)
{
    if (!k) return;
    es_keydev_close(k->dev);
    pthread_mutex_destroy(&k->mu);
    es_wipe(k, sizeof *k);
    free(k);
}

/* What is encrypted: a label, the account's id and the seed, so that a seed copied to another
 * account's row does not decrypt as that account's. */
#define SEED_LABEL     "eseal-otp-seed-v1"
#define SEED_LABEL_LEN (sizeof SEED_LABEL)

static es_err seal_seed(const es_factor_key *k, int64_t user_id, const uint8_t *seed, size_t len,
                        es_buf *out)
{
    uint8_t plain[SEED_LABEL_LEN + 8 + ES_OTP_SEED_MAX];
    memcpy(plain, SEED_LABEL, SEED_LABEL_LEN);
    put_be64(plain + SEED_LABEL_LEN, (uint64_t)user_id);
    memcpy(plain + SEED_LABEL_LEN + 8, seed, len);
    es_err rv = es_sm2_encrypt(k->pub, plain, SEED_LABEL_LEN + 8 + len, out);
    es_wipe(plain, sizeof plain);
    return rv;
}

static es_err open_seed(es_factor_key *k, int64_t user_id, es_slice ct,
                        uint8_t seed[ES_OTP_SEED_MAX], size_t *len)
{
    es_buf plain;
    uint8_t idb[8];
    es_buf_init(&plain, 1024);
    put_be64(idb, (uint64_t)user_id);
    pthread_mutex_lock(&k->mu);
    es_err rv = es_keydev_decrypt(k->dev, &k->ref, ct.p, ct.len, &plain);
    pthread_mutex_unlock(&k->mu);
    if (rv == ES_OK && (plain.len < SEED_LABEL_LEN + 8 + ES_OTP_SEED_MIN ||
                        plain.len > SEED_LABEL_LEN + 8 + ES_OTP_SEED_MAX ||
                        memcmp(plain.p, SEED_LABEL, SEED_LABEL_LEN) != 0 ||
                        memcmp(plain.p + SEED_LABEL_LEN, idb, 8) != 0))
        rv = ES_ERR_VERIFY;
    if (rv == ES_OK) {
        *len = plain.len - SEED_LABEL_LEN - 8;
        memcpy(seed, plain.p + SEED_LABEL_LEN + 8, *len);
    }
    es_buf_cleanup_secret(&plain);
    return rv;
}

/* ---- Policy. */

int es_factor_required(const es_factors *f, es_roles roles)
{
    if (!f || !f->enforce) return 0;
    if (roles == ES_ROLE_BIT(ES_ROLE_OPERATOR) && f->operator_password_only) return 0;
    return 1;
}

static es_err count_row(void *ctx, const es_row *r)
{
    *(int64_t *)ctx = es_row_int(r, 0);
    return ES_OK;
}

static es_err active_count(es_accounts *a, int64_t user_id, int64_t *n)
{
    es_value p[1] = {es_v_int(user_id)};
    *n = 0;
    return es_store_query(
        a->store, "SELECT count(*) FROM user_factors WHERE user_id = ? AND state = 'active'", p, 1,
        count_row, n);
}

es_err es_factor_state(es_accounts *a, es_user *u)
{
    int64_t n = 0;
    u->factor_needed = 0;
    if (!es_factor_required(a->factors, u->roles)) return ES_OK;
    es_err rv = active_count(a, u->id, &n);
    if (rv == ES_OK) u->factor_needed = n == 0;
    return rv;
}

/* ---- Rows. */

typedef struct factor_row {
    int found;
    char kind[8], state[8], alg[8];
    uint8_t secret[512];
    size_t secret_len;
    uint8_t pub[ES_SM2_PUB_LEN];
    int has_pub;
    int64_t last_t, created_at;
} factor_row;

static es_err factor_row_cb(void *ctx, const es_row *r)
{
    factor_row *f = ctx;
    es_slice sec = es_row_blob(r, 3), pub = es_row_blob(r, 4);
    memset(f, 0, sizeof *f);
    f->found = 1;
    snprintf(f->kind, sizeof f->kind, "%s", es_row_text(r, 0, NULL));
    snprintf(f->state, sizeof f->state, "%s", es_row_text(r, 1, NULL));
    snprintf(f->alg, sizeof f->alg, "%s", es_row_text(r, 2, NULL));
    if (sec.p && sec.len <= sizeof f->secret) {
        memcpy(f->secret, sec.p, sec.len);
        f->secret_len = sec.len;
    }
    if (pub.p && pub.len == ES_SM2_PUB_LEN) {
        memcpy(f->pub, pub.p, ES_SM2_PUB_LEN);
        f->has_pub = 1;
    }
    f->last_t = es_row_int(r, 5);
    f->created_at = es_row_int(r, 6);
    return ES_OK;
}

static es_err load_factor(es_accounts *a, int64_t user_id, const char *kind, factor_row *f)
{
    es_value p[2] = {es_v_int(user_id), es_v_text(kind)};
    memset(f, 0, sizeof *f);
    return es_store_query(a->store,
                          "SELECT kind, state, alg, secret, pub, last_t, created_at "
                          "FROM user_factors WHERE user_id = ? AND kind = ?",
                          p, 2, factor_row_cb, f);
}

/* 1 when a and b (NUL-terminated) are equal, in time independent of where they differ. */
static int same_code(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Finds the T within the drift window, after last_t, whose code is code. ES_ERR_AUTH when
 * none (*why says whether the code was one already used). */
static es_err match_code(es_accounts *a, int64_t user_id, const factor_row *f, const char *code,
                         uint64_t *t_out, const char **why)
{
    const es_factors *fx = a->factors;
    uint8_t seed[ES_OTP_SEED_MAX];
    size_t seedlen = 0;
    char c[ES_OTP_DIGITS_MAX + 1];
    es_otp_alg alg;
    int matched_old = 0, found = 0;
    es_err rv;
    *why = "wrong second factor";
    if (strlen(code) != fx->digits || strspn(code, "0123456789") != fx->digits) return ES_ERR_AUTH;
    if (es_otp_alg_parse(f->alg, &alg) != ES_OK) return ES_ERR_INTERNAL;
    if (!fx->key) return ES_ERR_UNAVAILABLE;
    rv = open_seed(fx->key, user_id, es_slice_make(f->secret, f->secret_len), seed, &seedlen);
    if (rv == ES_ERR_VERIFY) {
        /* A seed that does not decrypt as this account's: moved or damaged in the store. */
        *why = "the enrolled seed does not belong to this account";
        return ES_ERR_AUTH;
    }
    if (rv != ES_OK) return rv;
    uint64_t now = es_otp_time_factor(es_time_now(), fx->step);
    for (int64_t d = -(int64_t)fx->window; rv == ES_OK && d <= (int64_t)fx->window; d++) {
        if ((int64_t)now + d < 0) continue;
        es_otp_id id = {(uint64_t)((int64_t)now + d), 0, 0, NULL};
        if ((rv = es_otp_compute(alg, seed, seedlen, &id, fx->digits, c)) != ES_OK) break;
        if (same_code(c, code)) {
            if ((int64_t)id.t <= f->last_t) {
                matched_old = 1;
            } else if (!found) {
                found = 1;
                *t_out = id.t;
            }
        }
    }
    es_wipe(seed, sizeof seed);
    es_wipe(c, sizeof c);
    if (rv != ES_OK) return rv;
    if (found) return ES_OK;
    if (matched_old) *why = "a dynamic password already used (replay)";
    return ES_ERR_AUTH;
}

/* Records T as the last accepted, only if it is after the one stored: of two sign-ins with one
 * code, one wins. */
static es_err record_t(es_accounts *a, int64_t user_id, uint64_t t, const char *state_from)
{
    int64_t changes = 0;
    es_value p[4] = {es_v_int((int64_t)t), es_v_int(user_id), es_v_text(state_from),
                     es_v_int((int64_t)t)};
    es_err rv = es_store_begin(a->store);
    if (rv != ES_OK) return rv;
    rv = es_store_exec(a->store,
                       "UPDATE user_factors SET last_t = ?, state = 'active' WHERE user_id = ? "
                       "AND kind = 'otp' AND state = ? AND last_t < ?",
                       p, 4, &changes);
    if (rv == ES_OK)
        rv = es_store_commit(a->store);
    else
        es_store_rollback(a->store);
    if (rv == ES_OK && changes != 1) rv = ES_ERR_AUTH;
    return rv;
}

typedef struct challenge_row {
    char name[ES_ACCOUNT_NAME_MAX + 1];
    int64_t expires_at;
    int found;
} challenge_row;

static es_err challenge_cb(void *ctx, const es_row *r)
{
    challenge_row *c = ctx;
    snprintf(c->name, sizeof c->name, "%s", es_row_text(r, 0, NULL));
    c->expires_at = es_row_int(r, 1);
    c->found = 1;
    return ES_OK;
}

void es_factor_challenge_text(const char *name, const char *nonce, int64_t expires_at,
                              char out[ES_FACTOR_CHALLENGE_MAX])
{
    char t[32];
    es_time_format_iso((es_time)expires_at, t);
    snprintf(out, ES_FACTOR_CHALLENGE_MAX, "eseal-signin\nuser:%.32s\nnonce:%.64s\nexpires:%s",
             name, nonce, t);
}

/* Consumes the challenge nonce of name (once, whatever follows) and checks the signature of its
 * text with pub. ES_ERR_AUTH with *why when anything is not right. */
static es_err answer_challenge(es_accounts *a, const char *name, const char *nonce,
                               const char *signature, const uint8_t pub[ES_SM2_PUB_LEN],
                               const char **why)
{
    challenge_row c;
    char text[ES_FACTOR_CHALLENGE_MAX];
    uint8_t e[ES_SM3_LEN], r[32], s[32];
    int64_t changes = 0;
    es_buf sig;
    es_err rv;
    *why = "wrong or expired challenge";
    if (!nonce || strlen(nonce) != 64 || strspn(nonce, "0123456789abcdef") != 64 || !signature)
        return ES_ERR_AUTH;
    memset(&c, 0, sizeof c);
    es_value p[2] = {es_v_text(nonce), es_v_text(name)};
    if ((rv = es_store_query(a->store,
                             "SELECT name, expires_at FROM factor_challenges WHERE nonce = ? "
                             "AND name = ?",
                             p, 2, challenge_cb, &c)) != ES_OK)
        return rv;
    if (!c.found) return ES_ERR_AUTH;
    /* Single use: whoever deletes it answers it. */
    if ((rv = es_store_begin(a->store)) != ES_OK) return rv;
    rv = es_store_exec(a->store, "DELETE FROM factor_challenges WHERE nonce = ? AND name = ?", p, 2,
                       &changes);
    if (rv == ES_OK)
        rv = es_store_commit(a->store);
    else
        es_store_rollback(a->store);
    if (rv != ES_OK) return rv;
    if (changes != 1 || c.expires_at <= es_time_now()) return ES_ERR_AUTH;
    es_factor_challenge_text(name, nonce, c.expires_at, text);
    es_buf_init(&sig, 1024);
    *why = "wrong challenge signature";
    rv = es_base64_decode(signature, strlen(signature), &sig);
    if (rv == ES_OK) rv = es_sm2_sig_decode(es_slice_make(sig.p, sig.len), r, s, NULL);
    if (rv == ES_OK)
        rv =
            es_sm2_digest(pub, ES_SM2_DEFAULT_ID, strlen(ES_SM2_DEFAULT_ID), text, strlen(text), e);
    if (rv == ES_OK) rv = es_sm2_verify_digest(pub, e, r, s);
    es_buf_cleanup(&sig);
    return rv == ES_OK ? ES_OK : ES_ERR_AUTH;
}

/* ---- The sign-in check. */

es_err svc_factor_check(es_accounts *a, es_user *u, const es_factor_answer *ans, int password_ok,
                        const char **why)
{
    factor_row otp, sm2;
    uint64_t t = 0;
    es_err rv;
    *why = NULL;
    u->factor_needed = 0;
    if (!a->factors || !a->factors->enforce) return ES_OK;
    if ((rv = load_factor(a, u->id, "otp", &otp)) != ES_OK ||
        (rv = load_factor(a, u->id, "sm2", &sm2)) != ES_OK)
        return rv;
    int has_otp = otp.found && strcmp(otp.state, "active") == 0;
    int has_sm2 = sm2.found && strcmp(sm2.state, "active") == 0 && sm2.has_pub;
    if (!has_otp && !has_sm2) {
        u->factor_needed = es_factor_required(a->factors, u->roles);
        return ES_OK;
    }
    rv = ES_ERR_AUTH;
    *why = "second factor missing";
    /* With a wrong password the answer is checked all the same (the same work as with the right
     * one: the time of a refusal says nothing about the password), but a good code is not
     * recorded and nothing is accepted. */
    if (has_sm2 && ans && ans->challenge && *ans->challenge) {
        rv = answer_challenge(a, u->name, ans->challenge, ans->signature, sm2.pub, why);
    } else if (has_otp && ans && ans->otp && *ans->otp) {
        rv = match_code(a, u->id, &otp, ans->otp, &t, why);
        if (rv == ES_OK && password_ok && (rv = record_t(a, u->id, t, "active")) == ES_ERR_AUTH)
            *why = "a dynamic password already used (replay)";
    }
    es_wipe(&otp, sizeof otp);
    if (rv == ES_OK && !password_ok) rv = ES_ERR_AUTH;
    if (rv == ES_OK) *why = NULL;
    return rv;
}

/* ---- Enrolment, listing, reset. */

static es_err need_user(const es_actor *by)
{
    return by && !by->is_system && by->user_id > 0 ? ES_OK : ES_ERR_ARG;
}

es_err es_factor_list(es_accounts *a, const es_actor *by, es_factor_cb cb, void *ctx)
{
    static const char *const kinds[] = {"otp", "sm2"};
    es_err rv = need_user(by);
    for (size_t i = 0; rv == ES_OK && i < 2; i++) {
        factor_row f;
        if ((rv = load_factor(a, by->user_id, kinds[i], &f)) != ES_OK || !f.found) continue;
        es_factor_info info;
        memset(&info, 0, sizeof info);
        snprintf(info.kind, sizeof info.kind, "%s", f.kind);
        snprintf(info.state, sizeof info.state, "%s", f.state);
        snprintf(info.alg, sizeof info.alg, "%s", f.alg);
        info.created_at = f.created_at;
        es_wipe(&f, sizeof f);
        rv = cb(ctx, &info);
    }
    return rv;
}

es_err es_factor_otp_begin(es_accounts *a, const es_actor *by, es_otp_alg alg,
                           uint8_t seed[ES_OTP_SEED_MAX], size_t *seedlen)
{
    factor_row f;
    char object[64], detail[64];
    es_buf ct;
    svc_rec ar;
    es_err rv = need_user(by);
    size_t len = alg == ES_OTP_SM4 ? ES_OTP_SEED_SM4 : ES_OTP_SEED_SM3;
    if (rv != ES_OK) return rv;
    if (!es_otp_alg_name(alg)) return ES_ERR_ARG;
    if (!a->factors || !a->factors->key) return ES_ERR_UNAVAILABLE;
    if ((rv = load_factor(a, by->user_id, "otp", &f)) != ES_OK) return rv;
    if (f.found && strcmp(f.state, "active") == 0) return ES_ERR_EXISTS;
    es_buf_init(&ct, 1024);
    CHECK(es_random(seed, len));
    CHECK(seal_seed(a->factors->key, by->user_id, seed, len, &ct));
    snprintf(object, sizeof object, "user:%s", by->name);
    snprintf(detail, sizeof detail, "dynamic password (%s), pending its first code",
             es_otp_alg_name(alg));
    es_value p[6] = {es_v_int(by->user_id),      es_v_text(es_otp_alg_name(alg)),
                     es_v_blob(ct.p, ct.len),    es_v_int(a->factors->digits),
                     es_v_int(a->factors->step), es_v_int(es_time_now())};
    es_value d[1] = {es_v_int(by->user_id)};
    CHECK(svc_audit_prepare(a, by, "user.factor_pending", object, detail, &ar));
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store,
                        "DELETE FROM user_factors WHERE user_id = ? AND kind = 'otp' "
                        "AND state = 'pending'",
                        d, 1, NULL));
    CHECK(es_store_exec(a->store,
                        "INSERT INTO user_factors (user_id, kind, state, alg, secret, digits, "
                        "step, last_t, created_at) VALUES (?, 'otp', 'pending', ?, ?, ?, ?, 0, ?)",
                        p, 6, NULL));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
    *seedlen = len;
out:
    if (rv != ES_OK) {
        es_store_rollback(a->store);
        es_wipe(seed, ES_OTP_SEED_MAX);
    }
    es_buf_cleanup(&ct);
    return rv;
}

es_err es_factor_otp_confirm(es_accounts *a, const es_actor *by, const char *code)
{
    factor_row f;
    uint64_t t = 0;
    const char *why = NULL;
    char object[64];
    es_err rv = need_user(by);
    if (rv != ES_OK) return rv;
    if (!a->factors || !a->factors->key) return ES_ERR_UNAVAILABLE;
    if ((rv = load_factor(a, by->user_id, "otp", &f)) != ES_OK) return rv;
    if (!f.found || strcmp(f.state, "pending") != 0) return ES_ERR_NOT_FOUND;
    snprintf(object, sizeof object, "user:%s", by->name);
    rv = match_code(a, by->user_id, &f, code ? code : "", &t, &why);
    es_wipe(&f, sizeof f);
    if (rv == ES_OK) rv = record_t(a, by->user_id, t, "pending");
    if (rv == ES_ERR_AUTH) {
        rv = svc_audit_alone(a, by, "user.factor_failed", object,
                             "a wrong first code of a dynamic password");
        return rv == ES_OK ? ES_ERR_FACTOR_CODE : rv;
    }
    if (rv != ES_OK) return rv;
    return svc_audit_alone(a, by, "user.factor_enrolled", object, "dynamic password");
}

es_err es_factor_challenge(es_accounts *a, const char *name, char nonce[65],
                           char text[ES_FACTOR_CHALLENGE_MAX], int64_t *expires_at)
{
    uint8_t raw[32];
    es_err rv;
    if (!es_account_name_valid(name)) return ES_ERR_ARG;
    if ((rv = es_random(raw, sizeof raw)) != ES_OK) return rv;
    es_hex_encode(raw, sizeof raw, nonce);
    es_time now = es_time_now();
    *expires_at = now + (a->factors ? a->factors->challenge_seconds : 120);
    es_factor_challenge_text(name, nonce, *expires_at, text);
    es_value gc[1] = {es_v_int(now)};
    es_value p[3] = {es_v_text(nonce), es_v_text(name), es_v_int(*expires_at)};
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store, "DELETE FROM factor_challenges WHERE expires_at <= ?", gc, 1,
                        NULL));
    CHECK(es_store_exec(a->store,
                        "INSERT INTO factor_challenges (nonce, name, expires_at) VALUES (?, ?, ?)",
                        p, 3, NULL));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

es_err es_factor_sm2_enrol(es_accounts *a, const es_actor *by, const uint8_t *cert, size_t certlen,
                           const uint8_t pub_in[ES_SM2_PUB_LEN], const char *challenge,
                           const char *signature)
{
    factor_row f;
    uint8_t pub[ES_SM2_PUB_LEN];
    const char *why = NULL;
    char object[64];
    svc_rec ar;
    es_err rv = need_user(by);
    if (rv != ES_OK) return rv;
    if (cert) {
        es_x509 x;
        if (es_x509_parse(es_slice_make(cert, certlen), 0, &x) != ES_OK || !x.is_sm2)
            return ES_ERR_CERT;
        memcpy(pub, x.pub, sizeof pub);
    } else if (pub_in) {
        memcpy(pub, pub_in, sizeof pub);
    } else {
        return ES_ERR_ARG;
    }
    if (es_sm2_pub_check(pub) != ES_OK) return ES_ERR_KEY;
    if ((rv = load_factor(a, by->user_id, "sm2", &f)) != ES_OK) return rv;
    if (f.found && strcmp(f.state, "active") == 0) return ES_ERR_EXISTS;
    snprintf(object, sizeof object, "user:%s", by->name);
    /* Proof of possession: the key signs a live challenge of this account's name. */
    if ((rv = answer_challenge(a, by->name, challenge, signature, pub, &why)) != ES_OK) {
        if (rv != ES_ERR_AUTH) return rv;
        rv = svc_audit_alone(a, by, "user.factor_failed", object, why);
        return rv == ES_OK ? ES_ERR_AUTH : rv;
    }
    es_value p[4] = {es_v_int(by->user_id), es_v_blob(pub, sizeof pub),
                     cert ? es_v_blob(cert, certlen) : es_v_null(), es_v_int(es_time_now())};
    es_value d[1] = {es_v_int(by->user_id)};
    CHECK(svc_audit_prepare(a, by, "user.factor_enrolled", object, "SM2 key (challenge-response)",
                            &ar));
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store, "DELETE FROM user_factors WHERE user_id = ? AND kind = 'sm2'", d,
                        1, NULL));
    CHECK(es_store_exec(a->store,
                        "INSERT INTO user_factors (user_id, kind, state, alg, pub, cert, last_t, "
                        "created_at) VALUES (?, 'sm2', 'active', '', ?, ?, 0, ?)",
                        p, 4, NULL));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}

es_err es_factor_reset(es_accounts *a, const es_actor *by, const char *name)
{
    es_user u;
    char object[64];
    svc_rec ar;
    es_err rv;
    if (!by) return ES_ERR_ARG;
    es_actor sys = {"system", 0, 0, 1};
    /* es_acct_get as the system: the rule is decided here, below. */
    if ((rv = es_acct_get(a, &sys, name, &u)) != ES_OK) return rv;
    int target_audit = (u.roles & ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN)) != 0;
    int allowed =
        by->is_system ||
        (by->user_id != u.id && (target_audit ? (by->roles & ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN)) != 0
                                              : es_roles_allow(by->roles, ES_PERM_ACCOUNTS)));
    if (!allowed) {
        rv = es_acct_audit_denied(a, by, "user.factor_reset");
        return rv == ES_OK ? ES_ERR_DENIED : rv;
    }
    snprintf(object, sizeof object, "user:%s", name);
    es_value p[1] = {es_v_int(u.id)};
    int64_t removed = 0;
    CHECK(svc_audit_prepare(a, by, "user.factor_reset", object,
                            "every second factor removed, sessions ended", &ar));
    CHECK(es_store_begin(a->store));
    CHECK(es_store_exec(a->store, "DELETE FROM user_factors WHERE user_id = ?", p, 1, &removed));
    CHECK(es_store_exec(a->store, "DELETE FROM sessions WHERE user_id = ?", p, 1, NULL));
    CHECK(svc_audit_append(a, &ar));
    CHECK(es_store_commit(a->store));
out:
    if (rv != ES_OK) es_store_rollback(a->store);
    return rv;
}
