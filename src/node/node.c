/* One daemon (include/eseal/node.h, docs/esealsd.md). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eseal/accounts.h"
#include "eseal/api.h"
#include "eseal/audit.h"
#include "eseal/castore.h"
#include "eseal/keydev.h"
#include "eseal/national.h"
#include "eseal/decision.h"
#include "eseal/node.h"
#include "eseal/otp.h"
#include "eseal/making.h"
#include "eseal/protect.h"
#include "node/internal.h"

struct es_node {
    es_api_ctx ctx;
    FILE *out;
    es_signer *audit;
    es_factor_key *factor_key; /* the seeds key of dynamic passwords */
    es_factors factors;
    struct es_decisions *decisions; /* people's signing keys (eseal/decision.h) */
    es_protect *protect;            /* personal data at rest ([keys] protect) */
    es_http *http;
    es_sched *sched;
    int ctx_ready, site_ready;
    char addr[160];
    node_witness *witness;   /* [audit] witness (witness.c) */
    es_signer *maker;        /* the making system's key (the system key), serialised */
    es_signer *status;       /* the status system's key ([keys] status), a pool */
    es_tables *tables;       /* the making tables ([making] tables, or the built-in ones) */
    node_upstream *upstream; /* [upstream] (upstream.c) */
};

/* ---- Callbacks of the HTTP server, the site and the scheduler. */

static void on_request(void *arg, const es_http_log_entry *e)
{
    es_api_ctx *ctx = arg;
    es_log_level level = e->status >= 500 || e->status == 0 ? ES_LOG_WARN : ES_LOG_INFO;
    es_api_log(ctx, level, "%s %s %u %s %.3fs", e->method, e->path, e->status, e->client,
               e->seconds);
}

static void on_msg(void *arg, const char *msg)
{
    es_api_log(arg, ES_LOG_WARN, "http: %s", msg);
}

static void on_sched(void *arg, const char *line)
{
    es_api_log(arg, ES_LOG_ERROR, "scheduler: %s", line);
}

static es_err health(void *arg)
{
    es_store *s = es_api_store(arg);
    int64_t v = 0;
    if (!s) return ES_ERR_UNAVAILABLE;
    return es_store_query_int(s, "SELECT 1", NULL, 0, &v);
}

static void on_site(void *arg, const char *line)
{
    es_node *n = arg;
    fprintf(n->out, "site: %s\n", line);
    fflush(n->out);
}

static es_err job_crl(void *arg)
{
    return es_api_crl_refresh(arg);
}

/* A signed checkpoint of the audit trail when due: at least every [audit] checkpoint_records
 * records or checkpoint_ms ms (docs/audit.md). */
static es_err job_checkpoint(void *arg)
{
    es_api_ctx *x = arg;
    es_store *s = es_api_store(x);
    if (!s) return ES_ERR_UNAVAILABLE;
    return es_audit_checkpoint_due(s, x->audit, x->cfg.audit_checkpoint_records,
                                   x->cfg.audit_checkpoint_ms, NULL);
}

/* Blobs sealed under older data keys rewritten under the current one, a bounded batch each
 * run (docs/protect.md). */
static es_err job_reencrypt(void *arg)
{
    es_api_ctx *x = arg;
    es_store *s = es_api_store(x);
    es_protect_pass pass;
    if (!s) return ES_ERR_UNAVAILABLE;
    es_err rv = es_protect_reencrypt(x->protect, s, 1000, &pass);
    if (rv == ES_OK && (pass.rewritten || pass.failed)) {
        char detail[128];
        es_api_log(x, pass.failed ? ES_LOG_WARN : ES_LOG_INFO,
                   "protect: %zu blobs re-encrypted under the current data key, %zu do not open "
                   "(eseal protect check)%s",
                   pass.rewritten, pass.failed, pass.more ? "; more next time" : "");
        /* In the trail: a key rotation's effect, and blobs that no longer open. */
        snprintf(detail, sizeof detail, "{\"rewritten\":%zu,\"failed\":%zu,\"more\":%s}",
                 pass.rewritten, pass.failed, pass.more ? "true" : "false");
        rv = node_audit(x, "protect.reencrypt", "protect", detail);
    }
    return rv;
}

