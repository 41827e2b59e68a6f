"""The schema text of the layouts `tests/real_layouts.py` builds: the version-10 app's
numbered steps, the version-11 start-up and the earlier V11 script, and own_drift's
extras. Written from the facts in the guide to users' libraries; no app code copied."""

from __future__ import annotations

# The version-10 app's schema history: step N's statements, then its schema_version row N.
# Tables start as their first release wrote them; later steps add columns at the end by ALTER.
_V10_STEPS: tuple[tuple[str, ...], ...] = (
    ("""CREATE TABLE IF NOT EXISTS meetings (id TEXT PRIMARY KEY, subject TEXT NOT NULL, start_time TEXT NOT NULL,
  end_time TEXT NOT NULL, location TEXT, organizer_name TEXT, organizer_email TEXT, attendees TEXT, description TEXT,
  is_recurring INTEGER DEFAULT 0, recurrence_rule TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP)""",
     """CREATE TABLE IF NOT EXISTS recordings (id TEXT PRIMARY KEY, filename TEXT NOT NULL, original_filename TEXT,
  file_path TEXT, file_size INTEGER, duration_seconds REAL, date_recorded TEXT NOT NULL, meeting_id TEXT,
  correlation_confidence REAL, correlation_method TEXT, status TEXT DEFAULT 'pending',
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY (meeting_id) REFERENCES meetings(id))""",
     """CREATE TABLE IF NOT EXISTS transcripts (id TEXT PRIMARY KEY, recording_id TEXT NOT NULL UNIQUE,
  full_text TEXT NOT NULL, language TEXT DEFAULT 'es', summary TEXT, action_items TEXT, topics TEXT, key_points TEXT,
  sentiment TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY (recording_id) REFERENCES recordings(id))""",
     """CREATE TABLE IF NOT EXISTS embeddings (id TEXT PRIMARY KEY, transcript_id TEXT NOT NULL,
  chunk_index INTEGER NOT NULL, chunk_text TEXT NOT NULL, embedding BLOB NOT NULL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY (transcript_id) REFERENCES transcripts(id))""",
     "CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT, updated_at TEXT DEFAULT CURRENT_TIMESTAMP)",
     """CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,
  applied_at TEXT DEFAULT CURRENT_TIMESTAMP)"""),
    ("ALTER TABLE recordings ADD COLUMN location TEXT DEFAULT 'device-only'",
     "ALTER TABLE recordings ADD COLUMN transcription_status TEXT DEFAULT 'none'"),
    ("ALTER TABLE recordings ADD COLUMN on_device INTEGER DEFAULT 1",
     "ALTER TABLE recordings ADD COLUMN device_last_seen TEXT",
     """CREATE TABLE IF NOT EXISTS transcription_queue (id TEXT PRIMARY KEY, recording_id TEXT NOT NULL,
  status TEXT DEFAULT 'pending', attempts INTEGER DEFAULT 0, error_message TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY (recording_id) REFERENCES recordings(id))"""),
    ("ALTER TABLE transcripts ADD COLUMN speakers TEXT", "ALTER TABLE transcripts ADD COLUMN word_count INTEGER",
     "ALTER TABLE transcripts ADD COLUMN transcription_provider TEXT",
     "ALTER TABLE transcripts ADD COLUMN transcription_model TEXT",
     """CREATE TABLE IF NOT EXISTS chat_messages (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), content TEXT NOT NULL, sources TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP)"""),
    ("ALTER TABLE recordings ADD COLUMN on_local INTEGER DEFAULT 0",
     "ALTER TABLE recordings ADD COLUMN source TEXT DEFAULT 'hidock'",
     "ALTER TABLE recordings ADD COLUMN is_imported INTEGER DEFAULT 0",
     """CREATE TABLE IF NOT EXISTS synced_files (id TEXT PRIMARY KEY, original_filename TEXT NOT NULL UNIQUE,
  local_filename TEXT NOT NULL, file_path TEXT, file_size INTEGER, synced_at TEXT DEFAULT CURRENT_TIMESTAMP)"""),
    ("ALTER TABLE meetings ADD COLUMN meeting_url TEXT",
     """CREATE TABLE IF NOT EXISTS contacts (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT,
  type TEXT DEFAULT 'unknown', role TEXT, company TEXT, notes TEXT, meeting_count INTEGER DEFAULT 0,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP)""",
     """CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT,
  status TEXT DEFAULT 'active', created_at TEXT DEFAULT CURRENT_TIMESTAMP)"""),
    ("""CREATE TABLE IF NOT EXISTS meeting_contacts (meeting_id TEXT NOT NULL, contact_id TEXT NOT NULL,
  role TEXT DEFAULT 'attendee', PRIMARY KEY (meeting_id, contact_id),
  FOREIGN KEY (meeting_id) REFERENCES meetings(id) ON DELETE CASCADE,
  FOREIGN KEY (contact_id) REFERENCES contacts(id) ON DELETE CASCADE)""",
     """CREATE TABLE IF NOT EXISTS meeting_projects (meeting_id TEXT NOT NULL, project_id TEXT NOT NULL,
  PRIMARY KEY (meeting_id, project_id), FOREIGN KEY (meeting_id) REFERENCES meetings(id) ON DELETE CASCADE,
  FOREIGN KEY (project_id) REFERENCES projects(id) ON DELETE CASCADE)"""),
    ("""CREATE TABLE IF NOT EXISTS recording_meeting_candidates (id TEXT PRIMARY KEY, recording_id TEXT NOT NULL,
  meeting_id TEXT NOT NULL, confidence_score REAL, match_reason TEXT, is_selected INTEGER DEFAULT 0,
  is_ai_selected INTEGER DEFAULT 0, created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (recording_id) REFERENCES recordings(id) ON DELETE CASCADE,
  FOREIGN KEY (meeting_id) REFERENCES meetings(id) ON DELETE CASCADE)""",
     """CREATE TABLE IF NOT EXISTS device_file_cache (filename TEXT PRIMARY KEY, file_size INTEGER,
  duration_seconds REAL, date_recorded TEXT, cached_at TEXT DEFAULT CURRENT_TIMESTAMP)"""),
    ("""CREATE TABLE IF NOT EXISTS quality_assessments (id TEXT PRIMARY KEY, recording_id TEXT NOT NULL UNIQUE,
  quality TEXT CHECK (quality IN ('high', 'medium', 'low')), reason TEXT, assessed_by TEXT,
  assessed_at TEXT DEFAULT CURRENT_TIMESTAMP,
  FOREIGN KEY (recording_id) REFERENCES recordings(id) ON DELETE CASCADE)""",),
    ("""ALTER TABLE recordings ADD COLUMN storage_tier TEXT DEFAULT NULL
  CHECK (storage_tier IN (NULL, 'hot', 'warm', 'cold', 'archive'))""",),
)
_V10_INDEX_ON = (  # 23 indexes of the app's schema text: (name suffix, table, column)
    ("recordings_date", "recordings", "date_recorded"), ("recordings_meeting", "recordings", "meeting_id"),
    ("recordings_status", "recordings", "status"), ("recordings_location", "recordings", "location"),
    ("recordings_storage_tier", "recordings", "storage_tier"), ("transcripts_recording", "transcripts", "recording_id"),
    ("embeddings_transcript", "embeddings", "transcript_id"), ("meetings_start", "meetings", "start_time"),
    ("queue_status", "transcription_queue", "status"), ("queue_recording", "transcription_queue", "recording_id"),
    ("chat_session", "chat_messages", "session_id"), ("chat_created", "chat_messages", "created_at"),
    ("synced_files_local", "synced_files", "local_filename"), ("contacts_email", "contacts", "email"),
    ("contacts_name", "contacts", "name"), ("projects_name", "projects", "name"),
    ("meeting_contacts_contact", "meeting_contacts", "contact_id"),
    ("meeting_projects_project", "meeting_projects", "project_id"),
    ("candidates_recording", "recording_meeting_candidates", "recording_id"),
    ("candidates_meeting", "recording_meeting_candidates", "meeting_id"),
    ("device_cache_date", "device_file_cache", "date_recorded"),
    ("quality_recording", "quality_assessments", "recording_id"), ("quality_level", "quality_assessments", "quality"))
