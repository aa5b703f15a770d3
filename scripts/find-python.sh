#!/usr/bin/env bash
# Print the path of a Python matching the Lambda runtime (3.13), else 3.12, else any python3 >= 3.11.
# sam build needs the template's runtime on PATH; pyenv keeps 3.12 and 3.13 beside the default.
set -euo pipefail
for version in 3.13 3.12; do
  if command -v "python$version" >/dev/null 2>&1 && "python$version" -c '' 2>/dev/null; then
    command -v "python$version"; exit 0
  fi
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python"$version"; do
    if [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
  done
done
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' && command -v python3 && exit 0
echo "no Python 3.11+ found" >&2; exit 1
