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
, "gone_at" TEXT, "modified" TEXT, "published_source" TEXT, "modified_source" TEXT, "archive_content" TEXT, "archive_sha256" TEXT, site_id INTEGER REFERENCES sites(id));
CREATE UNIQUE INDEX "idx_articles_url"
    ON "articles" ("url");
CREATE INDEX "idx_articles_published"
    ON "articles" ("published");
CREATE TABLE "tags" (
   "id" INTEGER PRIMARY KEY,
   "slug" TEXT NOT NULL,
   "name" TEXT,
   "url" TEXT
, site_id INTEGER REFERENCES sites(id));
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
, site_id INTEGER REFERENCES sites(id));
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
CREATE VIRTUAL TABLE "articles_fts" USING FTS5 (
    "title", "content_text",
    tokenize='porter',
    content="articles"
);
CREATE TABLE 'articles_fts_data'(id INTEGER PRIMARY KEY, block BLOB);
CREATE TABLE 'articles_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
CREATE TABLE 'articles_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
CREATE TABLE 'articles_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;
CREATE TRIGGER "articles_ad" AFTER DELETE ON "articles" BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "content_text") VALUES('delete', old.rowid, old."title", old."content_text");
END;
CREATE VIRTUAL TABLE "sections_fts" USING FTS5 (
    "heading", "text",
    tokenize='porter',
    content="sections"
);
CREATE TABLE 'sections_fts_data'(id INTEGER PRIMARY KEY, block BLOB);
CREATE TABLE 'sections_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
CREATE TABLE 'sections_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
CREATE TABLE 'sections_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;
CREATE TRIGGER "sections_ad" AFTER DELETE ON "sections" BEGIN
  INSERT INTO "sections_fts" ("sections_fts", rowid, "heading", "text") VALUES('delete', old.rowid, old."heading", old."text");
END;
CREATE TRIGGER "sections_au" AFTER UPDATE ON "sections" BEGIN
  INSERT INTO "sections_fts" ("sections_fts", rowid, "heading", "text") VALUES('delete', old.rowid, old."heading", old."text");
  INSERT INTO "sections_fts" (rowid, "heading", "text") VALUES (new.rowid, new."heading", new."text");
END;
CREATE TABLE "runs" (
   "id" INTEGER PRIMARY KEY,
   "started_at" TEXT NOT NULL,
   "finished_at" TEXT,
   "status" TEXT NOT NULL,
   "site" TEXT NOT NULL,
   "tags" TEXT,
   "options" TEXT,
   "pages_fetched" INTEGER,
   "articles_new" INTEGER,
   "articles_changed" INTEGER,
   "articles_unchanged" INTEGER,
   "errors" INTEGER,
   "warc_files" TEXT,
   "software_version" TEXT NOT NULL,
   "failure" TEXT
, site_id INTEGER REFERENCES sites(id), uuid TEXT);
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
   "payload_digest" TEXT,
   "run_id" INTEGER REFERENCES "runs"("id"),
   "revisit_of" INTEGER REFERENCES "captures"("id")
, "warc_date" TEXT, "etag" TEXT, "last_modified" TEXT, site_id INTEGER REFERENCES sites(id));
CREATE UNIQUE INDEX "idx_captures_warc_record_id"
    ON "captures" ("warc_record_id");
CREATE INDEX "idx_captures_url"
    ON "captures" ("url");
CREATE INDEX "idx_captures_payload_digest"
    ON "captures" ("payload_digest");
CREATE TABLE "article_versions" (
   "id" INTEGER PRIMARY KEY,
   "article_id" INTEGER NOT NULL REFERENCES "articles"("id"),
   "content_sha256" TEXT,
   "title" TEXT,
   "content_text" TEXT,
   "first_seen" TEXT NOT NULL,
   "last_seen" TEXT NOT NULL,
   "capture_id" INTEGER REFERENCES "captures"("id")
);
CREATE INDEX "idx_article_versions_article_id"
    ON "article_versions" ("article_id");
CREATE TRIGGER "articles_au" AFTER UPDATE OF "title", "content_text" ON "articles"
BEGIN
  INSERT INTO "articles_fts" ("articles_fts", rowid, "title", "content_text")
    VALUES('delete', old.rowid, old."title", old."content_text");
  INSERT INTO "articles_fts" (rowid, "title", "content_text")
    VALUES (new.rowid, new."title", new."content_text");
END;
CREATE INDEX "idx_articles_wp_post_id"
    ON "articles" ("wp_post_id");
