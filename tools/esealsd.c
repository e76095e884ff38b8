/* esealsd: the eseal daemon (docs/esealsd.md).
 *
 *   esealsd [--config FILE] [--listen ADDR:PORT] [--var DIR] [--help] [--version]
 *
 * Start: configuration (embedded defaults when no file), the site (keys, passphrase, seal root:
 * made on first start), the store (opened and migrated), the audit key, on first start the
 * initial system administrator "admin" whose one-time password goes to stdout once, then the
 * HTTP server (the API under /api/v1 and the console at /). SIGINT or SIGTERM stop it.
 *
 * Output: stdout carries what an operator must see at start (what was made, the one-time
 * password, the console URL, the port); stderr carries the log. The password is never logged.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/accounts.h"
#include "eseal/audit.h"
#include "eseal/keydev.h"
#include "esealsd.h"

#define SD_VERSION "0.1.0"

static void usage(FILE *f)
{
    fputs("usage: esealsd [--config FILE] [--listen ADDR:PORT] [--var DIR] [--help] [--version]\n"
          "\n"
          "  --config FILE      the configuration file (etc/esealsd.conf documents every key);\n"
          "                     without it, the embedded defaults\n"
          "  --listen ADDR:PORT overrides [server] listen (port 0: any free port)\n"
          "  --var DIR          the site's directory for the defaults (store, keys, passphrase);\n"
          "                     default ./var\n"
          "  --help, --version\n"
          "\n"
          "On first start esealsd makes the site's keys, its seal root CA, its system certificate\n"
          "(var/keys/system.crt, naming the address it serves) and the initial system\n"
          "administrator \"admin\", whose one-time password it prints once. SIGINT or SIGTERM\n"
          "stop it.\n"
          "\n"
          "examples:\n"
          "  esealsd                                  # ./var, 127.0.0.1:8440, SQLite\n"
          "  esealsd --listen 127.0.0.1:0 --var /tmp/site\n"
          "  ESEAL_PIN=... esealsd --config /etc/eseal/esealsd.conf\n"
          "\n"
          "docs/esealsd.md: the daemon; docs/api-clients.md: business systems' signed requests.\n",
          f);
}

void sd_log(sd_app *app, int level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > app->log_level) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char when[32];
    es_time_format_iso((es_time)ts.tv_sec, when);
    fprintf(stderr, "%s esealsd %s: %s\n", when, names[level], line);
}

/* ---- Store connections: one per worker thread. */

static void store_close(void *p)
{
    es_store_close(p);
}

es_store *sd_store(sd_app *app)
{
    es_store *s = pthread_getspecific(app->store_key);
    if (s) return s;
    if (es_store_open(app->cfg.store_url, &s) != ES_OK) {
        sd_log(app, SD_LOG_ERROR, "cannot open the store: %s", es_store_last_error(NULL));
        return NULL;
    }
    if (pthread_setspecific(app->store_key, s) != 0) {
        es_store_close(s);
        return NULL;
    }
    return s;
}

/* ---- The audit signer, serialised. */

typedef struct locked {
    es_signer *inner;
    pthread_mutex_t mu;
} locked;

static es_err locked_sign(es_signer *self, const uint8_t e[ES_SM3_LEN], uint8_t r[32],
                          uint8_t s[32])
{
    locked *l = self->ctx;
    pthread_mutex_lock(&l->mu);
    es_err rv = es_signer_sign_digest(l->inner, e, r, s);
    pthread_mutex_unlock(&l->mu);
    return rv;
}

static void locked_destroy(es_signer *self)
{
    locked *l = self->ctx;
    es_signer_free(l->inner);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static es_err locked_signer(es_signer *inner, es_signer **out)
{
    es_signer *s = calloc(1, sizeof *s);
    locked *l = calloc(1, sizeof *l);
    if (!s || !l) {
        free(s);
        free(l);
        return ES_ERR_NOMEM;
    }
    l->inner = inner;
    pthread_mutex_init(&l->mu, NULL);
    memcpy(s->pub, inner->pub, sizeof s->pub);
    s->sign_digest = locked_sign;
    s->destroy = locked_destroy;
    s->ctx = l;
    *out = s;
    return ES_OK;
}

/* ---- Audit checkpoints ([audit]; docs/audit.md): a thread of its own, with its own store
 * connection, writes a signed checkpoint at least every checkpoint_records records or
 * checkpoint_ms ms, and a last one when the daemon stops. */

typedef struct cp_job {
    sd_app *app;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, running;
} cp_job;

static void *cp_run(void *arg)
{
    cp_job *j = arg;
    sd_app *app = j->app;
    es_store *s = NULL;
    /* Often enough to see N records come in, rarely enough to cost nothing. */
    unsigned poll = app->cfg.audit_checkpoint_ms / 4;
    if (poll > 100) poll = 100;
    if (poll < 5) poll = 5;
    int stop = 0;
    while (!stop) {
        pthread_mutex_lock(&j->mu);
        if (!j->stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)poll * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&j->cv, &j->mu, &until);
        }
        stop = j->stop;
        pthread_mutex_unlock(&j->mu);
        if (!s && es_store_open(app->cfg.store_url, &s) != ES_OK) {
            sd_log(app, SD_LOG_WARN, "audit checkpoints: cannot open the store: %s",
                   es_store_last_error(NULL));
            continue;
        }
        int done = 0;
        es_err rv = stop ? es_audit_checkpoint(s, app->audit, NULL)
                         : es_audit_checkpoint_due(s, app->audit, app->cfg.audit_checkpoint_records,
                                                   app->cfg.audit_checkpoint_ms, &done);
        if (rv != ES_OK) {
            sd_log(app, SD_LOG_WARN, "audit checkpoint failed: %s (%s)", es_err_str(rv),
                   es_store_last_error(s));
            es_store_close(s); /* opened again at the next turn */
            s = NULL;
        }
    }
    es_store_close(s);
    return NULL;
}

