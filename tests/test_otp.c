/* The second factor of staff accounts (issue 13, item 10; docs/accounts.md "Second factor"):
 *  - GM/T 0021 dynamic passwords against an independent computation: the openssl command line
 *    (SM3 over seed || ID, SM4-ECB of ID with the seed as key) and the fold written again here
 *    (no published test vector of GM/T 0021 could be found: docs/accounts.md says so);
 *  - the accounts service on SQLite and PostgreSQL: a required factor limits the session to
 *    enrolment; enrolment shows the seed once and needs a first code; the seed is stored
 *    encrypted and bound to its account; a sign-in without the code, with a wrong one, with a
 *    used one (replay) or one outside the drift window fails and counts like a wrong password
 *    (lockout); SM2 challenge-response with a key, single use; reset by another administrator
 *    of the right duty only;
 *  - the API of a node: the sign-in answers the same 401 for a wrong code as for a wrong
 *    password, the gate refuses everything but enrolment, an OTP sign-in works. */
#include "test.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eseal/accounts.h"
#include "eseal/audit.h"
#include "eseal/config.h"
#include "eseal/node.h"
#include "eseal/otp.h"
#include "http_client.h"
#include "store_test.h"
#include "svc/internal.h"

/* ---- The computation against the openssl command line. */

/* The code openssl and this fold give for (alg, seed hex, ID hex). */
static int independent(es_otp_alg alg, const char *seed_hex, const char *id_hex, unsigned digits,
                       char out[16])
{
    char cmd[1024], line[256] = "";
    if (alg == ES_OTP_SM3)
        snprintf(cmd, sizeof cmd,
                 "printf '%%s%%s' '%s' '%s' | xxd -r -p | openssl dgst -sm3 -binary | xxd -p -c 64",
                 seed_hex, id_hex);
    else
        snprintf(cmd, sizeof cmd,
                 "printf '%%s' '%s' | xxd -r -p | openssl enc -sm4-cbc -nopad -K '%s' -iv "
                 "00000000000000000000000000000000 | tail -c 16 | xxd -p -c 64",
                 id_hex, seed_hex);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    if (pclose(p) != 0) return -1;
    size_t n = strcspn(line, "\n");
    line[n] = 0;
    if (n != (alg == ES_OTP_SM3 ? 64u : 32u)) return -1;
    uint32_t od = 0;
    for (size_t i = 0; i < n; i += 8) {
        unsigned w = 0;
        if (sscanf(line + i, "%8x", &w) != 1) return -1;
        od += (uint32_t)w;
    }
    uint32_t mod = 1;
    for (unsigned i = 0; i < digits; i++) mod *= 10;
    snprintf(out, 16, "%0*u", (int)digits, (unsigned)(od % mod));
    return 0;
}

static void hexs(const uint8_t *p, size_t n, char *out)
{
    es_hex_encode(p, n, out);
}