CREATE TABLE "article_urls" (
   "url" TEXT PRIMARY KEY,
   "article_id" INTEGER NOT NULL REFERENCES "articles"("id"),
   "first_seen" TEXT NOT NULL,
   "last_seen" TEXT NOT NULL
);
CREATE INDEX "idx_article_urls_article_id"
    ON "article_urls" ("article_id");
CREATE TABLE "verifications" (
   "id" INTEGER PRIMARY KEY,
   "run_id" INTEGER NOT NULL REFERENCES "runs"("id"),
   "kind" TEXT NOT NULL,
   "tag" TEXT,
   "url" TEXT,
   "wp_post_id" INTEGER,
   "field" TEXT,
   "expected" TEXT,
   "archived" TEXT,
   "message" TEXT NOT NULL
);
CREATE INDEX "idx_verifications_run_id"
    ON "verifications" ("run_id");
CREATE TABLE "sites" (
   "id" INTEGER PRIMARY KEY,
   "url" TEXT NOT NULL,
   "name" TEXT
);
CREATE UNIQUE INDEX "idx_sites_url"
    ON "sites" ("url");
CREATE INDEX "idx_runs_site_id"
    ON "runs" ("site_id");
CREATE INDEX "idx_captures_site_id"
    ON "captures" ("site_id");
CREATE INDEX "idx_articles_site_id"
    ON "articles" ("site_id");
CREATE INDEX "idx_tags_site_id"
    ON "tags" ("site_id");
CREATE INDEX "idx_categories_site_id"
    ON "categories" ("site_id");
CREATE UNIQUE INDEX "idx_tags_site_id_slug"
    ON "tags" ("site_id", "slug");
CREATE UNIQUE INDEX "idx_categories_site_id_slug"
    ON "categories" ("site_id", "slug");
CREATE UNIQUE INDEX "idx_runs_uuid"
    ON "runs" ("uuid");
CREATE VIEW "article_summary" AS SELECT a.id, a.url, a.title, a.published, substr(a.published, 1, 4) AS year, a.author,
  (SELECT json_group_array(name) FROM (SELECT t.name FROM article_tags l
     JOIN tags t ON t.id = l.tag_id WHERE l.article_id = a.id ORDER BY t.name)) AS tags,
  (SELECT json_group_array(name) FROM (SELECT c.name FROM article_categories l
     JOIN categories c ON c.id = l.category_id WHERE l.article_id = a.id
     ORDER BY c.name)) AS categories,
  (SELECT s.text FROM sections s WHERE s.article_id = a.id AND (s.heading LIKE 'TL;D%' OR s.heading LIKE 'TLDR%' OR s.heading LIKE 'TLDW%' OR s.heading LIKE '%Summary%')
     ORDER BY CASE WHEN s.heading LIKE 'TL%' THEN 0 ELSE 1 END, s.position LIMIT 1) AS summary,
  (SELECT count(*) FROM section_items i JOIN sections s ON s.id = i.section_id
     WHERE s.article_id = a.id AND s.heading LIKE '%takeaway%') AS takeaway_count,
  a.word_count, a.capture_id, (SELECT url FROM sites WHERE id = a.site_id) AS site
FROM articles a;
CREATE VIEW "takeaways" AS SELECT i.id, a.id AS article_id, a.title AS article, a.url, a.published, s.heading,
  i.position, i.depth, i.text, (SELECT url FROM sites WHERE id = a.site_id) AS site
FROM section_items i JOIN sections s ON s.id = i.section_id JOIN articles a ON a.id = s.article_id
WHERE s.heading LIKE '%takeaway%';
CREATE VIEW "tag_stats" AS SELECT t.id, t.name, t.slug, t.url, count(l.article_id) AS articles,
  min(a.published) AS first_published, max(a.published) AS last_published,
  (SELECT url FROM sites WHERE id = t.site_id) AS site
FROM tags t LEFT JOIN article_tags l ON l.tag_id = t.id LEFT JOIN articles a ON a.id = l.article_id
GROUP BY t.id;
CREATE VIEW "site_stats" AS SELECT s.id, s.url, s.name,
  (SELECT count(*) FROM articles a WHERE a.site_id = s.id) AS articles,
  (SELECT count(*) FROM tags t WHERE t.site_id = s.id) AS tags,
  (SELECT count(*) FROM captures c WHERE c.site_id = s.id) AS captures,
  (SELECT count(*) FROM runs r WHERE r.site_id = s.id) AS runs,
  (SELECT max(r.started_at) FROM runs r WHERE r.site_id = s.id) AS last_run_started,
  (SELECT r.status FROM runs r WHERE r.site_id = s.id ORDER BY r.id DESC LIMIT 1)
    AS last_run_status
FROM sites s;