/* How often the checkpoint job looks: a quarter of checkpoint_ms, 5 to 100 ms. */
static unsigned checkpoint_poll(const es_config *c)
{
    int64_t p = c->audit_checkpoint_ms / 4;
    return (unsigned)(p < 5 ? 5 : p > 100 ? 100 : p);
}

/* ---- Start. */

static es_err accounts_on(es_node *n, es_store *s, es_accounts *a)
{
    if (!s) return ES_ERR_UNAVAILABLE;
    *a = (es_accounts){s, n->ctx.audit, n->ctx.cfg.session_minutes, n->ctx.cfg.lockout_failures,
                       n->ctx.cfg.lockout_minutes};
    return ES_OK;
}

/* Creates one of the first accounts with a one-time password printed once on the operator's
 * output (never in the log). ES_OK when another daemon on the same store made it first. */
static es_err first_account(es_node *n, es_accounts *a, const char *name, const char *display,
                            es_role role, const char *duty, char *why, size_t whylen)
{
    es_actor sys = {"system", 0, 0, 1};
    char otp[32] = "";
    const char *reason = NULL;
    es_err rv = es_acct_create(a, &sys, name, display, ES_ROLE_BIT(role), NULL, otp, NULL, &reason);
    if (rv == ES_ERR_EXISTS) return ES_OK; /* another daemon on the same store was faster */
    if (rv != ES_OK) {
        snprintf(why, whylen, "cannot create the initial %s: %s", duty,
                 reason ? reason : es_err_str(rv));
        return rv;
    }
    /* The operator's output only, once: it is in no log and never shown again. */
    fprintf(n->out,
            "first start: created the %s \"%s\"\n"
            "one-time password for %s: %s\n"
            "  (shown once; sign in with it and choose a new password)\n",
            duty, name, name, otp);
    fflush(n->out);
    es_wipe(otp, sizeof otp);
    es_api_log(&n->ctx, ES_LOG_INFO, "first start: created the %s \"%s\"", duty, name);
    return ES_OK;
}

/* First start: the initial system administrator, when the site has no account at all, and
 * the initial audit administrator, when no account holds audit_admin (a site made before
 * hardening 13 included): only an audit administrator can make another one (docs/accounts.md). */
static es_err bootstrap(es_node *n, es_store *s, char *why, size_t whylen)
{
    int64_t count = 0, auditors = 0;
    es_accounts a;
    es_err rv = es_store_query_int(s, "SELECT COUNT(*) FROM users", NULL, 0, &count);
    if (rv == ES_OK)
        rv = es_store_query_int(s, "SELECT COUNT(*) FROM user_roles WHERE role = 'audit_admin'",
                                NULL, 0, &auditors);
    if (rv != ES_OK || (count > 0 && auditors > 0)) return rv;
    if ((rv = accounts_on(n, s, &a)) != ES_OK) return rv;
    if (count == 0 &&
        (rv = first_account(n, &a, "admin", "System administrator", ES_ROLE_SYSTEM_ADMIN,
                            "system administrator", why, whylen)) != ES_OK)
        return rv;
    if (auditors > 0) return ES_OK;
    if ((rv = first_account(n, &a, "auditor", "Audit administrator", ES_ROLE_AUDIT_ADMIN,
                            "audit administrator", why, whylen)) != ES_OK ||
        (rv = es_store_query_int(s, "SELECT COUNT(*) FROM user_roles WHERE role = 'audit_admin'",
                                 NULL, 0, &auditors)) != ES_OK)
        return rv;
    if (auditors == 0)
        es_api_log(&n->ctx, ES_LOG_WARN,
                   "no audit administrator, and the name \"auditor\" is taken by another "
                   "account: nobody can manage audit administrators (docs/accounts.md)");
    return ES_OK;
}

static es_log_level level_of(const char *name)
{
    if (strcmp(name, "error") == 0) return ES_LOG_ERROR;
    if (strcmp(name, "warn") == 0) return ES_LOG_WARN;
    if (strcmp(name, "debug") == 0) return ES_LOG_DEBUG;
    return ES_LOG_INFO;
}

