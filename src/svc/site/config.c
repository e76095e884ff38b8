/* The daemon's configuration file (include/eseal/config.h, docs/esealsd.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/config.h"
#include "eseal/util.h"

static const char *const tier_names[] = {"ministry", "province", "city", "national-simulator"};
static const char *const system_names[] = {"making", "status", "app", "mgmt", "conformance"};

const char *es_tier_name(es_tier t)
{
    return (unsigned)t < sizeof tier_names / sizeof tier_names[0] ? tier_names[t] : "?";
}

/* What each tier runs by default (LD/T 01.1 6, 7.2). */
static unsigned tier_systems(es_tier t)
{
    switch (t) {
    case ES_TIER_MINISTRY:
        return ES_SYS_MAKING | ES_SYS_STATUS | ES_SYS_APP | ES_SYS_MGMT | ES_SYS_CONFORMANCE;
    case ES_TIER_NATIONAL_SIMULATOR:
        return 0;
    default:
        return ES_SYS_MAKING | ES_SYS_STATUS | ES_SYS_APP;
    }
}

void es_systems_format(unsigned systems, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof system_names / sizeof system_names[0]; i++) {
        if (!(systems & (1u << i))) continue;
        int k = snprintf(out + n, outlen - n, "%s%s", n ? "," : "", system_names[i]);
        if (k < 0 || (size_t)k >= outlen - n) break;
        n += (size_t)k;
    }
}

void es_config_defaults(es_config *c, const char *var)
{
    memset(c, 0, sizeof *c);
    if (!var) var = "var";
    snprintf(c->listen, sizeof c->listen, "127.0.0.1:8440");
    c->tier = ES_TIER_PROVINCE;
    c->systems = tier_systems(c->tier);
    snprintf(c->site_name, sizeof c->site_name, "eseal");
    snprintf(c->division, sizeof c->division, "000000");
    snprintf(c->var_dir, sizeof c->var_dir, "%s", var);
    snprintf(c->store_url, sizeof c->store_url, "sqlite:%s/eseal.db", var);
    snprintf(c->key_root, sizeof c->key_root, "soft:%s/keys#root", var);
    snprintf(c->key_system, sizeof c->key_system, "soft:%s/keys#system", var);
    snprintf(c->key_audit, sizeof c->key_audit, "soft:%s/keys#audit", var);
    snprintf(c->key_status, sizeof c->key_status, "soft:%s/keys#status", var);
    snprintf(c->pin_env, sizeof c->pin_env, "ESEAL_PIN");
    snprintf(c->pin_file, sizeof c->pin_file, "%s/keys/passphrase", var);
    c->threads = 8;
    c->max_connections = 512;
    c->timeout_seconds = 30;
    c->max_body = 20ul * 1024 * 1024; /* the largest material (ES_MK_MATERIAL_MAX) */
    c->page_max = 500;
    c->per_address = 64;
    c->head_timeout_seconds = 10;
    c->request_timeout_seconds = 60;
    c->body_memory = 64ul * 1024 * 1024;
    /* One address must be able to send the largest material (ES_MK_MATERIAL_MAX, 20 MiB) whole:
     * its body is held in memory before it is sealed (issue 10). */
    c->body_memory_per_address = 32ul * 1024 * 1024;
    c->log_access_rate = 20;
    c->log_access_error_rate = 50;
    c->log_summary_seconds = 60;
    snprintf(c->metrics_token_env, sizeof c->metrics_token_env, "ESEAL_METRICS_TOKEN");
    c->session_minutes = 30;
    c->lockout_failures = 5;
    c->lockout_minutes = 15;
    c->signin_rate_address = 60;
    c->signin_rate_account = 10;
    c->signin_parallel = 2;
    c->clock_skew_seconds = 300;
    c->audit_checkpoint_records = 1000;
    c->audit_checkpoint_ms = 1000;
    c->audit_witness_ms = 60000;
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->factor_enforce = 1;
    c->factor_operator_password_only = 1;
    c->factor_step = 60;
    c->factor_digits = 6;
    c->factor_window = 1;
    c->factor_challenge_seconds = 120;
    snprintf(c->key_factor, sizeof c->key_factor, "soft:%s/keys#factor", var);
    snprintf(c->key_decisions, sizeof c->key_decisions, "soft:%s/keys#decisions", var);
    snprintf(c->key_protect, sizeof c->key_protect, "soft:%s/keys#protect", var);
    c->protect_reencrypt_seconds = 60;
    c->making_renewal_window_days = 90;
    c->status_rate_address = 60000;
    c->upstream_poll_ms = 1000;
    c->upstream_retry_min_ms = 1000;
    c->upstream_retry_max_ms = 3600000;
}

