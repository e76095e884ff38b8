/* The console's test server for tests/e2e/run.sh: the HTTP layer on 127.0.0.1 with an
 * ephemeral port, the embedded console (or --static DIR), and one fixture: a stub
 * POST /api/v1/sessions that refuses every sign-in with 401 (accounts come later; this is not
 * product code). Prints "port N" on standard output once listening; stops gracefully on
 * SIGTERM or SIGINT and exits 0.
 *
 * usage: e2e_serve [--static DIR] [--listen ADDR:PORT]
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "eseal/http.h"

/* The error reply of the contract the console reads (docs/http.md): a stable name, English,
 * and Chinese different from the console's own text for "unauthorized", so that the test sees
 * which one is shown. */
#define STUB_MESSAGE    "wrong user name or password (stub)"
#define STUB_MESSAGE_ZH "用户名或密码不正确（测试桩）"

static const es_json_field signin_schema[] = {
    {"username", ES_JSON_STRING, ES_JSON_REQUIRED, 64},
    {"password", ES_JSON_STRING, ES_JSON_REQUIRED, 256},
    {NULL},
};

static es_err stub_sessions(es_http_req *req, void *arg)
{
    es_err rv;
    json_t *body;
    (void)arg;
    if ((rv = es_http_req_json(req, signin_schema, &body)) != ES_OK) return rv;
    json_decref(body);
    json_t *reply = json_pack("{s:s, s:s, s:s}", "error", "unauthorized", "message", STUB_MESSAGE,
                              "message_zh", STUB_MESSAGE_ZH);
    if (!reply) return ES_ERR_NOMEM;
    return es_http_reply_json_new(req, 401, reply);
}

static void log_request(void *arg, const es_http_log_entry *e)
{
    (void)arg;
    fprintf(stderr, "%s %s %s -> %u (%.3f ms)\n", e->client, e->method, e->path, e->status,
            e->seconds * 1e3);
}

int main(int argc, char **argv)
{
    es_http_config cfg;
    es_http *h = NULL;
    sigset_t set;
    int sig;

    es_http_config_init(&cfg);
    cfg.listen = "127.0.0.1:0";
    cfg.log = log_request;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--static") == 0 && i + 1 < argc) {
            cfg.static_dir = argv[++i];
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            cfg.listen = argv[++i];
        } else {
            fprintf(stderr, "usage: e2e_serve [--static DIR] [--listen ADDR:PORT]\n");
            return 2;
        }
    }
    /* Block the stop signals before the server's threads start, so that they inherit the
     * mask and sigwait below receives them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (es_http_new(&cfg, &h) != ES_OK ||
        es_http_route(h, "POST", "/api/v1/sessions", stub_sessions, NULL, ES_HTTP_PUBLIC) !=
            ES_OK ||
        es_http_start(h) != ES_OK) {
        fprintf(stderr, "e2e_serve: cannot start the server on %s\n", cfg.listen);
        es_http_free(h);
        return 1;
    }
    printf("port %u\n", es_http_port(h));
    fflush(stdout);
    sigwait(&set, &sig);
    es_http_stop(h, 5000);
    es_http_free(h);
    return 0;
}
