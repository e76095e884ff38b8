/* The second factor of staff accounts (docs/accounts.md "Second factor", docs/esealsd.md):
 * sign-in challenges, enrolment of a dynamic-password token or an SM2 key, reset by another
 * administrator, and the gate that keeps a session without a required factor to enrolment. Maps
 * requests to src/svc/accounts/otp.c, which enforces the rules and writes the audit records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* What a session that must enrol a second factor may still do. */
static int allowed_before_enrolment(es_http_req *req)
{
    static const api_route_name ok[] = {
        {"GET", "/api/v1/sessions/current"},
        {"DELETE", "/api/v1/sessions/current"},
        {"POST", "/api/v1/sessions"},
        {"POST", "/api/v1/sessions/challenge"},
        {"POST", "/api/v1/users/me/password"},
        {"GET", "/api/v1/users/me/factors"},
        {"POST", "/api/v1/users/me/factors/otp"},
        {"POST", "/api/v1/users/me/factors/otp/confirm"},
        {"POST", "/api/v1/users/me/factors/sm2"},
    };
    return api_route_in(req, ok, sizeof ok / sizeof ok[0]);
}

es_err api_factor_gate(es_http_req *req, es_accounts *a, es_user *u)
{
    es_err rv = es_factor_state(a, u);
    if (rv != ES_OK) return rv;
    if (u->factor_needed && !allowed_before_enrolment(req))
        REFUSE(es_http_reply_err(req, ES_ERR_FACTOR_REQUIRED, "POST /api/v1/users/me/factors/otp"),
               ES_ERR_FACTOR_REQUIRED);
    return ES_OK;
}

/* ---- A sign-in challenge (public: any name gets one, so the answer says nothing about which
 * accounts exist); rate-limited per client address like sign-ins. */

static const es_json_field challenge_schema[] = {
    {"username", ES_JSON_STRING, ES_JSON_REQUIRED, 64},
    {NULL},
};

static es_err challenge_create(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    char key[ES_RATELIMIT_MAX_KEY + 1], nonce[65], text[ES_FACTOR_CHALLENGE_MAX], ra[16];
    unsigned retry = 0;
    int64_t expires = 0;
    if ((rv = es_http_req_json(req, challenge_schema, &in)) != ES_OK) return rv;
    snprintf(key, sizeof key, "ip:%s", es_http_req_client(req));
    rv = es_ratelimit_take_now(app->signin_address, key, &retry);
    if (rv == ES_ERR_LIMIT) {
        json_decref(in);
        snprintf(ra, sizeof ra, "%u", retry);
        if ((rv = es_http_add_header(req, "Retry-After", ra)) != ES_OK) return rv;
        REFUSE(es_http_reply_err(req, ES_ERR_RATE, "too many sign-in attempts from this address"),
               ES_ERR_RATE);
    }
    if (rv == ES_OK)
        rv = es_factor_challenge(&a, json_string_value(json_object_get(in, "username")), nonce,
                                 text, &expires);
    json_decref(in);
    if (rv == ES_ERR_ARG) return api_fail(req, rv, "not an account name");
    if (rv != ES_OK) return rv;
    json_t *out = json_object();
    json_object_set_new(out, "nonce", json_string(nonce));
    json_object_set_new(out, "challenge", json_string(text));
    json_object_set_new(out, "expires_at", api_time_json(expires));
    return es_http_reply_json_new(req, 201, out);
}

/* ---- The signed-in account's own factors. */

static es_err add_factor(void *ctx, const es_factor_info *f)
{
    json_t *o = json_object();
    if (!o) return ES_ERR_NOMEM;
    json_object_set_new(o, "kind", json_string(f->kind));
    json_object_set_new(o, "state", json_string(f->state));
    if (f->alg[0]) json_object_set_new(o, "algorithm", json_string(f->alg));
    json_object_set_new(o, "created_at", api_time_json(f->created_at));
    return json_array_append_new(ctx, o) == 0 ? ES_OK : ES_ERR_NOMEM;
}

static es_err reply_factors(es_http_req *req, es_api_ctx *app, es_accounts *a, unsigned status)
{
    const api_user *su = api_user_of(req);
    es_actor by = api_actor(su);
    es_user u = su->u;
    json_t *list = json_array();
    if (!list) return ES_ERR_NOMEM;
    es_err rv = es_factor_list(a, &by, add_factor, list);
    if (rv == ES_OK) rv = es_factor_state(a, &u);
    if (rv != ES_OK) {
        json_decref(list);
        return rv;
    }
    json_t *out = json_object();
    json_object_set_new(out, "required", json_boolean(es_factor_required(app->factors, u.roles)));
    json_object_set_new(out, "enrolment_required", json_boolean(u.factor_needed));
    json_object_set_new(out, "factors", list);
    return es_http_reply_json_new(req, status, out);
}

