<?php
/*
 * Install and fill one test-bed WordPress site from posts.json.
 *   php populate.php SITE THEME ORIGIN POSTS_JSON
 * SITE picks /etc/wordpress/config-ta-SITE.php (Debian's WORDPRESS_CONFIG mechanism);
 * THEME is twentytwentythree (block) or twentytwentyone (classic). Both are set to show
 * full post content on archive pages, as pjfp.com does.
 */
[$_, $ta_site, $ta_theme, $ta_origin, $ta_posts_json] = $argv;
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
$ada = wp_insert_user(['user_login' => 'ada', 'user_pass' => 'test-bed-password', 'display_name' => 'Ada Writer', 'role' => 'author']);
$authors = ['pjfp' => 1, 'ada' => $ada];

update_option('blogdescription', 'Pursuit of Joy, Fulfillment, and Purpose');
update_option('posts_per_page', 3);
update_option('timezone_string', 'UTC');
update_option('permalink_structure', '/%year%/%monthnum%/%day%/%postname%/');
update_option('blog_public', 1);
switch_theme($ta_theme);
if ($ta_theme === 'twentytwentyone') {
    set_theme_mod('display_excerpt_or_full_post', 'full');
}

// The default "Hello world!" post would be one more post to reason about: remove it.
wp_delete_post(1, true);

$posts = json_decode(file_get_contents($ta_posts_json), true);
foreach ($posts as $post) {
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
}

if ($ta_theme === 'twentytwentythree') {
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
    wp_set_object_terms($tid, 'twentytwentythree', 'wp_theme');
}
// A tag with no published post: its archive is a 200 page that lists nothing.
wp_insert_term('Empty Tag', 'post_tag', ['slug' => 'empty-tag']);
flush_rewrite_rules(false);
echo "populated $ta_site ($ta_theme) at $ta_origin with " . count($posts) . " posts\n";