/* "127.0.0.1:0" with port 8440 gives "127.0.0.1:8440". */
static void with_port(const char *listen, unsigned port, char *out, size_t outlen)
{
    const char *colon = strrchr(listen, ':');
    int host = colon ? (int)(colon - listen) : (int)strlen(listen);
    snprintf(out, outlen, "%.*s:%u", host, listen, port);
}

/* 1 when the configured port is ephemeral (port 0). */
static int ephemeral(const es_config *c)
{
    const char *colon = strrchr(c->listen, ':');
    return colon && strcmp(colon, ":0") == 0;
}

/* The second factor ([factors], docs/accounts.md): the seeds key (a soft one is made on the
 * first start, under the site's PIN like the other soft keys) and the policy. */
static es_err open_factors(es_node *n, char *why, size_t whylen)
{
    const es_config *c = &n->ctx.cfg;
    es_err rv = es_factor_key_open(c->key_factor, &n->ctx.site.pin, 1, &n->factor_key, why, whylen);
    if (rv != ES_OK) return rv;
    n->factors = (es_factors){
        n->factor_key,    c->factor_enforce, c->factor_operator_password_only, c->factor_step,
        c->factor_digits, c->factor_window,  c->factor_challenge_seconds};
    n->ctx.factors = &n->factors;
    if (!c->factor_enforce)
        es_api_log(&n->ctx, ES_LOG_WARN,
                   "[factors] enforce = false: every account signs in by password alone; "
                   "for test sites only (GB/T 39786 level 3 asks for a second factor)");
    return ES_OK;
}

static es_err open_store(es_node *n, char *why, size_t whylen)
{
    es_store *store = NULL;
    int version = 0;
    es_err rv = es_store_open(n->ctx.cfg.store_url, &store);
    if (rv != ES_OK) {
        snprintf(why, whylen, "cannot open the store: %s", es_store_last_error(NULL));
        return rv;
    }
    if ((rv = es_store_migrate(store, &version)) != ES_OK) {
        snprintf(why, whylen, "cannot migrate the store: %s (%s)", es_err_str(rv),
                 es_store_last_error(store));
        goto out;
    }
    fprintf(n->out, "store: %s, schema version %d\n", es_store_kind(store), version);
    fflush(n->out);
    es_signer *inner = NULL;
    if ((rv = es_keydev_signer(n->ctx.cfg.key_audit, &n->ctx.site.pin, &inner)) != ES_OK) {
        snprintf(why, whylen, "cannot open the audit key %s: %s", n->ctx.cfg.key_audit,
                 es_err_str(rv));
        goto out;
    }
    if (memcmp(inner->pub, n->ctx.site.audit_pub, sizeof inner->pub) != 0) {
        snprintf(why, whylen, "the audit key does not match %s", n->ctx.site.audit_pub_path);
        es_signer_free(inner);
        rv = ES_ERR_KEY_MISMATCH;
        goto out;
    }
    if ((rv = es_keydev_signer_pool(inner, n->ctx.cfg.key_audit, &n->ctx.site.pin, &n->audit)) !=
        ES_OK) {
        es_signer_free(inner);
        goto out;
    }
    n->ctx.audit = n->audit;
    if ((rv = open_factors(n, why, whylen)) != ES_OK) goto out;
    /* The key-encryption key of data at rest, and the data, index and MAC keys (made at the
     * first start, one set when several daemons start at once). */
    if ((rv = es_protect_new(n->ctx.cfg.key_protect, &n->ctx.site.pin, 1, &n->protect, why,
                             whylen)) != ES_OK ||
        (rv = es_protect_setup(n->protect, store, why, whylen)) != ES_OK)
        goto out;
    n->ctx.protect = n->protect;
    /* The making tables' personal data: covered by the re-encryption job and the check. */
    if ((rv = es_making_protect_register(store, why, whylen)) != ES_OK) goto out;
    if ((rv = bootstrap(n, store, why, whylen)) != ES_OK) {
        if (!why[0])
            snprintf(why, whylen, "first start failed: %s (%s)", es_err_str(rv),
                     es_store_last_error(store));
        goto out;
    }
    /* What was appended before a crash is checkpointed now (docs/audit.md). */
    if ((rv = es_audit_checkpoint(store, n->audit, NULL)) != ES_OK)
        snprintf(why, whylen, "cannot checkpoint the audit trail: %s (%s)", es_err_str(rv),
                 es_store_last_error(store));
out:
    es_store_close(store);
    return rv;
}

