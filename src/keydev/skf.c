/* skf:LIB#DEVICE/APPLICATION/CONTAINER: placeholder until the SKF backend lands; every operation is unsupported. */
#include "keydev/internal.h"

static es_err skf_open(const es_keyref *ref, void **state)
{
    (void)ref;
    (void)state;
    return ES_ERR_UNSUPPORTED;
}

const es_keydev_ops es_keydev_skf_ops = {.kind = "skf", .open = skf_open};
