/* Roles, separation of duties, permissions and passwords (include/eseal/auth.h). */
#include <argon2.h>
#include <stdatomic.h>
#include <string.h>

#include "eseal/auth.h"
#include "eseal/crypto.h"

static const char *const role_names[ES_ROLE_COUNT] = {
    [ES_ROLE_SYSTEM_ADMIN] = "system_admin", [ES_ROLE_BUSINESS_ADMIN] = "business_admin",
    [ES_ROLE_AUDIT_ADMIN] = "audit_admin",   [ES_ROLE_SEAL_ISSUER] = "seal_issuer",
    [ES_ROLE_REVIEWER] = "reviewer",         [ES_ROLE_APPROVER] = "approver",
    [ES_ROLE_OPERATOR] = "operator",         [ES_ROLE_SEAL_KEEPER] = "seal_keeper",
};

static const char *const perm_names[ES_PERM_COUNT] = {
    [ES_PERM_ACCOUNTS] = "accounts",
    [ES_PERM_CLIENTS] = "clients",
    [ES_PERM_AUDIT] = "audit",
    [ES_PERM_SETTINGS] = "settings",
    [ES_PERM_SEAL_APPLY] = "seal_apply",
    [ES_PERM_SEAL_REVIEW] = "seal_review",
    [ES_PERM_SEAL_MAKE] = "seal_make",
    [ES_PERM_SIGN_REQUEST] = "sign_request",
    [ES_PERM_SIGN_APPROVE] = "sign_approve",
    [ES_PERM_SIGN] = "sign",
    [ES_PERM_SEAL_KEEP] = "seal_keep",
    [ES_PERM_VERIFY] = "verify",
    [ES_PERM_AUDIT_ACCOUNTS] = "audit_accounts",
};

#define P(x) ((uint32_t)1 << (x))

/* Least privilege: each role gets the families its person needs and nothing else. Who
 * reviews is never who applies; who approves a signature is never who requests it. */
static const uint32_t grants[ES_ROLE_COUNT] = {
    [ES_ROLE_SYSTEM_ADMIN] = P(ES_PERM_ACCOUNTS) | P(ES_PERM_VERIFY),
    [ES_ROLE_BUSINESS_ADMIN] = P(ES_PERM_CLIENTS) | P(ES_PERM_SETTINGS) | P(ES_PERM_VERIFY),
    [ES_ROLE_AUDIT_ADMIN] = P(ES_PERM_AUDIT) | P(ES_PERM_AUDIT_ACCOUNTS) | P(ES_PERM_VERIFY),
    [ES_ROLE_SEAL_ISSUER] = P(ES_PERM_SEAL_APPLY) | P(ES_PERM_SEAL_MAKE) | P(ES_PERM_VERIFY),
    [ES_ROLE_REVIEWER] = P(ES_PERM_SEAL_REVIEW) | P(ES_PERM_VERIFY),
    [ES_ROLE_APPROVER] = P(ES_PERM_SIGN_APPROVE) | P(ES_PERM_VERIFY),
    [ES_ROLE_OPERATOR] = P(ES_PERM_SIGN_REQUEST) | P(ES_PERM_SIGN) | P(ES_PERM_VERIFY),
    [ES_ROLE_SEAL_KEEPER] = P(ES_PERM_SEAL_KEEP) | P(ES_PERM_SIGN) | P(ES_PERM_VERIFY),
};

const char *es_role_name(es_role r)
{
    return (unsigned)r < ES_ROLE_COUNT ? role_names[r] : NULL;
}

es_err es_role_parse(const char *name, es_role *out)
{
    for (int i = 0; name && i < ES_ROLE_COUNT; i++) {
        if (strcmp(role_names[i], name) == 0) {
            *out = (es_role)i;
            return ES_OK;
        }
    }
    return ES_ERR_ARG;
}

const char *es_perm_name(es_perm p)
{
    return (unsigned)p < ES_PERM_COUNT ? perm_names[p] : NULL;
}

int es_roles_allow(es_roles roles, es_perm p)
{
    if ((unsigned)p >= ES_PERM_COUNT) return 0;
    for (int r = 0; r < ES_ROLE_COUNT; r++)
        if ((roles & ES_ROLE_BIT(r)) && (grants[r] & P(p))) return 1;
    return 0;
}

int es_roles_may_manage(es_roles actor, es_roles target)
{
    const es_roles audit = ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN);
    if (target == 0) return 0;
    /* LD/T 01.1 9.4: the audit administrator is independent of the others; nobody else may
     * create one, reset its password (and sign in as it), demote or disable it. */
    if (target & audit) return target == audit && es_roles_allow(actor, ES_PERM_AUDIT_ACCOUNTS);
    return es_roles_allow(actor, ES_PERM_ACCOUNTS);
}

es_err es_roles_check(es_roles roles, const char **why)
{
    const es_roles all = ES_ROLE_BIT(ES_ROLE_COUNT) - 1;
    const es_roles sys = ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN);
    const es_roles audit = ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN);
    const es_roles business = all & ~sys & ~audit;
    const char *reason = NULL;
    if (roles & ~all)
        reason = "unknown role";
    else if ((roles & audit) && (roles & (business | sys)))
        reason = "audit duties cannot be combined with business or system duties";
    else if ((roles & sys) && (roles & business))
        reason = "system administration cannot be combined with business duties";
    if (why) *why = reason;
    return reason ? ES_ERR_ARG : ES_OK;
}

