/*
 * Backups: the saved copies of the library, newest first, each with Restore and Delete
 * (each asking first, and a second time when the engine says what would be lost).
 *
 * Uses the page's core (page.core, set by app.js): its state, API calls, refresh and run.
 */
(function (page) {
  'use strict';
  var f = page.format;
  var w = page.words;

  // What each kind of saved copy is, in the list's words.
  var KIND_WORDS = {
    'pre-upgrade': 'Before the upgrade',
    'pre-rollback': 'Before a restore',
    'pre-cleanup': 'Before a clean-up'
  };

  var TABLE_WORDS = {
    knowledge_captures: 'knowledge captures',
    action_items: 'action items',
    audio_sources: 'audio sources',
    'upgrade record': 'the record of what the upgrade made'
  };

  var el = page.dom.el, setText = page.dom.setText, clear = page.dom.clear, addItem = page.dom.addItem;

  // What a restore would lose, one line per table.
  function loseLines(list, wouldLose) {
    clear(list);
    Object.keys(wouldLose || {}).sort().forEach(function (table) {
      var words = TABLE_WORDS[table] || table.replace(/_/g, ' ');
      addItem(list, words + ': ' + f.plural(wouldLose[table], 'row') + ' added, changed or removed');
    });
  }

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

  function backupName(s) { return (KIND_WORDS[s.kind] || 'Saved copy') + ', ' + f.localTime(s.created_at); }

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
    button.addEventListener('click', function () { ask(action, s, false); });
    return button;
  }

  function backupHead(s) {
    var head = document.createElement('p');
    head.className = 'backup-head';
    var name = document.createElement('strong');
    name.textContent = KIND_WORDS[s.kind] || 'Saved copy';
    head.appendChild(name);
    head.appendChild(document.createTextNode(' · '));
    var time = document.createElement('time');
    if (typeof s.created_at === 'string') { time.dateTime = s.created_at; }
    time.textContent = f.localTime(s.created_at);
    head.appendChild(time);
    if (s.way_back) {
      var tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = 'The way back';
      head.appendChild(tag);
    }
    return head;
  }

  function backupItem(s) {
    var li = document.createElement('li');
    li.className = 'backup';
    li.dataset.snapshot = String(s.id);
    li.dataset.kind = String(s.kind);
    li.dataset.valid = s.valid ? 'true' : 'false';
    li.dataset.wayBack = s.way_back ? 'true' : 'false';
    li.appendChild(backupHead(s));
    if (s.purpose) { addLine(li, 'hint backup-purpose', s.purpose); }
    addLine(li, 'backup-facts', (w.isVersion(s.version) ? 'Version ' + s.version + ' · ' : '') + f.formatBytes(s.size_bytes));
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

  function summary(list, snaps) {
    var total = typeof list.total_bytes === 'number' ? list.total_bytes
      : snaps.reduce(function (n, s) { return n + (s.size_bytes || 0); }, 0);
    var line = f.plural(snaps.length, 'saved copy', 'saved copies') + (snaps.length === 1 ? ' takes ' : ' take ') +
      f.formatBytes(total) + ' of disk space';
    if (typeof list.library_bytes === 'number' && list.library_bytes > 0) {
      var times = total / list.library_bytes;
      line += times >= 1.05
        ? ', about ' + times.toLocaleString(undefined, { maximumFractionDigits: 1 }) +
          ' times as much as the library itself (' + f.formatBytes(list.library_bytes) + ')'
        : '; the library itself takes ' + f.formatBytes(list.library_bytes);
    }
    return line + '.';
  }

  // `list`: list_snapshots()'s result, or null when the library cannot be read.
  function render(list) {
    page.core.state.backups = list;
    var ul = el('backups-list');
    clear(ul);
    if (!list) {
      setText('backups-summary', 'The saved copies are listed here once the library can be read.');
      return;
    }
    if (!list.success) {
      setText('backups-summary', 'The saved copies could not be listed: ' + w.firstError(list).message);
      return;
    }
    var snaps = (list.snapshots || []).slice().sort(byNewest);
    snaps.forEach(function (s) { ul.appendChild(backupItem(s)); });
    setText('backups-summary', snaps.length ? summary(list, snaps)
      : 'No saved copies yet. One is saved before every upgrade, clean-up and restore.');
  }

  function message(stateName, text) {
    var node = el('backups-message');
    node.dataset.state = stateName;
    node.textContent = text || '';
  }

  function askTexts(action, s, again, detail) {
    var when = f.localTime(s.created_at);
    if (action === 'restore' && !again) {
      return ['Restore the library as it was on ' + when + '?', 'This puts the library back ' +
        (w.isVersion(s.version) ? 'to version ' + s.version + ', ' : '') + 'exactly as it was on ' + when +
        (s.purpose ? ' (' + s.purpose.replace(/\.$/, '') + ')' : '') + '. The library as it is now is saved ' +
        'first, as a copy listed here. If anything changed since this copy was made, you will be asked again ' +
        'before it is discarded.', 'Restore this copy', 'Keep the library as it is'];
    }
    if (action === 'restore') {
      return ['Discard the changes made since this copy?', 'The library has changed since the copy of ' + when +
        ' was made. Restoring it would lose:', 'Restore and discard these changes', 'Keep the library as it is'];
    }
    if (!again) {
      return ['Delete the copy from ' + when + '?', (s.way_back
        ? 'This copy is the way back: once it is deleted, the upgrade can no longer be undone ' +
          '(“Restore previous library” stops working). '
        : 'The library as it was on ' + when + ' can then no longer be restored. ') +
        'Deleting it frees ' + f.formatBytes(s.size_bytes) + '. The library itself is not changed.',
        'Delete this copy', 'Keep it'];
    }
    return ['Delete the way back anyway?', (detail || 'Without this copy the upgrade can no longer be undone.') +
      ' Click “Delete it anyway” only if you will never want to undo the upgrade.', 'Delete it anyway', 'Keep it'];
  }

  // The Backups confirmation. `again`: the engine asked for a second, explicit choice
  // (WOULD_LOSE_DATA for a restore, SNAPSHOT_NEEDED for a delete); `detail` says why.
  function ask(action, s, again, detail) {
    var core = page.core;
    if (!core.idle()) { return; }
    core.state.pendingBackup = { action: action, snapshot: s };
    var texts = askTexts(action, s, again, detail);
    setText('backup-confirm-title', texts[0]);
    setText('backup-confirm-text', texts[1]);
    loseLines(el('backup-lose'), action === 'restore' && again ? detail : {});
    (again ? el('backup-force') : el('backup-confirm-yes')).textContent = texts[2];
    el('backup-confirm-no').textContent = texts[3];
    el('backup-confirm-yes').hidden = again;
    el('backup-force').hidden = !again;
    var box = el('backup-confirm');
    box.dataset.action = action;
    box.dataset.stage = again ? 'again' : 'first';
    box.dataset.snapshot = String(s.id);
    box.hidden = false;
    message('idle', '');
    box.scrollIntoView({ block: 'nearest' });
    el('backup-confirm-no').focus();
  }

  function hide() {
    page.core.state.pendingBackup = null;
    el('backup-confirm').hidden = true;
  }

  function confirm(force) {
    var core = page.core;
    var pending = core.state.pendingBackup;
    if (!pending || !core.idle()) { return; }
    if (pending.action === 'restore') {
      core.state.restoring = pending.snapshot;
      core.run('rollback', [force, pending.snapshot.id], 'Restoring the library…');
    } else {
      remove(pending.snapshot, force);
    }
  }

  function remove(s, force) {
    var core = page.core;
    core.state.deleting = true;
    el('backup-confirm').hidden = true;
    message('running', 'Deleting the copy…');
    core.updateButtons();
    core.call('delete_snapshot', [s.id, force]).then(function (r) {
      return core.refresh(false).then(function () { return r; });
    }).then(function (r) {
      core.state.deleting = false;
      var err = w.firstError(r);
      core.updateButtons();
      if (!r.success && err.code === 'SNAPSHOT_NEEDED' && !force) {
        ask('delete', s, true, err.message);
        return;
      }
      hide();
      if (r.success) {
        message('done', 'Deleted the copy from ' + f.localTime(s.created_at) + '; ' +
          f.formatBytes(r.freed_bytes || 0) + ' freed.' + (s.way_back ? ' The upgrade can no longer be undone.' : ''));
      } else {
        message('failed', 'The copy was not deleted: ' + err.message + ' ' + w.nextStep(err));
      }
      el('backups-message').focus();
    });
  }

  // "Keep it": the focus goes back to the copy's own first button.
  function keep() {
    var snapshot = el('backup-confirm').dataset.snapshot;
    hide();
    var item = Array.prototype.filter.call(document.querySelectorAll('#backups-list li'), function (li) {
      return li.dataset.snapshot === snapshot;
    })[0];
    var back = item && item.querySelector('button');
    if (back) { back.focus(); }
  }

  page.backups = {
    render: render, ask: ask, hide: hide, confirm: confirm, keep: keep, message: message, byNewest: byNewest,
    loseLines: loseLines
  };
}(window.UpgradePage = window.UpgradePage || {}));