static void test_compute(void)
{
    static const char *const seeds[] = {
        "00112233445566778899aabbccddeeff",
        "1234567890abcdef1234567890abcdef1234567890abcdef1234567890abcdef",
        "ffffffffffffffffffffffffffffffff",
    };
    static const uint64_t times[] = {0, 1, 28333333, 0x0123456789abcdefull, 0xffffffffffffffffull};
    int checked = 0, agreed = 0;
    for (size_t si = 0; si < 3; si++) {
        es_buf seed;
        es_buf_init(&seed, 64);
        if (es_hex_decode(seeds[si], strlen(seeds[si]), &seed) != ES_OK) continue;
        for (int alg = ES_OTP_SM3; alg <= ES_OTP_SM4; alg++) {
            if (alg == ES_OTP_SM4 && seed.len != 16) continue;
            for (size_t ti = 0; ti < 5; ti++) {
                for (int variant = 0; variant < 3; variant++) {
                    /* T alone; T || C; T || C || Q (Q longer than a block for SM4). */
                    uint8_t id[8 + 4 + 32];
                    size_t n = 0;
                    for (int i = 7; i >= 0; i--) id[n++] = (uint8_t)(times[ti] >> (8 * i));
                    es_otp_id oid = {times[ti], variant > 0, 0xdeadbeefu,
                                     variant == 2 ? "challenge-Q-1234" : NULL};
                    if (variant > 0) {
                        id[n++] = 0xde, id[n++] = 0xad, id[n++] = 0xbe, id[n++] = 0xef;
                    }
                    if (variant == 2) {
                        memcpy(id + n, "challenge-Q-1234", 16);
                        n += 16;
                    }
                    size_t padded = n < 16 ? 16 : n;
                    if (alg == ES_OTP_SM4) padded = (padded + 15) / 16 * 16;
                    memset(id + n, 0, padded - n);
                    char idhex[2 * sizeof id + 1], mine[16], theirs[16];
                    hexs(id, padded, idhex);
                    unsigned digits = 6 + (unsigned)(ti % 3);
                    es_err rv =
                        es_otp_compute((es_otp_alg)alg, seed.p, seed.len, &oid, digits, mine);
                    checked++;
                    if (rv == ES_OK &&
                        independent((es_otp_alg)alg, seeds[si], idhex, digits, theirs) == 0 &&
                        strcmp(mine, theirs) == 0)
                        agreed++;
                    else
                        fprintf(stderr, "  %s seed %zu T %llu v%d: %s / %s\n",
                                es_otp_alg_name((es_otp_alg)alg), si, (unsigned long long)times[ti],
                                variant, mine, rv == ES_OK ? theirs : es_err_str(rv));
                }
            }
        }
        es_buf_cleanup(&seed);
    }
    ok(checked == 75 && agreed == checked,
       "GM/T 0021 codes equal the openssl command line's SM3 / SM4 and the fold (%d of %d)", agreed,
       checked);

    uint8_t k[16] = {0};
    char c[16];
    es_otp_id id = {1, 0, 0, NULL};
    ok(es_otp_compute(ES_OTP_SM3, k, 15, &id, 6, c) == ES_ERR_ARG,
       "a seed shorter than 128 bits refused");
    ok(es_otp_compute(ES_OTP_SM4, k, 16, &id, 5, c) == ES_ERR_ARG &&
           es_otp_compute(ES_OTP_SM4, k, 16, &id, 9, c) == ES_ERR_ARG,
       "digits outside 6..8 refused");
    es_otp_id badq = {1, 0, 0, "abc"};
    ok(es_otp_compute(ES_OTP_SM3, k, 16, &badq, 6, c) == ES_ERR_ARG, "a Q shorter than 4 refused");
    ok(es_otp_time_factor(1700000000, 60) == 28333333, "T = seconds / step");
    char b32[64];
    es_base32_encode((const uint8_t *)"foobar", 6, b32);
    ok(strcmp(b32, "MZXW6YTBOI") == 0, "base32 as RFC 4648 (%s)", b32);
}

/* ---- The service. */

static es_err count_factor(void *ctx, const es_factor_info *f)
{
    (void)f;
    (*(int *)ctx)++;
    return ES_OK;
}

/* The code of the seed at now + d steps. */
static void code_at(const uint8_t *seed, size_t len, es_otp_alg alg, const es_factors *f, int d,
                    char out[16])
{
    es_otp_id id = {es_otp_time_factor(es_time_now(), f->step) + (uint64_t)(int64_t)d, 0, 0, NULL};
    if (es_otp_compute(alg, seed, len, &id, f->digits, out) != ES_OK) out[0] = 0;
}

typedef struct blob_cap {
    uint8_t p[1024];
    size_t n;
} blob_cap;

static es_err blob_row(void *ctx, const es_row *r)
{
    blob_cap *c = ctx;
    es_slice b = es_row_blob(r, 0);
    c->n = b.len < sizeof c->p ? b.len : 0;
    if (c->n) memcpy(c->p, b.p, c->n);
    return ES_OK;
}

static int mem_has(const uint8_t *hay, size_t hn, const uint8_t *needle, size_t nn)
{
    for (size_t i = 0; nn && i + nn <= hn; i++)
        if (memcmp(hay + i, needle, nn) == 0) return 1;
    return 0;
}

typedef struct racer {
    es_store *s;
    es_accounts a;
    const char *code;
    int64_t id;
    pthread_barrier_t *go;
    es_err rv;
} racer;

static pthread_barrier_t go;

static void *race(void *arg)
{
    racer *r = arg;
    es_user u;
    const char *why = NULL;
    es_factor_answer ans = {r->code, NULL, NULL};
    es_actor sys = {"system", 0, 0, 1};
    r->rv = es_acct_get(&r->a, &sys, "admin", &u);
    pthread_barrier_wait(r->go);
    if (r->rv == ES_OK) r->rv = svc_factor_check(&r->a, &u, &ans, 1, &why);
    return NULL;
}

