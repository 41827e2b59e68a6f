/*
 * The two questions the page asks before an irreversible step that is not a clean-up or a
 * backup: "Restore previous library" (and, when the engine says the library changed since
 * the upgrade, whether to discard those changes), and closing the window mid-operation.
 */
(function (page) {
  'use strict';
  var f = page.format;
  var w = page.words;

  var el = page.dom.el, setText = page.dom.setText;

  function askRollback() {
    var st = page.core.state.status || {};
    var snaps = st.snapshots || [];
    var snap = snaps.filter(function (s) { return s.way_back; })[0] ||
      snaps.filter(function (s) { return s.kind === 'pre-upgrade'; }).sort(page.backups.byNewest)[0];
    var migrated = (st.recordings || {}).migrated || 0;
    setText('rollback-confirm-title', 'Restore the library from before the upgrade?');
    setText('rollback-confirm-text',
      'This puts the library back ' + (snap && w.isVersion(snap.version) ? 'to version ' + snap.version + ' ' : '') +
      'as it was when the upgrade started' +
      (snap ? ' (' + f.localTime(snap.created_at) + ')' : '') + '. What the upgrade made is removed: ' +
      f.plural(migrated, 'knowledge capture') + ' with their action items. Recordings, transcripts and meetings ' +
      'are kept as they were before the upgrade. If anything changed since the upgrade (a clean-up included), you ' +
      'will be asked again before it is discarded.');
    page.backups.loseLines(el('rollback-lose'), {});
    el('rollback-confirm-yes').hidden = false;
    el('rollback-force').hidden = true;
    el('rollback-confirm').hidden = false;
    el('rollback-confirm-no').focus();
  }

  function askForce(wouldLose) {
    setText('rollback-confirm-title', 'Discard the changes made since the upgrade?');
    setText('rollback-confirm-text', 'The library has changed since the upgrade. Restoring it would lose:');
    page.backups.loseLines(el('rollback-lose'), wouldLose);
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
    if (page.core.state.closing) { return; }
    el('close-confirm').hidden = false;
    el('app').inert = true;
    el('close-confirm-no').focus();
  }

  function hideCloseConfirm() {
    if (page.core.state.closing) { return; }
    el('close-confirm').hidden = true;
    el('app').inert = false;
    el('cancel').focus();
  }

  function closing() {
    page.core.state.closing = true;
    el('close-confirm').hidden = false;
    el('app').inert = true;
    setText('close-confirm-message', 'Cancelling… The window closes as soon as the library is back as it was.');
    // Disabled on the next turn, so every listener of this click (Python's too) hears it.
    setTimeout(function () {
      el('close-confirm-yes').disabled = true;
      el('close-confirm-no').disabled = true;
    }, 0);
    page.core.updateButtons();
  }

  page.dialogs = {
    askRollback: askRollback, askForce: askForce, hideRollbackConfirm: hideRollbackConfirm,
    showCloseConfirm: showCloseConfirm, hideCloseConfirm: hideCloseConfirm, closing: closing
  };
}(window.UpgradePage = window.UpgradePage || {}));
