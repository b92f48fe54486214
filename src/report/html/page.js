// The report's lists (failures by note, the archive's gallery) from the JSON
// blob, a page at a time: a list of 100,000 entries would take the browser
// far longer to lay out than to parse. Strings from notes and servers go into
// the page as text (textContent, attributes), never as markup.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var FAILURES_PER_PAGE = 100;
  var ITEMS_PER_PAGE = 60;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        if (attrs[name] !== null && attrs[name] !== undefined) node.setAttribute(name, attrs[name]);
      });
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function size(bytes) {
    if (bytes < 1000) return bytes + ' B';
    if (bytes < 1e6) return (bytes / 1e3).toFixed(1) + ' KB';
    if (bytes < 1e9) return (bytes / 1e6).toFixed(1) + ' MB';
    return (bytes / 1e9).toFixed(2) + ' GB';
  }

  // Only web URLs become links: a note may cite `javascript:` or worse.
  function webLink(url) {
    return /^https?:\/\//i.test(url)
      ? el('a', { href: url, rel: 'noopener noreferrer' }, url)
      : el('span', null, url);
  }

  // A list shown page by page, with Previous / Next buttons and a status line.
  function Pager(pager, status, perPage, draw, noun) {
    this.pager = pager; this.status = status; this.perPage = perPage;
    this.draw = draw; this.noun = noun; this.items = []; this.page = 0;
    var self = this;
    this.prev = el('button', { type: 'button' }, 'Previous');
    this.next = el('button', { type: 'button' }, 'Next');
    this.where = el('span', { 'aria-live': 'polite' });
    this.prev.addEventListener('click', function () { self.show(self.page - 1); });
    this.next.addEventListener('click', function () { self.show(self.page + 1); });
    pager.appendChild(this.prev); pager.appendChild(this.where); pager.appendChild(this.next);
  }
  Pager.prototype.set = function (items) { this.items = items; this.show(0); };
  Pager.prototype.show = function (page) {
    var pages = Math.max(1, Math.ceil(this.items.length / this.perPage));
    this.page = Math.min(Math.max(page, 0), pages - 1);
    var start = this.page * this.perPage;
    this.draw(this.items.slice(start, start + this.perPage));
    this.where.textContent = 'page ' + (this.page + 1) + ' of ' + pages;
    this.prev.disabled = this.page === 0;
    this.next.disabled = this.page >= pages - 1;
    this.pager.hidden = pages < 2;
    this.status.textContent = this.items.length + ' ' + this.noun;
  };

  // Failures (and recoveries): one row per citation, with its note.
  var rows = [];
  data.failures.forEach(function (group) {
    group.items.forEach(function (f) {
      rows.push({
        group: group, f: f,
        text: [group.note, f.url, f.reason || '', f.verdict, f.history_words].join('\n').toLowerCase()
      });
    });
  });

  var failureList = document.getElementById('failure-list');
  function drawFailures(page) {
    failureList.textContent = '';
    var tbody = null;
    var group = null;
    page.forEach(function (row) {
      if (row.group !== group) {
        group = row.group;
        var section = el('section', { 'class': 'note' });
        var heading = el('h3');
        heading.appendChild(group.href ? el('a', { href: group.href }, group.note) : el('span', null, group.note));
        section.appendChild(heading);
        var table = el('table', { 'class': 'failures' });
        var head = el('tr');
        ['Where', 'URL', 'Verdict', 'Reason', 'History', 'Archived copy'].forEach(function (h) {
          head.appendChild(el('th', { scope: 'col' }, h));
        });
        table.appendChild(el('thead')).appendChild(head);
        tbody = table.appendChild(el('tbody'));
        section.appendChild(el('div', { 'class': 'scroll' })).appendChild(table);
        failureList.appendChild(section);
      }
      var f = row.f;
      var tr = el('tr', { 'class': 'failure' });
      tr.appendChild(el('td', { 'class': 'at' }, f.line ? f.line + ':' + f.column : '–'));
      tr.appendChild(el('td', { 'class': 'url' })).appendChild(webLink(f.url));
      tr.appendChild(el('td')).appendChild(el('span', { 'class': 'badge verdict' + (f.history === 'recovered' ? ' fine' : '') }, f.verdict));
      tr.appendChild(el('td', { 'class': 'reason' }, f.reason || ''));
      tr.appendChild(el('td')).appendChild(el('span', { 'class': 'badge h-' + f.history }, f.history_words || f.history));
      var copy = tr.appendChild(el('td'));
      if (f.copy) copy.appendChild(el('a', { href: f.copy }, 'archived copy'));
      tbody.appendChild(tr);
    });
  }
  var failures = new Pager(document.getElementById('failure-pager'),
    document.getElementById('failure-status'), FAILURES_PER_PAGE, drawFailures, 'links shown');

  var search = document.getElementById('search');
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name=verdict]'));
  function filterFailures() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var verdicts = {};
    boxes.forEach(function (b) { if (b.checked) verdicts[b.value] = true; });
    failures.set(rows.filter(function (row) {
      var key = row.f.history === 'recovered' ? 'recovered' : row.f.verdict;
      return verdicts[key] && words.every(function (w) { return row.text.indexOf(w) >= 0; });
    }));
  }
  search.addEventListener('input', filterFailures);
  boxes.forEach(function (b) { b.addEventListener('change', filterFailures); });
  filterFailures();

  // The gallery: thumbnails load as they scroll into view (loading=lazy).
  var galleryList = document.getElementById('gallery-list');
  var KIND = { image: 'image', snapshot: 'article snapshot', pdf: 'PDF' };
  function drawGallery(page) {
    galleryList.textContent = '';
    page.forEach(function (item) {
      var li = el('li', { 'class': 'item ' + item.kind });
      if (item.missing) {
        // Nothing to link to: say so instead of showing a broken image.
        li.appendChild(el('span', { 'class': 'missing' }, 'missing from the archive'));
      } else {
        var a = li.appendChild(el('a', { href: item.href, title: item.url }));
        if (item.kind === 'image') {
          a.appendChild(el('img', { src: item.href, alt: item.url, loading: 'lazy', decoding: 'async', width: '160', height: '130' }));
        } else {
          a.appendChild(el('span', { 'class': 'title' }, item.title || item.url));
        }
      }
      li.appendChild(el('span', { 'class': 'kind-tag' }, KIND[item.kind] + ', ' + size(item.size)));
      li.appendChild(el('span', { 'class': 'src' })).appendChild(webLink(item.url));
      galleryList.appendChild(li);
    });
  }
  var gallery = new Pager(document.getElementById('gallery-pager'),
    document.getElementById('gallery-status'), ITEMS_PER_PAGE, drawGallery, 'objects shown');
  var kindButtons = Array.prototype.slice.call(document.querySelectorAll('button.kind'));
  function showKind(kind) {
    kindButtons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.dataset.kind === kind)); });
    gallery.set(kind ? data.gallery.filter(function (i) { return i.kind === kind; }) : data.gallery);
  }
  kindButtons.forEach(function (b) {
    b.addEventListener('click', function () { showKind(b.dataset.kind); });
  });
  showKind('');
})();