static void suite(const char *kind, const char *url, es_factor_key *fkey)
{
    es_store *s = st_open_migrated(url);
    es_signer *audit_key = st_signer();
    es_factors fx = {fkey, 1, 1, 60, 6, 1, 120};
    es_accounts a = {s, audit_key, 30, 4, 15, &fx};
    es_actor sys = {"system", 0, 0, 1};
    char tok[ES_SESSION_TOKEN_HEX + 1], code[16];
    const char *why = NULL;
    es_user admin, u;
    es_factor_answer none = {NULL, NULL, NULL};

    ok(es_acct_create(&a, &sys, "admin", "", ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN), "Strong-Pass-2026!",
                      NULL, &admin, &why) == ES_OK,
       "%s: an administrator", kind);
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &none, "t", tok, &u) == ES_OK &&
           u.factor_needed,
       "%s: without a factor yet, a session limited to enrolment", kind);
    es_actor by = es_actor_of(&u);
    ok(es_acct_create(&a, &sys, "op", "", ES_ROLE_BIT(ES_ROLE_OPERATOR), "Operator-Pass-2026!",
                      NULL, NULL, &why) == ES_OK &&
           es_acct_login(&a, "op", "Operator-Pass-2026!", "t", tok, &u) == ES_OK &&
           !u.factor_needed,
       "%s: an operator signs in by password alone (operator_password_only)", kind);
    es_factors strict = fx;
    strict.operator_password_only = 0;
    ok(!es_factor_required(&fx, ES_ROLE_BIT(ES_ROLE_OPERATOR)) &&
           es_factor_required(&strict, ES_ROLE_BIT(ES_ROLE_OPERATOR)) &&
           es_factor_required(&fx, ES_ROLE_BIT(ES_ROLE_APPROVER)) &&
           es_factor_required(&fx, ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN)),
       "%s: every role beyond the operator needs one; operators too by configuration", kind);

    /* Enrolment: the seed once, pending until a first code. */
    uint8_t seed[ES_OTP_SEED_MAX];
    size_t seedlen = 0;
    ok(es_factor_otp_begin(&a, &by, ES_OTP_SM3, seed, &seedlen) == ES_OK && seedlen == 32,
       "%s: enrolment begins: a 256-bit seed", kind);
    blob_cap cap = {{0}, 0};
    es_value up[1] = {es_v_int(admin.id)};
    ok(es_store_query(s, "SELECT secret FROM user_factors WHERE user_id = ?", up, 1, blob_row,
                      &cap) == ES_OK &&
           cap.n > seedlen && !mem_has(cap.p, cap.n, seed, seedlen),
       "%s: the stored seed is encrypted (%zu bytes, the seed not in it)", kind, cap.n);
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &none, "t", tok, &u) == ES_OK &&
           u.factor_needed,
       "%s: pending is not enrolled: still limited", kind);
    ok(es_factor_otp_confirm(&a, &by, "000000") == ES_ERR_FACTOR_CODE ||
           es_factor_otp_confirm(&a, &by, "111111") == ES_ERR_FACTOR_CODE,
       "%s: a wrong first code refused", kind);
    code_at(seed, seedlen, ES_OTP_SM3, &fx, 0, code);
    ok(es_factor_otp_confirm(&a, &by, code) == ES_OK, "%s: the first code activates it", kind);
    int nf = 0;
    ok(es_factor_list(&a, &by, count_factor, &nf) == ES_OK && nf == 1, "%s: one factor listed",
       kind);
    uint8_t seed2[ES_OTP_SEED_MAX];
    size_t seed2len = 0;
    ok(es_factor_otp_begin(&a, &by, ES_OTP_SM3, seed2, &seed2len) == ES_ERR_EXISTS,
       "%s: a second token is not enrolled over an active one", kind);

    /* Sign-in with the factor. */
    es_factor_answer ans = {code, NULL, NULL};
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &ans, "t", tok, &u) == ES_ERR_AUTH,
       "%s: the code used for the enrolment is not accepted again (replay)", kind);
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &none, "t", tok, &u) == ES_ERR_AUTH,
       "%s: the password alone fails now", kind);
    code_at(seed, seedlen, ES_OTP_SM3, &fx, 1, code);
    ans.otp = code;
    ok(es_acct_login_factor(&a, "admin", "Wrong-Pass-2026!", &ans, "t", tok, &u) == ES_ERR_AUTH,
       "%s: the right code with a wrong password: refused (and not spent)", kind);
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &ans, "t", tok, &u) == ES_OK &&
           !u.factor_needed && u.failed_logins == 0,
       "%s: the code of the next step (drift +1) signs in; the count is cleared", kind);
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &ans, "t", tok, &u) == ES_ERR_AUTH,
       "%s: the same code twice: refused (replay)", kind);
    code_at(seed, seedlen, ES_OTP_SM3, &fx, 0, code);
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &ans, "t", tok, &u) == ES_ERR_AUTH,
       "%s: a code of a step before the last accepted: refused", kind);
    code_at(seed, seedlen, ES_OTP_SM3, &fx, 3, code);
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &ans, "t", tok, &u) == ES_ERR_AUTH,
       "%s: a code 3 steps ahead (outside the window of 1): refused", kind);
    ans.otp = "12345";
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &ans, "t", tok, &u) == ES_ERR_AUTH,
       "%s: a malformed code: refused", kind);
    es_user now;
    ok(es_acct_get(&a, &sys, "admin", &now) == ES_OK && now.failed_logins == 4 &&
           now.locked_until > es_time_now(),
       "%s: each failure counted like a wrong password: locked after 4 (%d)", kind,
       now.failed_logins);
    code_at(seed, seedlen, ES_OTP_SM3, &fx, 1, code);
    ans.otp = code;
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &ans, "t", tok, &u) == ES_ERR_AUTH,
       "%s: locked: even the right password and code are refused, as a wrong password is "
       "(issue 13, item 8)",
       kind);
    st_sql(s, "UPDATE users SET locked_until = NULL, failed_logins = 0 WHERE name = 'admin'");

    /* Two checks at once of one code (each on its own connection, released together; both
     * read the last accepted T before either records it): exactly one may win, every time.
     * The check is called directly so that the 64 MiB password hash does not spread them. */
    code_at(seed, seedlen, ES_OTP_SM3, &fx, 0, code);
    racer r[2];
    for (int i = 0; i < 2; i++) {
        r[i].s = st_open(url);
        r[i].a = (es_accounts){r[i].s, audit_key, 30, 4, 15, &fx};
        r[i].code = code;
        r[i].id = admin.id;
        r[i].go = &go;
    }
    int pairs = 0, one_won = 0;
    for (int round = 0; round < 10; round++) {
        char q[128];
        snprintf(q, sizeof q, "UPDATE user_factors SET last_t = 0 WHERE user_id = %lld",
                 (long long)admin.id);
        st_sql(s, q);
        pthread_t th[2];
        int started = 0;
        if (pthread_barrier_init(&go, NULL, 2) != 0) break;
        for (int i = 0; i < 2; i++) started += pthread_create(&th[i], NULL, race, &r[i]) == 0;
        for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        if (started != 2) break;
        pairs++;
        one_won += (r[0].rv == ES_OK) + (r[1].rv == ES_OK) == 1 &&
                   (r[0].rv == ES_ERR_AUTH || r[1].rv == ES_ERR_AUTH);
    }
    ok(pairs == 10 && one_won == 10,
       "%s: one code checked twice at once, 10 times: one wins each time (%d of %d)", kind, one_won,
       pairs);
    for (int i = 0; i < 2; i++) es_store_close(r[i].s);
    st_sql(s, "UPDATE users SET locked_until = NULL, failed_logins = 0 WHERE name = 'admin'");

    /* A second administrator and a seed moved between accounts. */
    es_user adm2;
    ok(es_acct_create(&a, &sys, "admin2", "", ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN),
                      "Second-Admin-2026!", NULL, &adm2, &why) == ES_OK,
       "%s: a second administrator", kind);
    es_actor by2 = es_actor_of(&adm2);
    uint8_t s2[ES_OTP_SEED_MAX];
    size_t s2len = 0;
    char c2[16];
    ok(es_factor_otp_begin(&a, &by2, ES_OTP_SM4, s2, &s2len) == ES_OK && s2len == 16,
       "%s: an SM4 token for admin2", kind);
    code_at(s2, s2len, ES_OTP_SM4, &fx, 0, c2);
    ok(es_factor_otp_confirm(&a, &by2, c2) == ES_OK, "%s: confirmed", kind);
    /* Someone with the database copies admin's encrypted seed over admin2's, hoping admin2's
     * codes then come from a seed they know. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE user_factors SET secret = (SELECT secret FROM user_factors WHERE user_id = "
             "%lld AND kind = 'otp'), alg = 'sm3' WHERE user_id = %lld AND kind = 'otp'",
             (long long)admin.id, (long long)adm2.id);
    st_sql(s, sql);
    code_at(seed, seedlen, ES_OTP_SM3, &fx, 1, c2);
    es_factor_answer moved = {c2, NULL, NULL};
    ok(es_acct_login_factor(&a, "admin2", "Second-Admin-2026!", &moved, "t", tok, &u) ==
           ES_ERR_AUTH,
       "%s: a seed moved to another account does not sign it in", kind);

    /* Reset: not oneself, not by a role without account management, by another admin. */
    es_user biz;
    ok(es_acct_create(&a, &sys, "biz", "", ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN), "Business-2026-Pw!",
                      NULL, &biz, &why) == ES_OK,
       "%s: a business administrator", kind);
    es_actor bb = es_actor_of(&biz);
    ok(es_factor_reset(&a, &by2, "admin2") == ES_ERR_DENIED, "%s: nobody resets their own", kind);
    ok(es_factor_reset(&a, &bb, "admin2") == ES_ERR_DENIED,
       "%s: a business administrator cannot reset an administrator's factor", kind);
    ok(es_factor_reset(&a, &by, "admin2") == ES_OK, "%s: another administrator resets it", kind);
    ok(es_acct_login_factor(&a, "admin2", "Second-Admin-2026!", &none, "t", tok, &u) == ES_OK &&
           u.factor_needed,
       "%s: after the reset: enrolment again", kind);
    es_user aud, aud2;
    ok(es_acct_create(&a, &sys, "aud", "", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), "Reader-Pass-2026!",
                      NULL, &aud, &why) == ES_OK &&
           es_acct_create(&a, &sys, "aud2", "", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN),
                          "Reader2-Pass-2026!", NULL, &aud2, &why) == ES_OK,
       "%s: two audit administrators", kind);
    es_actor ba = es_actor_of(&aud2);
    ok(es_factor_reset(&a, &by, "aud") == ES_ERR_DENIED,
       "%s: the system administrator cannot reset an audit administrator's factor", kind);
    ok(es_factor_reset(&a, &ba, "aud") == ES_OK, "%s: another audit administrator can", kind);
    ok(es_factor_reset(&a, &ba, "biz") == ES_ERR_DENIED,
       "%s: an audit administrator cannot reset a business account's", kind);

    /* SM2 challenge-response with a key. */
    es_signer *key = st_signer();
    char nonce[65], text[ES_FACTOR_CHALLENGE_MAX];
    int64_t exp = 0;
    es_buf sig, b64;
    es_buf_init(&sig, 256);
    es_buf_init(&b64, 512);
    es_actor bz = es_actor_of(&biz);
    ok(es_factor_challenge(&a, "biz", nonce, text, &exp) == ES_OK &&
           es_signer_sign_message(key, ES_SM2_DEFAULT_ID, text, strlen(text), &sig) == ES_OK &&
           es_base64_encode(sig.p, sig.len, &b64) == ES_OK && es_buf_nul(&b64) == ES_OK,
       "%s: a challenge, signed", kind);
    ok(es_factor_sm2_enrol(&a, &bz, NULL, 0, key->pub, nonce, (const char *)b64.p) == ES_OK,
       "%s: the SM2 key enrolled with its proof of possession", kind);
    ok(es_factor_sm2_enrol(&a, &bz, NULL, 0, key->pub, nonce, (const char *)b64.p) == ES_ERR_EXISTS,
       "%s: not twice", kind);
    es_factor_answer sa = {NULL, nonce, (const char *)b64.p};
    ok(es_acct_login_factor(&a, "biz", "Business-2026-Pw!", &sa, "t", tok, &u) == ES_ERR_AUTH,
       "%s: the enrolment's challenge does not sign in again (single use)", kind);
    sig.len = 0;
    b64.len = 0;
    ok(es_factor_challenge(&a, "biz", nonce, text, &exp) == ES_OK &&
           es_signer_sign_message(key, ES_SM2_DEFAULT_ID, text, strlen(text), &sig) == ES_OK &&
           es_base64_encode(sig.p, sig.len, &b64) == ES_OK && es_buf_nul(&b64) == ES_OK,
       "%s: a fresh challenge, signed", kind);
    sa.signature = (const char *)b64.p;
    sa.challenge = nonce;
    es_factor_answer wrong_name = sa;
    ok(es_acct_login_factor(&a, "admin", "Strong-Pass-2026!", &wrong_name, "t", tok, &u) ==
           ES_ERR_AUTH,
       "%s: biz's challenge does not answer for admin", kind);
    ok(es_acct_login_factor(&a, "biz", "Business-2026-Pw!", &sa, "t", tok, &u) == ES_OK,
       "%s: the signed challenge signs biz in", kind);
    ok(es_acct_login_factor(&a, "biz", "Business-2026-Pw!", &sa, "t", tok, &u) == ES_ERR_AUTH,
       "%s: and only once", kind);
    es_signer *other = st_signer();
    sig.len = 0;
    b64.len = 0;
    ok(es_factor_challenge(&a, "biz", nonce, text, &exp) == ES_OK &&
           es_signer_sign_message(other, ES_SM2_DEFAULT_ID, text, strlen(text), &sig) == ES_OK &&
           es_base64_encode(sig.p, sig.len, &b64) == ES_OK && es_buf_nul(&b64) == ES_OK,
       "%s: a challenge signed by another key", kind);
    sa.signature = (const char *)b64.p;
    ok(es_acct_login_factor(&a, "biz", "Business-2026-Pw!", &sa, "t", tok, &u) == ES_ERR_AUTH,
       "%s: another key's signature refused", kind);
    es_signer_free(other);
    es_signer_free(key);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&b64);

    /* Nothing secret in the audit trail; the trail verifies. */
    char seedhex[2 * ES_OTP_SEED_MAX + 1];
    es_hex_encode(seed, seedlen, seedhex);
    int64_t leaks = -1;
    es_value lp[1] = {es_v_text(seedhex)};
    ok(es_store_query_int(s, "SELECT count(*) FROM audit WHERE detail LIKE '%' || ? || '%'", lp, 1,
                          &leaks) == ES_OK &&
           leaks == 0,
       "%s: the seed is nowhere in the audit trail", kind);
    ok(st_audit_count(s, "user.factor_reset") == 2 &&
           st_audit_count(s, "user.factor_enrolled") == 3,
       "%s: resets and enrolments audited", kind);
    es_audit_report rep;
    memset(&rep, 0, sizeof rep);
    ok(es_audit_verify_store(s, audit_key->pub, &rep) == ES_OK && rep.n_findings == 0,
       "%s: the audit chain verifies", kind);
    es_audit_report_cleanup(&rep);
    es_wipe(seed, sizeof seed);
    es_signer_free(audit_key);
    es_store_close(s);
}

