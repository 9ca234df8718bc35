#!/bin/sh
# Back up a trust center: the database (pg_dump custom format), the evidence
# checkpoint file kept outside it, and the private files. docs/operations.md,
# "Backup and restore".
#
#   deploy/backup.sh [DEST]          DEST default: $BACKUP_DIR, else /var/backups/trustcenter
#
# Reads from the environment (as the web and worker do; source the env file first):
#   DATABASE_URL               the database; a role that may read every table (the schema owner)
#   EVIDENCE_CHECKPOINT_FILE   default: var/evidence-checkpoints.txt
#   PRIVATE_MEDIA_ROOT         default: var/private
#
# Writes DEST/<UTC time>/ (mode 700): database.dump, evidence-checkpoints.txt,
# private.tar, SHA256SUMS. Never the evidence signing key nor SECRET_KEY: keep
# those in your secrets store, apart from the backups (whoever holds the key
# can sign checkpoints).
set -eu

APP_DIR=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
: "${DATABASE_URL:?DATABASE_URL must name the database to back up}"
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "backup.sh: DATABASE_URL is not PostgreSQL; back up the SQLite file with sqlite3 .backup instead" >&2; exit 2 ;;
esac
CHECKPOINTS=${EVIDENCE_CHECKPOINT_FILE:-$APP_DIR/var/evidence-checkpoints.txt}
PRIVATE=${PRIVATE_MEDIA_ROOT:-$APP_DIR/var/private}
DEST_ROOT=${1:-${BACKUP_DIR:-/var/backups/trustcenter}}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
DEST=$DEST_ROOT/$STAMP

umask 077
mkdir -p "$DEST"
# One consistent snapshot of the whole database (pg_dump runs in one transaction).
pg_dump --format=custom --compress=6 --file="$DEST/database.dump" "$DATABASE_URL"
# The checkpoint file is copied after the dump: it may name a checkpoint newer
# than the dump, never miss one the dump has.
if [ -f "$CHECKPOINTS" ]; then
  cp -p "$CHECKPOINTS" "$DEST/evidence-checkpoints.txt"
else
  echo "backup.sh: no checkpoint file at $CHECKPOINTS (none signed yet?)" >&2
  : > "$DEST/evidence-checkpoints.txt"
fi
if [ -d "$PRIVATE" ]; then
  tar -C "$PRIVATE" -cf "$DEST/private.tar" .
else
  tar -cf "$DEST/private.tar" --files-from /dev/null
fi
(cd "$DEST" && sha256sum database.dump evidence-checkpoints.txt private.tar > SHA256SUMS)
echo "$DEST"
