#!/usr/bin/env bash
# The C sources follow the committed .clang-format (STYLE.md "Format").
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v clang-format >/dev/null || { echo "clang-format not installed: skipped"; exit 77; }
cd "$root" || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find protocol store hub tests -name '*.[ch]')
clang-format --dry-run -Werror $files
