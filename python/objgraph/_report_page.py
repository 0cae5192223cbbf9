"""The report's HTML: the page around the figures objgraph._report
gathers -- its sections and tables, the growth charts (small inline SVG),
the styles and the script that browses the dominator tree, all inline (no
network).  Everything the heap controls is escaped here: :func:`_esc` in
the page, :func:`_json_for_script` in the embedded JSON."""

import html
import json

from ._names import human_size


def _esc(value):
    return html.escape(str(value), quote=True)


def _json_for_script(doc):
    """JSON safe inside a <script> element: no '<', '>' or '&' (a type
    named '</script>' cannot end the element)."""
    text = json.dumps(doc, separators=(',', ':'), ensure_ascii=False)
    return (text.replace('&', '\\u0026').replace('<', '\\u003c')
            .replace('>', '\\u003e').replace('\u2028', '\\u2028')
            .replace('\u2029', '\\u2029'))


def _sparkline(values, width=120, height=28):
    """A small SVG line chart of ``values``."""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1
    step = width / max(len(values) - 1, 1)
    points = ' '.join('%.1f,%.1f' % (i * step,
                                     height - 2 - (v - lo) * (height - 4)
                                     / span)
                      for i, v in enumerate(values))
    last = points.rsplit(' ', 1)[-1].split(',')
    return ('<svg class="spark" width="%d" height="%d" viewBox="-3 0 %d %d" '
            'role="img"><title>%s</title><polyline points="%s"/>'
            '<circle cx="%s" cy="%s" r="2.5"/></svg>'
            % (width + 6, height, width + 6, height,
               _esc(' \u2192 '.join(map(str, values))), points, *last))


def _table(cls, header, rows, sortable=False):
    """An HTML table; ``header``: (title, numeric) pairs; ``rows``: cells
    as (text, sort key or None)."""
    out = ['<table class="%s">' % cls, '<thead><tr>']
    for title, numeric in header:
        out.append('<th%s>%s</th>' % (
            ' class="num"' if numeric else '', _esc(title)))
    out.append('</tr></thead><tbody>')
    for row in rows:
        out.append('<tr>')
        for (text, key), (_, numeric) in zip(row, header):
            attrs = ' class="num"' if numeric else ''
            if sortable and key is not None:
                attrs += ' data-key="%s"' % key
            out.append('<td%s>%s</td>' % (attrs, text))
        out.append('</tr>')
    out.append('</tbody></table>')
    return ''.join(out)


def _section(anchor, title, body):
    return '<section id="%s"><h2>%s</h2>%s</section>' % (anchor, _esc(title),
                                                         body)


def _summary_html(rows):
    header = [('snapshot', False), ('taken', False), ('Python', False),
              ('nodes', True), ('edges', True), ('heap bytes', True),
              ('snapshot memory', True), ('pause', True)]
    return _table('summary', header, [[
        (_esc(r['name']), None), (_esc(r['created']), None),
        (_esc(r['python']), None), ('{:,}'.format(r['nodes']), None),
        ('{:,}'.format(r['edges']), None),
        (_esc(human_size(r['heap_bytes'])), None),
        (_esc(human_size(r['snapshot_bytes'])), None),
        ('%.1f ms' % r['pause_ms'], None)] for r in rows])


