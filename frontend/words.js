/*
 * What the page says: the library's stage, what each card says in it, what each result
 * means, and the next step after each failure, by its code.
 *
 * Every version number comes from the status (the engine's registry of steps), never from
 * here. Messages from results are the engine's own, already free of paths.
 */
(function (page) {
  'use strict';
  var f = page.format;

  var PHASE_WORDS = {
    preflight: 'Checking the library',
    snapshot: 'Saving a copy of the library',
    schema: 'Preparing the new format',
    migrating: 'Upgrading recordings',
    cleaning: 'Fixing problems',
    checking: 'Checking the saved copy',
    restoring: 'Putting the saved copy back',
    verifying: 'Verifying the result',
    committing: 'Saving',
    complete: 'Upgrade finished',
    failed: 'Stopped: nothing was changed',
    cancelled: 'Cancelled: nothing was changed'
  };

  var REPORT = 'use “Copy report” below and send the report to support (with the log from “Open log folder”, if asked).';

  var NEXT_STEP = {
    IN_PROGRESS: 'Another copy of this app, or the command line, is working on this library right now. Close the ' +
      'other copy, or wait until its operation has finished, then click the button again.',
    LIBRARY_NOT_FOUND: 'Check the file’s name and folder, then start the app again on the right location.',
    NOT_A_LIBRARY: 'This file is not the meeting recorder’s library: start the app again on the library file.',
    LIBRARY_TOO_OLD: 'Open the library once in the current meeting recorder app, then come back.',
    LIBRARY_TOO_NEW: 'This library is newer than this tool: use a newer version of the tool.',
    LIBRARY_UNSUPPORTED: 'This library is missing parts the upgrade needs (named above), so it was left as it is. ' +
      'Open it once in the meeting recorder app, then try again; if it still happens, ' + REPORT,
    LIBRARY_CORRUPT: 'Stop using this file until it is repaired: restore a copy from Backups below (each was checked ' +
      'when it was saved) or your own backup of the library file, then upgrade. If you have neither, ' + REPORT,
    READ_ONLY: 'The app must be able to write to the library and to its folder (shown under Location). On a ' +
      'read-only disk, or in a folder of another user, copy the library to a folder of your own first.',
    DISK_FULL: 'Free some space on the disk that holds the library (the folder under Location), then try again.',
    IO_ERROR: 'The disk that holds the library reported an error, and everything was undone. Check that the disk ' +
      '(or the USB or network drive) is connected and healthy, then try again. If it keeps happening, ' + REPORT,
    CANCELLED: 'You can start again whenever you like.',
    VERIFICATION_FAILED: 'Nothing was saved. Please ' + REPORT,
    NOTHING_TO_ROLL_BACK: 'There is nothing to restore.',
    NO_SNAPSHOT: 'Without the copy saved before the upgrade, the library cannot be restored from here.',
    SNAPSHOT_INVALID: 'The saved copy cannot be used; keep the library as it is.',
    WOULD_LOSE_DATA: 'Restoring would discard the changes listed. To keep them, keep the library as it is; to ' +
      'restore anyway, choose “Restore and discard these changes”.',
    RESTORE_FAILED: 'The library is as it was just before the restore. Please ' + REPORT,
    DATABASE_ERROR: 'Try again; if it happens again, ' + REPORT,
    INTERNAL_ERROR: 'Try again; if it happens again, ' + REPORT,
    SNAPSHOT_FOREIGN: 'This copy cannot be restored into this library; keep the library as it is.',
    SNAPSHOT_NEEDED: 'Keep this copy unless you are sure you will never want to undo the upgrade.',
    SNAPSHOTS_UNSAFE: 'The folder of saved copies beside the library is not one this app made; move it out of the ' +
      'way, then try again.',
    OPEN_FAILED: 'Open the folder in your file manager yourself: its location is shown above.',
    INVALID_ARGUMENT: 'This is a bug in the page; please ' + REPORT
  };

  // DISK_FULL says how much it needs and how much is free: the next step says how much to free.
  function diskFullStep(message) {
    var m = /about (\d+) MB[^.]*only (\d+) MB/.exec(message || '');
    if (!m) { return NEXT_STEP.DISK_FULL; }
    var short = Math.max(1, Number(m[1]) - Number(m[2]));
    return 'Free at least ' + f.number(short) + ' MB on the disk that holds the library (the folder under ' +
      'Location), then try again.';
  }

  function nextStep(err) {
    var code = err && err.code;
    if (code === 'DISK_FULL') { return diskFullStep(err.message); }
    return NEXT_STEP[code] || NEXT_STEP.INTERNAL_ERROR;
  }

  function isVersion(v) { return typeof v === 'number' && isFinite(v); }

  // A restore from an upgraded state happened when a copy saved before a restore holds a
  // later version than the library has now.
  function restoredBefore(st) {
    return (st.snapshots || []).some(function (s) {
      return s.kind === 'pre-rollback' && isVersion(s.version) && s.version > st.version;
    });
  }

  // Where the library stands:
  //   'ready'       stored version below the latest: the upgrade has steps to run
  //   'restored'    ready, because it was restored to before an upgrade
  //   'unfinished'  at the latest version in name, but the upgrade still has work to do
  //   'upgraded'    at the latest version, nothing left to do
  function libraryStage(st, restoredHere) {
    if (!st || !st.success || !isVersion(st.version) || !isVersion(st.latest_version)) { return null; }
    if (st.version < st.latest_version) { return restoredHere || restoredBefore(st) ? 'restored' : 'ready'; }
    return st.can_migrate ? 'unfinished' : 'upgraded';
  }

  var STAGE_WORDS = {
    ready: 'ready to upgrade', restored: 'restored to before the upgrade', unfinished: 'upgrade not finished',
    upgraded: 'upgraded'
  };

  function beforeUpgrade(stage) { return stage === 'ready' || stage === 'restored' || stage === 'unfinished'; }

  // What the upgrade would still do, in words: recordings to upgrade, to adopt, to skip.
  function planWords(plan) {
    var parts = [];
    if (plan.to_upgrade) { parts.push(f.plural(plan.to_upgrade, 'recording') + ' to upgrade'); }
    if (plan.to_adopt) {
      parts.push(f.plural(plan.to_adopt, 'recording') + ' to adopt (' +
        (plan.to_adopt === 1 ? 'its knowledge capture already exists)' : 'their knowledge captures already exist)'));
    }
    if (plan.to_skip) { parts.push(f.plural(plan.to_skip, 'recording') + ' to skip (no transcript)'); }
    return parts.join(', ');
  }

  function planLine(st, stage) {
    var plan = st.upgrade || {};
    var work = planWords(plan);
    var missing = (plan.schema_missing || []).length;
    if (stage === 'unfinished') {
      var left = work || (missing ? f.plural(missing, 'part') + ' of the new format missing' : 'some work left');
      return 'The library is marked as version ' + st.version + ', but its upgrade is not finished: ' + left +
        '. The upgrade will finish ' + (work ? 'them' : 'it') + '.';
    }
    if (stage === 'ready' || stage === 'restored') {
      return 'Upgrading to version ' + st.latest_version + (work ? ': ' + work + '.' : '.');
    }
    return '';
  }

  function problemsLine(problems) {
    return 'The clean-up below found ' + f.plural(problems, 'problem') + ' worth fixing before the upgrade.';
  }

  // The result card before anything was done in this window: what is true now, what next.
  function idleResult(stage, st, problems) {
    var copy = 'a copy of the library is saved first.';
    if (stage === 'ready') {
      return ['idle', 'Ready to upgrade', 'Nothing has been changed yet. ' +
        (problems ? problemsLine(problems) + ' Fixing them first is up to you.' : 'The clean-up found nothing to fix.'),
        [], 'When you are ready, click “Upgrade library”: ' + copy];
    }
    if (stage === 'restored') {
      return ['idle', 'Restored to before the upgrade', 'The library is back at version ' + st.version +
        ', as it was before it was upgraded.' + (problems ? ' ' + problemsLine(problems) : ''),
        [], 'You can upgrade it again whenever you like: ' + copy];
    }
    if (stage === 'unfinished') {
      return ['idle', 'Upgrade not finished', 'The library is marked as version ' + st.version +
        ', but an earlier upgrade did not finish its work (see Library above). Nothing has been changed yet.',
        [], 'Click “Upgrade library” to finish it: ' + copy];
    }
    if (stage === 'upgraded') {
      return ['idle', 'Library upgraded', 'The library is at version ' + st.version +
        ' and its upgrade is finished: there is nothing left to upgrade.', [],
        st.can_rollback ? 'Open the meeting recorder as usual. If something looks wrong, “Restore previous library” ' +
          'below puts back the library as it was before the upgrade.' : 'Open the meeting recorder as usual.'];
    }
    return null;
  }

  function upgradeHint(stage) {
    var safe = 'If anything goes wrong, or you cancel, the library stays exactly as it was.';
    if (stage === 'unfinished') {
      return 'Finishes the upgrade: saves a copy of the library, then upgrades what is left in one step. ' + safe;
    }
    if (stage === 'upgraded') { return 'The library is upgraded: there is nothing left to upgrade.'; }
    if (stage === 'ready' || stage === 'restored') {
      return 'Saves a copy of the library, then upgrades it in one step. ' + safe;
    }
    return 'The library has to be readable before it can be upgraded.';
  }

  // "a, b and c"
  function listWords(parts) {
    return parts.length > 1 ? parts.slice(0, -1).join(', ') + ' and ' + parts[parts.length - 1] : parts.join('');
  }

  // ---- the upgrade preview: the counts the upgrade will make ------------------------
  function counted(pv, memory, field, one, many) {
    var before = memory.note('preview.' + field, pv[field]);
    return f.plural(pv[field], one, many) + (before === null ? '' : ' (was ' + f.number(before) + ')');
  }

  function previewText(pv, memory) {
    if (!pv) { return 'Counting what the upgrade will make…'; }
    if (!pv.success) {
      var err = (pv.errors || [])[0] || {};
      return err.code === 'CANCELLED' ? 'Counting what the upgrade will make stopped; it starts again the next ' +
        'time the library is read.' : 'What the upgrade will make could not be counted: ' + (err.message || '');
    }
    var later = (pv.uncounted || []).length ? ' It also adds ' + listWords(pv.uncounted) + '.' : '';
    if (!pv.captures_created && !pv.captures_adopted && !pv.recordings_skipped) {
      var missing = (pv.schema_missing || []).length;
      if (later) { return ('No recordings are left to upgrade.' + later).trim(); }
      return missing ? 'The upgrade will only complete the new format (' + f.plural(missing, 'part') + ' missing): ' +
        'no recordings are left to upgrade.' : 'No recordings are left to upgrade.';
    }
    var made = [counted(pv, memory, 'captures_created', 'knowledge capture') + ' with ' +
      counted(pv, memory, 'action_items_created', 'action item')];
    if (pv.captures_adopted) {
      made.push('adopt ' + counted(pv, memory, 'captures_adopted', 'recording') + ' whose knowledge capture ' +
        'already exists');
    }
    if (pv.recordings_skipped) {
      made.push('mark ' + counted(pv, memory, 'recordings_skipped', 'recording') + ' without a transcript as skipped');
    }
    var text = 'The upgrade will make ' + listWords(made) + '.';
    if (pv.dangling_meeting_refs) {
      text += ' ' + counted(pv, memory, 'dangling_meeting_refs', 'recording') + ' point at a meeting that no ' +
        'longer exists: ' + (pv.dangling_meeting_refs === 1 ? 'its capture' : 'their captures') + ' will have no meeting.';
    }
    return text + later;
  }

  // ---- what a result means to the user ----------------------------------------------
  // Each returns [state, title, message, details, next, notes] for the result card.
  function endState(err) { return err && err.code === 'CANCELLED' ? 'cancelled' : 'failed'; }

  function firstError(result) {
    return (result && result.errors && result.errors[0]) ||
      { code: 'INTERNAL_ERROR', message: 'Something unexpected went wrong. Details are in the log.' };
  }

  function warningNotes(result) {
    return (result.warnings || []).filter(function (w) { return w && w.message; })
      .map(function (w) { return { code: w.code, text: 'Note: ' + w.message }; });
  }

  function failed(r, cancelledTitle, failedTitle) {
    var err = firstError(r);
    return [endState(err), err.code === 'CANCELLED' ? cancelledTitle : failedTitle, err.message, [], nextStep(err)];
  }

  function describeMigrate(r) {
    if (!r.success) { return failed(r, 'Upgrade cancelled', 'The upgrade did not happen'); }
    var already = (r.warnings || []).filter(function (w) { return w.code === 'ALREADY_UPGRADED'; })[0];
    if (already) {
      return ['done', 'Already upgraded', already.message || 'The library was already upgraded. Nothing was changed.',
        [], ''];
    }
    var details = [f.plural(r.captures_created || 0, 'knowledge capture') + ' made from transcribed recordings'];
    if (r.captures_adopted) {
      details.push(f.plural(r.captures_adopted, 'recording') + ' adopted: ' +
        (r.captures_adopted === 1 ? 'its knowledge capture already existed' : 'their knowledge captures already existed'));
    }
    details.push(f.plural(r.action_items_created || 0, 'action item') + ' carried over');
    if (r.recordings_skipped) {
      details.push(f.plural(r.recordings_skipped, 'recording') + ' without a transcript marked as skipped');
    }
    var now = isVersion(r.version) ? 'The library is now at version ' + r.version : 'The library is upgraded';
    return ['done', 'Upgrade complete', now + ', and the upgrade was verified.', details,
      'Open the meeting recorder as usual. If something looks wrong, use “Restore previous library” below.',
      warningNotes(r)];
  }

  // `stage`: the library's stage once the clean-up has finished.
  function describeCleanup(r, stage) {
    if (!r.success) { return failed(r, 'Clean-up cancelled', 'The clean-up did not happen'); }
    if ((r.warnings || []).some(function (w) { return w.code === 'NOTHING_TO_CLEAN'; })) {
      return ['done', 'Nothing to clean up', 'The library had nothing to fix. Nothing was changed.', [], ''];
    }
    var details = [f.plural(r.duplicate_recordings_removed, 'duplicate recording') + ' removed',
      f.plural(r.orphaned_transcripts_removed, 'transcript') + ' without a recording removed',
      f.plural(r.invalid_meeting_refs_fixed, 'link') + ' to missing meetings cleared'];
    if (r.transcripts_moved) { details.push(f.plural(r.transcripts_moved, 'transcript') + ' moved to the recording kept'); }
    if (r.embeddings_removed) { details.push(f.plural(r.embeddings_removed, 'search embedding') + ' deleted'); }
    return ['done', 'Clean-up complete',
      'The problems found were fixed. The copy saved just before is listed under Backups, if you want it back.',
      details, beforeUpgrade(stage) ? 'Now upgrade the library.' : 'Nothing else to do: the library is upgraded. ' +
        '“Restore previous library” would now also discard this fix.'];
  }

  // `chosen`: the copy picked in Backups, or null for the way back.
  function describeRollback(r, chosen) {
    if (!r.success) { return failed(r, 'Restore cancelled', 'The library was not restored'); }
    if (chosen && !chosen.way_back) {
      return ['done', 'Library restored',
        'The library is back at version ' + r.version + ', exactly as it was on ' + f.localTime(chosen.created_at) + '.',
        r.safety_snapshot_id ? ['The library as it was just before this restore was saved; it is listed under Backups.'] : [],
        ''];
    }
    return ['done', 'Library restored',
      'The library is back at version ' + r.version + ', exactly as it was just before the upgrade.',
      r.safety_snapshot_id ? ['A copy of the upgraded library was kept beside it, in case you change your mind.'] : [],
      'You can upgrade again whenever you like.'];
  }

  page.words = {
    firstError: firstError, endState: endState, describeMigrate: describeMigrate, describeCleanup: describeCleanup,
    describeRollback: describeRollback, listWords: listWords,
    PHASE_WORDS: PHASE_WORDS, STAGE_WORDS: STAGE_WORDS, nextStep: nextStep, isVersion: isVersion,
    libraryStage: libraryStage, beforeUpgrade: beforeUpgrade, planLine: planLine, idleResult: idleResult,
    upgradeHint: upgradeHint, previewText: previewText
  };
}(window.UpgradePage = window.UpgradePage || {}));
