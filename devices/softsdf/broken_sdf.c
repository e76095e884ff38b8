/* libbroken_sdf.so: an "SDF library" that exports SDF_OpenDevice and nothing else, so that
 * tests see eseal refuse a library without a function it requires (ES_ERR_SYMBOL). */
#include <stddef.h>

#include "eseal/sdf.h"

int SDF_OpenDevice(void **phDeviceHandle)
{
    if (phDeviceHandle) *phDeviceHandle = NULL;
    return SDR_NOTSUPPORT;
}
