/* proto_read: a read frame gives back its reader and seq; nothing else does. */
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "proto_build.h"
#include "proto_read.h"

static bool
parse(const char *s, int64_t *user, int64_t *seq)
{
    return proto_read_parse(s, strlen(s), user, seq);
}

int
main(void)
{
    size_t len;
    char *s = proto_build_read(12, 7, 46, &len);
    int64_t user = 0, seq = 0;

    ok(proto_read_parse(s, len, &user, &seq) && user == 7 && seq == 46,
       "the built read frame parses to its reader and seq");
    ok(!proto_read_parse(s, len - 1, &user, &seq), "a cut one does not");
    free(s);
    s = proto_build_read(1, 9007199254740991, 9007199254740991, &len);
    ok(proto_read_parse(s, len, &user, &seq) && user == 9007199254740991 && seq == 9007199254740991,
       "the largest ids a client can hold parse exactly");
    free(s);
    ok(!parse("{\"type\":\"typing\",\"room_id\":1,\"user\":{\"id\":7},\"is_typing\":true}", &user,
              &seq),
       "typing is not a read");
    ok(!parse("{\"type\":\"read\",\"type\":\"typing\",\"user_id\":7,\"seq\":3}", &user, &seq),
       "the last type wins");
    ok(!parse("{\"type\":\"read\",\"room_id\":1,\"user_id\":7,\"seq\":-1}", &user, &seq),
       "a seq below 1 is not a read's");
    ok(!parse("{\"type\":\"read\",\"room_id\":1,\"user_id\":7}", &user, &seq), "nor a missing one");
    ok(!parse("{\"type\":\"read\",\"room_id\":1,\"user_id\":1e300,\"seq\":3}", &user, &seq),
       "a reader past 2^53 is refused, not cast");
    ok(!parse("", &user, &seq) && !parse("{\"type\":\"rea", &user, &seq), "empty and short input");
    return tap_done();
}