/* ---- The API of a node with the factor enforced (the default configuration). */

static const char *str_of(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static int http(unsigned port, const char *method, const char *path, const char *tok,
                const char *body, json_t **out)
{
    char hdr[256];
    t_resp r;
    t_resp_init(&r);
    snprintf(hdr, sizeof hdr, "%s%s%sContent-Type: application/json\r\n",
             tok ? "Authorization: Bearer " : "", tok ? tok : "", tok ? "\r\n" : "");
    int st = t_req(port, method, path, hdr, body, &r);
    if (out) *out = r.body.len ? json_loadb((const char *)r.body.p, r.body.len, 0, NULL) : NULL;
    t_resp_free(&r);
    return st;
}

static void test_api(void)
{
    char var[] = "/tmp/eseal-otpapi-XXXXXX", outp[64], why[600] = "", otp[64] = "";
    if (!mkdtemp(var)) return;
    snprintf(outp, sizeof outp, "%s.out", var);
    FILE *out = fopen(outp, "w");
    if (!out) return;
    es_node *n = NULL;
    es_node_opts o = {NULL, "127.0.0.1:0", var, out};
    es_err rv = es_node_start(&o, &n, why, sizeof why);
    fflush(out);
    es_buf b;
    es_buf_init(&b, 1u << 20);
    if (es_file_read(outp, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
        const char *p = strstr((const char *)b.p, "one-time password for admin: ");
        if (p) sscanf(p + 29, "%63s", otp);
    }
    es_buf_cleanup(&b);
    ok(rv == ES_OK && otp[0], "api: a node starts with the defaults ([factors] enforce) (%s)", why);
    if (rv != ES_OK) return;
    unsigned port = es_node_port(n);
    char body[512], tok[80] = "", code[16];
    json_t *v = NULL;
    snprintf(body, sizeof body, "{\"username\":\"admin\",\"password\":\"%s\"}", otp);
    int st = http(port, "POST", "/api/v1/sessions", NULL, body, &v);
    const char *t = json_string_value(json_object_get(v, "token"));
    if (t) snprintf(tok, sizeof tok, "%s", t);
    ok(st == 201 &&
           json_is_true(json_object_get(json_object_get(v, "user"), "factor_enrolment_required")),
       "api: the first sign-in says a factor must be enrolled (%d)", st);
    json_decref(v);
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"Factor-Test-2026!\"}",
             otp);
    ok(http(port, "POST", "/api/v1/users/me/password", tok, body, NULL) == 200,
       "api: the password may be changed before enrolment");
    st = http(port, "GET", "/api/v1/users", tok, NULL, &v);
    ok(st == 403 && strcmp(str_of(v, "error"), "factor_enrolment_required") == 0,
       "api: anything else is refused: 403 factor_enrolment_required (%d)", st);
    json_decref(v);
    st = http(port, "POST", "/api/v1/users/me/factors/otp", tok, "{\"algorithm\":\"sm3\"}", &v);
    const char *sh = json_string_value(json_object_get(v, "seed_hex"));
    es_buf seed;
    es_buf_init(&seed, 64);
    ok(st == 201 && sh && es_hex_decode(sh, strlen(sh), &seed) == ES_OK && seed.len == 32 &&
           json_string_value(json_object_get(v, "uri")),
       "api: enrolment shows the seed once (%d)", st);
    json_decref(v);
    es_factors fx = {NULL, 1, 1, 60, 6, 1, 120};
    code_at(seed.p, seed.len, ES_OTP_SM3, &fx, 0, code);
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
    st = http(port, "POST", "/api/v1/users/me/factors/otp/confirm", tok, body, &v);
    ok(st == 200 && !json_is_true(json_object_get(v, "enrolment_required")),
       "api: confirmed with a first code (%d)", st);
    json_decref(v);
    ok(http(port, "GET", "/api/v1/users", tok, NULL, NULL) == 200,
       "api: the session may do its work now");
    /* Sign-in: a wrong code and a wrong password get the same answer. */
    json_t *w1 = NULL, *w2 = NULL;
    int s1 =
        http(port, "POST", "/api/v1/sessions", NULL,
             "{\"username\":\"admin\",\"password\":\"Factor-Test-2026!\",\"otp\":\"000000\"}", &w1);
    int s2 =
        http(port, "POST", "/api/v1/sessions", NULL,
             "{\"username\":\"admin\",\"password\":\"Wrong-Pass-2026!\",\"otp\":\"000000\"}", &w2);
    char *d1 = w1 ? json_dumps(w1, JSON_SORT_KEYS) : NULL,
         *d2 = w2 ? json_dumps(w2, JSON_SORT_KEYS) : NULL;
    ok(s1 == 401 && s2 == 401 && d1 && d2 && strcmp(d1, d2) == 0,
       "api: a wrong code answers exactly as a wrong password (%d %d)", s1, s2);
    free(d1);
    free(d2);
    json_decref(w1);
    json_decref(w2);
    int s3 = http(port, "POST", "/api/v1/sessions", NULL,
                  "{\"username\":\"admin\",\"password\":\"Factor-Test-2026!\"}", NULL);
    ok(s3 == 401, "api: the password alone: 401 (%d)", s3);
    code_at(seed.p, seed.len, ES_OTP_SM3, &fx, 1, code);
    snprintf(body, sizeof body,
             "{\"username\":\"admin\",\"password\":\"Factor-Test-2026!\",\"otp\":\"%s\"}", code);
    st = http(port, "POST", "/api/v1/sessions", NULL, body, &v);
    ok(st == 201 &&
           !json_is_true(json_object_get(json_object_get(v, "user"), "factor_enrolment_required")),
       "api: password and dynamic password sign in (%d)", st);
    json_decref(v);
    ok(http(port, "POST", "/api/v1/sessions", NULL, body, NULL) == 401,
       "api: the same code again: 401 (replay)");
    st = http(port, "POST", "/api/v1/sessions/challenge", NULL, "{\"username\":\"nobody\"}", &v);
    ok(st == 201 && json_string_value(json_object_get(v, "nonce")) &&
           strncmp(str_of(v, "challenge"), "eseal-signin\n", 13) == 0,
       "api: a challenge for any name (%d)", st);
    json_decref(v);
    ok(http(port, "DELETE", "/api/v1/users/admin/factors", tok, NULL, NULL) == 403,
       "api: nobody resets their own factor");
    /* An operator (password alone by default) may not reset anyone's factor. */
    st =
        http(port, "POST", "/api/v1/users", tok, "{\"name\":\"op1\",\"roles\":[\"operator\"]}", &v);
    char opw[64] = "", otok[80] = "";
    snprintf(opw, sizeof opw, "%s", str_of(v, "one_time_password"));
    json_decref(v);
    snprintf(body, sizeof body, "{\"username\":\"op1\",\"password\":\"%s\"}", opw);
    st = http(port, "POST", "/api/v1/sessions", NULL, body, &v);
    snprintf(otok, sizeof otok, "%s", str_of(v, "token"));
    ok(st == 201 &&
           !json_is_true(json_object_get(json_object_get(v, "user"), "factor_enrolment_required")),
       "api: an operator signs in by password alone (%d)", st);
    json_decref(v);
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"Operator-2026-Pw!\"}",
             opw);
    http(port, "POST", "/api/v1/users/me/password", otok, body, NULL);
    st = http(port, "DELETE", "/api/v1/users/admin/factors", otok, NULL, &v);
    ok(st == 403 && strcmp(str_of(v, "error"), "forbidden") == 0,
       "api: an operator cannot reset the administrator's factor (%d %s)", st, str_of(v, "error"));
    json_decref(v);
    es_buf_cleanup_secret(&seed);
    es_node_stop(n);
    fclose(out);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", var, outp);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", var);
}

