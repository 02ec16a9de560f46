/*
 * Lookup of the embedded files (a handful: a linear scan is the fastest).
 */
#include "hub_static.h"

#include <string.h>

const hub_static_file_t *
hub_static_find(const char *path)
{
    for (unsigned i = 0; i < hub_static_count; i++) {
        if (strcmp(hub_static_files[i].path, path) == 0) {
            return &hub_static_files[i];
        }
    }
    return NULL;
}
