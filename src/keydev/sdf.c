/* sdf:LIB#INDEX: placeholder until the SDF backend lands; every operation is unsupported. */
#include "keydev/internal.h"

static es_err sdf_open(const es_keyref *ref, void **state)
{
    (void)ref;
    (void)state;
    return ES_ERR_UNSUPPORTED;
}

const es_keydev_ops es_keydev_sdf_ops = {.kind = "sdf", .open = sdf_open};
