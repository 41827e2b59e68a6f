/*
 * The progress bar of the operation that runs: its phase in words, how far, the time left.
 *
 * Full and "Upgrade finished" only after an upgrade; after a clean-up or a restore (which
 * are not the upgrade) it goes away; after a failure or a cancel it is emptied (its width
 * reset) and says that nothing was changed.
 */
(function (page) {
  'use strict';
  var f = page.format;
  var w = page.words;

  var el = page.dom.el, setText = page.dom.setText;

  function showProgress(value, words) {
    el('progress-region').hidden = false;
    el('progress').value = value;
    setText('phase', words);
    setText('eta', '');
  }

  function hideProgress() {
    el('progress-region').hidden = true;
    el('progress').value = 0;
    setText('phase', 'Not started');
    setText('eta', '');
  }

  // The bar after an operation: full only after an upgrade; empty (its width reset) after a
  // failure or a cancel; gone after a clean-up or a restore, which are not the upgrade.
  function endProgress(apiName, result) {
    if (result.success) {
      if (apiName === 'migrate') { showProgress(100, w.PHASE_WORDS.complete); } else { hideProgress(); }
      return;
    }
    var cancelled = w.firstError(result).code === 'CANCELLED';
    showProgress(0, cancelled ? w.PHASE_WORDS.cancelled : w.PHASE_WORDS.failed);
  }

  function etaWords(seconds, phase) {
    if (phase === 'complete' || typeof seconds !== 'number') { return ''; }
    if (seconds < 10) { return '· a few seconds left'; }
    if (seconds < 60) { return '· less than a minute left'; }
    return '· about ' + Math.round(seconds / 60) + ' min left';
  }

  function onProgress(event) {
    var d = event.detail || {};
    if (!page.core.state.busy || d.operation !== page.core.state.operation) { return; }
    var percent = Math.max(0, Math.min(100, Number(d.percent) || 0));
    var bar = el('progress');
    if (percent >= bar.value) { bar.value = percent; }
    var words = w.PHASE_WORDS[d.phase] || 'Working';
    if (d.phase === 'complete' && page.core.state.operation !== 'migrate') { words = 'Saving'; }  // not "Upgrade finished"
    if (d.phase === 'migrating' && typeof d.total === 'number' && d.total > 0 && typeof d.processed === 'number') {
      words += ' (' + f.number(d.processed) + ' of ' + f.number(d.total) + ')';
    }
    setText('phase', page.core.state.cancelling && d.phase !== 'cancelled' ? 'Cancelling…' : words);
    setText('eta', page.core.state.cancelling ? '' : etaWords(d.eta_seconds, d.phase));
  }

  page.progress = { show: showProgress, hide: hideProgress, end: endProgress, onProgress: onProgress };
}(window.UpgradePage = window.UpgradePage || {}));
