/*
 * Support without a terminal: where the library is (its full path, and "Show in folder"),
 * "Copy report" (the scrubbed support report: no paths, names or recording contents) and
 * "Open log folder". The folders are the app's choice: the API functions that open them
 * take no arguments.
 *
 * The clipboard: the browser's copy command on the selected report (a click allows it),
 * else navigator.clipboard where the web view allows that; the report is also shown,
 * selected, in a read-only box, so that it can always be copied by hand.
 */
(function (page) {
  'use strict';
  var w = page.words;

  var el = page.dom.el;

  function say(id, stateName, text) {
    var node = el(id);
    node.dataset.state = stateName;
    node.textContent = text;
  }

  // The library's full path, as Python gave it with desktop:ready (never in a result).
  function showLocation(path) {
    el('library-location').hidden = !path;
    el('library-path').textContent = path || '';
  }

  function openFolder(apiName, messageId, what) {
    say(messageId, 'running', 'Opening ' + what + '…');
    return page.core.call(apiName).then(function (r) {
      if (r.success) {
        say(messageId, 'done', 'Opened ' + what + ' in the file manager.');
        return;
      }
      var err = w.firstError(r);
      say(messageId, 'failed', err.message + ' ' + w.nextStep(err));
    });
  }

  function copyWithCommand() {
    var box = el('report-text');
    box.focus();
    box.select();
    try {
      return document.execCommand('copy') === true;
    } catch (e) {
      return false;
    }
  }

  // The copy command first: it needs no permission (a click is enough), and on Qt the
  // clipboard API would only be denied (the window grants no permission).
  function copyText(text) {
    if (copyWithCommand()) { return Promise.resolve(true); }
    var clip = navigator.clipboard;
    if (!clip || typeof clip.writeText !== 'function') { return Promise.resolve(false); }
    return clip.writeText(text).then(function () { return true; }, function () { return false; });
  }

  function copyReport() {
    say('support-message', 'running', 'Making the support report…');
    return page.core.call('support_report').then(function (r) {
      if (typeof r.text !== 'string' || !r.text) {
        var err = w.firstError(r);
        say('support-message', 'failed', 'The report could not be made: ' + err.message);
        return;
      }
      el('report-text').value = r.text;
      el('report-box').hidden = false;
      return copyText(r.text).then(function (copied) {
        el('report-text').select();
        say('support-message', copied ? 'done' : 'failed', copied
          ? 'The support report is on the clipboard (and shown below): paste it into your message to support.'
          : 'The report could not be put on the clipboard: it is shown below, selected; copy it with Ctrl+C ' +
            '(⌘C on a Mac) and paste it into your message to support.');
      });
    });
  }

  function wire() {
    el('show-in-folder').addEventListener('click', function () {
      openFolder('show_in_folder', 'location-message', 'the library’s folder');
    });
    el('open-log-folder').addEventListener('click', function () {
      openFolder('open_log_folder', 'support-message', 'the log folder');
    });
    el('copy-report').addEventListener('click', copyReport);
  }

  page.support = { showLocation: showLocation, wire: wire, copyReport: copyReport };
}(window.UpgradePage = window.UpgradePage || {}));
