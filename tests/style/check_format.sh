#!/usr/bin/env bash
# The code follows the committed .clang-format (../shared/STYLE.md: Google style, 100
# columns): every C++ file of the project, as clang-format would write it. Fails naming each
# file that differs; `clang-format -i FILE` rewrites one in place.
set -euo pipefail
cd "${1:?usage: check_format.sh SOURCE_DIR}"
if ! command -v clang-format >/dev/null; then
  echo "check_format: clang-format is not installed (bash deploy/install-deps.sh --tests installs it)"
  exit 1
fi
folders=(broker agents proto tests)
for folder in "${folders[@]}"; do
  if [ ! -d "$folder" ]; then
    echo "check_format: $(pwd)/$folder is missing: say here where the C++ files are now"; exit 1
  fi
done
mapfile -t files < <(find "${folders[@]}" -type f \( -name '*.cc' -o -name '*.h' \) | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "check_format: no C++ files found under $(pwd)"; exit 1
fi
differ=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || differ+=("$f")
done
if [ ${#differ[@]} -gt 0 ]; then
  echo "check_format: ${#differ[@]} of ${#files[@]} files are not as .clang-format writes them:"
  printf '  %s\n' "${differ[@]}"
  echo "mend each with: clang-format -i FILE ($(clang-format --version | head -1); the project's"
  echo "files are as Debian 12's clang-format 14 writes them, and another version may differ)"
  exit 1
fi
echo "check_format: all ${#files[@]} C++ files follow .clang-format"