/* Issue 13, item 3 b: what the site check found, said loudly at every start: stderr (also
 * when the log level hides warnings), one audit record, and /healthz's "warnings". */
static void site_warnings(es_node *n)
{
    const es_site *site = &n->ctx.site;
    if (!site->n_warnings) return;
    char detail[ES_SITE_MAX_WARNINGS * (ES_SITE_WARNING_MAX + 8) + 32];
    size_t k = (size_t)snprintf(detail, sizeof detail, "{\"warnings\":[");
    for (size_t i = 0; i < site->n_warnings; i++) {
        fprintf(stderr,
                "esealsd: WARNING: %s: whoever holds the site's files holds the key, and can "
                "rewrite the audit trail and sign it again; keep the keys in SDF/SKF devices "
                "and the PIN outside var ([keys] pin_env or a pin_file the operator gives; "
                "docs/esealsd.md)\n"
                "esealsd: 警告：%s（密钥口令与密钥同在站点目录，取得站点文件者即可使用该密钥，"
                "并可改写审计日志后重新签名；生产环境请将密钥保存在 SDF/SKF 密码设备中，"
                "口令置于站点目录之外）\n",
                site->warnings[i], site->warnings[i]);
        /* A JSON string: the sentence is a path and words; quotes, backslashes and control
         * characters of a path are left out. */
        k += (size_t)snprintf(detail + k, sizeof detail - k, "%s\"", i ? "," : "");
        for (const char *c = site->warnings[i]; *c && k + 4 < sizeof detail; c++)
            if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20) detail[k++] = *c;
        k += (size_t)snprintf(detail + k, sizeof detail - k, "\"");
    }
    snprintf(detail + k, sizeof detail - k, "]}");
    fflush(stderr);
    es_err rv = node_audit(&n->ctx, "site.warning", "site", detail);
    if (rv != ES_OK)
        es_api_log(&n->ctx, ES_LOG_ERROR, "cannot record the site's warnings: %s", es_err_str(rv));
}

static es_err open_http(es_node *n, char *why, size_t whylen)
{
    es_config *c = &n->ctx.cfg;
    es_http_config hc;
    es_http_config_init(&hc);
    hc.listen = c->listen;
    hc.threads = c->threads;
    hc.max_connections = c->max_connections;
    hc.timeout = c->timeout_seconds;
    hc.max_body = c->max_body;
    hc.max_per_address = c->per_address;
    hc.head_timeout = c->head_timeout_seconds;
    hc.request_timeout = c->request_timeout_seconds;
    hc.body_budget = c->body_memory;
    hc.body_per_address = c->body_memory_per_address;
    hc.log_rate = c->log_access_rate;
    hc.log_error_rate = c->log_access_error_rate;
    hc.log_interval = c->log_summary_seconds;
    hc.metrics = c->metrics == ES_CONFIG_METRICS_OFF     ? ES_HTTP_METRICS_OFF
                 : c->metrics == ES_CONFIG_METRICS_TOKEN ? ES_HTTP_METRICS_TOKEN
                                                         : ES_HTTP_METRICS_LOCAL;
    if (hc.metrics == ES_HTTP_METRICS_TOKEN) {
        hc.metrics_token = getenv(c->metrics_token_env);
        if (!hc.metrics_token || strlen(hc.metrics_token) < 16) {
            snprintf(why, whylen,
                     "[server] metrics = token needs a token of at least 16 characters in the "
                     "environment variable %s",
                     c->metrics_token_env);
            return ES_ERR_CONFIG;
        }
    }
    hc.static_dir = c->web_dir[0] ? c->web_dir : NULL;
    hc.secure_cookies = c->secure_cookies;
    hc.log = on_request;
    hc.log_arg = &n->ctx;
    hc.msg = on_msg;
    hc.msg_arg = &n->ctx;
    es_err rv = es_http_new(&hc, &n->http);
    if (rv != ES_OK) {
        snprintf(why, whylen, "cannot make the HTTP server (listen %s, web_dir '%s'): %s",
                 c->listen, c->web_dir, es_err_str(rv));
        return rv;
    }
    es_http_set_health(n->http, health, &n->ctx);
    es_http_set_health_warnings(n->http, n->ctx.site.warning_list, n->ctx.site.n_warnings);
    if ((rv = es_api_register(n->http, &n->ctx)) != ES_OK) {
        snprintf(why, whylen, "cannot register the API: %s", es_err_str(rv));
        return rv;
    }
    if ((rv = es_http_start(n->http)) != ES_OK) {
        snprintf(why, whylen, "cannot listen on %s: %s", c->listen, es_err_str(rv));
        return rv;
    }
    with_port(c->listen, es_http_port(n->http), n->addr, sizeof n->addr);
    return ES_OK;
}

