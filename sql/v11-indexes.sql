-- V11 indexes. Executed as one script, in the upgrade's transaction, after the data is in.

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
