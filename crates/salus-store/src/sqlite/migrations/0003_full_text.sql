-- `_text` and `_content`: one full-text row per current version, keyed by its `resources.seq`
-- (so a search reaches the version by primary key). Contentless: the text is not stored twice;
-- `contentless_delete` lets a new version remove its predecessor's row.
CREATE VIRTUAL TABLE idx_text USING fts5(
    narrative, content,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
