/*
 * A room's participant list as the join statements return it: the JSON text
 * [[id, "full_name", "role", last_read_seq], ...] of json_agg() over
 * json_build_array(). Parsed in one block, not a cJSON tree, because every
 * handshake reads one and a tree costs about seven allocations per member.
 */
#ifndef CHATHUB_STORE_PARTS_H
#define CHATHUB_STORE_PARTS_H

#include <stddef.h>

#include "proto_types.h"

/*
 * Parse len bytes of json. Returns one malloc'd block, to free() as a whole:
 * n participants and a zeroed one after them, their names and roles stored
 * in the same block. NULL when the text is not exactly that shape (any JSON
 * whitespace allowed; a null last_read_seq reads as 0; ids and seqs are
 * integers that fit int64_t). Strings are unescaped as JSON says; a \u escape
 * of a lone surrogate or of U+0000 becomes U+FFFD.
 */
proto_participant_t *store_parts_parse(const char *json, size_t len, size_t *n);

#endif
