/*
 * libFuzzer target: client frame parsing (proto_frame) and the frames built from
 * what it returns. Besides "never crash", it checks the parser's promises and
 * that every built frame is valid JSON, whatever bytes went into it.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto_build.h"
#include "proto_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TEXT 64

static void
check(bool cond)
{
    if (!cond) {
        abort();
    }
}

/* A builder's output must parse back as one JSON object. */
static void
check_json(char *s, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(s, len);

    check(len == strlen(s));
    check(cJSON_IsObject(j));
    cJSON_Delete(j);
    free(s);
}

static void
check_parsed(const proto_in_t *in)
{
    check(strlen(in->client_id) <= PROTO_CLIENT_ID_MAX);
    switch (in->type) {
    case PROTO_IN_CHAT_MESSAGE:
        check(in->text != NULL && in->text_len == strlen(in->text));
        check(in->text_len > 0 && in->text_len <= MAX_TEXT);
        check(!in->has_room_id || (in->room_id > 0 && in->room_id <= INT64_C(9007199254740991)));
        break;
    case PROTO_IN_MARK_READ:
        check(in->seq >= 0);
        break;
    case PROTO_IN_HISTORY:
        check(in->before_seq >= 0 && in->limit >= 1 && in->limit <= PROTO_HISTORY_LIMIT_MAX);
        break;
    case PROTO_IN_TYPING:
    case PROTO_IN_PING:
        break;
    default:
        abort();
    }
    check(in->type == PROTO_IN_CHAT_MESSAGE || in->text == NULL);
}

/* The raw input as message content: the escaper must cope with any bytes. */
static void
build_from_bytes(const uint8_t *data, size_t size, const char *client_id)
{
    proto_msg_t m = {
        1,        2, 3, {4, "n", "student"}, (const char *)data, size, "2026-11-22T10:15:30.123Z",
        client_id};
    size_t len;
    char *s = proto_build_chat_message(&m, &len);
    bool ascii = true;

    for (size_t i = 0; i < size; i++) {
        ascii = ascii && data[i] != 0 && data[i] < 0x80;
    }
    if (ascii) {
        /* Nothing to replace: the text must come back byte for byte. */
        cJSON *j = cJSON_ParseWithLength(s, len);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "message"), "content");
        check(cJSON_IsString(c) && strlen(c->valuestring) == size &&
              memcmp(c->valuestring, data, size) == 0);
        cJSON_Delete(j);
    }
    check_json(s, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_in_t in;
    proto_err_t err = PROTO_ERR_NONE;
    size_t len;

    if (proto_in_parse((const char *)data, size, MAX_TEXT, &in, &err) == 0) {
        check(err == PROTO_ERR_NONE);
        check_parsed(&in);
    } else {
        check(err > PROTO_ERR_NONE && err < PROTO_ERR__COUNT && in.text == NULL);
        char *s = proto_build_error(err, NULL, in.client_id, &len);
        check_json(s, len);
    }
    build_from_bytes(data, size, in.client_id);
    proto_in_clear(&in);
    /* The API's NUL guard reads the same bytes; it must never read past them. */
    (void)proto_json_has_nul((const char *)data, size);
    return 0;
}