def _suspects_html(rows, n_snaps):
    if n_snaps < 3:
        return ('<p class="note">Leak suspects need 3 snapshots or more, '
                'taken in order while the suspect code runs; this report '
                'has %d.</p>' % n_snaps)
    if not rows:
        return ('<p class="ok">No suspect: no type grew from each snapshot '
                'to the next.</p>')
    header = [('type', False), ('objects per snapshot', False),
              ('growth', True), ('count', False), ('retained', True),
              ('retained bytes', False), ('top path', False)]
    body = []
    for r in rows:
        path = r['paths'][0]['text'] if r['paths'] else ''
        body.append([
            ('<b>%s</b>' % _esc(r['type']), None),
            (_esc(' \u2192 '.join(map(str, r['counts']))), None),
            ('%+d' % r['growth'], None), (_sparkline(r['counts']), None),
            (_esc(human_size(r['retained'][-1])), None),
            (_sparkline(r['retained']), None),
            ('<code>%s</code>' % _esc(path), None)])
    out = _table('suspects', header, body)
    acc = [r for r in rows if r['accumulation']]
    if acc:
        out += ('<h3>Where they accumulate</h3><ul>%s</ul>' % ''.join(
            '<li><b>%s</b>: <code>%s</code></li>'
            % (_esc(r['type']), _esc(r['accumulation'])) for r in acc))
    return out


def _paths_html(paths):
    if not paths:
        return '<p class="note">No retention path to show.</p>'
    header = [('objects of', False), ('objects', True), ('retained', True),
              ('path', False), ('held by', False)]
    return _table('paths', header, [[
        ('<b>%s</b>' % _esc(owner), None), ('{:,}'.format(p['count']), None),
        (_esc(human_size(p['retained'])), None),
        ('<code>%s</code>' % _esc(' \u2192 '.join(p['signature'])), None),
        (_esc(p['root'] or 'no root'), None)] for owner, p in paths])


def _types_html(rows):
    header = [('type', False), ('objects', True), ('shallow', True),
              ('retained', True)]
    return ('<p class="note">Click a column to sort.  The top %d types by '
            'retained bytes, over the objects a root reaches.</p>'
            % len(rows)) + _table('types sortable', header, [[
                (_esc(name), None), ('{:,}'.format(n), n),
                (_esc(human_size(shallow)), shallow),
                (_esc(human_size(retained)), retained)]
                for name, n, shallow, retained in rows], sortable=True)