/* After the server binds: the system certificate, the seal root open, then ready. */
static es_err open_ca(es_node *n, char *why, size_t whylen)
{
    es_api_ctx *x = &n->ctx;
    const char *url = x->public_url;
    if (x->cfg.public_url[0])
        snprintf(x->public_url, sizeof x->public_url, "%s", x->cfg.public_url);
    else
        snprintf(x->public_url, sizeof x->public_url, "http://%s/", n->addr);
    /* The certificate names the address other systems use, port included (the profile
     * requires it). A port chosen at start (0) changes at every start: the certificate of an
     * earlier start on the same host is kept rather than issued again each time. */
    x->site.system_any_port = !x->cfg.public_url[0] && ephemeral(&x->cfg);
    /* The seal root keeps its state (index, serials, revocations, CRL numbers) in this store,
     * each change audited in its transaction; an index.txt of an older site is imported once. */
    es_store *s = es_api_store(x);
    if (!s) {
        snprintf(why, whylen, "cannot open the store: %s", es_store_last_error(NULL));
        return ES_ERR_UNAVAILABLE;
    }
    es_castore cs = {s, x->audit, "system", NULL};
    es_err rv = es_castore_open(x->site.ca_dir, &cs, &x->ca, why, whylen);
    if (rv == ES_OK) rv = es_ca_login(x->ca, &x->site.pin);
    if (rv != ES_OK) {
        char inner[400];
        snprintf(inner, sizeof inner, "%s", why[0] ? why : es_err_str(rv));
        snprintf(why, whylen, "the seal root in %s: %s", x->site.ca_dir, inner);
        return rv;
    }
    es_ca_state st = es_castore_state(&cs);
    x->site.ca = x->ca;
    x->site.ca_state = &st;
    rv = es_site_system_cert(&x->site, url, on_site, n, why, whylen);
    /* The status system's own certificate (status-system profile, ST10). */
    if (rv == ES_OK && x->site.has_status_key)
        rv = es_site_status_cert(&x->site, url, on_site, n, why, whylen);
    x->site.ca = NULL;
    x->site.ca_state = NULL;
    return rv;
}

/* The making system (making.h): the maker key, which is the system key whose certificate
 * (maker-system profile when the making system runs) signs the seals. */
static es_err open_making(es_node *n, char *why, size_t whylen)
{
    es_api_ctx *x = &n->ctx;
    es_err rv;
    if (!(x->cfg.systems & ES_SYS_MAKING)) return ES_OK;
    es_signer *inner = NULL;
    if ((rv = es_keydev_signer(x->cfg.key_system, &x->site.pin, &inner)) != ES_OK) {
        snprintf(why, whylen, "cannot open the system key %s: %s", x->cfg.key_system,
                 es_err_str(rv));
        return rv;
    }
    if ((rv = es_keydev_signer_pool(inner, x->cfg.key_system, &x->site.pin, &n->maker)) != ES_OK) {
        es_signer_free(inner);
        return rv;
    }
    x->maker = n->maker;
    return ES_OK;
}

/* The status system (status.h): its own key, a pool of sessions (answers with a nonce are
 * signed on demand, on every core), whose status-system certificate is site.status_cert. */
