<?php
/*
 * Themes that print the date as text only (no <time>, no datetime attribute), to the minute,
 * and no term links at all (no rel="tag"). Both functions are pluggable in twentytwentyone;
 * this file is loaded first, so these definitions win.
 */
function twenty_twenty_one_posted_on() {
	printf(
		'<span class="posted-on">Published <span class="published" itemprop="datePublished">%s</span></span>',
		esc_html( get_the_date( 'F j, Y g:i a' ) )
	);
}

/* twentytwentyone's footer without its category and tag lists. */
function twenty_twenty_one_entry_meta_footer() {
	if ( 'post' !== get_post_type() ) {
		return;
	}
	if ( ! is_single() ) {
		if ( is_sticky() ) {
			echo '<p>' . esc_html_x( 'Featured post', 'Label for sticky posts', 'twentytwentyone' ) . '</p>';
		}
		twenty_twenty_one_posted_on();
		return;
	}
	echo '<div class="posted-by">';
	twenty_twenty_one_posted_on();
	twenty_twenty_one_posted_by();
	echo '</div>';
}
