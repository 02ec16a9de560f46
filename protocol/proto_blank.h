/*
 * Whether a message's text shows nothing: a send of only spaces is refused
 * (protocol/README.md), and "spaces" are what a reader sees as none, not only
 * ASCII's four. A text of U+00A0 or U+3000 alone passed JavaScript's trim()
 * in the page but reached the whole room as an empty bubble.
 */
#ifndef CHATHUB_PROTO_BLANK_H
#define CHATHUB_PROTO_BLANK_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the UTF-8 text s (len bytes, well-formed) holds only characters
 * of Unicode's White_Space or Default_Ignorable_Code_Point properties (the
 * spaces, and the invisible ones: zero-width, format marks, Hangul fillers,
 * variation selectors, tags); true for an empty text. */
bool proto_text_blank(const char *s, size_t len);

#endif
