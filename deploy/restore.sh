#!/bin/sh
# Restore a backup made by deploy/backup.sh into a NEW, empty database, then
# verify the evidence chain on it. docs/operations.md, "Backup and restore".
#
#   deploy/restore.sh BACKUP_DIR
#
# Reads from the environment:
#   DATABASE_URL               the new database (created empty, owned by the schema owner), as its owner
#   EVIDENCE_CHECKPOINT_FILE   where the checkpoint file goes (default var/evidence-checkpoints.txt); an
#                              existing file is kept, never overwritten: it may know newer checkpoints
#   PRIVATE_MEDIA_ROOT         where the private files go (default var/private); must be empty or absent
#   EVIDENCE_SIGNING_KEY       as in production (verify_chain checks the signatures with the recorded keys)
#   PYTHON                     default: .venv/bin/python of the application
#
# Refuses (exit 2) a backup whose checksums do not match, and a database that
# already has tables. Exits non-zero when verify_chain finds the chain broken.
set -eu

APP_DIR=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
BACKUP=${1:?usage: restore.sh BACKUP_DIR}
: "${DATABASE_URL:?DATABASE_URL must name the new, empty database}"
PYTHON=${PYTHON:-$APP_DIR/.venv/bin/python}
CHECKPOINTS=${EVIDENCE_CHECKPOINT_FILE:-$APP_DIR/var/evidence-checkpoints.txt}
PRIVATE=${PRIVATE_MEDIA_ROOT:-$APP_DIR/var/private}

if ! (cd "$BACKUP" && sha256sum --check --quiet SHA256SUMS); then
  echo "restore.sh: $BACKUP does not match its SHA256SUMS; nothing restored" >&2
  exit 2
fi
tables=$(psql --no-psqlrc --tuples-only --no-align --dbname="$DATABASE_URL" \
  --command="SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
if [ "$tables" != "0" ]; then
  echo "restore.sh: the target database already has $tables tables; restore into a new, empty database" >&2
  exit 2
fi
if [ -d "$PRIVATE" ] && [ -n "$(ls -A "$PRIVATE")" ]; then
  echo "restore.sh: $PRIVATE is not empty; nothing restored" >&2
  exit 2
fi

# All or nothing; objects owned by the role restoring, grants as dumped.
pg_restore --exit-on-error --single-transaction --no-owner --dbname="$DATABASE_URL" "$BACKUP/database.dump"

mkdir -p "$PRIVATE"
tar -C "$PRIVATE" -xf "$BACKUP/private.tar"
if [ -e "$CHECKPOINTS" ]; then
  echo "restore.sh: keeping the existing checkpoint file $CHECKPOINTS" >&2
else
  mkdir -p "$(dirname -- "$CHECKPOINTS")"
  cp -p "$BACKUP/evidence-checkpoints.txt" "$CHECKPOINTS"
fi

cd "$APP_DIR"
EVIDENCE_CHECKPOINT_FILE=$CHECKPOINTS "$PYTHON" manage.py verify_chain
