/*
 * The clean-up card: what the clean-up check found, with samples a user recognises (file
 * names, titles and dates, never internal ids), and the "Fix these" confirmation, which
 * lists everything the fix will do, counted by `preview_cleanup`'s `fix` before it runs.
 *
 * Before the upgrade the problems are "worth fixing before the upgrade"; after it, the
 * card says that a restore of the library from before the upgrade would discard the fix.
 */
(function (page) {
  'use strict';
  var f = page.format;
  var w = page.words;

  var el = page.dom.el, clear = page.dom.clear, addItem = page.dom.addItem;
  function capitalised(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

  function recordingWords(s) {
    var date = f.libraryDate(s.date);
    return (s.filename || 'a recording without a name') + (date ? ', recorded ' + date : '');
  }

  function transcriptWords(s) {
    var date = f.libraryDate(s.date);
    var what = s.title ? 'the transcript “' + s.title + '”' : 'a transcript without a title';
    return what + (date ? ' of ' + date : '');
  }

  // [result field, one, many, how a sample reads]
  var FINDINGS = [
    ['duplicate_recordings', 'duplicate recording', 'duplicate recordings',
      function (s) { return (s.filename || 'a recording without a name') + ' (' + f.plural(s.count, 'copy', 'copies') + ')'; }],
    ['orphaned_transcripts', 'transcript whose recording is gone', 'transcripts whose recording is gone',
      transcriptWords],
    ['invalid_meeting_refs', 'link to a meeting that no longer exists', 'links to meetings that no longer exist',
      recordingWords]
  ];

  function problemCount(pv) {
    if (!pv || !pv.success) { return 0; }
    return FINDINGS.reduce(function (n, finding) { return n + ((pv[finding[0]] || {}).count || 0); }, 0);
  }

  function samplesLine(finding, words) {
    var samples = (finding.sample || []).map(words).filter(function (text, i, all) {
      return all.indexOf(text) === i;  // several duplicates of one name read as one sample
    }).slice(0, 3);
    if (!samples.length) { return null; }
    var span = document.createElement('span');
    span.className = 'samples';
    span.textContent = ' — e.g. ' + samples.join('; ') + (finding.count > samples.length ? '; …' : '');
    return span;
  }

  function afterUpgradeWords() {
    return 'The library is already upgraded. Fixing these changes the upgraded library: “Restore previous ' +
      'library” would then put back the library from before the upgrade without this fix, so the fix would be ' +
      'discarded (you would be asked first).';
  }

  // `pv`: preview_cleanup()'s result, or null when the library cannot be read.
  function render(pv, stage, memory) {
    var list = el('cleanup-findings');
    clear(list);
    el('cleanup-explain').hidden = true;
    el('cleanup-after-upgrade').hidden = true;
    var before = stage === null || w.beforeUpgrade(stage);
    el('cleanup-title').textContent = before ? 'Clean-up before the upgrade' : 'Clean-up';
    if (!pv) {
      el('cleanup-summary').textContent = 'The clean-up check runs once the library can be read.';
      return;
    }
    if (!pv.success) {
      el('cleanup-summary').textContent = 'The clean-up check did not work: ' + w.firstError(pv).message;
      return;
    }
    FINDINGS.forEach(function (finding) {
      var found = pv[finding[0]] || { count: 0, sample: [] };
      var was = memory.note('cleanup.' + finding[0], found.count);
      if (!found.count) {
        if (was !== null) { addItem(list, 'No ' + finding[2] + ' any more (was ' + f.number(was) + ')'); }
        return;
      }
      var li = addItem(list, f.plural(found.count, finding[1], finding[2]) +
        (was === null ? '' : ' (was ' + f.number(was) + ')'));
      var samples = samplesLine(found, finding[3]);
      if (samples) { li.appendChild(samples); }
    });
    var total = problemCount(pv);
    el('cleanup-summary').textContent = !total ? 'No problems found: there is nothing to clean up.'
      : 'Found ' + f.plural(total, 'problem') + (before ? ' worth fixing before the upgrade:' : ' in the library:');
    el('cleanup-explain').hidden = !total;
    el('cleanup-after-upgrade').textContent = afterUpgradeWords();
    el('cleanup-after-upgrade').hidden = !total || before;
  }

  // Everything the fix will do, step by step, from the preview's `fix` counts.
  function fixSteps(pv) {
    var fix = pv.fix;
    if (!fix) {  // no plan: what the findings say
      return FINDINGS.filter(function (finding) { return (pv[finding[0]] || {}).count; }).map(function (finding) {
        return 'fix ' + f.plural(pv[finding[0]].count, finding[1], finding[2]);
      });
    }
    var steps = [];
    if (fix.duplicate_recordings_removed) {
      var dup = 'remove ' + f.plural(fix.duplicate_recordings_removed, 'duplicate recording') +
        ' (of each file name, the oldest recording is kept)';
      var moves = [];
      if (fix.transcripts_moved) {
        moves.push(f.plural(fix.transcripts_moved, 'transcript') + ' of theirs ' +
          (fix.transcripts_moved === 1 ? 'moves' : 'move') + ' to the recording kept, which had none');
      }
      if (fix.duplicate_transcripts_removed) {
        moves.push(f.plural(fix.duplicate_transcripts_removed, 'transcript') + ' of theirs ' +
          (fix.duplicate_transcripts_removed === 1 ? 'is' : 'are') + ' removed with them');
      }
      steps.push(dup + (moves.length ? ': ' + w.listWords(moves) : ''));
    }
    if (fix.orphaned_transcripts_removed) {
      steps.push('remove ' + f.plural(fix.orphaned_transcripts_removed, 'transcript') + ' whose recording is gone');
    }
    if (fix.embeddings_removed) {
      steps.push('delete ' + f.plural(fix.embeddings_removed, 'search embedding') +
        ' of transcripts that are removed or already gone');
    }
    var onDuplicates = fix.meeting_refs_on_duplicates;
    if (fix.invalid_meeting_refs_fixed) {
      steps.push('clear ' + f.plural(fix.invalid_meeting_refs_fixed, 'link') + ' to meetings that no longer exist' +
        (onDuplicates ? ' (' + f.number(onDuplicates) + ' more go with the duplicate recordings removed)' : ''));
    } else if (onDuplicates) {
      steps.push(f.plural(onDuplicates, 'link') + ' to meetings that no longer exist ' +
        (onDuplicates === 1 ? 'goes' : 'go') + ' with the duplicate recordings removed');
    }
    return steps;
  }

  function ask(pv, stage) {
    var list = el('fix-confirm-list');
    clear(list);
    fixSteps(pv || {}).forEach(function (step) { addItem(list, capitalised(step) + '.'); });
    var upgraded = stage !== null && !w.beforeUpgrade(stage);
    el('fix-confirm-restore').textContent = upgraded ? 'The library is already upgraded: “Restore previous library” ' +
      'would put back the library from before the upgrade, without this fix, so it would discard the fix (you would ' +
      'be asked first).' : '';
    el('fix-confirm-restore').hidden = !upgraded;
    el('fix-confirm').hidden = false;
    el('fix-confirm').scrollIntoView({ block: 'nearest' });
    el('fix-confirm-no').focus();
  }

  page.cleanup = { render: render, ask: ask, problemCount: problemCount, fixSteps: fixSteps };
}(window.UpgradePage = window.UpgradePage || {}));