static void test_config(void)
{
    es_config c;
    char why[200] = "";
    es_config_defaults(&c, "var");
    ok(c.factor_enforce && c.factor_operator_password_only && c.factor_step == 60 &&
           c.factor_digits == 6 && c.factor_window == 1,
       "config: the factor is enforced by default; operators may use a password alone");
    static const char text[] = "[factors]\nenforce = false\noperator_password_only = false\n"
                               "step_seconds = 30\ndigits = 8\nwindow = 2\n";
    ok(es_config_parse(text, sizeof text - 1, &c, why, sizeof why) == ES_OK && !c.factor_enforce &&
           !c.factor_operator_password_only && c.factor_step == 30 && c.factor_digits == 8 &&
           c.factor_window == 2,
       "config: [factors] read (%s)", why);
    static const char bad[] = "[factors]\ndigits = 5\n";
    ok(es_config_parse(bad, sizeof bad - 1, &c, why, sizeof why) == ES_ERR_CONFIG,
       "config: 5 digits refused (%s)", why);
    static const char bad3[] = "[factors]\nstep_seconds = 61\n";
    ok(es_config_parse(bad3, sizeof bad3 - 1, &c, why, sizeof why) == ES_ERR_CONFIG,
       "config: a step over 60 s refused (GM/T 0021) (%s)", why);
    static const char bad2[] = "[factors]\nenforce = no\n";
    ok(es_config_parse(bad2, sizeof bad2 - 1, &c, why, sizeof why) == ES_ERR_CONFIG,
       "config: enforce is true or false (%s)", why);
}

