/* What the files of src/svc/national share (not part of the public API). */
#ifndef ESEAL_SVC_NATIONAL_INTERNAL_H
#define ESEAL_SVC_NATIONAL_INTERNAL_H

#include "eseal/national.h"

/* One built-in division (the generated table of data/divisions.tsv). */
typedef struct division_row {
    const char code[7];
    const char *name;
    const char *full;
    int level;
} division_row;

#endif