def _diff_html(rows, names):
    if rows is None:
        return ('<p class="note">A diff needs 2 snapshots or more; this '
                'report has 1.</p>')
    intro = '<p>From <b>%s</b> to <b>%s</b>.</p>' % (_esc(names[0]),
                                                     _esc(names[-1]))
    if not rows:
        return intro + '<p class="ok">No type grew.</p>'
    header = [('type', False), ('objects', True), ('growth', True),
              ('new', True), ('freed', True), ('bytes', True),
              ('bytes growth', True)]
    return intro + _table('diff', header, [[
        (_esc(r.type), None), ('{:,}'.format(r.count), None),
        ('%+d' % r.delta, None), ('{:,}'.format(r.new), None),
        ('{:,}'.format(r.freed), None), (_esc(human_size(r.nbytes)), None),
        (('+' if r.bytes_delta >= 0 else '') +
         _esc(human_size(r.bytes_delta)), None)] for r in rows])


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;
background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 28px}
header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#b8c0d0}
nav{padding:8px 28px;background:#e8ebf0}nav a{margin-right:14px;
color:#2c4f8a;text-decoration:none}
main{padding:4px 28px 40px}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;
margin:16px 0;padding:4px 18px 14px}
h2{font-size:17px;margin:12px 0}h3{font-size:15px}
table{border-collapse:collapse;margin:6px 0}
th,td{padding:3px 10px;border-bottom:1px solid #eceef2;text-align:left;
vertical-align:middle}
th{background:#f0f2f5;font-weight:600}
.num{text-align:right;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th.sorted:after{content:" \\25BC"}
code{font:12px ui-monospace,monospace;background:#f3f4f7;padding:1px 4px;
border-radius:3px}
.spark polyline{fill:none;stroke:#c0392b;stroke-width:2}
.spark circle{fill:#c0392b}
.note{color:#5b6475}.ok{color:#1e7e34}
.tree ul{list-style:none;margin:0;padding-left:22px}
.tree>ul{padding-left:0}
.tree li{margin:1px 0}
.tree button{width:20px;height:20px;border:1px solid #c5cbd6;
background:#fff;border-radius:3px;cursor:pointer;padding:0;
font:12px monospace;margin-right:6px}
.tree .leaf{display:inline-block;width:26px}
.tree .t{font-weight:600}.tree .l{color:#2c4f8a}
.tree .a{color:#8a93a3;font:11px monospace}
.tree .r{color:#5b6475}.tree .more{color:#8a93a3;font-style:italic}
.drawing{overflow:auto;max-height:720px}
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("tree-data").textContent);
  function size(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return i ? n.toFixed(1) + " " + units[i] : n + " B";
  }
  function span(cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }
  function item(id) {
    var n = data.nodes[id], li = document.createElement("li");
    li.id = "node-" + id;
    li.dataset.id = id;
    if (n[5].length || n[6]) {
      var b = document.createElement("button");
      b.textContent = "+";
      b.title = "what it retains";
      b.addEventListener("click", function () { toggle(id); });
      li.appendChild(b);
    } else {
      li.appendChild(span("leaf", ""));
    }
    li.appendChild(span("t", n[0]));
    if (n[1]) {
      li.appendChild(document.createTextNode(" "));
      li.appendChild(span("l", n[1]));
    }
    li.appendChild(document.createTextNode(" "));
    li.appendChild(span("a", n[2]));
    li.appendChild(span("r", " retains " + size(n[4]) +
                            " (itself " + size(n[3]) + ")"));
    return li;
  }
  function expand(id) {
    var li = document.getElementById("node-" + id), n = data.nodes[id];
    if (!li || !n || li.querySelector("ul")) { return; }
    var ul = document.createElement("ul");
    n[5].forEach(function (c) { ul.appendChild(item(c)); });
    if (n[6]) {
      var more = document.createElement("li");
      more.className = "more";
      more.textContent = "the others retain " + size(n[6]) + " more";
      ul.appendChild(more);
    }
    li.appendChild(ul);
    var b = li.querySelector("button");
    if (b) { b.textContent = "\u2212"; }
  }
  function toggle(id) {
    var li = document.getElementById("node-" + id);
    var ul = li.querySelector("ul");
    if (ul) {
      li.removeChild(ul);
      li.querySelector("button").textContent = "+";
    } else {
      expand(id);
    }
  }
  var root = document.getElementById("domtree");
  var ul = document.createElement("ul");
  data.top.forEach(function (id) { ul.appendChild(item(id)); });
  root.appendChild(ul);
  function fromHash() {
    var m = /expand=([0-9,]+)/.exec(location.hash);
    if (m) { m[1].split(",").forEach(function (id) { expand(id); }); }
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),
    function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells,
        function (th, col) {
          th.addEventListener("click", function () { sortBy(table, col); });
        });
    });
  function sortBy(table, col) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col], y = b.cells[col];
      if (x.dataset.key !== undefined) {
        return Number(y.dataset.key) - Number(x.dataset.key);
      }
      return x.textContent.localeCompare(y.textContent);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.classList.toggle("sorted", i === col);
    });
  }
  var m = /sort=(\d+)/.exec(location.hash);
  var types = document.querySelector("table.types");
  if (m && types) { sortBy(types, Number(m[1])); }
  document.body.dataset.ready = "1";
})();
"""


def _page(title, parts, tree):
    nav = ''.join('<a href="#%s">%s</a>' % (anchor, _esc(name))
                  for anchor, name, _ in parts)
    body = ''.join(_section(anchor, name, html_) for anchor, name, html_
                   in parts)
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width">'
            '<title>%s</title><style>%s</style></head><body>'
            '<header><h1>%s</h1><p>objgraph heap report</p></header>'
            '<nav>%s</nav><main>%s</main>'
            '<script type="application/json" id="tree-data">%s</script>'
            '<script>%s</script></body></html>\n'
            % (_esc(title), _STYLE, _esc(title), nav, body,
               _json_for_script(tree), _SCRIPT))
