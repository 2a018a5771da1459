<?php
/*
 * Both dates, the updated one first: <time class="updated"> then <time class="entry-date
 * published">, as themes built on _s print them when a post was edited after publishing.
 * An unedited post gets one <time class="entry-date published updated">, as in _s.
 * Loaded before twentytwentyone's functions.php, so this definition wins (it is pluggable).
 */
function twenty_twenty_one_posted_on() {
	if ( get_the_time( 'U' ) === get_the_modified_time( 'U' ) ) {
		$time_string = sprintf(
			'<time class="entry-date published updated" datetime="%1$s">%2$s</time>',
			esc_attr( get_the_date( DATE_W3C ) ),
			esc_html( get_the_date() )
		);
	} else {
		$time_string = sprintf(
			'Updated <time class="updated" datetime="%1$s">%2$s</time> &middot; Published <time class="entry-date published" datetime="%3$s">%4$s</time>',
			esc_attr( get_the_modified_date( DATE_W3C ) ),
			esc_html( get_the_modified_date() ),
			esc_attr( get_the_date( DATE_W3C ) ),
			esc_html( get_the_date() )
		);
	}
	echo '<span class="posted-on">' . $time_string . '</span>'; // phpcs:ignore WordPress.Security.EscapeOutput
}
