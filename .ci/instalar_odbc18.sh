#!/usr/bin/env bash
# Installs Microsoft's "ODBC Driver 18 for SQL Server" for unixODBC from the package registries:
# the Linux driver binaries of the PyPI package mssql-python-odbc (an internal package of
# Microsoft's mssql-python; proprietary Microsoft EULA, "install and use ... to develop and test
# your applications"), the Debian libraries it links against, and the driver's registration in
# /etc/odbcinst.ini so that pyodbc.drivers() lists it (tests/test_odbc_driver18.py needs it).
#
# Idempotent and non-interactive. Always exits 0: when the driver cannot be had it prints one
# "instalar_odbc18: NO DISPONIBLE: ..." line and the tests that need it are skipped.
# On success the last line is "instalar_odbc18: OK <path of libmsodbcsql-18.*.so.*>".
#
# Environment: PYTHON (default python3), ODBC18_PIP_SPEC (default "mssql-python-odbc>=18.6,<19").
set -uo pipefail

NAME="ODBC Driver 18 for SQL Server"
PY="${PYTHON:-python3}"
SPEC="${ODBC18_PIP_SPEC:-mssql-python-odbc>=18.6,<19}"
export DEBIAN_FRONTEND=noninteractive

say() { echo "instalar_odbc18: $*"; }
give_up() { say "NO DISPONIBLE: $*"; exit 0; }

[ "$(uname -s)" = "Linux" ] || give_up "solo para Linux (sistema $(uname -s))"
case "$(uname -m)" in
  x86_64 | amd64) ARCH=x86_64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) give_up "arquitectura $(uname -m) sin binarios en mssql-python-odbc" ;;
esac
command -v "$PY" >/dev/null 2>&1 || give_up "no hay $PY"

# 1. Debian packages: unixODBC (driver manager, odbcinst) and the libraries the driver needs
#    (ldd: libkrb5.so.3, libgssapi_krb5.so.2, libstdc++.so.6; its bundled libodbcinst.so.2 needs
#    libltdl.so.7; libssl.so.3 is loaded at run time for TLS).
if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in unixodbc libodbc2 libltdl7 libkrb5-3 libgssapi-krb5-2 libssl3 libstdc++6; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "instalando paquetes Debian: ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
      give_up "faltan paquetes Debian (${missing[*]}) y no se es root"
    fi
    timeout 600 apt-get update -qq >/dev/null 2>&1 || say "aviso: apt-get update falló"
    timeout 600 apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
      || give_up "apt-get install ${missing[*]} falló"
  fi
fi
command -v odbcinst >/dev/null 2>&1 || give_up "no hay odbcinst (paquete Debian unixodbc)"

# 2. The driver binaries (pip skips the download when a matching version is installed).
if ! "$PY" -c "import mssql_python_odbc" >/dev/null 2>&1; then
  say "instalando $SPEC"
  timeout 600 "$PY" -m pip install -q --disable-pip-version-check "$SPEC" >/dev/null 2>&1 \
    || give_up "pip install '$SPEC' falló"
fi
LIBS="$("$PY" -c 'import mssql_python_odbc as m; print(m.get_libs_dir())' 2>/dev/null)" \
  || give_up "no se puede importar mssql_python_odbc"
LIBDIR="$LIBS/linux/debian_ubuntu/$ARCH/lib"
DRIVER_SO="$(ls "$LIBDIR"/libmsodbcsql-18.*.so.* 2>/dev/null | sort -V | tail -n 1)"
[ -n "$DRIVER_SO" ] && [ -f "$DRIVER_SO" ] || give_up "el paquete no trae libmsodbcsql-18 para linux/debian_ubuntu/$ARCH"

notfound="$(ldd "$DRIVER_SO" 2>&1 | awk '/not found/ {print $1}' | tr '\n' ' ')"
[ -z "$notfound" ] || give_up "$DRIVER_SO no encuentra: $notfound"

# 3. Registration in odbcinst.ini (only when missing or pointing elsewhere, e.g. after an upgrade).
current="$(odbcinst -q -d -n "$NAME" 2>/dev/null | sed -n 's/^Driver[[:space:]]*=[[:space:]]*//p' | head -n 1)"
if [ "$current" != "$DRIVER_SO" ]; then
  tmpl="$(mktemp)"
  printf '[%s]\nDescription=Microsoft ODBC Driver 18 for SQL Server (PyPI mssql-python-odbc)\nDriver=%s\nUsageCount=1\n' \
    "$NAME" "$DRIVER_SO" >"$tmpl"
  odbcinst -i -d -f "$tmpl" >/dev/null 2>&1 || { rm -f "$tmpl"; give_up "odbcinst -i -d -f falló"; }
  rm -f "$tmpl"
  say "registrado en $(odbcinst -j 2>/dev/null | sed -n 's/^DRIVERS[ .]*: *//p')"
fi

# 4. The driver must load and answer itself (a closed port: "[Microsoft][ODBC Driver 18 ...]"
#    instead of unixODBC's "Can't open lib"). Skipped when pyodbc is not installed yet.
if "$PY" -c "import pyodbc" >/dev/null 2>&1; then
  check="$(timeout 60 "$PY" - "$NAME" <<'EOF' 2>&1
import socket, sys
import pyodbc
name = sys.argv[1]
if name not in pyodbc.drivers():
    print("pyodbc.drivers() no lo lista:", pyodbc.drivers())
    sys.exit(1)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
try:
    pyodbc.connect(f"DRIVER={{{name}}};SERVER=127.0.0.1,{port};Encrypt=no;Connection Timeout=1", timeout=1)
except pyodbc.Error as exc:
    text = " ".join(str(a) for a in exc.args)
    if f"[Microsoft][{name}]" in text:
        sys.exit(0)
    print(text)
    sys.exit(1)
print("conexión inesperada a un puerto cerrado")
sys.exit(1)
EOF
)" || give_up "el driver no carga: $check"
fi

say "OK $DRIVER_SO"
exit 0
