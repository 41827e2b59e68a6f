/*
 * The "Upgrade library" page: its state, the calls to Python, and the wiring.
 *
 * It reaches Python only through window.pywebview.api (get_status, preview_cleanup,
 * run_cleanup, migrate, rollback, cancel, list_snapshots, delete_snapshot, preview_upgrade,
 * support_report, show_in_folder, open_log_folder), and hears from Python only through
 * window events: migration:progress, library:changed, desktop:ready (with the library's
 * full path and whether a sample library may be offered), window:close-requested and
 * window:closing. Text goes into the page through textContent only.
 *
 * What the page says comes from words.js (the library's stage and every card's words),
 * cleanup.js, backups.js, support.js, progress.js and dialogs.js; this file decides when to
 * read the library and what to show.
 *
 * Marks for support scripts and tests: <html data-ready> once the first status is shown,
 * <html data-desktop-ready> once Python listens to the page's buttons, <html data-reads>
 * the number of reads of the library shown so far.
 */
(function (page) {
  'use strict';
  var f = page.format;
  var w = page.words;

  // The engine's operation name for each API function that changes the library.
  var OPERATION_FOR = { migrate: 'migrate', rollback: 'rollback', run_cleanup: 'cleanup' };

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
    missing: false,       // no library at the location
    sampleOffer: null,    // whether a sample library may be made there (from desktop:ready)
    libraryPath: null,
    desktopReady: false,
    restoredHere: false,  // this window restored the library to before its upgrade
    stage: null,
    shown: null,          // what the result card shows: {idle: bool, stage}
    status: null,
    preview: null,        // the clean-up preview
    upgradePreview: null,
    previewing: false,
    previewAgain: false,
    backups: null,
    reads: 0,             // reads of the library shown so far (<html data-reads>)
    memory: new f.CountMemory()
  };

  // ---- small helpers ----------------------------------------------------------------
  var el = page.dom.el, setText = page.dom.setText;
  function idle() { return !state.busy && !state.deleting && !state.closing; }
  function problems() { return page.cleanup.problemCount(state.preview); }

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

  // ---- the result card ------------------------------------------------------------------
  // `details`: lines of text; `notes`: the engine's non-fatal warnings, shown after them.
  function showResult(stateName, title, message, details, next, notes) {
    el('result').dataset.state = stateName;
    setText('result-title', title);
    setText('result-message', message || '');
    var list = el('result-details');
    while (list.firstChild) { list.removeChild(list.firstChild); }
    (details || []).concat(notes || []).forEach(function (d) {
      var li = document.createElement('li');
      li.textContent = typeof d === 'string' ? d : d.text;
      if (typeof d !== 'string') { li.className = 'note'; li.dataset.code = d.code; }
      list.appendChild(li);
    });
    setText('result-next', next || '');
    state.shown = { idle: false, stage: state.stage };
  }

  // What is true now and what to do next, when nothing done in this window is to be shown.
  function showIdle() {
    var words = w.idleResult(state.stage, state.status || {}, problems());
    if (!words) { return; }
    showResult.apply(null, words);
    state.shown = { idle: true, stage: state.stage };
  }

  function showMissing() {
    el('first-run').hidden = state.sampleOffer !== true;
    if (state.sampleOffer === true) {
      showResult('idle', 'No library yet', 'There is no library at the app’s own location yet.', [],
        'Create a sample library above to try the upgrade.');
    } else {
      showResult('failed', 'No library found', 'No library at ' + (state.libraryPath || 'the location given') +
        '. Nothing was created or changed.', [], w.nextStep({ code: 'LIBRARY_NOT_FOUND' }));
    }
  }

  // ---- the library card -----------------------------------------------------------------
  function renderCounts(st, afterOwn) {
    var recordings = st.recordings || {};
    var plan = st.upgrade || {};
    var counts = {
      to_upgrade: plan.to_upgrade, to_adopt: plan.to_adopt, to_skip: plan.to_skip,
      migrated: recordings.migrated, skipped: recordings.skipped, error: recordings.error, total: recordings.total
    };
    var changed = [];
    Array.prototype.forEach.call(document.querySelectorAll('#recording-counts [data-count]'), function (dd) {
      var key = dd.dataset.count;
      var value = st.success && typeof counts[key] === 'number' ? counts[key] : null;
      var before = state.memory.note('status.' + key, value);
      dd.querySelector('.value').textContent = value === null ? '—' : f.number(value);
      dd.querySelector('.was').textContent = before === null ? '' : ' (was ' + f.number(before) + ')';
      if (before !== null) {
        changed.push(dd.parentNode.querySelector('dt').textContent.toLowerCase() + ' was ' + f.number(before) +
          ', now ' + f.number(value));
      }
      if (dd.parentNode.hasAttribute('data-only-when-some')) { dd.parentNode.hidden = !(value > 0 || before > 0); }
    });
    // A change this window made is explained by its result; any other is said here.
    var line = changed.length && !afterOwn ? 'The library changed since it was last read here (another copy of the ' +
      'app or the command line may be working on it): ' + changed.join('; ') + '.' : '';
    setText('library-changes', line);
    el('library-changes').hidden = !line;
  }

  function renderStatus(st, afterOwn) {
    state.status = st;
    state.missing = !st.success && w.firstError(st).code === 'LIBRARY_NOT_FOUND';
    if (!state.missing) { el('first-run').hidden = true; }
    setText('library-name', st.library_name || (state.missing ? 'none' : '—'));
    var stage = state.stage = w.libraryStage(st, state.restoredHere);
    var version = '—';
    if (w.isVersion(st.version) && !state.missing) {  // a library it cannot upgrade still has a version
      version = String(st.version) + (stage ? ' (' + w.STAGE_WORDS[stage] + ')' : '');
    }
    setText('library-version', version);
    el('library-version').dataset.stage = stage || '';
    var line = st.success ? w.planLine(st, stage) : '';
    setText('library-plan', line);
    el('library-plan').hidden = !line;
    setText('lead-version', w.isVersion(st.latest_version) ? ' (version ' + st.latest_version + ')' : '');
    if (st.app_version) { setText('about', 'Library upgrade, version ' + st.app_version); }
    renderCounts(st, afterOwn);
  }

  // ---- the upgrade card: its words and the preview --------------------------------------
  function renderUpgradeCard() {
    setText('upgrade-hint', w.upgradeHint(state.stage));
    var st = state.status || {};
    var box = el('upgrade-preview');
    box.hidden = !(st.success && st.can_migrate);
    var pv = state.upgradePreview;
    box.dataset.state = box.hidden ? 'none' : (state.previewing || !pv ? 'counting' : (pv.success ? 'ready' : 'failed'));
    box.textContent = box.hidden ? '' : w.previewText(state.previewing ? null : pv, state.memory);
  }

  // The preview takes seconds on a big library: it runs after the status, one at a time
  // (a read asked for meanwhile runs once it is back), and never holds up another call.
  function loadUpgradePreview() {
    var st = state.status || {};
    if (!(st.success && st.can_migrate)) {
      state.upgradePreview = null;
      renderUpgradeCard();
      return;
    }
    if (state.previewing) { state.previewAgain = true; return; }
    state.previewing = true;
    renderUpgradeCard();
    call('preview_upgrade').then(function (pv) {
      state.previewing = false;
      state.upgradePreview = pv;
      if (state.previewAgain) {
        state.previewAgain = false;
        loadUpgradePreview();
        return;
      }
      renderUpgradeCard();
    });
  }

  // ---- reading the library ------------------------------------------------------------
  // `afterOwn`: this window just changed the library (its result explains the change).
  function refresh(reportFailure, afterOwn) {
    return call('get_status').then(function (st) {
      renderStatus(st, afterOwn);
      if (!st.success) {
        page.cleanup.render(null, null, state.memory);
        page.backups.render(null);
        renderUpgradeCard();
        if (state.missing) {
          showMissing();
        } else if (reportFailure) {
          var err = w.firstError(st);
          showResult('failed', 'This library cannot be upgraded here', err.message, [], w.nextStep(err));
        }
        return null;
      }
      return Promise.all([call('preview_cleanup'), call('list_snapshots')]).then(function (both) {
        state.preview = both[0];
        page.cleanup.render(both[0], state.stage, state.memory);
        page.backups.render(both[1]);
        renderUpgradeCard();
        // The card keeps what this window did, unless the library has since moved on.
        if (!afterOwn && (!state.shown || state.shown.idle || state.shown.stage !== state.stage)) { showIdle(); }
        loadUpgradePreview();
      });
    }).then(function () {
      updateButtons();
      state.reads += 1;
      document.documentElement.dataset.reads = String(state.reads);
    });
  }

  function describe(apiName, result, chosen) {
    if (apiName === 'migrate') { return w.describeMigrate(result); }
    if (apiName === 'run_cleanup') { return w.describeCleanup(result, state.stage); }
    return w.describeRollback(result, chosen);
  }

  function settleWouldLose(result, chosen) {
    page.progress.hide();
    updateButtons();
    if (chosen) {  // asked from Backups: the question stays there
      showResult('idle', 'Nothing was restored yet',
        'The library has changed since that copy was made. Choose under Backups whether to discard those changes.',
        [], '');
      page.backups.ask('restore', chosen, true, result.would_lose || {});
    } else {
      showResult('idle', 'Nothing was restored yet',
        'The library has changed since the upgrade. Choose below whether to discard those changes.', [], '');
      page.dialogs.askForce(result.would_lose || {});
    }
  }

  function run(apiName, args, runningTitle) {
    if (state.busy || state.closing) { return Promise.resolve(); }
    state.busy = true;
    state.cancelling = false;
    state.operation = OPERATION_FOR[apiName];
    page.progress.show(0, w.PHASE_WORDS.preflight);
    ['rollback-confirm', 'fix-confirm', 'backup-confirm'].forEach(function (id) { el(id).hidden = true; });
    page.backups.message('idle', '');
    showResult('running', runningTitle, 'The library stays as it was until this has finished and verified.', [], '');
    updateButtons();
    el('upgrade-section').scrollIntoView({ block: 'start' });  // the progress and the result, in view
    return call(apiName, args).then(function (result) {
      if (result.success && apiName === 'migrate') { state.restoredHere = false; }
      if (result.success && apiName === 'rollback') {
        state.restoredHere = w.isVersion(result.version_before) && result.version < result.version_before;
      }
      return refresh(false, true).then(function () { return result; });
    }).then(function (result) {
      state.busy = false;
      var chosen = state.restoring;
      state.restoring = null;
      if (apiName === 'rollback' && !result.success && w.firstError(result).code === 'WOULD_LOSE_DATA') {
        settleWouldLose(result, chosen);
        return;
      }
      page.backups.hide();
      page.progress.end(apiName, result);
      showResult.apply(null, describe(apiName, result, chosen));
      updateButtons();
      el('result').focus();
    });
  }

  function updateButtons() {
    var st = state.status || {};
    var free = idle();
    el('create-sample').disabled = !(free && state.missing && state.sampleOffer === true && state.desktopReady &&
      !state.creating);
    el('fix').disabled = !(free && st.success && problems() > 0);
    el('upgrade').disabled = !(free && st.success && st.can_migrate);
    el('rollback').disabled = !(free && st.success && st.can_rollback);
    el('show-in-folder').disabled = !(state.desktopReady && !state.missing && !state.closing);
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

  // Another copy of the app, or the command line, may have changed the library meanwhile:
  // what the page says is re-read whenever the window comes back to the front.
  function refreshWhenBack() {
    if (state.started && idle() && !document.hidden) { refresh(false); }
  }

  function start() {
    if (state.started) { return; }
    state.started = true;
    refresh(true).then(function () { document.documentElement.dataset.ready = 'true'; });
  }

  function cancelClicked() {
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
  }

  function onDesktopReady(event) {
    var d = (event && event.detail) || {};
    state.desktopReady = true;
    state.libraryPath = typeof d.library_path === 'string' ? d.library_path : null;
    state.sampleOffer = d.sample_offer === true;
    page.support.showLocation(state.libraryPath);
    if (state.missing) { showMissing(); }
    document.documentElement.dataset.desktopReady = 'true';
    updateButtons();
  }

  function onLibraryChanged(e) {
    var d = e.detail || {};
    state.creating = false;
    if (d.success === false) {
      setText('first-run-message', w.firstError(d).message);
      updateButtons();
      return;
    }
    setText('first-run-message', '');
    state.memory.forget();  // a new library: nothing to compare with
    refresh(true).then(function () {
      if (d.created) {
        showResult('done', 'Sample library created',
          'A sample library with made-up recordings is ready. Like real libraries, it has a few problems.',
          [], 'Look at the clean-up below, fix what it found, then upgrade.');
      }
    });
  }

  // ---- wiring -----------------------------------------------------------------------
  function wire() {
    el('upgrade').addEventListener('click', function () { run('migrate', [], 'Upgrading the library…'); });
    el('fix').addEventListener('click', function () { if (idle()) { page.cleanup.ask(state.preview, state.stage); } });
    el('fix-confirm-yes').addEventListener('click', function () { run('run_cleanup', [], 'Fixing the problems found…'); });
    el('fix-confirm-no').addEventListener('click', function () {
      el('fix-confirm').hidden = true;
      el('fix').focus();
    });
    el('backup-confirm-yes').addEventListener('click', function () { page.backups.confirm(false); });
    el('backup-force').addEventListener('click', function () { page.backups.confirm(true); });
    el('backup-confirm-no').addEventListener('click', page.backups.keep);
    el('rollback').addEventListener('click', page.dialogs.askRollback);
    el('rollback-confirm-yes').addEventListener('click', function () { run('rollback', [], 'Restoring the library…'); });
    el('rollback-force').addEventListener('click', function () { run('rollback', [true], 'Restoring the library…'); });
    el('rollback-confirm-no').addEventListener('click', page.dialogs.hideRollbackConfirm);
    el('cancel').addEventListener('click', cancelClicked);
    el('create-sample').addEventListener('click', function () {
      state.creating = true;
      setText('first-run-message', 'Creating the sample library…');
      updateButtons();
    });
    el('close-confirm-yes').addEventListener('click', page.dialogs.closing);
    el('close-confirm-no').addEventListener('click', page.dialogs.hideCloseConfirm);
    page.support.wire();
    document.addEventListener('keydown', function (e) {
      if (e.key !== 'Escape') { return; }
      if (!el('close-confirm').hidden) { page.dialogs.hideCloseConfirm(); return; }
      if (!el('rollback-confirm').hidden) { page.dialogs.hideRollbackConfirm(); }
      if (!el('fix-confirm').hidden) { el('fix-confirm-no').click(); }
      if (!el('backup-confirm').hidden) { el('backup-confirm-no').click(); }
    });
    window.addEventListener('focus', refreshWhenBack);
    document.addEventListener('visibilitychange', refreshWhenBack);
    window.addEventListener('migration:progress', page.progress.onProgress);
    window.addEventListener('desktop:ready', onDesktopReady);
    window.addEventListener('library:changed', onLibraryChanged);
    window.addEventListener('window:close-requested', page.dialogs.showCloseConfirm);
    window.addEventListener('window:closing', page.dialogs.closing);
    // pywebview injects its bridge once the page has loaded, always after these deferred
    // scripts have run, and then fires pywebviewready.
    window.addEventListener('pywebviewready', start);
  }

  page.core = { state: state, call: call, refresh: refresh, run: run, idle: idle, updateButtons: updateButtons };
  wire();
}(window.UpgradePage = window.UpgradePage || {}));