static es_err factors_get(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = api_people_only(req)) != ES_OK) return rv;
    return reply_factors(req, app, &a, 200);
}

static const es_json_field otp_begin_schema[] = {
    {"algorithm", ES_JSON_STRING, 0, 8},
    {NULL},
};

static es_err otp_begin(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const api_user *su = api_user_of(req);
    json_t *in = NULL;
    es_otp_alg alg = ES_OTP_SM3;
    uint8_t seed[ES_OTP_SEED_MAX];
    size_t len = 0;
    char hex[2 * ES_OTP_SEED_MAX + 1], b32[ES_OTP_SEED_MAX * 2], uri[400];
    if ((rv = api_people_only(req)) != ES_OK) return rv;
    if (es_http_req_body(req).len > 0 &&
        (rv = es_http_req_json(req, otp_begin_schema, &in)) != ES_OK)
        return rv;
    const char *an = json_string_value(json_object_get(in, "algorithm"));
    if (an && es_otp_alg_parse(an, &alg) != ES_OK) {
        json_decref(in);
        return api_fail(req, ES_ERR_ARG, "algorithm is sm3 or sm4");
    }
    json_decref(in);
    es_actor by = api_actor(su);
    rv = es_factor_otp_begin(&a, &by, alg, seed, &len);
    if (rv == ES_ERR_EXISTS)
        return api_fail(req, rv,
                        "a dynamic password token is enrolled already: another administrator "
                        "resets it first");
    if (rv == ES_ERR_UNAVAILABLE) return api_fail(req, rv, "no seeds key on this site");
    if (rv != ES_OK) return rv;
    es_hex_encode(seed, len, hex);
    es_base32_encode(seed, len, b32);
    const es_factors *f = app->factors;
    /* For soft tokens: the provisioning URI many authenticator apps read (their algorithm
     * parameter names the GM/T 0021 variant; a hardware token takes the seed from its vendor's
     * seed file instead). */
    snprintf(uri, sizeof uri,
             "otpauth://totp/eseal:%s?secret=%s&issuer=eseal&algorithm=%s&digits=%u&period=%u",
             su->u.name, b32, alg == ES_OTP_SM4 ? "SM4" : "SM3", f->digits, f->step);
    json_t *out = json_object();
    json_object_set_new(out, "algorithm", json_string(es_otp_alg_name(alg)));
    json_object_set_new(out, "seed_hex", json_string(hex));
    json_object_set_new(out, "seed_base32", json_string(b32));
    json_object_set_new(out, "digits", json_integer(f->digits));
    json_object_set_new(out, "step_seconds", json_integer(f->step));
    json_object_set_new(out, "window", json_integer(f->window));
    json_object_set_new(out, "uri", json_string(uri));
    json_object_set_new(out, "state", json_string("pending"));
    es_wipe(seed, sizeof seed);
    es_wipe(hex, sizeof hex);
    es_wipe(b32, sizeof b32);
    es_wipe(uri, sizeof uri);
    return es_http_reply_json_new(req, 201, out);
}

static const es_json_field otp_confirm_schema[] = {
    {"code", ES_JSON_STRING, ES_JSON_REQUIRED, ES_OTP_DIGITS_MAX},
    {NULL},
};

static es_err otp_confirm(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    if ((rv = api_people_only(req)) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, otp_confirm_schema, &in)) != ES_OK) return rv;
    es_actor by = api_actor(api_user_of(req));
    rv = es_factor_otp_confirm(&a, &by, json_string_value(json_object_get(in, "code")));
    json_decref(in);
    if (rv == ES_ERR_NOT_FOUND)
        return api_fail(req, rv, "no dynamic password token is waiting for its first code");
    if (rv == ES_ERR_FACTOR_CODE)
        return api_fail(req, rv, "the code is not the token's: check its clock and try again");
    if (rv != ES_OK) return rv;
    return reply_factors(req, app, &a, 200);
}

static const es_json_field sm2_schema[] = {
    {"certificate", ES_JSON_STRING, 0, API_BODY_PEM},
    {"public_key", ES_JSON_STRING, 0, 4096},
    {"challenge", ES_JSON_STRING, ES_JSON_REQUIRED, 64},
    {"signature", ES_JSON_STRING, ES_JSON_REQUIRED, 256},
    {NULL},
};

