/*
 * The "Upgrade library" page.
 *
 * It reaches Python only through window.pywebview.api (get_status, preview_cleanup,
 * run_cleanup, migrate, rollback, cancel, list_snapshots, delete_snapshot), and hears from
 * Python only through window events: migration:progress, library:changed, desktop:ready, window:close-requested and
 * window:closing. Text from results goes into the page through textContent only; the
 * messages are the engine's own, already free of paths.
 *
 * Marks for support scripts and tests: <html data-ready> once the first status is shown,
 * <html data-desktop-ready> once Python listens to the page's buttons.
 */
(function () {
  'use strict';

  // The engine's operation name for each API function that changes the library.
  var OPERATION_FOR = { migrate: 'migrate', rollback: 'rollback', run_cleanup: 'cleanup' };

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
    complete: 'Finished',
    failed: 'Stopped: nothing was changed',
    cancelled: 'Cancelled: nothing was changed'
  };

  var NEXT_STEP = {
    IN_PROGRESS: 'Wait until the other operation (here or in another copy of the app) has finished, then try again.',
    LIBRARY_NOT_FOUND: 'Open the window on an existing library, or create a sample library.',
    NOT_A_LIBRARY: 'Open the window on the meeting recorder’s library file.',
    LIBRARY_TOO_OLD: 'Open the library once in the current meeting recorder app, then come back.',
    LIBRARY_TOO_NEW: 'This library is newer than this tool: use a newer version of the tool.',
    LIBRARY_UNSUPPORTED: 'This library is missing parts the upgrade needs (named above), so it was left as it is. ' +
      'Open it once in the meeting recorder app, then try again; if it still happens, please report it with the log file.',
    LIBRARY_CORRUPT: 'Restore the library from a backup or a snapshot, then upgrade.',
    READ_ONLY: 'Make sure the library and its folder can be written to, then try again.',
    DISK_FULL: 'Free some disk space, then try again.',
    IO_ERROR: 'Check the disk, then try again.',
    CANCELLED: 'You can start again whenever you like.',
    VERIFICATION_FAILED: 'Nothing was saved. Please report this, with the log file.',
    NOTHING_TO_ROLL_BACK: 'There is nothing to restore.',
    NO_SNAPSHOT: 'Without the copy saved before the upgrade, the library cannot be restored from here.',
    SNAPSHOT_INVALID: 'The saved copy cannot be used; keep the library as it is.',
    RESTORE_FAILED: 'The library is as it was just before the restore. Please report this, with the log file.',
    DATABASE_ERROR: 'Try again; if it happens again, please report it with the log file.',
    INTERNAL_ERROR: 'Try again; if it happens again, please report it with the log file.',
    SNAPSHOT_FOREIGN: 'This copy cannot be restored into this library; keep the library as it is.',
    SNAPSHOT_NEEDED: 'Keep this copy unless you are sure you will never want to undo the upgrade.',
    SNAPSHOTS_UNSAFE: 'The folder of saved copies beside the library is not one this app made; check it, then try again.',
    INVALID_ARGUMENT: 'This is a bug in the page; please report it.'
  };

  // What each kind of saved copy is, in the list's words.
  var KIND_WORDS = {
    'pre-upgrade': 'Before the upgrade',
    'pre-rollback': 'Before a restore',
    'pre-cleanup': 'Before a clean-up'
  };

  // [result field, one, many, how a sample row reads]
  var FINDINGS = [
    ['duplicate_recordings', 'duplicate recording', 'duplicate recordings',
      function (s) { return s.filename + ' (' + s.count + ' copies)'; }],
    ['orphaned_transcripts', 'transcript whose recording is gone', 'transcripts whose recording is gone',
      function (s) { return 'transcript ' + s.id; }],
    ['invalid_meeting_refs', 'link to a meeting that no longer exists', 'links to meetings that no longer exist',
      function (s) { return 'recording ' + s.id; }]
  ];

  var TABLE_WORDS = {
    knowledge_captures: 'knowledge captures',
    action_items: 'action items',
    audio_sources: 'audio sources',
    'upgrade record': 'the record of what the upgrade made'
  };

  var state = {
    started: false,
    busy: false,          // an operation that changes the library is running
    operation: null,      // its engine name, to pick its progress events
    cancelling: false,
    closing: false,       // the user chose to close: everything stays disabled
    creating: false,      // the sample library is being written
    deleting: false,      // a saved copy is being deleted (the library itself is not touched)
    restoring: null,      // the saved copy chosen in Backups while its restore runs
    pendingBackup: null,  // what the Backups confirmation asks about: {action, snapshot}
    firstRun: false,
    desktopReady: false,
    status: null,
    preview: null,
    backups: null
  };

  // ---- small helpers ----------------------------------------------------------------
  function el(id) { return document.getElementById(id); }
  function setText(id, text) { el(id).textContent = text; }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function addItem(list, text) {
    var li = document.createElement('li');
    li.textContent = text;
    list.appendChild(li);
    return li;
  }
  // Counts in the user's locale ("42,047"), words in English.
  function plural(n, one, many) {
    return (typeof n === 'number' ? n.toLocaleString() : n) + ' ' + (n === 1 ? one : (many || one + 's'));
  }
  // A user's own cancel is an outcome, not a failure.
  function endState(err) { return err && err.code === 'CANCELLED' ? 'cancelled' : 'failed'; }
  function firstError(result) {
    return (result && result.errors && result.errors[0]) ||
      { code: 'INTERNAL_ERROR', message: 'Something unexpected went wrong. Details are in the log.' };
  }
  function hasWarning(result, code) {
    return (result.warnings || []).some(function (w) { return w.code === code; });
  }
  // Warnings of a successful operation, as notes: none of them undid anything.
  function warningNotes(result) {
    return (result.warnings || []).filter(function (w) { return w && w.message; })
      .map(function (w) { return { code: w.code, text: 'Note: ' + w.message }; });
  }
  function nextStep(code) { return NEXT_STEP[code] || NEXT_STEP.INTERNAL_ERROR; }
  function idle() { return !state.busy && !state.deleting && !state.closing; }

  // A size for people, in the user's number format: "396 MB", "1.2 GB", "850 bytes".
  function formatBytes(n) {
    if (typeof n !== 'number' || !isFinite(n) || n < 0) { return 'an unknown size'; }
    if (n < 1000) { return plural(n, 'byte'); }
    var units = ['kB', 'MB', 'GB', 'TB'];
    var value = n / 1000;
    var i = 0;
    while (value >= 999.5 && i < units.length - 1) { value /= 1000; i += 1; }
    var digits = value < 9.95 ? 1 : 0;
    return value.toLocaleString(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }) +
      ' ' + units[i];
  }

  // An engine time (ISO 8601 with its offset, in UTC) as the user's own local date and time.
  function localTime(iso) {
    var when = typeof iso === 'string' ? new Date(iso) : null;
    if (!when || isNaN(when.getTime())) { return 'an unknown date'; }
    return when.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function bridgeDown(name) {
    return {
      operation: name, success: false, warnings: [],
      errors: [{ code: 'INTERNAL_ERROR', message: 'The window could not reach the app. Close the window and open it again; details are in the log.' }]
    };
  }

  // Every API call resolves to a result: a rejected promise (a bug) becomes INTERNAL_ERROR
  // here, and its Python stack is never shown.
  function call(name, args) {
    var api = window.pywebview && window.pywebview.api;
    if (!api || typeof api[name] !== 'function') { return Promise.resolve(bridgeDown(name)); }
    return api[name].apply(null, args || []).then(function (result) {
      return result && typeof result === 'object' ? result : bridgeDown(name);
    }, function (error) {
      console.error('pywebview.api.' + name + ' failed: ' + (error && error.name));
      return bridgeDown(name);
    });
  }

  // ---- rendering --------------------------------------------------------------------
  // `details`: lines of text; `notes`: the engine's non-fatal warnings, shown after them.
  function showResult(stateName, title, message, details, next, notes) {
    el('result').dataset.state = stateName;
    setText('result-title', title);
    setText('result-message', message || '');
    var list = el('result-details');
    clear(list);
    (details || []).forEach(function (d) { addItem(list, d); });
    (notes || []).forEach(function (n) {
      var li = addItem(list, n.text);
      li.className = 'note';
      li.dataset.code = n.code;
    });
    setText('result-next', next || '');
  }

  function isVersion(v) { return typeof v === 'number' && isFinite(v); }

  // Where the library stands, from the status alone: every version number and whether the
  // upgrade is finished come from the engine (its registry of steps), never from this page.
  //   'ready'       stored version below the latest: the upgrade has steps to run
  //   'unfinished'  at the latest version in name, but the upgrade still has work to do
  //   'upgraded'    at the latest version, nothing left to do
  function libraryStage(st) {
    if (!st || !st.success || !isVersion(st.version) || !isVersion(st.latest_version)) { return null; }
    if (st.version < st.latest_version) { return 'ready'; }
    return st.can_migrate ? 'unfinished' : 'upgraded';
  }

  var STAGE_WORDS = { ready: 'ready to upgrade', unfinished: 'upgrade not finished', upgraded: 'upgraded' };

  // What the upgrade would still do, in words: recordings to upgrade, to adopt, to skip.
  function planWords(plan) {
    var parts = [];
    if (plan.to_upgrade) { parts.push(plural(plan.to_upgrade, 'recording') + ' to upgrade'); }
    if (plan.to_adopt) {
      parts.push(plural(plan.to_adopt, 'recording') + ' to adopt (' +
        (plan.to_adopt === 1 ? 'its knowledge capture already exists)' : 'their knowledge captures already exist)'));
    }
    if (plan.to_skip) { parts.push(plural(plan.to_skip, 'recording') + ' to skip (no transcript)'); }
    return parts.join(', ');
  }

  function planLine(st, stage) {
    var plan = st.upgrade || {};
    var work = planWords(plan);
    var missing = (plan.schema_missing || []).length;
    if (stage === 'unfinished') {
      var left = work || (missing ? plural(missing, 'part') + ' of the new format missing' : 'some work left');
      return 'The library is marked as version ' + st.version + ', but its upgrade is not finished: ' + left +
        '. The upgrade will finish ' + (work ? 'them' : 'it') + '.';
    }
    if (stage === 'ready') {
      return 'Upgrading to version ' + st.latest_version + (work ? ': ' + work + '.' : '.');
    }
    return '';
  }

  function renderStatus(st) {
    state.status = st;
    state.firstRun = !st.success && firstError(st).code === 'LIBRARY_NOT_FOUND';
    el('first-run').hidden = !state.firstRun;
    setText('library-name', st.library_name || (state.firstRun ? 'none yet' : '—'));
    var stage = libraryStage(st);
    var version = '—';
    if (isVersion(st.version) && !state.firstRun) {  // a library it cannot upgrade still has a version
      version = String(st.version) + (stage ? ' (' + STAGE_WORDS[stage] + ')' : '');
    }
    setText('library-version', version);
    el('library-version').dataset.stage = stage || '';
    var line = st.success ? planLine(st, stage) : '';
    setText('library-plan', line);
    el('library-plan').hidden = !line;
    setText('lead-version', isVersion(st.latest_version) ? ' (version ' + st.latest_version + ')' : '');
    if (st.app_version) { setText('about', 'Library upgrade, version ' + st.app_version); }
    // The recordings' own state, and what the upgrade would still do with them.
    var recordings = st.recordings || {};
    var plan = st.upgrade || {};
    var counts = {
      to_upgrade: plan.to_upgrade, to_adopt: plan.to_adopt, to_skip: plan.to_skip,
      migrated: recordings.migrated, skipped: recordings.skipped, error: recordings.error, total: recordings.total
    };
    Array.prototype.forEach.call(document.querySelectorAll('#recording-counts [data-count]'), function (dd) {
      var value = counts[dd.dataset.count];
      dd.textContent = st.success && typeof value === 'number' ? String(value) : '—';
      if (dd.parentNode.hasAttribute('data-only-when-some')) {
        dd.parentNode.hidden = !(st.success && value > 0);
      }
    });
  }

  function problemCount(pv) {
    if (!pv || !pv.success) { return 0; }
    return FINDINGS.reduce(function (n, f) { return n + ((pv[f[0]] || {}).count || 0); }, 0);
  }

  function renderPreview(pv) {
    state.preview = pv;
    var list = el('cleanup-findings');
    clear(list);
    el('cleanup-explain').hidden = true;
    if (!pv) {
      setText('cleanup-summary', 'The clean-up check runs once the library can be read.');
      return;
    }
    if (!pv.success) {
      setText('cleanup-summary', 'The clean-up check did not work: ' + firstError(pv).message);
      return;
    }
    FINDINGS.forEach(function (f) {
      var finding = pv[f[0]] || { count: 0, sample: [] };
      if (!finding.count) { return; }
      var li = addItem(list, plural(finding.count, f[1], f[2]));
      var samples = (finding.sample || []).map(f[3]).filter(function (text, i, all) {
        return all.indexOf(text) === i;  // several duplicates of one name read as one sample
      }).slice(0, 3);
      if (samples.length) {
        var span = document.createElement('span');
        span.className = 'samples';
        span.textContent = ' — e.g. ' + samples.join(', ') + (finding.count > samples.length ? ', …' : '');
        li.appendChild(span);
      }
    });
    var total = problemCount(pv);
    setText('cleanup-summary', total ? 'Found ' + plural(total, 'problem') + ' worth fixing before the upgrade:'
      : 'No problems found: there is nothing to clean up.');
    el('cleanup-explain').hidden = !total;
  }

  // ---- Backups: the saved copies of the library -------------------------------------
  // Newest first; a copy whose time cannot be read goes last. Times are to the second, so
  // copies of one second (a clean-up and the upgrade right after it) go by their ids, which
  // end in the time to the microsecond (pre-upgrade-20261203T202450123456Z).
  function idTime(s) {
    var m = /(\d{8}T\d{12})Z$/.exec(String(s.id));
    return m ? m[1] : '';
  }
  function byNewest(a, b) {
    var ta = new Date(a.created_at).getTime() || 0;
    var tb = new Date(b.created_at).getTime() || 0;
    if (ta !== tb) { return tb - ta; }
    var ia = idTime(a);
    var ib = idTime(b);
    return ia === ib ? 0 : (ia < ib ? 1 : -1);
  }

  function backupName(s) {
    return (KIND_WORDS[s.kind] || 'Saved copy') + ', ' + localTime(s.created_at);
  }

  function addLine(parent, className, text) {
    var p = document.createElement('p');
    p.className = className;
    p.textContent = text;
    parent.appendChild(p);
    return p;
  }

  function backupButton(label, action, s, className) {
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.dataset.action = action;
    if (className) { button.className = className; }
    button.setAttribute('aria-label', label + ': ' + backupName(s));
    button.addEventListener('click', function () { askBackup(action, s, false); });
    return button;
  }

  function backupItem(s) {
    var li = document.createElement('li');
    li.className = 'backup';
    li.dataset.snapshot = String(s.id);
    li.dataset.kind = String(s.kind);
    li.dataset.valid = s.valid ? 'true' : 'false';
    li.dataset.wayBack = s.way_back ? 'true' : 'false';

    var head = document.createElement('p');
    head.className = 'backup-head';
    var name = document.createElement('strong');
    name.textContent = KIND_WORDS[s.kind] || 'Saved copy';
    head.appendChild(name);
    head.appendChild(document.createTextNode(' · '));
    var time = document.createElement('time');
    if (typeof s.created_at === 'string') { time.dateTime = s.created_at; }
    time.textContent = localTime(s.created_at);
    head.appendChild(time);
    if (s.way_back) {
      var tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = 'The way back';
      head.appendChild(tag);
    }
    li.appendChild(head);
    if (s.purpose) { addLine(li, 'hint backup-purpose', s.purpose); }
    addLine(li, 'backup-facts', (isVersion(s.version) ? 'Version ' + s.version + ' · ' : '') + formatBytes(s.size_bytes));
    if (!s.valid) {
      addLine(li, 'backup-problem', 'Cannot be restored: ' + (s.problem || 'this copy did not pass its check.'));
    }
    var actions = document.createElement('div');
    actions.className = 'actions';
    if (s.valid) { actions.appendChild(backupButton('Restore', 'restore', s, 'danger')); }
    actions.appendChild(backupButton('Delete', 'delete', s, ''));
    li.appendChild(actions);
    return li;
  }

  // `list`: list_snapshots()'s result, or null when the library cannot be read.
  function renderBackups(list) {
    state.backups = list;
    var ul = el('backups-list');
    clear(ul);
    if (!list) {
      setText('backups-summary', 'The saved copies are listed here once the library can be read.');
      return;
    }
    if (!list.success) {
      setText('backups-summary', 'The saved copies could not be listed: ' + firstError(list).message);
      return;
    }
    var snaps = (list.snapshots || []).slice().sort(byNewest);
    snaps.forEach(function (s) { ul.appendChild(backupItem(s)); });
    if (!snaps.length) {
      setText('backups-summary', 'No saved copies yet. One is saved before every upgrade, clean-up and restore.');
      return;
    }
    var total = typeof list.total_bytes === 'number' ? list.total_bytes
      : snaps.reduce(function (n, s) { return n + (s.size_bytes || 0); }, 0);
    var line = plural(snaps.length, 'saved copy', 'saved copies') + (snaps.length === 1 ? ' takes ' : ' take ') +
      formatBytes(total) + ' of disk space';
    if (typeof list.library_bytes === 'number' && list.library_bytes > 0) {
      var times = total / list.library_bytes;
      line += times >= 1.05
        ? ', about ' + times.toLocaleString(undefined, { maximumFractionDigits: 1 }) +
          ' times as much as the library itself (' + formatBytes(list.library_bytes) + ')'
        : '; the library itself takes ' + formatBytes(list.library_bytes);
    }
    setText('backups-summary', line + '.');
  }

  function backupMessage(stateName, text) {
    var message = el('backups-message');
    message.dataset.state = stateName;
    message.textContent = text || '';
  }

  // The Backups confirmation. `again`: the engine asked for a second, explicit choice
  // (WOULD_LOSE_DATA for a restore, SNAPSHOT_NEEDED for a delete); `detail` says why.
  function askBackup(action, s, again, detail) {
    if (!idle()) { return; }
    state.pendingBackup = { action: action, snapshot: s };
    var when = localTime(s.created_at);
    var lose = el('backup-lose');
    clear(lose);
    var yes = el('backup-confirm-yes');
    var force = el('backup-force');
    var no = el('backup-confirm-no');
    if (action === 'restore' && !again) {
      setText('backup-confirm-title', 'Restore the library as it was on ' + when + '?');
      setText('backup-confirm-text', 'This puts the library back ' +
        (isVersion(s.version) ? 'to version ' + s.version + ', ' : '') + 'exactly as it was on ' + when +
        (s.purpose ? ' (' + s.purpose.replace(/\.$/, '') + ')' : '') + '. The library as it is now is saved ' +
        'first, as a copy listed here. If anything changed since this copy was made, you will be asked again ' +
        'before it is discarded.');
      yes.textContent = 'Restore this copy';
      no.textContent = 'Keep the library as it is';
    } else if (action === 'restore') {
      setText('backup-confirm-title', 'Discard the changes made since this copy?');
      setText('backup-confirm-text', 'The library has changed since the copy of ' + when +
        ' was made. Restoring it would lose:');
      Object.keys(detail || {}).sort().forEach(function (table) {
        var words = TABLE_WORDS[table] || table.replace(/_/g, ' ');
        addItem(lose, words + ': ' + plural(detail[table], 'row') + ' added, changed or removed');
      });
      force.textContent = 'Restore and discard these changes';
      no.textContent = 'Keep the library as it is';
    } else if (!again) {
      setText('backup-confirm-title', 'Delete the copy from ' + when + '?');
      setText('backup-confirm-text', (s.way_back
        ? 'This copy is the way back: once it is deleted, the upgrade can no longer be undone ' +
          '(“Restore previous library” stops working). '
        : 'The library as it was on ' + when + ' can then no longer be restored. ') +
        'Deleting it frees ' + formatBytes(s.size_bytes) + '. The library itself is not changed.');
      yes.textContent = 'Delete this copy';
      no.textContent = 'Keep it';
    } else {
      setText('backup-confirm-title', 'Delete the way back anyway?');
      setText('backup-confirm-text', (detail || 'Without this copy the upgrade can no longer be undone.') +
        ' Click “Delete it anyway” only if you will never want to undo the upgrade.');
      force.textContent = 'Delete it anyway';
      no.textContent = 'Keep it';
    }
    yes.hidden = again;
    force.hidden = !again;
    el('backup-confirm').dataset.action = action;
    el('backup-confirm').dataset.stage = again ? 'again' : 'first';
    el('backup-confirm').dataset.snapshot = String(s.id);
    el('backup-confirm').hidden = false;
    backupMessage('idle', '');
    el('backup-confirm').scrollIntoView({ block: 'nearest' });
    no.focus();
  }

  function hideBackupConfirm() {
    state.pendingBackup = null;
    el('backup-confirm').hidden = true;
  }

  function confirmBackup(force) {
    var pending = state.pendingBackup;
    if (!pending || !idle()) { return; }
    if (pending.action === 'restore') {
      state.restoring = pending.snapshot;
      run('rollback', [force, pending.snapshot.id], 'Restoring the library…');
    } else {
      deleteBackup(pending.snapshot, force);
    }
  }

  function deleteBackup(s, force) {
    state.deleting = true;
    el('backup-confirm').hidden = true;
    backupMessage('running', 'Deleting the copy…');
    updateButtons();
    call('delete_snapshot', [s.id, force]).then(function (r) {
      return refresh(false).then(function () { return r; });
    }).then(function (r) {
      state.deleting = false;
      var err = firstError(r);
      updateButtons();
      if (!r.success && err.code === 'SNAPSHOT_NEEDED' && !force) {
        askBackup('delete', s, true, err.message);
        return;
      }
      hideBackupConfirm();
      if (r.success) {
        backupMessage('done', 'Deleted the copy from ' + localTime(s.created_at) + '; ' +
          formatBytes(r.freed_bytes || 0) + ' freed.' +
          (s.way_back ? ' The upgrade can no longer be undone.' : ''));
      } else {
        backupMessage('failed', 'The copy was not deleted: ' + err.message + ' ' + nextStep(err.code));
      }
      el('backups-message').focus();
    });
  }

  function updateButtons() {
    var st = state.status || {};
    var free = idle();
    el('create-sample').disabled = !(free && state.firstRun && state.desktopReady && !state.creating);
    el('fix').disabled = !(free && st.success && problemCount(state.preview) > 0);
    el('upgrade').disabled = !(free && st.success && st.can_migrate);
    el('rollback').disabled = !(free && st.success && st.can_rollback);
    ['rollback-confirm-yes', 'rollback-force', 'rollback-confirm-no', 'fix-confirm-yes', 'fix-confirm-no',
      'backup-confirm-yes', 'backup-force', 'backup-confirm-no'].forEach(function (id) {
      el(id).disabled = !free;
    });
    Array.prototype.forEach.call(document.querySelectorAll('#backups-list button'), function (button) {
      button.disabled = !(free && st.success);
    });
    el('cancel').disabled = !(state.busy && !state.cancelling && !state.closing);
    el('app').setAttribute('aria-busy', state.busy || state.deleting ? 'true' : 'false');
  }

  function etaWords(seconds, phase) {
    if (phase === 'complete' || typeof seconds !== 'number') { return ''; }
    if (seconds < 10) { return '· a few seconds left'; }
    if (seconds < 60) { return '· less than a minute left'; }
    return '· about ' + Math.round(seconds / 60) + ' min left';
  }

  function onProgress(event) {
    var d = event.detail || {};
    if (!state.busy || d.operation !== state.operation) { return; }
    var percent = Math.max(0, Math.min(100, Number(d.percent) || 0));
    var bar = el('progress');
    if (percent >= bar.value) { bar.value = percent; }
    var words = PHASE_WORDS[d.phase] || 'Working';
    if (d.phase === 'migrating' && typeof d.total === 'number' && d.total > 0 && typeof d.processed === 'number') {
      words += ' (' + d.processed + ' of ' + d.total + ')';
    }
    setText('phase', state.cancelling && d.phase !== 'cancelled' ? 'Cancelling…' : words);
    setText('eta', state.cancelling ? '' : etaWords(d.eta_seconds, d.phase));
  }

  // ---- what a result means to the user ----------------------------------------------
  function describe(apiName, r) {
    var err = firstError(r);
    if (apiName === 'migrate') {
      if (!r.success) {
        return [endState(err), err.code === 'CANCELLED' ? 'Upgrade cancelled' : 'The upgrade did not happen',
          err.message, [], nextStep(err.code)];
      }
      if (hasWarning(r, 'ALREADY_UPGRADED')) {
        var already = (r.warnings || []).filter(function (w) { return w.code === 'ALREADY_UPGRADED'; })[0];
        return ['done', 'Already upgraded', already.message || 'The library was already upgraded. Nothing was changed.',
          [], ''];
      }
      var details = [plural(r.captures_created || 0, 'knowledge capture') + ' made from transcribed recordings'];
      if (r.captures_adopted) {
        details.push(plural(r.captures_adopted, 'recording') + ' adopted: ' +
          (r.captures_adopted === 1 ? 'its knowledge capture already existed' : 'their knowledge captures already existed'));
      }
      details.push(plural(r.action_items_created || 0, 'action item') + ' carried over');
      if (r.recordings_skipped) {
        details.push(plural(r.recordings_skipped, 'recording') + ' without a transcript marked as skipped');
      }
      var now = isVersion(r.version) ? 'The library is now at version ' + r.version : 'The library is upgraded';
      return ['done', 'Upgrade complete', now + ', and the upgrade was verified.', details,
        'Open the meeting recorder as usual. If something looks wrong, use “Restore previous library” below.',
        warningNotes(r)];
    }
    if (apiName === 'run_cleanup') {
      if (!r.success) {
        return [endState(err), err.code === 'CANCELLED' ? 'Clean-up cancelled' : 'The clean-up did not happen',
          err.message, [], nextStep(err.code)];
      }
      if (hasWarning(r, 'NOTHING_TO_CLEAN')) {
        return ['done', 'Nothing to clean up', 'The library had nothing to fix. Nothing was changed.', [], ''];
      }
      return ['done', 'Clean-up complete',
        'The problems found were fixed. The copy saved just before is listed under Backups, if you want it back.', [
        plural(r.duplicate_recordings_removed, 'duplicate recording') + ' removed',
        plural(r.orphaned_transcripts_removed, 'transcript') + ' without a recording removed',
        plural(r.invalid_meeting_refs_fixed, 'link') + ' to missing meetings cleared'
      ], 'Now upgrade the library.'];
    }
    // rollback
    if (!r.success) {
      return [endState(err), err.code === 'CANCELLED' ? 'Restore cancelled' : 'The library was not restored',
        err.message, [], nextStep(err.code)];
    }
    var chosen = state.restoring;
    if (chosen && !chosen.way_back) {  // a copy picked in Backups, not the way back
      return ['done', 'Library restored',
        'The library is back at version ' + r.version + ', exactly as it was on ' + localTime(chosen.created_at) + '.',
        r.safety_snapshot_id ? ['The library as it was just before this restore was saved; it is listed under Backups.'] : [],
        ''];
    }
    return ['done', 'Library restored',
      'The library is back at version ' + r.version + ', exactly as it was just before the upgrade.',
      r.safety_snapshot_id ? ['A copy of the upgraded library was kept beside it, in case you change your mind.'] : [],
      'You can upgrade again whenever you like.'];
  }

  // ---- actions ----------------------------------------------------------------------
  function refresh(reportFailure) {
    return call('get_status').then(function (st) {
      renderStatus(st);
      if (!st.success) {
        renderPreview(null);
        renderBackups(null);
        var err = firstError(st);
        if (state.firstRun) {
          showResult('idle', 'No library yet', 'There is no library at this location yet.', [],
            'Create a sample library above to try the upgrade.');
        } else if (reportFailure) {
          showResult('failed', 'This library cannot be upgraded here', err.message, [], nextStep(err.code));
        }
        return null;
      }
      return Promise.all([call('preview_cleanup'), call('list_snapshots')]).then(function (both) {
        renderPreview(both[0]);
        renderBackups(both[1]);
      });
    }).then(updateButtons);
  }

  function run(apiName, args, runningTitle) {
    if (state.busy || state.closing) { return Promise.resolve(); }
    state.busy = true;
    state.cancelling = false;
    state.operation = OPERATION_FOR[apiName];
    el('progress').value = 0;
    setText('phase', PHASE_WORDS.preflight);
    setText('eta', '');
    el('rollback-confirm').hidden = true;
    el('fix-confirm').hidden = true;
    el('backup-confirm').hidden = true;
    backupMessage('idle', '');
    showResult('running', runningTitle, 'The library stays as it was until this has finished and verified.', [], '');
    updateButtons();
    el('upgrade-section').scrollIntoView({ block: 'start' });  // the progress and the result, in view
    return call(apiName, args).then(function (result) {
      return refresh(false).then(function () { return result; });
    }).then(function (result) {
      state.busy = false;
      var chosen = state.restoring;
      state.restoring = null;
      if (apiName === 'rollback' && !result.success && firstError(result).code === 'WOULD_LOSE_DATA') {
        el('progress').value = 0;
        setText('phase', 'Not started');
        setText('eta', '');
        updateButtons();
        if (chosen) {  // asked from Backups: the question stays there
          showResult('idle', 'Nothing was restored yet',
            'The library has changed since that copy was made. Choose under Backups whether to discard those changes.',
            [], '');
          askBackup('restore', chosen, true, result.would_lose || {});
        } else {
          showResult('idle', 'Nothing was restored yet',
            'The library has changed since the upgrade. Choose below whether to discard those changes.', [], '');
          askForce(result.would_lose || {});
        }
        return;
      }
      hideBackupConfirm();
      if (result.success) {
        el('progress').value = 100;
        setText('phase', PHASE_WORDS.complete);
        setText('eta', '');
      } else {
        setText('phase', firstError(result).code === 'CANCELLED' ? PHASE_WORDS.cancelled : PHASE_WORDS.failed);
        setText('eta', '');
      }
      state.restoring = chosen;
      showResult.apply(null, describe(apiName, result));
      state.restoring = null;
      updateButtons();
      el('result').focus();
    });
  }

  function askRollback() {
    var st = state.status || {};
    var snaps = st.snapshots || [];
    var snap = snaps.filter(function (s) { return s.way_back; })[0] ||
      snaps.filter(function (s) { return s.kind === 'pre-upgrade'; }).sort(byNewest)[0];
    var migrated = (st.recordings || {}).migrated || 0;
    setText('rollback-confirm-title', 'Restore the library from before the upgrade?');
    setText('rollback-confirm-text',
      'This puts the library back ' + (snap && isVersion(snap.version) ? 'to version ' + snap.version + ' ' : '') +
      'as it was when the upgrade started' +
      (snap ? ' (' + localTime(snap.created_at) + ')' : '') + '. What the upgrade made is removed: ' +
      plural(migrated, 'knowledge capture') + ' with their action items. Recordings, transcripts and meetings ' +
      'are kept as they were before the upgrade. If anything changed since the upgrade, you will be asked again ' +
      'before it is discarded.');
    clear(el('rollback-lose'));
    el('rollback-confirm-yes').hidden = false;
    el('rollback-force').hidden = true;
    el('rollback-confirm').hidden = false;
    el('rollback-confirm-no').focus();
  }

  function askForce(wouldLose) {
    setText('rollback-confirm-title', 'Discard the changes made since the upgrade?');
    setText('rollback-confirm-text', 'The library has changed since the upgrade. Restoring it would lose:');
    var list = el('rollback-lose');
    clear(list);
    Object.keys(wouldLose).sort().forEach(function (table) {
      var words = TABLE_WORDS[table] || table.replace(/_/g, ' ');
      addItem(list, words + ': ' + plural(wouldLose[table], 'row') + ' added, changed or removed');
    });
    el('rollback-confirm-yes').hidden = true;
    el('rollback-force').hidden = false;
    el('rollback-confirm').hidden = false;
    el('rollback-confirm-no').focus();
  }

  function hideRollbackConfirm() {
    el('rollback-confirm').hidden = true;
    el('rollback').focus();
  }

  function showCloseConfirm() {
    if (state.closing) { return; }
    el('close-confirm').hidden = false;
    el('app').inert = true;
    el('close-confirm-no').focus();
  }

  function hideCloseConfirm() {
    if (state.closing) { return; }
    el('close-confirm').hidden = true;
    el('app').inert = false;
    el('cancel').focus();
  }

  function closing() {
    state.closing = true;
    el('close-confirm').hidden = false;
    el('app').inert = true;
    setText('close-confirm-message', 'Cancelling… The window closes as soon as the library is back as it was.');
    // Disabled on the next turn, so every listener of this click (Python's too) hears it.
    setTimeout(function () {
      el('close-confirm-yes').disabled = true;
      el('close-confirm-no').disabled = true;
    }, 0);
    updateButtons();
  }

  // Another copy of the app, or the command line, may have changed the library meanwhile:
  // what the page says is re-read whenever the window comes back to the front.
  function refreshWhenBack() {
    if (state.started && idle() && !document.hidden) { refresh(false); }
  }
  window.addEventListener('focus', refreshWhenBack);
  document.addEventListener('visibilitychange', refreshWhenBack);

  function start() {
    if (state.started) { return; }
    state.started = true;
    refresh(true).then(function () { document.documentElement.dataset.ready = 'true'; });
  }

  // ---- wiring -----------------------------------------------------------------------
  el('upgrade').addEventListener('click', function () { run('migrate', [], 'Upgrading the library…'); });
  el('fix').addEventListener('click', function () {
    if (!idle()) { return; }
    el('fix-confirm').hidden = false;
    el('fix-confirm-no').focus();
  });
  el('fix-confirm-yes').addEventListener('click', function () { run('run_cleanup', [], 'Fixing the problems found…'); });
  el('fix-confirm-no').addEventListener('click', function () {
    el('fix-confirm').hidden = true;
    el('fix').focus();
  });
  el('backup-confirm-yes').addEventListener('click', function () { confirmBackup(false); });
  el('backup-force').addEventListener('click', function () { confirmBackup(true); });
  el('backup-confirm-no').addEventListener('click', function () {
    var snapshot = el('backup-confirm').dataset.snapshot;
    hideBackupConfirm();
    var item = Array.prototype.filter.call(document.querySelectorAll('#backups-list li'), function (li) {
      return li.dataset.snapshot === snapshot;
    })[0];
    var back = item && item.querySelector('button');
    if (back) { back.focus(); }
  });
  el('rollback').addEventListener('click', askRollback);
  el('rollback-confirm-yes').addEventListener('click', function () { run('rollback', [], 'Restoring the library…'); });
  el('rollback-force').addEventListener('click', function () { run('rollback', [true], 'Restoring the library…'); });
  el('rollback-confirm-no').addEventListener('click', hideRollbackConfirm);
  el('cancel').addEventListener('click', function () {
    if (!state.busy || state.cancelling) { return; }
    state.cancelling = true;
    setText('phase', 'Cancelling…');
    setText('eta', '');
    updateButtons();
    call('cancel').then(function (r) {
      if (state.busy && !(r.success && r.cancelled > 0)) {  // nothing was running yet: allow a retry
        state.cancelling = false;
        updateButtons();
      }
    });
  });
  el('create-sample').addEventListener('click', function () {
    state.creating = true;
    setText('first-run-message', 'Creating the sample library…');
    updateButtons();
  });
  el('close-confirm-yes').addEventListener('click', closing);
  el('close-confirm-no').addEventListener('click', hideCloseConfirm);
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') { return; }
    if (!el('close-confirm').hidden) { hideCloseConfirm(); return; }
    if (!el('rollback-confirm').hidden) { hideRollbackConfirm(); }
    if (!el('fix-confirm').hidden) { el('fix-confirm-no').click(); }
    if (!el('backup-confirm').hidden) { el('backup-confirm-no').click(); }
  });

  window.addEventListener('migration:progress', onProgress);
  window.addEventListener('desktop:ready', function () {
    state.desktopReady = true;
    document.documentElement.dataset.desktopReady = 'true';
    updateButtons();
  });
  window.addEventListener('library:changed', function (e) {
    var d = e.detail || {};
    state.creating = false;
    if (d.success === false) {
      setText('first-run-message', firstError(d).message);
      updateButtons();
      return;
    }
    setText('first-run-message', '');
    refresh(true).then(function () {
      if (d.created) {
        showResult('done', 'Sample library created',
          'A sample library with made-up recordings is ready. Like real libraries, it has a few problems.',
          [], 'Look at the clean-up below, fix what it found, then upgrade.');
      }
    });
  });
  window.addEventListener('window:close-requested', showCloseConfirm);
  window.addEventListener('window:closing', closing);

  // pywebview injects its bridge once the page has loaded, always after this deferred
  // script has run, and then fires pywebviewready.
  window.addEventListener('pywebviewready', start);
}());
