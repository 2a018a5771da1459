<?php
/*
 * Change one test-bed site the way its author would, after a crawl: for tests that check
 * what `tag-archiver verify` finds (tests/wordpress/test_verify_live.py). Only ever on the
 * scratch site; tests/testbed/reset-site.sh scratch puts it back.
 *
 *   php mutate.php SITE set-title POST_ID TITLE
 *   php mutate.php SITE set-slug POST_ID NEW_SLUG   (WordPress keeps _wp_old_slug: the old URL redirects)
 *   php mutate.php SITE add-post TITLE TAG_SLUG     (published now, under that tag; prints its id)
 *   php mutate.php SITE delete-post POST_ID         (deleted for good, not trashed)
 *
 * SITE picks /etc/wordpress/config-ta-SITE.php (Debian's WORDPRESS_CONFIG), as populate.php.
 * Every change goes through WordPress's own functions, so its hooks run as in the editor.
 */
function ta_fail(string $message, int $code = 1): void {
    fwrite(STDERR, "mutate.php: $message\n");
    exit($code);
}

$usage = 'usage: php mutate.php SITE set-title POST_ID TITLE | set-slug POST_ID SLUG | '
    . 'add-post TITLE TAG_SLUG | delete-post POST_ID';
if ($argc < 4) {
    ta_fail($usage, 2);
}
[$_, $ta_site, $ta_action] = $argv;
$ta_args = array_slice($argv, 3);
$ta_config = "/etc/wordpress/config-ta-$ta_site.php";
if (!preg_match('/^[a-z0-9-]+$/', $ta_site) || !is_readable($ta_config)) {
    ta_fail("no test-bed site '$ta_site' ($ta_config)", 2);
}
// Debian's wp-config.php reads HTTP_HOST before WORDPRESS_CONFIG picks the file: give it
// the site's own host, as a request to it would.
preg_match("/'WP_HOME',\s*'([^']+)'/", file_get_contents($ta_config), $ta_home);
$ta_origin = $ta_home[1] ?? 'http://127.0.0.1';
$_SERVER['WORDPRESS_CONFIG'] = "ta-$ta_site";
$_SERVER['HTTP_HOST'] = parse_url($ta_origin, PHP_URL_HOST)
    . (parse_url($ta_origin, PHP_URL_PORT) ? ':' . parse_url($ta_origin, PHP_URL_PORT) : '');
require '/usr/share/wordpress/wp-load.php';
wp_set_current_user(1);  // an administrator, as populate.php posts

function ta_post(string $id): WP_Post {
    $post = ctype_digit($id) ? get_post((int) $id) : null;
    if (!$post || $post->post_type !== 'post') {
        ta_fail("no post $id");
    }
    return $post;
}

function ta_update(array $changes): void {
    $result = wp_update_post($changes, true);
    if (is_wp_error($result)) {
        ta_fail($result->get_error_message());
    }
}

switch ($ta_action) {
    case 'set-title':
        if (count($ta_args) !== 2) ta_fail($usage, 2);
        $post = ta_post($ta_args[0]);
        ta_update(['ID' => $post->ID, 'post_title' => $ta_args[1]]);
        echo "post {$post->ID}: title set to {$ta_args[1]}\n";
        break;
    case 'set-slug':
        if (count($ta_args) !== 2) ta_fail($usage, 2);
        $post = ta_post($ta_args[0]);
        $old = get_permalink($post->ID);
        // wp_update_post runs wp_check_for_changed_slugs (post_updated): _wp_old_slug is kept
        // and the old permalink redirects to the new one.
        ta_update(['ID' => $post->ID, 'post_name' => $ta_args[1]]);
        echo "post {$post->ID}: $old -> " . get_permalink($post->ID) . "\n";
        break;
    case 'add-post':
        if (count($ta_args) !== 2) ta_fail($usage, 2);
        [$title, $slug] = $ta_args;
        $tag = get_term_by('slug', sanitize_title($slug), 'post_tag');
        if (!$tag) {
            ta_fail("no tag '$slug'");
        }
        $now = current_time('mysql', true);
        $id = wp_insert_post([
            'post_title' => $title,
            'post_content' => "<h2>TL;DR</h2>\n<p>A post added after the crawl.</p>\n"
                . "<h2>Key Takeaways</h2>\n<ul><li>It was not there before.</li></ul>",
            'post_status' => 'publish',
            'post_date' => get_date_from_gmt($now),
            'post_date_gmt' => $now,
            'post_author' => 1,
            'tags_input' => [(int) $tag->term_id],  // an id: a string would be taken as a name
        ], true);
        if (is_wp_error($id)) {
            ta_fail($id->get_error_message());
        }
        echo "$id\n";
        break;
    case 'delete-post':
        if (count($ta_args) !== 1) ta_fail($usage, 2);
        $post = ta_post($ta_args[0]);
        if (!wp_delete_post($post->ID, true)) {
            ta_fail("post {$post->ID} could not be deleted");
        }
        echo "post {$post->ID}: deleted\n";
        break;
    default:
        ta_fail("unknown action '$ta_action'\n$usage", 2);
}