static es_err open_status(es_node *n, char *why, size_t whylen)
{
    es_api_ctx *x = &n->ctx;
    es_err rv;
    if (!x->site.has_status_key) return ES_OK;
    es_signer *inner = NULL;
    if ((rv = es_keydev_signer(x->cfg.key_status, &x->site.pin, &inner)) != ES_OK) {
        snprintf(why, whylen, "cannot open the status key %s: %s", x->cfg.key_status,
                 es_err_str(rv));
        return rv;
    }
    if ((rv = es_keydev_signer_pool(inner, x->cfg.key_status, &x->site.pin, &n->status)) != ES_OK) {
        es_signer_free(inner);
        return rv;
    }
    x->status_key = n->status;
    return ES_OK;
}

es_err es_node_start(const es_node_opts *o, es_node **out, char *why, size_t whylen)
{
    char scratch[8];
    if (!why || whylen == 0) {
        why = scratch;
        whylen = sizeof scratch;
    }
    why[0] = 0;
    *out = NULL;
    es_node *n = calloc(1, sizeof *n);
    if (!n) return ES_ERR_NOMEM;
    n->out = o->out ? o->out : stdout;
    es_api_ctx *x = &n->ctx;
    es_err rv;
    es_config_defaults(&x->cfg, o->var);
    if (o->config && (rv = es_config_load(o->config, &x->cfg, why, whylen)) != ES_OK) {
        char inner[400];
        snprintf(inner, sizeof inner, "%s", why);
        snprintf(why, whylen, "%s: %s", o->config, inner);
        rv = ES_ERR_CONFIG;
        goto fail;
    }
    if (o->listen) {
        const char *colon = strrchr(o->listen, ':');
        if (!colon || colon == o->listen || !colon[1] ||
            strlen(o->listen) >= sizeof x->cfg.listen) {
            snprintf(why, whylen, "--listen is ADDRESS:PORT, e.g. 127.0.0.1:8440");
            rv = ES_ERR_CONFIG;
            goto fail;
        }
        snprintf(x->cfg.listen, sizeof x->cfg.listen, "%s", o->listen);
    }
    x->log_level = level_of(x->cfg.log_level);
    /* The making tables: a file that cannot be used stops the start (the reason names its
     * line), before anything is made. */
    if ((rv = es_tables_load(x->cfg.making_tables[0] ? x->cfg.making_tables : NULL, &n->tables, why,
                             whylen)) != ES_OK)
        goto fail;
    x->making_tables = n->tables;
    if ((rv = es_api_ctx_init(x)) != ES_OK) goto fail;
    n->ctx_ready = 1;

    char systems[64];
    es_systems_format(x->cfg.systems, systems, sizeof systems);
    fprintf(n->out, "esealsd %s: tier %s, systems %s\n", ES_NODE_VERSION, es_tier_name(x->cfg.tier),
            systems);
    if (x->cfg.tier == ES_TIER_NATIONAL_SIMULATOR)
        fprintf(n->out, "NATIONAL PLATFORM SIMULATOR (not the national platform; its codes, keys "
                        "and filings are for tests: docs/upstream.md)\n"
                        "国家平台模拟器（并非国家政务服务平台，其赋码、密钥与备案仅供测试）\n");
    fflush(n->out);
    if ((rv = es_site_prepare(&x->cfg, &x->site, on_site, n, why, whylen)) != ES_OK) {
        if (!why[0]) snprintf(why, whylen, "the site cannot be prepared: %s", es_err_str(rv));
        goto fail;
    }
    n->site_ready = 1;
    if ((rv = open_store(n, why, whylen)) != ES_OK) goto fail;
    site_warnings(n);
    if ((rv = node_upstream_new(x, &n->upstream, why, whylen)) != ES_OK) goto fail;
    if ((rv = open_http(n, why, whylen)) != ES_OK) goto fail;
    if ((rv = open_ca(n, why, whylen)) != ES_OK) goto fail;
    /* People's signing keys: the node's half (a soft key is made at the first start, under the
     * site's PIN like the other soft keys) and the CA that certifies them (docs/decisions.md). */
    if ((rv = es_decisions_new(x->cfg.key_decisions, &x->site.pin, 1, x->ca, n->audit,
                               &n->decisions, why, whylen)) != ES_OK)
        goto fail;
    x->decisions = n->decisions;
    if ((rv = open_making(n, why, whylen)) != ES_OK) goto fail;
    if ((rv = open_status(n, why, whylen)) != ES_OK) goto fail;
    atomic_store(&x->ready, 1);

    if ((rv = es_sched_new(&n->sched)) != ES_OK ||
        (rv = es_sched_add(n->sched, "crl", ES_API_CRL_REFRESH * 1000u, job_crl, x)) != ES_OK ||
        (rv = es_sched_add(n->sched, "audit-checkpoint", checkpoint_poll(&x->cfg), job_checkpoint,
                           x)) != ES_OK ||
        (rv = es_sched_add(n->sched, "protect-reencrypt", x->cfg.protect_reencrypt_seconds * 1000u,
                           job_reencrypt, x)) != ES_OK ||
        (rv = es_sched_start(n->sched, on_sched, x)) != ES_OK) {
        snprintf(why, whylen, "cannot start the scheduler: %s", es_err_str(rv));
        goto fail;
    }
    if ((rv = node_witness_start(x, &n->witness, why, whylen)) != ES_OK) goto fail;
    if ((rv = node_upstream_start(n->upstream, why, whylen)) != ES_OK) goto fail;
    fprintf(n->out, "listening on %s\nport %u\nconsole: http://%s/\n", n->addr,
            es_http_port(n->http), n->addr);
    fflush(n->out);
    es_api_log(x, ES_LOG_INFO, "serving on %s (store %s)", n->addr,
               strncmp(x->cfg.store_url, "sqlite:", 7) == 0 ? x->cfg.store_url : "postgresql");
    *out = n;
    return ES_OK;
fail:
    es_node_stop(n);
    return rv;
}

