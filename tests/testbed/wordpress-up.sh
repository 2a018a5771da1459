#!/usr/bin/env bash
# Bring up the test-bed WordPress on loopback: one site per entry of sites.json (name, port,
# theme and options), each with its own database, filled from posts.json, from a clean database
# every time (so post ids are stable).
#
#   tests/testbed/wordpress-up.sh            # as root (or via sudo): installs Debian packages when missing
#   tests/testbed/wordpress-up.sh plain ...  # configures every site, rebuilds only those named
#   -> block theme on http://127.0.0.1:8081, classic theme on :8082, ... (see sites.json)
#
# TA_WP_<NAME>_PORT (TA_WP_EXCERPT_BLOCK_PORT for excerpt-block) moves a site to another port.
# Debian's wordpress 6.1 + mariadb-server + Apache/PHP. Listens on 127.0.0.1 only.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
    ports="$(compgen -e | grep '^TA_WP_.*_PORT$' | paste -sd, -)" || true
    exec sudo ${ports:+--preserve-env="$ports"} "$0" "$@"
fi
here="$(cd "$(dirname "$0")" && pwd)"
packages=(wordpress wordpress-theme-twentytwentythree wordpress-theme-twentytwentytwo
          wordpress-theme-twentytwentyone mariadb-server apache2 libapache2-mod-php php-mysql
          php-xml curl)

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
source "$here/sites.sh"
mapfile -t sites < <(site_names)
if (($#)); then rebuild=("$@"); else rebuild=("${sites[@]}"); fi

# MariaDB, loopback only. Containers have no systemd: start the server directly.
if ! mysqladmin ping >/dev/null 2>&1; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    (mysqld_safe --bind-address=127.0.0.1 >/dev/null 2>&1 &)
    for _ in $(seq 60); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

mkdir -p /var/lib/wordpress/wp-content/uploads/ta
# A 1x1 PNG, for the post with an image.
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82' \
    >/var/lib/wordpress/wp-content/uploads/ta/pixel.png
install_child_themes

vhost() {  # site port
    cat <<CONF
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
CONF
}
for site in "${sites[@]}"; do
    echo "Listen 127.0.0.1:$(site_port "$site")"
done >/etc/apache2/ports.conf
for site in "${sites[@]}"; do
    vhost "$site" "$(site_port "$site")"
done >/etc/apache2/sites-available/tag-archiver-testbed.conf
a2dissite -q 000-default >/dev/null 2>&1 || true
a2ensite -q tag-archiver-testbed >/dev/null
a2enmod -q rewrite >/dev/null
# Graceful: sites already up keep answering while the new ports open.
apache2ctl -k graceful >/dev/null 2>&1 || apache2ctl start

for site in "${rebuild[@]}"; do
    reset_site "$site"
done
for site in "${rebuild[@]}"; do
    wait_for_site "$site"
done
echo "test-bed WordPress up:"
for site in "${sites[@]}"; do
    echo "  $site http://127.0.0.1:$(site_port "$site")"
done
