/* libFuzzer target: client frame parsing (proto_frame) and the error frame built from it. */
#include <stdint.h>
#include <stdlib.h>

#include "proto_build.h"
#include "proto_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_in_t in;
    proto_err_t err;
    size_t len;

    if (proto_in_parse((const char *)data, size, 1024, &in, &err) < 0) {
        free(proto_build_error(err, NULL, in.client_id, &len));
    }
    proto_in_clear(&in);
    return 0;
}
