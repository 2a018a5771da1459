"""Spiders: `tags` walks a WordPress blog's tag archives."""
