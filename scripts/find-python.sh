#!/usr/bin/env bash
# Print the path of a Python matching the Lambda runtime (3.13), else 3.12, else any python3 >= 3.11.
# With a version (`find-python.sh 3.13`), that version only: `sam build` needs the template's runtime
# on PATH, and the layer is compiled by it. pyenv keeps 3.12 and 3.13 beside the default.
set -euo pipefail
versions=("${1:-3.13}")
[ $# -eq 0 ] && versions=(3.13 3.12)
for version in "${versions[@]}"; do
  if command -v "python$version" >/dev/null 2>&1 && "python$version" -c '' 2>/dev/null; then
    command -v "python$version"; exit 0
  fi
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python"$version"; do
    if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
  done
done
if [ $# -gt 0 ]; then
  echo "Python $1 not found (on PATH or in pyenv): sam build needs the functions' runtime, python$1 (pyenv install $1)" >&2
  exit 1
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' && command -v python3 && exit 0
echo "no Python 3.11+ found" >&2; exit 1
