/* A read frame read back (proto_read.h). */
#include "proto_read.h"

#include <string.h>

#include "proto_jsonwalk.h"

typedef struct read_fields {
    bool is_read;
    double user_id, seq;
} read_fields_t;

static int
on_member(void *ud, const char *key, const proto_jv_t *v)
{
    read_fields_t *f = ud;
    char type[8];

    if (key == NULL) {
        return 0;
    }
    if (strcmp(key, "type") == 0) {
        f->is_read = proto_json_string(v, type, sizeof(type)) == 4 && memcmp(type, "read", 4) == 0;
    } else if (strcmp(key, "user_id") == 0) {
        (void)proto_json_number(v, &f->user_id);
    } else if (strcmp(key, "seq") == 0) {
        (void)proto_json_number(v, &f->seq);
    }
    return 0;
}

bool
proto_read_parse(const char *json, size_t len, int64_t *user_id, int64_t *seq)
{
    /* proto_build_read starts every read so; the other events are not walked. */
    static const char prefix[] = "{\"type\":\"read\"";
    read_fields_t f = {0};

    if (len < sizeof(prefix) - 1 || memcmp(json, prefix, sizeof(prefix) - 1) != 0 ||
        proto_json_walk_object(json, len, on_member, &f) < 0 || !f.is_read) {
        return false;
    }
    if (!(f.user_id >= 1 && f.user_id <= 9007199254740991.0 && f.seq >= 1 &&
          f.seq <= 9007199254740991.0)) {
        return false;
    }
    *user_id = (int64_t)f.user_id;
    *seq = (int64_t)f.seq;
    return true;
}
