#!/usr/bin/env bash
# Blocking calls are banned on the event loop (STYLE.md "The loop"): hub/ and
# store/ must not call them. Exit 1 and name each hit.
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
pattern='\b(PQexec|PQexecParams|PQexecPrepared|PQconnectdb|PQconnectdbParams|PQsetdbLogin|PQping|PQpingParams|redisCommand|redisConnect|sleep|usleep|nanosleep|getaddrinfo|gethostbyname)[[:space:]]*\('
hits=$(grep -nE "$pattern" "$root"/hub/*.c "$root"/store/*.c | grep -v 'uv_getaddrinfo' || true)
if [ -n "$hits" ]; then
    echo "blocking calls in hub/ or store/:"
    echo "$hits"
    exit 1
fi
echo "no blocking calls in hub/ or store/"
