/*
 * Numbers, sizes, times and dates for people, in the user's own locale and time zone,
 * and the memory of counts between two reads of the library ("2,181, was 2,545").
 *
 * The first of the page's scripts: it creates window.UpgradePage, the one global the
 * page's files share (format, words, cleanup, backups, support, then app.js).
 */
(function (page) {
  'use strict';

  // A count in the user's locale ("42,047"); anything else as it is.
  function number(n) { return typeof n === 'number' ? n.toLocaleString() : String(n); }

  // Counts in the user's locale, words in English.
  function plural(n, one, many) { return number(n) + ' ' + (n === 1 ? one : (many || one + 's')); }

  // A size for people: "396 MB", "1.2 GB", "850 bytes".
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

  // An engine time (ISO 8601 with its offset, in UTC) as the user's own local date and time:
  // a raw UTC string is never shown.
  function localTime(iso) {
    var when = typeof iso === 'string' ? new Date(iso) : null;
    if (!when || isNaN(when.getTime())) { return 'an unknown date'; }
    return when.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  // A date the library itself holds ("2024-02-01 10:03:00", written by the recorder in its
  // own local time, without a zone) as a local date, "1 Feb 2024"; null if it is no date.
  function libraryDate(text) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(typeof text === 'string' ? text : '');
    if (!m) { return null; }
    var day = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return isNaN(day.getTime()) ? null : day.toLocaleDateString(undefined, { dateStyle: 'medium' });
  }

  // Remembers each count it was shown, so that a count that changed between two reads of
  // the library is said to have changed instead of silently replaced.
  function CountMemory() { this.last = {}; }
  // The value this key had at the previous read if it was a different number, else null.
  CountMemory.prototype.note = function (key, value) {
    var before = Object.prototype.hasOwnProperty.call(this.last, key) ? this.last[key] : null;
    this.last[key] = value;
    return typeof before === 'number' && typeof value === 'number' && before !== value ? before : null;
  };
  CountMemory.prototype.forget = function () { this.last = {}; };

  // "2,181 (was 2,545)" when it changed, "2,181" when not.
  function numberWithChange(value, before) {
    return number(value) + (before === null || before === undefined ? '' : ' (was ' + number(before) + ')');
  }

  page.format = {
    number: number, plural: plural, formatBytes: formatBytes, localTime: localTime, libraryDate: libraryDate,
    CountMemory: CountMemory, numberWithChange: numberWithChange
  };
}(window.UpgradePage = window.UpgradePage || {}));