static int set_str(char *dst, size_t cap, const char *v, char *why, size_t whylen)
{
    if (strlen(v) >= cap) {
        snprintf(why, whylen, "value longer than %zu bytes", cap - 1);
        return 0;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 1;
}

static int set_uint(unsigned long *dst, const char *v, unsigned long min, unsigned long max,
                    char *why, size_t whylen)
{
    char *end = NULL;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (errno || !end || *end || v[0] < '0' || v[0] > '9' || x < min || x > max) {
        snprintf(why, whylen, "'%s' is not a whole number from %lu to %lu", v, min, max);
        return 0;
    }
    *dst = x;
    return 1;
}

typedef struct parse_state {
    es_config *c;
    int systems_set;
} parse_state;

static es_err on_key(void *ctx, const char *section, const char *key, const char *v, char *why,
                     size_t whylen)
{
    parse_state *ps = ctx;
    es_config *c = ps->c;
    unsigned long u;
    static const char *const sections[] = {"server",  "store",    "keys",  "limits",  "accounts",
                                           "api",     "audit",    "log",   "factors", "making",
                                           "protect", "upstream", "status"};
    if (!key) {
        for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
            if (strcmp(section, sections[i]) == 0) return ES_OK;
        snprintf(why, whylen, "unknown section [%s]", section);
        return ES_ERR_CONFIG;
    }
#define IS(s, k)   (strcmp(section, s) == 0 && strcmp(key, k) == 0)
#define STR(field) (set_str(c->field, sizeof c->field, v, why, whylen) ? ES_OK : ES_ERR_CONFIG)
#define NUM(field, lo, hi)                                                                         \
    (set_uint(&u, v, lo, hi, why, whylen) ? (c->field = u, ES_OK) : ES_ERR_CONFIG)
    if (IS("server", "listen")) {
        const char *colon = strrchr(v, ':');
        if (!colon || colon == v || !colon[1]) {
            snprintf(why, whylen, "listen is ADDRESS:PORT, e.g. 127.0.0.1:8440");
            return ES_ERR_CONFIG;
        }
        if (!set_uint(&u, colon + 1, 0, 65535, why, whylen)) return ES_ERR_CONFIG;
        return STR(listen);
    }
    if (IS("server", "tier") || IS("server", "role")) {
        for (size_t i = 0; i < sizeof tier_names / sizeof tier_names[0]; i++) {
            if (strcmp(v, tier_names[i]) == 0) {
                c->tier = (es_tier)i;
                if (!ps->systems_set) c->systems = tier_systems(c->tier);
                return ES_OK;
            }
        }
        snprintf(why, whylen, "tier is ministry, province, city or national-simulator");
        return ES_ERR_CONFIG;
    }
    if (IS("server", "systems")) {
        unsigned mask = 0;
        char buf[256];
        if (!set_str(buf, sizeof buf, v, why, whylen)) return ES_ERR_CONFIG;
        for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t;
             t = strtok_r(NULL, ", ", &save)) {
            size_t i = 0;
            while (i < sizeof system_names / sizeof system_names[0] && strcmp(t, system_names[i]))
                i++;
            if (i == sizeof system_names / sizeof system_names[0]) {
                snprintf(why, whylen,
                         "unknown system '%s' (making, status, app, mgmt, conformance)", t);
                return ES_ERR_CONFIG;
            }
            mask |= 1u << i;
        }
        c->systems = mask;
        ps->systems_set = 1;
        return ES_OK;
    }
    if (IS("server", "name")) return STR(site_name);
    if (IS("server", "division")) {
        if (strlen(v) != 6 || strspn(v, "0123456789") != 6) {
            snprintf(why, whylen, "division is a 6-digit GB/T 2260 code");
            return ES_ERR_CONFIG;
        }
        return STR(division);
    }
    if (IS("server", "web_dir")) return STR(web_dir);
    if (IS("making", "tables")) return STR(making_tables);
    if (IS("making", "renewal_window_days")) return NUM(making_renewal_window_days, 1, 3650);
    if (IS("status", "rate_address")) return NUM(status_rate_address, 1, 10000000);
    if (IS("server", "public_url")) {
        if (*v && strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
            snprintf(why, whylen, "public_url is http://HOST:PORT/ or https://HOST:PORT/");
            return ES_ERR_CONFIG;
        }
        return STR(public_url);
    }
    if (IS("server", "province")) return STR(province);
    if (IS("server", "secure_cookies")) {
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
            c->secure_cookies = strcmp(v, "true") == 0;
            return ES_OK;
        }
        snprintf(why, whylen, "secure_cookies is true or false");
        return ES_ERR_CONFIG;
    }
    if (IS("store", "url")) {
        if (strncmp(v, "sqlite:", 7) && strncmp(v, "postgresql://", 13) &&
            strncmp(v, "postgres://", 11)) {
            snprintf(why, whylen, "url is sqlite:PATH or postgresql://...");
            return ES_ERR_CONFIG;
        }
        return STR(store_url);
    }
    if (IS("keys", "root")) return STR(key_root);
    if (IS("keys", "system")) return STR(key_system);
    if (IS("keys", "audit")) return STR(key_audit);
    if (IS("keys", "status")) return STR(key_status);
    if (IS("keys", "pin_env")) return STR(pin_env);
    if (IS("keys", "pin_file")) return STR(pin_file);
    if (IS("limits", "threads")) return NUM(threads, 1, 256);
    if (IS("limits", "max_connections")) return NUM(max_connections, 1, 100000);
    if (IS("limits", "timeout_seconds")) return NUM(timeout_seconds, 1, 3600);
    if (IS("limits", "max_body")) return NUM(max_body, 1024, 1ul << 30);
    if (IS("limits", "page_max")) return NUM(page_max, 1, 100000);
    if (IS("limits", "connections_per_address")) return NUM(per_address, 1, 100000);
    if (IS("limits", "head_timeout_seconds")) return NUM(head_timeout_seconds, 1, 3600);
    if (IS("limits", "request_timeout_seconds")) return NUM(request_timeout_seconds, 1, 86400);
    if (IS("limits", "body_memory")) return NUM(body_memory, 1ul << 20, 1ul << 40);
    if (IS("limits", "body_memory_per_address"))
        return NUM(body_memory_per_address, 1ul << 20, 1ul << 40);
    if (IS("log", "access_rate")) return NUM(log_access_rate, 1, 1000000);
    if (IS("log", "access_error_rate")) return NUM(log_access_error_rate, 1, 1000000);
    if (IS("log", "access_summary_seconds")) return NUM(log_summary_seconds, 1, 86400);
    if (IS("server", "metrics")) {
        static const char *const modes[] = {"local", "off", "token"};
        for (int i = 0; i < 3; i++)
            if (strcmp(v, modes[i]) == 0) {
                c->metrics = i; /* ES_CONFIG_METRICS_* in this order */
                return ES_OK;
            }
        snprintf(why, whylen, "metrics is local, off or token");
        return ES_ERR_CONFIG;
    }
    if (IS("server", "metrics_token_env")) return STR(metrics_token_env);
    if (IS("accounts", "session_minutes")) return NUM(session_minutes, 1, 24 * 60);
    if (IS("accounts", "lockout_failures")) return NUM(lockout_failures, 1, 100);
    if (IS("accounts", "lockout_minutes")) return NUM(lockout_minutes, 1, 24 * 60);
    if (IS("accounts", "signin_rate_address")) return NUM(signin_rate_address, 1, 1000000);
    if (IS("accounts", "signin_rate_account")) return NUM(signin_rate_account, 1, 1000000);
    if (IS("accounts", "signin_parallel")) return NUM(signin_parallel, 1, 64);
    if (IS("api", "clock_skew_seconds")) return NUM(clock_skew_seconds, 1, 3600);
    if (IS("audit", "checkpoint_records")) return NUM(audit_checkpoint_records, 1, 1000000);
    if (IS("audit", "checkpoint_ms")) return NUM(audit_checkpoint_ms, 10, 3600 * 1000);
    if (IS("keys", "factor")) return STR(key_factor);
    if (IS("keys", "decisions")) return STR(key_decisions);
    if (IS("keys", "protect")) return STR(key_protect);
    if (IS("protect", "reencrypt_seconds")) return NUM(protect_reencrypt_seconds, 1, 86400);
    if (IS("factors", "enforce") || IS("factors", "operator_password_only")) {
        int *dst =
            strcmp(key, "enforce") == 0 ? &c->factor_enforce : &c->factor_operator_password_only;
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
            *dst = strcmp(v, "true") == 0;
            return ES_OK;
        }
        snprintf(why, whylen, "%s is true or false", key);
        return ES_ERR_CONFIG;
    }
    if (IS("factors", "step_seconds")) return NUM(factor_step, 10, 60);
    if (IS("factors", "digits")) return NUM(factor_digits, 6, 8);
    if (IS("factors", "window")) return NUM(factor_window, 0, 10);
    if (IS("factors", "challenge_seconds")) return NUM(factor_challenge_seconds, 10, 3600);
    if (IS("audit", "witness")) {
        if (*v && strncmp(v, "file:", 5) && strncmp(v, "http://", 7)) {
            snprintf(why, whylen, "witness is file:PATH or http://HOST:PORT/ (another esealsd)");
            return ES_ERR_CONFIG;
        }
        if (!strcmp(v, "file:")) {
            snprintf(why, whylen, "witness file: needs a path");
            return ES_ERR_CONFIG;
        }
        return STR(audit_witness);
    }
    if (IS("audit", "witness_ms")) return NUM(audit_witness_ms, 10, 24 * 3600 * 1000);
    if (IS("audit", "witness_client")) return STR(audit_witness_client);
    if (IS("audit", "witness_key")) return STR(audit_witness_key);
    if (IS("upstream", "url")) {
        if (*v && strncmp(v, "http://", 7)) {
            snprintf(why, whylen, "url is http://HOST:PORT/ of the parent tier's esealsd");
            return ES_ERR_CONFIG;
        }
        return STR(upstream_url);
    }
    if (IS("upstream", "client")) return STR(upstream_client);
    if (IS("upstream", "key")) return STR(upstream_key);
    if (IS("upstream", "parent_cert")) return STR(upstream_parent_cert);
    if (IS("upstream", "poll_ms")) return NUM(upstream_poll_ms, 10, 3600 * 1000);
    if (IS("upstream", "retry_min_ms")) return NUM(upstream_retry_min_ms, 10, 24 * 3600 * 1000);
    if (IS("upstream", "retry_max_ms")) return NUM(upstream_retry_max_ms, 10, 7 * 24 * 3600 * 1000);
    if (IS("log", "level")) {
        if (strcmp(v, "error") && strcmp(v, "warn") && strcmp(v, "info") && strcmp(v, "debug")) {
            snprintf(why, whylen, "level is error, warn, info or debug");
            return ES_ERR_CONFIG;
        }
        return STR(log_level);
    }
#undef IS
#undef STR
#undef NUM
    snprintf(why, whylen, "unknown key '%s' in [%s]", key, section);
    return ES_ERR_CONFIG;
}

es_err es_config_parse(const char *text, size_t len, es_config *c, char *why, size_t whylen)
{
    parse_state ps = {c, 0};
    return es_ini_parse(es_slice_make(text, len), on_key, &ps, why, whylen);
}

es_err es_config_load(const char *path, es_config *c, char *why, size_t whylen)
{
    es_buf b;
    es_buf_init(&b, 1u << 20);
    es_err rv = es_file_read(path, &b);
    if (rv != ES_OK) {
        snprintf(why, whylen, "%s: %s", path, es_err_str(rv));
    } else {
        rv = es_config_parse(b.p ? (const char *)b.p : "", b.len, c, why, whylen);
    }
    es_buf_cleanup(&b);
    return rv;
}
