/* eseal otp: the second factor of staff accounts (issue 13 item 10; GB/T 39786 level 3, named by
 * LD/T 01.1 9.1: users authenticated by cryptographic means). docs/accounts.md, "Second factor".
 *
 * Two kinds of factor, each enrolled per account:
 *   - a dynamic password (动态口令) as GM/T 0021 tokens compute it: ID = T || C || Q (T the
 *     time factor, 8 bytes big-endian, seconds / step; C the event counter, 4 bytes; Q a
 *     challenge, ASCII), zero-padded to 16 bytes at least; S = SM3(K || ID), or SM4 with the
 *     seed K as key over ID; OD = the sum mod 2^32 of S's 32-bit big-endian words; the code is
 *     OD mod 10^N, N digits with leading zeros;
 *   - SM2 challenge-response: the person's key (in a USBKey, reached over SKF) signs a
 *     challenge text the server made, once, before it expires.
 *
 * Seeds are kept SM2-encrypted to the site's seeds key ([keys] factor, a key device that can
 * decrypt), bound to the account, never logged or audited; they are shown once, at enrolment.
 */
#ifndef ESEAL_OTP_H
#define ESEAL_OTP_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/accounts.h"
#include "eseal/err.h"
#include "eseal/keydev.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef enum es_otp_alg { ES_OTP_SM3 = 1, ES_OTP_SM4 = 2 } es_otp_alg;

#define ES_OTP_SEED_MIN   16 /* GM/T 0021: a seed of 128 bits at least */
#define ES_OTP_SEED_MAX   64
#define ES_OTP_SEED_SM3   32 /* what enrolment generates */
#define ES_OTP_SEED_SM4   16 /* the SM4 key */
#define ES_OTP_Q_MAX      64
#define ES_OTP_DIGITS_MIN 6
#define ES_OTP_DIGITS_MAX 8

/* The factors of ID: T always (time tokens), C and Q when has_c / q are set. */
typedef struct es_otp_id {
    uint64_t t;
    int has_c;
    uint32_t c;
    const char *q; /* NULL: none; else 4..ES_OTP_Q_MAX ASCII characters */
} es_otp_id;

/* "sm3" / "sm4"; NULL for an unknown one. es_otp_alg_parse: ES_ERR_ARG when unknown. */
const char *es_otp_alg_name(es_otp_alg alg);
es_err es_otp_alg_parse(const char *name, es_otp_alg *out) ES_MUST_CHECK;

/* The N-digit code (NUL-terminated, leading zeros kept) of seed for id. SM3: seed of
 * ES_OTP_SEED_MIN..MAX bytes; SM4: exactly 16 (the key), and an ID longer than one block is
 * chained as CBC with a zero IV, the last block being S (our choice where the text we could
 * read is silent: docs/accounts.md). ES_ERR_ARG for a bad seed length, digits, or Q. */
es_err es_otp_compute(es_otp_alg alg, const uint8_t *seed, size_t seedlen, const es_otp_id *id,
                      unsigned digits, char out[ES_OTP_DIGITS_MAX + 1]) ES_MUST_CHECK;

/* The time factor T of a time in seconds: floor(now / step). */
uint64_t es_otp_time_factor(int64_t now, unsigned step);

/* RFC 4648 base32 (no padding) of bytes, for soft tokens' provisioning; out holds at least
 * (len * 8 + 4) / 5 + 1 characters. */
void es_base32_encode(const uint8_t *in, size_t len, char *out);

/* The site's seeds key: an SM2 key in a key device that decrypts (soft: the site's key store
 * under its PIN). Thread-safe: decryptions are serialised. */
typedef struct es_factor_key es_factor_key;
/* Opens ref and logs in with pin; a soft key that does not exist is generated when create is
 * set. why gets a sentence on failure. */
es_err es_factor_key_open(const char *ref, const es_secret_src *pin, int create,
                          es_factor_key **out, char *why, size_t whylen) ES_MUST_CHECK;
void es_factor_key_free(es_factor_key *k);

/* The second-factor policy and the seeds key of a daemon ([factors], docs/esealsd.md). */
typedef struct es_factors {
    es_factor_key *key;         /* not owned; NULL: no dynamic-password enrolment */
    int enforce;                /* 0: password alone for every account (test sites only) */
    int operator_password_only; /* 1: an account whose only role is operator needs none */
    unsigned step;              /* seconds per time step (T = now / step) */
    unsigned digits;            /* N */
    unsigned window;            /* codes of T - window .. T + window are accepted */
    unsigned challenge_seconds; /* an SM2 challenge expires after this */
} es_factors;