unsigned es_node_port(const es_node *n)
{
    return n && n->http ? es_http_port(n->http) : 0;
}

es_http *es_node_http(es_node *n)
{
    return n ? n->http : NULL;
}

es_sched *es_node_sched(es_node *n)
{
    return n ? n->sched : NULL;
}

struct es_upstream *es_node_upstream(es_node *n)
{
    return n ? n->ctx.upstream : NULL;
}

es_err es_node_upstream_run(es_node *n)
{
    return n ? node_upstream_run_now(n->upstream) : ES_ERR_ARG;
}

void es_node_stop(es_node *n)
{
    if (!n) return;
    es_sched_free(n->sched);
    if (n->http) es_http_stop(n->http, 10000);
    es_http_free(n->http);
    /* After the last request (the national routes sign and forward with it), before its
     * handlers' owners go: its job stops first. */
    node_upstream_free(n->upstream);
    n->upstream = NULL;
    /* After the last request: its record is in the last checkpoint. */
    if (n->ctx_ready && n->audit && atomic_load(&n->ctx.ready)) {
        es_store *s = es_api_store(&n->ctx);
        es_err rv = s ? es_audit_checkpoint(s, n->audit, NULL) : ES_ERR_UNAVAILABLE;
        if (rv != ES_OK)
            es_api_log(&n->ctx, ES_LOG_WARN, "the last audit checkpoint failed: %s",
                       es_err_str(rv));
    }
    node_witness_stop(n->witness); /* sends the checkpoint written at stop */
    if (n->ctx_ready) es_api_ctx_cleanup(&n->ctx);
    es_signer_free(n->audit);
    es_signer_free(n->maker);
    es_signer_free(n->status);
    es_tables_free(n->tables);
    es_decisions_free(n->decisions);
    es_protect_free(n->protect);
    es_factor_key_free(n->factor_key);
    if (n->site_ready) es_site_cleanup(&n->ctx.site);
    es_wipe(n, sizeof *n);
    free(n);
}

int es_node_run(const es_node_opts *o)
{
    /* The workers inherit this mask: the signals reach sigwait below only. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    char why[600] = "";
    es_node *n = NULL;
    es_err rv = es_node_start(o, &n, why, sizeof why);
    if (rv != ES_OK) {
        fprintf(stderr, "esealsd: %s\n", why[0] ? why : es_err_str(rv));
        return rv == ES_ERR_CONFIG ? 2 : 1;
    }
    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {
    }
    es_api_log(&n->ctx, ES_LOG_INFO, "signal %d: stopping", sig);
    FILE *out = n->out;
    es_node_stop(n);
    fprintf(out, "stopped\n");
    fflush(out);
    return 0;
}
