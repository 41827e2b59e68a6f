-- V11: knowledge captures with first-class action items.
-- Executed as one script inside the upgrade's transaction; every error is fatal.
-- The schema_version row is written by the upgrade after verification, not here.

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

CREATE INDEX idx_knowledge_captures_captured_at ON knowledge_captures(captured_at);
CREATE INDEX idx_knowledge_captures_meeting_id ON knowledge_captures(meeting_id);
CREATE INDEX idx_knowledge_captures_quality_rating ON knowledge_captures(quality_rating);
CREATE INDEX idx_knowledge_captures_storage_tier ON knowledge_captures(storage_tier);
CREATE INDEX idx_knowledge_captures_expires_at ON knowledge_captures(expires_at);
CREATE INDEX idx_knowledge_captures_deleted_at ON knowledge_captures(deleted_at);

CREATE INDEX idx_audio_sources_capture ON audio_sources(knowledge_capture_id);
CREATE INDEX idx_audio_sources_source_type ON audio_sources(source_type);
CREATE INDEX idx_audio_sources_file_name ON audio_sources(file_name);

CREATE INDEX idx_action_items_capture ON action_items(knowledge_capture_id);
CREATE INDEX idx_action_items_status ON action_items(status);
CREATE INDEX idx_action_items_priority ON action_items(priority);
CREATE INDEX idx_action_items_due_date ON action_items(due_date);
CREATE INDEX idx_action_items_assignee ON action_items(assignee);

CREATE INDEX idx_decisions_capture ON decisions(knowledge_capture_id);
CREATE INDEX idx_decisions_decided_at ON decisions(decided_at);

CREATE INDEX idx_follow_ups_capture ON follow_ups(knowledge_capture_id);
CREATE INDEX idx_follow_ups_status ON follow_ups(status);
CREATE INDEX idx_follow_ups_target_date ON follow_ups(target_date);
CREATE INDEX idx_follow_ups_owner ON follow_ups(owner);
CREATE INDEX idx_follow_ups_scheduled_meeting ON follow_ups(scheduled_meeting_id);

CREATE INDEX idx_outputs_capture ON outputs(knowledge_capture_id);
CREATE INDEX idx_outputs_template_id ON outputs(template_id);
CREATE INDEX idx_outputs_generated_at ON outputs(generated_at);

CREATE INDEX idx_recordings_migration_status ON recordings(migration_status);
CREATE INDEX idx_recordings_migrated_to_capture ON recordings(migrated_to_capture_id);