static void cp_stop(cp_job *j)
{
    if (!j->running) return;
    pthread_mutex_lock(&j->mu);
    j->stop = 1;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    j->running = 0;
}

/* ---- HTTP callbacks. */

static void on_request(void *arg, const es_http_log_entry *e)
{
    sd_app *app = arg;
    int level = e->status >= 500 || e->status == 0 ? SD_LOG_WARN : SD_LOG_INFO;
    sd_log(app, level, "%s %s %u %s %.3fs", e->method, e->path, e->status, e->client, e->seconds);
}

static void on_msg(void *arg, const char *msg)
{
    sd_log(arg, SD_LOG_WARN, "http: %s", msg);
}

static es_err health(void *arg)
{
    sd_app *app = arg;
    es_store *s = sd_store(app);
    int64_t v = 0;
    if (!s) return ES_ERR_IO;
    return es_store_query_int(s, "SELECT 1", NULL, 0, &v);
}

static void on_site(void *ctx, const char *line)
{
    (void)ctx;
    printf("site: %s\n", line);
    fflush(stdout);
}

/* First start: the initial system administrator, when the site has no account at all. */
static es_err bootstrap(sd_app *app, es_store *s)
{
    int64_t n = 0;
    es_err rv = es_store_query_int(s, "SELECT COUNT(*) FROM users", NULL, 0, &n);
    if (rv != ES_OK || n > 0) return rv;
    es_accounts a = {s, app->audit, app->cfg.session_minutes, app->cfg.lockout_failures,
                     app->cfg.lockout_minutes};
    es_actor sys = {"system", 0, 0, 1};
    char otp[32] = "";
    const char *why = NULL;
    rv = es_acct_create(&a, &sys, "admin", "System administrator",
                        ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN), NULL, otp, NULL, &why);
    if (rv == ES_ERR_EXISTS) return ES_OK; /* another daemon on the same store was faster */
    if (rv != ES_OK) {
        sd_log(app, SD_LOG_ERROR, "cannot create the initial administrator: %s",
               why ? why : es_err_str(rv));
        return rv;
    }
    /* stdout only, once: it is in no log and never shown again. */
    printf("first start: created the system administrator \"admin\"\n"
           "one-time password for admin: %s\n"
           "  (shown once; sign in with it and choose a new password)\n",
           otp);
    fflush(stdout);
    es_wipe(otp, sizeof otp);
    sd_log(app, SD_LOG_INFO, "first start: created the system administrator \"admin\"");
    return ES_OK;
}

/* The seal root's key was used outside the store (the system certificate): on the record. */
static es_err audit_system_cert(sd_app *app)
{
    es_store *s = sd_store(app);
    if (!s) return ES_ERR_IO;
    es_accounts a = {s, app->audit, app->cfg.session_minutes, app->cfg.lockout_failures,
                     app->cfg.lockout_minutes};
    es_actor sys = {"system", 0, 0, 1};
    char object[64], detail[sizeof app->public_url + 128];
    snprintf(object, sizeof object, "certificate:%s", app->site.system_serial);
    snprintf(detail, sizeof detail, "system certificate issued by the seal root for %s%s%s",
             app->public_url, app->site.system_replaced[0] ? "; superseded " : "",
             app->site.system_replaced);
    return es_acct_audit_event(&a, &sys, "ca.issue", object, detail);
}

static int level_of(const char *name)
{
    if (strcmp(name, "error") == 0) return SD_LOG_ERROR;
    if (strcmp(name, "warn") == 0) return SD_LOG_WARN;
    if (strcmp(name, "debug") == 0) return SD_LOG_DEBUG;
    return SD_LOG_INFO;
}

