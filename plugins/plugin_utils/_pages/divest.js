/* fleetsec.divest report pages (identify, plan, execute): the one script, inlined into every
   page and allowed by its sha256 hash (plugins/plugin_utils/_html.py).

   Host tables: their rows are in the page's data block (the script element of type
   application/json, id divest-data), stored by column: a column is either the list of its
   rows' texts, or {values: its distinct cells, index: per row, the number of the row's cell};
   the row's sort keys are more such columns. A cell is text or a tree of [tag, class, child ...]
   whose children are text or trees (tag "": the children alone; ["@", n]: the table's shared
   cell n; tags other than the data's "tags" are not built). The first page of rows is in the
   page already (rendered on the server, also for readers without JavaScript); the script
   renders "page" rows at a time after that, sorts all rows when a column header is clicked
   (numbers as numbers, text in natural order, by the row's sort key when the column has one)
   and filters all rows on the text typed in the filter box (the rows with a cell that contains
   it). Sorting and filtering work on each column's distinct cells once, then on the rows'
   numbers. Text is only ever set as text: no HTML is parsed. When printing, every matching row
   (up to "print" of them) is rendered and every details element opened. */
(function () {
  'use strict';
  document.documentElement.classList.add('js');
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: 'base'});
  var source = document.getElementById('divest-data');
  var data = source ? JSON.parse(source.textContent) : {tags: [], page: 0, print: 0, tables: {}};
  var PAGE_ROWS = data.page;
  var PRINT_ROWS = data.print;
  var allowed = {};
  data.tags.forEach(function (tag) { allowed[tag] = true; });

  function build(node, shared) {
    if (typeof node !== 'object' || node === null) { return document.createTextNode(String(node)); }
    if (node[0] === '@') { return build(shared[node[1]], shared); }
    var element;
    if (node[0] === '') {
      element = document.createDocumentFragment();
    } else if (allowed.hasOwnProperty(node[0])) {
      element = document.createElement(node[0]);
      if (node[1]) { element.className = node[1]; }
    } else {
      return document.createTextNode('');
    }
    for (var i = 2; i < node.length; i += 1) { element.appendChild(build(node[i], shared)); }
    return element;
  }

  function textOf(node, shared, memo) {
    if (typeof node !== 'object' || node === null) { return String(node); }
    if (node[0] === '@') {
      if (!memo.hasOwnProperty(node[1])) { memo[node[1]] = textOf(shared[node[1]], shared, memo); }
      return memo[node[1]];
    }
    var out = '';
    for (var i = 2; i < node.length; i += 1) { out += textOf(node[i], shared, memo); }
    return out;
  }

  function hostTable(table, spec) {
    var body = table.tBodies[0];
    var columns = spec.columns;
    var count = spec.count;
    var shared = spec.shared;
    var memo = {};
    // per column (then per sort key): the texts of the rows, or the distinct cells and the rows' numbers
    var cells = spec.cells.map(function (column) {
      return Array.isArray(column) ? {texts: column, values: null, index: null} :
        {texts: null, values: column.values, index: column.index};
    });
    var order = new Array(count);
    for (var o = 0; o < count; o += 1) { order[o] = o; }
    var shown = order;
    var page = 0;
    var expanded = false;
    var pristine = body.rows.length > 0;   // the first page, as the server rendered it
    var lower = {};
    var ranks = {};

    function cellOf(row, index) {
      var column = cells[index];
      return column.texts ? column.texts[row] : column.values[column.index[row]];
    }

    // the texts (lower case) of a column's distinct cells, or of its rows when they all differ
    function lowerTexts(index) {
      if (!lower.hasOwnProperty(index)) {
        var column = cells[index];
        lower[index] = (column.texts || column.values).map(function (value) {
          return textOf(value, shared, memo).toLowerCase();
        });
      }
      return lower[index];
    }

    function rowElement(row) {
      var tr = document.createElement('tr');
      columns.forEach(function (column, index) {
        var cell = document.createElement(column.header ? 'th' : 'td');
        if (column.header) { cell.setAttribute('scope', 'row'); }
        if (column.cls) { cell.className = column.cls; }
        cell.appendChild(build(cellOf(row, index), shared));
        tr.appendChild(cell);
      });
      if (expanded) {
        Array.prototype.forEach.call(tr.querySelectorAll('details'), function (item) { item.open = true; });
      }
      return tr;
    }

    var bar = document.createElement('div');
    bar.className = 'toolbar';
    var input = document.createElement('input');
    input.type = 'search';
    input.placeholder = table.getAttribute('data-filter');
    input.setAttribute('aria-label', table.getAttribute('data-filter'));
    var toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.textContent = 'Expand all details';
    var counter = document.createElement('span');
    counter.className = 'count';
    bar.appendChild(input);
    bar.appendChild(toggle);
    bar.appendChild(counter);
    var wrap = table.parentNode;
    wrap.parentNode.insertBefore(bar, wrap);

    var pager = document.createElement('div');
    pager.className = 'pager';
    var previous = document.createElement('button');
    previous.type = 'button';
    previous.textContent = '\u2039 Previous';
    var position = document.createElement('span');
    position.className = 'count';
    var next = document.createElement('button');
    next.type = 'button';
    next.textContent = 'Next \u203a';
    pager.appendChild(previous);
    pager.appendChild(position);
    pager.appendChild(next);
    var note = document.createElement('p');
    note.className = 'print-note muted';
    wrap.parentNode.insertBefore(pager, wrap.nextSibling);
    wrap.parentNode.insertBefore(note, pager);

    function render(printing) {
      var start = printing ? 0 : page * PAGE_ROWS;
      var end = Math.min(shown.length, start + (printing ? PRINT_ROWS : PAGE_ROWS));
      if (!pristine) {
        var fragment = document.createDocumentFragment();
        if (!count) {
          var empty = document.createElement('tr');
          var cell = document.createElement('td');
          cell.colSpan = columns.length;
          cell.className = 'empty';
          cell.textContent = spec.empty;
          empty.appendChild(cell);
          fragment.appendChild(empty);
        }
        for (var i = start; i < end; i += 1) { fragment.appendChild(rowElement(shown[i])); }
        body.textContent = '';
        body.appendChild(fragment);
      }
      counter.textContent = 'Showing ' + shown.length + ' of ' + count;
      pager.hidden = shown.length <= PAGE_ROWS;
      position.textContent = 'Rows ' + (shown.length ? start + 1 : 0) + '\u2013' + end + ' of ' + shown.length;
      previous.disabled = start === 0;
      next.disabled = end >= shown.length;
      note.textContent = printing && end < shown.length ?
        'Printed: the first ' + end + ' of ' + shown.length + ' rows. Every row is in the JSON and CSV files.' : '';
    }

    function redraw(printing) {
      pristine = false;
      render(printing);
    }

    // the rows (in the current order) with a cell that contains query
    function filter() {
      var query = input.value.trim().toLowerCase();
      if (query === '') {
        shown = order;
      } else {
        var tests = columns.map(function (column, index) {
          var texts = lowerTexts(index);
          if (cells[index].texts) { return {texts: texts, hit: null, index: null}; }
          return {texts: null, hit: texts.map(function (value) { return value.indexOf(query) !== -1; }),
                  index: cells[index].index};
        });
        shown = order.filter(function (row) {
          for (var i = 0; i < tests.length; i += 1) {
            var test = tests[i];
            if (test.texts ? test.texts[row].indexOf(query) !== -1 : test.hit[test.index[row]]) { return true; }
          }
          return false;
        });
      }
      page = 0;
      redraw(false);
    }

    // per row, the rank of its value in column index (equal values: equal ranks)
    function ranksOf(index) {
      if (!ranks.hasOwnProperty(index)) {
        var column = columns[index];
        var source = cells[column.key >= 0 ? column.key : index];
        var values = (source.texts || source.values).map(function (value) {
          var raw = textOf(value, shared, memo);
          if (!column.numeric) { return raw.trim(); }
          var number = parseFloat(raw);
          return isNaN(number) ? -Infinity : number;
        });
        var compare = column.numeric ? function (x, y) { return x < y ? -1 : (x > y ? 1 : 0); } : collator.compare;
        var sorted = values.map(function (value, place) { return place; });
        sorted.sort(function (a, b) { return compare(values[a], values[b]); });
        var rank = new Int32Array(values.length);
        for (var i = 1; i < sorted.length; i += 1) {
          rank[sorted[i]] = rank[sorted[i - 1]] + (compare(values[sorted[i - 1]], values[sorted[i]]) ? 1 : 0);
        }
        if (source.texts) {
          ranks[index] = rank;
        } else {
          var rows = new Int32Array(count);
          for (var r = 0; r < count; r += 1) { rows[r] = rank[source.index[r]]; }
          ranks[index] = rows;
        }
      }
      return ranks[index];
    }

    function sortBy(header, index) {
      var direction = header.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
      var rank = ranksOf(index);
      var at = new Int32Array(count);
      order.forEach(function (row, place) { at[row] = place; });
      order = order.slice();
      order.sort(function (a, b) { return (rank[a] - rank[b]) * direction || at[a] - at[b]; });
      Array.prototype.forEach.call(header.parentNode.cells, function (other) {
        if (other !== header && other.hasAttribute('aria-sort')) { other.setAttribute('aria-sort', 'none'); }
      });
      header.setAttribute('aria-sort', direction === 1 ? 'ascending' : 'descending');
      filter();
    }

    var head = table.tHead && table.tHead.rows[0];
    Array.prototype.forEach.call(head ? head.cells : [], function (header, index) {
      if (header.hasAttribute('data-nosort')) { return; }
      var button = document.createElement('button');
      button.type = 'button';
      button.title = 'Sort by this column';
      while (header.firstChild) { button.appendChild(header.firstChild); }
      header.appendChild(button);
      header.setAttribute('aria-sort', 'none');
      button.addEventListener('click', function () { sortBy(header, index); });
    });

    var timer = null;
    input.addEventListener('input', function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(filter, count > 2000 ? 150 : 0);
    });
    toggle.addEventListener('click', function () {
      expanded = !expanded;
      Array.prototype.forEach.call(body.querySelectorAll('details'), function (item) { item.open = expanded; });
      toggle.textContent = expanded ? 'Collapse all details' : 'Expand all details';
    });
    previous.addEventListener('click', function () { page -= 1; redraw(false); });
    next.addEventListener('click', function () { page += 1; redraw(false); });
    window.addEventListener('beforeprint', function () { redraw(true); });
    window.addEventListener('afterprint', function () { redraw(false); });
    render(false);
  }

  Object.keys(data.tables).forEach(function (id) {
    var table = document.getElementById(id);
    if (table && table.tBodies[0]) { hostTable(table, data.tables[id]); }
  });

  var openedForPrint = [];
  window.addEventListener('beforeprint', function () {
    Array.prototype.forEach.call(document.querySelectorAll('details:not([open])'), function (item) {
      item.open = true;
      openedForPrint.push(item);
    });
  });
  window.addEventListener('afterprint', function () {
    openedForPrint.forEach(function (item) { item.open = false; });
    openedForPrint = [];
  });
}());