_V10_INDEXES = ";\n".join(f"CREATE INDEX IF NOT EXISTS idx_{n} ON {t}({c})" for n, t, c in _V10_INDEX_ON)

# own_drift: tables the user's own tools had recreated, run before the app's schema text (whose
# CREATE TABLE IF NOT EXISTS then does nothing and whose ALTERs hit "duplicate column"), and
# objects added after it.
_OWN_TABLES = """
CREATE TABLE recordings (id TEXT PRIMARY KEY, date_recorded TEXT NOT NULL, filename TEXT NOT NULL,
  meeting_id TEXT REFERENCES meetings(id), file_path TEXT, file_size INTEGER, favourite INTEGER DEFAULT 0,
  original_filename TEXT, correlation_confidence REAL, status TEXT DEFAULT 'pending',
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, location TEXT DEFAULT 'device-only',
  transcription_status TEXT DEFAULT 'none', on_device INTEGER DEFAULT 1, device_last_seen TEXT,
  on_local INTEGER DEFAULT 0, source TEXT DEFAULT 'hidock', is_imported INTEGER DEFAULT 0);
CREATE TABLE transcripts (id TEXT PRIMARY KEY, recording_id TEXT NOT NULL UNIQUE REFERENCES recordings(id),
  full_text TEXT NOT NULL, language TEXT DEFAULT 'es', action_items TEXT, topics TEXT, key_points TEXT, sentiment TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, edited_text TEXT);
"""
_OWN_EXTRAS = """
CREATE TABLE recording_tags (recording_id TEXT NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
  tag TEXT NOT NULL, added_at TEXT, PRIMARY KEY (recording_id, tag)) WITHOUT ROWID;
CREATE VIEW recording_overview AS SELECT r.id, r.filename, r.date_recorded, r.favourite, t.word_count, t.language
  FROM recordings r LEFT JOIN transcripts t ON t.recording_id = r.id;
CREATE TRIGGER contacts_count_meetings AFTER INSERT ON meeting_contacts
  BEGIN UPDATE contacts SET meeting_count = meeting_count + 1 WHERE id = NEW.contact_id; END;
CREATE INDEX idx_recordings_favourite ON recordings(favourite);
"""

