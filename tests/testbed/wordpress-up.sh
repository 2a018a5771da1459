#!/usr/bin/env bash
# Bring up the test-bed WordPress on loopback: a block-theme site and a classic-theme site,
# both filled from posts.json, from a clean database every time (so post ids are stable).
#
#   tests/testbed/wordpress-up.sh    # as root (or via sudo): installs Debian packages when missing
#   -> block theme on http://127.0.0.1:8081, classic theme on http://127.0.0.1:8082
#
# Debian's wordpress 6.1 + mariadb-server + Apache/PHP. Listens on 127.0.0.1 only.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then exec sudo --preserve-env=TA_WP_BLOCK_PORT,TA_WP_CLASSIC_PORT "$0" "$@"; fi
here="$(cd "$(dirname "$0")" && pwd)"
block_port="${TA_WP_BLOCK_PORT:-8081}"
classic_port="${TA_WP_CLASSIC_PORT:-8082}"
packages=(wordpress wordpress-theme-twentytwentythree wordpress-theme-twentytwentyone
          mariadb-server apache2 libapache2-mod-php php-mysql php-xml)

missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q "${missing[@]}" >/dev/null
fi

# MariaDB, loopback only. Containers have no systemd: start the server directly.
if ! mysqladmin ping >/dev/null 2>&1; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    (mysqld_safe --bind-address=127.0.0.1 >/dev/null 2>&1 &)
    for _ in $(seq 60); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

for site in block classic; do
    mysql -e "DROP DATABASE IF EXISTS ta_$site; CREATE DATABASE ta_$site CHARACTER SET utf8mb4;
              CREATE USER IF NOT EXISTS 'ta'@'localhost' IDENTIFIED BY 'ta';
              GRANT ALL ON ta_$site.* TO 'ta'@'localhost';"
done

write_config() {  # site port
    cat >"/etc/wordpress/config-ta-$1.php" <<EOF
<?php
define('DB_NAME', 'ta_$1');
define('DB_USER', 'ta');
define('DB_PASSWORD', 'ta');
define('DB_HOST', 'localhost');
define('WP_HOME', 'http://127.0.0.1:$2');
define('WP_SITEURL', 'http://127.0.0.1:$2');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('DISABLE_WP_CRON', true);
\$table_prefix = 'wp_';
EOF
    chmod 640 "/etc/wordpress/config-ta-$1.php"
    chgrp www-data "/etc/wordpress/config-ta-$1.php"
}
write_config block "$block_port"
write_config classic "$classic_port"

mkdir -p /var/lib/wordpress/wp-content/uploads/ta
# A 1x1 PNG, for the post with an image.
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82' \
    >/var/lib/wordpress/wp-content/uploads/ta/pixel.png

vhost() {  # site port
    cat <<EOF
<VirtualHost 127.0.0.1:$2>
    DocumentRoot /usr/share/wordpress
    Alias /wp-content /var/lib/wordpress/wp-content
    SetEnv WORDPRESS_CONFIG ta-$1
    <Directory /usr/share/wordpress>
        Options FollowSymLinks
        AllowOverride None
        Require all granted
        RewriteEngine On
        RewriteBase /
        RewriteRule ^index\.php$ - [L]
        RewriteCond %{REQUEST_FILENAME} !-f
        RewriteCond %{REQUEST_FILENAME} !-d
        RewriteRule . /index.php [L]
    </Directory>
    <Directory /var/lib/wordpress/wp-content>
        Options FollowSymLinks
        Require all granted
    </Directory>
</VirtualHost>
EOF
}
{
    echo "Listen 127.0.0.1:$block_port"
    echo "Listen 127.0.0.1:$classic_port"
} >/etc/apache2/ports.conf
{ vhost block "$block_port"; vhost classic "$classic_port"; } >/etc/apache2/sites-available/tag-archiver-testbed.conf
a2dissite -q 000-default >/dev/null 2>&1 || true
a2ensite -q tag-archiver-testbed >/dev/null
a2enmod -q rewrite >/dev/null
apache2ctl -k restart >/dev/null 2>&1 || apache2ctl start

php "$here/populate.php" block twentytwentythree "http://127.0.0.1:$block_port" "$here/posts.json"
php "$here/populate.php" classic twentytwentyone "http://127.0.0.1:$classic_port" "$here/posts.json"

for port in "$block_port" "$classic_port"; do
    for _ in $(seq 60); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/tag/history/" && break
        sleep 0.5
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$port/tag/history/"
done
echo "test-bed WordPress up: block http://127.0.0.1:$block_port  classic http://127.0.0.1:$classic_port"
