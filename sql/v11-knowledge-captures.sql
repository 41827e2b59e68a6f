-- V11: knowledge captures with first-class action items: tables and the new recordings
-- columns. Executed as one script inside the upgrade's transaction; every error is fatal.
-- Its indexes are in v11-indexes.sql, run after the bulk insert (building an index once is
-- cheaper than maintaining it row by row). The schema_version row is written by the
-- upgrade after verification, not here.

CREATE TABLE knowledge_captures (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  summary TEXT,
  category TEXT DEFAULT 'meeting'
    CHECK (category IN ('meeting', 'interview', '1:1', 'brainstorm', 'note', 'other')),
  status TEXT DEFAULT 'ready' CHECK (status IN ('processing', 'ready', 'enriched')),
  quality_rating TEXT DEFAULT 'unrated'
    CHECK (quality_rating IN ('valuable', 'archived', 'low-value', 'garbage', 'unrated')),
  quality_confidence REAL,
  quality_assessed_at TEXT,
  storage_tier TEXT DEFAULT 'hot' CHECK (storage_tier IN ('hot', 'cold', 'expiring', 'deleted')),
  retention_days INTEGER,
  expires_at TEXT,
  meeting_id TEXT REFERENCES meetings(id),
  correlation_confidence REAL,
  correlation_method TEXT,
  source_recording_id TEXT REFERENCES recordings(id),
  captured_at TEXT NOT NULL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP,
  deleted_at TEXT
);

CREATE TABLE audio_sources (
  id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE,
  source_type TEXT NOT NULL CHECK (source_type IN ('device', 'local', 'imported', 'cloud')),
  device_path TEXT,
  local_path TEXT,
  cloud_url TEXT,
  file_name TEXT NOT NULL,
  file_size INTEGER,
  duration_seconds REAL,
  format TEXT,
  synced_from_device_at TEXT,
  uploaded_to_cloud_at TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE action_items (
  id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE,
  content TEXT NOT NULL,
  assignee TEXT,
  due_date TEXT,
  priority TEXT DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  status TEXT DEFAULT 'pending' CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled')),
  extracted_from TEXT,
  confidence REAL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE decisions (
  id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE,
  content TEXT NOT NULL,
  context TEXT,
  participants TEXT, -- JSON array
  extracted_from TEXT,
  confidence REAL,
  decided_at TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE follow_ups (
  id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE,
  content TEXT NOT NULL,
  owner TEXT,
  target_date TEXT,
  status TEXT DEFAULT 'pending' CHECK (status IN ('pending', 'scheduled', 'completed', 'cancelled')),
  scheduled_meeting_id TEXT REFERENCES meetings(id),
  extracted_from TEXT,
  confidence REAL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE outputs (
  id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE,
  template_id TEXT,
  template_name TEXT NOT NULL,
  content TEXT NOT NULL,
  generated_at TEXT NOT NULL,
  regenerated_count INTEGER DEFAULT 0,
  exported_at TEXT,
  export_format TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP
);

ALTER TABLE recordings ADD COLUMN migrated_to_capture_id TEXT REFERENCES knowledge_captures(id);
ALTER TABLE recordings ADD COLUMN migration_status TEXT DEFAULT 'pending'
  CHECK (migration_status IN ('pending', 'migrated', 'skipped', 'error'));
ALTER TABLE recordings ADD COLUMN migrated_at TEXT;
