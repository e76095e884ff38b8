/* Signed request headers for bench/bench_api.sh: N Authorization values of one business
 * system for one request, each with a fresh nonce (a header is good for one request), one
 * per line, for wrk to send in turn. Prints how fast it signed on stderr.
 *
 * usage: bench_signed_headers CLIENT KEY.pem METHOD TARGET N > headers.txt */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "eseal/clients.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_signed_headers CLIENT KEY.pem METHOD TARGET N\n");
        return 2;
    }
    long n = strtol(argv[5], NULL, 10);
    es_buf pem, out;
    es_sm2_key *k = NULL;
    es_signer *s = NULL;
    es_buf_init(&pem, 1u << 16);
    es_buf_init(&out, ES_CLIENT_HEADER_MAX);
    if (es_file_read(argv[2], &pem) != ES_OK || es_sm2_key_from_pem(pem.p, pem.len, NULL, &k) ||
        es_signer_from_key(k, &s) != ES_OK) {
        fprintf(stderr, "bench_signed_headers: cannot read the key %s\n", argv[2]);
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        out.len = 0;
        if (es_client_sign_request(s, argv[1], argv[3], argv[4], es_slice_make("", 0), NULL, NULL,
                                   &out) != ES_OK)
            return 1;
        printf("%.*s\n", (int)out.len, (const char *)out.p);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "bench_signed_headers: %ld headers in %.2f s (%.0f signs/s)\n", n, secs,
            (double)n / secs);
    es_signer_free(s);
    es_buf_cleanup(&pem);
    es_buf_cleanup(&out);
    return 0;
}
