<?php
/*
 * Install and fill one test-bed WordPress site from posts.json, as sites.json describes it.
 *   php populate.php SITE ORIGIN
 * SITE names an entry of sites.json and picks /etc/wordpress/config-ta-SITE.php (Debian's
 * WORDPRESS_CONFIG mechanism); the database must be empty. The entry's options:
 *   theme                 stylesheet to switch to (a child theme must be installed already)
 *   display               twentytwentyone's display_excerpt_or_full_post theme mod
 *   archive_template      "full": a Site Editor archive template showing full posts (block)
 *   permalink_structure   default /%year%/%monthnum%/%day%/%postname%/; "" is plain
 *   tag_base, category_base
 *   edited                posts were edited after publishing: later post_modified dates
 *   extra_posts           a second posts file, inserted after posts.json
 * Every site gets the same posts in the same order first, so their ids agree across sites.
 */
[$_, $ta_site, $ta_origin] = $argv;
$ta_here = __DIR__;
$ta_options = json_decode(file_get_contents("$ta_here/sites.json"), true)[$ta_site] ?? null;
if ($ta_options === null) {
    fwrite(STDERR, "no site '$ta_site' in sites.json\n");
    exit(2);
}
$ta_theme = $ta_options['theme'];
// WordPress mails the admin on install; the test bed has no mail server.
function wp_mail() { return true; }
$_SERVER['WORDPRESS_CONFIG'] = "ta-$ta_site";
$_SERVER['HTTP_HOST'] = parse_url($ta_origin, PHP_URL_HOST) . ':' . parse_url($ta_origin, PHP_URL_PORT);
define('WP_INSTALLING', true);
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/user.php';

wp_install('PJFP.com', 'pjfp', 'pjfp@example.invalid', true, '', 'test-bed-password');
wp_set_current_user(1);  // an administrator may post unfiltered HTML, as authors on real blogs do
wp_update_user(['ID' => 1, 'display_name' => 'PJFP', 'nickname' => 'PJFP']);
// An e-mail address makes her Gravatar URL a hash; without one WordPress picks its host at random.
$ada = wp_insert_user(['user_login' => 'ada', 'user_pass' => 'test-bed-password', 'user_email' => 'ada@example.invalid', 'display_name' => 'Ada Writer', 'role' => 'author']);
$authors = ['pjfp' => 1, 'ada' => $ada];

update_option('blogdescription', 'Pursuit of Joy, Fulfillment, and Purpose');
update_option('posts_per_page', 3);
update_option('timezone_string', 'UTC');
update_option('permalink_structure', $ta_options['permalink_structure'] ?? '/%year%/%monthnum%/%day%/%postname%/');
foreach (['tag_base', 'category_base'] as $base) {
    if (isset($ta_options[$base])) {
        update_option($base, $ta_options[$base]);
    }
}
update_option('blog_public', 1);
switch_theme($ta_theme);
if (isset($ta_options['display'])) {
    set_theme_mod('display_excerpt_or_full_post', $ta_options['display']);
}

// The default "Hello world!" post would be one more post to reason about: remove it.
wp_delete_post(1, true);

/* Insert the posts of one posts file; returns key => post id for those that have a key. */
function ta_insert_posts(string $file, array $authors, bool $edited): array {
    global $wpdb;
    $keyed = [];
    foreach (json_decode(file_get_contents($file), true) as $index => $post) {
        $cats = [];
        foreach ($post['categories'] as $name) {
            $term = term_exists($name, 'category') ?: wp_insert_term($name, 'category');
            $cats[] = (int) $term['term_id'];
        }
        $id = wp_insert_post([
            'post_title' => $post['title'],
            'post_content' => $post['content'],
            'post_status' => $post['status'] ?? 'publish',
            'post_password' => $post['password'] ?? '',
            'post_date' => $post['date'],
            'post_date_gmt' => $post['date'],
            'post_author' => $authors[$post['author']],
            'post_category' => $cats,
            'tags_input' => $post['tags'],
        ], true);
        if (is_wp_error($id)) {
            fwrite(STDERR, $id->get_error_message() . "\n");
            exit(1);
        }
        if (!empty($post['sticky'])) {
            stick_post($id);
        }
        // wp_insert_post stamps post_modified with the wall clock: fix it, so the REST truth is
        // the same on every rebuild. Posts are unedited (modified == published), except on an
        // edited site, where all but every fifth post were edited days later.
        $modified = $post['date'];
        if ($edited && $index % 5 !== 4) {
            $modified = date('Y-m-d H:i:s', strtotime($post['date']) + (($index % 7) + 1) * 86400 + 3 * 3600 + 600);
        }
        $wpdb->update($wpdb->posts, ['post_modified' => $modified, 'post_modified_gmt' => $modified], ['ID' => $id]);
        clean_post_cache($id);
        if (isset($post['key'])) {
            $keyed[$post['key']] = $id;
        }
    }
    return $keyed;
}

