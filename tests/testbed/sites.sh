# Sourced by wordpress-up.sh and reset-site.sh: the sites of sites.json, and how to rebuild one.
# Needs root, php, a running MariaDB, and Apache configured by wordpress-up.sh.
testbed="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wp_themes=/var/lib/wordpress/wp-content/themes

site_names() {
    php -r 'echo implode("\n", array_keys(json_decode(file_get_contents($argv[1]), true))), "\n";' \
        "$testbed/sites.json"
}

site_env() {  # NAME -> the NAME part of TA_WP_<NAME>: excerpt-block -> EXCERPT_BLOCK
    echo "$1" | tr 'a-z-' 'A-Z_'
}

site_port() {  # NAME; TA_WP_<NAME>_PORT overrides sites.json
    local var
    var="TA_WP_$(site_env "$1")_PORT"
    if [ -n "${!var:-}" ]; then
        echo "${!var}"
    else
        php -r '$s = json_decode(file_get_contents($argv[1]), true)[$argv[2]] ?? exit(1); echo $s["port"], "\n";' \
            "$testbed/sites.json" "$1" || { echo "no site '$1' in sites.json" >&2; return 1; }
    fi
}

install_child_themes() {
    # Copies, not symlinks: Apache's user may not be able to traverse the checkout's path.
    local theme
    for theme in "$testbed"/themes/*/; do
        theme="$(basename "$theme")"
        rm -rf "${wp_themes:?}/$theme"
        cp -r "$testbed/themes/$theme" "$wp_themes/$theme"
    done
}

write_config() {  # NAME PORT
    cat >"/etc/wordpress/config-ta-$1.php" <<PHP
<?php
define('DB_NAME', 'ta_$(site_env "$1" | tr 'A-Z' 'a-z')');
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
PHP
    chmod 640 "/etc/wordpress/config-ta-$1.php"
    chgrp www-data "/etc/wordpress/config-ta-$1.php"
}

reset_site() {  # NAME: rebuild the site from a clean database, so its post ids are stable
    local name="$1" port db
    port="$(site_port "$name")"
    db="ta_$(site_env "$name" | tr 'A-Z' 'a-z')"
    mysql -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db CHARACTER SET utf8mb4;
              CREATE USER IF NOT EXISTS 'ta'@'localhost' IDENTIFIED BY 'ta';
              GRANT ALL ON $db.* TO 'ta'@'localhost';"
    write_config "$name" "$port"
    php "$testbed/populate.php" "$name" "http://127.0.0.1:$port"
}

wait_for_site() {  # NAME: until Apache serves it (a query string works with any permalinks)
    local url
    url="http://127.0.0.1:$(site_port "$1")/?tag=history"
    for _ in $(seq 60); do
        curl -fsS -o /dev/null "$url" && return
        sleep 0.5
    done
    curl -fsS -o /dev/null "$url"
}