# The version-11 start-up: the migration columns by ALTER, then an earlier form of the V11 script.
_V11_ALTERS = (
    "ALTER TABLE recordings ADD COLUMN migrated_to_capture_id TEXT",
    """ALTER TABLE recordings ADD COLUMN migration_status TEXT DEFAULT 'pending'
  CHECK (migration_status IN ('pending', 'migrated', 'skipped', 'error'))""",
    "ALTER TABLE recordings ADD COLUMN migrated_at TEXT")
_V11_EARLY = """
CREATE TABLE IF NOT EXISTS knowledge_captures (id TEXT PRIMARY KEY, title TEXT NOT NULL, summary TEXT,
  quality_rating TEXT DEFAULT 'unrated'
    CHECK (quality_rating IN ('valuable', 'archived', 'low-value', 'garbage', 'unrated')),
  quality_confidence REAL, quality_assessed_at TEXT,
  storage_tier TEXT DEFAULT 'hot' CHECK (storage_tier IN ('hot', 'cold', 'expiring', 'deleted')),
  retention_days INTEGER, expires_at TEXT, meeting_id TEXT REFERENCES meetings(id), correlation_confidence REAL,
  correlation_method TEXT, source_recording_id TEXT REFERENCES recordings(id), captured_at TEXT NOT NULL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, updated_at TEXT DEFAULT CURRENT_TIMESTAMP, deleted_at TEXT);
CREATE TABLE IF NOT EXISTS audio_sources (id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE,
  source_type TEXT NOT NULL CHECK (source_type IN ('device', 'local', 'imported', 'cloud')), device_path TEXT,
  local_path TEXT, cloud_url TEXT, file_name TEXT NOT NULL, file_size INTEGER, duration_seconds REAL, format TEXT,
  synced_from_device_at TEXT, uploaded_to_cloud_at TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS action_items (id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE, content TEXT NOT NULL,
  assignee TEXT, due_date TEXT, priority TEXT DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  status TEXT DEFAULT 'pending' CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled')),
  extracted_from TEXT, confidence REAL, created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS decisions (id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE, content TEXT NOT NULL,
  context TEXT, participants TEXT, extracted_from TEXT, confidence REAL, decided_at TEXT,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, updated_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS follow_ups (id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE, content TEXT NOT NULL,
  owner TEXT, target_date TEXT,
  status TEXT DEFAULT 'pending' CHECK (status IN ('pending', 'scheduled', 'completed', 'cancelled')),
  scheduled_meeting_id TEXT REFERENCES meetings(id), extracted_from TEXT, confidence REAL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP, updated_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS outputs (id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE, template_id TEXT,
  template_name TEXT NOT NULL, content TEXT NOT NULL, generated_at TEXT NOT NULL, regenerated_count INTEGER DEFAULT 0,
  exported_at TEXT, export_format TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX IF NOT EXISTS idx_knowledge_captures_captured_at ON knowledge_captures(captured_at);
CREATE INDEX IF NOT EXISTS idx_knowledge_captures_meeting_id ON knowledge_captures(meeting_id);
CREATE INDEX IF NOT EXISTS idx_knowledge_captures_quality ON knowledge_captures(quality_rating);
CREATE INDEX IF NOT EXISTS idx_knowledge_captures_source_recording ON knowledge_captures(source_recording_id);
CREATE INDEX IF NOT EXISTS idx_audio_sources_capture_id ON audio_sources(knowledge_capture_id);
CREATE INDEX IF NOT EXISTS idx_action_items_capture_id ON action_items(knowledge_capture_id);
CREATE INDEX IF NOT EXISTS idx_action_items_status ON action_items(status);
CREATE INDEX IF NOT EXISTS idx_decisions_capture_id ON decisions(knowledge_capture_id);
CREATE INDEX IF NOT EXISTS idx_follow_ups_capture_id ON follow_ups(knowledge_capture_id);
CREATE INDEX IF NOT EXISTS idx_follow_ups_status ON follow_ups(status);
CREATE INDEX IF NOT EXISTS idx_outputs_capture_id ON outputs(knowledge_capture_id);
CREATE INDEX IF NOT EXISTS idx_recordings_migration_status ON recordings(migration_status);
CREATE INDEX IF NOT EXISTS idx_recordings_migrated_capture ON recordings(migrated_to_capture_id);
"""
