/*
 * libFuzzer target: the join's participant list (store_parts.h), checked
 * against cJSON. Whatever store_parts_parse() accepts must be JSON that cJSON
 * reads as the same members, ids, seqs and strings (ASan checks that they
 * stay inside the block). cJSON refuses lone surrogates, which we replace,
 * so with a \u escape in the text it may fail where we do not.
 */
#define _GNU_SOURCE /* memmem */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool cond)
{
    if (!cond) {
        abort();
    }
}

/* cJSON keeps numbers as doubles: compare where a double is exact. */
static void
check_int(const cJSON *item, int64_t v)
{
    if (cJSON_IsNull(item)) {
        check(v == 0);
        return;
    }
    check(cJSON_IsNumber(item));
    if (v > -(INT64_C(1) << 53) && v < (INT64_C(1) << 53)) {
        check(item->valuedouble == (double)v);
    }
}

/* Our string against cJSON's: equal unless a \u escape could be one that
 * we replace (U+0000 or a lone surrogate). */
static void
check_str(const cJSON *item, const char *s, bool has_u)
{
    check(cJSON_IsString(item));
    if (!has_u) {
        check(strcmp(item->valuestring, s) == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t n = 0;
    proto_participant_t *parts = store_parts_parse(text, size, &n);

    if (parts == NULL) {
        check(n == 0);
        return 0;
    }
    bool has_u = memmem(text, size, "\\u", 2) != NULL;
    cJSON *tree = cJSON_ParseWithLength(text, size);
    if (tree == NULL) {
        check(has_u);
        free(parts);
        return 0;
    }
    check(cJSON_IsArray(tree) && (size_t)cJSON_GetArraySize(tree) == n);
    for (size_t i = 0; i < n; i++) {
        const cJSON *m = cJSON_GetArrayItem(tree, (int)i);
        check(cJSON_IsArray(m) && cJSON_GetArraySize(m) == 4);
        check_int(cJSON_GetArrayItem(m, 0), parts[i].user.id);
        check_str(cJSON_GetArrayItem(m, 1), parts[i].user.full_name, has_u);
        check_str(cJSON_GetArrayItem(m, 2), parts[i].user.role, has_u);
        check_int(cJSON_GetArrayItem(m, 3), parts[i].last_read_seq);
        check(!parts[i].online);
    }
    check(parts[n].user.id == 0 && parts[n].user.full_name == NULL);
    cJSON_Delete(tree);
    free(parts);
    return 0;
}
