#!/usr/bin/env bash
# Runs inside the old Postgres server at seed time (podman exec -i ... bash -s -- DEVICE MOUNTPOINT CIDR...):
# mounts the blank data volume, creates the cluster on it and the `pythonanywhere` database with rows.
set -euo pipefail
device=$1 mnt=$2
shift 2
mkfs.ext4 -q -F -L pgdata "$device"
mkdir -p "$mnt"
mount "$device" "$mnt"
install -d -o postgres -g postgres "$mnt/15"
pg_createcluster -q 15 main -d "$mnt/15/main" -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
conf=/etc/postgresql/15/main
echo "listen_addresses = '*'" >> "$conf/postgresql.conf"
# The lab's networks are trusted (no secrets in the lab): any role may connect from them.
for cidr in "$@"; do echo "host all all $cidr trust" >> "$conf/pg_hba.conf"; done
systemctl start postgresql@15-main.service
su postgres -c "psql -q -v ON_ERROR_STOP=1" <<'SQL'
CREATE ROLE pythonanywhere LOGIN;
CREATE DATABASE pythonanywhere OWNER pythonanywhere;
\connect pythonanywhere
SET ROLE pythonanywhere;
CREATE TABLE users (id serial PRIMARY KEY, username text UNIQUE NOT NULL, email text NOT NULL,
                    created date NOT NULL);
CREATE TABLE webapps (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id),
                      domain text UNIQUE NOT NULL, python_version text NOT NULL);
CREATE TABLE consoles (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id),
                       executable text NOT NULL, started timestamptz NOT NULL);
INSERT INTO users (username, email, created)
  SELECT 'user' || g, 'user' || g || '@example.com', date '2013-01-01' + g FROM generate_series(1, 200) g;
INSERT INTO webapps (user_id, domain, python_version)
  SELECT g, 'user' || g || '.pythonanywhere.com', (ARRAY['2.7','3.3','3.4'])[1 + g % 3]
  FROM generate_series(1, 200) g;
INSERT INTO consoles (user_id, executable, started)
  SELECT 1 + g % 200, (ARRAY['bash','python2.7','python3.4','ipython'])[1 + g % 4],
         timestamptz '2015-06-01 12:00:00+00' + g * interval '1 minute'
  FROM generate_series(1, 1000) g;
SQL