/* What a person answers at sign-in besides the password (any member may be NULL). */
typedef struct es_factor_answer {
    const char *otp;       /* the code of their dynamic-password token */
    const char *challenge; /* the nonce (hex) of a challenge from es_factor_challenge */
    const char *signature; /* their SM2 signature of the challenge text (base64 DER) */
} es_factor_answer;

/* 1 when an account with these roles must have a second factor under f. */
int es_factor_required(const es_factors *f, es_roles roles);

/* Sets u->factor_needed: the factor is required and none is active (the session may only
 * enrol one, change the password, or end). With a->factors NULL: 0. */
es_err es_factor_state(es_accounts *a, es_user *u) ES_MUST_CHECK;

/* Signs in with a second factor: es_acct_login with ans checked by svc_factor_check. */
es_err es_acct_login_factor(es_accounts *a, const char *name, const char *password,
                            const es_factor_answer *ans, const char *from,
                            char token[ES_SESSION_TOKEN_HEX + 1], es_user *out) ES_MUST_CHECK;

/* An enrolled factor as listed. */
typedef struct es_factor_info {
    char kind[8];  /* "otp" or "sm2" */
    char state[8]; /* "pending" or "active" */
    char alg[8];   /* otp: "sm3" / "sm4"; sm2: "" */
    int64_t created_at;
} es_factor_info;
typedef es_err (*es_factor_cb)(void *ctx, const es_factor_info *f);
/* The factors of the signed-in account by. */
es_err es_factor_list(es_accounts *a, const es_actor *by, es_factor_cb cb, void *ctx) ES_MUST_CHECK;

/* Starts the enrolment of a dynamic-password token for the account by: a fresh seed of the
 * algorithm's length, kept pending until es_factor_otp_confirm. The seed is written once into
 * seed / *seedlen (the caller shows it and wipes it). ES_ERR_EXISTS when an active one is
 * enrolled (another administrator resets it first); ES_ERR_UNAVAILABLE without a seeds key. */
es_err es_factor_otp_begin(es_accounts *a, const es_actor *by, es_otp_alg alg,
                           uint8_t seed[ES_OTP_SEED_MAX], size_t *seedlen) ES_MUST_CHECK;
/* Activates the pending token with a first code (drift window as at sign-in). ES_ERR_NOT_FOUND
 * when none is pending, ES_ERR_FACTOR_CODE for a wrong code. */
es_err es_factor_otp_confirm(es_accounts *a, const es_actor *by, const char *code) ES_MUST_CHECK;

/* A challenge for name (any name: the answer says nothing of the account): nonce (64 hex) and
 * the text to sign, expiring after challenge_seconds. */
#define ES_FACTOR_CHALLENGE_MAX 256
es_err es_factor_challenge(es_accounts *a, const char *name, char nonce[65],
                           char text[ES_FACTOR_CHALLENGE_MAX], int64_t *expires_at) ES_MUST_CHECK;
/* The text signed for a challenge ("eseal-signin\nuser:NAME\nnonce:HEX\nexpires:ISO"). */
void es_factor_challenge_text(const char *name, const char *nonce, int64_t expires_at,
                              char out[ES_FACTOR_CHALLENGE_MAX]);
/* Enrols the SM2 key of the account by: cert (DER certificate, or NULL) or pub, proven by a
 * signature (base64 DER) of a live challenge of by's name. ES_ERR_EXISTS when one is active,
 * ES_ERR_AUTH when the challenge or signature is not good. */
es_err es_factor_sm2_enrol(es_accounts *a, const es_actor *by, const uint8_t *cert, size_t certlen,
                           const uint8_t pub[ES_SM2_PUB_LEN], const char *challenge,
                           const char *signature) ES_MUST_CHECK;

/* Another administrator removes every factor of name (lost token) and ends its sessions; the
 * account enrols again at its next sign-in. Audit administrators are reset by another audit
 * administrator, every other account by an account administrator (ES_PERM_ACCOUNTS); nobody
 * resets their own. ES_ERR_DENIED (audited), ES_ERR_NOT_FOUND. */
es_err es_factor_reset(es_accounts *a, const es_actor *by, const char *name) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