/*
 * Links between posts whose URLs only exist once the posts do: {{link:KEY}} is the permalink
 * as WordPress writes it (lowercase percent escapes), {{upper-link:KEY}} with uppercase
 * escapes (as browsers copy it), {{raw-link:KEY}} with the escapes decoded to raw Unicode.
 */
function ta_resolve_links(array $keyed): void {
    global $wpdb;
    foreach ($keyed as $id) {
        $content = get_post_field('post_content', $id, 'raw');
        $resolved = preg_replace_callback('/\{\{(link|upper-link|raw-link):([^}]+)\}\}/', function ($m) use ($keyed) {
            $url = get_permalink($keyed[$m[2]]);
            if ($m[1] === 'raw-link') {
                return rawurldecode($url);
            }
            if ($m[1] === 'upper-link') {
                return preg_replace_callback('/%[0-9a-f]{2}/', fn ($e) => strtoupper($e[0]), $url);
            }
            return $url;
        }, $content);
        if ($resolved !== $content) {
            // A direct update: wp_update_post would restamp post_modified with the wall clock.
            $wpdb->update($wpdb->posts, ['post_content' => $resolved], ['ID' => $id]);
            clean_post_cache($id);
        }
    }
}

$edited = !empty($ta_options['edited']);
$count = 0;
foreach (array_filter(['posts.json', $ta_options['extra_posts'] ?? null]) as $file) {
    $keyed = ta_insert_posts("$ta_here/$file", $authors, $edited);
    ta_resolve_links($keyed);
    $count += count(json_decode(file_get_contents("$ta_here/$file"), true));
}

if (($ta_options['archive_template'] ?? '') === 'full') {
    // What a site owner does in the Site Editor: the archive template shows the full post
    // (post-content instead of post-excerpt), its author, date and terms, and numbered pagination.
    $template = <<<'HTML'
<!-- wp:template-part {"slug":"header","tagName":"header"} /-->
<!-- wp:group {"tagName":"main","layout":{"type":"constrained"}} -->
<main class="wp-block-group">
<!-- wp:query-title {"type":"archive"} /-->
<!-- wp:query {"query":{"perPage":3,"pages":0,"offset":0,"postType":"post","order":"desc","orderBy":"date","author":"","search":"","exclude":[],"sticky":"","inherit":true},"layout":{"type":"default"}} -->
<div class="wp-block-query">
<!-- wp:post-template -->
<!-- wp:post-title {"isLink":true} /-->
<!-- wp:group {"layout":{"type":"flex"}} -->
<div class="wp-block-group"><!-- wp:post-date /--><!-- wp:post-author {"showAvatar":false} /--></div>
<!-- /wp:group -->
<!-- wp:post-content {"layout":{"inherit":true}} /-->
<!-- wp:post-terms {"term":"category"} /-->
<!-- wp:post-terms {"term":"post_tag"} /-->
<!-- /wp:post-template -->
<!-- wp:query-pagination -->
<!-- wp:query-pagination-previous /-->
<!-- wp:query-pagination-numbers /-->
<!-- wp:query-pagination-next /-->
<!-- /wp:query-pagination -->
</div>
<!-- /wp:query -->
</main>
<!-- /wp:group -->
<!-- wp:template-part {"slug":"footer","tagName":"footer"} /-->
HTML;
    $tid = wp_insert_post([
        'post_type' => 'wp_template',
        'post_name' => 'archive',
        'post_title' => 'Archive',
        'post_status' => 'publish',
        'post_content' => $template,
    ], true);
    wp_set_object_terms($tid, $ta_theme, 'wp_theme');
}
// A tag with no published post: its archive is a 200 page that lists nothing.
wp_insert_term('Empty Tag', 'post_tag', ['slug' => 'empty-tag']);
flush_rewrite_rules(false);
echo "populated $ta_site ($ta_theme) at $ta_origin with $count posts\n";