/* argon2id: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended option, one lane). */
#define A2_T    3
#define A2_M    (64u * 1024)
#define A2_P    1
#define A2_SALT 16
#define A2_HASH 32

static atomic_uint_fast64_t n_real, n_dummy, n_hash;

uint64_t es_password_hashes(void)
{
    return (uint64_t)atomic_load(&n_hash);
}

es_err es_password_hash(const char *password, char out[ES_PASSWORD_HASH_MAX])
{
    uint8_t salt[A2_SALT];
    if (!password || strlen(password) > ES_PASSWORD_MAX) return ES_ERR_ARG;
    if (es_random(salt, sizeof salt) != ES_OK) return ES_ERR_CRYPTO;
    atomic_fetch_add(&n_hash, 1);
    int rc = argon2id_hash_encoded(A2_T, A2_M, A2_P, password, strlen(password), salt, sizeof salt,
                                   A2_HASH, out, ES_PASSWORD_HASH_MAX);
    return rc == ARGON2_OK ? ES_OK : ES_ERR_CRYPTO;
}

void es_password_verifications(uint64_t *real, uint64_t *dummy)
{
    if (real) *real = (uint64_t)atomic_load(&n_real);
    if (dummy) *dummy = (uint64_t)atomic_load(&n_dummy);
}

es_err es_password_verify(const char *encoded, const char *password)
{
    if (!encoded || !password || strncmp(encoded, "$argon2id$", 10) != 0) return ES_ERR_FORMAT;
    if (strlen(password) > ES_PASSWORD_MAX) return ES_ERR_PASSWORD;
    atomic_fetch_add(&n_real, 1);
    int rc = argon2id_verify(encoded, password, strlen(password));
    if (rc == ARGON2_OK) return ES_OK;
    return rc == ARGON2_VERIFY_MISMATCH ? ES_ERR_PASSWORD : ES_ERR_FORMAT;
}

/* A hash of 24 random letters that were thrown away, with the parameters of es_password_hash
 * (only its cost matters: no password is ever compared with it to let anyone in). */
static const char dummy_hash[] = "$argon2id$v=19$m=65536,t=3,p=1$8/tjJsKtU3Uigr+6Oy/jYg$"
                                 "QntpaRJD32+Pea9Xtya9QNmqJ7JU3drHA0dygfa2Qvo";

void es_password_verify_dummy(const char *password)
{
    size_t n = password ? strlen(password) : 0;
    atomic_fetch_add(&n_dummy, 1);
    if (n > ES_PASSWORD_MAX) n = ES_PASSWORD_MAX;
    (void)argon2id_verify(dummy_hash, password ? password : "", n);
}

/* 1 when hay contains needle, ASCII letters compared without case. */
static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i]) {
            unsigned char a = (unsigned char)hay[i], b = (unsigned char)needle[i];
            if (a >= 'A' && a <= 'Z') a = (unsigned char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z') b = (unsigned char)(b - 'A' + 'a');
            if (a != b) break;
            i++;
        }
        if (i == n) return 1;
    }
    return 0;
}

es_err es_password_policy(const char *pw, const char *account, const char **why)
{
    const char *reason = NULL;
    size_t n = pw ? strlen(pw) : 0;
    int lower = 0, upper = 0, digit = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)pw[i];
        if (c >= 'a' && c <= 'z')
            lower = 1;
        else if (c >= 'A' && c <= 'Z')
            upper = 1;
        else if (c >= '0' && c <= '9')
            digit = 1;
        else
            other = 1;
    }
    if (n < ES_PASSWORD_MIN)
        reason = "a password needs 12 characters at least";
    else if (n > ES_PASSWORD_MAX)
        reason = "a password has 128 bytes at most";
    else if (account && strlen(account) >= 3 && contains_nocase(pw, account))
        reason = "a password cannot contain the account name";
    else if (lower + upper + digit + other < 3)
        reason = "a password needs three of: lower case, upper case, digits, other characters";
    if (why) *why = reason;
    return reason ? ES_ERR_ARG : ES_OK;
}

es_err es_password_generate(char out[32])
{
    /* 24 characters from an alphabet without look-alikes; one of each class guaranteed. */
    static const char lower[] = "abcdefghijkmnpqrstuvwxyz", upper[] = "ABCDEFGHJKLMNPQRSTUVWXYZ",
                      digits[] = "23456789",
                      mixed[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRST"
                                "UVWXYZ23456789";
    uint8_t r[24];
    if (es_random(r, sizeof r) != ES_OK) return ES_ERR_CRYPTO;
    for (int i = 0; i < 24; i++) out[i] = mixed[r[i] % (sizeof mixed - 1)];
    out[r[0] % 8] = lower[r[1] % (sizeof lower - 1)];
    out[8 + r[2] % 8] = upper[r[3] % (sizeof upper - 1)];
    out[16 + r[4] % 8] = digits[r[5] % (sizeof digits - 1)];
    out[24] = 0;
    es_wipe(r, sizeof r);
    return ES_OK;
}
