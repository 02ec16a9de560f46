/*
 * Files the hub serves itself, embedded at build time (hub/embed_static.py):
 * the browser client at /client/chathub.js and the demo page at /.
 */
#ifndef CHATHUB_HUB_STATIC_H
#define CHATHUB_HUB_STATIC_H

#include <stddef.h>

typedef struct hub_static_file {
    const char *path;
    const char *content_type;
    const unsigned char *data;
    size_t len;
} hub_static_file_t;

extern const hub_static_file_t hub_static_files[];
extern const unsigned hub_static_count;

/* The file served at path, or NULL. */
const hub_static_file_t *hub_static_find(const char *path);

#endif