int main(void)
{
    test_compute();
    test_config();
    /* The seeds key: a soft key in a fresh directory, under a test PIN. */
    char dir[512], ref[600], why[300] = "";
    snprintf(dir, sizeof dir, "%s/factor-keys", st_tmp());
    if (mkdir(dir, 0700) != 0) st_die("mkdir %s", dir);
    snprintf(ref, sizeof ref, "soft:%s#factor", dir);
    setenv("ESEAL_TEST_FACTOR_PIN", "factor-test-pin", 1);
    es_secret_src pin = es_secret_env("ESEAL_TEST_FACTOR_PIN");
    es_factor_key *fk = NULL;
    ok(es_factor_key_open(ref, &pin, 1, &fk, why, sizeof why) == ES_OK,
       "the seeds key made and opened (%s)", why);
    es_factor_key *again = NULL;
    setenv("ESEAL_TEST_FACTOR_PIN", "not-the-pin-at-all", 1);
    ok(es_factor_key_open(ref, &pin, 1, &again, why, sizeof why) != ES_OK && !again,
       "with another PIN it does not open");
    if (fk) {
        suite("sqlite", st_sqlite_db("otp"), fk);
        if (st_pg_ready()) suite("postgresql", st_pg_db("otp"), fk);
    }
    es_factor_key_free(fk);
    test_api();
    return t_done();
}
