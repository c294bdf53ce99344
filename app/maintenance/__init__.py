"""Operating the installation itself: backups and restores of its database
(`python -m app.maintenance`, run by scripts/backup and scripts/restore)."""
