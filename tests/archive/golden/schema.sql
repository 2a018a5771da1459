CREATE TABLE "captures" (
   "id" INTEGER PRIMARY KEY,
   "url" TEXT NOT NULL,
   "status" INTEGER NOT NULL,
   "fetched_at" TEXT NOT NULL,
   "content_type" TEXT,
   "warc_file" TEXT NOT NULL,
   "warc_offset" INTEGER NOT NULL,
   "warc_length" INTEGER NOT NULL,
   "warc_record_id" TEXT NOT NULL,
   "payload_digest" TEXT
);
CREATE UNIQUE INDEX "idx_captures_warc_record_id"
    ON "captures" ("warc_record_id");
CREATE INDEX "idx_captures_url"
    ON "captures" ("url");
CREATE TABLE "articles" (
   "id" INTEGER PRIMARY KEY,
   "url" TEXT NOT NULL,
   "wp_post_id" INTEGER,
   "title" TEXT,
   "published" TEXT,
   "author" TEXT,
   "content_html" TEXT,
   "content_text" TEXT,
   "word_count" INTEGER,
   "content_sha256" TEXT,
   "record_source" TEXT NOT NULL,
   "capture_id" INTEGER REFERENCES "captures"("id"),
   "extractor_version" TEXT NOT NULL,
   "first_seen" TEXT NOT NULL,
   "last_seen" TEXT NOT NULL
);
CREATE UNIQUE INDEX "idx_articles_url"
    ON "articles" ("url");
CREATE INDEX "idx_articles_published"
    ON "articles" ("published");
CREATE TABLE "tags" (
   "id" INTEGER PRIMARY KEY,
   "slug" TEXT NOT NULL,
   "name" TEXT,
   "url" TEXT
);
CREATE UNIQUE INDEX "idx_tags_slug"
    ON "tags" ("slug");
CREATE TABLE "article_tags" (
   "article_id" INTEGER REFERENCES "articles"("id"),
   "tag_id" INTEGER REFERENCES "tags"("id"),
   "first_seen" TEXT NOT NULL,
   "last_seen" TEXT NOT NULL,
   PRIMARY KEY ("article_id", "tag_id")
);
CREATE INDEX "idx_article_tags_tag_id"
    ON "article_tags" ("tag_id");
CREATE TABLE "categories" (
   "id" INTEGER PRIMARY KEY,
   "slug" TEXT NOT NULL,
   "name" TEXT,
   "url" TEXT
);
CREATE UNIQUE INDEX "idx_categories_slug"
    ON "categories" ("slug");
CREATE TABLE "article_categories" (
   "article_id" INTEGER REFERENCES "articles"("id"),
   "category_id" INTEGER REFERENCES "categories"("id"),
   "first_seen" TEXT NOT NULL,
   "last_seen" TEXT NOT NULL,
   PRIMARY KEY ("article_id", "category_id")
);
CREATE INDEX "idx_article_categories_category_id"
    ON "article_categories" ("category_id");
CREATE TABLE "sections" (
   "id" INTEGER PRIMARY KEY,
   "article_id" INTEGER NOT NULL REFERENCES "articles"("id"),
   "position" INTEGER NOT NULL,
   "heading" TEXT,
   "level" INTEGER,
   "text" TEXT NOT NULL
);
CREATE UNIQUE INDEX "idx_sections_article_id_position"
    ON "sections" ("article_id", "position");
CREATE TABLE "section_items" (
   "id" INTEGER PRIMARY KEY,
   "section_id" INTEGER NOT NULL REFERENCES "sections"("id"),
   "position" INTEGER NOT NULL,
   "depth" INTEGER NOT NULL,
   "text" TEXT NOT NULL
);
CREATE UNIQUE INDEX "idx_section_items_section_id_position"
    ON "section_items" ("section_id", "position");
CREATE TABLE "images" (
   "id" INTEGER PRIMARY KEY,
   "article_id" INTEGER NOT NULL REFERENCES "articles"("id"),
   "position" INTEGER NOT NULL,
   "src" TEXT NOT NULL,
   "alt" TEXT
);
CREATE UNIQUE INDEX "idx_images_article_id_position"
    ON "images" ("article_id", "position");
CREATE TABLE "links" (
   "id" INTEGER PRIMARY KEY,
   "article_id" INTEGER NOT NULL REFERENCES "articles"("id"),
   "position" INTEGER NOT NULL,
   "url" TEXT NOT NULL,
   "text" TEXT
);
CREATE UNIQUE INDEX "idx_links_article_id_position"
    ON "links" ("article_id", "position");
