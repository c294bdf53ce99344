# Shared by scripts/run, scripts/test and scripts/translations: make .venv with the pinned
# dependencies and the compiled translations. Sourced, not executed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
REQUIREMENTS="${REQUIREMENTS:-requirements.txt}"
STAMP="$VENV/.installed-$(basename "$REQUIREMENTS")"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Python 3.11 or newer is needed as $PYTHON (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV ..."
  "$PYTHON" -m venv "$VENV"
fi
# Reinstall only when the requirement files changed since the last install.
if [ ! -f "$STAMP" ] || [ requirements.txt -nt "$STAMP" ] || [ "$REQUIREMENTS" -nt "$STAMP" ]; then
  echo "Installing dependencies from $REQUIREMENTS ..."
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export FLASK_APP=wsgi
# Compile the translation catalogs (the .mo files are built, never committed).
pybabel -q compile -d app/translations
