/*
 * The few DOM helpers every part of the page uses: by id, text only (never HTML: what the
 * library holds is shown as text, whatever it contains), and lists built item by item.
 */
(function (page) {
  'use strict';

  function el(id) { return document.getElementById(id); }
  function setText(id, text) { el(id).textContent = text; }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function addItem(list, text) {
    var li = document.createElement('li');
    li.textContent = text;
    list.appendChild(li);
    return li;
  }

  page.dom = { el: el, setText: setText, clear: clear, addItem: addItem };
}(window.UpgradePage = window.UpgradePage || {}));