/* "127.0.0.1:0" with port 8440 gives "127.0.0.1:8440". */
static void with_port(const char *listen, unsigned port, char *out, size_t outlen)
{
    const char *colon = strrchr(listen, ':');
    int host = colon ? (int)(colon - listen) : (int)strlen(listen);
    snprintf(out, outlen, "%.*s:%u", host, listen, port);
}

int main(int argc, char **argv)
{
    const char *config = NULL, *listen = NULL, *var = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("esealsd %s\n", SD_VERSION);
            return 0;
        }
        if (i + 1 < argc && strcmp(a, "--config") == 0) {
            config = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--listen") == 0) {
            listen = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--var") == 0) {
            var = argv[++i];
        } else {
            fprintf(stderr, "esealsd: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }

    static sd_app app;
    static cp_job cp = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    char why[512] = "";
    es_store *store = NULL;
    es_signer *audit = NULL;
    es_http *http = NULL;
    int code = 1, site_ready = 0, key_made = 0;
    es_err rv;

    es_config_defaults(&app.cfg, var);
    if (config && (rv = es_config_load(config, &app.cfg, why, sizeof why)) != ES_OK) {
        fprintf(stderr, "esealsd: %s: %s\n", config, why);
        return 2;
    }
    if (listen) {
        const char *colon = strrchr(listen, ':');
        if (!colon || colon == listen || !colon[1] || strlen(listen) >= sizeof app.cfg.listen) {
            fprintf(stderr, "esealsd: --listen is ADDRESS:PORT, e.g. 127.0.0.1:8440\n");
            return 2;
        }
        snprintf(app.cfg.listen, sizeof app.cfg.listen, "%s", listen);
    }
    app.log_level = level_of(app.cfg.log_level);
    es_buf_init(&app.crl, 64u << 20);
    if (pthread_key_create(&app.store_key, store_close) != 0 ||
        pthread_mutex_init(&app.ca_lock, NULL) != 0)
        return 1;
    key_made = 1;

    char systems[64];
    es_systems_format(app.cfg.systems, systems, sizeof systems);
    printf("esealsd %s: tier %s, systems %s\n", SD_VERSION, es_tier_name(app.cfg.tier), systems);
    fflush(stdout);

    if ((rv = es_site_prepare(&app.cfg, &app.site, on_site, NULL, why, sizeof why)) != ES_OK) {
        fprintf(stderr, "esealsd: the site cannot be prepared: %s\n",
                why[0] ? why : es_err_str(rv));
        goto out;
    }
    site_ready = 1;

    if ((rv = es_store_open(app.cfg.store_url, &store)) != ES_OK) {
        fprintf(stderr, "esealsd: cannot open the store: %s\n", es_store_last_error(NULL));
        goto out;
    }
    int version = 0;
    if ((rv = es_store_migrate(store, &version)) != ES_OK) {
        fprintf(stderr, "esealsd: cannot migrate the store: %s (%s)\n", es_err_str(rv),
                es_store_last_error(store));
        goto out;
    }
    printf("store: %s, schema version %d\n", es_store_kind(store), version);
    fflush(stdout);

    es_signer *inner = NULL;
    if ((rv = es_keydev_signer(app.cfg.key_audit, &app.site.pin, &inner)) != ES_OK) {
        fprintf(stderr, "esealsd: cannot open the audit key %s: %s\n", app.cfg.key_audit,
                es_err_str(rv));
        goto out;
    }
    if (memcmp(inner->pub, app.site.audit_pub, sizeof inner->pub) != 0) {
        fprintf(stderr, "esealsd: the audit key does not match %s\n", app.site.audit_pub_path);
        es_signer_free(inner);
        goto out;
    }
    if ((rv = locked_signer(inner, &audit)) != ES_OK) {
        es_signer_free(inner);
        goto out;
    }
    app.audit = audit;

    if ((rv = bootstrap(&app, store)) != ES_OK) {
        fprintf(stderr, "esealsd: first start failed: %s (%s)\n", es_err_str(rv),
                es_store_last_error(store));
        goto out;
    }
    /* What was appended before a crash is checkpointed now (docs/audit.md). */
    int64_t cp_seq = 0;
    if ((rv = es_audit_checkpoint(store, audit, &cp_seq)) != ES_OK) {
        fprintf(stderr, "esealsd: cannot checkpoint the audit trail: %s (%s)\n", es_err_str(rv),
                es_store_last_error(store));
        goto out;
    }
    es_store_close(store);
    store = NULL;

    /* Room for the addresses and names of a busy day; the table never grows. */
    if ((rv = es_ratelimit_new(1u << 16, app.cfg.signin_rate_address, app.cfg.signin_rate_address,
                               &app.signin_address)) != ES_OK ||
        (rv = es_ratelimit_new(1u << 16, app.cfg.signin_rate_account, app.cfg.signin_rate_account,
                               &app.signin_account)) != ES_OK ||
        (rv = es_ratelimit_new(1u << 12, SD_REFUSAL_AUDIT_RATE, SD_REFUSAL_AUDIT_RATE,
                               &app.refusal_audit)) != ES_OK ||
        (rv = es_gate_new(app.cfg.signin_parallel, &app.hash_gate)) != ES_OK) {
        fprintf(stderr, "esealsd: %s\n", es_err_str(rv));
        goto out;
    }

    es_http_config hc;
    es_http_config_init(&hc);
    hc.listen = app.cfg.listen;
    hc.threads = app.cfg.threads;
    hc.max_connections = app.cfg.max_connections;
    hc.timeout = app.cfg.timeout_seconds;
    hc.max_body = app.cfg.max_body;
    hc.static_dir = app.cfg.web_dir[0] ? app.cfg.web_dir : NULL;
    hc.secure_cookies = app.cfg.secure_cookies;
    hc.log = on_request;
    hc.log_arg = &app;
    hc.msg = on_msg;
    hc.msg_arg = &app;
    if ((rv = es_http_new(&hc, &http)) != ES_OK) {
        fprintf(stderr, "esealsd: cannot make the HTTP server (listen %s, web_dir '%s'): %s\n",
                app.cfg.listen, app.cfg.web_dir, es_err_str(rv));
        goto out;
    }
    es_http_set_health(http, health, &app);
    if ((rv = sd_api_register(http, &app)) != ES_OK) {
        fprintf(stderr, "esealsd: cannot register the API: %s\n", es_err_str(rv));
        goto out;
    }

    /* The workers inherit this mask: the signals reach sigwait below only. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    cp.app = &app; /* started with the signals blocked, as the workers are */
    if (pthread_create(&cp.thread, NULL, cp_run, &cp) != 0) {
        fprintf(stderr, "esealsd: cannot start the audit checkpoint thread\n");
        goto out;
    }
    cp.running = 1;

    if ((rv = es_http_start(http)) != ES_OK) {
        fprintf(stderr, "esealsd: cannot listen on %s: %s\n", app.cfg.listen, es_err_str(rv));
        goto out;
    }
    char addr[160];
    with_port(app.cfg.listen, es_http_port(http), addr, sizeof addr);
    /* The system certificate names the address other systems use, port included: known
     * only now when the configuration asked for any free port. */
    if (app.cfg.public_url[0])
        snprintf(app.public_url, sizeof app.public_url, "%s", app.cfg.public_url);
    else
        snprintf(app.public_url, sizeof app.public_url, "http://%s/", addr);
    if ((rv = es_site_system_cert(&app.site, app.public_url, on_site, NULL, why, sizeof why)) !=
        ES_OK) {
        fprintf(stderr, "esealsd: %s\n", why[0] ? why : es_err_str(rv));
        goto out;
    }
    if (app.site.system_issued && (rv = audit_system_cert(&app)) != ES_OK) {
        fprintf(stderr, "esealsd: cannot audit the system certificate: %s\n", es_err_str(rv));
        goto out;
    }
    if ((rv = es_ca_open(app.site.ca_dir, &app.ca, why, sizeof why)) != ES_OK ||
        (rv = es_ca_login(app.ca, &app.site.pin)) != ES_OK) {
        fprintf(stderr, "esealsd: the seal root in %s: %s\n", app.site.ca_dir,
                why[0] ? why : es_err_str(rv));
        goto out;
    }
    atomic_store(&app.ready, 1);
    printf("listening on %s\nport %u\nconsole: http://%s/\n", addr, es_http_port(http), addr);
    fflush(stdout);
    sd_log(&app, SD_LOG_INFO, "serving on %s (store %s)", addr,
           strncmp(app.cfg.store_url, "sqlite:", 7) == 0 ? app.cfg.store_url : "postgresql");

    int sig = 0;
    while (sigwait(&stop, &sig) != 0) {
    }
    sd_log(&app, SD_LOG_INFO, "signal %d: stopping", sig);
    es_http_stop(http, 10000);
    code = 0;
out:
    es_http_free(http);
    cp_stop(&cp); /* after the last request: its record is in the last checkpoint */
    es_ca_close(app.ca);
    es_buf_cleanup(&app.crl);
    es_ratelimit_free(app.signin_address);
    es_ratelimit_free(app.signin_account);
    es_ratelimit_free(app.refusal_audit);
    es_gate_free(app.hash_gate);
    es_store_close(store);
    es_signer_free(audit);
    if (site_ready) es_site_cleanup(&app.site);
    if (key_made) pthread_key_delete(app.store_key);
    if (code == 0) {
        printf("stopped\n");
        fflush(stdout);
    }
    return code;
}