/* The public key of a PEM SubjectPublicKeyInfo. */
static es_err pub_of_pem(const char *pem, uint8_t pub[ES_SM2_PUB_LEN])
{
    const char *b = strstr(pem, "-----BEGIN PUBLIC KEY-----"), *e;
    es_buf der;
    if (!b || !(e = strstr(b, "-----END PUBLIC KEY-----"))) return ES_ERR_PEM;
    b += strlen("-----BEGIN PUBLIC KEY-----");
    es_buf_init(&der, 4096);
    /* es_base64_decode skips the line breaks of PEM armour. */
    es_err rv = es_base64_decode(b, (size_t)(e - b), &der);
    if (rv == ES_OK) rv = es_spki_sm2(es_slice_make(der.p, der.len), 0, pub);
    es_buf_cleanup(&der);
    return rv;
}

static es_err sm2_enrol(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    json_t *in = NULL;
    es_buf cert;
    uint8_t pub[ES_SM2_PUB_LEN];
    int have_pub = 0;
    if ((rv = api_people_only(req)) != ES_OK) return rv;
    if ((rv = es_http_req_json(req, sm2_schema, &in)) != ES_OK) return rv;
    es_buf_init(&cert, API_BODY_PEM);
    const char *pc = json_string_value(json_object_get(in, "certificate"));
    const char *pk = json_string_value(json_object_get(in, "public_key"));
    if (pc) {
        rv = es_cert_to_der((const uint8_t *)pc, strlen(pc), &cert);
    } else if (pk) {
        rv = pub_of_pem(pk, pub);
        have_pub = rv == ES_OK;
    } else {
        rv = ES_ERR_ARG;
    }
    if (rv != ES_OK) {
        json_decref(in);
        es_buf_cleanup(&cert);
        return api_fail(req, rv, "give the key's certificate or public key (PEM)");
    }
    es_actor by = api_actor(api_user_of(req));
    rv = es_factor_sm2_enrol(&a, &by, pc ? cert.p : NULL, cert.len, have_pub ? pub : NULL,
                             json_string_value(json_object_get(in, "challenge")),
                             json_string_value(json_object_get(in, "signature")));
    json_decref(in);
    es_buf_cleanup(&cert);
    if (rv == ES_ERR_AUTH)
        return api_fail(req, ES_ERR_VERIFY,
                        "the challenge is unknown, used or expired, or the signature is not the "
                        "key's");
    if (rv == ES_ERR_EXISTS)
        return api_fail(req, rv,
                        "an SM2 key is enrolled already: another administrator resets "
                        "it first");
    if (rv == ES_ERR_CERT || rv == ES_ERR_KEY)
        return api_fail(req, rv, "not an SM2 certificate or public key");
    if (rv != ES_OK) return rv;
    return reply_factors(req, app, &a, 201);
}

/* ---- Reset by another administrator. */

static es_err factors_reset(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    const char *name = es_http_req_param(req, "name");
    const api_user *su = api_user_of(req);
    if ((rv = api_people_only(req)) != ES_OK) return rv;
    /* Only account administrators and audit administrators reset anyone's factor (the service
     * decides whose): anyone else is refused here, audited up to the per-account rate. */
    if (!(su->u.roles & ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN)) &&
        (rv = api_require(req, app, &a, ES_PERM_ACCOUNTS, "user.factor_reset")) != ES_OK)
        return rv;
    es_actor by = api_actor(su);
    rv = es_factor_reset(&a, &by, name);
    if (rv == ES_ERR_DENIED)
        return api_fail(req, rv,
                        "another administrator of the same duty resets it (audit administrators "
                        "for audit administrators, account administrators for the others)");
    if (rv != ES_OK) return rv;
    return es_http_reply_empty(req, 204);
}

es_err es_api_factors_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"POST", "/api/v1/sessions/challenge", challenge_create, ES_HTTP_PUBLIC, API_BODY_SMALL},
        {"GET", "/api/v1/users/me/factors", factors_get, 0, API_BODY_SMALL},
        {"POST", "/api/v1/users/me/factors/otp", otp_begin, 0, API_BODY_SMALL},
        {"POST", "/api/v1/users/me/factors/otp/confirm", otp_confirm, 0, API_BODY_SMALL},
        {"POST", "/api/v1/users/me/factors/sm2", sm2_enrol, 0, API_BODY_PEM},
        {"DELETE", "/api/v1/users/{name}/factors", factors_reset, 0, API_BODY_SMALL},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
